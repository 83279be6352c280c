"""PDF audit: reads each PDF back (pikepdf for its structure, poppler's pdftotext for its text)
and checks what PDF/UA-1 and the Matterhorn Protocol 1.1 let a machine decide.

In: PDF files, with the source :class:`~publisher.model.Document` when the build made them.
Out: one :class:`~publisher.audits.Finding` per check and file — or one per offending object
(a figure without alternative text, a page without a tab order) — each naming its Matterhorn
failure condition(s), the WCAG 2.2 success criteria and the EN 301 549 clause 10 (documents)
requirements it gives evidence for.

The checks: tagged, a structure tree, the document language, the title in XMP and shown in the
title bar, the PDF/UA identifier, every font embedded, alternative text on every figure, headings
that start at H1 and skip no level, header cells in every table, a structure tab order on every
page, bookmarks, and — when the source is known — text that comes out in the source's order.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from xml.etree import ElementTree

import pikepdf

from publisher.audits import (
    Audit,
    AuditContext,
    AuditInput,
    Criteria,
    Finding,
    Impact,
    not_checked,
)
from publisher.model import (
    Document,
    Heading,
    Paragraph,
    Table,
    block_inlines,
    plain_text,
    walk_blocks,
)

#: below this share of the source's text read back in the source's order, reading order fails
READING_ORDER_THRESHOLD = 0.95
#: at most this many findings for one check in one file: the first ones show the pattern
MAX_FINDINGS_PER_CHECK = 20
PDFUA_NS = "http://www.aiim.org/pdfua/ns/id/"
DC_NS = "http://purl.org/dc/elements/1.1/"
_HEADING = re.compile(r"^H([1-6])$")


@dataclass(frozen=True)
class Check:
    """What a check is about, for reports: its id, its criteria and how bad a failure is."""

    id: str
    criteria: Criteria
    impact: Impact


CHECKS: dict[str, Check] = {
    check.id: check
    for check in (
        Check("pdf.tagged", Criteria(wcag=("1.3.1",), en301549=("10.1.3.1",),
                                     matterhorn=("01-005",)), "critical"),
        Check("pdf.structure-tree", Criteria(wcag=("1.3.1",), en301549=("10.1.3.1",),
                                             matterhorn=("01-005", "09-001")), "critical"),
        Check("pdf.language", Criteria(wcag=("3.1.1",), en301549=("10.3.1.1",),
                                       matterhorn=("11-001", "11-006")), "serious"),
        Check("pdf.title", Criteria(wcag=("2.4.2",), en301549=("10.2.4.2",),
                                    matterhorn=("06-003", "07-001", "07-002")), "serious"),
        # PDF/UA requirements with no WCAG counterpart: they make the other checks' evidence
        # hold for every reader (the declared conformance; text drawn with the intended glyphs)
        Check("pdf.pdfua-identifier", Criteria(matterhorn=("06-001", "06-002")), "moderate"),
        Check("pdf.fonts-embedded", Criteria(matterhorn=("31-009",)), "serious"),
        Check("pdf.figure-alt", Criteria(wcag=("1.1.1",), en301549=("10.1.1.1",),
                                         matterhorn=("13-004",)), "critical"),
        Check("pdf.headings", Criteria(wcag=("1.3.1", "2.4.6"),
                                       en301549=("10.1.3.1", "10.2.4.6"),
                                       matterhorn=("14-002", "14-003")), "moderate"),
        Check("pdf.table-headers", Criteria(wcag=("1.3.1",), en301549=("10.1.3.1",),
                                            matterhorn=("15-001", "15-002", "09-004")),
              "serious"),
        Check("pdf.tab-order", Criteria(wcag=("2.4.3",), en301549=("10.2.4.3",),
                                        matterhorn=("28-008", "28-009")), "moderate"),
        Check("pdf.bookmarks", Criteria(wcag=("2.4.5",), en301549=("10.2.4.5",),
                                        matterhorn=()), "moderate"),
        Check("pdf.reading-order", Criteria(wcag=("1.3.2",), en301549=("10.1.3.2",),
                                            matterhorn=("09-001",)), "serious"),
    )
}


@dataclass
class _Report:
    """The findings of one file, built check by check."""

    name: str
    findings: list[Finding] = field(default_factory=list)

    def passed(self, check: str, message: str, **figures: Any) -> None:
        self.findings.append(Finding(self.name, check, "passed", message, CHECKS[check].criteria,
                                     None, "", figures))

    def failed(self, check: str, message: str, locator: str = "", **figures: Any) -> None:
        self.findings.append(Finding(self.name, check, "failed", message, CHECKS[check].criteria,
                                     CHECKS[check].impact, locator, figures))

    def cannot_tell(self, check: str, message: str) -> None:
        self.findings.append(Finding(self.name, check, "cannot-tell", message,
                                     CHECKS[check].criteria))

    def failures(self, check: str, problems: Sequence[tuple[str, str]], passed: str,
                 **figures: Any) -> None:
        """One finding per problem (message, locator), or one passed finding when none."""
        for message, locator in problems[:MAX_FINDINGS_PER_CHECK]:
            self.failed(check, message, locator, **figures)
        if not problems:
            self.passed(check, passed, **figures)


# ---------------------------------------------------------------- the structure tree


@dataclass(frozen=True)
class StructElem:
    """A structure element after role mapping, in reading (depth-first) order."""

    type: str
    obj: pikepdf.Dictionary
    page: int | None  # 1-based
    depth: int


def _kids(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, pikepdf.Array):
        return list(value)
    return [value]


def structure_elements(pdf: pikepdf.Pdf) -> list[StructElem]:
    """Every structure element under the StructTreeRoot, depth first, role map applied."""
    root = pdf.Root.get("/StructTreeRoot")
    if root is None:
        return []
    role_map = root.get("/RoleMap", pikepdf.Dictionary())
    pages = {page.obj.objgen: number for number, page in enumerate(pdf.pages, start=1)}
    seen: set[tuple[int, int]] = set()
    out: list[StructElem] = []

    def role(name: str) -> str:
        hops = 0
        while f"/{name}" in role_map and hops < 10:  # a circular map stops here
            name = str(role_map[f"/{name}"])[1:]
            hops += 1
        return name

    def visit(node: Any, depth: int, page: int | None) -> None:
        if not isinstance(node, pikepdf.Dictionary) or "/S" not in node:
            return  # a marked-content id, or a reference to content or an annotation
        if node.is_indirect:
            if node.objgen in seen:
                return
            seen.add(node.objgen)
        pg = node.get("/Pg")
        if pg is not None and pg.is_indirect:
            page = pages.get(pg.objgen, page)
        out.append(StructElem(role(str(node.S)[1:]), node, page, depth))
        for kid in _kids(node.get("/K")):
            visit(kid, depth + 1, page)

    for kid in _kids(root.get("/K")):
        visit(kid, 0, None)
    return out


def _where(elem: StructElem) -> str:
    return f"page {elem.page}" if elem.page else ""


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


# ---------------------------------------------------------------- reading order


def letters(text: str) -> str:
    """The letters and digits of ``text``, compared for reading order: compatibility forms
    folded (Arabic presentation forms, ligatures), case ignored, and spaces, punctuation and
    combining marks left out — poppler splits and joins words around Arabic vowel marks and at
    changes of direction, which says nothing about the order in which the text is read."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(char for char in text
                   if unicodedata.category(char)[0] in "LN" and char not in _LIGATURE_ALEFS)


