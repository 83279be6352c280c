"""The print, large print and poster PDFs and their audit.

Real engines: WeasyPrint writes the PDFs, pikepdf and poppler (pdftotext, pdftoppm) read them
back. Documents are small and built by hand; the expensive renders are module-scoped and
shared. The broken PDFs the audit must catch are made by editing a good one with pikepdf.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import page as pdf_validator
import pikepdf
import pytest
from PIL import Image as PILImage

from publisher.audits import AuditContext, AuditInput, Finding
from publisher.audits import registry as audit_registry
from publisher.audits.pdf import (
    AUDIT,
    CHECKS,
    NEEDS_A_PERSON,
    VALIDATOR,
    extract_text,
    letters,
)
from publisher.config import AccessibilityContact, Language, SiteConfig
from publisher.diagnostics import Diagnostics, SourceSpan
from publisher.i18n import Locale
from publisher.model import (
    Block,
    BulletList,
    Channel,
    Contact,
    Document,
    Fee,
    Heading,
    Image,
    ListItem,
    Location,
    Note,
    OpeningHours,
    Paragraph,
    ServiceRecord,
    Strong,
    Table,
    TableCell,
    Text,
)
from publisher.writers import Artifact, RenderContext, Site, pdfua
from publisher.writers import registry as writer_registry
from publisher.writers.pdf import (
    VARIANTS,
    WRITER,
    PdfOptions,
    css_string,
    html_for,
    page_counter_content,
)
from tests.pdfcheck import link_structure_problems

ROOT = Path(__file__).resolve().parent.parent
BUILD_TIME = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
MM = 72 / 25.4  # PDF points per millimetre

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
    reason="poppler-utils (pdftotext, pdftoppm) is needed to read the PDFs back",
)

CONFIG = SiteConfig(
    organisation={"en": "City of Testville", "ar": "مدينة تستفيل"},
    base_url="https://services.testville.example/",
    default_language="en",
    languages=(
        Language(code="en", name="English"),
        Language(code="ar", name="العربية", direction="rtl"),
    ),
    accessibility_contact=AccessibilityContact(email="a11y@testville.example"),
    topics={"transport": {"en": "Transport", "ar": "النقل"}},
)

TEXTS: dict[str, dict[str, Any]] = {
    "en": {
        "title": "Residents' parking permit",
        "summary": "Get a permit to park your car all day near your home.",
        "headings": ["Who can apply", "How much it costs", "Documents you need",
                     "How to apply", "Renewing your permit"],
        "para": "You can apply if your main home is in a paid parking zone and the car is "
                "registered in your name. Each household can have two permits at most.",
        "cells": [("Vehicle", "Price"), ("First car", "€20"), ("Second car", "€60")],
        "alt": "Map of the parking zones around the town hall",
        "fee": "First car, one year",
        "location": "Town Hall",
    },
    "ar": {
        "title": "بطاقة ركن السيارات للسكان",
        "summary": "احصل على بطاقة تتيح لك ركن سيارتك طوال اليوم قرب منزلك.",
        "headings": ["من يمكنه التقديم", "كم تكلف", "الوثائق المطلوبة", "كيفية التقديم",
                     "تجديد البطاقة"],
        "para": "يمكنك التقديم إذا كان مسكنك الرئيسي في منطقة ركن مدفوع وكانت السيارة مسجلة "
                "باسمك. يحق لكل أسرة الحصول على بطاقتين على الأكثر.",
        "cells": [("المركبة", "السعر"), ("السيارة الأولى", "20 يورو"),
                  ("السيارة الثانية", "60 يورو")],
        "alt": "خريطة مناطق الركن حول دار البلدية",
        "fee": "السيارة الأولى، سنة واحدة",
        "location": "دار البلدية",
    },
}


def make_document(lang: str, headings: int = 5, image: bool = True) -> Document:
    """A small service with every kind of block the PDFs tag: headings, paragraphs, a list,
    a table with a header row, a note and (optionally) an image with alt text."""
    texts = TEXTS[lang]
    span = SourceSpan(f"content/{lang}/parking-permit.md", 1)
    record = ServiceRecord(
        id="parking-permit",
        title=texts["title"],
        summary=texts["summary"],
        topic="transport",
        audience=("Residents",),
        channels=(
            Channel(type="online", url="https://services.testville.example/apply/parking"),
            Channel(type="phone", phone="+33 4 50 00 01 10"),
            Channel(type="in-person", location="town-hall"),
        ),
        fees=(Fee(label=texts["fee"], amount=20, currency="EUR"),),
        processing_time="10",
        opening_hours=(OpeningHours(days=("mo", "tu", "we", "th", "fr"), opens="08:30",
                                    closes="17:00"),),
        locations=(Location(id="town-hall", name=texts["location"],
                            address="1 place de la Mairie, 74999 Testville"),),
        contact=Contact(phone="+33 4 50 00 01 00", email="parking@testville.example"),
        owner="Parking",
        last_reviewed=dt.date(2026, 1, 15),
    )
    para = Paragraph((Text(texts["para"]),), span.at(10))
    blocks: list[Block] = [para]
    for index, heading in enumerate(texts["headings"][:headings]):
        blocks.append(Heading(2, (Text(heading),), f"h{index}", span.at(12 + index * 10)))
        blocks.append(para)
        if index == 0:
            blocks.append(BulletList((ListItem((Paragraph((Strong((Text(texts["fee"]),)),),
                                                          span.at(14)),), span.at(14)),
                                      ListItem((para,), span.at(15))), span.at(14)))
        if index == 1:
            head, *rows = texts["cells"]
            blocks.append(Table(tuple(TableCell((Text(cell),)) for cell in head),
                                tuple(tuple(TableCell((Text(cell),)) for cell in row)
                                      for row in rows), span.at(24)))
        if index == 2 and image:
            blocks.append(Paragraph((Image("images/zones.png", texts["alt"]),), span.at(33)))
        if index == 3:
            blocks.append(Note("tip", (para,), span.at(44)))
    return Document(record=record, lang=lang, blocks=tuple(blocks), source=f"{lang}/x.md",
                    span=span, fingerprint="0" * 64,
                    images=("images/zones.png",) if image else ())


@pytest.fixture(scope="module")
def content_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("content")
    (folder / "images").mkdir()
    picture = PILImage.new("RGB", (120, 60), (30, 90, 160))
    picture.save(folder / "images" / "zones.png")
    return folder


def make_context(lang: str, content_dir: Path, diagnostics: Diagnostics | None = None,
                 options: PdfOptions | None = None) -> RenderContext:
    language = CONFIG.language(lang)
    return RenderContext(
        config=CONFIG, language=language, locale=Locale(lang, language.direction),
        build_time=BUILD_TIME, formats_dir=ROOT / "formats", content_dir=content_dir,
        site=Site(CONFIG, {}), options=options or PdfOptions(),
        diagnostics=Diagnostics() if diagnostics is None else diagnostics,
    )


@pytest.fixture(scope="module")
def rendered(content_dir: Path) -> dict[str, tuple[Document, list[Artifact], Diagnostics]]:
    """The three PDFs of the same service in English and in Arabic, rendered once."""
    out = {}
    for lang in ("en", "ar"):
        doc = make_document(lang)
        diagnostics = Diagnostics()
        out[lang] = (doc, WRITER.render(doc, make_context(lang, content_dir, diagnostics)),
                     diagnostics)
    return out


def by_format(artifacts: list[Artifact], fmt: str) -> Artifact:
    return next(artifact for artifact in artifacts if artifact.format == fmt)


@pytest.fixture(scope="module")
def written(rendered: dict[str, tuple[Document, list[Artifact], Diagnostics]],
            tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    folder = tmp_path_factory.mktemp("pdf-out")
    paths = {}
    for lang, (_, artifacts, _) in rendered.items():
        for artifact in artifacts:
            path = folder / artifact.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(artifact.data)
            paths[(lang, artifact.format)] = path
    return paths


def audit(path: Path, document: Document | None, artifact: Artifact | None = None,
          name: str | None = None) -> list[Finding]:
    item = AuditInput(path, name or path.name, artifact, document)
    return AUDIT.audit([item], AuditContext(CONFIG, path.parent))


def outcomes(findings: list[Finding]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for finding in findings:
        out.setdefault(finding.check, set()).add(finding.outcome)
    return out


# ---------------------------------------------------------------- the writer


def test_the_pdf_writer_and_audit_are_registered() -> None:
    assert writer_registry()["pdf"] is WRITER
    assert audit_registry()["pdf"] is AUDIT
    assert AUDIT.suffixes == (".pdf",)


def test_three_pdfs_per_service_with_paths_labels_and_pages(
    rendered: dict[str, tuple[Document, list[Artifact], Diagnostics]],
) -> None:
    _doc, artifacts, diagnostics = rendered["en"]
    assert [(a.path, a.format, a.label, a.media_type) for a in artifacts] == [
        ("en/parking-permit/parking-permit-en.pdf", "pdf-print", "Printable PDF (A4)",
         "application/pdf"),
        ("en/parking-permit/parking-permit-en-large-print.pdf", "pdf-large-print",
         "Large print PDF", "application/pdf"),
        ("en/parking-permit/parking-permit-en-poster.pdf", "pdf-poster", "Poster (A3 PDF)",
         "application/pdf"),
    ]
    for artifact in artifacts:
        assert artifact.service == "parking-permit" and artifact.lang == "en"
        with pikepdf.open(io.BytesIO(artifact.data)) as pdf:
            assert artifact.meta["pages"] == len(pdf.pages)
    assert by_format(artifacts, "pdf-poster").meta["pages"] == 1
    # large print needs more pages than print for the same text
    assert (by_format(artifacts, "pdf-large-print").meta["pages"]
            > by_format(artifacts, "pdf-print").meta["pages"])
    assert not diagnostics.items, [d.format() for d in diagnostics]


def test_a_variant_can_be_switched_off(content_dir: Path) -> None:
    options = PdfOptions(large_print=False, poster=False)
    artifacts = WRITER.render(make_document("en", headings=1, image=False),
                              make_context("en", content_dir, options=options))
    assert [artifact.format for artifact in artifacts] == ["pdf-print"]


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_metadata_language_title_author_subject_dates_bookmarks(
    lang: str, rendered: dict[str, tuple[Document, list[Artifact], Diagnostics]],
) -> None:
    doc, artifacts, _ = rendered[lang]
    org = CONFIG.organisation_name(lang)
    for artifact in artifacts:
        with pikepdf.open(io.BytesIO(artifact.data)) as pdf:
            info = pdf.docinfo
            assert str(pdf.Root.Lang) == lang
            assert str(info["/Author"]) == org
            assert str(info["/Subject"]) == doc.record.summary
            assert doc.record.title in str(info["/Title"])
            assert str(info["/CreationDate"]) == "D:20260304050607Z"
            assert str(info["/ModDate"]) == "D:20260304050607Z"
            assert bool(pdf.Root.ViewerPreferences.DisplayDocTitle)
            metadata = pdf.open_metadata()
            assert metadata["{http://www.aiim.org/pdfua/ns/id/}part"] == "1"
            assert pdf.pdf_version == "1.7"
            # the file identifier names the document: stable, and different per format
            assert bytes(pdf.trailer.ID[0]) != bytes(pdf.trailer.ID[1])
            titles = []
            with pdf.open_outline() as outline:
                stack = list(outline.root)
                while stack:
                    item = stack.pop(0)
                    titles.append(item.title)
                    stack[:0] = list(item.children)
            assert doc.record.title in titles
            if artifact.format != "pdf-poster":
                for heading in TEXTS[lang]["headings"]:
                    assert heading in titles
    ids = set()
    for artifact in artifacts:
        with pikepdf.open(io.BytesIO(artifact.data)) as pdf:
            ids.add(bytes(pdf.trailer.ID[0]))
    assert len(ids) == 3


def test_same_input_gives_the_same_bytes(
    content_dir: Path, rendered: dict[str, tuple[Document, list[Artifact], Diagnostics]],
) -> None:
    for lang in ("en", "ar"):
        again = WRITER.render(make_document(lang), make_context(lang, content_dir))
        assert [a.data for a in again] == [a.data for a in rendered[lang][1]]
    # and the build time is what changes the dates, not the clock
    later = replace(make_context("en", content_dir), build_time=BUILD_TIME + dt.timedelta(1))
    moved = WRITER.render(make_document("en"), later)
    assert moved[0].data != rendered["en"][1][0].data


# ---------------------------------------------------------------- PDF/UA-1: links and glyphs


def test_every_pdf_passes_the_pdfua_validator(written: dict[tuple[str, str], Path]) -> None:
    for (lang, fmt), path in sorted(written.items()):
        report = pdf_validator.validate_pdf(path, profile=pdf_validator.ValidationProfile.PDF_UA_1)
        assert [(f.rule_id, f.message) for f in report.failures] == [], (lang, fmt)


def test_one_annotation_per_link_each_the_objr_of_its_link(
    written: dict[tuple[str, str], Path],
) -> None:
    links = 0
    for path in written.values():
        with pikepdf.open(path) as pdf:
            assert link_structure_problems(pdf) == [], path.name
            links += sum(1 for p in pdf.pages for a in p.obj.get("/Annots", [])
                         if a.get("/Subtype") == "/Link")
    assert links > 20  # the contents list, the ways to apply, the contact, the web address


def _weasyprint_pdf(html: str) -> bytes:
    import weasyprint

    data: bytes = weasyprint.HTML(string=html).write_pdf(pdf_variant="pdf/ua-1")
    return data


def test_the_repair_gives_a_link_one_annotation_and_keeps_its_reach() -> None:
    html = ('<html lang="en"><title>Links</title><body><p><a href="https://example.org/a">'
            '<strong>Apply</strong> '
            '<span>online</span></a> or <a href="#end">read on</a>.</p>'
            '<h1 id="end">End</h1></body></html>')
    raw = _weasyprint_pdf(html)
    with pikepdf.open(io.BytesIO(raw)) as pdf:
        # WeasyPrint's own output: the <strong> and <span> get annotations of their own
        assert any("under /Strong" in p or "under /Span" in p
                   for p in link_structure_problems(pdf))
    repaired = pdfua.repair(raw)
    assert pdfua.repair(raw) == repaired  # deterministic
    with pikepdf.open(io.BytesIO(repaired)) as pdf:
        assert link_structure_problems(pdf) == []
        annots = list(pdf.pages[0].Annots)
        assert sorted(str(a.Contents) for a in annots) == ["end", "https://example.org/a"]
    assert pdf_validator.validate_pdf_bytes(
        repaired, profile=pdf_validator.ValidationProfile.PDF_UA_1).failures == []

    # an inner annotation reaching beyond its link's is moved up, not dropped
    with pikepdf.open(io.BytesIO(raw)) as pdf:
        nums = pdf.Root.StructTreeRoot.ParentTree.Nums
        owners = {int(nums[i]): nums[i + 1] for i in range(0, len(nums), 2)}
        inner = next(a for a in pdf.pages[0].Annots if owners[int(a.StructParent)].S != "/Link")
        inner.Rect = pikepdf.Array([0, 0, 500, 800])
        out = io.BytesIO()
        pdf.save(out)
    with pikepdf.open(io.BytesIO(pdfua.repair(out.getvalue()))) as pdf:
        assert link_structure_problems(pdf) == []
        assert any(list(a.Rect) == [0, 0, 500, 800] for a in pdf.pages[0].Annots)


def test_every_glyph_maps_to_unicode_and_marked_arabic_reads_once(tmp_path: Path) -> None:
    word = "أصلًا"  # the lam-alef ligature under a tanwin: two glyphs, one cluster
    html = ('<html lang="ar" dir="rtl"><title>نص</title>'
            '<body style="font-family: Noto Sans Arabic">'
            f"<p>خلال {word}</p></body></html>")
    raw = _weasyprint_pdf(html)

    def maps(data: bytes) -> list[dict[int, str]]:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            return [pdfua.read_cmap(bytes(font.ToUnicode.read_bytes()))
                    for font in dict(pdf.pages[0].Resources.Font).values()]

    assert any("" in mapping.values() for mapping in maps(raw))  # WeasyPrint's empty entry
    repaired = pdfua.repair(raw)
    assert all("" not in mapping.values() for mapping in maps(repaired))
    assert pdf_validator.validate_pdf_bytes(
        repaired, profile=pdf_validator.ValidationProfile.PDF_UA_1).failures == []
    path = tmp_path / "arabic.pdf"
    path.write_bytes(repaired)
    text = extract_text(path) or ""
    # every letter once: the mark and the ligature's letters are not doubled
    assert Counter(letters(text)) == Counter(letters(f"خلال {word}"))


def test_mend_mapping_splits_a_cluster_between_its_glyphs() -> None:
    # glyph 1 took the cluster lam + tanwin + alef, glyph 2 (the ligature) got nothing
    mapping = {1: "\u0644\u064b\u0627", 2: "", 3: "\u0628"}
    characters = {1: "\u064b", 2: "\ufefc", 3: "\u0628"}
    assert pdfua.mend_mapping(mapping, characters) == {
        1: "\u064b", 2: "\u0644\u0627", 3: "\u0628"}
    # a glyph the font does not know gets the replacement character, never nothing
    assert pdfua.mend_mapping({5: ""}, {}) == {5: "\ufffd"}


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_print_has_running_header_page_n_of_m_and_front_matter(
    lang: str, written: dict[tuple[str, str], Path],
    rendered: dict[str, tuple[Document, list[Artifact], Diagnostics]],
) -> None:
    doc, artifacts, _ = rendered[lang]
    locale = Locale(lang, CONFIG.language(lang).direction)
    pages = by_format(artifacts, "pdf-print").meta["pages"]
    text = letters(extract_text(written[(lang, "pdf-print")]) or "")
    for page in range(1, pages + 1):
        label = locale.gettext("Page {page} of {pages}").format(page=page, pages=pages)
        assert letters(label) in text
    assert text.count(letters(CONFIG.organisation_name(lang))) >= pages
    # values are checked word by word: in a right-to-left line poppler may give an embedded
    # left-to-right run ("5:00 PM", a date with an untranslated label) in another order
    for expected in (locale.gettext("Contents"), locale.gettext("How to apply"),
                     locale.money(20, "EUR"), locale.day_name("mo"), locale.day_name("fr"),
                     locale.time("08:30"), locale.time("17:00"), TEXTS[lang]["location"],
                     "+33 4 50 00 01 00", "parking@testville.example",
                     locale.date(doc.record.last_reviewed)):
        for word in expected.split():
            assert letters(word) in text, expected


def test_contents_list_only_when_long(content_dir: Path) -> None:
    context = make_context("en", content_dir)
    short = html_for(make_document("en", headings=2), context, VARIANTS[0])
    long = html_for(make_document("en", headings=5), context, VARIANTS[0])
    assert 'class="contents"' not in short
    assert 'class="contents"' in long and "target-counter" not in long  # CSS does the numbers


def test_arabic_is_right_to_left_in_an_arabic_font(
    written: dict[tuple[str, str], Path], content_dir: Path,
) -> None:
    html = html_for(make_document("ar"), make_context("ar", content_dir), VARIANTS[1])
    assert '<html lang="ar" dir="rtl"' in html
    fonts = subprocess.run(["pdffonts", str(written[("ar", "pdf-large-print")])],
                           capture_output=True, text=True, check=True).stdout
    assert "Noto-Sans-Arabic" in fonts
    rows = [line.split() for line in fonts.splitlines()[2:]]
    assert rows and all(row[-5] == "yes" for row in rows)  # emb column: every font embedded
    # the title is set against the right margin: its words end near the right edge
    words = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1",
                            str(written[("ar", "pdf-large-print")]), "-"],
                           capture_output=True, text=True, check=True).stdout
    title_word = TEXTS["ar"]["title"].split()[0]
    line = next(line for line in words.splitlines() if ">" + title_word[::-1] + "<" in line
                or ">" + title_word + "<" in line)
    x_max = float(line.split('xMax="')[1].split('"')[0])
    assert x_max > (210 - 18) * MM - 5


def _font_sizes_in_content_area(path: Path, top_mm: float, bottom_mm: float) -> list[float]:
    """Sizes (pt) of the text drawn on page 1 between the top and bottom page margins."""
    sizes = []
    with pikepdf.open(path) as pdf:
        page = pdf.pages[0]
        height = float(page.MediaBox[3])
        scale, y, size = 1.0, 0.0, 0.0
        for instruction in pikepdf.parse_content_stream(page):
            operands: Any = getattr(instruction, "operands", ())
            name = str(instruction.operator)
            if name == "cm" and scale == 1.0:
                scale = float(operands[0])
            elif name == "Tm":
                y = float(operands[5]) * scale
            elif name == "Tf":
                size = float(operands[1]) * scale
            elif name in ("Tj", "TJ") and top_mm * MM < y < height - bottom_mm * MM:
                sizes.append(size)
    return sizes


def test_large_print_body_is_at_least_18_points(written: dict[tuple[str, str], Path]) -> None:
    for lang in ("en", "ar"):
        sizes = _font_sizes_in_content_area(written[(lang, "pdf-large-print")], 24, 22)
        assert sizes and min(sizes) >= 18, (lang, sorted(set(sizes)))
        print_sizes = _font_sizes_in_content_area(written[(lang, "pdf-print")], 22, 20)
        assert min(print_sizes) < 18  # the measure tells the two apart
    css = (ROOT / "formats/pdf/large-print.css").read_text()
    assert "hyphens: manual" in css and "justify" not in css


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_poster_is_one_a3_page_with_qr_code_and_printed_address(
    lang: str, written: dict[tuple[str, str], Path],
) -> None:
    path = written[(lang, "pdf-poster")]
    url = f"https://services.testville.example/{lang}/parking-permit/"
    with pikepdf.open(path) as pdf:
        assert len(pdf.pages) == 1
        box = [round(float(value)) for value in pdf.pages[0].MediaBox]
        assert box == [0, 0, 842, 1191]  # A3 portrait
        figures = [elem for elem in _struct(pdf) if elem.get("/S") == "/Figure"]
        assert len(figures) == 1 and url in str(figures[0].Alt)
    assert url in (extract_text(path) or "").replace("\n", "")


def _struct(pdf: pikepdf.Pdf) -> Iterator[Any]:
    stack = [pdf.Root.StructTreeRoot]
    while stack:
        node = stack.pop()
        yield node
        kids = node.get("/K")
        for kid in (kids if isinstance(kids, pikepdf.Array) else [kids]):
            if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
                stack.append(kid)


# ---------------------------------------------------------------- nothing cut off


def _darkest(image: PILImage.Image) -> int:
    low = image.getextrema()[0]
    assert isinstance(low, int | float)
    return int(low)


def _ink_in_band(path: Path, band_mm: float, dpi: int = 40) -> list[str]:
    """Sides of page 1 whose outer ``band_mm`` has ink (non-white pixels) when rasterised."""
    prefix = path.with_suffix("")
    subprocess.run(["pdftoppm", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", "-png",
                    "-aa", "no", str(path), str(prefix)], check=True)
    image = PILImage.open(f"{prefix}.png").convert("L")
    width, height = image.size
    band = round(band_mm / 25.4 * dpi)
    regions = {"top": (0, 0, width, band), "bottom": (0, height - band, width, height),
               "left": (0, 0, band, height), "right": (width - band, 0, width, height)}
    inked = [side for side, box in regions.items() if _darkest(image.crop(box)) < 200]
    whole = _darkest(image)
    assert whole < 100, "the page is blank: nothing to check"
    return inked


@pytest.mark.parametrize("lang", ["en", "ar"])
@pytest.mark.parametrize("fmt", ["pdf-large-print", "pdf-poster"])
def test_nothing_is_printed_in_the_outer_margin(
    lang: str, fmt: str, written: dict[tuple[str, str], Path],
) -> None:
    assert _ink_in_band(written[(lang, fmt)], band_mm=10) == []


def test_the_margin_check_sees_text_that_runs_off_the_page(tmp_path: Path) -> None:
    import weasyprint

    html = ('<html lang="en"><body style="font: 18pt DejaVu Sans; margin: 0">'
            '<p style="overflow-wrap: normal">'
            + "Unbreakable" * 20 + "</p></body></html>")
    path = tmp_path / "overflow.pdf"
    weasyprint.HTML(string=html).write_pdf(path)
    assert "right" in _ink_in_band(path, band_mm=10)


# ---------------------------------------------------------------- CSS strings


def test_translated_strings_are_safe_css() -> None:
    assert css_string('a"b\\c</style>') == '"a\\22 b\\5c c\\3c /style>"'
    assert page_counter_content("Page {page} of {pages}") == (
        '"Page " counter(page) " of " counter(pages)')
    assert page_counter_content("{page}/{pages}") == 'counter(page) "/" counter(pages)'


# ---------------------------------------------------------------- the audit


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_good_pdfs_pass_every_check(
    lang: str, written: dict[tuple[str, str], Path],
    rendered: dict[str, tuple[Document, list[Artifact], Diagnostics]],
) -> None:
    doc, artifacts, _ = rendered[lang]
    expected = {check: {"passed"} for check in CHECKS} | {NEEDS_A_PERSON: {"cannot-tell"}}
    for artifact in artifacts:
        findings = audit(written[(lang, artifact.format)], doc, artifact)
        assert expected == outcomes(findings), [
            (f.check, f.message) for f in findings if f.outcome != "passed"]
        order = next(f for f in findings if f.check == "pdf.reading-order")
        assert order.figures["similarity"] >= 0.95
        for finding in findings:
            assert finding.criteria.matterhorn or finding.check == "pdf.bookmarks"
            assert finding.criteria.en301549


@pytest.fixture
def good(written: dict[tuple[str, str], Path], tmp_path: Path) -> Path:
    path = tmp_path / "good.pdf"
    shutil.copy(written[("en", "pdf-print")], path)
    return path


def _edit(path: Path, change: Callable[[pikepdf.Pdf], None], name: str = "broken.pdf") -> Path:
    broken = path.with_name(name)
    with pikepdf.open(path) as pdf:
        change(pdf)
        pdf.save(broken)
    return broken


def _failed(findings: list[Finding]) -> set[str]:
    return {finding.check for finding in findings if finding.outcome == "failed"}


def _rules(findings: list[Finding]) -> set[str]:
    """The validator's rules a file fails."""
    return {f.figures["rule"] for f in findings if f.check == VALIDATOR and f.outcome == "failed"}


