"""Where the audits run: the formats' audits beside the website's in a process of their own, and
the website's pages shared between two tabs of the browser. Neither may change a finding."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import publisher.audit as audit_module
from publisher.audit import inputs_for_build, inputs_for_paths, run_audits
from publisher.audits import AuditContext, AuditInput, Finding, is_not_checked
from publisher.audits import html as html_audit
from publisher.browser import Browser
from publisher.build import BuildResult
from publisher.cache import Store
from publisher.config import load_config
from publisher.diagnostics import Diagnostics
from publisher.load import load_site

from .conftest import CONTENT


def _inputs(out: Path, suffixes: tuple[str, ...], service: str = "library-card"
            ) -> list[AuditInput]:
    found = inputs_for_paths([out], Diagnostics())
    return [item for item in found
            if item.path.suffix in suffixes and f"/{service}/" in f"/{item.name}"]


def _context(out: Path) -> AuditContext:
    return AuditContext(load_config(CONTENT / "site.yaml", Diagnostics()), out)


def test_the_formats_audits_find_in_their_process_what_they_find_here(
    example_build: tuple[Path, BuildResult],
) -> None:
    out, _ = example_build
    inputs = _inputs(out, (".pdf", ".brf", ".pef", ".mp3", ".vtt"))
    work = {name: [item for item in inputs if item.path.suffix in audit.suffixes]
            for name, audit in audit_module.registry().items() if name != "html"}
    work = {name: items for name, items in work.items() if items}
    assert set(work) >= {"audio", "braille", "pdf"}
    here = audit_module._here(work, _context(out))
    there = audit_module._in_child(work, _context(out))
    assert set(there) == set(here)
    for name, findings in here.items():
        assert not isinstance(findings, str), findings
        assert findings, name
        assert [f.to_json() for f in there[name]] == [f.to_json() for f in findings]  # type: ignore[union-attr]


def test_an_audit_process_that_fails_is_an_audit_that_could_not_run(
    example_build: tuple[Path, BuildResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    out, _ = example_build
    inputs = _inputs(out, (".brf", ".pdf"))
    monkeypatch.setattr(audit_module, "_CHILD", "import sys\nsys.exit('the engines are gone')\n")
    work = {"braille": [i for i in inputs if i.path.suffix == ".brf"],
            "pdf": [i for i in inputs if i.path.suffix == ".pdf"]}
    failed = audit_module._in_child(work, _context(out))
    assert failed == {name: "its process failed: the engines are gone" for name in work}
    # and such a failure is an error of the build, never findings that pass
    monkeypatch.setattr(audit_module, "_here", audit_module._in_child)
    diagnostics = Diagnostics()
    findings = run_audits(inputs, _context(out), diagnostics)
    assert findings == []
    assert sorted(d.code for d in diagnostics.errors) == ["B002", "B002"]
    assert all("could not run: its process failed: the engines are gone" in d.message
               for d in diagnostics.errors)


def test_two_tabs_find_what_one_finds(
    example_build: tuple[Path, BuildResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    out, _ = example_build
    pages = _inputs(out, (".html",))[:2] + [
        item for item in inputs_for_paths([out], Diagnostics())
        if item.name in ("en/index.html", "fr/index.html", "reports/accessibility/index.html")]
    assert len(pages) == 5
    monkeypatch.setattr(html_audit, "BROWSERS", 1)
    one = html_audit.AUDIT.audit(pages, _context(out))
    started: list[str] = []
    real = html_audit.HtmlAudit._in_browser

    def counted(self: html_audit.HtmlAudit, browser: Browser, *args: object) -> None:
        started.append(type(browser).__name__)
        real(self, browser, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(html_audit.HtmlAudit, "_in_browser", counted)
    monkeypatch.setattr(html_audit, "BROWSERS", 2)
    monkeypatch.setattr(html_audit, "SECOND_BROWSER_PAGES", 1)
    two = html_audit.AUDIT.audit(pages, _context(out))
    assert started == ["Browser", "Tab"]  # the second tab did join
    assert [f.to_json() for f in two] == [f.to_json() for f in one]


def test_a_build_validates_the_markup_of_every_page_in_one_run(
    copy_of_example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The validator starts once a build (~2 s of CPU on Java each start): the outputs' pages
    wait for the second round, where the report's pages join them."""
    from publisher.audits import markup as markup_audit
    from publisher.build import BuildOptions, build

    runs: list[list[str]] = []
    real = markup_audit._run_vnu

    def counted(java: str, jar: Path, files: list[Path], heap: str) -> dict[str, object]:
        runs.append(sorted(str(f) for f in files))
        return real(java, jar, files, heap)

    monkeypatch.setattr(markup_audit, "_run_vnu", counted)
    # every audit in this process, so that the count sees the validator's runs
    monkeypatch.setattr(audit_module, "_in_child", audit_module._here)
    out = tmp_path / "site"
    result = build(BuildOptions(content_dir=copy_of_example, out_dir=out, formats=("html",),
                                jobs=1, use_cache=False))
    assert result.published
    pages = sorted(str(path.relative_to(out)) for path in out.rglob("*.html"))
    assert any(page.startswith("reports/") for page in pages)
    assert len(runs) == 1 and len(runs[0]) == len(pages)
    assert {f.artifact for f in result.findings if f.check == "html.valid"} == set(pages)