#: the second letter of the Arabic lam-alef ligatures: poppler gives their two letters in
#: visual order, so they are left out of the comparison rather than counted as moved text
_LIGATURE_ALEFS = frozenset("اأإآى")


def source_text(doc: Document, fmt: str | None) -> str:
    """The source's words in reading order: title, summary and (except on a poster, which
    carries only the practical facts) the body."""
    parts = [doc.record.title, doc.record.summary]
    if fmt != "pdf-poster":
        for block in walk_blocks(doc.blocks):
            if isinstance(block, Heading | Paragraph | Table):
                parts.extend(plain_text(inlines) for inlines in block_inlines(block))
    return "\n".join(parts)


def _is_rtl(text: str) -> bool:
    strong = [unicodedata.bidirectional(char) for char in text]
    return sum(kind in ("R", "AL") for kind in strong) > sum(kind == "L" for kind in strong)


@dataclass
class _Word:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float


def _lines(words: list[_Word]) -> list[str]:
    """Words of one text flow grouped into visual lines (top to bottom), each line read in its
    direction. Poppler cuts a right-to-left line into pieces wherever a vowel mark sits above
    it and lists the pieces left to right; joining words that share a line undoes that."""
    lines: list[list[_Word]] = []
    for word in sorted(words, key=lambda w: (w.y0 + w.y1) / 2):
        middle = (word.y0 + word.y1) / 2
        if lines and lines[-1][0].y0 <= middle <= lines[-1][0].y1:
            lines[-1].append(word)
        else:
            lines.append([word])
    out = []
    for line in lines:
        rtl = _is_rtl("".join(word.text for word in line))
        ordered = sorted(line, key=lambda w: -w.x0 if rtl else w.x0)
        texts: list[str] = []
        run: list[str] = []  # left-to-right words inside a right-to-left line keep their order
        for word in ordered:
            if rtl and not _is_rtl(word.text):
                run.insert(0, word.text)
                continue
            texts += run
            run = []
            # poppler gives the letters of a right-to-left word in visual order
            texts.append(word.text[::-1] if _is_rtl(word.text) else word.text)
        out.append(" ".join(texts + run))
    return out