def test_an_untagged_pdf_is_caught(tmp_path: Path, content_dir: Path) -> None:
    import weasyprint

    html = html_for(make_document("en"), make_context("en", content_dir), VARIANTS[0])
    path = tmp_path / "untagged.pdf"
    weasyprint.HTML(string=html, base_url=str(ROOT / "formats/pdf") + "/").write_pdf(path)
    findings = audit(path, None)
    assert {"PDFUA1-TAGGED-DOCUMENT-001", "PDFUA1-STRUCT-TREE-ROOT-001",
            "PDFUA1-ID-PART-001"} <= _rules(findings)
    tagged = next(f for f in findings if f.figures.get("rule") == "PDFUA1-TAGGED-DOCUMENT-001")
    assert "ISO 14289-1 7.1" in tagged.message and tagged.impact == "critical"
    assert tagged.criteria.wcag == ("1.3.1",) and tagged.criteria.en301549 == ("10.1.3.1",)


def test_a_pdf_without_language_is_caught(good: Path) -> None:
    def drop(pdf: pikepdf.Pdf) -> None:
        del pdf.Root["/Lang"]
    findings = audit(_edit(good, drop), None)
    assert _failed(findings) == {VALIDATOR}
    assert "PDFUA1-TEXT-LANGUAGE-001" in _rules(findings)
    text = next(f for f in findings if f.figures.get("rule") == "PDFUA1-TEXT-LANGUAGE-001")
    assert "ISO 14289-1 7.2" in text.message and text.locator == "page 1"
    assert "3.1.1" in text.criteria.wcag
    # our own check has nothing to compare with the source, and does not fail it twice
    assert outcomes(findings)["pdf.language"] == {"cannot-tell"}


