"""Which rulebook a finding comes from, and the audit gate per rulebook (no browser needed)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from publisher.audit import OUTSIDE_FAIL_ON, fail_on_levels, gate, parse_fail_on
from publisher.audits import Criteria, Finding
from publisher.audits.html import axe_findings
from publisher.cli import parser
from publisher.config import FailOn
from publisher.reports import earl, report_json, summarise
from publisher.writers import Artifact

WCAG = Criteria(wcag=("2.4.1",), en301549=("9.2.4.1",))


def failed(check: str, criteria: Criteria, impact: str = "serious", **kw: object) -> Finding:
    return Finding("page.html", check, "failed", "message", criteria, impact=impact,  # type: ignore[arg-type]
                   **kw)  # type: ignore[arg-type]


def test_the_rulebook_follows_the_criteria_unless_told() -> None:
    assert failed("page.skip-link", WCAG).rulebook == "wcag"
    assert failed("html.valid", Criteria(en301549=("9.4.1.1",))).rulebook == "advice"
    # a PDF/UA-1 requirement with no WCAG criterion of its own is PDF/UA's, and non-conformance
    pdfua = failed("pdf.pdfua-1", Criteria(matterhorn=("31-009",)))
    assert pdfua.rulebook == "pdfua" and pdfua.non_conformance and not pdfua.wcag_failure
    assert failed("page.no-js", Criteria()).rulebook == "house"
    house = failed("page.skip-link-first", Criteria(), rulebook="house")
    assert house.rulebook == "house" and not house.wcag_failure
    assert failed("page.skip-link", WCAG).wcag_failure
    with pytest.raises(ValueError, match="criterion"):
        failed("page.thing", Criteria(), rulebook="wcag")


def test_axe_best_practices_are_advice_and_wcag_rules_are_wcag() -> None:
    results = {"violations": [
        {"id": "region", "help": "All content in landmarks", "tags": ["best-practice"],
         "impact": "moderate", "nodes": [{"target": ["div"], "failureSummary": "Fix it"}]},
        {"id": "image-alt", "help": "Images need alt", "tags": ["wcag2a", "wcag111"],
         "impact": "critical", "nodes": [{"target": ["img"], "failureSummary": "Fix it"}]},
    ]}
    by_check = {f.check: f for f in axe_findings("page.html", results)}
    assert by_check["axe.region"].rulebook == "advice"
    assert by_check["axe.image-alt"].rulebook == "wcag"


@pytest.mark.parametrize(("spec", "levels"), [
    ("serious", {"wcag": "serious", "pdfua": "serious", "advice": "serious", "house": "serious"}),
    ("wcag=minor,house=none", {"wcag": "minor", "house": "none"}),
    ("moderate,advice=none", {"wcag": "moderate", "pdfua": "moderate", "advice": "none",
                              "house": "moderate"}),
])
def test_fail_on_takes_a_level_per_rulebook(spec: str, levels: dict[str, str]) -> None:
    assert parse_fail_on(spec) == levels


@pytest.mark.parametrize(("spec", "said"), [("wcag=bad", "unknown level"),
                                             ("aria=serious", "unknown rulebook"), ("", "level")])
def test_a_wrong_fail_on_says_what_is_wrong(spec: str, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        parse_fail_on(spec)
    with pytest.raises(SystemExit):
        parser().parse_args(["audit", "x.html", "--fail-on", spec])


def test_the_gate_counts_each_rulebook_at_its_level() -> None:
    findings = [
        failed("page.skip-link", WCAG, "moderate"),
        failed("axe.region", Criteria(), "moderate", rulebook="advice"),
        failed("page.skip-link-first", Criteria(), "serious", rulebook="house"),
    ]
    assert [f.check for f in gate(findings, "serious")] == ["page.skip-link-first"]
    assert [f.check for f in gate(findings, "moderate,house=none")] == [
        "page.skip-link", "axe.region"]
    assert [f.check for f in gate(findings, "none,wcag=minor")] == ["page.skip-link"]
    # without a site (someone else's pages) our house rules do not fail the gate
    assert OUTSIDE_FAIL_ON["house"] == "none"
    assert gate(findings, fail_on_levels(None, None)) == []
    assert fail_on_levels("house=minor", None)["house"] == "minor"


def test_the_site_sets_the_gate_per_rulebook() -> None:
    assert FailOn().levels() == {"wcag": "serious", "pdfua": "serious", "advice": "serious",
                                 "house": "serious"}
    with pytest.raises(ValueError):
        FailOn(house="sometimes")  # type: ignore[arg-type]


def test_reports_count_only_wcag_failures_as_non_conformance() -> None:
    findings = [
        failed("page.skip-link-first", Criteria(wcag=()), rulebook="house"),
        failed("axe.region", Criteria(), "moderate", rulebook="advice"),
        Finding("page.html", "page.skip-link", "passed", "ok", WCAG),
    ]
    artifacts = [Artifact("page.html", b"", "text/html", "html")]
    summaries = summarise(artifacts, findings)
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    report = json.loads(report_json(summaries, when, True))
    assert report["summary"]["failed"] == 2
    assert report["summary"]["failed_by_rulebook"] == {"wcag": 0, "pdfua": 0, "advice": 1,
                                                       "house": 1}
    assert report["artifacts"][0]["wcag_failed"] == 0
    assert {f["rulebook"] for f in report["findings"]} == {"wcag", "advice", "house"}
    assertions = json.loads(earl(summaries, None, when))["auditSample"]
    assert [a["result"]["outcome"] for a in assertions] == ["earl:passed"]
    findings.append(failed("page.keyboard-trap", Criteria(wcag=("2.1.2",))))
    assertions = json.loads(earl(summarise(artifacts, findings), None, when))["auditSample"]
    assert [a["result"]["outcome"] for a in assertions] == ["earl:failed", "earl:passed"]


def test_a_pdf_failing_pdf_ua_without_a_wcag_criterion_is_non_conformance() -> None:
    """The validator's rules that map to no WCAG criterion (fonts, the PDF/UA identifier) are
    PDF/UA-1 failures: counted as such, gated, and they make the statement 'partial'."""
    finding = Finding("en/x.pdf", "pdf.pdfua-1", "failed", "Embed every font",
                      Criteria(matterhorn=("31-009",)), impact="serious")
    artifacts = [Artifact("en/x.pdf", b"", "application/pdf", "pdf")]
    summaries = summarise(artifacts, [finding])
    report = json.loads(report_json(summaries, dt.datetime(2026, 1, 1, tzinfo=dt.UTC), True))
    assert report["summary"]["failed_by_rulebook"]["pdfua"] == 1
    assert report["artifacts"][0]["pdfua_failed"] == 1
    assert report["artifacts"][0]["wcag_failed"] == 0
    assert gate([finding], fail_on_levels(None, None)) == [finding]
    assert gate([finding], "serious,pdfua=none") == []
