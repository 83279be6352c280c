"""The content audit: overdue reviews, readability, long sentences and passive voice.

A fixture service, reviewed long ago and with one paragraph written in heavy officialese, must
be flagged — in the findings, and in the report of a real build; plain, recent services must
not be.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from publisher.audit import inputs_for_build
from publisher.audits import AuditContext, Finding
from publisher.audits.content import AUDIT, reading_ease, sentences
from publisher.diagnostics import Diagnostics
from publisher.load import load_site
from publisher.writers import Artifact, Site, page_path
from tests.conftest import service_text

HARD = (
    "Notwithstanding the aforementioned administrative considerations, applications "
    "necessitating supplementary documentary verification shall be subjected to comprehensive "
    "examination by the competent municipal authorities prior to any authorisation being "
    "granted by the relevant department."
)
PLAIN = "You can book a pick-up online. It is free. We come within two weeks."
BUILD_DAY = dt.datetime(2026, 1, 15, tzinfo=dt.UTC)


def add_old_service(content: Path) -> None:
    text = service_text(
        id="old-service", title="Old service",
        body=f"## What it is\n\n{PLAIN}\n\n## Rules\n\n{HARD}\n",
    ).replace("last_reviewed: 2026-01-15", "last_reviewed: 2024-06-01")
    (content / "en" / "old-service.md").write_text(text, encoding="utf-8")


def load(content: Path) -> Site:
    diagnostics = Diagnostics()
    site = load_site(content, diagnostics)
    assert site is not None, [d.format() for d in diagnostics]
    return site


def audit(site: Site, root: Path, build_time: dt.datetime | None = BUILD_DAY) -> list[Finding]:
    artifacts = [Artifact(page_path(doc.lang, doc.id), b"", "text/html", "html", doc.id, doc.lang)
                 for doc in site.documents.values()]
    inputs = inputs_for_build(root, artifacts, site.documents)
    return AUDIT.audit(inputs, AuditContext(site.config, root, build_time))


def of(findings: list[Finding], check: str, page: str, outcome: str | None = None
       ) -> list[Finding]:
    return [f for f in findings if f.check == check and f.artifact == page
            and (outcome is None or f.outcome == outcome)]


def test_an_overdue_review_is_flagged(content: Path, tmp_path: Path) -> None:
    add_old_service(content)
    findings = audit(load(content), tmp_path)
    [old] = of(findings, "content.review-date", "en/old-service/index.html")
    assert old.outcome == "failed" and old.impact == "moderate"
    assert old.criteria.iso11367 == ("5.2.3",) and "5.2.e" in old.criteria.caf
    assert old.figures["age_days"] == (BUILD_DAY.date() - dt.date(2024, 6, 1)).days
    [recent] = of(findings, "content.review-date", "en/sample/index.html")
    assert recent.outcome == "passed"


def test_the_review_period_comes_from_site_yaml(content: Path, tmp_path: Path) -> None:
    add_old_service(content)
    site_yaml = content / "site.yaml"
    site_yaml.write_text(site_yaml.read_text() + "review_period_days: 1000\n", encoding="utf-8")
    findings = audit(load(content), tmp_path)
    [old] = of(findings, "content.review-date", "en/old-service/index.html")
    assert old.outcome == "passed"


def test_without_a_build_time_the_newest_review_is_the_clock(
    content: Path, tmp_path: Path
) -> None:
    add_old_service(content)
    findings = audit(load(content), tmp_path, build_time=None)
    [old] = of(findings, "content.review-date", "en/old-service/index.html")
    assert old.figures["checked_on"] == "2026-01-15"


def test_a_hard_paragraph_is_flagged_at_its_line(content: Path, tmp_path: Path) -> None:
    add_old_service(content)
    findings = audit(load(content), tmp_path)
    page = "en/old-service/index.html"
    hard = [f for f in of(findings, "content.readability", page, "failed") if f.locator]
    paragraphs = [f for f in hard if ":" in f.locator.rsplit("/", 1)[-1]]
    assert len(paragraphs) == 1
    line = next(number for number, text in enumerate(
        (content / "en" / "old-service.md").read_text().splitlines(), start=1) if text == HARD)
    assert paragraphs[0].locator.startswith(f"content/en/old-service.md:{line}") or \
        paragraphs[0].locator.endswith(f"old-service.md:{line}:1")
    assert paragraphs[0].impact == "minor"
    assert paragraphs[0].figures["flesch_reading_ease"] < 60
    # the plain service is not flagged, and its figure is reported
    [sample] = of(findings, "content.readability", "en/sample/index.html")
    assert sample.outcome == "passed" or sample.figures["flesch_reading_ease"] < 60
    assert "flesch_reading_ease" in sample.figures


def test_the_target_comes_from_site_yaml(content: Path, tmp_path: Path) -> None:
    site_yaml = content / "site.yaml"
    (content / "en" / "sample.md").write_text(
        service_text(body=f"## What it is\n\n{PLAIN}\n"), encoding="utf-8")
    low = audit(load(content), tmp_path)
    [passed] = of(low, "content.readability", "en/sample/index.html")
    assert passed.outcome == "passed"
    site_yaml.write_text(site_yaml.read_text() + "plain_language:\n  target_reading_ease: 100\n",
                         encoding="utf-8")
    high = audit(load(content), tmp_path)
    [failed] = of(high, "content.readability", "en/sample/index.html")
    assert failed.outcome == "failed" and failed.figures["target"] == 100


def test_long_sentences_and_passives_are_listed_for_the_author(
    content: Path, tmp_path: Path
) -> None:
    add_old_service(content)
    findings = audit(load(content), tmp_path)
    page = "en/old-service/index.html"
    [long] = of(findings, "content.long-sentences", page)
    assert long.outcome == "cannot-tell" and long.figures["words"] > 25
    passive = of(findings, "content.passive-voice", page)
    assert passive and all(f.outcome == "cannot-tell" for f in passive)
    assert any("subjected" in f.message for f in passive)
    assert not of(findings, "content.passive-voice", "en/sample/index.html")


def test_french_is_measured_and_arabic_cannot_be(content: Path, tmp_path: Path) -> None:
    (content / "ar").mkdir()
    (content / "ar" / "sample.md").write_text(
        service_text(title="خدمة", body="## ما هي\n\nنص قصير.\n"), encoding="utf-8")
    (content / "fr" / "sample.md").write_text(
        service_text(title="Service exemple",
                     body="## Ce que c’est\n\nLe dossier est traité par le service en dix "
                          "jours.\n"), encoding="utf-8")
    findings = audit(load(content), tmp_path)
    [arabic] = of(findings, "content.readability", "ar/sample/index.html")
    assert arabic.outcome == "cannot-tell"
    [french] = of(findings, "content.readability", "fr/sample/index.html")
    assert french.figures["language"] == "fr" and french.outcome in ("passed", "failed")
    assert of(findings, "content.passive-voice", "fr/sample/index.html")
    assert not of(findings, "content.passive-voice", "ar/sample/index.html")


def test_the_measures_behave() -> None:
    assert reading_ease(PLAIN, "en") > 60 > reading_ease(HARD, "en")
    assert sentences("Une phrase. Une autre ! Et une question ? Fin") == [
        "Une phrase.", "Une autre !", "Et une question ?", "Fin"]


def test_the_report_flags_them(content: Path, tmp_path: Path) -> None:
    from publisher.build import site_contexts
    from publisher.reports import REPORT_DIR, render_reports

    add_old_service(content)
    site = load(content)
    findings = audit(site, tmp_path)
    artifacts = [Artifact(page_path(doc.lang, doc.id), b"", "text/html", "html", doc.id, doc.lang)
                 for doc in site.documents.values()]
    reports = {a.path: a.data for a in render_reports(
        site, site_contexts(site, content, Diagnostics()), artifacts, findings, True)}
    report = json.loads(reports[f"{REPORT_DIR}/report.json"])
    failed = {(f["artifact"], f["check"]) for f in report["findings"]
              if f["outcome"] == "failed"}
    assert ("en/old-service/index.html", "content.review-date") in failed
    assert ("en/old-service/index.html", "content.readability") in failed
    assert ("en/sample/index.html", "content.review-date") not in failed
    detail = reports[f"{REPORT_DIR}/details/old-service.html"].decode()
    assert "content.review-date" in detail and "Notwithstanding" in detail
