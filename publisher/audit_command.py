"""``publish audit``: the build's checks on any files, with the same reports.

In: paths (a published output, someone else's HTML folder, single files) and optionally the
content folder the output came from. Out: findings and the report files (HTML report,
report.json, EARL, JUnit) in the report folder.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from publisher.audit import describe_fail_on, fail_on_levels, gate, inputs_for_paths, run_audits
from publisher.audits import AuditContext, AuditInput, Finding
from publisher.build import build_time, site_contexts
from publisher.config import AccessibilityContact, Language, SiteConfig
from publisher.diagnostics import Diagnostics
from publisher.load import load_site
from publisher.reports import REPORT_DIR, render_reports
from publisher.writers import Artifact, Site


@dataclass
class AuditOptions:
    paths: list[Path]
    report_dir: Path
    content_dir: Path | None = None
    fail_on: str | None = None  # see publisher.audit.parse_fail_on; None: the site's, if any


@dataclass
class AuditOutcome:
    diagnostics: Diagnostics
    findings: list[Finding] = field(default_factory=list)
    gate_failures: list[Finding] = field(default_factory=list)
    fail_on: str = ""  # the gate's levels, as --fail-on takes them


def _outside_material_site() -> Site:
    """A neutral site for material that publisher did not produce (no site.yaml)."""
    config = SiteConfig(
        organisation={"en": "Audited material"},
        base_url="https://audited.invalid/",
        default_language="en",
        languages=(Language(code="en", name="English"),),
        accessibility_contact=AccessibilityContact(email="accessibility@audited.invalid"),
        topics={"all": {"en": "All"}},
    )
    return Site(config, {})


def _known(inputs: list[AuditInput], site: Site, roots: list[Path]) -> list[AuditInput]:
    """Attach artifacts and source documents to files of a publisher output (manifest.json)."""
    entries: dict[Path, dict[str, object]] = {}
    for root in roots:
        manifest = root / "manifest.json"
        if root.is_dir() and manifest.is_file():
            for entry in json.loads(manifest.read_text(encoding="utf-8"))["artifacts"]:
                entries[(root / str(entry["path"])).resolve()] = entry
    known = []
    for item in inputs:
        entry = entries.get(item.path.resolve())
        if entry is None:
            known.append(item)
            continue
        service, lang = entry.get("service"), entry.get("language")
        artifact = Artifact(str(entry["path"]), b"", str(entry["media_type"]),
                            str(entry["format"]), service=service,  # type: ignore[arg-type]
                            lang=lang)  # type: ignore[arg-type]
        document = site.get(str(service), str(lang)) if service and lang else None
        known.append(AuditInput(item.path, item.name, artifact, document))
    return known


def audit_paths(options: AuditOptions) -> AuditOutcome:
    diagnostics = Diagnostics()
    outcome = AuditOutcome(diagnostics)
    site: Site | None = None
    if options.content_dir is not None:
        site = load_site(options.content_dir, diagnostics)
        if site is None:
            return outcome
    inputs = inputs_for_paths(options.paths, diagnostics)
    if diagnostics.has_errors():
        return outcome
    report_site = site or _outside_material_site()
    inputs = _known(inputs, report_site, options.paths)
    root = options.paths[0] if len(options.paths) == 1 and options.paths[0].is_dir() else None
    clock = build_time(site) if site else None
    findings = run_audits(inputs, AuditContext(site.config if site else None, root, clock),
                          diagnostics)
    artifacts = [
        item.artifact or Artifact(item.name, b"", "application/octet-stream",
                                  item.path.suffix.lstrip(".") or "file")
        for item in inputs
    ]
    contexts = site_contexts(report_site, options.content_dir or Path("."), diagnostics)
    reports = render_reports(report_site, contexts, artifacts, findings, True)
    shutil.rmtree(options.report_dir, ignore_errors=True)
    for artifact in reports:
        if not artifact.path.startswith(REPORT_DIR + "/"):
            continue  # statements belong to a site, not to an audit of files
        target = options.report_dir / artifact.path.removeprefix(REPORT_DIR + "/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(artifact.data)
    outcome.findings = findings
    levels = fail_on_levels(options.fail_on, site.config if site else None)
    outcome.fail_on = describe_fail_on(levels)
    outcome.gate_failures = gate(findings, levels)
    return outcome
