"""Site search that works on the static output: a Pagefind index and a search page per language.

In: the service pages the website writer rendered (this site pass runs after it,
``site_order`` 10, and receives them as bytes). Out: the Pagefind bundle under ``pagefind/``
(one index per language: Pagefind splits the pages by their ``<html lang>`` and the browser loads
only the index of the page's language), a search page ``<lang>/search/index.html`` per language
from ``formats/search/templates``, and the small script and stylesheet of ``formats/search/assets``.

The index is built by Pagefind's own engine through its Python API (the ``pagefind`` package,
whose ``bin`` extra ships the binary on PyPI), not by code of ours. Searching needs the site
served over HTTP(S), as every web server does; opened straight from disk, browsers refuse to
fetch the index, and the form then leads to the list of all services, as it does without
JavaScript.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import tempfile
from collections.abc import Mapping, Sequence
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePosixPath

import jinja2

from publisher.cache import digest
from publisher.files import remove_later
from publisher.model import Document
from publisher.writers import Artifact, RenderContext, Site, Writer, page_path
from publisher.writers.html import CSP, relative
from publisher.writers.html import WRITER as HTML

BUNDLE_DIR = "pagefind"
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
_MEDIA_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
}


def search_page_path(lang: str) -> str:
    return f"{lang}/search/index.html"


def build_index(pages: Sequence[tuple[str, bytes]]) -> dict[str, bytes]:
    """Pagefind's bundle for the given (output path, HTML) pages, as file name → bytes.

    The pages go to a private temporary folder and Pagefind indexes it in one request: the
    service answers each request only after a fixed poll delay, so adding pages one by one
    would cost a tenth of a second each, and reading the bundle back through the pipe can
    overflow its buffer on a large site."""
    scratch = tempfile.mkdtemp(prefix="publisher-search-")
    try:
        site_dir = Path(scratch) / "site"
        out_dir = Path(scratch) / BUNDLE_DIR
        for path, data in pages:
            target = site_dir / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        asyncio.run(_index(site_dir, out_dir))
        bundle: dict[str, bytes] = {}
        for file in sorted(out_dir.rglob("*")):
            name = file.relative_to(out_dir).as_posix()
            if file.is_file() and not name.startswith(_UNUSED):
                bundle[name] = file.read_bytes()
    finally:
        remove_later(Path(scratch))  # a folder per page: see publisher.files
    entry = "pagefind-entry.json"
    if entry in bundle:
        # Pagefind lists the languages in hash-map order, which changes from run to run
        data = json.loads(bundle[entry])
        bundle[entry] = json.dumps(data, ensure_ascii=False, sort_keys=True,
                                   separators=(",", ":")).encode()
    return bundle


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


async def _index(site_dir: Path, out_dir: Path) -> None:
    from pagefind.service import PagefindService

    # The service, not the index, is the context: its exit stops Pagefind's process (an
    # index's context would write the files a second time, and once its index is deleted it
    # leaves the process running).
    async with PagefindService() as service:
        # the page body is <main>: the header, the footer and the language switcher are the
        # same on every page and would match every search
        index = await service.create_index({"root_selector": "main"})
        await index.add_directory(str(site_dir), glob="**/*.html")
        await index.write_files(output_path=str(out_dir))


@cache
def _environment(formats_dir: Path) -> jinja2.Environment:
    from publisher.writers.html import page_environment

    return page_environment(formats_dir, "search")


class SearchWriter(Writer):
    name = "search"
    site_order = 10  # after the website's site pass: the index reads its pages
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
        by_lang: dict[str, list[tuple[str, bytes]]] = {}
        for artifact in sorted(artifacts, key=lambda a: a.path):
            if artifact.format == "html" and artifact.service and artifact.lang:
                by_lang.setdefault(artifact.lang, []).append((artifact.path, artifact.data))
        # Pagefind indexes each language apart in any case: one run per language, each kept
        # in the cache by its pages' bytes, so that an edit re-indexes one language only
        first = next(iter(contexts.values()))
        bundles = [
            first.memo(digest("pagefind", [(path, hashlib.sha256(data).hexdigest())
                                           for path, data in pages]),
                       functools.partial(build_index, pages))
            for _, pages in sorted(by_lang.items())
        ]
        out = [
            Artifact(f"{BUNDLE_DIR}/{name}", data, _media_type(name), "search-index",
                     listed=False)
            for name, data in merge_bundles(bundles).items()
        ]
        for lang, ctx in contexts.items():
            out.append(self._search_page(ctx, lang))
        assets = next(iter(contexts.values())).formats_dir / "search" / "assets"
        for asset in sorted(assets.iterdir()):
            out.append(Artifact(f"assets/{asset.name}", asset.read_bytes(),
                                _media_type(asset.name), "asset", listed=False))
        return out

    def _search_page(self, ctx: RenderContext, lang: str) -> Artifact:
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
            script_url=relative(path, SEARCH_SCRIPT),
        )
        data = env.get_template("search.html").render(**values).encode("utf-8")
        return Artifact(path, data, "text/html; charset=utf-8", "search-page", lang=lang,
                        listed=False)


def _media_type(name: str) -> str:
    suffix = PurePosixPath(name).suffix
    return _MEDIA_TYPES.get(suffix, "application/octet-stream")


WRITER = SearchWriter()
