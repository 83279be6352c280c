"""Build: plan → render (cached, parallel) → assemble beside the old output → audit → swap.

In: the content folder, the output folder and options. Out: a :class:`BuildResult` (counts,
diagnostics, artifacts, findings) — never printing: the CLI shows it. The previously published
output is replaced in one atomic step, and only when everything rendered and passed the audit
gate; a build killed at any moment leaves it exactly as it was. Files that did not change are
hard-linked from the old output, so they keep their bytes and modification times; a build with
no change at all replaces nothing.

The new output is assembled in the previous output, which the last swap took out of service
and kept beside the output as ``.<name>.spare``: most of its files are already links to the
published ones and all its folders exist, so a rebuild changes a few entries instead of making
a folder per page (a thousand services in three languages: 3,000 folders, ~0.6 s here). That
tree is never the published one, so a build killed while updating it leaves the output
untouched; the next build checks every entry of it again.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import datetime as dt
import gc
import json
import os
import shutil
import stat as statmode
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TypeVar

from publisher import __version__, stamp
from publisher.audits import Finding
from publisher.cache import FileTable, Store, code_version, content_state, digest, folder_digest
from publisher.diagnostics import Diagnostics, did_you_mean
from publisher.engine import BuildSpec, Outcome, Task, executor_for, iter_missing, run_plan
from publisher.files import remove_later
from publisher.i18n import Locale
from publisher.jsontext import dumps_by_line
from publisher.load import load_site
from publisher.translation import report_freshness
from publisher.writers import (
    Artifact,
    CacheDamaged,
    Options,
    RenderContext,
    Site,
    Writer,
    registry,
)


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
    formats: dict[str, int] = field(default_factory=dict)  # files published, by format


@dataclass
class BuildOptions:
    content_dir: Path
    out_dir: Path
    config_path: Path | None = None
    formats: Sequence[str] | None = None  # None: every enabled format
    audit: bool = True
    #: the audit gate (see publisher.audit.parse_fail_on); None: the site's ``fail_on``
    fail_on: str | None = None
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
    newest = max((d.summary.last_reviewed for d in site.documents.values()), default=None)
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
            "bytes": artifact.size,
            "sha256": artifact.sha256,
        }
        for artifact in sorted(artifacts, key=lambda a: a.path)
    ]
    document = {
        "generator": f"publisher {__version__}",
        "build_time": when.isoformat(),
        "artifacts": entries,
    }
    return dumps_by_line(document).encode()


def check_paths(artifacts: Sequence[Artifact], seen: set[str] | None = None) -> set[str]:
    """No artifact may be written outside the output folder or twice: a bug, not a user error.
    ``seen``: the paths of the artifacts checked before, to which these are added; returned."""
    seen = set() if seen is None else seen
    for artifact in artifacts:
        # as PurePosixPath would see it (strings: this runs over every file of every build)
        parts = [part for part in artifact.path.split("/") if part not in ("", ".")]
        if artifact.path.startswith("/") or ".." in parts or not parts or "\\" in artifact.path:
            raise ValueError(f"artifact path escapes the output folder: {artifact.path!r}")
        if artifact.path in seen or artifact.path == "manifest.json":
            raise ValueError(f"two artifacts share the path {artifact.path!r}")
        seen.add(artifact.path)
    return seen


@dataclass
class Published:
    """The output published now, as far as the build may reuse its files: what its manifest
    says each file holds, and the size and modification time each file had when the last build
    published it (from that build's stamp)."""

    root: Path
    hashes: dict[str, str]
    recorded: dict[str, tuple[int, int]]

    @classmethod
    def of(cls, out_dir: Path, last: stamp.Stamp | None) -> Published:
        try:
            data = json.loads((out_dir / "manifest.json").read_bytes())
            hashes = {entry["path"]: entry["sha256"] for entry in data["artifacts"]}
        except (OSError, ValueError, KeyError, TypeError):
            hashes = {}
        return cls(out_dir, hashes, last.files if last is not None else {})

    def holds(self, artifact: Artifact) -> os.stat_result | None:
        """The published file's state when it has exactly the artifact's bytes, else ``None``.
        A file untouched since it was published (same size and time as recorded) is trusted to
        hold what the manifest says; any other is compared byte for byte (never trusted: a file
        edited by hand must not be carried into the new output)."""
        path = os.path.join(self.root, artifact.path)
        try:
            info = os.stat(path, follow_symlinks=False)
        except OSError:
            return None
        if not statmode.S_ISREG(info.st_mode) or info.st_size != artifact.size:
            return None
        if (self.recorded.get(artifact.path) == (info.st_size, info.st_mtime_ns)
                and artifact.path in self.hashes):
            return info if self.hashes[artifact.path] == artifact.sha256 else None
        try:
            with open(path, "rb") as published:
                return info if published.read() == artifact.data else None
        except OSError:
            return None


def write_tree(root: Path, artifacts: Sequence[Artifact],
               published: Published | None = None) -> int:
    """Write the artifacts under ``root`` (empty, or a tree of an earlier build); a file whose
    bytes the published output already has is hard-linked from it, so it keeps its modification
    time (and left as it is when ``root`` has that very link already). Returns how many files
    were written rather than linked. (Plain ``os`` calls on strings: a rebuild of a large
    catalogue links thousands of files, and pathlib's objects cost more than the calls. A
    folder is made when a file cannot be put in it for want of it: in the spare tree they all
    exist, and asking costs a call per folder.)"""
    written = 0
    base = os.fspath(root)
    for artifact in artifacts:
        target = os.path.join(base, artifact.path)
        held = published.holds(artifact) if published is not None else None
        if held is not None:
            assert published is not None
            try:
                if not _is(held, target):
                    _in_folder(_link, os.path.join(published.root, artifact.path), target)
                continue
            except OSError:
                pass  # another file system, or the file went away: write it instead
        _in_folder(_write_new, artifact.data, target)
        written += 1
    return written


T = TypeVar("T")


def _in_folder(put: Callable[[T, str], None], what: T, target: str) -> None:
    """``put(what, target)``, making the target's folder first if it is missing."""
    try:
        put(what, target)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        put(what, target)


def _write_new(data: bytes, target: str) -> None:
    """A new file at ``target``: never written through a hard link into the published output."""
    try:
        out = open(target, "xb")  # noqa: SIM115 - closed below, after the retry
    except FileExistsError:
        os.unlink(target)
        out = open(target, "xb")  # noqa: SIM115
    with out:
        out.write(data)


def _is(info: os.stat_result, path: str) -> bool:
    """Whether ``path`` is the file ``info`` describes (the same inode: a hard link)."""
    try:
        other = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    return (info.st_dev, info.st_ino) == (other.st_dev, other.st_ino)


def remove_others(root: Path, keep: set[str]) -> None:
    """Remove from ``root`` every file whose path is not in ``keep``, and the folders left
    empty (what an earlier build published and this one does not)."""
    emptied: set[str] = set()
    base = os.fspath(root)
    # os.walk's folders all start with base and a separator: sliced, not os.path.relpath'd
    # (which resolves both paths again, for each of thousands of folders)
    cut = len(os.path.join(base, ""))
    for directory, folders, files in os.walk(base, topdown=False):
        rel = directory[cut:].replace(os.sep, "/") if directory != base else "."
        left = 0
        for name in files:
            if (name if rel == "." else f"{rel}/{name}") in keep:
                left += 1
            else:
                os.unlink(os.path.join(directory, name))
        left += sum(1 for name in folders if os.path.join(directory, name) not in emptied)
        if not left and rel != ".":
            os.rmdir(directory)
            emptied.add(directory)


def _link(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except FileExistsError:
        os.unlink(target)
        os.link(source, target)


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
    """Put ``staging`` in place of ``out_dir``: at no moment is ``out_dir`` missing or mixed.
    The old output becomes the spare tree the next build assembles its output in."""
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"{out_dir} exists and is not a folder")
    if not out_dir.exists():
        staging.rename(out_dir)
        return
    if _exchange(staging, out_dir):
        _keep_spare(staging, out_dir)  # now holds the old output
        return
    # without renameat2: two renames; the old output survives under a backup name until the end
    backup = _old_name(out_dir)
    out_dir.rename(backup)
    staging.rename(out_dir)
    _keep_spare(backup, out_dir)


def spare_dir(out_dir: Path) -> Path:
    return out_dir.with_name(f".{out_dir.name}.spare")


def _keep_spare(tree: Path, out_dir: Path) -> None:
    spare = spare_dir(out_dir)
    if tree != spare:
        try:
            tree.rename(spare)  # fails if a spare is there already: then this one goes
        except OSError:
            discard(tree, out_dir)


def _reusable_spare(out_dir: Path) -> Path | None:
    spare = spare_dir(out_dir)
    return spare if spare.is_dir() and not spare.is_symlink() else None


def discard(tree: Path, out_dir: Path) -> None:
    """Remove a tree the build no longer needs (the old output, an unused staging folder)
    without waiting (see :mod:`publisher.files`): renamed beside the output first, so that if
    its removal is stopped, the next build removes what is left."""
    if not tree.name.startswith(f".{out_dir.name}.old-"):
        target = _old_name(out_dir)
        tree.rename(target)
        tree = target
    remove_later(tree)


def _old_name(out_dir: Path) -> Path:
    """A free name beside the output for a tree on its way out (``.<name>.old-…``)."""
    name = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
    name.rmdir()
    return name


def staging_dir(out_dir: Path) -> Path:
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.new-", dir=out_dir.parent))


def clean_stale_staging(out_dir: Path) -> None:
    """Remove what a killed build left beside the output (never the output itself)."""
    if not out_dir.parent.is_dir():
        return
    for pattern in (f".{out_dir.name}.new-*", f".{out_dir.name}.old-*"):
        for leftover in out_dir.parent.glob(pattern):
            with contextlib.suppress(OSError):  # being removed already
                discard(leftover, out_dir)


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


def inputs_key(options: BuildOptions, known: FileTable | None = None
               ) -> tuple[str, FileTable, bool]:
    """A digest of everything a build reads: every file of the content folder (services,
    images, revisions, the configuration), the configuration given elsewhere, the templates,
    publisher's code, the engines of the formats it may build and of the audits, the options
    that change the output, and the clock (``SOURCE_DATE_EPOCH``); and the table of the content
    files read (``known``: the last build's, whose unchanged files are not read again), and
    whether the content folder holds no symbolic link (see :func:`content_state`)."""
    from publisher.audit import engines_version

    writers = registry()
    names = sorted(writers if options.formats is None
                   else (set(options.formats) | WEBSITE) & set(writers))
    content, sources, no_links = content_state(options.content_dir, known or {})
    return digest(
        __version__, code_version(),
        str(options.content_dir.resolve()), str(options.out_dir.resolve()),
        sorted(options.formats) if options.formats is not None else None,
        options.audit, options.fail_on, os.environ.get("SOURCE_DATE_EPOCH", ""),
        content,
        options.config_path.read_bytes() if options.config_path else b"",
        folder_digest(options.formats_dir or formats_dir()),
        [(name, writers[name].engine_version()) for name in names],
        engines_version() if options.audit else "",
    ), sources, no_links


def _unchanged(options: BuildOptions, last: stamp.Stamp | None, key: str,
               result: BuildResult) -> bool:
    """Fill ``result`` from the last build's stamp when nothing it read has changed."""
    if last is None or not stamp.unchanged(last, key, options.out_dir):
        return False
    result.diagnostics.extend(last.diagnostics)
    result.findings = last.findings
    result.audited = last.audited
    result.services, result.languages = last.services, last.languages
    result.cached_tasks = last.tasks
    result.formats = dict(last.formats)
    result.published = result.unchanged = True
    result.out_dir = options.out_dir
    return True


def build(options: BuildOptions) -> BuildResult:
    """Build (see the module's docstring). A file of the cache found damaged when its bytes
    are read (they are read lazily: see Artifact.stored) is removed, and the build starts
    again: the task it belonged to is then rendered anew."""
    try:
        for _attempt in range(10):
            try:
                return _build(options)
            except CacheDamaged as damaged:
                Path(damaged.path).unlink(missing_ok=True)
        return _build(options)
    finally:
        gc.unfreeze()  # see _build: the site's objects are frozen while it is built


def _build(options: BuildOptions) -> BuildResult:
    started = time.perf_counter()
    diagnostics = Diagnostics()
    result = BuildResult(diagnostics)
    progress = options.progress
    store = Store(options.cache_root)
    store.use_for_templates()
    last = stamp.load(store)
    key = ""
    sources: FileTable = {}
    no_links = False
    if store.root is not None:
        progress.stage("checking what changed")
        try:
            key, sources, no_links = inputs_key(options, last.sources if last else None)
        except OSError:
            key = ""  # a file could not be read: the usual path will say which
        if key and _unchanged(options, last, key, result):
            result.seconds = time.perf_counter() - started
            return result
    progress.stage("reading the content")
    site = load_site(options.content_dir, diagnostics, options.config_path, store, sources,
                     no_links)
    if site is None:
        return result
    # The site is millions of small objects that live as long as the build: the cycle collector
    # scanned them again and again for nothing (~0.2 s of an edit's rebuild). Frozen, it leaves
    # them alone (they are still freed by reference counting; the loader collected its parses'
    # garbage before, see load_site); build() unfreezes them at its end.
    gc.freeze()
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
    try:
        _finish(outcome, site, options, store, last, key, sources, result)
    finally:
        # never leave Pagefind running behind a build that stopped early
        outcome.finish_unread()
    result.seconds = time.perf_counter() - started
    return result


def _finish(outcome: Outcome, site: Site, options: BuildOptions, store: Store,
            last: stamp.Stamp | None, key: str, sources: FileTable, result: BuildResult) -> None:
    """Everything after the rendering: the output assembled beside the published one, the
    unread site outputs (the search index) added when they are ready, the audit and the
    reports, and the swap."""
    diagnostics = result.diagnostics
    progress = options.progress
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
        return
    seen = check_paths(artifacts)
    clean_stale_staging(options.out_dir)
    previous = Published.of(options.out_dir, last)
    progress.stage("writing")
    staging, written, reused = _assemble(options.out_dir, artifacts, previous)
    spare_copy: threading.Thread | None = None
    try:
        if options.audit:  # the audit reads the search index too (the search page loads it)
            written += _take_unread(outcome, result, staging, previous, seen)
        reports, written_reports = audit_and_report(site, options, staging, artifacts, result,
                                                    store, previous)
        if not options.audit:  # the reports do not list it: made while they were
            written += _take_unread(outcome, result, staging, previous, seen)
        artifacts += reports
        check_paths(reports, seen)
        if reused or options.audit:
            # a new tree holds only what was written to it, unless the reports were written
            # twice (before and after their own audit)
            remove_others(staging, {a.path for a in artifacts} | {"manifest.json"})
        manifest_bytes = manifest(artifacts, build_time(site))
        written += write_tree(staging, [Artifact("manifest.json", manifest_bytes,
                                                 "application/json", "manifest")], previous)
        result.artifacts = artifacts
        if diagnostics.has_errors() or result.gate_failures:
            if result.gate_failures:
                # keep the rejected build beside the published one, for inspection
                kept = options.out_dir.with_name(f"{options.out_dir.name}.rejected")
                shutil.rmtree(kept, ignore_errors=True)
                staging.rename(kept)
                result.kept_dir = kept
            else:
                _set_aside(staging, options.out_dir)
        elif written + written_reports == 0:
            _set_aside(staging, options.out_dir)  # nothing changed: leave every file alone
            result.published = result.unchanged = True
            result.out_dir = options.out_dir
        else:
            first = not options.out_dir.exists()
            publish(staging, options.out_dir)
            result.published = True
            result.out_dir = options.out_dir
            if first and store.root is not None:
                # no old output to keep as the spare: a copy of links, made while the stamp
                # and the cache are written
                spare_copy = threading.Thread(target=_make_spare, args=(
                    options.out_dir, [a.path for a in artifacts] + ["manifest.json"]))
                spare_copy.start()
        result.formats = file_counts(artifacts)
        if result.published and key:
            stamp.record(store, key, options.out_dir, (a.path for a in artifacts),
                         services=result.services, languages=result.languages,
                         tasks=outcome.cached + outcome.rendered, formats=result.formats,
                         audited=result.audited, diagnostics=diagnostics.items,
                         findings=result.findings, sources=sources)
        store.prune()
    except BaseException:
        _set_aside(staging, options.out_dir)
        raise
    finally:
        if spare_copy is not None:
            spare_copy.join()


def _take_unread(outcome: Outcome, result: BuildResult, staging: Path,
                 previous: Published, seen: set[str]) -> int:
    """The writers' unread site outputs (the search index), waited for, joined to the build's
    artifacts and written into the tree; returns how many files were written."""
    before = len(outcome.diagnostics)
    made = outcome.finish_unread()
    result.diagnostics.extend(outcome.diagnostics[before:])
    result.failed_tasks = outcome.failed
    result.slowest = outcome.timings[:5]
    check_paths(made, seen)
    return write_tree(staging, made, previous)


def _make_spare(out_dir: Path, paths: Sequence[str]) -> None:
    """The spare tree after a first build (there was no old output to keep): every published
    file hard-linked into a new tree. Made under a staging name, so that a build killed
    meanwhile leaves nothing the next one would mistake for a spare; it is only an
    optimisation (the first rebuild then updates it instead of making every folder anew), so
    any failure just leaves no spare. About 0.3 s for a thousand services in three languages,
    on a second thread while the first build writes its stamp and cache."""
    scratch = staging_dir(out_dir)
    copy = os.path.join(scratch, "copy")
    source = os.fspath(out_dir)
    try:
        for path in paths:
            _in_folder(os.link, os.path.join(source, path), os.path.join(copy, path))
        os.rename(copy, spare_dir(out_dir))  # fails if a spare is there: this one goes
    except OSError:
        pass
    with contextlib.suppress(OSError):
        if os.listdir(scratch):
            discard(scratch, out_dir)  # the copy was not completed
        else:
            scratch.rmdir()


def _assemble(out_dir: Path, artifacts: Sequence[Artifact], previous: Published
              ) -> tuple[Path, int, bool]:
    """A tree beside the output holding the artifacts: the spare tree updated, or a new one
    (when there is no spare, or it cannot be updated: something unexpected in it). Returns the
    tree, how many files were written rather than linked, and whether it was the spare."""
    spare = _reusable_spare(out_dir)
    if spare is not None:
        try:
            return spare, write_tree(spare, artifacts, previous), True
        except OSError:
            discard(spare, out_dir)
    staging = staging_dir(out_dir)
    try:
        return staging, write_tree(staging, artifacts, previous), False
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _set_aside(tree: Path, out_dir: Path) -> None:
    """A tree that was not published: kept as the spare (the next build checks every entry of
    it again), or removed when a spare is there already."""
    if tree.exists():
        _keep_spare(tree, out_dir)


def file_counts(artifacts: Sequence[Artifact]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for artifact in artifacts:
        counts[artifact.format] = counts.get(artifact.format, 0) + 1
    return dict(sorted(counts.items()))


def audit_and_report(
    site: Site,
    options: BuildOptions,
    staging: Path,
    artifacts: list[Artifact],
    result: BuildResult,
    store: Store,
    previous: Published,
) -> tuple[list[Artifact], int]:
    """Audit what was written to ``staging``, then write the reports and statements (which are
    pages too, so they are audited in turn and the report is written again with their results).
    Returns the report artifacts and how many of their files were written, not linked."""
    from publisher.audit import fail_on_levels, gate, inputs_for_build, run_audits
    from publisher.audits import AuditContext, AuditInput
    from publisher.audits.markup import AUDIT as MARKUP_AUDIT
    from publisher.reports import render_reports

    diagnostics = result.diagnostics
    contexts = site_contexts(site, options.content_dir, diagnostics, options.formats_dir)
    findings: list[Finding] = []
    paths = sorted(a.path for a in artifacts)
    ctx = AuditContext(site.config, staging, build_time(site))
    inputs: list[AuditInput] = []
    if options.audit:
        options.progress.stage("auditing every output")
        inputs = inputs_for_build(staging, artifacts, site.documents)
        # the markup of every page is validated in the second round, with the report's pages:
        # the validator then starts once (~2 s of CPU on Java each time it starts)
        findings = run_audits(inputs, ctx, diagnostics, store=store, paths=paths,
                              skip=(MARKUP_AUDIT.name,))
    reports = render_reports(site, contexts, artifacts, findings, options.audit, store)
    written = write_tree(staging, reports, previous)
    if options.audit:
        pages = [a for a in reports if a.media_type.startswith("text/html")]
        every_path = sorted(paths + [a.path for a in reports])
        findings += run_audits(inputs_for_build(staging, pages, {}), ctx, diagnostics,
                               store=store, paths=every_path, extra={MARKUP_AUDIT.name: inputs})
        findings.sort(key=lambda f: (f.artifact, f.check, f.locator, f.outcome))
        # with the first reports' artifacts: their findings are then summarised in their own
        # language (the statements are in each language, the report in the default one)
        reports = render_reports(site, contexts, [*artifacts, *reports], findings,
                                 options.audit, store)
        written = write_tree(staging, reports, previous)
        result.gate_failures = gate(findings, fail_on_levels(options.fail_on, site.config))
    result.findings = findings
    result.audited = options.audit
    return reports, written