def test_a_pdf_in_another_language_than_its_source_is_caught(
    good: Path, rendered: dict[str, tuple[Document, list[Artifact], Diagnostics]],
) -> None:
    # (its text is not the Arabic source's either: the reading order fails too)
    assert _failed(audit(good, rendered["ar"][0])) == {"pdf.language", "pdf.reading-order"}


def test_an_image_without_alt_text_is_caught(good: Path) -> None:
    def drop(pdf: pikepdf.Pdf) -> None:
        for elem in _struct(pdf):
            if elem.get("/S") == "/Figure":
                del elem["/Alt"]
    findings = audit(_edit(good, drop), None)
    assert _rules(findings) == {"PDFUA1-FIGURE-ALTERNATIVE-TEXT-001"}
    failure = next(f for f in findings if f.outcome == "failed")
    assert failure.criteria.matterhorn == ("13-004",) and "ISO 14289-1 7.3" in failure.message
    assert failure.criteria.wcag == ("1.1.1",) and failure.criteria.en301549 == ("10.1.1.1",)


def test_an_unembedded_font_is_caught(good: Path) -> None:
    def unembed(pdf: pikepdf.Pdf) -> None:
        for font in dict(pdf.pages[0].Resources.Font).values():
            descriptor = font.DescendantFonts[0].FontDescriptor
            del descriptor["/FontFile2"]
            break
    findings = audit(_edit(good, unembed), None)
    assert _rules(findings) == {"PDFUA1-FONT-EMBEDDING-001"}
    failure = next(f for f in findings if f.outcome == "failed")
    assert failure.locator.startswith("page 1, object ") and "7.21.4.1" in failure.message


