"""Site search: the Pagefind index, the search page, and a real search in headless Chromium.

The example is built once for this module (website, search and open data, no audit) and served
over HTTP from a local server, as any web server would; Chromium then searches with the keyboard
only, as a person who cannot use a mouse would.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
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
from publisher.writers.search import build_index
from tests.conftest import CONTENT


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


@pytest.fixture(scope="module")
def server(built: tuple[Path, BuildResult]) -> Iterator[str]:
    out, _ = built
    handler = functools.partial(_Quiet, directory=str(out))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    with Browser() as opened:
        yield opened


def unique_french_word() -> tuple[str, str]:
    """A word of one French service's title found in no other French service: (word, id)."""
    site = load_site(CONTENT, Diagnostics())
    assert site is not None
    texts = {}
    for doc in site.in_language("fr"):
        body = " ".join(plain_text(b.children) for b in walk_blocks(doc.blocks)
                        if isinstance(b, Paragraph))
        texts[doc.id] = f"{doc.record.title} {doc.record.summary} {body}".casefold()
    for doc in site.in_language("fr"):
        for word in re.findall(r"\w{7,}", doc.record.title.casefold()):
            # Pagefind matches stems and prefixes: no other text may contain the word's start
            if not any(word[:6] in text for other, text in texts.items() if other != doc.id):
                return word, doc.id
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
    """Pagefind runs once per language (so that an edit re-indexes one language); merged, the
    bundles are byte for byte the bundle of one run over every page."""
    from publisher.writers.search import merge_bundles

    _, result = built
    pages = sorted((a.path, a.data) for a in result.artifacts if a.format == "html")
    langs = sorted({a.lang for a in result.artifacts if a.format == "html" and a.lang})
    merged = merge_bundles([build_index([p for p in pages if p[0].startswith(f"{lang}/")])
                            for lang in langs])
    assert merged == build_index(pages)


def test_an_edit_re_indexes_its_language_only(
    content: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from publisher.writers import search

    options = BuildOptions(content_dir=content, out_dir=tmp_path / "site", formats=["html"],
                           audit=False, jobs=1)
    assert build(options).published
    indexed: list[list[str]] = []
    original = search.build_index

    def recording(pages: list[tuple[str, bytes]]) -> dict[str, bytes]:
        indexed.append([path for path, _ in pages])
        return original(pages)

    monkeypatch.setattr(search, "build_index", recording)
    page = content / "fr" / "sample.md"
    page.write_text(page.read_text().replace("Du texte.", "Un autre texte."))
    result = build(options)
    assert result.published and not result.unchanged
    assert indexed == [["fr/sample/index.html"]]
    entry = json.loads((tmp_path / "site" / "pagefind" / "pagefind-entry.json").read_bytes())
    assert sorted(entry["languages"]) == ["en", "fr"]


def _children() -> list[str]:
    """The commands of this process's children (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
            if int(fields[1]) == os.getpid():
                found.append((stat.parent / "cmdline").read_bytes().decode(errors="replace"))
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
