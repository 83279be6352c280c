"""Long words (email and web addresses) on narrow screens: the reflow check names the element
whose text sticks out, and our pages let such words wrap."""

from __future__ import annotations

from pathlib import Path

import pytest

from publisher.audits.html import reflow_finding
from publisher.browser import CHROMIUM, Browser

pytestmark = pytest.mark.skipif(not CHROMIUM.is_file(), reason=f"{CHROMIUM} is missing")

ROOT = Path(__file__).resolve().parent.parent
ADDRESS = "nationalhelpdesk.apprenticeships.service@apprenticeships.education.gov.uk"

PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>t</title>
<style>{style}</style></head><body><main id="main"><h1>Contact</h1>
<p>Write to us.</p><p class="contact">Email {address}</p>
<dl style="display: grid; grid-template-columns: auto 1fr"><dt>Email</dt><dd>{address}</dd></dl>
</main></body></html>"""


def test_a_long_address_fails_reflow_and_the_finding_names_its_element(tmp_path: Path) -> None:
    page = tmp_path / "narrow.html"
    page.write_text(PAGE.format(style="body { margin: 0 }", address=ADDRESS))
    site_css = (ROOT / "formats/html/assets/site.css").read_text()
    fixed = tmp_path / "fixed.html"
    fixed.write_text(PAGE.format(style=site_css, address=ADDRESS))
    with Browser() as browser:
        browser.open(page)
        failed = reflow_finding(page.name, browser)
        browser.open(fixed)
        passed = reflow_finding(fixed.name, browser)
    assert failed.outcome == "failed"
    # the grid's cell is a box too wide; the paragraph's box fits, only its text sticks out
    too_wide = failed.message.partition("too wide: ")[2].rstrip(".").split(", ")
    assert too_wide == ["#main > dl > dd", "#main > p:nth-of-type(2)"], failed.message
    assert passed.outcome == "passed", passed.message


def test_the_transcript_page_lets_long_words_wrap() -> None:
    template = (ROOT / "formats/audio/transcript.html.j2").read_text()
    assert "overflow-wrap: anywhere" in template  # proven in a browser by the migrated build
