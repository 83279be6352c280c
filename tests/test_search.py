"""Site search: the Pagefind index, the search page, and a real search in headless Chromium.

The example is built once for this module (website, search and open data, no audit) and served
over HTTP from a local server, as any web server would; Chromium then searches with the keyboard
only, as a person who cannot use a mouse would. It is built once more with shards of a few pages
(``SHARD_PAGES`` lowered), so that its twelve French services make four shards, as a large
catalogue's thousand would make sixteen.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import http.server
import importlib
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from axe_selenium_python import Axe
from lxml import etree
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from publisher.audits.html import axe_options, axe_script
from publisher.browser import Browser, missing_browser
from publisher.build import BuildOptions, BuildResult, build
from publisher.diagnostics import Diagnostics
from publisher.load import load_site
from publisher.model import Paragraph, plain_text, walk_blocks
from publisher.writers import search
from publisher.writers.search import build_index, shard_count, shard_of, split_shards
from tests.conftest import CONTENT, service_text


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, BuildResult]]:
    out = tmp_path_factory.mktemp("search") / "site"
    result = build(BuildOptions(content_dir=CONTENT, out_dir=out,
                                formats=["html", "search", "opendata"], audit=False))
    assert result.published, [d.format() for d in result.diagnostics]
    yield out, result


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serving(folder: Path) -> Iterator[str]:
    """The folder served over HTTP on a free local port, as its address."""
    handler = functools.partial(_Quiet, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture(scope="module")
def server(built: tuple[Path, BuildResult]) -> Iterator[str]:
    out, _ = built
    with serving(out) as address:
        yield address


#: the pages a shard holds in the sharded builds: 12 French services make 4 shards
FEW_PAGES = 4

Shards = dict[str, list[list[str]]]  # language → its shards' page paths, in shard order


def shards_of(result: BuildResult) -> Shards:
    by_lang: dict[str, list[tuple[str, bytes]]] = {}
    for artifact in result.artifacts:
        if artifact.format == "html" and artifact.service and artifact.lang:
            by_lang.setdefault(artifact.lang, []).append((artifact.path, artifact.data))
    return {lang: [[path for path, _ in shard] for shard in split_shards(pages)]
            for lang, pages in by_lang.items()}


def sharded_build(content: Path, out: Path, use_cache: bool = True,
                  shard_pages: int = FEW_PAGES) -> tuple[BuildResult, Shards]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(search, "SHARD_PAGES", shard_pages)
        result = build(BuildOptions(content_dir=content, out_dir=out,
                                    formats=["html", "search", "opendata"], audit=False,
                                    use_cache=use_cache))
        assert result.published, [d.format() for d in result.diagnostics]
        return result, shards_of(result)


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildResult, Shards]:
    out = tmp_path_factory.mktemp("sharded") / "site"
    result, shards = sharded_build(CONTENT, out)
    # what the tests below rely on: 4 French shards, the third one empty
    assert [bool(shard) for shard in shards["fr"]] == [True, True, False, True]
    return out, result, shards


@pytest.fixture(scope="module")
def sharded_server(sharded: tuple[Path, BuildResult, Shards]) -> Iterator[str]:
    with serving(sharded[0]) as address:
        yield address


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    with Browser() as opened:
        yield opened


def unique_words(lang: str) -> dict[str, str]:
    """For each service of the language that has one, a word of its title found in no other
    service of the language: service id → word."""
    site = load_site(CONTENT, Diagnostics())
    assert site is not None
    texts = {}
    for doc in site.in_language(lang):
        body = " ".join(plain_text(b.children) for b in walk_blocks(doc.blocks)
                        if isinstance(b, Paragraph))
        texts[doc.id] = f"{doc.record.title} {doc.record.summary} {body}".casefold()
    found = {}
    for doc in site.in_language(lang):
        for word in re.findall(r"\w{7,}", doc.record.title.casefold()):
            # Pagefind matches stems and prefixes: no other text may contain the word's start
            if not any(word[:6] in text for other, text in texts.items() if other != doc.id):
                found[doc.id] = word
                break
    return found


def unique_french_word() -> tuple[str, str]:
    """A word of one French service's title found in no other French service: (word, id)."""
    for service, word in unique_words("fr").items():
        return word, service
    raise AssertionError("no French service has a word of its own")


def tab_to(browser: Browser, element_id: str, limit: int = 30) -> None:
    for _ in range(limit):
        browser.press(Keys.TAB)
        if browser.driver.switch_to.active_element.get_attribute("id") == element_id:
            return
    raise AssertionError(f"Tab never reached #{element_id}")


