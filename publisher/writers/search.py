"""Site search that works on the static output: a Pagefind index and a search page per language.

In: the service pages the website writer rendered (done before any site pass: this one runs
beside the website's own, ``site_order`` 0, and receives them as bytes). Out: the Pagefind
bundle under ``pagefind/`` (one index per language: Pagefind splits the pages by their
``<html lang>`` and the browser loads only the index of the page's language), a search page
``<lang>/search/index.html`` per language from ``formats/search/templates``, and the small
script and stylesheet of ``formats/search/assets``.

The index is built by Pagefind's own engine, its command-line binary (PyPI ``pagefind-bin``
ships it in the ``pagefind_bin`` package), not by code of ours. Pagefind has no incremental mode,
so each language's pages are split into shards by a stable hash of their path, each shard indexed
alone and kept in the cache by its pages' bytes: an edit re-indexes one shard of one language.
``pagefind/`` holds the first shard of every language with Pagefind's script and WebAssembly; the
other shards of a language go to ``pagefind/<lang>-<k>/`` (index files only), and the search page
merges them into the query with Pagefind's ``mergeIndex``. A small site has one shard per
language, and then no such folder.

Searching needs the site served over HTTP(S), as every web server does; opened straight from
disk, browsers refuse to fetch the index, and the form then leads to the list of all services,
as it does without JavaScript.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import io
import json
import math
import os
import posixpath
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TypeVar

import jinja2

from publisher.cache import digest
from publisher.files import remove_later
from publisher.model import Document
from publisher.writers import Artifact, RenderContext, Site, Writer, page_path
from publisher.writers.html import CSP, relative
from publisher.writers.html import WRITER as HTML

T = TypeVar("T")

BUNDLE_DIR = "pagefind"
#: the pages a shard of a language's index holds at most, on average: an edit re-indexes one
#: shard, which Pagefind's binary does in ≈ 4.5 ms a page
SHARD_PAGES = 64
SEARCH_SCRIPT = "assets/search.js"
SEARCH_STYLESHEET = "assets/search.css"
#: the search page is the only page with a script: its own, and Pagefind's WebAssembly
SEARCH_CSP = CSP.replace(
    "script-src 'none'",
    "script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; worker-src 'self'",
)
# Pagefind also writes ready-made interfaces; the search page uses the JavaScript API with a
# form of its own (labelled field, announced results), so those files are left out.
_UNUSED = ("pagefind-ui", "pagefind-modular-ui", "pagefind-component-ui", "pagefind-highlight")
_INDEX_FOLDERS = ("index/", "fragment/", "filter/")
_MEDIA_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
}


def search_page_path(lang: str) -> str:
    return f"{lang}/search/index.html"


def shard_count(pages: int) -> int:
    """How many shards a language of so many pages is split into: a power of two, so that when
    the count doubles a page either stays in its shard k or moves to shard k + the old count."""
    return 1 << max(0, math.ceil(pages / SHARD_PAGES) - 1).bit_length()


def shard_of(path: str, count: int) -> int:
    """The shard of the page at this output path: a hash of the path alone, so that a page
    stays in its shard while the count stays the same, whatever pages come and go."""
    return int.from_bytes(hashlib.sha256(path.encode("utf-8")).digest()[:8], "big") % count


def split_shards(pages: Sequence[tuple[str, T]]) -> list[list[tuple[str, T]]]:
    """One language's (output path, HTML or anything) pages split into shards, in shard
    order, each sorted by path; a shard may be empty when the pages are few."""
    count = shard_count(len(pages))
    shards: list[list[tuple[str, T]]] = [[] for _ in range(count)]
    for page in sorted(pages, key=lambda item: item[0]):
        shards[shard_of(page[0], count)].append(page)
    return shards


def _index_shard(shard: Sequence[tuple[str, Artifact]]) -> dict[str, bytes]:
    """:func:`build_index` of a shard's pages, read only now: a cached shard needs none."""
    return build_index([(path, page.data) for path, page in shard])