def test_skipped_heading_levels_are_caught(good: Path) -> None:
    def skip(pdf: pikepdf.Pdf) -> None:
        for elem in _struct(pdf):
            if elem.get("/S") == "/H2":
                elem.S = pikepdf.Name("/H4")
    findings = audit(_edit(good, skip), None)
    assert _rules(findings) == {"PDFUA1-HEADING-NESTING-001"}
    assert next(f for f in findings if f.outcome == "failed").criteria.matterhorn == ("14-003",)


def test_a_table_without_header_cells_is_caught(good: Path) -> None:
    def no_th(pdf: pikepdf.Pdf) -> None:
        for elem in _struct(pdf):
            if elem.get("/S") == "/TH":
                elem.S = pikepdf.Name("/TD")
    # the validator cannot know that a table has headers: our own check says so
    assert _failed(audit(_edit(good, no_th), None)) == {"pdf.table-headers"}


def test_missing_tab_order_title_identifier_are_caught_and_bookmarks_advised(
    good: Path,
) -> None:
    def tabs(pdf: pikepdf.Pdf) -> None:
        del pdf.pages[0].obj["/Tabs"]
    assert _rules(audit(_edit(good, tabs), None)) == {"PDFUA1-PAGE-TABS-001"}

    def display(pdf: pikepdf.Pdf) -> None:
        pdf.Root.ViewerPreferences.DisplayDocTitle = False
    assert _rules(audit(_edit(good, display), None)) == {"PDFUA1-VIEWER-PREFERENCES-001"}

    def xmp(pdf: pikepdf.Pdf) -> None:
        with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
            del meta["{http://purl.org/dc/elements/1.1/}title"]
            del meta["{http://www.aiim.org/pdfua/ns/id/}part"]
    assert {"PDFUA1-METADATA-TITLE-001", "PDFUA1-ID-PART-001"} <= _rules(
        audit(_edit(good, xmp), None))

    def outlines(pdf: pikepdf.Pdf) -> None:
        del pdf.Root["/Outlines"]
    findings = audit(_edit(good, outlines), None)
    # PDF/UA-1 does not ask for outlines: advice for a person, not a failure
    assert _failed(findings) == set()
    assert outcomes(findings)["pdf.bookmarks"] == {"cannot-tell"}
    advice = next(f for f in findings if f.check == "pdf.bookmarks")
    assert advice.message.startswith("Advice:") and advice.criteria.wcag == ("2.4.5",)


