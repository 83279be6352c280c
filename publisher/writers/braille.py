"""Braille: BRF (ASCII braille for embossers) and PEF 1.0 (Unicode braille in XML) of a service.

In: a :class:`~publisher.model.Document` and its :class:`~publisher.writers.RenderContext`.
Out: two :class:`~publisher.writers.Artifact` values with the same pages, cell for cell — a
``.brf`` (North American braille ASCII, CR LF line ends, a form feed after every page) and a
``.pef`` (PEF 1.0 with title, language and date). The text is translated by liblouis with the
table configured for the language (``formats: braille: tables:``), contracted by default.

Layout follows the common braille formatting conventions (BANA *Braille Formats*, which UEB,
French and Arabic transcribers use in the same shape): title centred; a blank line before each
heading, level-2 headings centred and deeper ones from cell 5, never the last line of a page;
paragraphs from cell 3 with runovers at cell 1; list items and table rows with hanging
indentation (cell 1, runovers cell 3, two cells deeper per nesting level); tables read row by
row as "Header: cell; Header: cell"; links as their text followed by the address. The braille
page number stands alone at the right end of the last line of every page. Lines break only
between braille words; a word longer than a line is divided with a hyphen at the line end.
Right-to-left languages are not mirrored: braille is always read left to right.

A character that the table cannot translate never vanishes: its compatibility form (NFKC) is
used when the table knows it, else the letter without its accent, else ``[U+XXXX]``; the last
two are reported as ``B201``. The one shared piece with :mod:`publisher.audits.braille` is the
braille ASCII mapping, the options and the table choice, defined here.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import ClassVar
from xml.sax.saxutils import escape, quoteattr

import louis
from pydantic import Field

from publisher.diagnostics import Diagnostics, SourceSpan
from publisher.model import (
    Abbreviation,
    Block,
    BulletList,
    Code,
    CodeBlock,
    Day,
    Document,
    Emphasis,
    Heading,
    Image,
    Inline,
    LineBreak,
    Link,
    ListItem,
    Note,
    OrderedList,
    Paragraph,
    Quote,
    Strong,
    Table,
    Text,
    ThematicBreak,
    day_runs,
    expanded_text,
)
from publisher.translation import outdated_notice
from publisher.writers import N_, Artifact, Options, RenderContext, Writer, artifact_path

#: liblouis tables used when ``formats: braille: tables:`` names none for a language.
DEFAULT_TABLES: dict[str, str] = {
    "en": "en-ueb-g2.ctb",  # Unified English Braille, contracted (grade 2)
    "fr": "fr-bfu-g2.ctb",  # braille français unifié, abrégé
    "ar": "ar-ar-g1.utb",  # Unified Arabic Braille, grade 1 (the usual grade for Arabic)
}

#: North American braille ASCII for the 64 six-dot cells, in Unicode order (U+2800 + dots
#: bits): the mapping every BRF reader and embosser assumes (liblouis's en-us-brf.dis).
BRAILLE_ASCII = " A1B'K2L@CIF/MSP\"E3H9O6R^DJG>NTQ,*5<-U8V.%[$+X!&;:4\\0Z7(_?W]#Y)="
_FROM_ASCII = {char: chr(0x2800 + index) for index, char in enumerate(BRAILLE_ASCII)}
BLANK = "\u2800"
PEF_NS = "http://www.daisy.org/ns/2008/pef"
DC_NS = "http://purl.org/dc/elements/1.1/"
BRF_MEDIA_TYPE = "text/plain; charset=us-ascii"
PEF_MEDIA_TYPE = "application/x-pef+xml"

_MODE = louis.dotsIO | louis.ucBrl  # Unicode braille out, whatever the table's display is
_LOUIS_LOCK = threading.Lock()  # liblouis keeps global state (table cache, log callback)
_louis_log: list[str] = []


class BrailleOptions(Options):
    """``formats: braille:`` in ``site.yaml``."""

    cells_per_line: int = Field(default=40, ge=12, le=100)
    lines_per_page: int = Field(default=25, ge=4, le=100)
    #: language code → liblouis table list ("en-ueb-g1.ctb" or "a.utb,b.cti"); a name found
    #: under formats/braille/ is taken from there, any other from liblouis's own tables.
    tables: dict[str, str] = Field(default_factory=dict)


def braille_options(values: object) -> BrailleOptions:
    """The options from a configuration value; an already validated instance passes through."""
    if isinstance(values, BrailleOptions):
        return values
    return BrailleOptions.model_validate(values or {})


def table_names(options: BrailleOptions, lang: str) -> str | None:
    """The configured table list for ``lang`` (a comma-separated liblouis list), or None."""
    return options.tables.get(lang) or DEFAULT_TABLES.get(lang) or DEFAULT_TABLES.get(
        lang.split("-")[0]
    )


def resolve_tables(names: str, formats_dir: Path | None) -> tuple[str, ...]:
    """liblouis table list: names under formats/braille/ become paths, others stay names."""
    resolved = []
    for name in (part.strip() for part in names.split(",")):
        local = formats_dir / "braille" / name if formats_dir else None
        resolved.append(str(local) if local is not None and local.is_file() else name)
    return tuple(resolved)


def _capture_log(level: int, message: bytes) -> None:
    _louis_log.append(message.decode("utf-8", "replace"))


# The C callback object must stay referenced for as long as liblouis may call it.
_LOG_CALLBACK = louis.LogCallback(_capture_log)


@cache
def _quiet_louis() -> None:
    # liblouis logs to stderr by default; library code must not print, so its messages are
    # kept and shown in the diagnostic that explains the failure instead.
    louis.registerLogCallback(_LOG_CALLBACK)


def check_tables(tables: tuple[str, ...]) -> str | None:
    """None when liblouis can compile the table list, else its complaint."""
    _quiet_louis()
    with _LOUIS_LOCK:
        _louis_log.clear()
        try:
            louis.checkTable(list(tables))
        except RuntimeError as exc:
            return "; ".join(_louis_log) or str(exc)
    return None


def translate(tables: tuple[str, ...], text: str) -> str:
    """liblouis forward translation to Unicode braille (cells may carry dots 7–8)."""
    _quiet_louis()
    with _LOUIS_LOCK:
        return str(louis.translateString(list(tables), text, mode=_MODE))


def back_translate(tables: tuple[str, ...], cells: str) -> str:
    """liblouis back-translation of Unicode braille cells to print."""
    _quiet_louis()
    with _LOUIS_LOCK:
        return str(louis.backTranslateString(list(tables), cells))


@cache
def _defined(tables: tuple[str, ...], char: str) -> bool:
    """Whether the table gives ``char`` a braille form of its own.

    liblouis shows an undefined character as an escape (``'\\x65e5'``) or, with some tables
    (fr-bfu), as a blank cell. With ``noUndefined`` the escape becomes nothing, so an undefined
    character translated alone yields no raised dot at all — while every defined printable
    character yields at least one.
    """
    _quiet_louis()
    with _LOUIS_LOCK:
        cells = str(louis.translateString(list(tables), char, mode=_MODE | louis.noUndefined))
    return cells.strip(BLANK) != ""


def to_ascii(cells: str) -> str:
    """Unicode braille (six dots) to braille ASCII."""
    return "".join(BRAILLE_ASCII[(ord(cell) - 0x2800) & 0x3F] for cell in cells)


def from_ascii(text: str) -> str:
    """Braille ASCII (0x20–0x5F; lower case read as upper) to Unicode braille."""
    return "".join(_FROM_ASCII[char] for char in text.upper())


@cache
def page_number(tables: tuple[str, ...], number: int) -> str:
    """The braille page number as the table writes the number (⠼⠁ in UEB, ⠠⠡ in French)."""
    return _six_dots(translate(tables, str(number)))[0]


@cache
def hyphen(tables: tuple[str, ...]) -> str:
    """The cells that end a line where a long word is divided: the table's own hyphen."""
    return _six_dots(translate(tables, "-"))[0] or "⠤"


