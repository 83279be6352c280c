"""Build: plan → render (cached, parallel) → assemble beside the old output → audit → swap.

In: the content folder, the output folder and options. Out: a :class:`BuildResult` (counts,
diagnostics, artifacts, findings) — never printing: the CLI shows it. The previously published
output is replaced in one atomic step, and only when everything rendered and passed the audit
gate; a build killed at any moment leaves it exactly as it was. Files that did not change are
hard-linked from the old output, so they keep their bytes and modification times; a build with
no change at all replaces nothing.
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
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath

from publisher import __version__
from publisher.audits import Finding
from publisher.cache import Store
from publisher.diagnostics import Diagnostics, did_you_mean
from publisher.engine import BuildSpec, Task, executor_for, iter_missing, run_plan
from publisher.i18n import Locale
from publisher.load import load_site
from publisher.translation import report_freshness
from publisher.writers import Artifact, Options, RenderContext, Site, Writer, registry


@cache
def formats_dir() -> Path:
    """``formats/`` beside the package in a checkout, or packaged inside it in a wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "formats", here / "_formats"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the formats folder is missing from this installation")


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
    unchanged: bool = False  # nothing differed from the published output: nothing was replaced
    out_dir: Path | None = None
    kept_dir: Path | None = None  # a build rejected by the audit gate, kept for inspection
    services: int = 0
    languages: int = 0
    failed_tasks: int = 0
    rendered_tasks: int = 0
    cached_tasks: int = 0
    rendered: list[Task] = field(default_factory=list)  # the tasks not taken from the cache
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
    jobs: int = 0  # worker processes; 0: one per core, 1: everything in this process
    scheduler: str | None = None  # a Dask scheduler address, e.g. tcp://127.0.0.1:8786
    cache_dir: Path | None = None  # None: <output>.cache beside the output folder
    use_cache: bool = True
    progress: Progress = field(default_factory=Progress)

    @property
    def cache_root(self) -> Path | None:
        if not self.use_cache:
            return None
        return self.cache_dir or self.out_dir.with_name(f".{self.out_dir.name}.cache")


