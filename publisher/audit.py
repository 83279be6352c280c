"""Run every format's audit on real files and decide whether the result may be published.

In: files on disk (a build's staging folder, or whatever an auditor points ``publish audit``
at), with what is known of each (artifact, source document). Out: findings, sorted, plus
diagnostics for audits that could not run. The gate compares failed findings' impacts with the
``--fail-on`` level.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

from publisher.audits import IMPACTS, Audit, AuditContext, AuditInput, Finding, registry
from publisher.cache import Store, code_version, digest
from publisher.diagnostics import Diagnostics, display_path
from publisher.model import Document
from publisher.writers import Artifact

FAIL_ON_LEVELS = (*IMPACTS, "none")


def inputs_for_build(
    root: Path, artifacts: Iterable[Artifact], documents: dict[tuple[str, str], Document]
) -> list[AuditInput]:
    """What a build wrote, each file with its artifact and source document."""
    inputs = []
    for artifact in sorted(artifacts, key=lambda a: a.path):
        doc = (
            documents.get((artifact.service, artifact.lang))
            if artifact.service and artifact.lang
            else None
        )
        inputs.append(AuditInput(root / artifact.path, artifact.path, artifact, doc))
    return inputs


def inputs_for_paths(paths: Sequence[Path], diagnostics: Diagnostics) -> list[AuditInput]:
    """Files and folders given on the command line; folders are searched for known suffixes.

    When a folder holds a ``manifest.json`` written by publisher, each file keeps its
    output-relative name.
    """
    suffixes = {suffix for audit in registry().values() for suffix in audit.suffixes}
    inputs: list[AuditInput] = []
    for path in paths:
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                if file.is_file() and file.suffix.lower() in suffixes:
                    inputs.append(AuditInput(file, file.relative_to(path).as_posix()))
        elif path.is_file():
            if path.suffix.lower() not in suffixes:
                diagnostics.error(
                    "U002",
                    f"{display_path(path)}: no audit reads '{path.suffix or 'this'}' files",
                    None,
                    f"audits exist for: {', '.join(sorted(suffixes))}",
                )
                continue
            inputs.append(AuditInput(path, display_path(path)))
        else:
            diagnostics.error(
                "U002", f"{display_path(path)} does not exist", None, "check the path"
            )
    return inputs


@cache
def engines_version() -> str:
    """The audits' engines: the pinned npm packages (axe-core, the HTML validator) and the
    browser, by their files' size and date (asking Chromium its version takes a second)."""
    from publisher.audits.html import node_modules
    from publisher.browser import CHROMEDRIVER, CHROMIUM

    lock = node_modules().parent / "package-lock.json"
    parts: list[object] = [lock.read_bytes() if lock.is_file() else "no package-lock.json"]
    for program in (CHROMIUM, CHROMEDRIVER):
        try:
            info = program.resolve().stat()
            parts.append([str(program.resolve()), info.st_size, info.st_mtime_ns])
        except OSError:
            parts.append([str(program), "missing"])
    return digest(*parts)


def run_audits(
    inputs: Sequence[AuditInput],
    ctx: AuditContext,
    diagnostics: Diagnostics,
    store: Store | None = None,
    paths: Sequence[str] = (),
) -> list[Finding]:
    """Every registered audit on the files it reads. With a ``store``, a file whose bytes,
    source document and neighbours (``paths``: every file of the output, which link checks
    depend on) are unchanged keeps its earlier findings instead of being audited again.

    The website's audit (a browser, the validator) runs beside the others, which take their
    turns on a second thread: each spends most of its time in engines outside Python (Chromium,
    Java, ffmpeg, poppler, liblouis), so two cores are kept busy. Findings and messages come out
    in the same order whatever finished first."""
    store = store or Store(None)
    config = ctx.config.model_dump_json() if ctx.config else ""
    clock = ctx.build_time.isoformat() if ctx.build_time else ""
    neighbours = digest(list(paths))
    audits = sorted(registry().items())
    groups = {name: [item for item in inputs if item.path.suffix.lower() in audit.suffixes]
              for name, audit in audits}

    def one(name: str, audit: Audit) -> tuple[list[Finding], Diagnostics]:
        found = Diagnostics()
        group = groups[name]
        keys = {
            item.name: digest(code_version(), engines_version(), name, config, clock,
                              neighbours, item.name,
                              item.path.read_bytes() if item.path.is_file() else b"",
                              item.document.fingerprint if item.document else "",
                              _sibling_bytes(item) if name in SIBLING_AUDITS else b"")
            for item in group
        }
        findings: list[Finding] = []
        todo = []
        for item in group:
            cached = store.get_findings(keys[item.name])
            if cached is None:
                todo.append(item)
            else:
                findings.extend(cached)
        if not todo:
            return findings, found
        try:
            produced = audit.audit(todo, ctx)
        except Exception as exc:  # the audit could not run: say so, never pretend it passed
            found.error(
                "B002",
                f"the {name} audit could not run: {type(exc).__name__}: {exc}",
                None,
                "check that the set-up completed (./run setup); this is not an error in the text",
            )
            return findings, found
        findings.extend(produced)
        by_artifact: dict[str, list[Finding]] = {item.name: [] for item in todo}
        for finding in produced:
            by_artifact.setdefault(finding.artifact, []).append(finding)
        for item in todo:
            # cannot-tell from a missing tool is not cached: it may be installed next time
            if not any(f.outcome == "cannot-tell" and f.message.startswith("Not checked")
                       for f in by_artifact[item.name]):
                store.put_findings(keys[item.name], by_artifact[item.name])
        return findings, found

    def in_turn(names: Sequence[str]) -> dict[str, tuple[list[Finding], Diagnostics]]:
        return {name: one(name, audit) for name, audit in audits if name in names}

    busy = [name for name, _ in audits if groups[name]]
    first = [name for name in busy if name == "html"]
    rest = [name for name in busy if name != "html"]
    results: dict[str, tuple[list[Finding], Diagnostics]] = {}
    if first and rest:
        with ThreadPoolExecutor(max_workers=2) as pool:
            beside = pool.submit(in_turn, rest)
            results.update(in_turn(first))
            results.update(beside.result())
    else:
        results.update(in_turn(busy))
    findings: list[Finding] = []
    for name in busy:
        produced, found = results[name]
        findings.extend(produced)
        diagnostics.extend(found.items)
    return sorted(findings, key=lambda f: (f.artifact, f.check, f.locator, f.outcome))


#: audits that read a file's companions too (the PEF beside a BRF, the VTT beside an MP3)
SIBLING_AUDITS = {"braille", "audio"}


def _sibling_bytes(item: AuditInput) -> bytes:
    siblings = sorted(p for p in item.path.parent.glob(item.path.stem + ".*") if p != item.path)
    return b"".join(p.name.encode() + p.read_bytes() for p in siblings if p.is_file())


def gate(findings: Iterable[Finding], fail_on: str) -> list[Finding]:
    """The failed findings at or above the ``fail_on`` impact ('none' lets everything pass)."""
    if fail_on == "none":
        return []
    worst = IMPACTS.index(fail_on)
    return [
        f
        for f in findings
        if f.outcome == "failed" and IMPACTS.index(f.impact or "minor") <= worst
    ]