def status_text(browser: Browser) -> str:
    text: str = browser.driver.find_element("id", "search-status").text
    return text


# ------------------------------------------------------------------ the index


def test_the_index_has_one_language_each_with_its_service_pages(
    built: tuple[Path, BuildResult]
) -> None:
    out, result = built
    entry = json.loads((out / "pagefind" / "pagefind-entry.json").read_text(encoding="utf-8"))
    counts = {lang: info["page_count"] for lang, info in entry["languages"].items()}
    pages = [a for a in result.artifacts if a.format == "html"]
    assert counts == {lang: sum(1 for a in pages if a.lang == lang) for lang in ("en", "fr", "ar")}
    assert (out / "pagefind" / "pagefind.js").is_file()
    assert not list((out / "pagefind").glob("pagefind-ui*"))  # the page uses the JS API only
    # a small site has one shard per language: no other folder, nothing for the page to merge
    assert sorted(p.name for p in (out / "pagefind").iterdir() if p.is_dir()) == [
        "fragment", "index"]
    assert "data-shards" not in (out / "fr" / "search" / "index.html").read_text()


def test_the_index_is_the_same_bytes_every_time() -> None:
    pages = [("fr/a/index.html", b"<html lang='fr'><body><main><h1>Piscine</h1>"
              b"<p>Nager le matin.</p></main></body></html>"),
             ("en/a/index.html", b"<html lang='en'><body><main><h1>Pool</h1>"
              b"<p>Swim in the morning.</p></main></body></html>")]
    first, second = build_index(pages), build_index(list(reversed(pages)))
    assert first == second
    assert set(json.loads(first["pagefind-entry.json"])["languages"]) == {"en", "fr"}


# ------------------------------------------------------------------ the pages


def test_only_the_search_page_may_run_scripts(built: tuple[Path, BuildResult]) -> None:
    out, _ = built
    parser = etree.HTMLParser()
    search = etree.parse(str(out / "fr" / "search" / "index.html"), parser)
    csp = search.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")[0]
    assert "script-src 'self' 'wasm-unsafe-eval'" in csp
    form = search.xpath("//form[@id='search-form']")[0]
    assert urljoin("https://x.example/fr/search/", form.get("action")) == "https://x.example/fr/"
    assert form.get("method") == "get"
    assert search.xpath("//label[@for='search-q']") and search.xpath("//input[@id='search-q']")
    assert search.xpath("//*[@id='search-status'][@role='status']")
    assert not search.xpath("//header//form")  # one search form on the search page
    page = etree.parse(str(out / "fr" / "marriage" / "index.html"), parser)
    csp = page.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")[0]
    assert "script-src 'none'" in csp
    header = page.xpath("//header//form[@role='search']")[0]
    assert urljoin("https://x.example/fr/marriage/", header.get("action")) == (
        "https://x.example/fr/search/")
    assert page.xpath("//header//label[@for='site-search-q']")


# ------------------------------------------------------------------ in the browser


def test_a_keyboard_user_finds_a_french_service(browser: Browser, server: str) -> None:
    word, service = unique_french_word()
    driver = browser.driver
    # from another service's page, through the search field in the site header
    driver.get(f"{server}fr/marriage/" if service != "marriage" else f"{server}fr/library-card/")
    tab_to(browser, "site-search-q")
    browser.press(*word, Keys.ENTER)
    WebDriverWait(driver, 20).until(lambda d: ":" in status_text(browser))
    assert driver.current_url.startswith(f"{server}fr/search/")
    assert word in status_text(browser)
    links = driver.find_elements("css selector", "#search-results a")
    assert links and links[0].get_attribute("href") == f"{server}fr/{service}/"
    # then on to the first result, still with the keyboard only
    for _ in range(20):
        browser.press(Keys.TAB)
        if driver.switch_to.active_element.get_attribute("href") == f"{server}fr/{service}/":
            break
    else:
        raise AssertionError("Tab never reached the first result")
    browser.press(Keys.ENTER)
    WebDriverWait(driver, 20).until(lambda d: d.current_url == f"{server}fr/{service}/")


def test_results_are_announced_and_pass_axe(browser: Browser, server: str) -> None:
    driver = browser.driver
    driver.get(f"{server}fr/search/?q=carte")
    WebDriverWait(driver, 20).until(lambda d: ":" in status_text(browser))
    status = driver.find_element("id", "search-status")
    assert status.get_attribute("role") == "status"  # a polite live region
    assert driver.find_elements("css selector", "#search-results li")
    script = axe_script()
    if not script.is_file():
        pytest.skip(f"axe-core is not installed ({script})")
    axe = Axe(driver, script_url=str(script))
    axe.inject()
    results = axe.run(options=axe_options())
    assert results["violations"] == []


