"""The markup audit: every HTML page checked by the Nu Html Checker (the npm package vnu-jar,
on Java): ``html.valid``, one failed finding per markup error with its line and column, else one
passed finding (a cannot-tell when the file could not be read as HTML, or the checker could not
run). Informative for WCAG 2.2, which made 4.1.1 Parsing obsolete; EN 301 549 V3.2.1 still
lists it (9.4.1.1).

In: HTML files on disk (our own build or anyone else's folder). It is an audit of its own, not
part of the website audit in the browser (:mod:`publisher.audits.html`), so that a build checks
all its pages in one run of the checker: the checker spends ~2 s of CPU starting (it loads and
compiles its schemas) whatever it then checks, and the report's pages exist only after the
other audits have run, so the build leaves this audit to its last round, for every page at once
(see ``publisher.build.audit_and_report``). It runs in the process of the audits beside the
browser's, as a Java program.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from publisher.audits import (
    Audit,
    AuditContext,
    AuditInput,
    Criteria,
    Finding,
    file_of_url,
    node_modules,
    not_checked,
)

VNU_TIMEOUT_SECONDS = 600
VNU_BATCH = 200  # files per Java run: one run for a site, but never a command line too long
# Java for one short run that validates files one by one: a capped heap (the checker needs about
# 130 MB; Java would otherwise size it by the machine's memory), one garbage collector thread, and
# only the quick compiler — the optimising one spends more CPU than it saves in a run of seconds
# (half the CPU time on 92 pages). Its frames are larger, so the checker's deep recursion over
# the HTML schema needs a larger thread stack. No performance data file in /tmp.
VNU_HEAP, VNU_HEAP_LARGE = "192m", "2g"
VNU_JAVA_OPTIONS = ("-Xss8m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData")

# Informative only: WCAG 2.2 made 4.1.1 obsolete, so markup errors are no WCAG failure.
MARKUP = Criteria(en301549=("9.4.1.1",))
MARKUP_NOTE = (
    "This is an HTML markup error found by the Nu Html Checker. It is not a WCAG 2.2 failure "
    "on its own (WCAG 2.2 made 4.1.1 Parsing obsolete), but EN 301 549 V3.2.1 clause 9.4.1.1 "
    "still lists it, and broken markup can make assistive technology misread the page."
)


def vnu_jar() -> Path:
    return node_modules() / "vnu-jar" / "build" / "dist" / "vnu.jar"


@dataclass
class MarkupReport:
    """What the Nu Html Checker said about one file."""

    messages: list[dict[str, Any]]
    version: str


class _OutOfMemory(Exception):
    pass


def _run_vnu(java: str, jar: Path, files: Sequence[Path], heap: str) -> dict[str, Any]:
    command = [java, f"-Xmx{heap}", *VNU_JAVA_OPTIONS, "-jar", str(jar), "--format", "json",
               "--exit-zero-always", *map(str, files)]
    run = subprocess.run(
        command, capture_output=True, text=True, timeout=VNU_TIMEOUT_SECONDS, check=False
    )
    if "java.lang.OutOfMemoryError" in run.stdout + run.stderr:
        raise _OutOfMemory(f"Java ran out of memory with {heap}")
    # vnu writes its JSON report to standard error.
    output: dict[str, Any] = json.loads(run.stderr)
    return output


def validate_markup(paths: Sequence[Path]) -> dict[Path, MarkupReport] | str:
    """Run the Nu Html Checker once for all files; a reason string when it cannot run."""
    java = shutil.which("java")
    jar = vnu_jar()
    if java is None:
        return "Java is not installed, so the Nu Html Checker could not run"
    if not jar.is_file():
        return f"the Nu Html Checker is not installed ({jar} is missing: run `npm ci`)"
    reports = {path.resolve(): MarkupReport([], "") for path in paths}
    files = sorted(reports)
    for start in range(0, len(files), VNU_BATCH):
        batch = files[start : start + VNU_BATCH]
        try:
            output = _run_vnu(java, jar, batch, VNU_HEAP)
        except _OutOfMemory:
            try:  # a page far larger than ours: give Java the room it asks for
                output = _run_vnu(java, jar, batch, VNU_HEAP_LARGE)
            except _OutOfMemory as err:
                return f"the Nu Html Checker failed: {err}"
        except (subprocess.TimeoutExpired, json.JSONDecodeError, OSError) as err:
            return f"the Nu Html Checker failed: {err}"
        version = str(output.get("version", ""))
        for message in output.get("messages", []):
            path = file_of_url(str(message.get("url", "")))
            if path in reports:
                reports[path].messages.append(message)
        for path in batch:
            reports[path].version = version
    return reports


def markup_findings(name: str, report: MarkupReport) -> list[Finding]:
    errors = [m for m in report.messages if m.get("type") == "error"]
    warnings = [m for m in report.messages if m.get("type") == "info"]
    broken = [m for m in report.messages if m.get("type") == "non-document-error"]
    figures = {
        "engine": f"Nu Html Checker {report.version}",
        "errors": len(errors),
        "warnings": len(warnings),
    }
    if broken:
        reason = "; ".join(str(m.get("message", "")) for m in broken)
        return [
            Finding(
                name,
                "html.valid",
                "cannot-tell",
                f"The markup could not be checked: {reason}",
                MARKUP,
                figures=figures,
            )
        ]
    if not errors:
        return [
            Finding(
                name,
                "html.valid",
                "passed",
                "The HTML markup has no errors (Nu Html Checker).",
                MARKUP,
                figures=figures,
            )
        ]
    findings = []
    for message in errors:
        line = message.get("lastLine") or message.get("firstLine")
        column = message.get("firstColumn") or message.get("lastColumn")
        locator = f"line {line}" if line else ""
        if line and column:
            locator += f", column {column}"
        findings.append(
            Finding(
                artifact=name,
                check="html.valid",
                outcome="failed",
                message=f"{message.get('message', '')} {MARKUP_NOTE}",
                criteria=MARKUP,
                impact="minor",
                locator=locator,
                figures=figures,
            )
        )
    return findings


class MarkupAudit(Audit):
    name: ClassVar[str] = "markup"
    suffixes: ClassVar[tuple[str, ...]] = (".html", ".htm")

    def audit(self, inputs: Sequence[AuditInput], ctx: AuditContext) -> list[Finding]:
        if not inputs:
            return []
        reports = validate_markup([item.path for item in inputs])
        if isinstance(reports, str):  # the checker could not run: say so for every page
            return [finding for item in inputs
                    for finding in not_checked(item.name, ["html.valid"], reports)]
        return [finding for item in inputs
                for finding in markup_findings(item.name, reports[item.path.resolve()])]


AUDIT = MarkupAudit()
