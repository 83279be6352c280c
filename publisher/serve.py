"""``publish serve``: preview the output on localhost, rebuilding once per real change.

In: the build options, a host and a port. Out: an HTTP server on that address serving the
published output, and a watcher (watchdog) on the content folder, the formats folder and the
configuration. The watcher gathers the events of one save (an editor's save is several events:
a swap file, a temporary file renamed over the source, a change of attributes), waits until they
stop, and then compares the files those events name with their last known content digests: only
a file whose bytes changed starts a build, so reading a file (inotify reports that too), touching
it or saving it unchanged starts nothing, and the build's own writes (the output, the cache and
the spare tree beside it) are not even looked at.

Each build gives a :class:`Rebuild`: what changed, what was rendered, how long it took, and the
problems that are new since the last build, still open, or resolved — the CLI prints it; nothing
here prints. Open pages reload themselves when a build published something new or its problems
changed: HTML responses get a small script that polls ``/__publisher/build`` and — in the preview
only — a Content-Security-Policy that allows that one script from the site itself. A page whose
source has problems (and, with ``--audit``, a page with failed audit findings) also gets a panel
listing them with file, line and what to do: plain HTML and a stylesheet from the preview, no
script. A failed build keeps the previous output on screen, with its errors over it. The
published files themselves never hold any of this.
"""

from __future__ import annotations

import hashlib
import html
import http.server
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from publisher.audits import Finding
from publisher.build import BuildOptions, BuildResult, build, formats_dir
from publisher.diagnostics import Diagnostic, Severity, display_path

RELOAD_PATH = "/__publisher/reload.js"
BUILD_PATH = "/__publisher/build"
OVERLAY_CSS_PATH = "/__publisher/problems.css"
OVERLAY_ID = "publisher-problems"
RELOAD_SCRIPT = b"""// publish serve: reload this page when a new build is published
(function () {
  var seen = null;
  function poll() {
    fetch('/__publisher/build', {cache: 'no-store'}).then(function (r) { return r.text(); })
      .then(function (id) {
        if (seen !== null && id !== seen) { location.reload(); }
        seen = id;
      }).catch(function () {}).finally(function () { setTimeout(poll, 700); });
  }
  poll();
})();
"""
# Logical properties, so that the panel sits right on right-to-left pages too; the colours keep
# a contrast above 7:1 (#1b1b1b on #fff8e5, #8a1c00 on #fff8e5).
OVERLAY_CSS = b"""/* publish serve: the problems of this page (preview only) */
#publisher-problems { position: sticky; inset-block-start: 0; z-index: 2147483647;
  max-block-size: 45vh; overflow: auto; margin: 0; padding: 0.75rem 1rem;
  background: #fff8e5; color: #1b1b1b; border-block-end: 4px solid #8a1c00;
  font: 1rem/1.4 system-ui, sans-serif; text-align: start; }
#publisher-problems:focus { outline: 3px solid #1b1b1b; outline-offset: -3px; }
#publisher-problems .publisher-problems-title { margin: 0 0 0.5rem; font-weight: bold; }
#publisher-problems ul { margin: 0; padding-inline-start: 1.25rem; }
#publisher-problems li { margin-block-end: 0.35rem; }
#publisher-problems .publisher-error { color: #8a1c00; font-weight: bold; }
#publisher-problems code { font: inherit; font-family: ui-monospace, monospace; }
"""
_CSP = re.compile(rb'(<meta http-equiv="Content-Security-Policy" content=")([^"]*)(")')
_BODY = re.compile(rb"<body\b[^>]*>")

#: the events that say a file's bytes or its name may have changed (watchdog also reports a
#: file opened or closed without writing: the build reading the sources, which looped it)
CHANGE_EVENTS = frozenset({"created", "modified", "deleted", "moved", "closed"})
#: editors' swap, backup and lock files, which are never inputs of the build
_SWAP_SUFFIXES = (".swp", ".swx", ".swo", ".swn", "~", ".tmp", ".bak", ".orig", ".kate-swp")
_SWAP_NAMES = frozenset({"4913", ".DS_Store", "Thumbs.db"})  # 4913: vim's can-I-write probe
_IGNORED_FOLDERS = frozenset({".git", ".hg", ".svn", "__pycache__", "node_modules", ".idea",
                              ".vscode"})


