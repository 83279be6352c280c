"""The build plan and its execution: independent tasks, cached, run on every core or on Dask.

In: the loaded site, the chosen writers and a :class:`~publisher.cache.Store`. Out: every
artifact, the diagnostics the writers reported, the number of failed tasks and timings.

The plan has one task per (service, language, format) and one per format's site-wide pages.
Each task's cache key is the sha256 of everything it depends on: the source file (and the images
it shows), which translations of the service exist and the source revision they translate, the
site configuration, the writer's templates and assets (``formats/<name>/``), its engines'
versions, the project's own code, the build time — and, for pages that list the other formats,
those formats' bytes. A page writer's task runs once the service's other formats are done.

Execution: in this process (``jobs=1``), in a pool of forked processes (the default; workers
inherit the parsed site), or on a Dask cluster (``scheduler='tcp://…'``), whose workers load the
same content folder themselves.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import gc
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from publisher.cache import Store, code_version, digest, folder_digest
from publisher.config import SiteConfig
from publisher.diagnostics import Diagnostic, Diagnostics, Severity
from publisher.i18n import Locale
from publisher.model import Document
from publisher.writers import (
    Artifact,
    Memo,
    Options,
    RenderContext,
    Site,
    Writer,
    compute_now,
    registry,
)


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


@dataclass
class TaskResult:
    task: Task
    artifacts: list[Artifact]
    diagnostics: list[Diagnostic]
    missing_strings: set[str]
    seconds: float
    failed: bool = False
    cached: bool = False


@dataclass(frozen=True)
class BuildSpec:
    """Everything a worker needs to rebuild the same state on its own (Dask workers)."""

    content_dir: Path
    config_path: Path | None
    templates: Path
    formats: tuple[str, ...]
    build_time: dt.datetime


@dataclass
class _State:
    spec: BuildSpec
    site: Site
    writers: dict[str, tuple[Writer, Options]]


_STATE: _State | None = None  # set in the parent before forking, or loaded by a Dask worker


def _state_for(spec: BuildSpec) -> _State:
    global _STATE
    if _STATE is None or _STATE.spec != spec:
        from publisher.load import load_site

        diagnostics = Diagnostics()
        site = load_site(spec.content_dir, diagnostics, spec.config_path)
        if site is None:
            raise RuntimeError("the content changed under the build: "
                               + "; ".join(d.format() for d in diagnostics.errors))
        writers = {name: (registry()[name], registry()[name].options_model.model_validate(
            site.config.format_options(name))) for name in spec.formats}
        _STATE = _State(spec, site, writers)
    return _STATE


def render_task(spec: BuildSpec, task: Task, alternates: tuple[Artifact, ...]) -> TaskResult:
    """Run one per-document task (in whatever process this is)."""
    state = _state_for(spec)
    writer, options = state.writers[task.writer]
    assert task.service is not None and task.lang is not None
    doc = state.site.documents[(task.service, task.lang)]
    ctx = _context(state, task.lang, options, alternates)
    started = time.perf_counter()
    try:
        artifacts = writer.render(doc, ctx)
        failed = False
    except Exception as exc:  # a bug or an engine failure: report it, go on with the rest
        artifacts, failed = [], True
        ctx.diagnostics.add(_failure(task, exc, doc))
    return TaskResult(task, artifacts, list(ctx.diagnostics), set(ctx.locale.missing),
                      time.perf_counter() - started, failed)


def _memo(store: Store, writer_key: str, locales: Mapping[str, Locale]) -> Memo:
    """A writer's memo (see :class:`RenderContext`) backed by the build's cache. The interface
    strings the computation found missing from the catalogues (of the pass's ``locales``: a
    computation may read any language's) are kept with its value, and recorded again when the
    value is taken from the cache: the build warns of them each time, not only when it
    computes."""

    def memo(key: str, compute: Callable[[], Any]) -> Any:
        full = digest("memo", writer_key, key)
        kept = store.get_object("memo", full)
        if isinstance(kept, tuple) and len(kept) == 2 and isinstance(kept[1], dict):
            value, missing = kept
        else:
            before = {lang: set(locale.missing) for lang, locale in locales.items()}
            value = compute()
            missing = {}
            for lang, locale in locales.items():
                new = locale.missing - before[lang]
                if new:
                    missing[lang] = sorted(new)
            store.put_object("memo", full, (value, missing))
        for lang, strings in missing.items():
            locales[lang].missing.update(strings)
        return value

    return memo


def _locale(config: SiteConfig, lang: str) -> Locale:
    return Locale(lang, config.language(lang).direction)


def _context(state: _State, lang: str, options: Options,
             alternates: tuple[Artifact, ...] = (), memo: Memo = compute_now,
             locale: Locale | None = None) -> RenderContext:
    config = state.site.config
    return RenderContext(
        config=config,
        language=config.language(lang),
        locale=locale or _locale(config, lang),
        build_time=state.spec.build_time,
        formats_dir=state.spec.templates,
        content_dir=state.spec.content_dir,
        site=state.site,
        options=options,
        diagnostics=Diagnostics(),
        alternates=alternates,
        memo=memo,
    )


def _failure(task: Task, exc: BaseException, doc: Document | None) -> Diagnostic:
    return Diagnostic(
        "B001", Severity.ERROR,
        f"the {task.writer} output failed: {type(exc).__name__}: {exc}",
        doc.span if doc else None,
        "this is a fault in publisher or its engines, not in your text; please report it "
        "with this message",
    )


# ---------------------------------------------------------------- cache keys


class Keys:
    """Cache keys for the tasks of one build."""

    def __init__(self, state: _State) -> None:
        site = state.site
        self.state = state
        config_json = site.config.model_dump_json()
        self.base = digest(code_version(), config_json, state.spec.build_time.isoformat())
        self.writer_keys: dict[str, str] = {}
        for name, (writer, options) in state.writers.items():
            assets = getattr(writer, "assets", (name,))
            self.writer_keys[name] = digest(
                self.base, name, writer.engine_version(), options.model_dump_json(),
                *(folder_digest(state.spec.templates / folder) for folder in assets),
            )
        self._images: dict[str, str] = {}

    def _image(self, src: str) -> str:
        if src not in self._images:
            path = self.state.spec.content_dir / src
            self._images[src] = digest(path.read_bytes()) if path.is_file() else "missing"
        return self._images[src]

    def document(self, task: Task, doc: Document, alternates: Sequence[Artifact]) -> str:
        site = self.state.site
        translations = site.translations(doc.id)
        source = translations.get(site.config.default_language)
        return digest(
            self.writer_keys[task.writer], doc.lang, doc.fingerprint,
            # joined strings where they can be: JSON for a key a task is ~20 µs each
            " ".join(sorted(translations)), source.fingerprint if source else "",
            " ".join(self._image(src) for src in doc.images),
            [(a.path, a.sha256, dict(a.meta)) for a in alternates] if alternates else "",
        )


# ---------------------------------------------------------------- running the plan


ProgressCallback = Callable[[Task, float], None]


#: what a site pass made, its contexts (their diagnostics), its failure, and its seconds
_Pass = tuple[list[Artifact], dict[str, RenderContext], Diagnostic | None, float]


@dataclass
class Outcome:
    artifacts: list[Artifact] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    missing: dict[str, set[str]] = field(default_factory=dict)
    failed: int = 0
    timings: list[tuple[str, float]] = field(default_factory=list)
    cached: int = 0
    rendered: int = 0
    rendered_tasks: list[Task] = field(default_factory=list)  # what was not taken from the cache
    #: the writers' unread site outputs, still being made (see Writer.render_unread)
    unread: list[tuple[str, Future[_Pass]]] = field(default_factory=list)

    def finish_unread(self) -> list[Artifact]:
        """Wait for the unread site outputs; they join the artifacts (and are returned), their
        diagnostics and failures the outcome's."""
        produced: list[Artifact] = []
        for name, future in self.unread:
            made, contexts, failure, elapsed = future.result()
            self._took(name, made, contexts, failure)
            self.timings.append((f"{Task(name, None, None).describe()} (index)", elapsed))
            produced += made
        self.unread.clear()
        self.timings.sort(key=lambda item: -item[1])
        return produced

    def _took(self, name: str, produced: list[Artifact], contexts: dict[str, RenderContext],
              failure: Diagnostic | None) -> None:
        if failure is not None:
            self.failed += 1
            self.diagnostics.append(failure)
        for lang, ctx in contexts.items():
            self.diagnostics.extend(ctx.diagnostics)
            self.missing.setdefault(lang, set()).update(ctx.locale.missing)
        self.artifacts.extend(produced)


class Executor:
    """Where tasks run: submit returns a future-like object with ``result()``."""

    def submit(self, spec: BuildSpec, task: Task, alternates: tuple[Artifact, ...]) -> Any:
        raise NotImplementedError

    def wait_any(self, pending: set[Any]) -> set[Any]:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        return set(done)

    def close(self) -> None: ...


class InProcess(Executor):
    def submit(self, spec: BuildSpec, task: Task, alternates: tuple[Artifact, ...]) -> Any:
        future: Future[TaskResult] = Future()
        try:
            future.set_result(render_task(spec, task, alternates))
        except BaseException as exc:
            future.set_exception(exc)
        return future


#: glibc's mallopt parameters
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4


def keep_heap() -> None:
    """A render worker's malloc (glibc's) serves large blocks from its heap and keeps what they
    free for the next ones, until the worker ends with the rendering.

    An audio notice's arrays are tens of MB (five minutes of float64 is 50 MB), over glibc's
    mmap threshold (32 MB at most): each was mapped afresh, zeroed page by page by the kernel
    and unmapped when freed, and mastering, meters and decoder make dozens of them a notice.
    On the 10-service benchmark catalogue (30 notices) that cost the audio writer 6.5 s of
    system time; kept in the heap, 3 s, and its own CPU time fell from 23.8 s to 20.8 s. A
    worker then holds the memory of its largest notice (~300 MB) until the pool closes, as it
    did while making it. Only our own pool's workers do this: a long-lived Dask worker gives
    its memory back as usual. Speed is all that depends on it; no library sets glibc's
    allocator options, and elsewhere than glibc this does nothing."""
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return
    if hasattr(libc, "mallopt"):
        libc.mallopt(_M_MMAP_MAX, 0)
        libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)