def test_the_report_lists_what_needs_a_person(good: Path) -> None:
    findings = [f for f in audit(good, None) if f.check == NEEDS_A_PERSON]
    assert len(findings) == 1 and findings[0].outcome == "cannot-tell"
    for checkpoint in ("01-006", "04-001", "09-001", "13-004"):  # tags, contrast, order, alt
        assert checkpoint in findings[0].message
        assert checkpoint in findings[0].criteria.matterhorn


def test_reading_order_is_compared_with_the_source(
    good: Path, rendered: dict[str, tuple[Document, list[Artifact], Diagnostics]],
) -> None:
    doc = rendered["en"][0]
    assert outcomes(audit(good, None))["pdf.reading-order"] == {"cannot-tell"}
    shuffled = replace(doc, blocks=tuple(reversed(doc.blocks)))
    findings = audit(good, shuffled)
    assert _failed(findings) == {"pdf.reading-order"}
    failure = next(f for f in findings if f.outcome == "failed")
    assert failure.figures["similarity"] < 0.95 and failure.criteria.wcag == ("1.3.2",)


def test_reading_order_is_the_longest_run_of_letters_in_order() -> None:
    from publisher.audits.pdf import reading_order

    first = "Bring your passport and a recent bill."
    second = "The office opens at nine on weekdays and closes at noon on Saturdays."
    # labels and running headers added in between do not count against the order
    added = reading_order(f"{first}\n{second}", f"Page 1 {first} What {second} Footer")
    assert added.similarity == 1.0 and added.first_difference == ""
    assert added.ratio < 1.0  # the added text does count over both texts
    # a paragraph read before the one it follows: the shorter of the two is out of order
    moved = reading_order(f"{first}\n{second}", f"{second}\n{first}")
    letters_first = sum(c.isalnum() for c in first)
    letters_second = sum(c.isalnum() for c in second)
    assert moved.similarity == letters_second / (letters_first + letters_second)
    assert moved.first_difference.startswith("Bring your passport")
    assert reading_order("", "anything").similarity == 1.0


