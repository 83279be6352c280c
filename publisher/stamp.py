"""The stamp of the last published build: is the output already what this build would make?

In: a key over every input a build reads (the content folder's bytes, the configuration, the
templates, the code, the engines, the options — computed by :mod:`publisher.build`) and the
output folder. Out: the last published build's summary (diagnostics, findings, counts) when that
build had the same key and its files are still in place, untouched; ``None`` otherwise, and the
build runs as usual (and its cached tasks still spare most of the work).

This is the whole-build form of the per-task cache: when no input changed, not even the content
needs reading again, so a no-op rebuild of thousands of services costs the reading of their
bytes. Whether the published files are untouched is told from their size and modification time,
recorded when they were published (as ``make`` and ``git status`` do); a file edited, replaced
or removed by hand sends the build down the usual path, which restores it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from publisher.audits import Finding
from publisher.cache import (
    FileTable,
    Store,
    diagnostic_from_json,
    diagnostic_to_json,
    finding_from_json,
)
from publisher.diagnostics import Diagnostic

NAME = "last-build.json"
MANIFEST = "manifest.json"


@dataclass
class Stamp:
    key: str
    manifest_sha256: str
    files: dict[str, tuple[int, int]]  # path -> (size, mtime in ns), manifest.json included
    services: int
    languages: int
    tasks: int
    formats: dict[str, int]  # format -> number of files
    audited: bool
    diagnostics: list[Diagnostic] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    #: the content files as this build read them (see :func:`publisher.cache.content_state`)
    sources: FileTable = field(default_factory=dict)

    def to_json(self) -> bytes:
        data = {
            "key": self.key, "manifest_sha256": self.manifest_sha256,
            "files": {path: list(state) for path, state in sorted(self.files.items())},
            "services": self.services, "languages": self.languages, "tasks": self.tasks,
            "formats": self.formats, "audited": self.audited,
            "diagnostics": [diagnostic_to_json(d) for d in self.diagnostics],
            "findings": [f.to_json() for f in self.findings],
            "sources": {path: list(entry) for path, entry in sorted(self.sources.items())},
        }
        return json.dumps(data, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Stamp:
        data: dict[str, Any] = json.loads(raw)
        return cls(
            key=data["key"], manifest_sha256=data["manifest_sha256"],
            files={path: (int(size), int(mtime)) for path, (size, mtime) in data["files"].items()},
            services=data["services"], languages=data["languages"], tasks=data["tasks"],
            formats=data["formats"], audited=data["audited"],
            diagnostics=[diagnostic_from_json(d) for d in data["diagnostics"]],
            findings=[finding_from_json(f) for f in data["findings"]],
            sources={path: (int(size), int(mtime), str(sha))
                     for path, (size, mtime, sha) in data.get("sources", {}).items()},
        )


def _state(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns


def load(store: Store) -> Stamp | None:
    """The last published build's stamp, if the cache has a readable one."""
    raw = store.read(NAME)
    if raw is None:
        return None
    try:
        return Stamp.from_json(raw)
    except (ValueError, KeyError, TypeError):
        return None  # damaged or from another version: build as usual


def unchanged(last: Stamp | None, key: str, out_dir: Path) -> bool:
    """Whether the last build had this key and ``out_dir`` still holds its files, untouched."""
    if last is None or last.key != key:
        return False
    try:
        manifest = (out_dir / MANIFEST).read_bytes()
    except OSError:
        return False
    if hashlib.sha256(manifest).hexdigest() != last.manifest_sha256:
        return False
    root = os.fspath(out_dir)
    return all(_state(os.path.join(root, path)) == state for path, state in last.files.items())


def record(store: Store, key: str, out_dir: Path, paths: Iterable[str], *, services: int,
           languages: int, tasks: int, formats: dict[str, int], audited: bool,
           diagnostics: Sequence[Diagnostic], findings: Sequence[Finding],
           sources: FileTable) -> None:
    """Remember a build that was just published (or found unchanged) in ``out_dir``."""
    files: dict[str, tuple[int, int]] = {}
    root = os.fspath(out_dir)
    for path in (*paths, MANIFEST):
        state = _state(os.path.join(root, path))
        if state is None:
            return  # the output is not what the build wrote: remember nothing
        files[path] = state
    manifest = (out_dir / MANIFEST).read_bytes()
    store.write(NAME, Stamp(
        key, hashlib.sha256(manifest).hexdigest(), files, services, languages, tasks, formats,
        audited, list(diagnostics), list(findings), dict(sources),
    ).to_json())