def extract_text(path: Path) -> str | None:
    """The text of the PDF in reading order as poppler's layout analysis finds it (its text
    flows, in order), or None when pdftotext cannot run or cannot read the file (the audit
    looks for pdftotext first: its absence is a check not made, not a fact of the file)."""
    try:
        done = subprocess.run(["pdftotext", "-bbox-layout", "-enc", "UTF-8", str(path), "-"],
                              capture_output=True, check=False, timeout=120)
    except OSError:
        return None
    if done.returncode != 0:
        return None
    try:
        tree = ElementTree.fromstring(done.stdout)
    except ElementTree.ParseError:
        return None
    ns = "{http://www.w3.org/1999/xhtml}"
    lines: list[str] = []
    for page in tree.iter(f"{ns}page"):
        for flow in page.iter(f"{ns}flow"):
            words = [
                _Word(element.text or "", float(element.get("xMin", 0)),
                      float(element.get("yMin", 0)), float(element.get("xMax", 0)),
                      float(element.get("yMax", 0)))
                for element in flow.iter(f"{ns}word")
            ]
            lines.extend(_lines([word for word in words if letters(word.text)]))
        lines.append("\f")
    return "\n".join(lines)


@dataclass(frozen=True)
class OrderScore:
    similarity: float  # share of the source's letters read back in the source's order
    ratio: float  # over both sequences: 2 × letters in order / all letters (added text counts)
    source_letters: int
    extracted_letters: int
    first_difference: str


def reading_order(expected: str, extracted: str) -> OrderScore:
    """How much of ``expected`` comes out of ``extracted`` in the same order: the longest
    common subsequence of the two letter sequences. Text added in between (running headers,
    the labels of the practical facts) does not count against it; text missing or moved does.

    rapidfuzz computes it (bit-parallel, in C++), not the standard library's difflib, whose
    matcher is quadratic here: over an alphabet of ~30 letters each one occurs hundreds of
    times, and a PDF of 2,000 letters took ~60 ms (1.7 s for the 27 PDFs of three services),
    growing with the square of a document's length; rapidfuzz takes well under a millisecond
    and gives the longest common subsequence itself, where difflib's blocks may fall short
    of it (on our PDFs both gave the same figures)."""
    from rapidfuzz.distance import Indel

    want, got = letters(expected), letters(extracted)
    blocks = Indel.editops(want, got).as_matching_blocks()
    matched = sum(block.size for block in blocks)
    first, position = "", 0
    for block in blocks:
        if 0 < block.size < 8:
            continue  # a few letters that happen to match inside missing or moved text
        if block.a - position > 20:  # a run of missing or moved text, not one odd letter
            first = _context(expected, position)
            break
        position = block.a + block.size
    total = len(want) + len(got)
    return OrderScore(
        similarity=matched / len(want) if want else 1.0,
        ratio=2 * matched / total if total else 1.0,
        source_letters=len(want),
        extracted_letters=len(got),
        first_difference=first,
    )


def _context(text: str, letter_index: int) -> str:
    """A few words of ``text`` around its ``letter_index``-th letter, to show a reader."""
    count = 0
    for index, char in enumerate(unicodedata.normalize("NFKC", text)):
        if unicodedata.category(char)[0] in "LN":
            if count == letter_index:
                return " ".join(unicodedata.normalize("NFKC", text)[index:].split()[:8])
            count += 1
    return ""


# ---------------------------------------------------------------- fonts


def _fonts(resources: Any, seen: set[tuple[int, int]]) -> Iterator[tuple[str, Any]]:
    """(resource name, font dictionary) of every font in ``resources`` and its form XObjects."""
    if not isinstance(resources, pikepdf.Dictionary):
        return
    if resources.is_indirect:
        if resources.objgen in seen:
            return
        seen.add(resources.objgen)
    yield from dict(resources.get("/Font", {})).items()
    for xobject in dict(resources.get("/XObject", {})).values():
        if xobject.get("/Subtype") == "/Form":
            yield from _fonts(xobject.get("/Resources"), seen)


