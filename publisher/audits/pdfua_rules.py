"""What the PDF/UA-1 validator's rules mean for a reader of our report.

In: a rule id of ``page-validation`` (``PDFUA1-LINK-LINK-TAG-001``). Out: a :class:`Rule` — the
ISO 14289-1 clause it checks, the Matterhorn Protocol 1.1 failure conditions it corresponds to,
the WCAG 2.2 / EN 301 549 (clause 10, documents) criteria where one applies, how bad a failure
is and, in plain words, what to fix. Exact ids first, then families by prefix, so a rule added in
a later version of the validator still gets its clause. Also: the Matterhorn checkpoints that
only a person can decide, which every PDF's report lists as "needs a person".
"""

from __future__ import annotations

from dataclasses import dataclass

from publisher.audits import Impact


@dataclass(frozen=True)
class Rule:
    clause: str  # ISO 14289-1, e.g. "7.18.5"
    matterhorn: tuple[str, ...]
    wcag: tuple[str, ...]
    en301549: tuple[str, ...]
    impact: Impact
    fix: str  # what to do, for a person who makes PDFs


def _rule(clause: str, matterhorn: str, wcag: str, impact: Impact, fix: str) -> Rule:
    criteria = tuple(wcag.split()) if wcag else ()
    return Rule(clause, tuple(matterhorn.split()), criteria,
                tuple(f"10.{sc}" for sc in criteria), impact, fix)