def build_time(site: Site) -> dt.datetime:
    """The build's clock: SOURCE_DATE_EPOCH when set, else the newest review date — never the
    wall clock, so that the same input always gives the same bytes."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
    newest = max((d.record.last_reviewed for d in site.documents.values()), default=None)
    day = newest or dt.date(2000, 1, 1)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


#: the formats that make up the website: its pages link to each other's files, so they are
#: always built together (``--formats pdf`` still builds the site the PDFs are offered on)
WEBSITE = frozenset({"html", "search", "opendata"})


def selected_writers(
    site: Site, wanted: Sequence[str] | None, diagnostics: Diagnostics
) -> dict[str, tuple[Writer, Options]]:
    writers = registry()
    for name in wanted or ():
        if name not in writers:
            diagnostics.error(
                "U001",
                f"unknown format '{name}'",
                None,
                did_you_mean(name, writers) or f"known formats: {', '.join(sorted(writers))}",
            )
    chosen: dict[str, tuple[Writer, Options]] = {}
    for name, writer in sorted(writers.items()):
        options = writer.options_model.model_validate(site.config.format_options(name))
        if wanted is not None and name not in wanted and name not in WEBSITE:
            continue
        if not options.enabled:
            continue
        chosen[name] = (writer, options)
    return chosen


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
        if path.is_absolute() or ".." in path.parts or not path.parts or "\\" in artifact.path:
            raise ValueError(f"artifact path escapes the output folder: {artifact.path!r}")
        if artifact.path in seen or artifact.path == "manifest.json":
            raise ValueError(f"two artifacts share the path {artifact.path!r}")
        seen.add(artifact.path)


def _published(out_dir: Path) -> dict[str, str]:
    """path → sha256 of the currently published output, from its manifest."""
    try:
        data = json.loads((out_dir / "manifest.json").read_bytes())
        return {entry["path"]: entry["sha256"] for entry in data["artifacts"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def write_tree(root: Path, artifacts: Sequence[Artifact], previous: Path | None = None,
               previous_hashes: dict[str, str] | None = None) -> None:
    """Write the artifacts under ``root``; a file whose bytes the published output already has
    is hard-linked from it, so it keeps its modification time."""
    hashes = previous_hashes or {}
    for artifact in artifacts:
        target = root / artifact.path
        target.parent.mkdir(parents=True, exist_ok=True)
        if previous is not None and artifact.path in hashes:
            source = previous / artifact.path
            if hashes[artifact.path] == hashlib.sha256(artifact.data).hexdigest():
                try:
                    if target.exists():
                        target.unlink()
                    os.link(source, target)
                    continue
                except OSError:
                    pass  # another file system, or the file went away: write it instead
        if target.exists():
            target.unlink()  # never write through a hard link into the published output
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


def clean_stale_staging(out_dir: Path) -> None:
    """Remove what a killed build left beside the output (never the output itself)."""
    if not out_dir.parent.is_dir():
        return
    for leftover in out_dir.parent.glob(f".{out_dir.name}.new-*"):
        shutil.rmtree(leftover, ignore_errors=True)


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


def build(options: BuildOptions) -> BuildResult:
    started = time.perf_counter()
    diagnostics = Diagnostics()
    result = BuildResult(diagnostics)
    progress = options.progress
    progress.stage("reading the content")
    store = Store(options.cache_root)
    site = load_site(options.content_dir, diagnostics, options.config_path, store)
    if site is None:
        return result
    report_freshness(site, diagnostics)
    writers = selected_writers(site, options.formats, diagnostics)
    if diagnostics.has_errors():
        return result
    result.services = len(site.service_ids())
    result.languages = len({lang for _, lang in site.documents})
    spec = BuildSpec(
        content_dir=options.content_dir.resolve(),
        config_path=options.config_path.resolve() if options.config_path else None,
        templates=(options.formats_dir or formats_dir()).resolve(),
        formats=tuple(sorted(writers)),
        build_time=build_time(site),
    )
    jobs = options.jobs or os.cpu_count() or 1
    progress.stage("rendering")
    outcome = run_plan(
        site, writers, spec, store,
        lambda: executor_for(jobs, options.scheduler),
        progress.advance, progress.start,
    )
    progress.finish()
    diagnostics.extend(outcome.diagnostics)
    for lang, message in iter_missing(outcome):
        diagnostics.warning(
            "I001",
            f"no '{lang}' translation for the interface text {message!r}; "
            f"the {site.config.default_language} text was used",
            None,
            f"add it to publisher/locale/{lang}/LC_MESSAGES/messages.po",
        )
    artifacts = outcome.artifacts
    result.failed_tasks = outcome.failed
    result.rendered_tasks = outcome.rendered
    result.cached_tasks = outcome.cached
    result.rendered = sorted(outcome.rendered_tasks, key=lambda t: t.describe())
    result.slowest = outcome.timings[:5]
    result.artifacts = artifacts
    if diagnostics.has_errors():
        result.seconds = time.perf_counter() - started
        return result
    check_paths(artifacts)
    clean_stale_staging(options.out_dir)
    previous = _published(options.out_dir)
    staging = staging_dir(options.out_dir)
    try:
        progress.stage("writing")
        write_tree(staging, artifacts, options.out_dir, previous)
        artifacts += audit_and_report(site, options, staging, artifacts, result, store,
                                      previous)
        check_paths(artifacts)
        manifest_bytes = manifest(artifacts, build_time(site))
        (staging / "manifest.json").write_bytes(manifest_bytes)
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
        elif _same_manifest(options.out_dir, manifest_bytes):
            shutil.rmtree(staging)  # nothing changed: leave every published file alone
            result.published = result.unchanged = True
            result.out_dir = options.out_dir
        else:
            publish(staging, options.out_dir)
            result.published = True
            result.out_dir = options.out_dir
        store.prune()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    result.seconds = time.perf_counter() - started
    return result


def _same_manifest(out_dir: Path, manifest_bytes: bytes) -> bool:
    try:
        return (out_dir / "manifest.json").read_bytes() == manifest_bytes
    except OSError:
        return False


def audit_and_report(
    site: Site,
    options: BuildOptions,
    staging: Path,
    artifacts: list[Artifact],
    result: BuildResult,
    store: Store,
    previous: dict[str, str],
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
    paths = sorted(a.path for a in artifacts)
    ctx = AuditContext(site.config, staging, build_time(site))
    if options.audit:
        options.progress.stage("auditing every output")
        findings = run_audits(inputs_for_build(staging, artifacts, site.documents), ctx,
                              diagnostics, store=store, paths=paths)
    reports = render_reports(site, contexts, artifacts, findings, options.audit)
    write_tree(staging, reports, options.out_dir, previous)
    if options.audit:
        pages = [a for a in reports if a.media_type.startswith("text/html")]
        every_path = sorted(paths + [a.path for a in reports])
        findings += run_audits(inputs_for_build(staging, pages, {}), ctx, diagnostics,
                               store=store, paths=every_path)
        findings.sort(key=lambda f: (f.artifact, f.check, f.locator, f.outcome))
        reports = render_reports(site, contexts, artifacts, findings, options.audit)
        write_tree(staging, reports, options.out_dir, previous)
        result.gate_failures = gate(findings, options.fail_on)
    result.findings = findings
    result.audited = options.audit
    return reports
