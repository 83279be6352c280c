"""publish serve: the preview serves the output, rebuilds on a change and reloads the page."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_selenium_python import Axe

from publisher.audits.html import axe_options, axe_script
from publisher.browser import Browser
from publisher.build import BuildOptions
from publisher.cli import rebuild_line
from publisher.serve import Rebuild, Server, ignore_rule, inject_reload, start


@pytest.fixture
def server(content: Path, tmp_path: Path) -> Iterator[tuple[Server, list[Rebuild]]]:
    results: list[Rebuild] = []
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



def axe_on_the_panel(browser: Browser) -> dict[str, Any]:
    """axe-core's results on the problems panel of the page the browser shows."""
    script = axe_script()
    if not script.is_file():
        pytest.skip(f"axe-core is not installed ({script})")
    axe = Axe(browser.driver, script_url=str(script))
    axe.inject()
    results: dict[str, Any] = axe.run(context="#publisher-problems", options=axe_options())
    return results

def test_serves_rebuilds_and_reloads(server: tuple[Server, list[Rebuild]],
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
    assert results[-1].result.published


def test_a_broken_edit_keeps_the_previous_output(server: tuple[Server, list[Rebuild]],
                                                 content: Path) -> None:
    running, results = server
    source = content / "en" / "sample.md"
    source.write_text(source.read_text().replace("owner:", "ownr:"))
    wait_for(lambda: len(results) >= 2)
    assert not results[-1].result.published
    assert any(d.code == "C103" for d in results[-1].result.diagnostics)
    assert "Sample service" in fetch(running.url + "en/sample/")


def test_inject_reload_rewrites_only_the_preview_policy() -> None:
    page = (b'<html><head><meta http-equiv="Content-Security-Policy" content="default-src '
            b"'none'; script-src 'none'\"></head><body></body></html>")
    out = inject_reload(page)
    assert b"script-src 'self'" in out and b"script-src 'none'" not in out
    assert out.endswith(b'<script src="/__publisher/reload.js"></script></body></html>')


# --- the watcher: one rebuild per real change, then quiet -----------------------------------


class ServeProcess:
    """``publish serve`` as an author runs it, its terminal output read from a file."""

    def __init__(self, content: Path, out: Path, log: Path) -> None:
        self.log = log
        self.stream = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "publisher.cli", "serve", "--content", str(content),
             "--out", str(out), "--port", "0", "-j", "1"],
            stdout=self.stream, stderr=subprocess.STDOUT, cwd=content.parent,
            env={**os.environ, "COLUMNS": "400"},
        )

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def rebuild_lines(self) -> list[str]:
        return [line for line in self.text().splitlines() if " changed: " in line]

    def cpu_seconds(self) -> float:
        """The CPU time the process has used (user and system), from /proc."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self.stream.close()


def assert_quiet(serve: ServeProcess, seconds: float) -> None:
    """No output at all for ``seconds``: no rebuild, no warning printed again."""
    before = serve.text()
    time.sleep(seconds)
    assert serve.text() == before, serve.text()[len(before):]


def test_each_save_rebuilds_once_and_then_the_preview_is_quiet(content: Path,
                                                              tmp_path: Path) -> None:
    translation = content / "fr" / "sample.md"  # made from an older version: a T001 warning
    translation.write_text(translation.read_text().replace(
        "id: sample\n", "id: sample\nsource_revision: 0123456789abcdef\n"))
    serve = ServeProcess(content, tmp_path / "site", tmp_path / "serve.log")
    try:
        wait_for(lambda: "serving" in serve.text(), 60)
        assert serve.text().count("warning[T001]") == 1
        assert_quiet(serve, 2)
        source = content / "en" / "sample.md"

        # 1. written in place (most editors' default)
        source.write_text(source.read_text().replace("Some text.", "Some new text."))
        wait_for(lambda: len(serve.rebuild_lines()) >= 1)
        assert_quiet(serve, 5)
        assert len(serve.rebuild_lines()) == 1
        line = serve.rebuild_lines()[0]
        assert line.startswith("en/sample.md changed: rebuilt") or \
            line.startswith("content/en/sample.md changed: rebuilt"), line
        assert "sample (en) html" in line and " s " in line
        # the translation's warning is still open: said once, at the start, not at each build
        assert serve.text().count("warning[T001]") == 1
        assert line.endswith("1 problems open"), line

        # 2. a new file renamed over the old one (vim's backupcopy, atomic writers), with the
        # swap file and the write probe editors leave beside it
        (content / "en" / ".sample.md.swp").write_bytes(b"swap")
        (content / "en" / "4913").write_bytes(b"")
        (content / "en" / "4913").unlink()
        handle, temporary = tempfile.mkstemp(prefix=".sample.md.", dir=content / "en")
        with os.fdopen(handle, "w", encoding="utf-8") as new:
            new.write(source.read_text().replace("Some new text.", "Other text."))
        os.replace(temporary, source)
        (content / "en" / ".sample.md.swp").unlink()
        wait_for(lambda: len(serve.rebuild_lines()) >= 2)
        assert_quiet(serve, 5)
        assert len(serve.rebuild_lines()) == 2
        assert serve.text().count("warning[T001]") == 1

        # 3. saved without a change, in place and by rename, and touched: nothing to rebuild
        unchanged = source.read_bytes()
        source.write_bytes(unchanged)
        handle, temporary = tempfile.mkstemp(prefix=".sample.md.", dir=content / "en")
        with os.fdopen(handle, "wb") as same:
            same.write(unchanged)
        os.replace(temporary, source)
        os.utime(content / "fr" / "sample.md")
        assert_quiet(serve, 5)
        assert len(serve.rebuild_lines()) == 2

        # and idle: no loop keeps a core busy (the bug was a rebuild twice a second)
        before = serve.cpu_seconds()
        assert_quiet(serve, 5)
        assert serve.cpu_seconds() - before < 0.5
    finally:
        serve.stop()


def test_the_build_s_own_writes_and_editor_litter_are_not_inputs(content: Path,
                                                                 tmp_path: Path) -> None:
    options = BuildOptions(content_dir=content, out_dir=tmp_path / "site")
    ignored = ignore_rule(options)
    for own in ("site/en/index.html", ".site.cache/packs/x", ".site.spare/en/a.html",
                ".site.new-abc/x", ".site.old-1/x", "site.rejected/x"):
        assert ignored(tmp_path / own) == (not own.startswith("site.rejected")), own
    for litter in (".sample.md.swp", "sample.md~", ".#sample.md", "#sample.md#", "4913"):
        assert ignored(content / "en" / litter), litter
    assert not ignored(content / "en" / "sample.md")
    assert not ignored(content / "site.yaml")


# --- problems shown where the author looks --------------------------------------------------


def ax_nodes(browser: Browser) -> list[dict[str, Any]]:
    """The page's accessibility tree, as Chromium gives it to screen readers."""
    tree = browser.devtools("Accessibility.getFullAXTree")
    return [node for node in tree["nodes"] if not node.get("ignored")]