class Processes(Executor):
    """Forked worker processes: they inherit the parsed site instead of parsing it again."""

    def __init__(self, jobs: int) -> None:
        context = multiprocessing.get_context("fork")
        # The workers share the parsed site with this process, page for page, until either
        # writes to one. The cycle collector writes to every object it scans; frozen, it leaves
        # them alone, and each process copies only the pages of the objects it uses (on a
        # thousand services, 360 MiB less a worker).
        gc.freeze()
        self.pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context,
                                        initializer=keep_heap)
        # start every worker now, before a progress bar's thread exists in this process
        for future in [self.pool.submit(os.getpid) for _ in range(jobs)]:
            future.result()

    def submit(self, spec: BuildSpec, task: Task, alternates: tuple[Artifact, ...]) -> Any:
        return self.pool.submit(render_task, spec, task, alternates)

    def close(self) -> None:
        # what was frozen stays so until the build ends (build.build unfreezes it)
        self.pool.shutdown(wait=True, cancel_futures=True)


class DaskCluster(Executor):
    """A Dask distributed scheduler: its workers must see the same content folder."""

    def __init__(self, address: str) -> None:
        from distributed import Client

        # the default client for this build: distributed's wait() looks it up
        self.client = Client(address, set_as_default=True, timeout=30)  # type: ignore[no-untyped-call]

    def submit(self, spec: BuildSpec, task: Task, alternates: tuple[Artifact, ...]) -> Any:
        return self.client.submit(render_task, spec, task, alternates, pure=False)

    def wait_any(self, pending: set[Any]) -> set[Any]:
        from distributed import wait as dask_wait

        done, _ = dask_wait(list(pending), return_when="FIRST_COMPLETED")  # type: ignore[no-untyped-call]
        return set(done)

    def close(self) -> None:
        self.client.close()  # type: ignore[no-untyped-call]


