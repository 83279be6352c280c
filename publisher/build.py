"""Build: plan → render → assemble beside the old output → audit → swap in one step.

In: the content folder, the output folder and options. Out: a :class:`BuildResult` (counts,
diagnostics, artifacts, where the new output is) — never printing: the CLI shows it. The
previously published output is replaced only when everything rendered (and passed the audit
gate); until then it stays exactly as it was.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath

from publisher import __version__
from publisher.audits import Finding
from publisher.config import CONFIG_NAME
from publisher.diagnostics import Diagnostics, SourceSpan, display_path
from publisher.i18n import Locale
from publisher.load import load_site
from publisher.model import Document
from publisher.writers import Artifact, Options, RenderContext, Site, Writer, registry


@cache
def formats_dir() -> Path:
    """``formats/`` beside the package in a checkout, or packaged inside it in a wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "formats", here / "_formats"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the formats folder is missing from this installation")


@dataclass(frozen=True)
class Task:
    """One unit of work: a format for one (service, language), or a format's site pages."""

    writer: str
    service: str | None
    lang: str | None

    def describe(self) -> str:
        if self.service is None:
            return f"{self.writer} site pages"
        return f"{self.service} ({self.lang}) {self.writer}"


class Progress:
    """What a long build tells its user; the CLI implements it, tests may record it."""

    def start(self, total: int) -> None: ...
    def advance(self, task: Task, seconds: float) -> None: ...
    def stage(self, name: str) -> None: ...
    def finish(self) -> None: ...


