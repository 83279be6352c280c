"""Braille audit: reads each BRF and PEF file back and checks what an embosser and a reader get.

In: ``.brf`` and ``.pef`` files, with the source :class:`~publisher.model.Document` when they are
our own output. Out: one :class:`~publisher.audits.Finding` per check and file:

- ``braille.charset`` — a BRF holds only braille ASCII (0x20–0x5F) plus line and page breaks;
- ``braille.pef-structure`` — the PEF is well-formed and has the structure PEF 1.0 requires;
- ``braille.line-width`` / ``braille.page-length`` — no line wider and no page longer than the
  configured page (``formats: braille:``; 40 × 25 by default) or the PEF volume's own size;
- ``braille.page-numbers`` — each page ends with its braille page number at the right margin;
- ``braille.pef-matches-brf`` — a PEF and the BRF beside it hold the same cells on the same pages;
- ``braille.fidelity`` — liblouis back-translation with the same table recovers at least 97 % of
  the source words in order (``figures["fidelity"]``); cannot-tell without a source document.

What the checks evidence: braille is an alternative format of the information, so the findings
are evidence for CAF 2020 5.2.f (access for all: services in alternative formats) and ISO 11367
5.2.4; no WCAG success criterion and no EN 301 549 clause covers a braille file as such, so none
is claimed.
"""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, ClassVar

from pydantic import ValidationError

from publisher.audits import Audit, AuditContext, AuditInput, Criteria, Finding, Impact
from publisher.diagnostics import Diagnostics
from publisher.model import (
    Block,
    BulletList,
    CodeBlock,
    Document,
    Heading,
    Inline,
    Note,
    OrderedList,
    Paragraph,
    Quote,
    Table,
    plain_text,
)
from publisher.writers.braille import (
    BLANK,
    DC_NS,
    PEF_MEDIA_TYPE,
    PEF_NS,
    BrailleOptions,
    Translator,
    back_translate,
    braille_options,
    check_tables,
    from_ascii,
    hyphen,
    page_number,
    resolve_tables,
    table_names,
)

FIDELITY_BOUND = 0.97
CRITERIA = Criteria(caf=("5.2.f",), iso11367=("5.2.4",))
_MAX_PLACES = 10  # places listed in one finding's message; all are in its figures
_BRF_ALLOWED = frozenset(chr(code) for code in range(0x20, 0x60))
_BREAKS = re.compile(r"\r\n|\n|\r")


@dataclass
class _Read:
    """A braille file read back: pages of lines of Unicode braille cells (None when the file
    could not be read at all), the page size to check against and the findings of reading."""

    pages: list[list[str]] | None
    width: int
    length: int
    findings: list[Finding] = field(default_factory=list)
    lang: str | None = None


class BrailleAudit(Audit):
    name: ClassVar[str] = "braille"
    suffixes: ClassVar[tuple[str, ...]] = (".brf", ".pef")

    def audit(self, inputs: Sequence[AuditInput], ctx: AuditContext) -> list[Finding]:
        options = _options(ctx)
        findings: list[Finding] = []
        for item in inputs:
            findings.extend(self.audit_file(item, options, ctx))
        return findings

    def audit_file(self, item: AuditInput, options: BrailleOptions,
                   ctx: AuditContext) -> list[Finding]:
        data = item.path.read_bytes()
        is_pef = item.path.suffix.lower() == ".pef"
        read = read_pef(item.name, data, options) if is_pef else read_brf(item.name, data, options)
        findings = list(read.findings)
        if read.pages is None:
            return findings
        findings += _geometry(item.name, read)
        lang = item.document.lang if item.document else read.lang or _lang_from_name(item.name)
        tables = _tables(options, lang, ctx)
        findings.append(_page_numbers(item.name, read, tables))
        if is_pef:
            sibling = item.path.with_suffix(".brf")
            if sibling.is_file():
                brf = read_brf(sibling.name, sibling.read_bytes(), options)
                findings.append(_same_content(item.name, read, brf, sibling.name))
        findings.append(_fidelity(item.name, read, item.document, tables))
        return findings


AUDIT = BrailleAudit()


def _options(ctx: AuditContext) -> BrailleOptions:
    if ctx.config is None:
        return BrailleOptions()
    try:
        return braille_options(ctx.config.format_options("braille"))
    except ValidationError:  # the build reports bad options; the audit falls back to defaults
        return BrailleOptions()


def _lang_from_name(name: str) -> str | None:
    """Our files are named ``<service>-<lang>.brf``; a file from elsewhere may not be."""
    match = re.search(r"-([a-z]{2,3}(?:-[A-Z]{2})?)\.(?:brf|pef)$", name)
    return match.group(1) if match else None