def build_index(pages: Sequence[tuple[str, bytes]]) -> dict[str, bytes]:
    """Pagefind's bundle for the given (output path, HTML) pages, as file name → bytes.

    The pages go to a private temporary folder, and Pagefind's binary indexes it in one run: it
    starts in a few milliseconds, where the Python service costs a fixed third of a second a
    request (it polls). The pages go in and the bundle comes out as one tar stream each, through
    the ``tar`` of the system, rather than file by file from Python: the index is made on a
    thread beside the build, and every file call of that thread would wait for the build's own
    thread to let go of the interpreter."""
    scratch = tempfile.mkdtemp(prefix="publisher-search-")
    try:
        packed = _index(_tar(pages), Path(scratch))
    finally:
        remove_later(Path(scratch))  # a folder per page: see publisher.files
    bundle: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(packed)) as made:
        for member in made:
            name = posixpath.normpath(member.name)
            reader = made.extractfile(member) if member.isfile() else None
            if reader is not None and not name.startswith(_UNUSED):
                bundle[name] = reader.read()
    bundle = dict(sorted(bundle.items()))
    entry = "pagefind-entry.json"
    if entry in bundle:
        # Pagefind lists the languages in hash-map order, which changes from run to run
        data = json.loads(bundle[entry])
        bundle[entry] = json.dumps(data, ensure_ascii=False, sort_keys=True,
                                   separators=(",", ":")).encode()
    return bundle


def _tar(pages: Sequence[tuple[str, bytes]]) -> bytes:
    """The pages as an uncompressed tar stream (``tar -x`` makes their folders)."""
    stream = io.BytesIO()
    with tarfile.open(fileobj=stream, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path, data in pages:
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return stream.getvalue()


def index_files(bundle: Mapping[str, bytes]) -> dict[str, bytes]:
    """The files of a bundle that Pagefind needs to merge it into a search (``mergeIndex``):
    its entry, metadata and index chunks. A merged index is searched with the WebAssembly the
    primary bundle already loaded (Pagefind loads it with ``load_wasm: false``), so the script,
    the worker and the WebAssembly files are left out."""
    return {name: data for name, data in bundle.items()
            if name == "pagefind-entry.json" or name.endswith(".pf_meta")
            or name.startswith(_INDEX_FOLDERS)}


def merge_bundles(bundles: Sequence[dict[str, bytes]]) -> dict[str, bytes]:
    """One Pagefind bundle from bundles of distinct languages: their files side by side (the
    files they share, the script and the worker, are the same bytes), and one entry file
    listing every language."""
    entry = "pagefind-entry.json"
    merged: dict[str, bytes] = {}
    languages: dict[str, object] = {}
    head: dict[str, object] = {}
    for bundle in bundles:
        for name, data in bundle.items():
            if name == entry:
                document = json.loads(data)
                languages.update(document.pop("languages", {}))
                if head and document != head:
                    raise ValueError("Pagefind bundles of different versions or settings")
                head = document
            elif merged.setdefault(name, data) != data:
                raise ValueError(f"two Pagefind bundles differ in their shared file {name}")
    if bundles:
        merged[entry] = json.dumps({**head, "languages": languages}, ensure_ascii=False,
                                   sort_keys=True, separators=(",", ":")).encode()
    return dict(sorted(merged.items()))


#: unpack the pages, index them, pack the bundle: Pagefind's own messages go to stderr, so that
#: stdout holds the tar stream alone
_INDEX_SCRIPT = """set -e
mkdir site
tar -x -f - -C site
"$0" --site site --output-path bundle --root-selector main --quiet >&2
tar -c -f - -C bundle .
"""


def _index(pages: bytes, scratch: Path) -> bytes:
    """The tar stream of Pagefind's bundle for the tar stream of pages, indexed in ``scratch``."""
    # the pagefind_bin package knows its binary's name on each system (it has no type hints)
    binary = Path(importlib.import_module("pagefind_bin").get_executable())
    # Pagefind also reads PAGEFIND_* variables and a pagefind.yml in its working folder: neither
    # may change what the build writes (the working folder is the private scratch folder)
    env = {name: value for name, value in os.environ.items()
           if not name.upper().startswith("PAGEFIND_")}
    # --root-selector: the page body is <main>: the header, the footer and the language
    # switcher are the same on every page and would match every search
    done = subprocess.run(["sh", "-c", _INDEX_SCRIPT, str(binary)], input=pages, cwd=scratch,
                          env=env, capture_output=True, check=False)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"Pagefind failed (exit status {done.returncode}): {message}")
    return done.stdout


@cache
def _environment(formats_dir: Path) -> jinja2.Environment:
    from publisher.writers.html import page_environment

    return page_environment(formats_dir, "search")