#: rule id -> what it means; ids from page-validation 0.11.0
RULES: dict[str, Rule] = {
    "PDFUA1-HEADER-001": _rule("5", "", "", "moderate",
                               "save the file as a standard PDF (1.x) so readers can open it"),
    "PDFUA1-ID-PART-001": _rule("5", "06-002", "", "moderate",
                                "declare PDF/UA-1 in the XMP metadata (pdfuaid:part = 1)"),
    "PDFUA1-ID-SCHEMA-001": _rule("5", "06-002", "", "moderate",
                                  "declare PDF/UA-1 in the XMP metadata (pdfuaid:part = 1)"),
    "PDFUA1-METADATA-STRUCTURE-001": _rule("7.1", "06-001", "", "moderate",
                                           "give the document an XMP metadata stream"),
    "PDFUA1-METADATA-TITLE-001": _rule("7.1", "06-003", "2.4.2", "serious",
                                       "give the document a title in its metadata (dc:title)"),
    "PDFUA1-VIEWER-PREFERENCES-001": _rule(
        "7.1", "07-001 07-002", "2.4.2", "serious",
        "ask viewers to show the title, not the file name (DisplayDocTitle true)"),
    "PDFUA1-SUSPECTS-001": _rule(
        "7.1", "01-007", "1.3.1", "serious",
        "the tags are marked as suspect (Suspects true): check and repair the tags, then "
        "clear the flag"),
    "PDFUA1-TAGGED-DOCUMENT-001": _rule(
        "7.1", "01-005", "1.3.1", "critical",
        "tag the document (export it as tagged PDF): screen readers cannot tell headings, "
        "lists and tables from plain text"),
    "PDFUA1-STRUCT-TREE-ROOT-001": _rule(
        "7.1", "01-005", "1.3.1", "critical", "tag the document: it has no structure tree"),
    "PDFUA1-STRUCT-TREE-ROLE-MAP-001": _rule(
        "7.1", "02-001", "1.3.1", "serious",
        "map every custom tag to a standard one in the role map"),
    "PDFUA1-STRUCT-TREE-ROLE-MAP-CYCLE-001": _rule(
        "7.1", "02-003", "1.3.1", "serious", "remove the circular mapping from the role map"),
    "PDFUA1-STRUCT-TREE-ROLE-MAP-STANDARD-001": _rule(
        "7.1", "02-004", "1.3.1", "serious", "do not remap standard tags in the role map"),
    "PDFUA1-ARTIFACT-NESTED-001": _rule(
        "7.1", "01-003", "1.3.1", "serious",
        "take the decoration (artifact) out of the tagged content it sits in"),
    "PDFUA1-TAGGED-CONTENT-INSIDE-ARTIFACT-001": _rule(
        "7.1", "01-004", "1.3.1", "serious",
        "real content is hidden inside an artifact: tag it as content"),
    "PDFUA1-CONTENT-TAGGING-001": _rule(
        "7.1", "01-005", "1.3.1", "serious",
        "tag every piece of content or mark it as an artifact (decoration)"),
    "PDFUA1-FIGURE-ALTERNATIVE-TEXT-001": _rule(
        "7.3", "13-004", "1.1.1", "critical",
        "give the figure alternative text (Alt) that says what it shows"),
    "PDFUA1-FORMULA-ALTERNATIVE-TEXT-001": _rule(
        "7.7", "17-002", "1.1.1", "serious", "give the formula alternative text (Alt)"),
    "PDFUA1-HEADING-NESTING-001": _rule(
        "7.4.2", "14-003", "1.3.1 2.4.6", "moderate",
        "do not skip heading levels (an H4 after an H2): fix the heading levels in the source"),
    "PDFUA1-NOTE-ID-001": _rule("7.9", "19-003", "1.3.1", "moderate",
                                "give every Note tag an ID"),
    "PDFUA1-NOTE-ID-UNIQUE-001": _rule("7.9", "19-004", "1.3.1", "moderate",
                                       "give every Note tag an ID of its own"),
    "PDFUA1-OPTIONAL-CONTENT-NAME-001": _rule("7.10", "20-001", "", "moderate",
                                              "name every optional content layer"),
    "PDFUA1-OPTIONAL-CONTENT-AS-001": _rule(
        "7.10", "20-003", "", "moderate", "remove the AS entry from the layers' configuration"),
    "PDFUA1-FILE-SPEC-F-AND-UF-001": _rule("7.11", "21-001", "", "moderate",
                                           "give each embedded file both F and UF names"),
    "PDFUA1-DYNAMIC-XFA-001": _rule("7.15", "25-001", "4.1.2", "critical",
                                    "replace the dynamic XFA form with a tagged PDF form"),
    "PDFUA1-ENCRYPTION-P-001": _rule(
        "7.16", "26-002", "", "critical",
        "allow assistive technology to read the text (permission bit 10) when encrypting"),
    "PDFUA1-ANNOTATION-ANNOT-TAG-001": _rule(
        "7.18.2", "28-002", "1.3.1", "serious", "put each annotation under an Annot tag"),
    "PDFUA1-ANNOTATION-CONTENTS-ALT-001": _rule(
        "7.18.1", "28-004", "1.1.1", "serious",
        "describe the annotation in its Contents entry"),
    "PDFUA1-TRAPNET-ANNOTATION-001": _rule("7.18.2", "", "", "moderate",
                                           "remove the TrapNet annotation"),
    "PDFUA1-PAGE-TABS-001": _rule(
        "7.18.3", "28-008 28-009", "2.4.3", "moderate",
        "make the page's tab order follow the structure (Tabs S)"),
    "PDFUA1-WIDGET-FORM-TAG-001": _rule("7.18.4", "28-010", "1.3.1 4.1.2", "serious",
                                        "put each form field under a Form tag"),
    "PDFUA1-FORM-FIELD-TU-ALT-001": _rule("7.18.4", "28-005", "1.3.1 4.1.2", "serious",
                                          "give each form field a name for people (TU)"),
    "PDFUA1-LINK-LINK-TAG-001": _rule(
        "7.18.5", "28-011", "1.3.1 2.4.4", "serious",
        "put each link annotation under the Link tag of its text (one annotation per link)"),
    "PDFUA1-LINK-CONTENTS-001": _rule(
        "7.18.5", "28-012", "2.4.4", "serious",
        "describe each link in its annotation's Contents entry"),
    "PDFUA1-MEDIA-CLIP-CT-001": _rule("7.18.6.2", "28-014", "", "moderate",
                                      "give each media clip its content type (CT)"),
    "PDFUA1-MEDIA-CLIP-ALT-001": _rule("7.18.6.2", "28-015", "1.1.1", "serious",
                                       "give each media clip a description (Alt)"),
    "PDFUA1-PRINTER-MARK-ARTIFACT-001": _rule(
        "7.18.8", "28-018", "", "minor", "mark printer's marks as artifacts"),
    "PDFUA1-FONT-EMBEDDING-001": _rule(
        "7.21.4.1", "31-009", "", "serious",
        "embed every font: readers without it see other letters, or none"),
    "PDFUA1-FONT-UNICODE-MAPPING-001": _rule(
        "7.21.7", "31-027", "1.3.1 4.1.2", "serious",
        "map every glyph of the font to Unicode (ToUnicode), or screen readers cannot read "
        "the text"),
    "PDFUA1-FONT-UNICODE-VALUE-001": _rule(
        "7.21.7", "31-028", "1.3.1 4.1.2", "serious",
        "map no glyph to U+0000, U+FEFF or U+FFFE"),
    "PDFUA1-NOTDEF-GLYPH-001": _rule(
        "7.21.8", "31-030", "1.3.1", "serious",
        "text is drawn with the missing-glyph (.notdef): use a font that has every letter"),
}

