"""``publish check``: the fast half of a build, for pre-commit hooks and CI.

In: the content folder (and the configuration), optionally the files a commit changed. Out: a
:class:`CheckResult` — the diagnostics of loading, validating and parsing the whole catalogue
(links, anchors, headings, alt text, translations), and the content audit's failed findings
(review dates, plain language) turned into diagnostics at their source line — nothing rendered,
nothing written but the cache of parsed files (the build's, when it is given). The whole
catalogue is always read, so that a link from a changed file to an unchanged one still
resolves; only the problems of the files asked for are kept.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from publisher.audit import gate
from publisher.audits import Finding
from publisher.audits.content import (
    passages,
    readability_findings,
    review_date_finding,
    sentence_findings,
)
from publisher.build import build_time
from publisher.cache import Store
from publisher.config import PlainLanguage
from publisher.diagnostics import Diagnostic, Diagnostics, Severity, SourceSpan
from publisher.load import load_site
from publisher.model import Document
from publisher.translation import report_freshness

_AT = re.compile(r"^(?P<path>.+?):(?P<line>\d+)(?::(?P<column>\d+))?$")
_SUMMARY = " (summary)"


@dataclass
class CheckResult:
    diagnostics: Diagnostics  # of the files asked for (and those that belong to no file)
    findings: list[Finding] = field(default_factory=list)  # failed content findings shown
    gate_failures: list[Finding] = field(default_factory=list)
    other_files: int = 0  # problems in files not asked for: not shown
    services: int = 0  # documents checked
    #: whether the content audit ran: it needs the catalogue loaded, which an error anywhere
    #: (in a file not asked for too) prevents
    audited: bool = False
    seconds: float = 0.0


def check(content_dir: Path, config_path: Path | None = None,
          files: Sequence[Path] | None = None, cache_dir: Path | None = None,
          fail_on: str = "serious") -> CheckResult:
    """Check the catalogue; with ``files``, report only the problems of those files (folders:
    the files under them)."""
    started = time.perf_counter()
    everything = Diagnostics()
    site = load_site(content_dir, everything, config_path, Store(cache_dir))
    wanted = _selector(files)
    findings: list[Finding] = []
    checked: list[Document] = []
    if site is not None:
        report_freshness(site, everything)
        checked = [doc for _, doc in sorted(site.documents.items()) if wanted(doc.span.path)]
        findings = content_findings(checked, site.config.review_period_days,
                                    site.config.plain_language, build_time(site).date())
    shown = Diagnostics([d for d in everything if d.span is None or wanted(d.span.path)])
    other_files = len(everything) - len(shown)
    failures = gate(findings, fail_on)
    gated = {id(f) for f in failures}
    for finding in findings:
        severity = Severity.ERROR if id(finding) in gated else Severity.WARNING
        span = span_of(finding.locator)
        if finding.check == "content.review-date":  # said by the front matter's date
            span = SourceSpan(span.path, _line_of(Path(span.path), "last_reviewed:"), 1)
        shown.add(Diagnostic(finding.check, severity, finding.message.rstrip("."), span))
    return CheckResult(shown, findings, failures, other_files, len(checked), site is not None,
                       time.perf_counter() - started)


def content_findings(docs: Sequence[Document], period: int, plain: PlainLanguage,
                     today: dt.date) -> list[Finding]:
    """The content audit's failed findings for these documents (what the build's content audit
    reports of their pages, without the pages: these checks read the model alone)."""
    out: list[Finding] = []
    for doc in docs:
        name = doc.span.path
        found = list(passages(doc))
        out.append(review_date_finding(name, doc, today, period))
        out.extend(readability_findings(name, doc, found, plain.target_reading_ease))
        out.extend(sentence_findings(name, doc, found, plain))
    return [f for f in out if f.outcome == "failed"]


def span_of(locator: str) -> SourceSpan:
    """A content finding's locator (``path:line:col``, ``path (summary)`` or ``path``) as a
    place in the source: the summary is found on its line of the front matter."""
    if locator.endswith(_SUMMARY):
        path = locator.removesuffix(_SUMMARY)
        return SourceSpan(path, _line_of(Path(path), "summary:"), 1)
    match = _AT.match(locator)
    if match is None:
        return SourceSpan(locator, 1)
    return SourceSpan(match["path"], int(match["line"]), int(match["column"] or 0))


def _line_of(path: Path, prefix: str) -> int:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return 1
    return next((number for number, line in enumerate(lines, 1) if line.startswith(prefix)), 1)


def _selector(files: Sequence[Path] | None) -> Callable[[str], bool]:
    if not files:
        return lambda shown: True
    exact = {path.resolve() for path in files if not path.is_dir()}
    folders = [path.resolve() for path in files if path.is_dir()]

    def wanted(shown: str) -> bool:
        path = Path(shown).resolve()
        return path in exact or any(path.is_relative_to(folder) for folder in folders)

    return wanted
