"""Translations measured against their source, and the translators' round trip.

In: the documents of a site (for freshness) and the Markdown files of the content folder (for the
round trip). Out: a :class:`~publisher.model.Freshness` for every document; a gettext PO file of
the segments a translator has to (re)translate; translated Markdown written back with the source
revision it was made from.

The *source revision* of a service is a fingerprint of what its source-language text says: the
front matter except the review date and the recorded revision, and the body as parsed (so that
re-wrapping a paragraph or adding a blank line changes nothing). :func:`source_revision` alone
computes it. A translation records it as ``source_revision:`` in its front matter, written by
``publish translate import`` or ``publish translate mark``, never by hand. A copy of the source
file at every recorded revision is kept under ``<content>/.revisions/<service>/`` so that an
export can tell which segments changed since, and an import can rebuild the translation on the
exact text that was translated.

The exchange file is PO (made and read by translate-toolkit): one entry per segment — a heading,
a paragraph, a list item, a table cell or a text field of the front matter — with ``msgctxt``
``"<service> <revision> <key>"``, the segment's place in the source as a comment and its file
line as the reference. A segment whose source changed comes as a *fuzzy* entry carrying the
previous source (``#| msgid``) and its previous translation, as gettext does for interface
strings. The Markdown structure is never in the translator's hands: the import puts each
translated segment back in the source's own lines, so headings, lists, links and tables survive.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from publisher.diagnostics import Diagnostics, SourceSpan
from publisher.i18n import Locale
from publisher.model import Document, Freshness, FreshnessStatus

if TYPE_CHECKING:
    from publisher.writers import Site

#: hex digits of the revision written into a translation's front matter (64 bits: a clash is
#: out of reach for the texts of one service)
REVISION_DIGITS = 16
REVISIONS_DIR = ".revisions"
_NOT_CONTENT = {"last_reviewed", "source_revision"}
_FENCE = re.compile(r"^---[ \t]*$")


# ---------------------------------------------------------------- revisions and freshness


def _content(value: object) -> object:
    """The model without source positions: what the text says, not where it sits."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _content(getattr(value, f.name)) for f in dataclasses.fields(value)
                  if f.name != "span"}
        return {"node": type(value).__name__, **fields}
    if isinstance(value, tuple | list):
        return [_content(item) for item in value]
    return value


