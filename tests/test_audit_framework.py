"""The audit framework end to end: the example builds clean, defects fail the gate, and the
reports are valid in each of their formats."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import jsonschema
import pytest
from lxml import html as lxml_html
from pyld import jsonld

from publisher.build import BuildResult, formats_dir
from publisher.cli import EXIT_AUDIT, EXIT_OK, main

from .conftest import ROOT, tree_digest

REPORTS = Path("reports/accessibility")


def test_example_pages_have_no_axe_violation(example_html: tuple[Path, BuildResult]) -> None:
    out, result = example_html
    assert result.audited and result.findings
    failures = [f for f in result.findings if f.outcome == "failed" and f.check.startswith("axe.")]
    assert failures == [], [(f.artifact, f.check, f.locator) for f in failures]
    pages = {p.relative_to(out).as_posix() for p in out.rglob("*.html")}
    audited = {f.artifact for f in result.findings if f.check.startswith("axe.")}
    assert pages == audited, "every page, report pages included, went through axe"


def test_report_json_is_valid_and_counts_checks_per_file(
    example_html: tuple[Path, BuildResult],
) -> None:
    out, _ = example_html
    report = json.loads((out / REPORTS / "report.json").read_text())
    schema = json.loads((formats_dir() / "reports" / "report.schema.json").read_text())
    jsonschema.validate(report, schema)
    pages = [a for a in report["artifacts"] if a["path"].endswith(".html")]
    assert pages and all(a["checks"] > 0 and a["passed"] > 0 for a in pages)
    assert report["summary"]["checks"] == len(report["findings"])


def test_report_html_shows_the_matrix(example_html: tuple[Path, BuildResult]) -> None:
    out, _ = example_html
    tree = lxml_html.fromstring((out / REPORTS / "index.html").read_bytes())
    rows = tree.xpath("//table[@class='matrix']/tbody/tr")
    assert len(rows) >= 12
    first_cell_link = rows[0].xpath(".//td/a/@href")[0]
    target = (out / REPORTS / first_cell_link.split("#")[0]).resolve()
    assert target.is_file()


def _no_network(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    raise AssertionError(f"the EARL export must not need the network ({url})")


def test_earl_export_is_valid_json_ld(example_html: tuple[Path, BuildResult]) -> None:
    out, _ = example_html
    document = json.loads((out / REPORTS / "earl.jsonld").read_text())
    expanded = jsonld.expand(document, {"documentLoader": _no_network})
    text = json.dumps(expanded)
    assert "http://www.w3.org/ns/earl#Assertion" in text
    assert "http://www.w3.org/TR/WCAG22/#" in text
    assert "http://www.w3.org/ns/earl#passed" in text


def test_junit_xml(example_html: tuple[Path, BuildResult]) -> None:
    out, _ = example_html
    root = ET.parse(out / REPORTS / "junit.xml").getroot()
    assert root.tag == "testsuites" and len(root) > 30
    assert all(int(suite.get("tests", "0")) > 0 for suite in root)


def test_statement_per_language(example_html: tuple[Path, BuildResult]) -> None:
    out, _ = example_html
    for lang in ("en", "fr", "ar"):
        tree = lxml_html.fromstring((out / lang / "accessibility" / "index.html").read_bytes())
        assert tree.get("lang") == lang
        ids = set(tree.xpath("//h2/@id"))
        assert {"status", "non-accessible", "preparation", "feedback", "enforcement",
                "formats"} <= ids
    service = lxml_html.fromstring((out / "en/parking-permit/index.html").read_bytes())
    footer_links = service.xpath("//footer//a/@href")
    assert "../../en/accessibility/" in footer_links


def defective_formats(tmp_path: Path) -> Path:
    """A branded copy of the formats folder with three accessibility defects."""
    copy = tmp_path / "formats"
    shutil.copytree(formats_dir(), copy)
    css = copy / "html" / "assets" / "site.css"
    css.write_text(css.read_text() + "\n.summary { color: #c4c4c4; }\n")
    base = copy / "html" / "templates" / "base.html"
    base.write_text(base.read_text().replace(
        '<main id="main" tabindex="-1">',
        '<main id="main" tabindex="-1"><a href="#"></a><input type="text" name="q">'))
    return copy


def test_defects_fail_the_gate_and_keep_the_old_output(
    content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "site"
    args = ["build", "--content", str(content), "--out", str(out), "--formats", "html", "-q"]
    assert main(args) == EXIT_OK
    before = tree_digest(out)
    capsys.readouterr()
    code = main([*args, "--formats-dir", str(defective_formats(tmp_path))])
    err = capsys.readouterr().err
    assert code == EXIT_AUDIT, err
    assert tree_digest(out) == before
    kept = tmp_path / "site.rejected"
    report = json.loads((kept / REPORTS / "report.json").read_text())
    failed = {(f["check"], f["impact"]) for f in report["findings"] if f["outcome"] == "failed"}
    assert ("axe.color-contrast", "serious") in failed
    assert ("axe.link-name", "serious") in failed
    assert ("axe.label", "critical") in failed
    assert "failed[axe.color-contrast] (serious)" in err
    # with the gate lowered to 'none' the same build is published
    assert main([*args, "--formats-dir", str(defective_formats(tmp_path / "b")),
                 "--fail-on", "none"]) == EXIT_OK
    assert tree_digest(out) != before


def test_publish_audit_on_someone_elses_pages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = ROOT / "tests" / "fixtures" / "defects" / "defects.html"
    report_dir = tmp_path / "report"
    code = main(["audit", str(fixture), "--report", str(report_dir)])
    assert code == EXIT_AUDIT
    report = json.loads((report_dir / "report.json").read_text())
    failed = {f["check"] for f in report["findings"] if f["outcome"] == "failed"}
    assert {"axe.image-alt", "axe.color-contrast", "axe.link-name", "axe.html-has-lang",
            "axe.heading-order", "axe.label"} <= failed
    assert (report_dir / "index.html").is_file()
    assert (report_dir / "earl.jsonld").is_file() and (report_dir / "junit.xml").is_file()
    good = ROOT / "tests" / "fixtures" / "defects" / "good.html"
    assert main(["audit", str(good), "--report", str(tmp_path / "good")]) == EXIT_OK


def test_detail_pages_per_language_name_every_checks_criteria_once(
    example_html: tuple[Path, BuildResult],
) -> None:
    out, result = example_html
    details = out / REPORTS / "details"
    site_pages = sorted(p.name for p in details.glob("site-pages*.html"))
    assert site_pages == ["site-pages-ar.html", "site-pages-en.html", "site-pages-fr.html",
                          "site-pages.html"]
    for page in details.glob("*.html"):
        tree = lxml_html.fromstring(page.read_bytes())
        tables = tree.xpath("//table")
        legend = tables[-1]
        named = [code.text for code in legend.xpath(".//tbody/tr/td[1]/code")]
        used = {code.text for table in tables[:-1]
                for code in table.xpath(".//tbody/tr/td[3]/code")}
        assert used and set(named) == used, page.name  # every check of the page has its row
        # each finding names its rulebook, in the column before the check
        books = {td.text for table in tables[:-1] for td in table.xpath(".//tbody/tr/td[2]")}
        assert books and books <= {"WCAG 2.2", "PDF/UA-1", "advice", "house rule"}, books
        assert tree.xpath("//th[.='Criteria']") == legend.xpath(".//th[.='Criteria']")
    # the index links each site page's findings to the page of its language
    index = (out / REPORTS / "index.html").read_text(encoding="utf-8")
    assert 'details/site-pages-fr.html#fr-index-html"' in index
    # so do the accessibility statements (one per language) and the report's own pages (in
    # the default language), audited after the rest
    assert 'details/site-pages-fr.html#fr-accessibility-index-html"' in index
    assert 'details/site-pages-en.html#reports-accessibility-index-html"' in index
    no_language = (details / "site-pages.html").read_text(encoding="utf-8")
    assert "accessibility/index.html</h2>" not in no_language
    assert result.audited
