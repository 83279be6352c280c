"""A content-addressed store for rendered artifacts and audit findings.

In: a key (sha256 of every input a task depends on) and what the task produced. Out: the same
artifacts or findings for the same key on a later build, so that an unchanged service in an
unchanged language is neither rendered nor audited again. Blobs are stored once by their own
sha256; an entry is a small JSON record naming them (or, for parsed files and memos, a pickled
value), and the entries of each kind live in sixteen pack files (see :class:`Store`). Writing is
atomic (temporary file, rename), so a build killed mid-write never leaves a half entry that a
later build would trust.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import stat
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from publisher import __version__
from publisher.audits import Criteria, Finding
from publisher.diagnostics import Diagnostic, Severity, SourceSpan
from publisher.files import remove_later
from publisher.writers import Artifact, StoredBytes


def digest(*parts: object) -> str:
    """A stable sha256 of strings, bytes and JSON-able values, each part prefixed by its length
    so that parts cannot run into each other. (The parts are joined and hashed in one call: a
    rebuild computes ten thousand keys, and an update per part was a third of their time.)"""
    chunks: list[bytes] = []
    for part in parts:
        if isinstance(part, bytes):
            data = part
        elif isinstance(part, str):
            data = part.encode()
        else:
            data = json.dumps(part, sort_keys=True, default=str).encode()
        chunks += (len(data).to_bytes(8, "big"), data)
    return hashlib.sha256(b"".join(chunks)).hexdigest()


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


#: content-relative path -> (size, modification time in ns, sha256) of each file of a folder
FileTable = dict[str, tuple[int, int, str]]

#: a file modified this close to a scan may be modified again within the same tick of the
#: file system's clock, with the same size: it is not remembered, so the next scan reads it
_RACY_NS = 2_000_000_000


def content_state(folder: Path, known: Mapping[str, tuple[int, int, str]]
                  ) -> tuple[str, FileTable, bool]:
    """A hash of every file of ``folder`` by path and content (like :func:`folder_digest`), the
    table of every file read, and whether the folder holds no symbolic link (then the table
    answers what is a file in it). A file whose size and modification time are those ``known``
    gives (the table of the last build) is not read again: its sha256 is taken from there, as
    ``git status`` trusts its index. Thousands of service files are then a matter of stats. A
    file modified within the clock tick of the scan is listed with no time, so that the next
    scan reads it again."""
    if not folder.is_dir():
        return digest("missing", folder.name), {}, False
    started = time.time_ns()
    found, links = _walk(os.fspath(folder))
    table: FileTable = {}
    hasher = hashlib.sha256()
    for rel, target in sorted(links):
        # where each link points is an input too (a file swapped for a link to a copy of it
        # elsewhere has the same bytes, but the loader refuses it): linked folders count even
        # though they are not descended into
        _feed(hasher, f"link {rel}".encode())
        _feed(hasher, target.encode())
    for rel, path in sorted(found):
        try:
            info = os.stat(path)
        except OSError:
            continue  # a dangling link: the loader reports it
        if not stat.S_ISREG(info.st_mode):
            continue
        entry = known.get(rel)
        if entry is not None and entry[:2] == (info.st_size, info.st_mtime_ns):
            sha = entry[2]
        else:
            with open(path, "rb") as source:
                sha = hashlib.sha256(source.read()).hexdigest()
        trusted = started - info.st_mtime_ns > _RACY_NS
        table[rel] = (info.st_size, info.st_mtime_ns if trusted else 0, sha)
        _feed(hasher, rel.encode())
        _feed(hasher, sha.encode())
    return hasher.hexdigest(), table, not links


def _walk(top: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Every entry under ``top`` that is not a folder, as (relative posix path, path), without
    descending into linked folders (as ``os.walk`` does); and every link (and unreadable
    folder) with where it points. (``os.scandir`` rather than ``os.walk``: it tells links apart
    for free.)"""
    found: list[tuple[str, str]] = []
    links: list[tuple[str, str]] = []
    folders = [("", top)]
    while folders:
        rel, path = folders.pop()
        try:
            entries = list(os.scandir(path))
        except OSError as err:
            links.append((rel, f"unreadable: {err.strerror}"))
            continue
        for entry in entries:
            name = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_symlink():
                try:
                    links.append((name, os.readlink(entry.path)))
                except OSError as err:
                    links.append((name, f"unreadable: {err.strerror}"))
            if not entry.is_dir():
                found.append((name, entry.path))
            elif not entry.is_symlink():
                folders.append((name, entry.path))
    return found, links


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


#: the kinds of entries, each kept in packs of its own (one per first hex digit of the key)
KINDS = ("tasks", "findings", "parsed", "pages", "memo")
BUCKETS = "0123456789abcdef"
SUFFIXES = {"tasks": ".json", "findings": ".json"}  # the others are pickles
#: at most this many new entries of a kind stay in files of their own after a build, and this
#: many (or a tenth) of a pack's entries stay in it unused, before the packs are written again
LOOSE_ENTRIES = 32
UNUSED_ENTRIES = 8