def is_editor_litter(name: str) -> bool:
    """Whether a file name is an editor's swap, backup, lock or probe file."""
    return (name in _SWAP_NAMES or name.endswith(_SWAP_SUFFIXES) or name.startswith(".#")
            or (name.startswith("#") and name.endswith("#")) or name.startswith(".goutputstream"))


@dataclass(frozen=True)
class Rebuild:
    """What one preview build did, for the terminal: the inputs that changed (empty for the
    first build), the build's result, and the problems compared with the last build."""

    changed: tuple[str, ...]
    result: BuildResult
    new: tuple[Diagnostic, ...]  # problems the last build did not have
    still_open: int  # problems the last build had too (shown then, not again)
    resolved: int  # problems of the last build that are gone
    new_findings: tuple[Finding, ...] = ()  # failed audit findings the last build did not have


def _problem_key(d: Diagnostic) -> tuple[str, str, str, int, int]:
    span = d.span
    return (d.code, d.message, span.path if span else "", span.line if span else 0,
            span.column if span else 0)


def _finding_key(f: Finding) -> tuple[str, str, str, str]:
    return (f.artifact, f.check, f.locator, f.message)


class Inputs:
    """The content digests of the watched files: what tells a real change from an event."""

    def __init__(self, folders: Iterable[Path], ignored: Callable[[Path], bool]) -> None:
        self.folders = sorted({folder.resolve() for folder in folders})
        self.ignored = ignored
        self.digests: dict[Path, str] = {}
        for folder in self.folders:
            for path in self._files_under(folder):
                sha = _digest(path)
                if sha is not None:
                    self.digests[path] = sha

    def _files_under(self, folder: Path) -> list[Path]:
        found: list[Path] = []
        for directory, folders, files in os.walk(folder):
            here = Path(directory)
            folders[:] = [name for name in folders if not self.ignored(here / name)]
            found.extend(here / name for name in files if not self.ignored(here / name))
        return found

    def changed(self, paths: Iterable[Path]) -> list[Path]:
        """Of the files (or folders) ``paths`` named by events, those whose bytes differ from
        their last known digest (made, removed or rewritten); the digests are updated."""
        candidates: set[Path] = set()
        for path in paths:
            if path.is_dir():
                candidates.update(self._files_under(path))
            candidates.add(path)
            # a folder removed or renamed away: the files known under it
            candidates.update(known for known in self.digests if known.is_relative_to(path))
        changes: list[Path] = []
        for path in sorted(candidates):
            if path.is_dir() or self.ignored(path):
                continue
            sha = _digest(path)
            if sha != self.digests.get(path):
                changes.append(path)
                if sha is None:
                    self.digests.pop(path, None)
                else:
                    self.digests[path] = sha
        return changes


def _digest(path: Path) -> str | None:
    try:
        with open(path, "rb") as source:
            return hashlib.file_digest(source, "sha256").hexdigest()
    except OSError:  # gone, a folder, unreadable for the moment: no file to compare
        return None


