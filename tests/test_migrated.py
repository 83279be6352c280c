"""A catalogue written the way migrated CMS content looks (tests/fixtures/migrated/) builds in
every format with the default gate, and each output, read back, says what the source says:
root-relative links, abbreviations, tables of several paragraphs a cell, no fees, very long
addresses, two tables a page, a page of more than 5,000 words."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import louis
import pytest
from lxml import html as lxml_html

from publisher.audits.braille import braille_text, read_brf
from publisher.build import BuildOptions, BuildResult, build
from publisher.writers.braille import DEFAULT_TABLES, BrailleOptions

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).parent / "fixtures" / "migrated"
JSA = "jobseekers-allowance"


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, BuildResult]]:
    out = tmp_path_factory.mktemp("migrated") / "site"
    result = build(BuildOptions(content_dir=FIXTURE, out_dir=out, use_cache=False))
    assert result.published, [d.format() for d in result.diagnostics.errors] + [
        (f.artifact, f.check, f.message) for f in result.gate_failures]
    yield out, result


def page(out: Path, service: str) -> lxml_html.HtmlElement:
    return lxml_html.fromstring((out / "en" / service / "index.html").read_bytes())


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def braille_back(path: Path) -> str:
    tables = (DEFAULT_TABLES["en"],)
    read = read_brf(path.name, path.read_bytes(), BrailleOptions())
    return " ".join(louis.backTranslateString(list(tables), braille_text(read.pages, tables))
                    .split())


def captions(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    return " ".join(line for line in lines if line and "-->" not in line
                    and line != "WEBVTT" and not line.isdigit())


def test_it_builds_with_every_format_and_only_the_expected_warnings(
        migrated: tuple[Path, BuildResult]) -> None:
    out, result = migrated
    assert sorted((d.code, d.span.line if d.span else 0) for d in result.diagnostics) == [
        ("C219", 22), ("C220", 37), ("C220", 42)]
    for service in (JSA, "court-fees", "apprenticeships"):
        folder = out / "en" / service
        for suffix in (".pdf", "-large-print.pdf", "-poster.pdf", ".brf", ".pef", ".mp3",
                       ".vtt", "-transcript.html"):
            assert (folder / f"{service}-en{suffix}").stat().st_size > 0, (service, suffix)
    long_page = (FIXTURE / "en" / "apprenticeships.md").read_text(encoding="utf-8")
    assert len(long_page.split()) >= 5000


def test_root_relative_links_lead_to_the_root_or_to_the_service(
        migrated: tuple[Path, BuildResult]) -> None:
    out, _ = migrated
    body = page(out, JSA).xpath('//div[@class="body"]')[0]
    links = {a.text_content().replace("(external site)", "").strip(): (a.get("href"),
             a.get("class")) for a in body.iter("a")}
    assert links == {
        "how to find a court": ("https://www.example.gov/find-court-tribunal", "external"),
        "court fees": ("../../en/court-fees/", None),  # an old address of links.old_addresses
        "full guidance": ("https://www.example.gov/government/publications/jsa-guidance"
                          "#eligibility", "external"),
        "how to claim": ("../../en/jobseekers-allowance/#what-you-get", None),
        "apprenticeships page": ("../../en/apprenticeships/", None),  # its page path
    }
    # braille gives the address of each link: the service's page, the root's path
    court = braille_back(out / "en/court-fees/court-fees-en.brf")
    assert "services.example.gov/en/jobseekers-allowance/" in court
    jsa = braille_back(out / f"en/{JSA}/{JSA}-en.brf")
    assert "www.example.gov/find-court-tribunal" in jsa
    assert "services.example.gov/en/court-fees/" in jsa


def test_abbreviations_are_marked_on_the_web_and_spelt_out_first_in_braille_and_speech(
        migrated: tuple[Path, BuildResult]) -> None:
    out, _ = migrated
    web = page(out, JSA)
    abbrs = [(a.text, a.get("title")) for a in web.iter("abbr")]
    assert abbrs == [("JSA", "Jobseeker's Allowance"), ("HMRC", "HM Revenue and Customs")]
    text = web.xpath("//main")[0].text_content()
    assert "*[" not in text and "]:" not in text
    for service in (JSA, "court-fees"):
        spoken = captions(out / "en" / service / f"{service}-en.vtt")
        transcript = lxml_html.fromstring(
            (out / "en" / service / f"{service}-en-transcript.html").read_bytes())
        said = " ".join(transcript.xpath("//main")[0].text_content().split())
        for whole in (spoken, said):
            assert whole.count("Jobseeker's Allowance (JSA)") == 1, whole
            assert "*[" not in whole
    court = captions(out / "en/court-fees/court-fees-en.vtt")
    # a use inside a link's text is not marked (as markdown-it-abbr does): the table's is
    # the first spelt out
    assert court.index("Read about JSA") < court.index("Jobseeker's Allowance (JSA)")
    braille = braille_back(out / f"en/{JSA}/{JSA}-en.brf")
    assert "Jobseeker’s Allowance (JSA)" in braille or "Jobseeker's Allowance (JSA)" in braille
    # (back-translation gives "Hm": a capital sign that covers one letter of "HM")
    assert braille.casefold().count("hm revenue and customs (hmrc)") == 1
    assert "*[" not in braille


def test_a_cell_of_several_paragraphs_stays_one_cell_in_every_format(
        migrated: tuple[Path, BuildResult]) -> None:
    out, _ = migrated
    tables = page(out, JSA).xpath('//div[@class="body"]//table')
    eligibility = tables[1]
    rows = eligibility.xpath("./tbody/tr")
    assert len(rows) == 2
    cell = rows[0].xpath("./td")[1]
    assert len(cell.findall("br")) == 1
    assert "Your partner must work less than 24 hours" in cell.text_content()
    main = page(out, JSA).xpath("//main")[0].text_content()
    assert "|" not in main
    assert "|" not in pdf_text(out / f"en/{JSA}/{JSA}-en.pdf")
    spoken = captions(out / f"en/{JSA}/{JSA}-en.vtt")
    assert "You must work less than 16 hours a week." in spoken
    assert "Your partner must work less than 24 hours a week." in spoken
    assert "|" not in spoken


def test_two_tables_a_page_have_names_of_their_own(migrated: tuple[Path, BuildResult]) -> None:
    out, result = migrated
    for service, names in ((JSA, ["Table: What you get", "Table: Eligibility"]),
                           ("court-fees", ["Table: Fees", "Table: Help with fees"])):
        wrappers = page(out, service).xpath('//div[@class="table-wrap"]')
        assert [w.get("aria-label") for w in wrappers] == names
    findings = [f for f in result.findings if f.check == "axe.landmark-unique"]
    assert findings and all(f.outcome != "failed" for f in findings)


def test_no_fees_is_never_published_as_free(migrated: tuple[Path, BuildResult]) -> None:
    out, _ = migrated
    not_stated = "Not stated (see the text)"
    costs = {}
    for service in (JSA, "court-fees", "apprenticeships"):
        web = page(out, service)
        dt = next(d for d in web.iter("dt") if d.text == "Cost")
        dd = dt.getnext()
        costs[service] = " | ".join(" ".join(part.split()) for part in (
            [li.text_content() for li in dd.iter("li")] or [dd.text_content()]))
        ld = json.loads(web.xpath('//script[@type="application/ld+json"]')[0].text)
        free = ld.get("isAccessibleForFree")
        assert free is (True if service == "apprenticeships" else None), service
    assert costs == {JSA: not_stated, "court-fees": "Claim up to £300: £35.00 | Claim from "
                     "£300.01 to £500: £50.00", "apprenticeships": "Free"}
    for suffix in (".pdf", "-large-print.pdf"):
        text = pdf_text(out / f"en/{JSA}/{JSA}-en{suffix}")
        assert not_stated in " ".join(text.split()) and not re.search(r"\bFree\b", text)
        assert re.search(r"\bFree\b", pdf_text(out / f"en/apprenticeships/apprenticeships-en"
                                                     f"{suffix}"))
    braille = braille_back(out / f"en/{JSA}/{JSA}-en.brf")
    assert "Not stated (see the text)" in braille and not re.search(r"\bFree\b", braille)
    spoken = captions(out / f"en/{JSA}/{JSA}-en.vtt")
    assert "Cost: Not stated (see the text)." in spoken and "Free" not in spoken
    assert "Cost: Free." in captions(out / "en/apprenticeships/apprenticeships-en.vtt")
    rows = {row["service_id"]: row for row in csv.DictReader(io.StringIO(
        (out / "data/catalogue.csv").read_text(encoding="utf-8"), newline=""))}
    assert {key: row["free_of_charge"] for key, row in rows.items()} == {
        JSA: "", "court-fees": "false", "apprenticeships": "true"}


def test_long_addresses_wrap_on_every_page_at_320_pixels(
        migrated: tuple[Path, BuildResult]) -> None:
    _, result = migrated
    reflow = {f.artifact: f for f in result.findings if f.check == "page.reflow"}
    for service in (JSA, "court-fees", "apprenticeships"):
        for name in (f"en/{service}/index.html", f"en/{service}/{service}-en-transcript.html"):
            assert reflow[name].outcome == "passed", (name, reflow[name].message)
    assert all(f.outcome == "passed" for f in reflow.values()), [
        (f.artifact, f.message) for f in reflow.values() if f.outcome != "passed"]


def test_the_long_page_is_a_long_notice(migrated: tuple[Path, BuildResult]) -> None:
    _, result = migrated
    durations = [f.figures.get("duration_seconds", 0) for f in result.findings
                 if f.artifact.endswith("apprenticeships-en.mp3")]
    assert max(durations) > 20 * 60
