"""Reports for auditors and the public accessibility statement, from the audit's findings.

In: the site, every artifact of the build and every finding. Out: artifacts under
``reports/accessibility/`` — an HTML report (summary matrix service × language × format and a
page per artifact), ``report.json`` (schema: ``formats/reports/report.schema.json``), an EARL
JSON-LD export in the WCAG-EM Report Tool's format (``earl.jsonld``) and JUnit XML for CI
(``junit.xml``) — and an accessibility statement per language (``<lang>/accessibility/``)
following the EU model statement (Implementing Decision (EU) 2018/1523).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree import ElementTree as ET

import jinja2

from publisher import __version__
from publisher.audits import IMPACTS, RULEBOOKS, Finding
from publisher.cache import Store, code_version, digest, folder_digest
from publisher.criteria import CAF, ISO11367, WCAG22, wcag_label, wcag_url
from publisher.i18n import N_
from publisher.jsontext import dumps_by_line
from publisher.writers import Artifact, RenderContext, Site
from publisher.writers.html import CSP, page_environment, relative

REPORT_DIR = "reports/accessibility"
FORMAT_LABELS = {
    "html": N_("Web page"),
    "pdf-print": N_("Printable PDF (A4)"),
    "pdf-large-print": N_("Large print PDF"),
    "pdf-poster": N_("Poster (A3 PDF)"),
    "brf": N_("Braille (BRF, for embossers)"),
    "pef": N_("Braille (PEF)"),
    "mp3": N_("Audio notice (MP3)"),
    "vtt": N_("Captions (WebVTT)"),
    "transcript": N_("Transcript"),
}


@dataclass
class ArtifactSummary:
    path: str
    service: str | None
    lang: str | None
    format: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        return Counter(f.outcome for f in self.findings)

    @property
    def failed(self) -> list[Finding]:
        return [f for f in self.findings if f.outcome == "failed"]

    @property
    def wcag_failed(self) -> list[Finding]:
        """The failures of WCAG criteria: non-conformance (advice and house rules are not)."""
        return [f for f in self.findings if f.wcag_failure]

    @property
    def pdfua_failed(self) -> list[Finding]:
        """The failures of PDF/UA-1 requirements that name no WCAG criterion: non-conformance
        of the PDF's PDF/UA claim."""
        return [f for f in self.findings if f.outcome == "failed" and f.rulebook == "pdfua"]

    @property
    def status(self) -> str:
        if self.failed:
            return "failed"
        if not self.findings:
            return "not-audited"
        return "passed" if self.counts["passed"] else "cannot-tell"

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.path.lower()).strip("-")

    @property
    def figures(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for finding in self.findings:
            merged.update(finding.figures)
        return dict(sorted(merged.items()))


def summarise(artifacts: Sequence[Artifact], findings: Sequence[Finding]) -> list[ArtifactSummary]:
    by_path = {
        a.path: ArtifactSummary(a.path, a.service, a.lang, a.format)
        for a in artifacts
        # the stylesheets and scripts, and Pagefind's index files (data for the search page,
        # which is itself audited), are not documents a person reads
        if a.format not in {"asset", "search-index"}
    }
    for finding in findings:
        summary = by_path.get(finding.artifact)
        if summary is None:
            summary = by_path[finding.artifact] = ArtifactSummary(
                finding.artifact, None, None, PurePosixPath(finding.artifact).suffix.lstrip(".")
            )
        summary.findings.append(finding)
    return [by_path[path] for path in sorted(by_path)]


# ------------------------------------------------------------------ machine-readable reports


def report_json(
    summaries: Sequence[ArtifactSummary], when: dt.datetime, audited: bool
) -> bytes:
    findings = [f for s in summaries for f in s.findings]
    totals = Counter(f.outcome for f in findings)
    failed_by_impact = Counter(f.impact for f in findings if f.outcome == "failed")
    failed_by_rulebook = Counter(f.rulebook for f in findings if f.outcome == "failed")
    document = {
        "schema": "publisher-accessibility-report/1",
        "generator": f"publisher {__version__}",
        "build_time": when.isoformat(),
        "audited": audited,
        "summary": {
            "artifacts": len(summaries),
            "checks": len(findings),
            "passed": totals["passed"],
            "failed": totals["failed"],
            "cannot_tell": totals["cannot-tell"],
            "failed_by_impact": {impact: failed_by_impact[impact] for impact in IMPACTS},
            "failed_by_rulebook": {book: failed_by_rulebook[book] for book in RULEBOOKS},
        },
        "artifacts": [
            {
                "path": s.path,
                "service": s.service,
                "language": s.lang,
                "format": s.format,
                "status": s.status,
                "checks": len(s.findings),
                "passed": s.counts["passed"],
                "failed": s.counts["failed"],
                "wcag_failed": len(s.wcag_failed),
                "pdfua_failed": len(s.pdfua_failed),
                "cannot_tell": s.counts["cannot-tell"],
                "figures": s.figures,
            }
            for s in summaries
        ],
        "findings": [f.to_json() for f in findings],
    }
    return dumps_by_line(document).encode()


EARL_CONTEXT: dict[str, Any] = {
    "reporter": "https://github.com/w3c/wcag-em-report-tool/",
    "wcagem": "http://www.w3.org/TR/WCAG-EM/#",
    "Evaluation": "wcagem:procedure",
    "defineScope": "wcagem:step1",
    "scope": "wcagem:step1a",
    "step1b": {"@id": "wcagem:step1b", "@type": "@id"},
    "conformanceTarget": "step1b",
    "accessibilitySupportBaseline": "wcagem:step1c",
    "additionalEvaluationRequirements": "wcagem:step1d",
    "exploreTarget": "wcagem:step2",
    "technologiesReliedUpon": "wcagem:step2d",
    "selectSample": "wcagem:step3",
    "structuredSample": "wcagem:step3a",
    "randomSample": "wcagem:step3b",
    "auditSample": "wcagem:step4",
    "reportFindings": "wcagem:step5",
    "commissioner": "wcagem:commissioner",
    "evaluationSpecifics": "wcagem:step5b",
    "WCAG20": "http://www.w3.org/TR/WCAG20/#",
    "WCAG21": "http://www.w3.org/TR/WCAG21/#",
    "WCAG22": "http://www.w3.org/TR/WCAG22/#",
    "WAI": "http://www.w3.org/WAI/",
    "A": "WAI:WCAG2A-Conformance",
    "AA": "WAI:WCAG2AA-Conformance",
    "AAA": "WAI:WCAG2AAA-Conformance",
    "wcagVersion": "WAI:standards-guidelines/wcag/#versions",
    "earl": "http://www.w3.org/ns/earl#",
    "Assertion": "earl:Assertion",
    "TestMode": "earl:TestMode",
    "TestCriterion": "earl:TestCriterion",
    "TestRequirement": "earl:TestRequirement",
    "TestSubject": "earl:TestSubject",
    "TestResult": "earl:TestResult",
    "OutcomeValue": "earl:OutcomeValue",
    "assertedBy": {"@id": "earl:assertedBy", "@type": "@id"},
    "mode": {"@id": "earl:mode", "@type": "@id"},
    "result": "earl:result",
    "subject": {"@id": "earl:subject", "@type": "@id"},
    "test": {"@id": "earl:test", "@type": "@id"},
    "outcome": {"@id": "earl:outcome", "@type": "@id"},
    "pointer": "earl:pointer",
    "dcterms": "http://purl.org/dc/terms/",
    "title": "dcterms:title",
    "description": "dcterms:description",
    "summary": "dcterms:summary",
    "date": {"@id": "dcterms:date", "@type": "http://www.w3.org/TR/NOTE-datetime"},
    "hasPart": "dcterms:hasPart",
    "isPartOf": "dcterms:isPartOf",
    "schema": "http://schema.org/",
    "WebSite": "schema:WebSite",
    "WebPage": "schema:WebPage",
    "source": {"@id": "dcterms:source", "@type": "@id"},
    "id": "@id",
    "type": "@type",
}
_EARL_OUTCOME = {"passed": "earl:passed", "failed": "earl:failed", "cannot-tell": "earl:cantTell"}


def earl(summaries: Sequence[ArtifactSummary], site: Site | None, when: dt.datetime) -> bytes:
    """The evaluation as EARL assertions per (page or document, WCAG 2.2 criterion), in the
    JSON-LD form the W3C WCAG-EM Report Tool loads."""
    base = site.config.base_url if site else "urn:publisher:"
    title = site.config.organisation_name(site.config.default_language) if site else "Audit"
    subjects = []
    assertions = []
    date = when.isoformat()
    for index, summary in enumerate(summaries):
        if not summary.findings:
            continue
        subject_id = f"_:subject_{index}"
        subjects.append(
            {
                "id": subject_id,
                "type": ["TestSubject", "WebPage" if summary.format.startswith("html")
                         else "schema:DigitalDocument"],
                "title": summary.path,
                "description": base + summary.path if site else summary.path,
                "date": date,
            }
        )
        by_sc: dict[str, list[Finding]] = defaultdict(list)
        # only the WCAG rulebook's findings assert anything of a criterion: a house rule or an
        # advice that mentions one neither fails nor passes it
        for finding in summary.findings:
            if finding.rulebook != "wcag":
                continue
            for sc in finding.criteria.wcag:
                by_sc[sc].append(finding)
        for sc in sorted(by_sc, key=_sc_key):
            outcomes = {f.outcome for f in by_sc[sc]}
            outcome = next(o for o in ("failed", "cannot-tell", "passed") if o in outcomes)
            failed = [f for f in by_sc[sc] if f.outcome == outcome]
            slug = WCAG22.get(sc, (sc.replace(".", "-"), ""))[0]
            assertions.append(
                {
                    "type": "Assertion",
                    "date": date,
                    "mode": "earl:automatic",
                    "assertedBy": "_:publisher",
                    "subject": subject_id,
                    "test": f"WCAG22:{slug}",
                    "result": {
                        "type": "TestResult",
                        "date": date,
                        "outcome": _EARL_OUTCOME[outcome],
                        "description": "\n".join(
                            sorted({f"{f.check}: {f.message}" for f in failed})
                        )[:4000],
                    },
                }
            )
    document = {
        "@context": EARL_CONTEXT,
        "type": "Evaluation",
        "id": "_:evaluation",
        "title": f"Accessibility evaluation: {title}",
        "date": date,
        "commissioner": title,
        "evaluationSpecifics": f"Automated checks by publisher {__version__} on every published "
        "file: axe-core in headless Chromium and browser checks for web pages, and checks that "
        "read PDF, Braille and audio files back. Manual evaluation is still needed for full "
        "WCAG-EM conformance.",
        "defineScope": {
            "id": "_:defineScope",
            "scope": {"title": title, "description": base},
            "conformanceTarget": "AA",
            "wcagVersion": "2.2",
        },
        "selectSample": {"structuredSample": subjects, "randomSample": []},
        "auditSample": assertions,
        "assertors": [{"id": "_:publisher", "type": "earl:Software",
                       "title": f"publisher {__version__}"}],
    }
    return dumps_by_line(document).encode()


def _sc_key(sc: str) -> tuple[int, ...]:
    return tuple(int(part) for part in sc.split(".") if part.isdigit())


def junit(summaries: Sequence[ArtifactSummary], when: dt.datetime) -> bytes:
    suites = ET.Element("testsuites", name="publisher accessibility audit")
    for summary in summaries:
        if not summary.findings:
            continue
        counts = summary.counts
        suite = ET.SubElement(
            suites, "testsuite", name=summary.path, tests=str(len(summary.findings)),
            failures=str(counts["failed"]), skipped=str(counts["cannot-tell"]), errors="0",
            timestamp=when.replace(tzinfo=None).isoformat(),
        )
        for finding in summary.findings:
            name = finding.check + (f" [{finding.locator}]" if finding.locator else "")
            case = ET.SubElement(suite, "testcase", classname=summary.path, name=name)
            if finding.outcome == "failed":
                failure = ET.SubElement(
                    case, "failure", type=finding.impact or "failed",
                    message=finding.message[:500],
                )
                failure.text = _criteria_text(finding)
            elif finding.outcome == "cannot-tell":
                ET.SubElement(case, "skipped", message=finding.message[:500])
    ET.indent(suites)
    body: bytes = ET.tostring(suites, encoding="utf-8")
    return b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + body


def _criteria_text(finding: Finding) -> str:
    c = finding.criteria
    parts = [f"WCAG 2.2 {', '.join(c.wcag)}" if c.wcag else "",
             f"EN 301 549 {', '.join(c.en301549)}" if c.en301549 else "",
             f"CAF {', '.join(c.caf)}" if c.caf else "",
             f"ISO 11367 {', '.join(c.iso11367)}" if c.iso11367 else "",
             f"Matterhorn {', '.join(c.matterhorn)}" if c.matterhorn else ""]
    return "; ".join(p for p in parts if p)


# ------------------------------------------------------------------ HTML report and statement


def _env(formats_dir: Path) -> jinja2.Environment:
    env = page_environment(formats_dir, "reports")
    env.globals.update(wcag_label=wcag_label, wcag_url=wcag_url, CAF=CAF, ISO11367=ISO11367)
    return env


def _translations(site: Site, ctx: RenderContext, from_page: str) -> list[dict[str, Any]]:
    """Per language: the outdated, unrecorded and missing translations, with links."""
    from publisher.translation import language_name, translation_status

    source_lang = site.config.default_language

    def entry(service: str, lang: str) -> dict[str, str]:
        doc = site.documents[(service, lang)]
        return {"title": doc.summary.title, "href": relative(from_page, f"{lang}/{service}/"),
                "source": doc.source, "lang": lang}

    return [
        {
            "lang": state.lang,
            "name": language_name(state.lang, ctx.locale),
            "current": state.current,
            "outdated": [entry(doc.id, state.lang) for doc in state.outdated],
            "unknown": [entry(doc.id, state.lang) for doc in state.unknown],
            "missing": [entry(service, source_lang) for service in state.missing],
        }
        for state in translation_status(site)
    ]


def render_reports(
    site: Site,
    contexts: Mapping[str, RenderContext],
    artifacts: Sequence[Artifact],
    findings: Sequence[Finding],
    audited: bool,
    store: Store | None = None,
) -> list[Artifact]:
    """The report, its detail pages and the statements. With a ``store``, a detail page whose
    files and findings are unchanged is taken from the cache (a large catalogue has a
    thousand of them, and an edit changes one)."""
    from publisher.writers.html import WRITER as HTML

    store = store or Store(None)
    config = site.config
    default = contexts[config.default_language]
    env = _env(default.formats_dir)
    when = default.build_time
    summaries = summarise(artifacts, findings)
    out: list[Artifact] = []

    def page(path: str, template: str, ctx: RenderContext, statement: bool = False,
             **values: Any) -> Artifact:
        env.install_gettext_callables(  # type: ignore[attr-defined]
            ctx.locale.gettext, ctx.locale.ngettext, newstyle=True
        )
        frame = HTML._page_values(
            ctx, path, None,
            (lambda code: f"{code}/accessibility/index.html") if statement else None,
        )
        frame.update(values)
        data = env.get_template(template).render(**frame).encode("utf-8")
        return Artifact(path, data, "text/html; charset=utf-8", "html-report", lang=ctx.lang,
                        listed=False)

    # the matrix: one row per service, one column per (language, format)
    formats = sorted({s.format for s in summaries if s.service}, key=_format_order)
    languages = list(config.language_codes)
    first: dict[tuple[str | None, str | None, str], ArtifactSummary] = {}
    for summary in summaries:
        first.setdefault((summary.service, summary.lang, summary.format), summary)
    rows = [
        {"service": service,
         "cells": [first.get((service, lang, fmt)) for lang in languages for fmt in formats]}
        for service in site.service_ids()
    ]
    index_path = f"{REPORT_DIR}/index.html"
    totals = Counter(f.outcome for f in findings)
    site_pages = [s for s in summaries if not s.service]
    page_key = digest("report detail page", code_version(), folder_digest(default.formats_dir),
                      config.model_dump_json(), default.lang, when.isoformat(), index_path)
    translations = _translations(site, default, index_path)
    # the index lists every file: kept in the cache by what it shows of them, so that an edit
    # that changes no file's findings (most edits, without the audit) does not render it again
    index_key = digest(page_key, "index", audited, translations, site.service_ids(),
                       [(s.path, s.service, s.lang, s.format, s.figures,
                         [f.to_json() for f in s.findings]) for s in summaries])
    index = store.get_object("pages", index_key)
    if not isinstance(index, Artifact):
        index = page(
            index_path, "report.html", default,
            audited=audited, rows=rows, formats=formats, lang_codes=languages,
            format_labels={f: default.locale.gettext(FORMAT_LABELS.get(f, f)) for f in formats},
            totals=totals, summaries=summaries, site_pages=site_pages, when=when,
            artifact_url=lambda s: relative(index_path, _detail_page(s)) + f"#{s.slug}",
            version=__version__,
            translations=translations,
        )
        store.put_object("pages", index_key, index)
    out.append(index)
    # one detail page per service (all its files), and one for the site's own pages: a page
    # per file would multiply the pages to audit by the number of formats
    groups: dict[str, list[ArtifactSummary]] = defaultdict(list)
    for summary in summaries:
        groups[_detail_page(summary)].append(summary)
    order = {"failed": 0, "cannot-tell": 1, "passed": 2}
    for path, members in sorted(groups.items()):
        key = digest(page_key, path, [(m.path, m.service, m.lang, m.format,
                                       [f.to_json() for f in m.findings]) for m in members])
        cached = store.get_object("pages", key)
        if isinstance(cached, Artifact):
            out.append(cached)
            continue
        sections = [
            {
                "summary": summary,
                "findings": sorted(summary.findings, key=lambda f: (
                    order[f.outcome], IMPACTS.index(f.impact) if f.impact else 9, f.check,
                    f.locator)),
                "target_url": relative(path, summary.path),
                "format_label": default.locale.gettext(
                    FORMAT_LABELS.get(summary.format, summary.format)),
            }
            for summary in members
        ]
        title = members[0].service or default.locale.gettext("Site pages")
        if not members[0].service and members[0].lang:
            names = {language.code: language.name for language in config.languages}
            title = f"{title} ({names.get(members[0].lang, members[0].lang)})"
        # the criteria of each check once for the page, not on each of its hundreds of rows
        # (which made the page twice as heavy to read, validate and audit)
        legend = sorted({(f.check, f.criteria) for m in members for f in m.findings},
                        key=lambda item: (item[0], repr(item[1])))
        out.append(page(path, "artifact.html", default, title=title, sections=sections,
                        index_url=relative(path, index_path), legend=legend))
        store.put_object("pages", key, out[-1])
    # the machine-readable reports say what the index says of every file: the same key
    machine: list[tuple[str, str, str, Callable[[], bytes]]] = [
        ("report.json", "application/json", "report-json",
         functools.partial(report_json, summaries, when, audited)),
        ("earl.jsonld", "application/ld+json", "report-earl",
         functools.partial(earl, summaries, site, when)),
        ("junit.xml", "application/xml", "report-junit", functools.partial(junit, summaries, when)),
    ]
    for name, media_type, kind, make in machine:
        key = digest(index_key, name)
        data = store.get_object("pages", key)
        if not isinstance(data, bytes):
            data = make()
            store.put_object("pages", key, data)
        out.append(Artifact(f"{REPORT_DIR}/{name}", data, media_type, kind, listed=False))
    # the statement, per language
    # content.* findings (review dates, readability) are advice for authors, and readability is
    # a AAA criterion: the statement reports what stands between a reader and the content. Only
    # WCAG failures (and a PDF's failures of PDF/UA-1) are non-conformance: advice and our house
    # rules are not.
    failed = [f for f in findings if f.non_conformance and not f.check.startswith("content.")]
    for lang, ctx in contexts.items():
        path = f"{lang}/accessibility/index.html"
        problems: dict[str, dict[str, Any]] = {}
        for finding in failed:
            entry = problems.setdefault(finding.check, {"message": finding.message,
                                                        "criteria": finding.criteria,
                                                        "count": 0})
            entry["count"] += 1
        available = sorted({a.format for a in artifacts if a.listed and a.lang == lang},
                           key=_format_order)
        status = "unknown" if not audited else ("full" if not failed else "partial")
        out.append(page(
            path, "statement.html", ctx, statement=True, status=status, problems=problems,
            when=when,
            available=[ctx.locale.gettext(FORMAT_LABELS.get(f, f)) for f in available],
            report_url=relative(path, index_path), checks=len(findings),
            passed=totals["passed"], version=__version__,
        ))
    return out


def _detail_page(summary: ArtifactSummary) -> str:
    """A service's files on one page; the site's own pages on one page per language (and one
    for those of no language): a single page of them all held as many findings as all the
    services' pages together, and took its audit longest, alone, at the end of the build."""
    if summary.service:
        return f"{REPORT_DIR}/details/{summary.service}.html"
    return f"{REPORT_DIR}/details/site-pages{'-' + summary.lang if summary.lang else ''}.html"


def _format_order(name: str) -> tuple[int, str]:
    order = list(FORMAT_LABELS)
    return (order.index(name) if name in order else len(order), name)


__all__ = ["CSP", "render_reports", "summarise"]