def source_revision(doc: Document) -> str:
    """The fingerprint (64 hex digits) of everything a translation of ``doc`` must say."""
    record = doc.record.model_dump(mode="json", exclude=_NOT_CONTENT)
    if record.get("free_of_charge") is None:
        # a field added later (issue 24) and not set: the revisions recorded before stay true
        record.pop("free_of_charge", None)
    payload = json.dumps({"record": record, "body": _content(doc.blocks)}, sort_keys=True,
                         ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def short(revision: str) -> str:
    return revision[:REVISION_DIGITS]


def freshness(doc: Document, source: Document | None, source_lang: str,
              revision: str | None = None) -> Freshness:
    """How ``doc`` stands against ``source`` (the same service in the source language)."""
    if source is None:
        return Freshness("unknown", source_lang, "", doc.summary.source_revision)
    revision = revision or source_revision(source)
    if doc.lang == source_lang:
        return Freshness("source", source_lang, revision)
    recorded = doc.summary.source_revision
    if recorded is None:
        return Freshness("unknown", source_lang, revision)
    status: FreshnessStatus = "current" if revision.startswith(recorded) else "outdated"
    return Freshness(status, source_lang, revision, recorded)


def with_freshness(documents: Mapping[tuple[str, str], Document], source_lang: str,
                   known: Mapping[str, str] | None = None) -> dict[tuple[str, str], Document]:
    """The same documents, each carrying its :class:`Freshness` (``known``: revisions already
    computed, by service)."""
    known = known or {}
    revisions = {service: known.get(service) or source_revision(doc)
                 for (service, lang), doc in documents.items() if lang == source_lang}
    out: dict[tuple[str, str], Document] = {}
    for key, doc in documents.items():
        source = documents.get((key[0], source_lang))
        state = freshness(doc, source, source_lang, revisions.get(key[0]))
        out[key] = doc if doc.freshness == state else doc.with_freshness(state)
    return out


@dataclass(frozen=True)
class LanguageStatus:
    """The translations of one language, for the report."""

    lang: str
    outdated: tuple[Document, ...]
    unknown: tuple[Document, ...]
    missing: tuple[str, ...]  # service ids with no file in this language
    current: int


def translation_status(site: Site) -> list[LanguageStatus]:
    """Every language but the source, in the configuration's order."""
    source_lang = site.config.default_language
    services = sorted({service for service, lang in site.documents if lang == source_lang})
    out = []
    for lang in site.config.language_codes:
        if lang == source_lang:
            continue
        docs = [site.documents[(s, lang)] for s in services if (s, lang) in site.documents]
        states = [doc.freshness.status if doc.freshness else "unknown" for doc in docs]
        out.append(LanguageStatus(
            lang,
            tuple(d for d, s in zip(docs, states, strict=True) if s == "outdated"),
            tuple(d for d, s in zip(docs, states, strict=True) if s == "unknown"),
            tuple(s for s in services if (s, lang) not in site.documents),
            states.count("current"),
        ))
    return out


def language_name(code: str, locale: Locale) -> str:
    """The name of language ``code`` in the locale's language ("anglais", "الإنجليزية")."""
    names = locale.babel.languages
    return str(names.get(code) or names.get(code.split("-")[0]) or code)


def outdated_notice(doc: Document, locale: Locale) -> str | None:
    """The sentence every format of an outdated translation opens with, in its language."""
    if doc.freshness is None or not doc.freshness.outdated:
        return None
    return locale.gettext(
        "This translation is out of date: the {language} text has changed since it was "
        "translated."
    ).format(language=language_name(doc.freshness.source_lang, locale))


def current_version_link(doc: Document, locale: Locale) -> str:
    """The words of the link from an outdated translation to its source."""
    assert doc.freshness is not None
    return locale.gettext("Read the current version in {language}").format(
        language=language_name(doc.freshness.source_lang, locale))


def report_freshness(site: Site, diagnostics: Diagnostics) -> None:
    """A warning for each outdated translation: it is still published, marked as outdated."""
    for (service, lang), doc in sorted(site.documents.items()):
        if doc.freshness is not None and doc.freshness.outdated:
            source = site.documents[(service, doc.freshness.source_lang)]
            diagnostics.warning(
                "T001",
                f"this translation was made from an older version of {source.source}; it is "
                "published with a notice saying so",
                doc.span.at(2),
                f"run 'publish translate export --lang {lang}' for a translator, then "
                "'publish translate import FILE'; or, if you updated it yourself, "
                f"'publish translate mark --lang {lang} {service}'",
            )


# ---------------------------------------------------------------- segments of a Markdown file


@dataclass(frozen=True)
class Segment:
    """One piece a translator translates: a text field of the front matter or a block's text
    (Markdown inline marks included: they stay around the translated words)."""

    key: str  # "title", "fees.0.label", "b4" (the 4th text block), "b7.r2.c1" (a table cell)
    text: str
    context: str  # where it sits, for the translator
    line: int  # line in the file, from 1


class TranslationError(Exception):
    """A file the round trip cannot work with; the message is for the user."""


@dataclass(frozen=True)
class _Split:
    front: str
    body: list[str]
    body_line: int  # file line of body[0], from 1


def _split(text: str) -> _Split:
    lines = text.removeprefix("\ufeff").replace("\r\n", "\n").split("\n")
    if not lines or not _FENCE.match(lines[0]):
        raise TranslationError("the file does not start with front matter")
    end = next((i for i in range(1, len(lines)) if _FENCE.match(lines[i])), None)
    if end is None:
        raise TranslationError("the front matter is not closed")
    return _Split("\n".join(lines[1:end]), lines[end + 1:], end + 2)


#: the front matter fields a translator translates: (path, what it is); '*' is every item
FRONT_TEXT: tuple[tuple[tuple[str, ...], str], ...] = (
    (("title",), "the service's title"),
    (("summary",), "the one-sentence summary"),
    (("audience", "*"), "who the service is for (one item of a list)"),
    (("keywords",), "search keywords, separated by commas"),
    (("channels", "*", "label"), "the label of a way to apply"),
    (("channels", "*", "address"), "a postal address (often kept as it is written)"),
    (("fees", "*", "label"), "what a fee is for"),
    (("processing_time",), "how long the processing takes"),
    (("locations", "*", "name"), "the name of a place"),
    (("locations", "*", "address"), "the address of a place (often kept as it is written)"),
    (("owner",), "the department responsible for the service"),
)


def _front_fields(data: Mapping[str, Any]) -> Iterable[tuple[tuple[str | int, ...], str, str]]:
    """(path, text, context) of every translatable front matter value."""
    for pattern, context in FRONT_TEXT:
        paths: list[tuple[tuple[str | int, ...], Any]] = [((), data)]
        for part in pattern:
            nxt: list[tuple[tuple[str | int, ...], Any]] = []
            for path, value in paths:
                if part == "*" and isinstance(value, list):
                    nxt += [((*path, index), item) for index, item in enumerate(value)]
                elif isinstance(value, dict) and part in value:
                    nxt.append(((*path, part), value[part]))
            paths = nxt
        for path, value in paths:
            if path == ("keywords",) and isinstance(value, list):
                # one segment: each language chooses its own keywords, and their number
                value = ", ".join(str(item) for item in value)
            if isinstance(value, str) and value.strip():
                yield path, value, context


def _key(path: Sequence[str | int]) -> str:
    return ".".join(str(part) for part in path)


def _front_line(front: list[str], text: str) -> int:
    return next((index for index, line in enumerate(front) if text in line), 0) + 2


@dataclass(frozen=True)
class _Slot:
    """Where a body segment sits: lines [first, first + count) of the body, between ``prefix``
    and ``suffix``; ``cell`` for a table cell (the row is one line)."""

    segment: Segment
    first: int
    count: int
    prefix: str
    suffix: str
    cell: int | None = None
    heading: bool = False


def _markdown() -> Any:
    from publisher.parse import markdown

    return markdown()


_LIST_MARKER = re.compile(r"[-*+]|\d{1,9}[.)]")


def _continuation(prefix: str) -> str:
    """The prefix of a paragraph's next lines: list markers become spaces, quotes stay."""
    return _LIST_MARKER.sub(lambda m: " " * len(m.group(0)), prefix).replace("#", " ")


def _split_row(line: str) -> tuple[str, list[str], bool, bool]:
    """A table row: (indentation and quote marks, cells as written, leading |, trailing |)."""
    lead = re.match(r"^[ \t>]*", line)
    start = lead.group(0) if lead else ""
    rest = line[len(start):].rstrip()
    parts = re.split(r"(?<!\\)\|", rest)
    leading = bool(parts) and parts[0].strip() == "" and rest.startswith("|")
    trailing = len(parts) > 1 and parts[-1].strip() == "" and rest.endswith("|")
    cells = parts[(1 if leading else 0):(len(parts) - 1 if trailing else len(parts))]
    return start, cells, leading, trailing


def _join_soft_breaks(content: str) -> str:
    """A block's text on one line, hard line breaks kept as a backslash and a new line."""
    lines = content.split("\n")
    out = ""
    for index, line in enumerate(lines):
        last = index == len(lines) - 1
        text = line.strip()
        if last:
            out += text
        elif line.endswith("\\") or line.endswith("  "):
            out += text.rstrip("\\").rstrip() + "\\\n"
        else:
            out += text + " "
    return out


_CONTAINER = re.compile(r"^container_(\w+)_open$")


def _body_slots(lines: list[str], first_line: int) -> list[_Slot]:
    tokens = _markdown().parse("\n".join(lines))
    slots: list[_Slot] = []
    number = 0
    section = ""
    kinds: list[str] = []  # enclosing block kinds, innermost last
    heading = 0
    row, cell, in_cell = -1, 0, False
    row_cells: list[str] = []
    for token in tokens:
        if token.type in ("th_open", "td_open", "th_close", "td_close"):
            in_cell = token.type.endswith("_open")
        if token.type == "heading_open":
            heading = int(token.tag[1])
        elif token.type == "heading_close":
            heading = 0
        elif token.type in ("bullet_list_open", "ordered_list_open", "blockquote_open"):
            kinds.append(token.type.removesuffix("_open"))
        elif token.type in ("bullet_list_close", "ordered_list_close", "blockquote_close"):
            kinds.pop()
        elif (match := _CONTAINER.match(token.type)) is not None:
            kinds.append(f"note:{match.group(1)}")
        elif token.type.startswith("container_") and token.type.endswith("_close"):
            kinds.pop()
        elif token.type == "table_open":
            number += 1
            row = -1
        elif token.type == "tr_open":
            row += 1
            cell = 0
            assert token.map is not None
            row_cells = _split_row(lines[token.map[0]])[1]
        if token.type != "inline" or token.map is None:
            continue
        where = (f" in the section “{section}”" if section and not heading
                 else "" if heading else " before the first section")
        if in_cell:
            index = cell
            cell += 1
            if index >= len(row_cells) or not row_cells[index].strip():
                continue
            text = row_cells[index].strip()
            what = "a column header of a table" if row == 0 else f"a table cell (row {row})"
            key = f"b{number}.r{row}.c{index}"
            slots.append(_Slot(Segment(key, text, what + where, first_line + token.map[0]),
                               token.map[0], 1, "", "", cell=index))
            continue
        number += 1
        start = token.map[0]
        content_lines = token.content.split("\n")
        first = lines[start]
        at = first.find(content_lines[0].strip())
        last_index = start + len(content_lines) - 1
        last = lines[last_index]
        tail = content_lines[-1].strip()
        at_last = last.rfind(tail) if tail else len(last)
        suffix = last[at_last + len(tail):] if at_last >= 0 else ""
        if heading:
            what = f"a heading (level {heading})"
            section = _join_soft_breaks(token.content)
        elif kinds and kinds[-1] in ("bullet_list", "ordered_list"):
            what = "an item of a list"
        elif kinds and kinds[-1].startswith("note:"):
            what = f"a paragraph of a {kinds[-1].split(':')[1]} box"
        elif kinds and kinds[-1] == "blockquote":
            what = "a paragraph of a quotation"
        else:
            what = "a paragraph"
        slots.append(_Slot(
            Segment(f"b{number}", _join_soft_breaks(token.content), what + where,
                    first_line + start),
            start, len(content_lines), first[:max(at, 0)],
            suffix if heading else "",
            heading=bool(heading),
        ))
    return slots


def segments(text: str) -> list[Segment]:
    """The segments of a service file, in reading order (front matter first)."""
    split = _split(text)
    return [segment for segment, _ in _all_slots(split)]


def _all_slots(split: _Split) -> list[tuple[Segment, _Slot | None]]:
    data = yaml.safe_load(split.front) or {}
    if not isinstance(data, dict):
        raise TranslationError("the front matter is not a set of fields")
    front = split.front.split("\n")
    out: list[tuple[Segment, _Slot | None]] = [
        (Segment(_key(path), value, f"front matter: {context}", _front_line(front, value)),
         None)
        for path, value, context in _front_fields(data)
    ]
    out += [(slot.segment, slot) for slot in _body_slots(split.body, split.body_line)]
    return out


def _shape(items: Sequence[Segment]) -> list[str]:
    """What must match for two versions to be aligned segment by segment: the keys."""
    return [segment.key for segment in items]


# ---------------------------------------------------------------- writing a translation back


_HEADING_TEXT = re.compile(r"[^\w]+")


def _anchor_base(text: str) -> str:
    # the rule of parse.BodyParser._anchor, so that anchors follow translated headings
    return _HEADING_TEXT.sub("-", text.casefold()).strip("-_") or "section"


def _anchors(body: str) -> list[str]:
    """The anchors the parser gives the body's headings, in order."""
    tokens = _markdown().parse(body)
    seen: set[str] = set()
    out = []
    for index, token in enumerate(tokens):
        if token.type != "heading_open":
            continue
        inline = tokens[index + 1]
        text = "".join(child.content for child in inline.children or ()
                       if child.type in ("text", "code_inline", "image"))
        base = _anchor_base(text)
        anchor, n = base, 2
        while anchor in seen:
            anchor, n = f"{base}-{n}", n + 1
        seen.add(anchor)
        out.append(anchor)
    return out


def rebuild(source_text: str, translations: Mapping[str, str], revision: str) -> str:
    """The source file with every segment replaced by its translation and the source revision
    recorded: same structure, same data, translated text."""
    split = _split(source_text)
    front = _translated_front(split.front, translations)
    body = list(split.body)
    slots = _body_slots(split.body, split.body_line)
    rows: dict[int, dict[int, str]] = {}
    for slot in reversed(slots):
        wanted = translations.get(slot.segment.key)
        if wanted is None:
            continue
        text = wanted
        if slot.cell is not None:
            rows.setdefault(slot.first, {})[slot.cell] = re.sub(r"(?<!\\)\|", r"\\|",
                                                                 " ".join(text.split()))
            continue
        # a heading is one line; a paragraph keeps the translator's hard line breaks
        parts = [" ".join(text.split())] if slot.heading else [
            " ".join(part.split()) for part in text.strip().split("\n")]
        continuation = _continuation(slot.prefix)
        new = [slot.prefix + parts[0]] + [continuation + part for part in parts[1:]]
        new[-1] += slot.suffix
        body[slot.first:slot.first + slot.count] = new
    for line, cells in rows.items():
        start, written, leading, trailing = _split_row(body[line])
        texts = [cells.get(index, cell.strip()) for index, cell in enumerate(written)]
        body[line] = (start + ("| " if leading else "") + " | ".join(texts)
                      + (" |" if trailing else ""))
    translated = "\n".join(body)
    before, after = _anchors("\n".join(split.body)), _anchors(translated)
    if len(before) == len(after):
        for old, new_anchor in zip(before, after, strict=True):
            if old != new_anchor:
                translated = translated.replace(f"](#{old})", f"](#{new_anchor})")
    return set_revision(f"---\n{front}\n---\n{translated}", revision)


def _scalar(text: str) -> str:
    """``text`` as a YAML scalar: plain when it reads back as itself, else double-quoted."""
    text = " ".join(text.split())
    try:
        plain = yaml.safe_load(f"x: {text}") == {"x": text}
    except yaml.YAMLError:
        plain = False
    return text if plain and text else json.dumps(text, ensure_ascii=False)


def _translated_front(front: str, translations: Mapping[str, str]) -> str:
    """The source's front matter with its text values replaced where they are written, so
    that its layout, quoting and comments stay as they are."""
    root = yaml.compose(front)
    if not isinstance(root, yaml.MappingNode):
        raise TranslationError("the front matter is not a set of fields")
    edits: list[tuple[int, int, str]] = []
    data = yaml.safe_load(front) or {}
    for path, _value, _context in _front_fields(data):
        if _key(path) not in translations:
            continue
        node: yaml.Node | None = root
        for part in path:
            if isinstance(node, yaml.MappingNode):
                node = next((v for k, v in node.value if k.value == part), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                node = node.value[part]
            else:
                node = None
        if node is None:
            continue
        text = translations[_key(path)]
        if path == ("keywords",):
            words = [word.strip() for word in re.split(r"[,،、]", text) if word.strip()]
            value = "[" + ", ".join(_scalar(word) for word in words) + "]"
        else:
            value = _scalar(text)
        edits.append((node.start_mark.index, node.end_mark.index, value))
    for start, end, value in sorted(edits, reverse=True):
        front = front[:start] + value + front[end:]
    return front


def set_revision(text: str, revision: str) -> str:
    """``text`` with ``source_revision:`` set in its front matter, every other line untouched."""
    lines = text.split("\n")
    if not lines or not _FENCE.match(lines[0]):
        raise TranslationError("the file does not start with front matter")
    end = next((i for i in range(1, len(lines)) if _FENCE.match(lines[i])), None)
    if end is None:
        raise TranslationError("the front matter is not closed")
    entry = f"source_revision: {short(revision)}"
    for index in range(1, end):
        if re.match(r"^source_revision\s*:", lines[index]):
            lines[index] = entry
            break
    else:
        lines.insert(end, entry)
    return "\n".join(lines)


# ---------------------------------------------------------------- copies of the source


def snapshot_path(content_dir: Path, service: str, revision: str) -> Path:
    # ".md.txt", not ".md": the loader reads every .md file as a service description
    return content_dir / REVISIONS_DIR / service / f"{short(revision)}.md.txt"


def save_snapshot(content_dir: Path, service: str, revision: str, text: str) -> None:
    path = snapshot_path(content_dir, service, revision)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def load_snapshot(content_dir: Path, service: str, revision: str | None) -> str | None:
    if not revision:
        return None
    path = snapshot_path(content_dir, service, revision)
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _aligned(previous_source: str | None, translation: str | None
             ) -> dict[str, str] | None:
    """source text → its translation, for every segment, when the translation has exactly the
    segments of the source version it was made from; ``None`` when it does not."""
    if previous_source is None or translation is None:
        return None
    try:
        old, done = segments(previous_source), segments(translation)
    except (TranslationError, yaml.YAMLError):
        return None
    if _shape(old) != _shape(done):
        return None
    return {a.text: b.text for a, b in zip(old, done, strict=True)}


# ---------------------------------------------------------------- export


@dataclass
class ExportedService:
    service: str
    mode: str  # "new" (no translation yet), "changed" (only what changed), "all" (no record)
    segments: int


@dataclass
class Exported:
    data: bytes
    services: list[ExportedService] = field(default_factory=list)


def _context_id(service: str, revision: str, key: str) -> str:
    return f"{service} {short(revision)} {key}"


MARKUP_NOTE = (
    "Translate the text; keep the Markdown marks around the words they mark: *emphasis*, "
    "**strong**, `code`, [link text](address) — translate the link text, keep the address; "
    "a backslash at the end of a line is a line break."
)


def export(site: Site, content_dir: Path, lang: str,
           services: Sequence[str] | None = None) -> Exported:
    """A PO file for translators into ``lang``: every segment of the source that is new or
    changed since the revision each translation records (everything when it records none)."""
    from translate.storage import pypo

    source_lang = site.config.default_language
    store = pypo.pofile()
    newest = max((d.summary.last_reviewed for d in site.documents.values()), default=None)
    store.updateheader(  # type: ignore[no-untyped-call]
        add=True,
        Project_Id_Version=f"{site.config.organisation_name(source_lang)} — services",
        POT_Creation_Date=f"{newest.isoformat() if newest else '2000-01-01'} 00:00+0000",
        Language=lang,
        Content_Type="text/plain; charset=UTF-8",
        X_Source_Language=source_lang,
        X_Generator="publisher translate export",
    )
    result = Exported(b"")
    wanted = sorted(services) if services else site.service_ids()
    for service in wanted:
        source = site.get(service, source_lang)
        if source is None or source.freshness is None:
            continue
        translation = site.get(service, lang)
        if translation is not None and translation.freshness is not None and (
                translation.freshness.status == "current") and not services:
            continue
        revision = source.freshness.revision
        text = (content_dir / source.source).read_text(encoding="utf-8")
        save_snapshot(content_dir, service, revision, text)
        current = segments(text)
        previous = (load_snapshot(content_dir, service, translation.record.source_revision)
                    if translation is not None else None)
        translated = ((content_dir / translation.source).read_text(encoding="utf-8")
                      if translation is not None else None)
        known = _aligned(previous, translated)
        old_at = {s.key: s for s in segments(previous)} if known is not None and previous else {}
        mode = "new" if translation is None else ("changed" if known is not None else "all")
        count = 0
        for segment in current:
            if known is not None and segment.text in known:
                continue
            unit = store.addsourceunit(segment.text)
            unit.setcontext(_context_id(service, revision, segment.key))
            unit.addnote(f"{segment.context}. {MARKUP_NOTE}", origin="developer")
            unit.addlocation(f"{source.source}:{segment.line}")
            earlier = old_at.get(segment.key)
            if earlier is not None and known is not None and earlier.text in known:
                # the gettext way of saying "the source changed": fuzzy, with the previous
                # source and its translation to start from
                unit.target = known[earlier.text]
                unit.markfuzzy()
                unit.prev_msgid = pypo.quoteforpo(earlier.text)
            count += 1
        result.services.append(ExportedService(service, mode, count))
    result.data = bytes(store)
    return result


# ---------------------------------------------------------------- import


@dataclass
class Imported:
    lang: str = ""
    written: list[Path] = field(default_factory=list)
    revisions: dict[str, str] = field(default_factory=dict)  # service → recorded revision


def _markup(text: str) -> Counter[str]:
    """What must survive translation: link and image addresses, code spans."""
    return Counter(re.findall(r"\]\(([^)\s]*)", text) + re.findall(r"`[^`]+`", text))


def import_file(path: Path, content_dir: Path, diagnostics: Diagnostics,
                config_path: Path | None = None) -> Imported:
    """Write the translations of a PO file back into the Markdown of its language.

    Each service is rebuilt on the copy of the source the file was exported from and records
    that revision. Nothing is written for a service when a segment is left untranslated (or
    fuzzy), when a translation lost a link address, or when the result does not load; every
    problem is reported.
    """
    from translate.storage import factory

    from publisher.load import load_site

    result = Imported()
    shown = SourceSpan(str(path))
    try:
        store = factory.getobject(io.BytesIO(path.read_bytes()), classes_str={"po": ("pypo",
                                  "pofile")})
    except Exception as exc:  # translate-toolkit raises many kinds on a broken file
        diagnostics.error("T201", f"the file cannot be read as a PO file: {exc}", shown,
                          "give the file that 'publish translate export' wrote, filled in")
        return result
    site = load_site(content_dir, diagnostics, config_path)
    if site is None:
        return result
    lang = str(store.gettargetlanguage() or "")
    result.lang = lang
    if lang not in site.config.language_codes or lang == site.config.default_language:
        diagnostics.error(
            "T202", f"the file's language '{lang}' is not a translation language of this site",
            shown, "check the 'Language:' line in the header of the PO file",
        )
        return result
    by_service: dict[tuple[str, str], dict[str, tuple[str, bool, int]]] = {}
    for unit in store.units:
        if unit.isheader() or unit.isobsolete():
            continue
        parts = str(unit.getcontext() or "").split(" ")
        if len(parts) != 3:
            diagnostics.error("T201", f"an entry has no publisher context: {unit.source[:60]!r}",
                              shown, "keep the msgctxt lines of the exported file")
            continue
        service, revision, key = parts
        ready = bool(unit.target) and not unit.isfuzzy()
        line = int(getattr(unit, "_po_line", 0) or 0)
        by_service.setdefault((service, revision), {})[key] = (
            str(unit.target or ""), ready, line)
    previous_texts: dict[Path, str | None] = {}
    for (service, revision), units in sorted(by_service.items()):
        written = _import_service(site, content_dir, lang, service, revision, units, shown,
                                  diagnostics)
        if written is None:
            continue
        target, text = written
        previous_texts.setdefault(target, target.read_text(encoding="utf-8")
                                  if target.is_file() else None)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        result.written.append(target)
        result.revisions[service] = revision
    if result.written:
        check = Diagnostics()
        if load_site(content_dir, check, config_path) is None:
            for target, old in previous_texts.items():
                if old is None:
                    target.unlink()
                else:
                    target.write_text(old, encoding="utf-8")
            diagnostics.extend(check.items)
            diagnostics.error(
                "T205", "the translated files do not load (see above); nothing was written",
                shown, "correct the translations the messages point at and import again",
            )
            result.written.clear()
            result.revisions.clear()
    return result


def _import_service(site: Site, content_dir: Path, lang: str, service: str, revision: str,
                    units: Mapping[str, tuple[str, bool, int]], shown: SourceSpan,
                    diagnostics: Diagnostics) -> tuple[Path, str] | None:
    source_lang = site.config.default_language
    source = site.get(service, source_lang)
    if source is None or source.freshness is None:
        diagnostics.error("T202", f"the service '{service}' has no {source_lang} version",
                          shown, "import translations of services that exist")
        return None
    skeleton = load_snapshot(content_dir, service, revision)
    if skeleton is None and source.freshness.revision.startswith(revision):
        skeleton = (content_dir / source.source).read_text(encoding="utf-8")
    if skeleton is None:
        diagnostics.error(
            "T203",
            f"no copy of the {source_lang} text of '{service}' at revision {revision} (it is "
            f"kept in {REVISIONS_DIR}/ when the file is exported)",
            shown, "export the translation again and translate the new file",
        )
        return None
    translation = site.get(service, lang)
    target = (content_dir / translation.source if translation is not None
              else content_dir / lang / Path(source.source).relative_to(source_lang))
    known: dict[str, str] = {}
    if translation is not None:
        previous = load_snapshot(content_dir, service, translation.record.source_revision)
        known = _aligned(previous, target.read_text(encoding="utf-8")) or {}
    translations: dict[str, str] = {}
    missing: list[Segment] = []
    for segment in segments(skeleton):
        text, ready, line = units.get(segment.key, ("", False, 0))
        if ready:
            if _markup(text) != _markup(segment.text):
                diagnostics.error(
                    "T204",
                    f"the translation of {segment.key} in '{service}' changed a link address "
                    f"or a code span: {text[:80]!r}",
                    shown.at(line) if line else shown,
                    f"keep every (address) and `code` of the source: {segment.text[:80]!r}",
                )
                return None
            translations[segment.key] = text
        elif segment.text in known:
            translations[segment.key] = known[segment.text]
        else:
            missing.append(segment)
    if missing:
        first = missing[0]
        diagnostics.error(
            "T203",
            f"'{service}' is not imported: {len(missing)} segments have no translation (or are "
            f"marked fuzzy), the first at {source.source}:{first.line}: {first.text[:60]!r}",
            shown,
            "translate every entry and clear the 'fuzzy' flags, then import again",
        )
        return None
    return target, rebuild(skeleton, translations, revision)


# ---------------------------------------------------------------- mark


def mark(site: Site, content_dir: Path, lang: str, services: Sequence[str],
         diagnostics: Diagnostics) -> list[Path]:
    """Record the source's current revision in translations a person brought up to date."""
    source_lang = site.config.default_language
    written: list[Path] = []
    for service in services:
        source, translation = site.get(service, source_lang), site.get(service, lang)
        if source is None or translation is None or source.freshness is None:
            diagnostics.error(
                "T206", f"there is no '{lang}' translation of '{service}' to mark",
                None, f"check the service id; translations are in {content_dir}/{lang}/",
            )
            continue
        revision = source.freshness.revision
        save_snapshot(content_dir, service, revision,
                      (content_dir / source.source).read_text(encoding="utf-8"))
        path = content_dir / translation.source
        text = path.read_text(encoding="utf-8")
        updated = set_revision(text, revision)
        if updated != text:
            path.write_text(updated, encoding="utf-8")
            written.append(path)
    return written