@dataclass
class Preview:
    """The state shared by the server, the watcher and the builder."""

    options: BuildOptions
    report: Callable[[Rebuild], None]
    #: changes when the open pages should reload: new output, or other problems to show
    build_id: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    dirty: threading.Event = field(default_factory=threading.Event)
    stopped: threading.Event = field(default_factory=threading.Event)
    events_lock: threading.Lock = field(default_factory=threading.Lock)
    pending: set[Path] = field(default_factory=set)  # named by events since the last look
    last_event: float = 0.0
    inputs: Inputs | None = None
    problems: list[Diagnostic] = field(default_factory=list)  # of the last build
    #: the problems printed and not resolved since (a failed build does not resolve any)
    shown: set[tuple[str, str, str, int, int]] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)  # failed, of the last audited build
    failed: bool = False  # the last build did not publish: the pages shown are older
    _ids: dict[str, tuple[str, str] | None] = field(default_factory=dict)

    def rebuild(self, changed: Sequence[str] = ()) -> Rebuild:
        with self.lock:
            result = build(self.options)
            before = self.shown
            now = result.diagnostics.sorted()
            keys = {_problem_key(d) for d in now}
            failed_findings = [f for f in result.findings if f.outcome == "failed"]
            seen_findings = {_finding_key(f) for f in self.findings}
            rebuild = Rebuild(
                tuple(changed), result,
                tuple(d for d in now if _problem_key(d) not in before),
                len(keys & before),
                # a failed build stops before the later checks: their problems are not gone
                len(before - keys) if result.published else 0,
                tuple(f for f in failed_findings if _finding_key(f) not in seen_findings),
            )
            self.shown = keys if result.published else keys | before
            shown_before = (self.problems, self.findings, self.failed)
            self.problems = now
            if result.audited:
                # a build the audit gate refused was audited too: its findings are why the
                # page did not change, shown over the page last published. A build stopped by
                # errors was not audited: the last audited build's findings still stand.
                self.findings = failed_findings
            self.failed = not result.published
            self._ids.clear()
            if ((result.published and not result.unchanged)
                    or shown_before != (self.problems, self.findings, self.failed)):
                self.build_id += 1
        self.report(rebuild)
        return rebuild

    def note(self, paths: Iterable[Path]) -> None:
        """Events of the watcher: remembered, and the builder woken."""
        with self.events_lock:
            self.pending.update(paths)
            self.last_event = time.monotonic()
        self.dirty.set()

    def builder_loop(self, quiet_seconds: float = 0.3, longest_wait: float = 3.0) -> None:
        while not self.stopped.is_set():
            self.dirty.wait()  # no timer: an idle preview uses no CPU at all
            if self.stopped.is_set():
                return
            # the events of one save come within milliseconds: wait until they stop (but not
            # for ever while a tool keeps writing)
            first = time.monotonic()
            while (time.monotonic() - self.last_event < quiet_seconds
                   and time.monotonic() - first < longest_wait):
                time.sleep(quiet_seconds / 3)
            with self.events_lock:
                self.dirty.clear()
                paths, self.pending = self.pending, set()
            assert self.inputs is not None
            changed = self.inputs.changed(paths)
            if changed and not self.stopped.is_set():
                self.rebuild([display_path(path) for path in changed])

    # --- what a page shows ------------------------------------------------------------------

    def page_problems(self, page: str) -> tuple[list[Diagnostic], list[Finding], list[Diagnostic]]:
        """For the output page ``page`` (e.g. ``en/sample/index.html``): the problems of its
        source, its failed audit findings, and — when the last build failed — the errors that
        stopped it elsewhere (in other files, the configuration or the templates)."""
        own: list[Diagnostic] = []
        elsewhere: list[Diagnostic] = []
        parts = page.split("/")
        service = (parts[0], parts[1]) if len(parts) == 3 and parts[2] == "index.html" else None
        for problem in self.problems:
            if problem.severity is Severity.INFO:
                continue
            if service is not None and problem.span is not None and \
                    self._service_of(problem.span.path) == service:
                own.append(problem)
            elif self.failed and problem.severity is Severity.ERROR:
                elsewhere.append(problem)
        findings = [f for f in self.findings if f.artifact == page]
        return own, findings, elsewhere

    def _service_of(self, shown: str) -> tuple[str, str] | None:
        """The (language, id) a source file is published as, read from its own front matter
        (not from the build: a file that failed to load has no document, but its page from the
        last good build is still on screen and should show why it did not change)."""
        if shown not in self._ids:
            self._ids[shown] = _front_matter_id(Path(shown), self.options.content_dir)
        return self._ids[shown]


_ID_LINE = re.compile(r"^id:\s*['\"]?([^'\"#\s]+)", re.MULTILINE)