class SearchWriter(Writer):
    name = "search"
    # the search pages need the service pages only, not the website's site pages: they are
    # made beside the website's site pass (and the index after every site pass)
    site_order = 0
    per_document = False

    def render(self, doc: Document, ctx: RenderContext) -> list[Artifact]:
        return []

    def engine_version(self) -> str:
        try:
            return f"pagefind {version('pagefind-bin')}"
        except PackageNotFoundError:
            return "pagefind"

    def render_site(
        self,
        site: Site,
        contexts: Mapping[str, RenderContext],
        artifacts: tuple[Artifact, ...],
    ) -> list[Artifact]:
        """The search pages and their script: each page names its language's shards (known
        from the pages alone), whose index :meth:`render_unread` makes."""
        out: list[Artifact] = []
        merged = {lang: [f"{BUNDLE_DIR}/{lang}-{k}" for k, _ in shards[1:]]
                  for lang, shards in _shards(artifacts).items()}
        for lang, ctx in contexts.items():
            out.append(self._search_page(ctx, lang, merged.get(lang, [])))
        assets = next(iter(contexts.values())).formats_dir / "search" / "assets"
        for asset in sorted(assets.iterdir()):
            out.append(Artifact(f"assets/{asset.name}", asset.read_bytes(),
                                _media_type(asset.name), "asset", listed=False))
        return out

    def render_unread(
        self,
        site: Site,
        contexts: Mapping[str, RenderContext],
        artifacts: tuple[Artifact, ...],
    ) -> list[Artifact]:
        """The Pagefind bundle: nothing else reads it, and Pagefind takes a while even on one
        shard, so the build writes the other files meanwhile."""
        # Pagefind indexes each language apart in any case, and each language is split into
        # shards, each indexed alone and kept in the cache by its pages' bytes: an edit
        # re-indexes one shard of its language only
        first = next(iter(contexts.values()))
        by_lang = _shards(artifacts)
        every = [(lang, k, shard) for lang, shards in by_lang.items() for k, shard in shards]
        # the shards holding a page rendered by this build first: the others are most likely in
        # the cache, whose packs take a while to read, and Pagefind can start on an edit's shard
        # meanwhile (the order changes nothing in what is made)
        made: dict[tuple[str, int], dict[str, bytes]] = {}
        for lang, k, shard in sorted(every, key=lambda item: all(
                page.from_cache for _, page in item[2])):
            made[lang, k] = first.memo(
                digest("pagefind", [(path, page.sha256) for path, page in shard]),
                functools.partial(_index_shard, shard))
        primary: list[dict[str, bytes]] = []
        out: list[Artifact] = []
        for lang, shards in by_lang.items():
            bundles = [(k, made[lang, k]) for k, _ in shards]
            # the first shard goes into the primary bundle, whose index Pagefind loads for the
            # page's language (shard 0 can be empty only on a tiny site); the others are merged
            # into the search by the search page
            primary.append(bundles[0][1])
            for k, bundle in bundles[1:]:
                folder = f"{BUNDLE_DIR}/{lang}-{k}"
                out.extend(_index_artifact(f"{folder}/{name}", data)
                           for name, data in index_files(bundle).items())
        out[:0] = [_index_artifact(f"{BUNDLE_DIR}/{name}", data)
                   for name, data in merge_bundles(primary).items()]
        return out

    def _search_page(self, ctx: RenderContext, lang: str, shards: Sequence[str]) -> Artifact:
        path = search_page_path(lang)
        env = _environment(ctx.formats_dir)
        env.install_gettext_callables(  # type: ignore[attr-defined]
            ctx.locale.gettext, ctx.locale.ngettext, newstyle=True
        )
        values = HTML._page_values(ctx, path, None, search_page_path)
        values.update(
            csp=SEARCH_CSP,
            catalogue_url=relative(path, page_path(lang)),
            bundle_url=relative(path, f"{BUNDLE_DIR}/"),
            # the language's other shards, which the script merges into every search
            shard_urls=" ".join(relative(path, f"{folder}/") for folder in shards),
            script_url=relative(path, SEARCH_SCRIPT),
        )
        data = env.get_template("search.html").render(**values).encode("utf-8")
        return Artifact(path, data, "text/html; charset=utf-8", "search-page", lang=lang,
                        listed=False)


def _shards(artifacts: tuple[Artifact, ...]
            ) -> dict[str, list[tuple[int, list[tuple[str, Artifact]]]]]:
    """Per language (in order), its service pages' non-empty shards, numbered."""
    by_lang: dict[str, list[tuple[str, Artifact]]] = {}
    for artifact in sorted(artifacts, key=lambda a: a.path):
        if artifact.format == "html" and artifact.service and artifact.lang:
            by_lang.setdefault(artifact.lang, []).append((artifact.path, artifact))
    return {lang: [(k, shard) for k, shard in enumerate(split_shards(pages)) if shard]
            for lang, pages in sorted(by_lang.items())}


def _index_artifact(path: str, data: bytes) -> Artifact:
    return Artifact(path, data, _media_type(path), "search-index", listed=False)


def _media_type(name: str) -> str:
    # posixpath, not PurePosixPath: asked for each of a large site's thousands of index files
    return _MEDIA_TYPES.get(posixpath.splitext(name)[1], "application/octet-stream")


WRITER = SearchWriter()