class Store:
    """The cache folder; ``None`` as root turns caching off (every lookup misses).

    Each kind of entry (rendered tasks, audit findings, parsed files, report pages, memos) is
    read from pack files, ``<kind>.<digit>.pack``, each loaded the first time it is asked for: a
    rebuild looks up thousands of entries, and one file read is far cheaper than thousands
    (each open costs ~0.1 ms here). A new entry is also written as a file of its own at once,
    so that a build killed half-way keeps what it rendered; :meth:`prune`, at the end of a
    build, writes each pack again with the entries this build used, and drops the rest."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self._packs: dict[str, dict[str, bytes]] = {}
        # the entries this build used: their bytes, or None for one it wrote (read back from
        # its own file when the packs are written: a cold build of a large catalogue writes
        # tens of megabytes of entries, which need not stay in memory meanwhile)
        self._kept: dict[str, dict[str, bytes | None]] = {kind: {} for kind in KINDS}

    def _entry(self, kind: str, key: str) -> Path:
        assert self.root is not None
        return self.root / kind / key[:2] / f"{key}{SUFFIXES.get(kind, '.pickle')}"

    def _blob(self, sha: str) -> str:
        assert self.root is not None
        return os.path.join(self.root, "blobs", sha[:2], sha)

    def _pack(self, kind: str, bucket: str) -> dict[str, bytes]:
        name = f"{kind}.{bucket}.pack"
        if name not in self._packs:
            assert self.root is not None
            try:
                pack = pickle.loads((self.root / name).read_bytes())
            except Exception:  # missing, damaged or from another Python: an empty pack
                pack = {}
            self._packs[name] = pack if isinstance(pack, dict) else {}
        return self._packs[name]

    def _get(self, kind: str, key: str) -> bytes | None:
        if self.root is None:
            return None
        data = self._pack(kind, key[0]).get(key)
        if data is None:
            try:
                data = self._entry(kind, key).read_bytes()
            except OSError:
                return None
        self._kept[kind][key] = data
        return data

    def _put(self, kind: str, key: str, data: bytes) -> None:
        if self.root is None:
            return
        _write_atomic(self._entry(kind, key), data)
        self._kept[kind][key] = None

    def _drop(self, kind: str, key: str) -> None:
        """An entry that could not be read back: a miss, and gone from the next pack."""
        self._kept[kind].pop(key, None)

    def get_artifacts(self, key: str
                      ) -> tuple[list[Artifact], list[Diagnostic], set[str]] | None:
        """A task's artifacts, its diagnostics and the interface strings it found missing."""
        raw = self._get("tasks", key)
        if raw is None:
            return None
        assert self.root is not None  # _get found the entry
        try:
            data = json.loads(raw)
            artifacts = []
            for item in data["artifacts"]:
                blob = self._blob(item["sha256"])
                # the bytes are read when needed (see Artifact.stored), and checked then; a
                # blob gone or of another size is a miss now, never a wrong output
                if os.stat(blob).st_size != item["bytes"]:
                    raise OSError(f"{blob} is damaged")
                artifacts.append(Artifact.stored(
                    StoredBytes(blob, item["sha256"], item["bytes"]), item["path"],
                    item["media_type"], item["format"], service=item["service"],
                    lang=item["lang"], label=item["label"], listed=item["listed"],
                    meta=item["meta"]))
        except (OSError, ValueError, KeyError, TypeError):
            self._drop("tasks", key)
            return None
        return (artifacts, [diagnostic_from_json(d) for d in data["diagnostics"]],
                set(data["missing"]))

    def put_artifacts(
        self, key: str, artifacts: Sequence[Artifact], diagnostics: Iterable[Diagnostic],
        missing: Iterable[str] = (),
    ) -> None:
        if self.root is None:
            return
        items = []
        for artifact in artifacts:
            sha = artifact.sha256
            blob = self._blob(sha)
            if not os.path.exists(blob):
                _write_atomic(Path(blob), artifact.data)
            items.append({
                "path": artifact.path, "sha256": sha, "bytes": artifact.size,
                "media_type": artifact.media_type,
                "format": artifact.format, "service": artifact.service, "lang": artifact.lang,
                "label": artifact.label, "listed": artifact.listed, "meta": dict(artifact.meta),
            })
        entry = {"artifacts": items, "diagnostics": [diagnostic_to_json(d) for d in diagnostics],
                 "missing": sorted(missing)}
        self._put("tasks", key, json.dumps(entry, sort_keys=True).encode())

    def get_findings(self, key: str) -> list[Finding] | None:
        raw = self._get("findings", key)
        if raw is None:
            return None
        try:
            return [finding_from_json(f) for f in json.loads(raw)]
        except (ValueError, KeyError, TypeError):
            self._drop("findings", key)
            return None

    def put_findings(self, key: str, findings: Sequence[Finding]) -> None:
        if self.root is None:
            return
        data = json.dumps([f.to_json() for f in findings], sort_keys=True).encode()
        self._put("findings", key, data)

    def get_object(self, kind: str, key: str) -> Any | None:
        """A Python value stored by :meth:`put_object` (parsed documents); ``None`` on a miss.

        Pickle, not JSON: the document model is a tree of frozen dataclasses and pydantic
        records, and pickle restores it ten times faster than rebuilding it from JSON would. The
        cache folder is the user's own, written only by publisher, like a ``__pycache__``."""
        raw = self._get(kind, key)
        if raw is None:
            return None
        try:
            return pickle.loads(raw)
        except Exception:  # damaged or from another Python: a miss, never a failure
            self._drop(kind, key)
            return None

    def put_object(self, kind: str, key: str, value: Any) -> None:
        if self.root is not None:
            self._put(kind, key, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))

    def read(self, name: str) -> bytes | None:
        """A small named file of the cache (the last build's stamp)."""
        if self.root is None:
            return None
        try:
            return (self.root / name).read_bytes()
        except OSError:
            return None

    def use_for_templates(self) -> None:
        """Keep compiled templates in this store (none when caching is off)."""
        TEMPLATES.folder = None if self.root is None else self.root / "templates"

    def write(self, name: str, data: bytes) -> None:
        if self.root is not None:
            _write_atomic(self.root / name, data)

    def prune(self) -> None:
        """Write each pack again with the entries this build used (when they differ from the
        pack's), remove the entries' own files, and the blobs no task names any more."""
        if self.root is None or not self.root.is_dir():
            return
        for kind in KINDS:
            if self._nearly_packed(kind):
                continue
            buckets: dict[str, dict[str, bytes]] = {bucket: {} for bucket in BUCKETS}
            for key, data in self._kept[kind].items():
                if data is None:
                    try:
                        data = self._entry(kind, key).read_bytes()
                    except OSError:
                        continue  # gone meanwhile: a miss next time
                buckets.setdefault(key[0], {})[key] = data
            loose = self.root / kind
            if loose.is_dir():
                trash = Path(tempfile.mkdtemp(prefix=f".{kind}-", dir=self.root))
                loose.rename(trash / kind)
                remove_later(trash)  # a folder per key prefix: see publisher.files
            changed = False
            for bucket, kept in buckets.items():
                # a pack per first hex digit of the key: an edit rewrites one sixteenth of
                # the parsed catalogue, not all of it
                if kept.keys() != self._pack(kind, bucket).keys():
                    _write_atomic(self.root / f"{kind}.{bucket}.pack",
                                  pickle.dumps(dict(sorted(kept.items())),
                                               protocol=pickle.HIGHEST_PROTOCOL))
                    changed = True
            if changed and kind == "tasks":
                self._prune_blobs(data for kept in buckets.values() for data in kept.values())

    def _nearly_packed(self, kind: str) -> bool:
        """Whether the packs of ``kind`` may stay as they are: few entries of this build are
        in files of their own (an edit's), and few entries of the packs this build read went
        unused (what the edit replaced). Writing the packs again would cost a rebuild more than
        the few extra files cost the next one; the next build that changes more packs all."""
        kept = self._kept[kind]
        loose = sum(1 for data in kept.values() if data is None)
        if loose > LOOSE_ENTRIES:
            return False
        for bucket in BUCKETS:
            pack = self._packs.get(f"{kind}.{bucket}.pack")
            if pack is None:
                continue  # not read by this build (reading an entry loads its pack)
            unused = sum(1 for key in pack if key not in kept)
            if unused > max(UNUSED_ENTRIES, len(pack) // 10):
                return False
        return True

    def _prune_blobs(self, entries: Iterable[bytes]) -> None:
        assert self.root is not None
        keep: set[str] = set()
        for raw in entries:
            keep.update(item["sha256"] for item in json.loads(raw)["artifacts"])
        for blob in (self.root / "blobs").glob("*/*"):
            if blob.name not in keep:
                blob.unlink(missing_ok=True)


class TemplateCache(jinja2.BytecodeCache):
    """Compiled Jinja2 templates kept in the build cache (``<cache>/templates``), so that a
    rebuild does not compile the site's templates again (~0.1 s of every rebuild). Jinja2's
    own ``FileSystemBytecodeCache`` is used for the files; this only finds the folder of the
    current build when a template is loaded (the environments are made once per process and
    outlive a build), and takes a folder that cannot be written as "no cache". Jinja2 checks
    each file against the template's source and the Python version before using it."""

    folder: Path | None = None

    def _files(self) -> jinja2.FileSystemBytecodeCache | None:
        if self.folder is None:
            return None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None
        return jinja2.FileSystemBytecodeCache(str(self.folder))

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        files = self._files()
        if files is not None:
            try:
                files.load_bytecode(bucket)
            except (OSError, ValueError, EOFError, TypeError):
                bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        files = self._files()
        if files is not None:
            # a cache, not an output: the template was compiled all the same
            with contextlib.suppress(OSError):
                files.dump_bytecode(bucket)


#: the one bytecode cache of every Jinja2 environment of this process; a build points it at its
#: cache folder (see :meth:`Store.use_for_templates`)
TEMPLATES = TemplateCache()