def _front_matter_id(path: Path, content_dir: Path) -> tuple[str, str] | None:
    try:
        rel = path.resolve().relative_to(content_dir.resolve())
        text = path.read_text(encoding="utf-8", errors="replace")
    except (OSError, ValueError):
        return None
    if len(rel.parts) < 2:
        return None
    # the front matter only: an "id:" line of the body is text, not the record
    head = text.split("\n---", 2)[0] if text.startswith("---") else ""
    match = _ID_LINE.search(head)
    return (rel.parts[0], match.group(1) if match else rel.stem)


def problems_panel(own: Sequence[Diagnostic], findings: Sequence[Finding],
                   elsewhere: Sequence[Diagnostic], failed: bool) -> str:
    """The panel over a page listing its problems ('' when there are none): a labelled region
    (a landmark), focusable and first in the page's order, whose summary line is an alert, so
    that a screen reader announces it when the page loads. In English, like the terminal's
    messages, and marked so (the page may be in another language and direction)."""
    if not (own or findings or elsewhere):
        return ""
    items: list[str] = []
    for problem in [*own, *elsewhere]:
        where = html.escape(str(problem.span)) if problem.span else "the build"
        level = html.escape(str(problem.severity))
        hint = f" What to do: {html.escape(problem.hint)}" if problem.hint else ""
        marked = ' class="publisher-error"' if problem.severity is Severity.ERROR else ""
        items.append(f"<li><code>{where}</code>: <span{marked}>{level}[{html.escape(problem.code)}]"
                     f"</span>: {html.escape(problem.message)}.{hint}</li>")
    for finding in findings:
        where = html.escape(finding.locator) if finding.locator else "this page"
        items.append(f"<li><code>{where}</code>: <span>audit[{html.escape(finding.check)}]"
                     f"</span> ({html.escape(finding.impact or '')}): "
                     f"{html.escape(finding.message)}</li>")
    count = len(items)
    noun = "problem" if count == 1 else "problems"
    if failed:
        title = (f"The last build failed ({count} {noun}): this is the page as it was last "
                 "published.")
    else:
        title = f"publish serve found {count} {noun} in this page's source."
    return (
        f'<section id="{OVERLAY_ID}" aria-labelledby="{OVERLAY_ID}-title" tabindex="0" '
        'lang="en" dir="ltr">'
        f'<p id="{OVERLAY_ID}-title" class="publisher-problems-title" role="alert">{title}</p>'
        f'<ul>{"".join(items)}</ul></section>'
    )


class _Changes(FileSystemEventHandler):
    def __init__(self, preview: Preview, ignored: Callable[[Path], bool]) -> None:
        self.preview = preview
        self.ignored = ignored

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in CHANGE_EVENTS:
            return
        if event.is_directory and event.event_type in {"modified", "closed"}:
            return  # a folder's entries changed: the events of those entries follow
        paths = [Path(os.fsdecode(event.src_path))]
        if event.event_type == "moved":
            paths.append(Path(os.fsdecode(event.dest_path)))
        kept = [path for path in paths if not self.ignored(path)]
        if kept:
            self.preview.note(kept)


def ignore_rule(options: BuildOptions) -> Callable[[Path], bool]:
    """Whether a path is none of the build's inputs: the output folder and everything the build
    keeps beside it (``.<out>.cache``, ``.<out>.spare``, ``.<out>.new-…``: its own writes), the
    cache folder given, version-control and tool folders, and editors' litter."""
    out = options.out_dir.resolve()
    cache = options.cache_root.resolve() if options.cache_root is not None else None
    beside = f".{out.name}."

    def ignored(path: Path) -> bool:
        path = path.absolute()
        if is_editor_litter(path.name):
            return True
        if any(part in _IGNORED_FOLDERS for part in path.parts):
            return True
        if path.is_relative_to(out) or (cache is not None and path.is_relative_to(cache)):
            return True
        try:
            first = path.relative_to(out.parent).parts[0]
        except (ValueError, IndexError):
            return False
        return first == out.name or first.startswith(beside)

    return ignored


