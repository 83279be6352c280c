"""publish serve: the preview serves the output, rebuilds on a change and reloads the page."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from publisher.browser import Browser
from publisher.build import BuildOptions, BuildResult
from publisher.serve import Server, inject_reload, start


@pytest.fixture
def server(content: Path, tmp_path: Path) -> Iterator[tuple[Server, list[BuildResult]]]:
    results: list[BuildResult] = []
    options = BuildOptions(content_dir=content, out_dir=tmp_path / "site", formats=["html"],
                           audit=False, jobs=1)
    running = start(options, "127.0.0.1", 0, results.append)
    try:
        yield running, results
    finally:
        running.stop()


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode("utf-8"))


def wait_for(condition: object, seconds: float = 30) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_serves_rebuilds_and_reloads(server: tuple[Server, list[BuildResult]],
                                     content: Path) -> None:
    running, results = server
    page_url = running.url + "en/sample/"
    page = fetch(page_url)
    assert "Sample service" in page and "/__publisher/reload.js" in page
    assert "script-src 'self'" in page  # the preview's CSP admits only its own reload script
    with Browser() as browser:
        browser.driver.get(page_url)
        assert "Sample service" in browser.driver.title
        source = content / "en" / "sample.md"
        source.write_text(source.read_text().replace("title: Sample service",
                                                     "title: Renamed service"))
        wait_for(lambda: "Renamed service" in fetch(page_url))
        # the open page reloads itself, nobody navigates
        wait_for(lambda: "Renamed service" in browser.driver.title)
    assert results[-1].published


def test_a_broken_edit_keeps_the_previous_output(server: tuple[Server, list[BuildResult]],
                                                 content: Path) -> None:
    running, results = server
    source = content / "en" / "sample.md"
    source.write_text(source.read_text().replace("owner:", "ownr:"))
    wait_for(lambda: len(results) >= 2)
    assert not results[-1].published
    assert any(d.code == "C103" for d in results[-1].diagnostics)
    assert "Sample service" in fetch(running.url + "en/sample/")


def test_inject_reload_rewrites_only_the_preview_policy() -> None:
    page = (b'<html><head><meta http-equiv="Content-Security-Policy" content="default-src '
            b"'none'; script-src 'none'\"></head><body></body></html>")
    out = inject_reload(page)
    assert b"script-src 'self'" in out and b"script-src 'none'" not in out
    assert out.endswith(b'<script src="/__publisher/reload.js"></script></body></html>')
