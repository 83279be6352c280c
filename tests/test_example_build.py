"""The example catalogue, every format, as `./run site` builds it: complete and audited clean."""

from __future__ import annotations

import json
from pathlib import Path

import pikepdf
from lxml import html as lxml_html

from publisher.build import BuildResult
from publisher.diagnostics import Diagnostics
from publisher.load import load_site

from .conftest import CONTENT
from .pdfcheck import link_structure_problems

PER_DOCUMENT = {"html", "pdf-print", "pdf-large-print", "pdf-poster", "brf", "pef", "mp3", "vtt",
                "transcript"}


def test_every_service_has_every_format_in_each_language(
    example_build: tuple[Path, BuildResult],
) -> None:
    out, _ = example_build
    manifest = json.loads((out / "manifest.json").read_text())
    site = load_site(CONTENT, Diagnostics())
    assert site is not None
    have: dict[tuple[str, str], set[str]] = {}
    for entry in manifest["artifacts"]:
        if entry["service"]:
            have.setdefault((entry["service"], entry["language"]), set()).add(entry["format"])
            assert (out / entry["path"]).stat().st_size == entry["bytes"]
    for key in site.documents:
        assert have.get(key, set()) >= PER_DOCUMENT, key


def test_no_check_failed_on_any_output(example_build: tuple[Path, BuildResult]) -> None:
    _, result = example_build
    # content.* findings are messages for authors (an overdue review is expected in the example)
    failed = [(f.artifact, f.check, f.message) for f in result.findings
              if f.outcome == "failed" and not f.check.startswith("content.")]
    assert failed == []
    checked = {f.check.split(".")[0] for f in result.findings}
    assert {"axe", "page", "html", "pdf", "braille", "audio"} <= checked


def test_every_pdf_passes_the_pdfua_1_validator_and_the_audit_ran_it(
    example_build: tuple[Path, BuildResult],
) -> None:
    """The second opinion an auditor would ask for: page-validation's PDF/UA-1 profile on
    every PDF of the build (print, large print, poster; every language, Arabic included) —
    and the build's own audit ran the same validator on each of them."""
    import page as pdf_validator

    out, result = example_build
    pdfs = sorted(out.rglob("*.pdf"))
    assert len(pdfs) >= 3 * len(load_site(CONTENT, Diagnostics()).documents)  # type: ignore[union-attr]
    for path in pdfs:
        report = pdf_validator.validate_pdf(path, profile=pdf_validator.ValidationProfile.PDF_UA_1)
        assert [(f.rule_id, f.message) for f in report.failures] == [], path
        with pikepdf.open(path) as pdf:  # one annotation per link, the OBJR of its /Link
            assert link_structure_problems(pdf) == [], path
    # the PDF detail of the report lists what is left for a person, checkpoint by checkpoint
    detail = (out / "reports/accessibility/details/parking-permit.html").read_text()
    assert "pdf.needs-a-person" in detail and "Needs a person" in detail
    assert "13-004" in detail and "01-006" in detail
    validated = {f.artifact for f in result.findings
                 if f.check == "pdf.pdfua-1" and f.outcome == "passed"}
    assert validated == {path.relative_to(out).as_posix() for path in pdfs}


def test_report_shows_the_figures_per_file(example_build: tuple[Path, BuildResult]) -> None:
    out, _ = example_build
    report = json.loads((out / "reports/accessibility/report.json").read_text())
    by_format: dict[str, list[dict[str, object]]] = {}
    for artifact in report["artifacts"]:
        by_format.setdefault(artifact["format"], []).append(artifact["figures"])
    assert all("fidelity" in figures for figures in by_format["brf"])
    assert all(float(figures["fidelity"]) >= 0.97 for figures in by_format["brf"])  # type: ignore[arg-type]
    for figures in by_format["mp3"]:
        assert {"duration_seconds", "words_per_minute", "loudness_lufs"} <= set(figures) or \
            {"duration", "words_per_minute", "loudness"} & set(figures), figures
    assert all(any("similarity" in key for key in figures) for figures in by_format["pdf-print"])
    page = (out / "reports/accessibility/index.html").read_text()
    assert "fidelity" in (out / "reports/accessibility/details/parking-permit.html").read_text()
    assert "parking-permit" in page


def test_service_page_offers_every_format_with_size(
    example_build: tuple[Path, BuildResult],
) -> None:
    out, _ = example_build
    tree = lxml_html.fromstring((out / "fr/parking-permit/index.html").read_bytes())
    links = tree.xpath("//section[@class='formats']//li")
    texts = " ".join(li.text_content() for li in links)
    for kind in ("PDF", "BRF", "PEF", "MP3"):
        assert f"({kind}, " in texts, texts
    hrefs = tree.xpath("//section[@class='formats']//a/@href")
    for href in hrefs:
        if not href.startswith("mailto:") and not href.startswith("tel:"):
            assert (out / "fr/parking-permit" / href).resolve().is_file(), href
    audio = tree.xpath("//audio")[0]
    assert audio.get("controls") is not None
    track = audio.xpath("track")[0]
    assert track.get("kind") == "captions" and track.get("srclang") == "fr"
    assert (out / "fr/parking-permit" / track.get("src")).resolve().is_file()
    assert tree.xpath("//a[contains(@href, 'transcript')]")
