"""``publish serve``: preview the output on localhost, rebuilding on every change.

In: the build options, a host and a port. Out: an HTTP server on that address serving the
published output, and a watcher (watchdog) on the content folder, the formats folder and the
configuration that runs an incremental build after each change. Open pages reload themselves when
a build succeeds: HTML responses get a small script that polls ``/__publisher/build``, and — in
the preview only — a Content-Security-Policy that allows that one script from the site itself.
A failed build is reported on the terminal and the previous output keeps being served.
"""

from __future__ import annotations

import http.server
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from publisher.build import BuildOptions, BuildResult, build, formats_dir

RELOAD_PATH = "/__publisher/reload.js"
BUILD_PATH = "/__publisher/build"
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
_CSP = re.compile(rb'(<meta http-equiv="Content-Security-Policy" content=")([^"]*)(")')


@dataclass
class Preview:
    """The state shared by the server, the watcher and the builder."""

    options: BuildOptions
    report: Callable[[BuildResult], None]
    build_id: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    dirty: threading.Event = field(default_factory=threading.Event)
    stopped: threading.Event = field(default_factory=threading.Event)

    def rebuild(self) -> BuildResult:
        with self.lock:
            result = build(self.options)
            if result.published and not result.unchanged:
                self.build_id += 1
        self.report(result)
        return result

    def builder_loop(self, quiet_seconds: float = 0.3) -> None:
        while not self.stopped.is_set():
            if not self.dirty.wait(timeout=0.5):
                continue
            # let a burst of saves settle, then build once
            while self.dirty.is_set():
                self.dirty.clear()
                time.sleep(quiet_seconds)
            if not self.stopped.is_set():
                self.rebuild()


class _Changes(FileSystemEventHandler):
    def __init__(self, preview: Preview, ignore: Path) -> None:
        self.preview = preview
        self.ignore = ignore.resolve()

    def on_any_event(self, event: FileSystemEvent) -> None:
        path = Path(str(event.src_path)).resolve()
        if event.is_directory and event.event_type == "modified":
            return
        if path.is_relative_to(self.ignore.parent) and path.name.startswith(
                f".{self.ignore.name}"):
            return  # our own staging and cache folders
        if path.name.startswith(".") and path.name.endswith((".swp", "~")):
            return
        self.preview.dirty.set()


class _Handler(http.server.SimpleHTTPRequestHandler):
    preview: Preview

    def __init__(self, *args: Any, preview: Preview, **kwargs: Any) -> None:
        self.preview = preview
        super().__init__(*args, directory=str(preview.options.out_dir), **kwargs)

    def log_message(self, format: str, *args: Any) -> None:  # the CLI prints, not the server
        return

    def do_GET(self) -> None:
        if self.path.split("?")[0] == BUILD_PATH:
            self._send(str(self.preview.build_id).encode(), "text/plain")
            return
        if self.path.split("?")[0] == RELOAD_PATH:
            self._send(RELOAD_SCRIPT, "text/javascript")
            return
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if path.suffix == ".html" and path.is_file():
            self._send(inject_reload(path.read_bytes()), "text/html; charset=utf-8")
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
        self.httpd.shutdown()
        self.httpd.server_close()
        self.observer.stop()
        self.observer.join(timeout=5)
        for thread in self.threads:
            thread.join(timeout=30)


def start(options: BuildOptions, host: str, port: int,
          report: Callable[[BuildResult], None]) -> Server:
    """Build once, then serve and watch in background threads; ``stop()`` ends everything."""
    preview = Preview(options, report)
    preview.rebuild()
    options.out_dir.mkdir(parents=True, exist_ok=True)
    handler = partial(_Handler, preview=preview)
    httpd = http.server.ThreadingHTTPServer((host, port), handler)
    observer = Observer()
    watched = {options.content_dir.resolve(), (options.formats_dir or formats_dir()).resolve()}
    if options.config_path is not None:
        watched.add(options.config_path.resolve().parent)
    changes = _Changes(preview, options.out_dir.resolve())
    for folder in sorted(watched):
        observer.schedule(changes, str(folder), recursive=True)
    observer.start()
    threads = [
        threading.Thread(target=httpd.serve_forever, name="publish-serve", daemon=True),
        threading.Thread(target=preview.builder_loop, name="publish-rebuild", daemon=True),
    ]
    for thread in threads:
        thread.start()
    return Server(preview, httpd, observer, threads)
