"""The browser checks axe-core cannot make, each proven both ways on pages of our own.

``tests/fixtures/page-checks/`` holds, for each check, pages that fail it and pages that pass it
by each technique WCAG accepts (a skip link to any id, a skip button, landmarks, headings; a
dialog left with Escape; a focus style of the page's own; text in its declared language, and a
part in another language marked with its own lang; boxes that grow with their text; light text
on a dark photo). The folder is audited once per module, in one browser.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from publisher.audits import AuditContext, AuditInput, Finding
from publisher.audits import page_checks as checks
from publisher.audits.html import AUDIT
from publisher.browser import CHROMIUM

pytestmark = pytest.mark.skipif(
    not CHROMIUM.is_file(),
    reason=f"{CHROMIUM} is missing: install the Debian packages chromium and chromium-driver",
)

FIXTURES = Path(__file__).parent / "fixtures" / "page-checks"


@pytest.fixture(scope="module")
def findings() -> dict[str, list[Finding]]:
    pages = sorted(FIXTURES.glob("*.html"))
    by_page: dict[str, list[Finding]] = {page.name: [] for page in pages}
    found = AUDIT.audit([AuditInput(page, page.name) for page in pages],
                        AuditContext(config=None, root=None))
    for finding in found:
        by_page[finding.artifact].append(finding)
    return by_page


def only(findings: dict[str, list[Finding]], page: str, check: str) -> Finding:
    matching = [f for f in findings[page] if f.check == check]
    assert len(matching) == 1, (page, check, matching)
    return matching[0]


@pytest.mark.parametrize(("page", "technique"), [
    ("bypass-skip-link-to-id.html", "a skip link"),  # to a div, not to <main>
    ("bypass-skip-button.html", "a skip button"),
    ("bypass-landmarks.html", "landmarks"),
    ("bypass-headings.html", "headings"),
])
def test_every_sufficient_bypass_technique_passes_2_4_1(
    findings: dict[str, list[Finding]], page: str, technique: str
) -> None:
    bypass = only(findings, page, "page.skip-link")
    assert bypass.outcome == "passed", bypass
    assert technique in bypass.message
    assert bypass.rulebook == "wcag" and bypass.criteria.wcag == ("2.4.1",)
    # axe-core leaves some "cannot tell" (a skip button); the browser check decided them
    assert not [f for f in findings[page] if f.check == "axe.bypass" and f.outcome != "passed"]


def test_the_strict_skip_link_is_a_house_rule_not_a_wcag_failure(
    findings: dict[str, list[Finding]],
) -> None:
    for page in ("bypass-landmarks.html", "bypass-headings.html", "bypass-skip-button.html"):
        strict = only(findings, page, "page.skip-link-first")
        assert strict.outcome == "failed"
        assert strict.rulebook == "house" and strict.criteria.wcag == ()
        assert not strict.wcag_failure
    wcag_failures = [f.check for page in ("bypass-landmarks.html", "bypass-headings.html")
                     for f in findings[page] if f.wcag_failure]
    assert "page.skip-link" not in wcag_failures


@pytest.mark.parametrize(("page", "said"), [
    ("bypass-none.html", "no skip link, no landmarks and no headings"),
    ("bypass-skip-nowhere.html", "#content, which is not on the page"),  # beside landmarks
])
def test_a_bypass_that_really_fails_fails_2_4_1(
    findings: dict[str, list[Finding]], page: str, said: str
) -> None:
    bypass = only(findings, page, "page.skip-link")
    assert bypass.outcome == "failed" and bypass.wcag_failure
    assert said in bypass.message
    assert bypass.impact == "serious"


def test_a_keyboard_trap_fails_2_1_2(findings: dict[str, list[Finding]]) -> None:
    trap = only(findings, "keyboard-trap.html", "page.keyboard-trap")
    assert trap.outcome == "failed" and trap.criteria.wcag == ("2.1.2",)
    assert trap.locator in {"#a", "#b"} and "#a" in trap.message and "#b" in trap.message
    assert trap.impact == "critical"


@pytest.mark.parametrize("page", ["bypass-landmarks.html", "keyboard-dialog.html",
                                  "language-short.html"])
def test_focus_that_can_leave_every_component_passes_2_1_2(
    findings: dict[str, list[Finding]], page: str
) -> None:
    trap = only(findings, page, "page.keyboard-trap")
    assert trap.outcome == "passed", trap
    if page == "keyboard-dialog.html":  # Tab cycles in the dialog until Escape closes it
        assert "Escape" in trap.message
    # each page is tabbed through both ways
    assert trap.figures["key_presses"] >= 2 * (trap.figures["tab_stops"] + 3)


def test_focus_that_does_not_show_fails_2_4_7(findings: dict[str, list[Finding]]) -> None:
    hidden = only(findings, "focus-invisible.html", "page.focus-visible")
    assert hidden.outcome == "failed" and hidden.criteria.wcag == ("2.4.7",)
    assert hidden.figures["focus_not_visible"] == 3
    assert hidden.locator == "body > nav > a:nth-of-type(1)"


@pytest.mark.parametrize("page", ["focus-custom.html", "bypass-landmarks.html"])
def test_a_focus_style_of_its_own_or_the_browsers_passes_2_4_7(
    findings: dict[str, list[Finding]], page: str
) -> None:
    shown = only(findings, page, "page.focus-visible")
    assert shown.outcome == "passed", shown
    assert shown.figures["focus_stops_seen"] == 3


def test_a_dutch_page_marked_english_fails_3_1_1(findings: dict[str, list[Finding]]) -> None:
    wrong = only(findings, "language-wrong.html", "page.language")
    assert wrong.outcome == "failed" and wrong.criteria.wcag == ("3.1.1",)
    assert wrong.figures["identified_language"] == "nl"
    assert wrong.figures["probability"] >= checks.MIN_CONFIDENCE
    assert 'lang="en"' in wrong.message


def test_text_in_its_declared_language_passes_3_1_1(findings: dict[str, list[Finding]]) -> None:
    # the English paragraph and link are marked lang="en" and are left out
    right = only(findings, "language-right.html", "page.language")
    assert right.outcome == "passed" and right.figures["identified_language"] == "nl"


def test_too_little_text_cannot_tell_its_language(findings: dict[str, list[Finding]]) -> None:
    short = only(findings, "language-short.html", "page.language")
    assert short.outcome == "cannot-tell"
    assert short.figures["letters"] < checks.MIN_LETTERS


def test_text_cut_off_by_text_spacing_fails_1_4_12(findings: dict[str, list[Finding]]) -> None:
    clipped = only(findings, "spacing-clipped.html", "page.text-spacing")
    assert clipped.outcome == "failed" and clipped.criteria.wcag == ("1.4.12",)
    assert clipped.locator == "body > main > div"
    # a box with a fixed height still fits the text at 200 % zoom: only spacing breaks it
    assert only(findings, "spacing-clipped.html", "page.resize-text").outcome == "passed"


def test_boxes_that_grow_with_their_text_pass_1_4_12(findings: dict[str, list[Finding]]) -> None:
    # the text for screen readers only is clipped on purpose, before and after
    fluid = only(findings, "spacing-fluid.html", "page.text-spacing")
    assert fluid.outcome == "passed", fluid


@pytest.mark.parametrize(("page", "said"), [
    ("resize-clipped.html", "cut off"),
    ("resize-viewport-units.html", "viewport units"),
])
def test_text_lost_or_not_growing_at_200_percent_fails_1_4_4(
    findings: dict[str, list[Finding]], page: str, said: str
) -> None:
    resized = only(findings, page, "page.resize-text")
    assert resized.outcome == "failed" and resized.criteria.wcag == ("1.4.4",)
    assert said in resized.message


def test_text_that_grows_and_fits_passes_1_4_4(findings: dict[str, list[Finding]]) -> None:
    for page in ("spacing-fluid.html", "bypass-landmarks.html", "language-right.html"):
        assert only(findings, page, "page.resize-text").outcome == "passed"


def test_contrast_over_a_background_image_is_measured_from_the_pixels(
    findings: dict[str, list[Finding]],
) -> None:
    dark = only(findings, "contrast-dark-image.html", "page.contrast-image")
    assert dark.outcome == "passed" and dark.locator == ".hero"
    assert dark.figures["contrast_p5"] >= 4.5
    light = only(findings, "contrast-light-image.html", "page.contrast-image")
    assert light.outcome == "failed" and light.criteria.wcag == ("1.4.3",)
    assert light.figures["contrast_median"] < 4.5
    # axe-core's "cannot tell" for those elements is replaced by the measure
    for page in ("contrast-dark-image.html", "contrast-light-image.html"):
        assert not [f for f in findings[page]
                    if f.check == "axe.color-contrast" and f.outcome == "cannot-tell"]


def test_axe_best_practices_are_advice(findings: dict[str, list[Finding]]) -> None:
    region = [f for f in findings["bypass-none.html"] if f.check == "axe.region"]
    assert region and all(f.rulebook == "advice" and not f.wcag_failure for f in region)
    assert only(findings, "bypass-none.html", "axe.landmark-one-main").rulebook == "advice"


def test_no_wcag_failure_without_its_criterion(findings: dict[str, list[Finding]]) -> None:
    for page in findings.values():
        for finding in page:
            assert finding.rulebook in {"wcag", "advice", "house"}
            if finding.rulebook == "wcag":
                assert finding.criteria.wcag, finding