def _tables(options: BrailleOptions, lang: str | None, ctx: AuditContext) -> tuple[str, ...] | None:
    names = table_names(options, lang) if lang else None
    if names is None:
        return None
    formats_dir = Path(__file__).resolve().parents[2] / "formats"
    tables = resolve_tables(names, formats_dir if formats_dir.is_dir() else None)
    return tables if check_tables(tables) is None else None


def _finding(name: str, check: str, places: list[str], ok: str, bad: str, impact: Impact,
             **figures: Any) -> Finding:
    if not places:
        return Finding(name, check, "passed", ok, CRITERIA, figures=figures)
    shown = "; ".join(places[:_MAX_PLACES]) + ("; …" if len(places) > _MAX_PLACES else "")
    return Finding(name, check, "failed", f"{bad} ({len(places)}): {shown}", CRITERIA, impact,
                   places[0].split(":")[0], figures={**figures, "places": places})


# ---------------------------------------------------------------- reading the files back


def read_brf(name: str, data: bytes, options: BrailleOptions) -> _Read:
    """BRF: pages end with a form feed, lines with CR LF (LF or CR alone are tolerated)."""
    text = data.decode("latin-1")  # every byte maps to one character, so every one is seen
    chunks = text.split("\f")
    if chunks and chunks[-1] in ("", "\r\n", "\n"):
        chunks.pop()
    pages: list[list[str]] = []
    bad: list[str] = []
    for page_index, chunk in enumerate(chunks, start=1):
        lines = _BREAKS.split(chunk)
        if lines and lines[-1] == "":
            lines.pop()
        page: list[str] = []
        for line_index, line in enumerate(lines, start=1):
            for column, char in enumerate(line, start=1):
                if char not in _BRF_ALLOWED:
                    bad.append(f"page {page_index} line {line_index} cell {column}: "
                               f"{_describe(char)}")
            page.append(from_ascii("".join(c if c in _BRF_ALLOWED else " " for c in line)))
        pages.append(page)
    check = _finding(name, "braille.charset", bad,
                     "Only braille ASCII characters (space to underscore) and line and page "
                     "breaks are used.",
                     "Characters that are not braille ASCII would emboss as the wrong dots or "
                     "not at all", "serious")
    return _Read(pages, options.cells_per_line, options.lines_per_page, [check])


def _describe(char: str) -> str:
    if "a" <= char <= "z":
        return f"lower-case letter '{char}' (braille ASCII uses capitals)"
    return f"character {char!r} (0x{ord(char):02X})"


def read_pef(name: str, data: bytes, options: BrailleOptions) -> _Read:
    """PEF 1.0: checks the structure the specification requires and reads the pages."""
    problems: list[str] = []
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        failed = Finding(name, "braille.pef-structure", "failed",
                         f"The PEF file is not well-formed XML: {exc}", CRITERIA, "serious",
                         f"line {exc.position[0]}")
        return _Read(None, options.cells_per_line, options.lines_per_page, [failed])
    pef, dc = f"{{{PEF_NS}}}", f"{{{DC_NS}}}"
    if root.tag != f"{pef}pef":
        problems.append(f"root: the root element is {root.tag}, not pef in the PEF namespace")
    if root.get("version") != "2008-1":
        problems.append(f"root: version is {root.get('version')!r}, not '2008-1'")
    head, body = root.find(f"{pef}head"), root.find(f"{pef}body")
    meta = head.find(f"{pef}meta") if head is not None else None
    lang = None
    if meta is None:
        problems.append("head: there is no head/meta element")
    else:
        for element, needed in (("identifier", True), ("format", True), ("title", False),
                                ("language", False), ("date", False)):
            found = meta.findall(f"{dc}{element}")
            if not found or not (found[0].text or "").strip():
                # identifier and format are required by PEF 1.0; title, language and date are
                # what a braille library needs to catalogue the file.
                problems.append(f"meta: dc:{element} is missing" +
                                ("" if needed else " (needed to catalogue the file)"))
        fmt = meta.findtext(f"{dc}format")
        if fmt is not None and fmt.strip() != PEF_MEDIA_TYPE:
            problems.append(f"meta: dc:format is {fmt!r}, not {PEF_MEDIA_TYPE}")
        date = meta.findtext(f"{dc}date")
        if date is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date.strip()):
            problems.append(f"meta: dc:date {date!r} is not YYYY-MM-DD")
        lang = (meta.findtext(f"{dc}language") or "").strip() or None
    pages: list[list[str]] = []
    width, length = options.cells_per_line, options.lines_per_page
    volumes = body.findall(f"{pef}volume") if body is not None else []
    if not volumes:
        problems.append("body: there is no volume")
    for v_index, volume in enumerate(volumes, start=1):
        for attribute in ("cols", "rows", "rowgap", "duplex"):
            if volume.get(attribute) is None:
                problems.append(f"volume {v_index}: the required attribute {attribute} is missing")
        sections = volume.findall(f"{pef}section")
        if not sections:
            problems.append(f"volume {v_index}: there is no section")
        for s_index, section in enumerate(sections, start=1):
            cols = _positive(section.get("cols") or volume.get("cols"))
            rows = _positive(section.get("rows") or volume.get("rows"))
            if cols is None or rows is None:
                problems.append(f"volume {v_index} section {s_index}: cols and rows must be "
                                "positive integers")
            else:
                width, length = min(width, cols), min(length, rows)
            page_elements = section.findall(f"{pef}page")
            if not page_elements:
                problems.append(f"volume {v_index} section {s_index}: there is no page")
            for page_element in page_elements:
                page: list[str] = []
                for row in page_element.findall(f"{pef}row"):
                    cells = row.text or ""
                    if any(not 0x2800 <= ord(c) <= 0x28FF for c in cells):
                        problems.append(f"page {len(pages) + 1} row {len(page) + 1}: the row "
                                        "holds characters that are not braille cells")
                    page.append(cells.rstrip(BLANK))
                pages.append(page)
    check = _finding(name, "braille.pef-structure", problems,
                     "The PEF file has the structure PEF 1.0 requires and its metadata.",
                     "The PEF file does not follow PEF 1.0", "serious")
    return _Read(pages, width, length, [check], lang)