#: families of rules by prefix: a rule not listed above (a newer validator) still gets a clause
FAMILIES: tuple[tuple[str, Rule], ...] = (
    ("PDFUA1-ID-", _rule("5", "06-002", "", "moderate",
                         "declare PDF/UA-1 correctly in the XMP metadata (pdfuaid)")),
    ("PDFUA1-METADATA-LANGUAGE", _rule(
        "7.2", "11-006", "3.1.1", "serious", "give the document's metadata a language")),
    ("PDFUA1-OUTLINE-LANGUAGE", _rule(
        "7.2", "11-001", "3.1.1", "serious",
        "the bookmarks' text has no language: set the document language in the catalog "
        "(Lang), or remove the bookmarks")),
    ("PDFUA1-ANNOTATION-CONTENTS-LANGUAGE", _rule(
        "7.2", "11-005", "3.1.2", "serious",
        "the annotations' descriptions have no language: set the document language in the "
        "catalog (Lang) or on their tags")),
    ("PDFUA1-", _rule("7.1", "", "1.3.1", "serious",
                      "see the validator's message and ISO 14289-1")),
)
_LANGUAGE = _rule("7.2", "11-001 11-002 11-003 11-004", "3.1.1 3.1.2", "serious",
                  "give the text a language: the document's (Lang in the catalog) or its "
                  "tags' or marked content's, so screen readers use the right voice")
_FONT = _rule("7.21", "31-001", "1.3.1", "serious",
              "repair or replace the font (export the PDF again with embedded, complete fonts)")
_STRUCTURE = _rule("7.1", "09-004 09-005 09-006", "1.3.1", "serious",
                   "nest the tags as ISO 32000-1 requires (a TR in a Table, an LI in an L...)")
_TABLE = _rule("7.5", "15-003 15-005", "1.3.1", "serious",
               "give the table's header cells a Scope, or its cells Headers that exist")


def rule(rule_id: str) -> Rule:
    """What ``rule_id`` means (the closest family for an id this table does not know)."""
    if rule_id in RULES:
        return RULES[rule_id]
    if rule_id.endswith("-LANGUAGE-001") or "LANGUAGE-TAG" in rule_id:
        for prefix, family in FAMILIES[:-1]:
            if rule_id.startswith(prefix):
                return family
        return _LANGUAGE
    if rule_id.startswith("PDFUA1-TABLE-HEADERS") or "TABLE-CELL" in rule_id:
        return _TABLE
    if any(word in rule_id for word in ("-PARENT-", "-KIDS-", "-CAPTION-", "TABLE-", "FORM-")):
        return _STRUCTURE
    if any(word in rule_id for word in ("FONT", "CMAP", "CID", "TRUETYPE", "TYPE0")):
        return _FONT
    if rule_id.startswith("PDFA1B-"):
        return _rule("7.1", "", "", "moderate", "see the validator's message and ISO 19005-1")
    for prefix, family in FAMILIES:
        if rule_id.startswith(prefix):
            return family
    return FAMILIES[-1][1]


#: the Matterhorn checkpoints the validator's rules decide
MACHINE_CHECKPOINTS: tuple[str, ...] = tuple(sorted(
    {checkpoint for item in RULES.values() for checkpoint in item.matterhorn}))

#: Matterhorn 1.1 checkpoints no machine can decide: (checkpoint, what a person checks)
HUMAN_CHECKPOINTS: dict[str, str] = {
    "01-001": "nothing decorative is tagged as content (page furniture read aloud)",
    "01-002": "nothing meaningful is marked as decoration (artifact) and so skipped",
    "01-006": "each tag says what its content is (a heading is tagged H, a list L, a quote "
              "BlockQuote): correct tag semantics",
    "04-001": "no information is given by colour, contrast or layout alone, and text "
              "contrasts enough with its background",
    "06-004": "the title identifies the document",
    "09-001": "the tags are in the order a person reads the page (above all in PDFs from "
              "elsewhere, whose source we cannot compare)",
    "13-001": "every picture that carries meaning is tagged as a Figure",
    "13-004": "each figure's alternative text says what the figure shows (the machine sees "
              "only that there is one)",
    "14-001": "text that looks like a heading is tagged as one",
    "16-001": "lists are tagged as lists",
    "18-001": "running headers, footers and page numbers are marked as pagination artifacts",
}