def ax_value(node: dict[str, Any], key: str) -> str:
    return str(node.get(key, {}).get("value", ""))


def test_a_planted_error_is_shown_over_the_last_good_page(
        server: tuple[Server, list[Rebuild]], content: Path) -> None:
    running, results = server
    page_url = running.url + "en/sample/"
    assert "publisher-problems" not in fetch(page_url)  # a clean page has no panel
    source = content / "en" / "sample.md"
    text = source.read_text()
    source.write_text(text.replace("Some text.", "Some text.\n\n#### Too deep\n\nMore text."))
    wait_for(lambda: len(results) >= 2)
    assert not results[-1].result.published
    skipped = next(d for d in results[-1].result.diagnostics if d.code == "C202")
    assert skipped.span is not None
    where = f"{skipped.span.path}:{skipped.span.line}"
    with Browser() as browser:
        browser.driver.get(page_url)
        assert "Sample service" in browser.driver.title  # the last good page, under the panel
        nodes = ax_nodes(browser)
        regions = [n for n in nodes if ax_value(n, "role") == "region"
                   and "last build failed" in ax_value(n, "name")]
        assert len(regions) == 1, [ax_value(n, "name") for n in nodes]
        focusable = {p["name"]: p["value"].get("value") for p in regions[0].get("properties", [])}
        assert focusable.get("focusable") is True
        assert any(ax_value(n, "role") == "alert" for n in nodes)  # announced
        texts = " ".join(ax_value(n, "name") for n in nodes)
        assert where in texts and "heading level skipped" in texts
        assert "What to do: use ### here" in texts
        checked = axe_on_the_panel(browser)
        assert checked["violations"] == []
        assert checked["passes"]  # axe did look at the panel

        # fixed: the page reloads itself and the panel is gone
        source.write_text(text)
        wait_for(lambda: not browser.driver.find_elements("id", "publisher-problems"))
    published = (running.preview.options.out_dir / "en" / "sample" / "index.html").read_text()
    # the published page holds neither the panel nor the preview's script (JSON-LD only)
    assert "publisher-problems" not in published and "/__publisher/" not in published
    assert "<script src" not in published