def font_is_embedded(font: Any) -> bool:
    if font.get("/Subtype") == "/Type3":
        return True  # its glyphs are content streams inside the file
    if font.get("/Subtype") == "/Type0":
        descendants = font.get("/DescendantFonts")
        if not descendants:
            return False
        font = descendants[0]
    descriptor = font.get("/FontDescriptor")
    if descriptor is None:
        return False
    return any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))


# ---------------------------------------------------------------- the audit


class PdfAudit(Audit):
    name: ClassVar[str] = "pdf"
    suffixes: ClassVar[tuple[str, ...]] = (".pdf",)

    def audit(self, inputs: Sequence[AuditInput], ctx: AuditContext) -> list[Finding]:
        findings: list[Finding] = []
        for item in inputs:
            findings.extend(self.audit_file(item))
        return findings

    def audit_file(self, item: AuditInput) -> list[Finding]:
        report = _Report(item.name)
        try:
            with pikepdf.open(item.path) as pdf:
                self._check_structure(pdf, report, item)
        except (pikepdf.PdfError, OSError) as exc:
            for check in CHECKS:
                report.failed(check, f"the file cannot be read as a PDF ({exc})")
            return report.findings
        self._check_reading_order(item, report)
        return report.findings

    def _check_structure(self, pdf: pikepdf.Pdf, report: _Report, item: AuditInput) -> None:
        root = pdf.Root
        mark_info = root.get("/MarkInfo")
        if mark_info is not None and bool(mark_info.get("/Marked", False)):
            report.passed("pdf.tagged", "the PDF is tagged (MarkInfo /Marked true)")
        else:
            report.failed("pdf.tagged", "the PDF is not marked as tagged: screen readers cannot "
                          "tell headings, lists and tables from plain text")
        elements = structure_elements(pdf)
        if elements:
            report.passed("pdf.structure-tree", "the PDF has a structure tree",
                          elements=len(elements))
        else:
            report.failed("pdf.structure-tree", "the PDF has no structure tree (no tags)")

        self._check_language(root, report, item)
        self._check_metadata(pdf, report)
        self._check_fonts(pdf, report)
        self._check_tags(elements, report)

        pages_without = [number for number, page in enumerate(pdf.pages, start=1)
                         if page.obj.get("/Tabs") != "/S"]
        report.failures("pdf.tab-order", [
            ("the page does not set its tab order to the structure order (/Tabs /S)",
             f"page {number}") for number in pages_without
        ], "every page follows the structure order for tabbing", pages=len(pdf.pages))

        headings = sum(1 for elem in elements if _HEADING.match(elem.type))
        outlines = root.get("/Outlines")
        has_bookmarks = outlines is not None and "/First" in outlines
        if has_bookmarks or headings == 0:
            report.passed("pdf.bookmarks", "the PDF has bookmarks to its headings"
                          if has_bookmarks else "the PDF has no headings to bookmark")
        else:
            report.failed("pdf.bookmarks", f"the PDF has {headings} headings but no bookmarks "
                          "to move between them")

    def _check_language(self, root: Any, report: _Report, item: AuditInput) -> None:
        lang = _text(root.get("/Lang"))
        if not re.match(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$", lang):
            report.failed("pdf.language", "the document language is not set (/Lang in the "
                          "catalog): screen readers will read it with the wrong voice"
                          if not lang else f"the document language '{lang}' is not a language tag")
            return
        expected = item.document.lang if item.document else None
        if expected and lang.split("-")[0].lower() != expected.split("-")[0].lower():
            report.failed("pdf.language", f"the document language is '{lang}' but the "
                          f"service is written in '{expected}'", lang=lang)
            return
        report.passed("pdf.language", f"the document language is '{lang}'", lang=lang)

    def _check_metadata(self, pdf: pikepdf.Pdf, report: _Report) -> None:
        metadata = pdf.open_metadata() if "/Metadata" in pdf.Root else None
        title = _text(metadata.get(f"{{{DC_NS}}}title")) if metadata is not None else ""
        preferences = pdf.Root.get("/ViewerPreferences", pikepdf.Dictionary())
        shows_title = bool(preferences.get("/DisplayDocTitle", False))
        if not title:
            report.failed("pdf.title", "the document has no title in its XMP metadata (dc:title)")
        elif not shows_title:
            report.failed("pdf.title", "the viewer is not asked to show the document title in "
                          "the title bar (DisplayDocTitle): it shows the file name instead")
        else:
            report.passed("pdf.title", f"the title bar shows '{title}'", title=title)
        part = _text(metadata.get(f"{{{PDFUA_NS}}}part")) if metadata is not None else ""
        if part:
            report.passed("pdf.pdfua-identifier", f"the PDF declares PDF/UA-{part}", part=part)
        else:
            report.failed("pdf.pdfua-identifier", "the XMP metadata does not declare PDF/UA "
                          "(pdfuaid:part)" if metadata is not None else
                          "the PDF has no XMP metadata stream")

    def _check_fonts(self, pdf: pikepdf.Pdf, report: _Report) -> None:
        problems: list[tuple[str, str]] = []
        checked: set[tuple[int, int]] = set()
        total = 0
        for number, page in enumerate(pdf.pages, start=1):
            for name, font in _fonts(page.obj.get("/Resources"), set()):
                if font.is_indirect:
                    if font.objgen in checked:
                        continue
                    checked.add(font.objgen)
                total += 1
                if not font_is_embedded(font):
                    base = _text(font.get("/BaseFont")).lstrip("/") or str(name)
                    problems.append((f"the font '{base}' is not embedded: readers without it "
                                     "see other letters, or none", f"page {number}"))
        report.failures("pdf.fonts-embedded", problems, f"all {total} fonts are embedded",
                        fonts=total)

    def _check_tags(self, elements: list[StructElem], report: _Report) -> None:
        figures = [elem for elem in elements if elem.type == "Figure"]
        report.failures("pdf.figure-alt", [
            ("a figure has no alternative text (Alt): a screen reader says nothing about it",
             _where(elem)) for elem in figures
            if not (_text(elem.obj.get("/Alt")) or _text(elem.obj.get("/ActualText")))
        ], f"all {len(figures)} figures have alternative text", figures=len(figures))

        problems: list[tuple[str, str]] = []
        previous = 0
        levels = [(int(match[1]), elem) for elem in elements
                  if (match := _HEADING.match(elem.type))]
        for level, elem in levels:
            if previous == 0 and level != 1:
                problems.append((f"the first heading is H{level}, not H1", _where(elem)))
            elif previous and level > previous + 1:
                problems.append((f"heading H{level} follows H{previous}: level "
                                 f"{previous + 1} is skipped", _where(elem)))
            previous = level
        report.failures("pdf.headings", problems,
                        f"the {len(levels)} headings start at H1 and skip no level",
                        headings=len(levels))

        tables = [index for index, elem in enumerate(elements) if elem.type == "Table"]
        table_problems = []
        for index in tables:
            table = elements[index]
            inside = []
            for elem in elements[index + 1:]:
                if elem.depth <= table.depth:
                    break
                inside.append(elem.type)
            if "TH" not in inside:
                table_problems.append(("a table has no header cells (TH): its cells are read "
                                       "without their column names", _where(table)))
        report.failures("pdf.table-headers", table_problems,
                        f"all {len(tables)} tables have header cells", tables=len(tables))

    def _check_reading_order(self, item: AuditInput, report: _Report) -> None:
        if item.document is None:
            report.cannot_tell("pdf.reading-order", "the source of this PDF is not known, so "
                               "its reading order cannot be compared with it")
            return
        if shutil.which("pdftotext") is None:
            # for want of a tool, not a fact of the file: never cached (see not_checked)
            report.findings += not_checked(
                report.name, ["pdf.reading-order"], "poppler's pdftotext is not installed to read "
                "the text back (install poppler-utils: see the README)",
                CHECKS["pdf.reading-order"].criteria)
            return
        extracted = extract_text(item.path)
        if extracted is None:
            report.cannot_tell("pdf.reading-order", "poppler's pdftotext could not read the "
                               "text of this PDF back")
            return
        fmt = item.artifact.format if item.artifact else (
            "pdf-poster" if item.name.endswith("-poster.pdf") else None)
        score = reading_order(source_text(item.document, fmt), extracted)
        figures: dict[str, Any] = {
            "similarity": round(score.similarity, 4),
            "ratio": round(score.ratio, 4),
            "source_letters": score.source_letters,
            "extracted_letters": score.extracted_letters,
        }
        if score.similarity >= READING_ORDER_THRESHOLD:
            report.passed("pdf.reading-order", f"{score.similarity:.1%} of the source's text is "
                          "read back in the source's order", **figures)
        else:
            where = f" (first difference near: {score.first_difference})" \
                if score.first_difference else ""
            report.failed("pdf.reading-order", f"only {score.similarity:.1%} of the source's "
                          f"text is read back in the source's order{where}", **figures)


AUDIT = PdfAudit()
