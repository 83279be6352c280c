"""A content-addressed store for rendered artifacts and audit findings.

In: a key (sha256 of every input a task depends on) and what the task produced. Out: the same
artifacts or findings for the same key on a later build, so that an unchanged service in an
unchanged language is neither rendered nor audited again. Blobs are stored once by their own
sha256; an entry is a small JSON file naming them. Writing is atomic (temporary file, rename), so
a build killed mid-write never leaves a half entry that a later build would trust.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from publisher import __version__
from publisher.audits import Criteria, Finding
from publisher.diagnostics import Diagnostic, Severity, SourceSpan
from publisher.writers import Artifact


def digest(*parts: object) -> str:
    """A stable sha256 of strings, bytes and JSON-able values."""
    hasher = hashlib.sha256()
    for part in parts:
        if isinstance(part, bytes):
            data = part
        elif isinstance(part, str):
            data = part.encode()
        else:
            data = json.dumps(part, sort_keys=True, default=str).encode()
        _feed(hasher, data)
    return hasher.hexdigest()


def _feed(hasher: Any, data: bytes) -> None:
    """One part of a digest, prefixed by its length so that parts cannot run into each other."""
    hasher.update(len(data).to_bytes(8, "big"))
    hasher.update(data)


@cache
def code_version() -> str:
    """The project's own version: its release and a hash of its code and catalogues, so that a
    changed line of publisher invalidates what it rendered."""
    package = Path(__file__).resolve().parent
    files = sorted(p for p in package.rglob("*") if p.suffix in {".py", ".po"} and p.is_file())
    return digest(__version__, *(f.relative_to(package).as_posix() for f in files),
                  *(f.read_bytes() for f in files))


def folder_digest(folder: Path) -> str:
    """A hash of every file in a folder (templates, stylesheets), by path and content."""
    if not folder.is_dir():
        return digest("missing", folder.name)
    hasher = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        _feed(hasher, path.relative_to(folder).as_posix().encode())
        _feed(hasher, path.read_bytes())
    return hasher.hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def diagnostic_to_json(d: Diagnostic) -> dict[str, Any]:
    return {"code": d.code, "severity": int(d.severity), "message": d.message, "hint": d.hint,
            "span": [d.span.path, d.span.line, d.span.column] if d.span else None}


def diagnostic_from_json(data: dict[str, Any]) -> Diagnostic:
    span = SourceSpan(*data["span"]) if data["span"] else None
    return Diagnostic(data["code"], Severity(data["severity"]), data["message"], span,
                      data["hint"])


def finding_from_json(f: dict[str, Any]) -> Finding:
    return Finding(
        artifact=f["artifact"], check=f["check"], outcome=f["outcome"], message=f["message"],
        criteria=Criteria(**{k: tuple(v) for k, v in f["criteria"].items()}),
        impact=f["impact"], locator=f["locator"], figures=f["figures"],
    )


class Store:
    """The cache folder; ``None`` as root turns caching off (every lookup misses)."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self.used: set[str] = set()
        self.hits = 0
        self.misses = 0

    def _entry(self, kind: str, key: str) -> Path:
        assert self.root is not None
        return self.root / kind / key[:2] / f"{key}.json"

    def _blob(self, sha: str) -> Path:
        assert self.root is not None
        return self.root / "blobs" / sha[:2] / sha

    def get_artifacts(self, key: str) -> tuple[list[Artifact], list[Diagnostic]] | None:
        if self.root is None:
            return None
        entry = self._entry("tasks", key)
        try:
            data = json.loads(entry.read_bytes())
            artifacts = [
                Artifact(
                    path=item["path"], data=self._blob(item["sha256"]).read_bytes(),
                    media_type=item["media_type"], format=item["format"],
                    service=item["service"], lang=item["lang"], label=item["label"],
                    listed=item["listed"], meta=item["meta"],
                )
                for item in data["artifacts"]
            ]
        except (OSError, ValueError, KeyError):
            self.misses += 1
            return None
        for artifact, item in zip(artifacts, data["artifacts"], strict=True):
            if hashlib.sha256(artifact.data).hexdigest() != item["sha256"]:
                self.misses += 1
                return None  # a damaged blob is a miss, never a wrong output
        self.used.add(key)
        self.hits += 1
        return artifacts, [diagnostic_from_json(d) for d in data["diagnostics"]]

    def put_artifacts(
        self, key: str, artifacts: Sequence[Artifact], diagnostics: Iterable[Diagnostic]
    ) -> None:
        if self.root is None:
            return
        items = []
        for artifact in artifacts:
            sha = hashlib.sha256(artifact.data).hexdigest()
            blob = self._blob(sha)
            if not blob.exists():
                _write_atomic(blob, artifact.data)
            items.append({
                "path": artifact.path, "sha256": sha, "media_type": artifact.media_type,
                "format": artifact.format, "service": artifact.service, "lang": artifact.lang,
                "label": artifact.label, "listed": artifact.listed, "meta": dict(artifact.meta),
            })
        entry = {"artifacts": items, "diagnostics": [diagnostic_to_json(d) for d in diagnostics]}
        _write_atomic(self._entry("tasks", key), json.dumps(entry, sort_keys=True).encode())
        self.used.add(key)

    def get_findings(self, key: str) -> list[Finding] | None:
        if self.root is None:
            return None
        try:
            data = json.loads(self._entry("findings", key).read_bytes())
        except (OSError, ValueError):
            return None
        self.used.add(key)
        return [finding_from_json(f) for f in data]

    def put_findings(self, key: str, findings: Sequence[Finding]) -> None:
        if self.root is None:
            return
        data = json.dumps([f.to_json() for f in findings], sort_keys=True).encode()
        _write_atomic(self._entry("findings", key), data)
        self.used.add(key)

    def get_object(self, kind: str, key: str) -> Any | None:
        """A Python value stored by :meth:`put_object` (parsed documents); ``None`` on a miss.

        Pickle, not JSON: the document model is a tree of frozen dataclasses and pydantic
        records, and pickle restores it ten times faster than rebuilding it from JSON would. The
        cache folder is the user's own, written only by publisher, like a ``__pycache__``."""
        if self.root is None:
            return None
        try:
            value = pickle.loads(self._entry(kind, key).with_suffix(".pickle").read_bytes())
        except Exception:  # missing, damaged or from another Python: a miss, never a failure
            return None
        self.used.add(key)
        return value

    def put_object(self, kind: str, key: str, value: Any) -> None:
        if self.root is None:
            return
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        _write_atomic(self._entry(kind, key).with_suffix(".pickle"), data)
        self.used.add(key)

    def read(self, name: str) -> bytes | None:
        """A small named file of the cache (the last build's stamp)."""
        if self.root is None:
            return None
        try:
            return (self.root / name).read_bytes()
        except OSError:
            return None

    def write(self, name: str, data: bytes) -> None:
        if self.root is not None:
            _write_atomic(self.root / name, data)

    def prune(self) -> None:
        """Forget entries this build did not use, and blobs no entry names."""
        if self.root is None or not self.root.is_dir():
            return
        keep: set[str] = set()
        for kind, pattern in (("tasks", "*/*.json"), ("findings", "*/*.json"),
                              ("parsed", "*/*.pickle"), ("pages", "*/*.pickle"),
                              ("memo", "*/*.pickle")):
            for entry in (self.root / kind).glob(pattern):
                if entry.stem not in self.used:
                    entry.unlink(missing_ok=True)
                elif kind == "tasks":
                    try:
                        keep.update(i["sha256"] for i in json.loads(entry.read_bytes())
                                    ["artifacts"])
                    except (OSError, ValueError, KeyError):
                        entry.unlink(missing_ok=True)
        for blob in (self.root / "blobs").glob("*/*"):
            if blob.name not in keep:
                blob.unlink(missing_ok=True)