def test_a_check_a_missing_tool_could_not_make_is_made_once_the_tool_is_there(
    example_build: tuple[Path, BuildResult], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With poppler missing, the PDFs' reading order cannot be checked: that says nothing of the
    files, so the audit's cache must not keep it — the next audit, with poppler, checks them."""
    out, result = example_build
    site = load_site(CONTENT, Diagnostics())
    assert site is not None
    inputs = [item for item in inputs_for_build(out, result.artifacts, site.documents)
              if item.path.suffix == ".pdf" and "/library-card/" in f"/{item.name}"]
    assert inputs and all(item.document is not None for item in inputs)
    store = Store(tmp_path / "cache")
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which",
                        lambda name, *a, **k: None if name == "pdftotext" else real_which(name))

    def reading_order() -> list[Finding]:
        found = run_audits(inputs, _context(out), Diagnostics(), store=store)
        return [f for f in found if f.check == "pdf.reading-order"]

    missing = reading_order()
    assert len(missing) == len(inputs)
    assert all(is_not_checked(f) and "poppler" in f.message for f in missing)
    monkeypatch.setattr(shutil, "which", real_which)
    checked = reading_order()
    assert len(checked) == len(inputs)
    assert not any(is_not_checked(f) for f in checked)
    assert {f.outcome for f in checked} == {"passed"}
    # and what was checked is kept: the same findings from the cache
    assert [f.to_json() for f in reading_order()] == [f.to_json() for f in checked]


def test_installing_an_audit_program_changes_the_audits_cache_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The audit cache is keyed on the programs the audits run: a file audited with one
    pdftotext or Java is audited again with another, or once one is installed."""
    real_which = shutil.which
    fake = tmp_path / "pdftotext"
    fake.write_bytes(b"#!/bin/sh\n")

    def key(which: Callable[[str], str | None]) -> str:
        monkeypatch.setattr(shutil, "which", lambda name, *a, **k: which(name))
        audit_module.engines_version.cache_clear()
        try:
            return audit_module.engines_version()
        finally:
            monkeypatch.setattr(shutil, "which", real_which)
            audit_module.engines_version.cache_clear()

    missing = key(lambda name: None if name == "pdftotext" else real_which(name))
    installed = key(lambda name: str(fake) if name == "pdftotext" else real_which(name))
    assert missing != installed
    assert key(lambda name: str(fake) if name == "pdftotext" else real_which(name)) == installed
    fake.write_bytes(b"#!/bin/sh\n# upgraded\n")
    assert key(lambda name: str(fake) if name == "pdftotext" else real_which(name)) != installed


def test_the_audio_audit_decodes_a_notice_itself_without_ffmpeg(
    example_build: tuple[Path, BuildResult], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A notice the audit must decode itself (here: its document known, but not the writer's
    proof of its sound) is decoded in process: on a machine without ffmpeg every check of it
    is made, with the figures the writer proved."""
    from publisher.audits.audio import AUDIT

    out, result = example_build
    site = load_site(CONTENT, Diagnostics())
    assert site is not None
    built = inputs_for_build(out, result.artifacts, site.documents)
    notices = [item for item in built if item.path.suffix in (".mp3", ".vtt")
               and "/library-card/" in f"/{item.name}"]
    proven = AUDIT.audit(notices, _context(out))
    inputs = [dataclasses.replace(item, artifact=None) for item in notices]
    mp3s = [item.name for item in inputs if item.path.suffix == ".mp3"]
    assert mp3s and all(item.document is not None for item in inputs)
    monkeypatch.setenv("PATH", str(tmp_path))  # no ffmpeg on it
    assert shutil.which("ffmpeg") is None
    decoded = AUDIT.audit(inputs, _context(out))
    assert not any(is_not_checked(f) for f in decoded)
    for name in mp3s:
        found = {f.check: f for f in decoded if f.artifact == name}
        assert {f.outcome for f in found.values()} == {"passed"}
        assert {"audio.decodes", "audio.pace", "audio.silence", "audio.loudness",
                "audio.true-peak", "audio.captions-timing", "audio.captions-complete",
                "audio.transcript", "audio.id3-tags"} <= set(found)
    assert [f.to_json() for f in decoded] == [f.to_json() for f in proven]


def test_a_new_pdfua_validator_changes_the_audits_cache_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The PDF/UA-1 validator's rules are the PDF audit's verdicts: another version of it
    audits every PDF again."""
    import importlib.metadata

    real_version = importlib.metadata.version

    def key(validator: str) -> str:
        monkeypatch.setattr(importlib.metadata, "version", lambda name: validator
                            if name == "page-validation" else real_version(name))
        audit_module.engines_version.cache_clear()
        try:
            return audit_module.engines_version()
        finally:
            monkeypatch.setattr(importlib.metadata, "version", real_version)
            audit_module.engines_version.cache_clear()

    assert key("0.11.0") == key("0.11.0")
    assert key("0.11.0") != key("0.12.0")