def test_a_file_that_is_not_a_pdf_fails_every_check(tmp_path: Path) -> None:
    path = tmp_path / "fake.pdf"
    path.write_text("not a PDF")
    assert _failed(audit(path, None)) == set(CHECKS) - {NEEDS_A_PERSON}


def test_layout_engine_problems_become_diagnostics(tmp_path: Path) -> None:
    diagnostics = Diagnostics()
    options = PdfOptions(large_print=False, poster=False)
    # the content folder has no images/zones.png: WeasyPrint cannot load it
    WRITER.render(make_document("en", headings=3),
                  make_context("en", tmp_path, diagnostics, options=options))
    codes = [(d.code, str(d.span)) for d in diagnostics]
    assert ("P301", "content/en/parking-permit.md:1") in codes
    assert any("zones.png" in d.message for d in diagnostics)


# ---------------------------------------------------------------- other people's PDFs


def _set_lang_on_marked_content(pdf: pikepdf.Pdf, lang: pikepdf.String,
                                tagged: bool = True) -> None:
    """Give the marked content its language, as ISO 14289-1 7.2 allows: the page furniture
    (`/Artifact BMC` becomes `/Artifact <</Lang (en)>> BDC`) and, when ``tagged``, every
    piece of tagged content (`<</MCID 3>>` becomes `<</MCID 3 /Lang (en)>>`)."""
    for page in pdf.pages:
        commands = []
        for operands, operator in pikepdf.parse_content_stream(page):
            if str(operator) == "BMC" and operands[0] == pikepdf.Name("/Artifact"):
                operands = [operands[0], pikepdf.Dictionary(Lang=lang)]
                operator = pikepdf.Operator("BDC")
            elif (tagged and str(operator) == "BDC" and isinstance(operands[1], pikepdf.Dictionary)
                  and "/MCID" in operands[1]):
                operands = [operands[0], pikepdf.Dictionary(MCID=operands[1].MCID, Lang=lang)]
            commands.append(pikepdf.ContentStreamInstruction(operands, operator))
        page.obj.Contents = pdf.make_stream(pikepdf.unparse_content_stream(commands))