def _six_dots(cells: str) -> tuple[str, int]:
    """Cells limited to six dots (BRF has no room for dots 7–8) and how many lost dots."""
    out: list[str] = []
    lost = 0
    for cell in cells:
        code = ord(cell)
        if not 0x2800 <= code <= 0x28FF:
            out.append("⠿")  # a full cell marks something that is not braille at all
            lost += 1
        elif code > 0x283F:
            out.append(chr(0x2800 + ((code - 0x2800) & 0x3F)))
            lost += 1
        else:
            out.append(cell)
    return "".join(out), lost


# ---------------------------------------------------------------- text → braille cells


# Invisible formatting characters (bidi marks, zero-width joiners, soft hyphens) carry no
# reading content; braille has its own direction and word division.
def _is_invisible(char: str) -> bool:
    return unicodedata.category(char) == "Cf"


@dataclass
class Translator:
    """Translates the text of one document, reporting what the table cannot translate."""

    tables: tuple[str, ...]
    table_label: str
    doc: Document
    diagnostics: Diagnostics
    reported: set[str] = field(default_factory=set)
    lost_dots: int = 0

    def cells(self, text: str, span: SourceSpan) -> str:
        prepared = self._prepare(text, span)
        if not prepared.strip():
            return ""
        cells, lost = _six_dots(translate(self.tables, prepared))
        self.lost_dots += lost
        return cells

    def _prepare(self, text: str, span: SourceSpan) -> str:
        out: list[str] = []
        for char in unicodedata.normalize("NFC", text):
            if char.isspace() or unicodedata.category(char) == "Zs":
                out.append(" ")
            elif _is_invisible(char):
                continue
            elif _defined(self.tables, char):
                out.append(char)
            else:
                out.append(self._substitute(char, span))
        return "".join(out)

    def _substitute(self, char: str, span: SourceSpan) -> str:
        compatible = unicodedata.normalize("NFKC", char)
        if compatible != char and all(_defined(self.tables, c) for c in compatible):
            return compatible  # the same text in its plain form (ᵉ → e, ﬁ → fi): no loss
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        if base and base != char and all(_defined(self.tables, c) for c in base):
            self._report(char, span, f"it is shown as '{base}' without its accent")
            return base
        placeholder = f"[U+{ord(char):04X}]"
        self._report(char, span, f"it is shown as {placeholder}")
        return placeholder

    def _report(self, char: str, span: SourceSpan, shown: str) -> None:
        if char in self.reported:
            return
        self.reported.add(char)
        name = unicodedata.name(char, "unnamed character")
        self.diagnostics.warning(
            "B201",
            f"the braille table {self.table_label} cannot translate the character '{char}' "
            f"(U+{ord(char):04X} {name}) in service '{self.doc.id}' ({self.doc.lang}); {shown}",
            span,
            "write the character another way, or choose a braille table for this language "
            "that has it under 'formats: braille: tables:' in site.yaml",
        )