class _Handler(http.server.SimpleHTTPRequestHandler):
    preview: Preview

    def __init__(self, *args: Any, preview: Preview, **kwargs: Any) -> None:
        self.preview = preview
        super().__init__(*args, directory=str(preview.options.out_dir), **kwargs)

    def log_message(self, format: str, *args: Any) -> None:  # the CLI prints, not the server
        return

    def do_GET(self) -> None:
        route = self.path.split("?")[0]
        if route == BUILD_PATH:
            self._send(str(self.preview.build_id).encode(), "text/plain")
            return
        if route == RELOAD_PATH:
            self._send(RELOAD_SCRIPT, "text/javascript")
            return
        if route == OVERLAY_CSS_PATH:
            self._send(OVERLAY_CSS, "text/css")
            return
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if path.suffix == ".html" and path.is_file():
            try:
                page = path.resolve().relative_to(self.preview.options.out_dir.resolve())
            except ValueError:
                page = Path(path.name)
            own, findings, elsewhere = self.preview.page_problems(page.as_posix())
            panel = problems_panel(own, findings, elsewhere, self.preview.failed)
            self._send(inject_preview(path.read_bytes(), panel), "text/html; charset=utf-8")
            return
        super().do_GET()

    def _send(self, body: bytes, media_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


def inject_reload(page: bytes) -> bytes:
    """The page with the reload script, and its CSP opened to that script (preview only)."""
    page = _CSP.sub(lambda m: m.group(1) + _allow_reload(m.group(2)) + m.group(3), page, count=1)
    tag = f'<script src="{RELOAD_PATH}"></script>'.encode()
    return page.replace(b"</body>", tag + b"</body>", 1)


def inject_preview(page: bytes, panel: str) -> bytes:
    """The page as the preview serves it: the reload script, and the problems panel (with its
    stylesheet, from the site itself as the page's CSP allows) first in the body."""
    page = inject_reload(page)
    if not panel:
        return page
    sheet = f'<link rel="stylesheet" href="{OVERLAY_CSS_PATH}">'.encode()
    page = page.replace(b"</head>", sheet + b"</head>", 1)
    return _BODY.sub(lambda m: m.group(0) + panel.encode(), page, count=1)


def _allow_reload(policy: bytes) -> bytes:
    directives = [d.strip() for d in policy.decode().split(";") if d.strip()]
    out = []
    for directive in directives:
        name = directive.split()[0]
        if name in {"script-src", "connect-src"}:
            continue
        out.append(directive)
    out += ["script-src 'self'", "connect-src 'self'"]
    return "; ".join(out).encode()


@dataclass
class Server:
    preview: Preview
    httpd: http.server.ThreadingHTTPServer
    observer: Any
    threads: list[threading.Thread]

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/"

    def stop(self) -> None:
        self.preview.stopped.set()
        self.preview.dirty.set()  # wakes the builder, which then sees it is stopped
        self.httpd.shutdown()
        self.httpd.server_close()
        self.observer.stop()
        self.observer.join(timeout=5)
        for thread in self.threads:
            thread.join(timeout=30)


def watched_folders(options: BuildOptions) -> set[Path]:
    watched = {options.content_dir.resolve(), (options.formats_dir or formats_dir()).resolve()}
    if options.config_path is not None:
        watched.add(options.config_path.resolve().parent)
    return watched


def start(options: BuildOptions, host: str, port: int,
          report: Callable[[Rebuild], None]) -> Server:
    """Build once, then serve and watch in background threads; ``stop()`` ends everything."""
    preview = Preview(options, report)
    ignored = ignore_rule(options)
    watched = watched_folders(options)
    # the digests are taken before the first build, so that a save during it is seen
    preview.inputs = Inputs(watched, ignored)
    observer = Observer()
    changes = _Changes(preview, ignored)
    for folder in sorted(watched):
        observer.schedule(changes, str(folder), recursive=True)
    observer.start()
    preview.rebuild()
    options.out_dir.mkdir(parents=True, exist_ok=True)
    handler = partial(_Handler, preview=preview)
    httpd = http.server.ThreadingHTTPServer((host, port), handler)
    threads = [
        threading.Thread(target=httpd.serve_forever, name="publish-serve", daemon=True),
        threading.Thread(target=preview.builder_loop, name="publish-rebuild", daemon=True),
    ]
    for thread in threads:
        thread.start()
    return Server(preview, httpd, observer, threads)