def _no_language(pdf: pikepdf.Pdf) -> None:
    del pdf.Root["/Lang"]
    for elem in _struct(pdf):
        if "/Lang" in elem:
            del elem["/Lang"]


def _some_text_without_language(pdf: pikepdf.Pdf) -> None:
    """The language on the headings only: the paragraphs have none."""
    lang = pdf.Root.Lang
    del pdf.Root["/Lang"]
    del pdf.Root["/Outlines"]
    _set_lang_on_marked_content(pdf, lang, tagged=False)
    for elem in _struct(pdf):
        if str(elem.get("/S", "")).startswith("/H"):
            elem.Lang = lang


def _untagged_link(pdf: pikepdf.Pdf) -> None:
    """A link annotation outside the structure: no OBJR, no StructParent."""
    for elem in _struct(pdf):
        if elem.get("/S") == "/Link":
            kids = elem.K if isinstance(elem.K, pikepdf.Array) else [elem.K]
            objr = [kid for kid in kids
                    if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/OBJR"]
            del objr[0].Obj["/StructParent"]
            elem.K = pikepdf.Array([kid for kid in kids if kid not in objr[:1]])
            break


def _link_under_span(pdf: pikepdf.Pdf) -> None:
    next(elem for elem in _struct(pdf) if elem.get("/S") == "/Link").S = pikepdf.Name("/Span")


def _figure_without_alt(pdf: pikepdf.Pdf) -> None:
    for elem in _struct(pdf):
        if elem.get("/S") == "/Figure":
            del elem["/Alt"]


def _unembedded_font(pdf: pikepdf.Pdf) -> None:
    font = next(iter(dict(pdf.pages[0].Resources.Font).values()))
    del font.DescendantFonts[0].FontDescriptor["/FontFile2"]


def _no_pdfua_part(pdf: pikepdf.Pdf) -> None:
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
        del meta["{http://www.aiim.org/pdfua/ns/id/}part"]


def _title_not_shown(pdf: pikepdf.Pdf) -> None:
    pdf.Root.ViewerPreferences.DisplayDocTitle = False


def _table_without_headers(pdf: pikepdf.Pdf) -> None:
    for elem in _struct(pdf):
        if elem.get("/S") == "/TH":
            elem.S = pikepdf.Name("/TD")


def _suspect_tags(pdf: pikepdf.Pdf) -> None:
    pdf.Root.MarkInfo.Suspects = True


def _language_only_on_tags(pdf: pikepdf.Pdf) -> None:
    """Conforming: no catalog language, but every tag and every piece of marked content has
    one (WeasyPrint's page numbers sit under a structure element outside the tree, so their
    language must be their content's), and no bookmarks, whose text could only take the
    catalog's."""
    lang = pdf.Root.Lang
    del pdf.Root["/Lang"]
    del pdf.Root["/Outlines"]
    _set_lang_on_marked_content(pdf, lang)
    for elem in _struct(pdf):
        if "/S" in elem:
            elem.Lang = lang


def _no_outlines(pdf: pikepdf.Pdf) -> None:
    del pdf.Root["/Outlines"]


#: planted defect -> (the edit, what `publish audit` must fail it for, the ISO 14289-1 clause)
THIRD_PARTY: dict[str, tuple[Callable[[pikepdf.Pdf], None], str, str]] = {
    "no-language": (_no_language, "PDFUA1-TEXT-LANGUAGE-001", "7.2"),
    "text-without-language": (_some_text_without_language, "PDFUA1-TEXT-LANGUAGE-001", "7.2"),
    "untagged-link": (_untagged_link, "PDFUA1-LINK-LINK-TAG-001", "7.18.5"),
    "link-under-span": (_link_under_span, "PDFUA1-LINK-LINK-TAG-001", "7.18.5"),
    "figure-without-alt": (_figure_without_alt, "PDFUA1-FIGURE-ALTERNATIVE-TEXT-001", "7.3"),
    "unembedded-font": (_unembedded_font, "PDFUA1-FONT-EMBEDDING-001", "7.21.4.1"),
    "no-pdfua-identifier": (_no_pdfua_part, "PDFUA1-ID-PART-001", "5"),
    "title-not-shown": (_title_not_shown, "PDFUA1-VIEWER-PREFERENCES-001", "7.1"),
    "table-without-headers": (_table_without_headers, "pdf.table-headers", "7.5"),
    "suspect-tags": (_suspect_tags, "PDFUA1-SUSPECTS-001", "7.1"),
    "encrypted-against-assistive-technology": (_no_outlines, "PDFUA1-ENCRYPTION-P-001", "7.16"),
}
CONFORMING: dict[str, Callable[[pikepdf.Pdf], None]] = {
    "language-only-on-tags": _language_only_on_tags,
    "no-outlines": _no_outlines,
}


def test_publish_audit_on_other_peoples_pdfs_gives_each_its_verdict(
    written: dict[tuple[str, str], Path], tmp_path: Path,
) -> None:
    import json

    from publisher.cli import EXIT_AUDIT, EXIT_OK, main

    folder = tmp_path / "theirs"
    folder.mkdir()
    good = written[("en", "pdf-print")]
    for name, (change, _, _) in THIRD_PARTY.items():
        with pikepdf.open(good) as pdf:
            change(pdf)
            # permission bit 10 off: qpdf keeps it on from R 4, as PDF 2.0 deprecates it
            encryption = pikepdf.Encryption(
                owner="owner", user="", R=3, metadata=False, aes=False,
                allow=pikepdf.Permissions(accessibility=False, extract=False),
            ) if name.startswith("encrypted") else False
            pdf.save(folder / f"{name}.pdf", encryption=encryption)
    conforming = tmp_path / "conforming"
    conforming.mkdir()
    for name, change in CONFORMING.items():
        with pikepdf.open(good) as pdf:
            change(pdf)
            pdf.save(conforming / f"{name}.pdf")

    assert main(["audit", str(folder), "--report", str(tmp_path / "report")]) == EXIT_AUDIT
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    for name, (_, expected, clause) in THIRD_PARTY.items():
        failures = [f for f in report["findings"]
                    if f["outcome"] == "failed" and f["artifact"].endswith(f"{name}.pdf")]
        verdicts = {f["figures"].get("rule", f["check"]) for f in failures}
        assert expected in verdicts, (name, verdicts)
        finding = next(f for f in failures if f["figures"].get("rule", f["check"]) == expected)
        assert f"ISO 14289-1 {clause}" in finding["message"], (name, finding["message"])
        assert finding["criteria"]["matterhorn"], name
        # nothing else is wrong with them: the defect planted is the one reported (with the
        # rules that follow from it: text without a language has alt text and link
        # descriptions without one; XMP without the part has no PDF/UA schema left)
        assert verdicts <= {expected, "PDFUA1-OUTLINE-LANGUAGE-001", "PDFUA1-ID-SCHEMA-001",
                            "PDFUA1-ANNOTATION-CONTENTS-LANGUAGE-001",
                            "PDFUA1-ALT-TEXT-LANGUAGE-001"}, (name, verdicts)
    needs = [f for f in report["findings"] if f["check"] == NEEDS_A_PERSON]
    assert len(needs) == len(THIRD_PARTY)

    assert main(["audit", str(conforming), "--report", str(tmp_path / "ok")]) == EXIT_OK
    report = json.loads((tmp_path / "ok" / "report.json").read_text())
    assert [f for f in report["findings"] if f["outcome"] == "failed"] == []
    outcome = {(f["artifact"].rsplit("/", 1)[-1], f["check"]): f["outcome"]
               for f in report["findings"]}
    assert outcome[("language-only-on-tags.pdf", "pdf.language")] == "passed"
    assert outcome[("no-outlines.pdf", "pdf.bookmarks")] == "cannot-tell"  # advice
