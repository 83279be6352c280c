"""Fixtures chained configuration → content → build, shared by the whole suite.

``example_html`` builds the example catalogue's website once per session (fast); ``full_build``
builds every format once per session (slow: real PDF, braille and speech engines).
"""

from __future__ import annotations

import hashlib
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from publisher.build import BuildOptions, BuildResult, build

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
SHARED = ROOT.parent / "shared"

SITE_YAML = """\
organisation:
  en: Test Town
  fr: Ville test
  ar: مدينة الاختبار
base_url: https://test.example/
default_language: en
languages:
  - code: en
    name: English
  - code: fr
    name: Français
  - code: ar
    name: العربية
    direction: rtl
accessibility_contact:
  email: a11y@test.example
topics:
  transport:
    en: Transport
    fr: Transports
    ar: النقل
"""

SERVICE = """\
---
id: {id}
title: {title}
summary: A short summary of the service.
topic: transport
audience: [Residents]
channels:
  - type: phone
    phone: "+33 4 00 00 00 00"
processing_time: 2 days
contact:
  email: contact@test.example
owner: Test Department
last_reviewed: 2026-01-15
---
{body}"""


def service_text(id: str = "sample", title: str = "Sample service", body: str = "") -> str:
    return SERVICE.format(id=id, title=title, body=textwrap.dedent(body))


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A small valid content folder: one English service and its French translation."""
    folder = tmp_path / "content"
    (folder / "en").mkdir(parents=True)
    (folder / "fr").mkdir()
    (folder / "site.yaml").write_text(SITE_YAML, encoding="utf-8")
    (folder / "en" / "sample.md").write_text(
        service_text(body="## What it is\n\nSome text.\n"), encoding="utf-8"
    )
    (folder / "fr" / "sample.md").write_text(
        service_text(title="Service exemple", body="## Ce que c’est\n\nDu texte.\n"),
        encoding="utf-8",
    )
    return folder


def build_cli(content: Path, out: Path) -> int:
    """`publish build` of the website alone, as a user runs it. The audit and the cache are not
    what the bad-input tests are about; leaving them out keeps those tests fast."""
    from publisher.cli import main

    return main(["build", "--content", str(content), "--out", str(out), "--formats", "html",
                 "--quiet", "--no-audit", "--no-cache", "--jobs", "1"])


@pytest.fixture
def published(content: Path, tmp_path: Path) -> Path:
    """The small content folder, already published once (the output a bad edit must not touch)."""
    out = tmp_path / "site"
    assert build_cli(content, out) == 0
    return out


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file of a folder with its sha256, to prove that a folder was left untouched."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="session")
def example_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, BuildResult]]:
    """The example catalogue built as `./run site` builds it: every format, audited."""
    out = tmp_path_factory.mktemp("example") / "site"
    result = build(BuildOptions(content_dir=CONTENT, out_dir=out))
    assert result.published, [d.format() for d in result.diagnostics if d.severity >= 2] + [
        (f.artifact, f.check, f.message) for f in result.gate_failures]
    yield out, result


@pytest.fixture(scope="session")
def example_html(example_build: tuple[Path, BuildResult]) -> tuple[Path, BuildResult]:
    """The website of the example build (the same build: one full build per session)."""
    return example_build


@pytest.fixture
def copy_of_example(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target