def test_nothing_found_is_said_too(browser: Browser, server: str) -> None:
    driver = browser.driver
    driver.get(f"{server}fr/search/")
    tab_to(browser, "search-q")
    browser.press("zzqxwv", Keys.ENTER)
    WebDriverWait(driver, 20).until(lambda d: "zzqxwv" in status_text(browser))
    assert not driver.find_elements("css selector", "#search-results a")


def test_without_an_index_the_form_leads_to_the_catalogue(
    browser: Browser, built: tuple[Path, BuildResult]
) -> None:
    out, _ = built
    driver = browser.driver
    # opened from disk, the browser refuses to load the index: the form falls back
    driver.get((out / "fr" / "search" / "index.html").as_uri())
    tab_to(browser, "search-q")
    browser.press("piscine", Keys.ENTER)
    catalogue = (out / "fr").as_uri() + "/"
    WebDriverWait(driver, 20).until(lambda d: d.current_url.split("?")[0] in (
        catalogue, catalogue + "index.html"))


# ------------------------------------------------------------------ made per language


def test_the_index_made_per_language_is_the_index_made_at_once(
    built: tuple[Path, BuildResult]
) -> None:
    """Pagefind runs once per language at least (once per shard: a small site has one); merged,
    the first shards' bundles are byte for byte the bundle of one run over every page."""
    from publisher.writers.search import merge_bundles

    _, result = built
    pages = sorted((a.path, a.data) for a in result.artifacts if a.format == "html")
    langs = sorted({a.lang for a in result.artifacts if a.format == "html" and a.lang})
    merged = merge_bundles([build_index([p for p in pages if p[0].startswith(f"{lang}/")])
                            for lang in langs])
    assert merged == build_index(pages)