def _positive(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() and int(value) > 0 else None


# ---------------------------------------------------------------- checks on the pages


def _geometry(name: str, read: _Read) -> list[Finding]:
    assert read.pages is not None
    wide = [f"page {p} line {n}: {len(line)} cells"
            for p, page in enumerate(read.pages, start=1)
            for n, line in enumerate(page, start=1) if len(line) > read.width]
    long = [f"page {p}: {len(page)} lines" for p, page in enumerate(read.pages, start=1)
            if len(page) > read.length]
    return [
        _finding(name, "braille.line-width", wide,
                 f"Every line fits in {read.width} cells.",
                 f"Lines are wider than {read.width} cells; the embosser would cut or wrap them",
                 "serious", cells_per_line=read.width),
        _finding(name, "braille.page-length", long,
                 f"Every page fits in {read.length} lines.",
                 f"Pages are longer than {read.length} lines; the embosser would spill them",
                 "serious", lines_per_page=read.length, pages=len(read.pages)),
    ]


def _page_numbers(name: str, read: _Read, tables: tuple[str, ...] | None) -> Finding:
    assert read.pages is not None
    if tables is None:
        return Finding(name, "braille.page-numbers", "cannot-tell",
                       "The language of the file or its braille table is not known, so its page "
                       "numbers cannot be read.", CRITERIA)
    wrong = []
    for index, page in enumerate(read.pages, start=1):
        expected = page_number(tables, index)
        last = page[-1] if page else ""
        if last.strip(BLANK) != expected or len(last) != read.width:
            wrong.append(f"page {index}: the last line does not end with its braille number")
    return _finding(name, "braille.page-numbers", wrong,
                    "Every page ends with its braille page number at the right margin.",
                    "Pages without their braille page number", "minor")


def _same_content(name: str, pef: _Read, brf: _Read, brf_name: str) -> Finding:
    assert pef.pages is not None and brf.pages is not None
    differences = []
    if len(pef.pages) != len(brf.pages):
        differences.append(f"pages: {len(pef.pages)} in the PEF, {len(brf.pages)} in the BRF")
    for index, (a, b) in enumerate(zip(pef.pages, brf.pages, strict=False), start=1):
        a_lines = [line.rstrip(BLANK) for line in a]
        b_lines = [line.rstrip(BLANK) for line in b]
        if a_lines != b_lines:
            pairs = enumerate(zip(a_lines, b_lines, strict=False), start=1)
            line = next((n for n, (x, y) in pairs if x != y), min(len(a_lines), len(b_lines)) + 1)
            differences.append(f"page {index} line {line}: the cells differ")
    return _finding(name, "braille.pef-matches-brf", differences,
                    f"The PEF holds the same braille, page for page, as {brf_name}.",
                    f"The PEF and {brf_name} differ", "serious")


# ---------------------------------------------------------------- fidelity


def _fidelity(name: str, read: _Read, document: Document | None,
              tables: tuple[str, ...] | None) -> Finding:
    assert read.pages is not None
    if document is None or tables is None:
        why = "there is no source document" if document is None else "its braille table is unknown"
        return Finding(name, "braille.fidelity", "cannot-tell",
                       f"The braille cannot be compared with its source: {why}.", CRITERIA)
    text = back_translate(tables, braille_text(read.pages, tables))
    score, total, missing = fidelity(source_words(document), text, tables, document)
    figures = {"fidelity": round(score, 4), "source_words": total, "missing": missing[:50]}
    if score >= FIDELITY_BOUND:
        return Finding(name, "braille.fidelity", "passed",
                       f"Back-translated, the braille gives back {score:.1%} of the source words "
                       f"in order (at least {FIDELITY_BOUND:.0%} needed).", CRITERIA,
                       figures=figures)
    sample = ", ".join(missing[:12])
    return Finding(name, "braille.fidelity", "failed",
                   f"Back-translated, the braille gives back only {score:.1%} of the source "
                   f"words in order (at least {FIDELITY_BOUND:.0%} needed); missing words "
                   f"include: {sample}", CRITERIA, "critical", figures=figures)


def braille_text(pages: list[list[str]], tables: tuple[str, ...]) -> str:
    """The braille as one run of cells: page numbers dropped, divided words joined again."""
    divider = hyphen(tables)
    lines: list[str] = []
    for index, page in enumerate(pages, start=1):
        body = list(page)
        if body and body[-1].strip(BLANK) == page_number(tables, index):
            body.pop()
        lines.extend(line.strip(BLANK) for line in body if line.strip(BLANK))
    out: list[str] = []
    joined = False
    for index, line in enumerate(lines):
        if out and not joined:
            out.append(BLANK)
        last_word = line.rsplit(BLANK, 1)[-1]
        joined = (index + 1 < len(lines) and line.endswith(divider)
                  and len(last_word) > len(divider))
        out.append(line[: -len(divider)] if joined else line)
    return "".join(out)


def source_words(document: Document) -> list[str]:
    """The document's words in the order a reader meets them; tables row by row, each cell
    after its column header, as the braille reads them."""
    parts = [document.record.title, document.record.summary]
    parts.extend(_block_texts(document.blocks))
    return [word for part in parts for word in part.split()]


def _block_texts(blocks: Sequence[Block]) -> Iterator[str]:
    for block in blocks:
        if isinstance(block, Heading | Paragraph):
            yield plain_text(block.children)
        elif isinstance(block, BulletList | OrderedList):
            for item in block.items:
                yield from _block_texts(item.blocks)
        elif isinstance(block, Note | Quote):
            yield from _block_texts(block.blocks)
        elif isinstance(block, CodeBlock):
            yield block.text
        elif isinstance(block, Table):
            heads = [_plain(cell.children) for cell in block.head]
            for row in block.rows:
                for head, cell in zip(heads, row, strict=False):
                    if _plain(cell.children).strip():
                        yield head
                        yield _plain(cell.children)


def _plain(inlines: tuple[Inline, ...]) -> str:
    return plain_text(inlines)


def normal(word: str) -> str:
    """A word as compared: compatibility form, case folded, digits in ASCII, no edge marks."""
    word = unicodedata.normalize("NFKC", word).casefold()
    word = "".join(str(unicodedata.digit(c)) if unicodedata.digit(c, None) is not None else c
                   for c in word if c != "\u0640")  # the tatweel only stretches a letter
    start, end = 0, len(word)
    while start < end and not word[start].isalnum():
        start += 1
    while end > start and not word[end - 1].isalnum():
        end -= 1
    return word[start:end]


def fidelity(words: Sequence[str], back: str, tables: tuple[str, ...],
             document: Document) -> tuple[float, int, list[str]]:
    """Share of source words found, in order, in the back-translated text.

    A word the table itself cannot round-trip (Latin words in Arabic braille, which has no
    foreign-letter indicator; ``https:`` in contracted UEB) is compared with its own round trip
    through the same table, so the figure measures lost text rather than the table's limits.
    """
    back_words = [w for w in (normal(t) for t in back.split()) if w]
    present = set(back_words)
    translator = Translator(tables, "", document, Diagnostics())
    expected: list[str] = []
    for word in words:
        plain = normal(word)
        if not plain:
            continue
        if plain not in present:
            cells = translator.cells(word, document.span)
            trip = [w for w in (normal(t) for t in back_translate(tables, cells).split()) if w]
            if len(trip) == 1:
                plain = trip[0]
        expected.append(plain)
    if not expected:
        return 1.0, 0, []
    matcher = SequenceMatcher(None, expected, back_words, autojunk=False)
    found = sum(block.size for block in matcher.get_matching_blocks())
    missing = [expected[i] for tag, i1, i2, _, _ in matcher.get_opcodes() if tag != "equal"
               for i in range(i1, i2)]
    return found / len(expected), len(expected), missing