# ---------------------------------------------------------------- layout


@dataclass
class Group:
    """Lines that the paginator places together; a heading keeps its next line with it."""

    lines: list[str]
    blank_before: bool = False
    keep_with_next: bool = False


def wrap(cells: str, width: int, first: int, runover: int, divider: str) -> list[str]:
    """Greedy filling of braille words (blank-separated) into lines, indented by cells.

    A word that cannot fit on a line of its own is divided with ``divider`` at each line end
    (never in the middle of a two-cell sign that starts with an indicator, when avoidable).
    """
    # Deep nesting must still leave room for words.
    first, runover = min(first, width // 2), min(runover, width // 2)
    lines: list[str] = []
    line = BLANK * first
    empty = True  # the current line holds no word yet

    def room() -> int:
        return width - len(line) - (0 if empty else 1)

    for word in (w for w in cells.split(BLANK) if w):
        if len(word) <= room():
            line += word if empty else BLANK + word
            empty = False
            continue
        if not empty and len(word) <= width - runover:
            lines.append(line)
            line, empty = BLANK * runover + word, False
            continue
        # The word is longer than a whole line: divide it, starting here when there is room.
        if not empty and room() < len(divider) + 3:
            lines.append(line)
            line, empty = BLANK * runover, True
        rest = word
        while len(rest) > room():
            take = _division_point(rest, room() - len(divider))
            line += ("" if empty else BLANK) + rest[:take] + divider
            lines.append(line)
            rest = rest[take:]
            line, empty = BLANK * runover, True
        line += ("" if empty else BLANK) + rest
        empty = False
    if not empty:
        lines.append(line)
    return lines


# Cells that announce what follows (capital, number, letter, emphasis and grade-1 indicators in
# UEB; similar roles in French and Arabic braille): a division right after one would strand it.
_INDICATORS = frozenset("⠠⠼⠰⠸⠨⠘⠈⠐")


def _division_point(word: str, limit: int) -> int:
    take = max(1, limit)
    while take > 1 and word[take - 1] in _INDICATORS:
        take -= 1
    return take


def centred(cells: str, width: int, divider: str) -> list[str]:
    """Centred lines; long text wraps with three blank cells kept at each side."""
    inner = width - 6 if width >= 24 else width
    lines = wrap(cells, inner, 0, 0, divider)
    return [BLANK * ((width - len(line)) // 2) + line for line in lines]


def paginate(groups: Sequence[Group], width: int, length: int,
             number: Callable[[int], str]) -> list[list[str]]:
    """Pages of exactly ``length`` lines, the last holding the right-aligned page number."""
    body = length - 1
    pages: list[list[str]] = []
    page: list[str] = []

    def close() -> None:
        nonlocal page
        page += [""] * (body - len(page))
        label = number(len(pages) + 1)
        page.append(BLANK * max(0, width - len(label)) + label)
        pages.append(page)
        page = []

    for index, group in enumerate(groups):
        following = groups[index + 1].lines[:1] if index + 1 < len(groups) else []
        needed = len(group.lines) + (len(following) if group.keep_with_next else 0)
        blank = 1 if group.blank_before and page else 0
        heading_spills = group.keep_with_next and len(page) + blank + needed > body
        if page and (heading_spills or len(page) + blank >= body):
            close()
            blank = 0
        if blank:
            page.append("")
        for line in group.lines:
            if len(page) >= body:
                close()
            page.append(line)
    if page or not pages:
        close()
    return [[line.rstrip(BLANK) for line in page] for page in pages]


# ---------------------------------------------------------------- document → groups


@dataclass
class Layout:
    """Turns a document into groups of braille lines."""

    ctx: RenderContext
    doc: Document
    translator: Translator
    width: int
    divider: str
    groups: list[Group] = field(default_factory=list)
    abbreviations_seen: set[str] = field(default_factory=set)

    def _(self, message: str) -> str:
        return self.ctx._(message)

    def text(self, text: str, span: SourceSpan, first: int, runover: int,
             blank_before: bool = False) -> None:
        cells = self.translator.cells(text, span)
        if cells:
            lines = wrap(cells, self.width, first, runover, self.divider)
            self.groups.append(Group(lines, blank_before=blank_before))

    def heading(self, text: str, span: SourceSpan, level: int) -> None:
        cells = self.translator.cells(text, span)
        if not cells:
            return
        if level <= 2:
            lines = centred(cells, self.width, self.divider)
        else:
            lines = wrap(cells, self.width, 4, 4, self.divider)  # cell-5 heading
        self.groups.append(Group(lines, blank_before=True, keep_with_next=True))

    def labelled(self, label: str, value: str) -> str:
        return self._("{label}: {value}").format(label=label, value=value)

    # -- the service record ------------------------------------------------------------------

    def front(self) -> None:
        record, span = self.doc.record, self.doc.span
        notice = outdated_notice(self.doc, self.ctx.locale)
        if notice is not None:
            # an outdated translation says so before anything else, as every format does
            self.text(notice, span, 0, 2)
        cells = self.translator.cells(record.title, span)
        self.groups.append(Group(centred(cells, self.width, self.divider),
                                 blank_before=notice is not None))
        organisation = self.ctx.config.organisation_name(self.doc.lang)
        self.groups.append(Group(centred(self.translator.cells(organisation, span), self.width,
                                         self.divider)))
        self.text(record.summary, span, 2, 0, blank_before=True)
        self.heading(self._("At a glance"), span, 2)
        self.heading(self._("Who it is for"), span, 3)
        for audience in record.audience:
            self.text(audience, span, 0, 2)
        self.heading(self._("How to apply"), span, 3)
        for label, value in self._channels():
            self.text(self.labelled(label, value) if value else label, span, 0, 2)
        self.heading(self._("Cost"), span, 3)
        if record.fees:
            for fee in record.fees:
                money = self.ctx.locale.money(fee.amount, fee.currency)
                self.text(self.labelled(fee.label, money), span, 0, 2)
        elif record.cost == "free":
            self.text(self._("Free"), span, 0, 2)
        else:
            self.text(self._("Not stated (see the text)"), span, 0, 2)
        self.heading(self._("Processing time"), span, 3)
        self.text(record.processing_time, span, 0, 2)
        if record.opening_hours:
            self.heading(self._("Opening hours"), span, 3)
            for hours in record.opening_hours:
                times = self._("{start} to {end}").format(
                    start=self.ctx.locale.time(hours.opens), end=self.ctx.locale.time(hours.closes)
                )
                self.text(self.labelled(self._days(hours.days), times), span, 0, 2)
        if record.locations:
            self.heading(self._("Where to go"), span, 3)
            for location in record.locations:
                self.text(self.labelled(location.name, location.address), span, 0, 2)
        self.heading(self._("Contact"), span, 3)
        contact = record.contact
        entries = (("Phone:", contact.phone), ("Email:", contact.email),
                   ("Website:", contact.url))
        for message, known in entries:
            if known:
                self.text(f"{self._(message)} {known}", span, 0, 2)

    def back(self) -> None:
        record, span = self.doc.record, self.doc.span
        owner = self.labelled(self._("Responsible department"), record.owner)
        self.text(owner, span, 0, 2, blank_before=True)
        reviewed = f"{self._('Last reviewed:')} {self.ctx.locale.date(record.last_reviewed)}"
        self.text(reviewed, span, 0, 2)

    def _channels(self) -> Iterator[tuple[str, str]]:
        places = {location.id: location for location in self.doc.record.locations}
        for channel in self.doc.record.channels:
            if channel.type == "online":
                url = channel.url or f"{self.ctx.config.base_url}{self.doc.lang}/{self.doc.id}/"
                yield channel.label or self._("Online"), url
            elif channel.type == "phone":
                yield channel.label or self._("By phone"), channel.phone or ""
            elif channel.type == "email":
                yield channel.label or self._("By email"), channel.email or ""
            elif channel.type == "post":
                yield channel.label or self._("By post"), channel.address or ""
            else:
                place = places.get(channel.location or "")
                where = f"{place.name}, {place.address}" if place else (channel.address or "")
                yield channel.label or self._("In person"), where

    def _days(self, days: tuple[Day, ...]) -> str:
        parts = []
        for run in day_runs(days):
            first = self.ctx.locale.day_name(run[0])
            last = self.ctx.locale.day_name(run[-1])
            parts.append(first if len(run) == 1 else
                         self._("{start} to {end}").format(start=first, end=last))
        return ", ".join(parts)

    # -- the body ----------------------------------------------------------------------------

    def blocks(self, blocks: Sequence[Block], depth: int = 0, prefix: str = "") -> None:
        for block in blocks:
            self.block(block, depth, prefix)
            prefix = ""

    def block(self, block: Block, depth: int, prefix: str = "") -> None:
        indent = 2 * depth
        if isinstance(block, Heading):
            self.heading(self.inline(block.children), block.span, block.level)
        elif isinstance(block, Paragraph):
            # Cell 3 for the first line, runovers at the margin; a forced line break starts
            # a new line at the margin.
            for number, segment in enumerate(self.segments(block.children)):
                if number == 0:
                    self.text(prefix + segment, block.span, indent + 2, indent)
                else:
                    self.text(segment, block.span, indent, indent)
        elif isinstance(block, BulletList | OrderedList):
            for offset, item in enumerate(block.items):
                marker = f"{block.start + offset}. " if isinstance(block, OrderedList) else ""
                self.item(item, depth, marker)
        elif isinstance(block, Table):
            heads = [self.inline(cell.children) for cell in block.head]
            for row in block.rows:
                pairs = []
                for head, cell in zip(heads, row, strict=False):
                    value = self.inline(cell.children)
                    if value.strip():
                        pairs.append(self.labelled(head, value) if head.strip() else value)
                line = pairs[0] if pairs else ""
                for pair in pairs[1:]:
                    line = self._("{previous}; {next}").format(previous=line, next=pair)
                self.text(line, block.span, indent, indent + 2)
        elif isinstance(block, Note):
            label = {"note": N_("Note"), "warning": N_("Warning"), "tip": N_("Tip")}[block.kind]
            self.blocks(block.blocks, depth, f"{self._(label)}: ")
        elif isinstance(block, Quote):
            self.blocks(block.blocks, depth + 1, prefix)
        elif isinstance(block, CodeBlock):
            for line in block.text.splitlines():
                self.text(line, block.span, indent, indent + 2)
        elif isinstance(block, ThematicBreak):
            self.groups.append(Group([BLANK * ((self.width - 6) // 2) + "⠒" * 6],
                                     blank_before=True))

    def item(self, item: ListItem, depth: int, marker: str) -> None:
        """A list item: first line at the list's cell, runovers two cells in (hanging)."""
        indent = 2 * depth
        first, *rest = item.blocks or (Paragraph((), item.span),)
        if isinstance(first, Paragraph):
            segments = list(self.segments(first.children)) or [""]
            self.text(marker + segments[0], first.span, indent, indent + 2)
            for segment in segments[1:]:
                self.text(segment, first.span, indent + 2, indent + 2)
        else:
            if marker:
                self.text(marker, item.span, indent, indent + 2)
            rest = [first, *rest]
        for block in rest:
            if isinstance(block, BulletList | OrderedList):
                self.block(block, depth + 1)
            elif isinstance(block, Paragraph):
                for segment in self.segments(block.children):
                    self.text(segment, block.span, indent + 2, indent + 2)
            else:
                self.block(block, depth + 1)

    def segments(self, inlines: tuple[Inline, ...]) -> Iterator[str]:
        """The text of an inline run, split where the author forced a line break."""
        current: list[Inline] = []
        for node in inlines:
            if isinstance(node, LineBreak):
                yield self.inline(tuple(current))
                current = []
            else:
                current.append(node)
        yield self.inline(tuple(current))

    def inline(self, inlines: tuple[Inline, ...]) -> str:
        parts: list[str] = []
        for node in inlines:
            if isinstance(node, Text | Code):
                parts.append(node.text)
            elif isinstance(node, LineBreak):
                parts.append(" ")
            elif isinstance(node, Image):
                parts.append(node.alt)
            elif isinstance(node, Abbreviation):
                # spelt out where first met: a braille reader has no title to look up
                parts.append(expanded_text((node,), self.abbreviations_seen))
            elif isinstance(node, Emphasis | Strong):
                # Emphasis indicators are left out: liblouis marks them well only in UEB, and
                # garbles words in the French and Arabic tables.
                parts.append(self.inline(node.children))
            elif isinstance(node, Link):
                parts.append(self.link(node))
        return "".join(parts)

    def link(self, link: Link) -> str:
        text = self.inline(link.children)
        if link.kind == "anchor":
            return text
        if link.kind == "service":
            address = f"{self.ctx.config.base_url}{self.doc.lang}/{link.service}/"
            address += f"#{link.anchor}" if link.anchor else ""
        elif link.kind in ("email", "phone"):
            address = link.target.split(":", 1)[1] if ":" in link.target else link.target
        else:
            address = link.target
        if not text.strip():
            return address
        if _same_address(text, address):
            return text
        return f"{text} ({address})"


def _same_address(text: str, address: str) -> bool:
    def bare(value: str) -> str:
        value = value.strip().casefold()
        for scheme in ("https://", "http://", "mailto:", "tel:"):
            value = value.removeprefix(scheme)
        return value.rstrip("/").replace(" ", "")

    return bare(text) == bare(address)


# ---------------------------------------------------------------- output files


def brf_bytes(pages: Sequence[Sequence[str]]) -> bytes:
    """CR LF after every line, a form feed after every page (the embosser ejects the last)."""
    text = "".join(
        "".join(to_ascii(line) + "\r\n" for line in page) + "\f" for page in pages
    )
    return text.encode("ascii")


def pef_bytes(pages: Sequence[Sequence[str]], *, width: int, length: int, title: str,
              lang: str, date: str, identifier: str, publisher: str, description: str) -> bytes:
    """PEF 1.0: one volume, one section, single-sided, rows without trailing blank cells."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<pef xmlns="{PEF_NS}" version="2008-1">\n',
        "  <head>\n",
        f'    <meta xmlns:dc="{DC_NS}">\n',
        f"      <dc:format>{PEF_MEDIA_TYPE}</dc:format>\n",
        f"      <dc:identifier>{escape(identifier)}</dc:identifier>\n",
        f"      <dc:title>{escape(title)}</dc:title>\n",
        f"      <dc:description>{escape(description)}</dc:description>\n",
        f"      <dc:publisher>{escape(publisher)}</dc:publisher>\n",
        f"      <dc:language>{escape(lang)}</dc:language>\n",
        f"      <dc:date>{escape(date)}</dc:date>\n",
        "    </meta>\n",
        "  </head>\n",
        "  <body>\n",
        f'    <volume cols={quoteattr(str(width))} rows={quoteattr(str(length))} '
        'rowgap="0" duplex="false">\n',
        "      <section>\n",
    ]
    for page in pages:
        out.append("        <page>\n")
        out.extend(f"          <row>{line}</row>\n" if line else "          <row/>\n"
                   for line in page)
        out.append("        </page>\n")
    out += ["      </section>\n", "    </volume>\n", "  </body>\n", "</pef>\n"]
    return "".join(out).encode("utf-8")


@dataclass(frozen=True)
class Braille:
    """A laid-out braille document: pages of Unicode braille lines."""

    pages: list[list[str]]
    tables: tuple[str, ...]


def layout(doc: Document, ctx: RenderContext, options: BrailleOptions,
           tables: tuple[str, ...], table_label: str) -> Braille:
    translator = Translator(tables, table_label, doc, ctx.diagnostics)
    view = Layout(ctx, doc, translator, options.cells_per_line, hyphen(tables))
    view.front()
    if doc.blocks and not isinstance(doc.blocks[0], Heading):
        # The body's opening paragraphs would otherwise read as part of the last fact.
        view.heading(ctx._("About this service"), doc.span, 2)
    view.blocks(doc.blocks)
    view.back()
    pages = paginate(view.groups, options.cells_per_line, options.lines_per_page,
                     lambda n: page_number(tables, n))
    if translator.lost_dots:
        ctx.diagnostics.warning(
            "B202",
            f"the braille table {table_label} wrote {translator.lost_dots} cells with dots 7 "
            f"or 8 for service '{doc.id}' ({doc.lang}); BRF and this PEF hold six dots, so "
            "those dots were left out",
            doc.span,
            "choose a six-dot (literary) braille table for this language",
        )
    return Braille(pages, tables)


class BrailleWriter(Writer):
    name: ClassVar[str] = "braille"
    options_model: ClassVar[type[Options]] = BrailleOptions

    def render(self, doc: Document, ctx: RenderContext) -> list[Artifact]:
        options = braille_options(ctx.options)
        names = table_names(options, doc.lang)
        if names is None:
            ctx.diagnostics.error(
                "B101",
                f"no braille table is configured for the language '{doc.lang}'",
                doc.span,
                f"add 'formats: braille: tables: {doc.lang}: <liblouis table>' to site.yaml "
                "(the liblouis tables are listed in /usr/share/liblouis/tables)",
            )
            return []
        tables = resolve_tables(names, ctx.formats_dir)
        problem = check_tables(tables)
        if problem is not None:
            ctx.diagnostics.error(
                "B102",
                f"the braille table '{names}' for '{doc.lang}' cannot be used: {problem}",
                doc.span,
                "check the name under 'formats: braille: tables:' in site.yaml",
            )
            return []
        braille = layout(doc, ctx, options, tables, names)
        pages = len(braille.pages)
        meta = {"pages": pages, "table": names, "cells_per_line": options.cells_per_line,
                "lines_per_page": options.lines_per_page}
        pef_path = artifact_path(doc, ".pef")
        pef = pef_bytes(
            braille.pages, width=options.cells_per_line, length=options.lines_per_page,
            title=doc.record.title, lang=doc.lang, date=ctx.build_time.date().isoformat(),
            identifier=f"{ctx.config.base_url}{pef_path}",
            publisher=ctx.config.organisation_name(doc.lang), description=doc.record.summary,
        )
        return [
            Artifact(artifact_path(doc, ".brf"), brf_bytes(braille.pages), BRF_MEDIA_TYPE,
                     "brf", doc.id, doc.lang, N_("Braille (BRF, for embossers)"), meta=meta),
            Artifact(pef_path, pef, PEF_MEDIA_TYPE, "pef", doc.id, doc.lang,
                     N_("Braille (PEF)"), meta=meta),
        ]

    def engine_version(self) -> str:
        return f"liblouis {louis.version()}"


WRITER = BrailleWriter()