def record_indexing(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """From now on, the pages of every Pagefind run, run by run."""
    indexed: list[list[str]] = []
    original = search.build_index

    def recording(pages: list[tuple[str, bytes]]) -> dict[str, bytes]:
        indexed.append([path for path, _ in pages])
        return original(pages)

    monkeypatch.setattr(search, "build_index", recording)
    return indexed


def test_an_edit_re_indexes_its_language_only(
    content: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = BuildOptions(content_dir=content, out_dir=tmp_path / "site", formats=["html"],
                           audit=False, jobs=1)
    assert build(options).published
    indexed = record_indexing(monkeypatch)
    page = content / "fr" / "sample.md"
    page.write_text(page.read_text().replace("Du texte.", "Un autre texte."))
    result = build(options)
    assert result.published and not result.unchanged
    assert indexed == [["fr/sample/index.html"]]
    entry = json.loads((tmp_path / "site" / "pagefind" / "pagefind-entry.json").read_bytes())
    assert sorted(entry["languages"]) == ["en", "fr"]


def _children() -> list[str]:
    """The name and command of each of this process's children (from /proc), even of one that
    ended and was never waited for (a zombie keeps its name but loses its command)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, _, rest = stat.read_text().partition(" (")[2].rpartition(")")
            if int(rest.split()[1]) == os.getpid():
                command = (stat.parent / "cmdline").read_bytes().decode(errors="replace")
                found.append(f"{name} {command}")
        except (OSError, ValueError, IndexError):
            continue
    return found


def test_indexing_leaves_no_pagefind_process_behind() -> None:
    pages = [("en/a/index.html", b"<html lang='en'><body><main><h1>A</h1><p>Text.</p>"
              b"</main></body></html>")]
    before = [c for c in _children() if "pagefind" in c]
    for _ in range(2):
        assert "pagefind-entry.json" in build_index(pages)
    assert [c for c in _children() if "pagefind" in c] == before


def test_a_failing_pagefind_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "pagefind"
    broken.write_text("#!/bin/sh\necho 'Error: the site folder is unreadable' >&2\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setattr(importlib.import_module("pagefind_bin"), "get_executable", lambda: broken)
    with pytest.raises(RuntimeError, match=r"exit status 3.*site folder is unreadable"):
        build_index([("en/a/index.html", b"<html lang='en'><main>A</main></html>")])


def test_a_build_whose_index_fails_publishes_nothing(
    content: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index is made while the build writes the rest (Writer.render_unread): when it fails,
    the build still says so, names the search, and leaves the published output as it was."""
    out = tmp_path / "site"
    options = BuildOptions(content_dir=content, out_dir=out,
                           formats=["html", "search", "opendata"], audit=False, jobs=1)
    assert build(options).published
    before = {f.relative_to(out).as_posix(): f.read_bytes()
              for f in sorted(out.rglob("*")) if f.is_file()}
    broken = tmp_path / "pagefind"
    broken.write_text("#!/bin/sh\necho 'Error: out of disk space' >&2\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setattr(importlib.import_module("pagefind_bin"), "get_executable", lambda: broken)
    page = content / "fr" / "sample.md"
    page.write_text(page.read_text(encoding="utf-8").replace("Du texte.", "Un autre texte."),
                    encoding="utf-8")
    result = build(options)
    assert not result.published
    messages = [d.message for d in result.diagnostics.errors]
    assert any("search" in m and "out of disk space" in m for m in messages), messages
    after = {f.relative_to(out).as_posix(): f.read_bytes()
             for f in sorted(out.rglob("*")) if f.is_file()}
    assert after == before


# ------------------------------------------------------------------ sharded


def test_shards_are_a_power_of_two_of_about_shard_pages() -> None:
    assert search.SHARD_PAGES == 64
    counts = {pages: shard_count(pages) for pages in (0, 1, 64, 65, 128, 129, 256, 257, 1000)}
    assert counts == {0: 1, 1: 1, 64: 1, 65: 2, 128: 2, 129: 4, 256: 4, 257: 8, 1000: 16}


def test_a_page_keeps_its_shard_when_another_is_added(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "SHARD_PAGES", FEW_PAGES)
    paths = [f"fr/service-{n:04}/index.html" for n in range(13)]  # 4 shards

    def shard_by_path(paths: list[str]) -> dict[str, int]:
        shards = split_shards([(path, b"") for path in paths])
        return {path: k for k, shard in enumerate(shards) for path, _ in shard}

    before = shard_by_path(paths)
    assert set(before.values()) == {0, 1, 2, 3}
    # a new page, sorted first, in the same number of shards: no page moves
    after = shard_by_path(["fr/aaa/index.html", *paths])
    assert {path: after[path] for path in paths} == before
    # 17 pages make 8 shards: a page stays in its shard k or moves to k + 4, never elsewhere
    more = shard_by_path([*paths, *(f"fr/zzz-{n}/index.html" for n in range(4))])
    assert all(more[path] in (k, k + 4) for path, k in before.items())
    assert any(more[path] != k for path, k in before.items())
    # a digest of the path, not Python's salted hash(): the same shard in every process
    assert shard_of("fr/marriage/index.html", 16) == 9


def _fragment_urls(folder: Path) -> list[str]:
    """The addresses of the pages a Pagefind index holds, read from its fragments."""
    urls = []
    for fragment in folder.glob("fragment/*.pf_fragment"):
        data = gzip.decompress(fragment.read_bytes())
        assert data.startswith(b"pagefind_dcd")
        urls.append(json.loads(data[len("pagefind_dcd"):])["url"])
    return sorted(urls)


def test_each_shard_of_a_language_is_an_index_of_its_own(
    sharded: tuple[Path, BuildResult, Shards]
) -> None:
    out, _, shards = sharded
    bundle = out / "pagefind"
    entry = json.loads((bundle / "pagefind-entry.json").read_bytes())
    # the primary bundle holds shard 0 of every language, and Pagefind's script and WebAssembly
    assert {lang: info["page_count"] for lang, info in entry["languages"].items()} == {
        lang: len(lang_shards[0]) for lang, lang_shards in shards.items()}
    assert (bundle / "pagefind.js").is_file() and (bundle / "wasm.fr.pagefind").is_file()
    fr = shards["fr"]
    pages = [url for url in _fragment_urls(bundle) if url.startswith("/fr/")]
    assert pages == sorted(f"/{path.removesuffix('index.html')}" for path in fr[0])
    assert not (bundle / "fr-2").exists()  # an empty shard has no index
    for k, paths in ((1, fr[1]), (3, fr[3])):
        folder = bundle / f"fr-{k}"
        files = sorted(f.relative_to(folder).as_posix() for f in folder.rglob("*") if f.is_file())
        # what mergeIndex loads, and nothing else: the primary's WebAssembly searches it
        assert "pagefind-entry.json" in files and any(".pf_meta" in name for name in files)
        assert [name for name in files if not (
            name == "pagefind-entry.json" or name.startswith(("index/", "fragment/", "filter/"))
            or re.fullmatch(r"pagefind\.fr_\w+\.pf_meta", name))] == []
        shard_entry = json.loads((folder / "pagefind-entry.json").read_bytes())
        assert {lang: info["page_count"] for lang, info in shard_entry["languages"].items()} == {
            "fr": len(paths)}
        assert _fragment_urls(folder) == sorted(
            f"/{path.removesuffix('index.html')}" for path in paths)
    # the French search page names its other shards, in order, relative to itself
    page = etree.parse(str(out / "fr" / "search" / "index.html"), etree.HTMLParser())
    form = page.xpath("//form[@id='search-form']")[0]
    urls = form.get("data-shards").split(" ")
    assert urls == ["../../pagefind/fr-1/", "../../pagefind/fr-3/"]
    assert urljoin("https://x.example/fr/search/", urls[0]) == "https://x.example/pagefind/fr-1/"


def test_an_empty_first_shard_leaves_the_next_one_primary(content: Path, tmp_path: Path) -> None:
    """Only a tiny site can have an empty shard 0; the page's language must still be in the
    primary bundle, or Pagefind would search the largest other language instead."""
    for extra in ("extra-0", "extra-1"):
        for lang in ("en", "fr"):
            (content / lang / f"{extra}.md").write_text(
                service_text(id=extra, title=f"Service {extra}", body="Some text.\n"),
                encoding="utf-8")
    out = tmp_path / "site"
    _, shards = sharded_build(content, out, shard_pages=1)
    fr = shards["fr"]
    assert fr[0] == [] and fr[1] and fr[2] and not fr[3]  # what this test is about
    entry = json.loads((out / "pagefind" / "pagefind-entry.json").read_bytes())
    assert entry["languages"]["fr"]["page_count"] == len(fr[1])
    assert sorted(p.name for p in (out / "pagefind").glob("fr-*")) == ["fr-2"]
    page = etree.parse(str(out / "fr" / "search" / "index.html"), etree.HTMLParser())
    assert page.xpath("//form[@id='search-form']/@data-shards") == ["../../pagefind/fr-2/"]


def test_a_sharded_index_is_the_same_bytes_every_time(
    sharded: tuple[Path, BuildResult, Shards], tmp_path: Path
) -> None:
    """Built again in another process, whose string hashes are salted differently."""
    out, _, _ = sharded
    again = tmp_path / "site"
    script = (
        "import sys; from pathlib import Path; from tests.test_search import sharded_build; "
        "sharded_build(Path(sys.argv[1]), Path(sys.argv[2]), use_cache=False)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", script, str(CONTENT), str(again)], check=True,
                   cwd=CONTENT.parent, env=env, timeout=300)

    def tree(root: Path) -> dict[str, bytes]:
        return {f.relative_to(root).as_posix(): f.read_bytes()
                for f in sorted(root.rglob("*")) if f.is_file()}

    assert tree(again / "pagefind") == tree(out / "pagefind")
    for lang in ("en", "fr", "ar"):
        page = f"{lang}/search/index.html"
        assert (again / page).read_bytes() == (out / page).read_bytes()


def test_an_edit_re_indexes_one_shard_of_its_language(
    copy_of_example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "site"
    _, shards = sharded_build(copy_of_example, out)
    assert len(shards["fr"]) > 1
    indexed = record_indexing(monkeypatch)
    page = copy_of_example / "fr" / "marriage.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nUn paragraphe de plus.\n",
                    encoding="utf-8")
    result, shards = sharded_build(copy_of_example, out)
    assert not result.unchanged
    edited = next(shard for shard in shards["fr"] if "fr/marriage/index.html" in shard)
    assert indexed == [edited]


# ------------------------------------------------------------------ sharded, in the browser


def test_one_search_finds_pages_of_every_shard(
    browser: Browser, sharded: tuple[Path, BuildResult, Shards], sharded_server: str
) -> None:
    _, _, shards = sharded
    words = unique_words("fr")
    shard = {path.split("/")[1]: k for k, paths in enumerate(shards["fr"]) for path in paths}
    in_primary = next(service for service in words if shard[service] == 0)
    merged = next(service for service in words if shard[service] > 0)
    driver = browser.driver
    for service in (merged, in_primary):
        word = words[service]
        driver.get(f"{sharded_server}fr/search/")
        tab_to(browser, "search-q")
        browser.press(word, Keys.ENTER)

        def answered(_: object, word: str = word) -> bool:
            return word in status_text(browser)

        WebDriverWait(driver, 20).until(answered)
        links = driver.find_elements("css selector", "#search-results a")
        assert [link.get_attribute("href") for link in links][:1] == [
            f"{sharded_server}fr/{service}/"], (service, shard[service], status_text(browser))