@dataclass
class BuildResult:
    diagnostics: Diagnostics
    artifacts: list[Artifact] = field(default_factory=list)
    published: bool = False
    out_dir: Path | None = None
    kept_dir: Path | None = None  # a failed build kept for inspection
    services: int = 0
    languages: int = 0
    failed_tasks: int = 0
    seconds: float = 0.0
    slowest: list[tuple[str, float]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    gate_failures: list[Finding] = field(default_factory=list)
    audited: bool = False


@dataclass
class BuildOptions:
    content_dir: Path
    out_dir: Path
    config_path: Path | None = None
    formats: Sequence[str] | None = None  # None: every enabled format
    audit: bool = True
    fail_on: str = "serious"  # critical|serious|moderate|minor|none
    formats_dir: Path | None = None  # templates and stylesheets; None: the built-in ones
    progress: Progress = field(default_factory=Progress)


def build_time(site: Site) -> dt.datetime:
    """The build's clock: SOURCE_DATE_EPOCH when set, else the newest review date — never the
    wall clock, so that the same input always gives the same bytes."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
    newest = max((d.record.last_reviewed for d in site.documents.values()), default=None)
    day = newest or dt.date(2000, 1, 1)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def selected_writers(
    site: Site, wanted: Sequence[str] | None, diagnostics: Diagnostics
) -> dict[str, tuple[Writer, Options]]:
    writers = registry()
    if wanted is not None:
        for name in wanted:
            if name not in writers:
                from publisher.diagnostics import did_you_mean

                diagnostics.error(
                    "U001",
                    f"unknown format '{name}'",
                    None,
                    did_you_mean(name, writers) or f"known formats: {', '.join(sorted(writers))}",
                )
    chosen: dict[str, tuple[Writer, Options]] = {}
    for name, writer in sorted(writers.items()):
        options = writer.options_model.model_validate(site.config.format_options(name))
        if wanted is not None and name not in wanted and name != "html":
            continue
        if not options.enabled:
            continue
        chosen[name] = (writer, options)
    return chosen


def render_all(
    site: Site,
    content_dir: Path,
    writers: dict[str, tuple[Writer, Options]],
    diagnostics: Diagnostics,
    progress: Progress,
    templates: Path | None = None,
) -> tuple[list[Artifact], int, list[tuple[str, float]]]:
    """Render every task; a failing task is reported and the others go on."""
    when = build_time(site)
    locales = {lang: Locale(lang, site.config.language(lang).direction)
               for lang in site.config.language_codes}
    docs = [site.documents[key] for key in sorted(site.documents)]
    ordered = sorted(writers.items(), key=lambda item: (item[1][0].lists_alternates, item[0]))
    total = len(docs) * len(ordered) + len(ordered)
    progress.start(total)
    artifacts: list[Artifact] = []
    failed = 0
    timings: list[tuple[str, float]] = []

    def context(
        lang: str, options: Options, alternates: tuple[Artifact, ...] = ()
    ) -> RenderContext:
        return RenderContext(
            config=site.config,
            language=site.config.language(lang),
            locale=locales[lang],
            build_time=when,
            formats_dir=templates or formats_dir(),
            content_dir=content_dir,
            site=site,
            options=options,
            diagnostics=diagnostics,
            alternates=alternates,
        )

    def run(task: Task, work: Callable[[], list[Artifact]]) -> list[Artifact]:
        nonlocal failed
        started = time.perf_counter()
        try:
            produced = work()
        except Exception as exc:  # a bug or an engine failure: report it, go on with the rest
            failed += 1
            doc = site.get(task.service, task.lang) if task.service and task.lang else None
            diagnostics.error(
                "B001",
                f"the {task.writer} output failed: {type(exc).__name__}: {exc}",
                doc.span if doc else None,
                "this is a fault in publisher or its engines, not in your text; please report "
                "it with this message",
            )
            produced = []
        elapsed = time.perf_counter() - started
        timings.append((task.describe(), elapsed))
        progress.advance(task, elapsed)
        return produced

    per_doc: dict[tuple[str, str], list[Artifact]] = {}
    for name, (writer, options) in ordered:
        for doc in docs:
            key = (doc.id, doc.lang)
            previous = tuple(per_doc.get(key, ()))
            ctx = context(doc.lang, options, previous if writer.lists_alternates else ())
            produced = run(
                Task(name, doc.id, doc.lang),
                lambda writer=writer, doc=doc, ctx=ctx: writer.render(doc, ctx),  # type: ignore[misc]
            )
            per_doc.setdefault(key, []).extend(produced)
            artifacts.extend(produced)
    for name, (writer, options) in sorted(ordered, key=lambda item: (item[1][0].site_order,
                                                                      item[0])):
        contexts = {lang: context(lang, options) for lang in site.config.language_codes}
        artifacts.extend(
            run(
                Task(name, None, None),
                lambda writer=writer, contexts=contexts: writer.render_site(  # type: ignore[misc]
                    site, contexts, tuple(artifacts)
                ),
            )
        )
    for lang, locale in sorted(locales.items()):
        for message in sorted(locale.missing):
            diagnostics.warning(
                "I001",
                f"no '{lang}' translation for the interface text {message!r}; "
                f"the {site.config.default_language} text was used",
                None,
                f"add it to publisher/locale/{lang}/LC_MESSAGES/messages.po",
            )
    timings.sort(key=lambda item: -item[1])
    return artifacts, failed, timings


def manifest(artifacts: Sequence[Artifact], when: dt.datetime) -> bytes:
    """``manifest.json``: one entry per file, the index for auditors and deploy tools."""
    entries = [
        {
            "path": artifact.path,
            "service": artifact.service,
            "language": artifact.lang,
            "format": artifact.format,
            "media_type": artifact.media_type,
            "bytes": len(artifact.data),
            "sha256": hashlib.sha256(artifact.data).hexdigest(),
        }
        for artifact in sorted(artifacts, key=lambda a: a.path)
    ]
    document = {
        "generator": f"publisher {__version__}",
        "build_time": when.isoformat(),
        "artifacts": entries,
    }
    return (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def check_paths(artifacts: Sequence[Artifact]) -> None:
    """No artifact may be written outside the output folder or twice: a bug, not a user error."""
    seen: set[str] = set()
    for artifact in artifacts:
        path = PurePosixPath(artifact.path)
        if path.is_absolute() or ".." in path.parts or not path.parts:
            raise ValueError(f"artifact path escapes the output folder: {artifact.path!r}")
        if artifact.path in seen:
            raise ValueError(f"two artifacts share the path {artifact.path!r}")
        seen.add(artifact.path)


def write_tree(root: Path, artifacts: Sequence[Artifact]) -> None:
    for artifact in artifacts:
        target = root / artifact.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(artifact.data)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories in one atomic step (Linux renameat2 RENAME_EXCHANGE)."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return bool(result == 0)


def publish(staging: Path, out_dir: Path) -> None:
    """Put ``staging`` in place of ``out_dir``: at no moment is ``out_dir`` missing or mixed."""
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"{out_dir} exists and is not a folder")
    if not out_dir.exists():
        staging.rename(out_dir)
        return
    if _exchange(staging, out_dir):
        shutil.rmtree(staging)  # now holds the old output
        return
    # without renameat2: two renames; the old output survives under a backup name until the end
    backup = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
    out_dir.rename(backup)
    staging.rename(out_dir)
    shutil.rmtree(backup)


def staging_dir(out_dir: Path) -> Path:
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.new-", dir=out_dir.parent))


def build(options: BuildOptions) -> BuildResult:
    started = time.perf_counter()
    diagnostics = Diagnostics()
    result = BuildResult(diagnostics)
    progress = options.progress
    progress.stage("reading the content")
    site = load_site(options.content_dir, diagnostics, options.config_path)
    if site is None:
        return result
    writers = selected_writers(site, options.formats, diagnostics)
    if diagnostics.has_errors():
        return result
    result.services = len(site.service_ids())
    result.languages = len({lang for _, lang in site.documents})
    progress.stage("rendering")
    artifacts, failed, timings = render_all(
        site, options.content_dir, writers, diagnostics, progress, options.formats_dir
    )
    progress.finish()
    result.failed_tasks = failed
    result.slowest = timings[:5]
    if diagnostics.has_errors():
        result.artifacts = artifacts
        result.seconds = time.perf_counter() - started
        return result
    staging = staging_dir(options.out_dir)
    try:
        check_paths(artifacts)
        progress.stage("writing")
        write_tree(staging, artifacts)
        artifacts += audit_and_report(site, options, staging, artifacts, result)
        check_paths(artifacts)
        (staging / "manifest.json").write_bytes(manifest(artifacts, build_time(site)))
        result.artifacts = artifacts
        if diagnostics.has_errors() or result.gate_failures:
            if result.gate_failures:
                # keep the rejected build beside the published one, for inspection
                kept = options.out_dir.with_name(f"{options.out_dir.name}.rejected")
                shutil.rmtree(kept, ignore_errors=True)
                staging.rename(kept)
                result.kept_dir = kept
            else:
                shutil.rmtree(staging)
        else:
            publish(staging, options.out_dir)
            result.published = True
            result.out_dir = options.out_dir
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    result.seconds = time.perf_counter() - started
    return result


def site_contexts(
    site: Site, content_dir: Path, diagnostics: Diagnostics, templates: Path | None = None
) -> dict[str, RenderContext]:
    """A render context per language for site-wide pages (reports, statements)."""
    return {
        lang: RenderContext(
            config=site.config,
            language=site.config.language(lang),
            locale=Locale(lang, site.config.language(lang).direction),
            build_time=build_time(site),
            formats_dir=templates or formats_dir(),
            content_dir=content_dir,
            site=site,
            options=Options(),
            diagnostics=diagnostics,
        )
        for lang in site.config.language_codes
    }


def audit_and_report(
    site: Site,
    options: BuildOptions,
    staging: Path,
    artifacts: list[Artifact],
    result: BuildResult,
) -> list[Artifact]:
    """Audit what was written to ``staging``, then write the reports and statements (which are
    pages too, so they are audited in turn and the report is written again with their results).
    Returns the report artifacts."""
    from publisher.audit import gate, inputs_for_build, run_audits
    from publisher.audits import AuditContext
    from publisher.reports import render_reports

    diagnostics = result.diagnostics
    contexts = site_contexts(site, options.content_dir, diagnostics, options.formats_dir)
    findings: list[Finding] = []
    ctx = AuditContext(site.config, staging)
    if options.audit:
        options.progress.stage("auditing every output")
        findings = run_audits(inputs_for_build(staging, artifacts, site.documents), ctx,
                              diagnostics)
    reports = render_reports(site, contexts, artifacts, findings, options.audit)
    write_tree(staging, reports)
    if options.audit:
        pages = [a for a in reports if a.media_type.startswith("text/html")]
        findings += run_audits(inputs_for_build(staging, pages, {}), ctx, diagnostics)
        findings.sort(key=lambda f: (f.artifact, f.check, f.locator, f.outcome))
        reports = render_reports(site, contexts, artifacts, findings, options.audit)
        write_tree(staging, reports)
        result.gate_failures = gate(findings, options.fail_on)
    result.findings = findings
    result.audited = options.audit
    return reports


def describe_sources(content_dir: Path) -> str:
    return display_path(content_dir / CONFIG_NAME)


__all__ = ["BuildOptions", "BuildResult", "Document", "SourceSpan", "build", "formats_dir"]