def test_a_warning_is_shown_on_the_page_it_concerns(content: Path, tmp_path: Path) -> None:
    translation = content / "fr" / "sample.md"
    translation.write_text(translation.read_text().replace(
        "id: sample\n", "id: sample\nsource_revision: 0123456789abcdef\n"))
    options = BuildOptions(content_dir=content, out_dir=tmp_path / "site", formats=["html"],
                           audit=False, jobs=1)
    running = start(options, "127.0.0.1", 0, lambda rebuild: None)
    try:
        french = fetch(running.url + "fr/sample/")
        assert 'id="publisher-problems"' in french and "warning[T001]" in french
        assert "fr/sample.md:2" in french and "What to do: run" in french
        assert "/__publisher/problems.css" in french  # styled from the site: the CSP allows it
        assert "publisher-problems" not in fetch(running.url + "en/sample/")
    finally:
        running.stop()
    assert "publisher-problems" not in (tmp_path / "site" / "fr" / "sample" /
                                        "index.html").read_text()


# --- with --audit: the findings of the pages an edit changed, on those pages ------------------


def audited_server(content: Path, tmp_path: Path, fail_on: str) -> tuple[Server, list[Rebuild]]:
    """The preview as ``publish serve --audit [--fail-on …]`` starts it."""
    results: list[Rebuild] = []
    options = BuildOptions(content_dir=content, out_dir=tmp_path / "site", formats=["html"],
                           audit=True, fail_on=fail_on, jobs=1)
    return start(options, "127.0.0.1", 0, results.append), results


def age_the_review(content: Path) -> Path:
    """An edit that only the audit sees: the page loads and renders, but its review date is now
    older than the review period (the build's date is the newest review, the French one's)."""
    source = content / "en" / "sample.md"
    source.write_text(source.read_text().replace("last_reviewed: 2026-01-15",
                                                 "last_reviewed: 2020-01-15"))
    return source


def test_with_audit_a_changed_page_shows_its_findings(content: Path, tmp_path: Path) -> None:
    running, results = audited_server(content, tmp_path, "serious")  # the CLI's default gate
    try:
        assert results[0].result.audited
        page_url = running.url + "en/sample/"
        assert "publisher-problems" not in fetch(page_url)  # audited, and nothing failed
        age_the_review(content)
        wait_for(lambda: len(results) >= 2, 90)
        rebuild = results[-1]
        assert rebuild.result.published and rebuild.result.audited
        assert [(f.artifact, f.check) for f in rebuild.new_findings] == [
            ("en/sample/index.html", "content.review-date")]
        with Browser() as browser:
            browser.driver.get(page_url)
            nodes = ax_nodes(browser)
            regions = [n for n in nodes if ax_value(n, "role") == "region"
                       and "found 1 problem" in ax_value(n, "name")]
            assert len(regions) == 1, [ax_value(n, "name") for n in nodes]
            assert any(ax_value(n, "role") == "alert" for n in nodes)
            texts = " ".join(ax_value(n, "name") for n in nodes)
            assert "audit[content.review-date]" in texts
            assert "last reviewed on 2020-01-15" in texts and "sample.md" in texts
            assert axe_on_the_panel(browser)["violations"] == []
        # the finding is the English page's: its translation shows nothing
        assert "publisher-problems" not in fetch(running.url + "fr/sample/")
    finally:
        running.stop()


def test_with_audit_a_page_the_gate_refused_shows_why(content: Path, tmp_path: Path) -> None:
    running, results = audited_server(content, tmp_path, "moderate")
    try:
        page_url = running.url + "en/sample/"
        assert "publisher-problems" not in fetch(page_url)
        age_the_review(content)
        wait_for(lambda: len(results) >= 2, 90)
        result = results[-1].result
        assert not result.published and result.gate_failures
        assert "not published (the audit gate refused 1 findings" in rebuild_line(results[-1])
        page = fetch(page_url)  # the page as last published, with the findings that held it
        assert "The last build failed (1 problem)" in page
        assert "audit[content.review-date]" in page and "2020-01-15" in page
    finally:
        running.stop()
