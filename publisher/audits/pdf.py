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

import importlib.metadata
import re
import shutil
import subprocess
import unicodedata
from collections import Counter
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
from publisher.audits.pdfua_rules import HUMAN_CHECKPOINTS, MACHINE_CHECKPOINTS, rule
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
_HEADING = re.compile(r"^H([1-6])$")


@dataclass(frozen=True)
class Check:
    """What a check is about, for reports: its id, its criteria and how bad a failure is."""

    id: str
    criteria: Criteria
    impact: Impact


#: the check that holds the PDF/UA-1 validator's verdict: one finding per rule it fails
VALIDATOR = "pdf.pdfua-1"
#: the Matterhorn checkpoints only a person can decide, listed on every PDF's report
NEEDS_A_PERSON = "pdf.needs-a-person"

CHECKS: dict[str, Check] = {
    check.id: check
    for check in (
        # the validator's criteria are those of each rule (see RULES); these are the passed
        # finding's: the machine-checkable part of the protocol
        Check(VALIDATOR, Criteria(wcag=("1.1.1", "1.3.1", "2.4.2", "3.1.1", "4.1.2"),
                                  en301549=("10.1.1.1", "10.1.3.1", "10.2.4.2", "10.3.1.1",
                                            "10.4.1.2"),
                                  matterhorn=MACHINE_CHECKPOINTS), "serious"),
        # what the validator cannot know: the language and the order of the source, and a
        # table whose cells have no header at all (PDF/UA-1 asks for TH where a table has
        # headers; whether it has is the source's business)
        Check("pdf.language", Criteria(wcag=("3.1.1",), en301549=("10.3.1.1",),
                                       matterhorn=("11-001", "11-006")), "serious"),
        Check("pdf.table-headers", Criteria(wcag=("1.3.1",), en301549=("10.1.3.1",),
                                            matterhorn=("15-001", "15-002", "09-004")),
              "serious"),
        # advice: PDF/UA-1 does not ask for outlines; WCAG 2.4.5 can be met by a contents list
        Check("pdf.bookmarks", Criteria(wcag=("2.4.5",), en301549=("10.2.4.5",),
                                        matterhorn=()), "minor"),
        Check("pdf.reading-order", Criteria(wcag=("1.3.2",), en301549=("10.1.3.2",),
                                            matterhorn=("09-001",)), "serious"),
        Check(NEEDS_A_PERSON, Criteria(wcag=("1.1.1", "1.3.1", "1.3.2", "1.4.3", "2.4.4"),
                                       en301549=("10.1.1.1", "10.1.3.1", "10.1.3.2",
                                                 "10.1.4.3", "10.2.4.4"),
                                       matterhorn=tuple(sorted(HUMAN_CHECKPOINTS))),
              "minor"),
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


# ---------------------------------------------------------------- the audit


def validator_version() -> str:
    """The PDF/UA-1 validator's version: its rules are the audit's verdicts, so a new one
    re-audits every PDF (it goes into the audit cache key, see publisher/audit.py)."""
    try:
        return f"page-validation {importlib.metadata.version('page-validation')}"
    except importlib.metadata.PackageNotFoundError:
        return "page-validation missing"


_PAGE = re.compile(r"\bon page (\d+)|^page (\d+)\b")
_OBJECT = re.compile(r"\b(?:annotation|font object|object|descendant font object) (\d+)(?: 0)?\b")


def _object_pages(pdf: pikepdf.Pdf) -> dict[int, int]:
    """Object number -> the first page (1-based) that uses it: its annotations and fonts."""
    out: dict[int, int] = {}
    for number, page in enumerate(pdf.pages, start=1):
        for annot in page.obj.get("/Annots", []):
            if annot.is_indirect:
                out.setdefault(annot.objgen[0], number)
        for _, font in _fonts(page.obj.get("/Resources"), set()):
            if font.is_indirect:
                out.setdefault(font.objgen[0], number)
            for descendant in font.get("/DescendantFonts", []):
                if descendant.is_indirect:
                    out.setdefault(descendant.objgen[0], number)
    return out


def validator_findings(item: AuditInput, pdf: pikepdf.Pdf | None) -> list[Finding]:
    """The PDF/UA-1 validator (``page-validation``, ``import page``) on the file: one failed
    finding per rule it fails, with the ISO 14289-1 clause, the Matterhorn checkpoint(s), the
    WCAG / EN 301 549 criteria, the page and object, and what to fix; one passed finding when
    it finds nothing."""
    try:
        import page as validator
    except ImportError:  # a broken installation: a check not made, never cached
        return not_checked(item.name, [VALIDATOR], "the PDF/UA-1 validator (the Python package "
                           "page-validation) is not installed: run ./run setup",
                           CHECKS[VALIDATOR].criteria)
    try:
        report = validator.validate_pdf(item.path, profile=validator.ValidationProfile.PDF_UA_1)
    except validator.PageError as exc:
        return [Finding(item.name, VALIDATOR, "failed", f"the PDF/UA-1 validator cannot read "
                        f"the file ({exc}): it is damaged or not a PDF",
                        CHECKS[VALIDATOR].criteria, "critical")]
    if not report.failures:
        return [Finding(item.name, VALIDATOR, "passed",
                        f"the PDF/UA-1 validator ({validator_version()}) passes all "
                        f"{report.rules.total} of its rules", CHECKS[VALIDATOR].criteria,
                        figures={"validator_rules": report.rules.total})]
    pages = _object_pages(pdf) if pdf is not None else {}
    findings = []
    for failure in report.failures:
        meaning = rule(failure.rule_id)
        page_match = _PAGE.search(failure.message)
        object_number = (failure.object_id.object_number if failure.object_id is not None
                         else None)
        if object_number is None and (found := _OBJECT.search(failure.message)):
            object_number = int(found[1]) or None  # 0 names no object
        page_number = (int(page_match[1] or page_match[2]) if page_match
                       else pages.get(object_number or -1))
        locator = ", ".join(part for part in (
            f"page {page_number}" if page_number else "",
            f"object {object_number}" if object_number else "") if part)
        matterhorn = f", Matterhorn {' '.join(meaning.matterhorn)}" if meaning.matterhorn else ""
        findings.append(Finding(
            item.name, VALIDATOR, "failed",
            f"{meaning.fix[0].upper()}{meaning.fix[1:]} (ISO 14289-1 {meaning.clause}"
            f"{matterhorn}; validator rule {failure.rule_id}: {failure.message})",
            Criteria(wcag=meaning.wcag, en301549=meaning.en301549,
                     matterhorn=meaning.matterhorn),
            meaning.impact, locator,
            {"rule": failure.rule_id, "iso14289": meaning.clause,
             "failed_checks": report.checks.failed},
        ))
    return findings


def needs_a_person(name: str) -> Finding:
    """The Matterhorn checkpoints no machine decides, as Ace by DAISY lists its manual checks:
    the auditor sees the whole protocol and what is left for them."""
    listed = "; ".join(f"{checkpoint}: {what}"
                       for checkpoint, what in sorted(HUMAN_CHECKPOINTS.items()))
    return Finding(name, NEEDS_A_PERSON, "cannot-tell",
                   f"Needs a person: no machine can decide these Matterhorn 1.1 checkpoints — "
                   f"{listed}.", CHECKS[NEEDS_A_PERSON].criteria,
                   figures={"manual_checkpoints": len(HUMAN_CHECKPOINTS)})


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
                report.findings += validator_findings(item, pdf)
                self._check_structure(pdf, report, item)
        except (pikepdf.PdfError, OSError) as exc:
            report.findings = []
            for check in CHECKS:
                if check != NEEDS_A_PERSON:
                    report.failed(check, f"the file cannot be read as a PDF ({exc})")
            return report.findings
        self._check_reading_order(item, report)
        report.findings.append(needs_a_person(item.name))
        return report.findings

    def _check_structure(self, pdf: pikepdf.Pdf, report: _Report, item: AuditInput) -> None:
        """Our own checks, where they add to the validator: the language against the source,
        tables with no header cell at all, and bookmarks (advice)."""
        root = pdf.Root
        elements = structure_elements(pdf)
        self._check_language(root, elements, report, item)
        self._check_tables(elements, report)
        headings = sum(1 for elem in elements if _HEADING.match(elem.type))
        outlines = root.get("/Outlines")
        has_bookmarks = outlines is not None and "/First" in outlines
        if has_bookmarks or headings == 0:
            report.passed("pdf.bookmarks", "the PDF has bookmarks to its headings"
                          if has_bookmarks else "the PDF has no headings to bookmark")
        else:
            # PDF/UA-1 does not ask for outlines, and WCAG 2.4.5 has other means (a contents
            # list, a search): advice for a person to weigh, never a failure
            report.cannot_tell("pdf.bookmarks", f"Advice: the PDF has {headings} headings but "
                               "no bookmarks; bookmarks let readers move between them (WCAG "
                               "2.4.5 is also met by a contents list — a person decides)")

    def _check_language(self, root: Any, elements: list[StructElem], report: _Report,
                        item: AuditInput) -> None:
        """The document's language against the source's. ISO 14289-1 7.2 lets the language
        come from the catalog (/Lang) or from the structure elements and marked content: the
        validator checks that every text has one; this check compares it with the source."""
        lang = _text(root.get("/Lang"))
        where = "the document language"
        if not lang:
            tags = Counter(_text(elem.obj.get("/Lang")) for elem in elements
                           if _text(elem.obj.get("/Lang")))
            if not tags:
                report.cannot_tell("pdf.language", "the PDF declares no language, neither in "
                                   "its catalog nor on its tags (the validator reports the "
                                   "text without one)")
                return
            lang = tags.most_common(1)[0][0]
            where = "the language of the tags"
        expected = item.document.lang if item.document else None
        if expected and lang.split("-")[0].lower() != expected.split("-")[0].lower():
            report.failed("pdf.language", f"{where} is '{lang}' but the service is written in "
                          f"'{expected}': screen readers will read it with the wrong voice",
                          lang=lang)
            return
        report.passed("pdf.language", f"{where} is '{lang}'"
                      + (" as in the source" if expected else ""), lang=lang)

    def _check_tables(self, elements: list[StructElem], report: _Report) -> None:
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
                                       "without their column names (ISO 14289-1 7.5)",
                                       _where(table)))
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