def executor_for(jobs: int, scheduler: str | None) -> Executor:
    if scheduler:
        return DaskCluster(scheduler)
    if jobs <= 1:
        return InProcess()
    return Processes(jobs)


def run_plan(
    site: Site,
    writers: dict[str, tuple[Writer, Options]],
    spec: BuildSpec,
    store: Store,
    executor_factory: Callable[[], Executor],
    progress: ProgressCallback,
    start: Callable[[int], None],
) -> Outcome:
    """Render every per-document task (cached ones are taken from the store), then every
    format's site pages in this process."""
    global _STATE
    _STATE = _State(spec, site, writers)
    keys = Keys(_STATE)
    outcome = Outcome()
    docs = [site.documents[key] for key in sorted(site.documents)]
    # the longest first (see Writer.task_cost), each over every document
    first = sorted((name for name, (w, _) in writers.items()
                    if w.per_document and not w.lists_alternates),
                   key=lambda name: (-writers[name][0].task_cost, name))
    pages = [name for name, (w, _) in sorted(writers.items())
             if w.per_document and w.lists_alternates]
    start(len(docs) * (len(first) + len(pages)) + len(writers))
    # per (service, language), what each writer produced: pages list it in writer order, never
    # in the order parallel tasks happened to finish
    per_doc: dict[tuple[str, str], dict[str, list[Artifact]]] = {}
    waiting: dict[tuple[str, str], int] = {(d.id, d.lang): len(first) for d in docs}
    executor: Executor | None = None
    pending: dict[Any, tuple[Task, str]] = {}
    # tasks not in the cache, submitted together (see submit_missed)
    missed: list[tuple[Task, tuple[Artifact, ...], str]] = []

    def record(result: TaskResult, key: str) -> None:
        outcome.artifacts.extend(result.artifacts)
        outcome.diagnostics.extend(result.diagnostics)
        if result.task.lang:
            outcome.missing.setdefault(result.task.lang, set()).update(result.missing_strings)
        outcome.timings.append((result.task.describe(), result.seconds))
        if result.failed:
            outcome.failed += 1
        elif not result.cached:
            store.put_artifacts(key, result.artifacts, result.diagnostics,
                                result.missing_strings)
        if result.cached:
            outcome.cached += 1
        else:
            outcome.rendered += 1
            outcome.rendered_tasks.append(result.task)
        progress(result.task, result.seconds)

    def schedule(task: Task) -> None:
        nonlocal executor
        assert task.service is not None and task.lang is not None
        doc = site.documents[(task.service, task.lang)]
        alternates: tuple[Artifact, ...] = ()
        if writers[task.writer][0].lists_alternates:
            produced = per_doc.get((doc.id, doc.lang), {})
            alternates = tuple(a for name in sorted(produced) for a in produced[name])
        key = keys.document(task, doc, alternates)
        cached = store.get_artifacts(key)
        if cached is not None:
            finished(TaskResult(task, *cached, 0.0, cached=True), key)
            return
        missed.append((task, alternates, key))

    def submit_missed() -> None:
        """Send the missed tasks to the executor, made the first time there are some. A lone
        task with nothing else to wait for (an edit) is rendered here: forking workers for it
        costs more than rendering it."""
        nonlocal executor
        while missed:
            if executor is None and len(missed) == 1 and not pending:
                task, alternates, key = missed.pop()
                pending[InProcess().submit(spec, task, alternates)] = (task, key)
                return
            if executor is None:
                executor = executor_factory()
            for task, alternates, key in missed:
                pending[executor.submit(spec, task, alternates)] = (task, key)
            missed.clear()

    def finished(result: TaskResult, key: str) -> None:
        record(result, key)
        task = result.task
        assert task.service is not None and task.lang is not None
        doc_key = (task.service, task.lang)
        if not writers[task.writer][0].lists_alternates:
            per_doc.setdefault(doc_key, {})[task.writer] = result.artifacts
            waiting[doc_key] -= 1
            if waiting[doc_key] == 0:
                for name in pages:
                    schedule(Task(name, task.service, task.lang))

    try:
        for doc in docs:
            if not first:
                for name in pages:
                    schedule(Task(name, doc.id, doc.lang))
        for name in first:
            for doc in docs:
                schedule(Task(name, doc.id, doc.lang))
        submit_missed()
        while pending:
            for future in (executor or InProcess()).wait_any(set(pending)):
                task, key = pending.pop(future)
                try:
                    result = future.result()
                except Exception as exc:  # the worker itself died
                    source = site.get(task.service or "", task.lang or "")
                    result = TaskResult(task, [], [_failure(task, exc, source)], set(), 0.0,
                                        True)
                finished(result, key)
            submit_missed()
    finally:
        if executor is not None:
            executor.close()
    outcome.artifacts.sort(key=lambda a: a.path)
    # the outputs nobody reads (the search index, which needs the service pages only) are made
    # on threads of their own from now on, beside the site passes and while the build goes on
    seen = tuple(outcome.artifacts)
    for name, (writer, _) in sorted(writers.items()):
        if writer.renders_unread:
            later = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{name}-unread")
            outcome.unread.append((name, later.submit(
                _site_pass, name, writers[name], site, store, keys.writer_keys[name], seen,
                unread=True)))
            later.shutdown(wait=False)
    # the site passes, in turns by site_order; the passes of one turn run side by side (the
    # search pages beside the website's lists), and what they make
    # is taken in writer order, whichever finished first
    turns: dict[int, list[str]] = {}
    for name, (writer, _) in sorted(writers.items()):
        turns.setdefault(writer.site_order, []).append(name)
    for order in sorted(turns):
        names = turns[order]
        seen = tuple(outcome.artifacts)
        with ThreadPoolExecutor(max_workers=len(names)) as pool:
            passes = [(name, pool.submit(_site_pass, name, writers[name], site, store,
                                         keys.writer_keys[name], seen)) for name in names]
            for name, done in passes:
                produced, contexts, failure, elapsed = done.result()
                outcome._took(name, produced, contexts, failure)
                outcome.timings.append((Task(name, None, None).describe(), elapsed))
                progress(Task(name, None, None), elapsed)
    outcome.timings.sort(key=lambda item: -item[1])
    return outcome


def _site_pass(name: str, chosen: tuple[Writer, Options], site: Site, store: Store,
               writer_key: str, artifacts: tuple[Artifact, ...], unread: bool = False) -> _Pass:
    """One writer's site-wide pages (or, with ``unread``, its unread site outputs)."""
    writer, options = chosen
    assert _STATE is not None
    # one memo for the pass, which knows every language's locale (see _memo)
    locales = {lang: _locale(site.config, lang) for lang in site.config.language_codes}
    memo = _memo(store, writer_key, locales)
    contexts = {lang: _context(_STATE, lang, options, memo=memo, locale=locale)
                for lang, locale in locales.items()}
    started = time.perf_counter()
    failure = None
    try:
        render = writer.render_unread if unread else writer.render_site
        produced = render(site, contexts, artifacts)
    except Exception as exc:
        produced = []
        failure = _failure(Task(name, None, None), exc, None)
    return produced, contexts, failure, time.perf_counter() - started


def iter_missing(outcome: Outcome) -> Iterator[tuple[str, str]]:
    for lang in sorted(outcome.missing):
        for message in sorted(outcome.missing[lang]):
            yield lang, message
