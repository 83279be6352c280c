"""The website audit, run in headless Chromium on a fixture site with known defects.

``tests/fixtures/defects/`` holds one accessible page (``good.html`` and its French version), one
page with six classic defects for axe, one page per browser check that makes that check fail,
and a bare page from "someone else" with the ``.htm`` suffix. The whole folder is audited once
per module: one browser, one run of the Nu Html Checker (the markup audit, which a build runs
beside this one).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from publisher.audits import AuditContext, AuditInput, Finding, audits_for
from publisher.audits import html as html_audit
from publisher.audits import markup as markup_audit
from publisher.audits.html import AUDIT, criteria_from_tags
from publisher.browser import CHROMIUM, Browser, BrowserUnavailable

pytestmark = pytest.mark.skipif(
    not CHROMIUM.is_file(),
    reason=f"{CHROMIUM} is missing: install the Debian packages chromium and chromium-driver",
)

FIXTURES = Path(__file__).parent / "fixtures" / "defects"
PAGE_CHECKS = ("page.no-js", "page.skip-link", "page.skip-link-first", "page.keyboard-trap",
               "page.focus-visible", "page.language", "page.text-spacing", "page.resize-text",
               "page.reflow", "page.language-switcher")


def audit_pages(inputs: list[AuditInput]) -> list[Finding]:
    """The website audit's findings, then the markup audit's: every check of a page."""
    ctx = AuditContext(config=None, root=None)
    return AUDIT.audit(inputs, ctx) + markup_audit.AUDIT.audit(inputs, ctx)


@pytest.fixture(scope="module")
def findings() -> dict[str, list[Finding]]:
    """Every fixture page's findings, keyed by file name."""
    pages = sorted([*FIXTURES.glob("*.html"), *FIXTURES.glob("*.htm")])
    inputs = [AuditInput(path=page, name=page.name) for page in pages]
    by_page: dict[str, list[Finding]] = {page.name: [] for page in pages}
    for finding in audit_pages(inputs):
        by_page[finding.artifact].append(finding)
    return by_page


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser() as started:
        yield started


def outcome(findings: list[Finding], check: str) -> str:
    outcomes = {finding.outcome for finding in findings if finding.check == check}
    assert len(outcomes) == 1, (check, outcomes)
    return outcomes.pop()


def test_the_audit_is_registered_for_html_files() -> None:
    for audit in (AUDIT, markup_audit.AUDIT):
        assert audit in audits_for(Path("page.html"))
        assert audit in audits_for(Path("PAGE.HTM"))


@pytest.mark.parametrize(
    ("rule", "impact", "wcag"),
    [
        ("image-alt", "critical", "1.1.1"),
        ("color-contrast", "serious", "1.4.3"),
        ("link-name", "serious", "2.4.4"),
        ("html-has-lang", "serious", "3.1.1"),
        ("heading-order", "moderate", None),  # a best practice: no WCAG criterion of its own
        ("label", "critical", "4.1.2"),
    ],
)
def test_axe_flags_each_known_defect(
    findings: dict[str, list[Finding]], rule: str, impact: str, wcag: str | None
) -> None:
    failed = [f for f in findings["defects.html"] if f.check == f"axe.{rule}"]
    assert [f.outcome for f in failed] == ["failed"], failed
    assert failed[0].impact == impact
    assert failed[0].locator  # the CSS selector of the offending element
    assert "Fix" in failed[0].message  # axe's help, then what to fix
    if wcag is None:
        assert failed[0].criteria.wcag == ()
    else:
        assert wcag in failed[0].criteria.wcag
        assert f"9.{wcag}" in failed[0].criteria.en301549
    assert failed[0].criteria.caf == ("5.2.f",)


def test_defects_page_fails_on_exactly_its_six_defects(findings: dict[str, list[Finding]]) -> None:
    failed_axe = {f.check for f in findings["defects.html"] if f.outcome == "failed"} - {
        "html.valid"
    }
    expected = {"image-alt", "color-contrast", "link-name", "html-has-lang", "heading-order"}
    # the empty link has no size: the keyboard reaches it and nothing shows where the focus is
    assert failed_axe == {f"axe.{rule}" for rule in (*expected, "label")} | {"page.focus-visible"}
    invisible = next(f for f in findings["defects.html"] if f.check == "page.focus-visible")
    assert invisible.locator == "#main > p:nth-of-type(2) > a"


def test_axe_core_4_runs_with_the_wcag_21_and_22_rules(findings: dict[str, list[Finding]]) -> None:
    axe = [f for f in findings["good.html"] if f.check.startswith("axe.")]
    figures = axe[0].figures
    assert figures["engine"].startswith("axe-core 4.")
    assert figures["rules_run"] > 80  # axe-core 3.1 bundled with axe-selenium-python had ~70
    assert figures["rules_passed"] == len(axe) > 10
    assert figures["rules_failed"] == 0
    # target-size is a WCAG 2.2 rule, autocomplete-valid a WCAG 2.1 one: neither exists in 3.1.
    checks = {f.check for page in findings.values() for f in page}
    assert "axe.target-size" in checks or "axe.autocomplete-valid" in checks


def test_the_good_page_passes_every_check(findings: dict[str, list[Finding]]) -> None:
    good = findings["good.html"]
    assert [f for f in good if f.outcome != "passed"] == []
    checks = {f.check for f in good}
    assert {*PAGE_CHECKS, "html.valid"} <= checks
    assert all(f.impact is None and f.locator == "" for f in good if f.check.startswith("axe."))


def test_a_page_that_needs_javascript_fails_no_js(findings: dict[str, list[Finding]]) -> None:
    page = findings["needs-js.html"]
    assert outcome(page, "page.no-js") == "failed"
    no_js = next(f for f in page if f.check == "page.no-js")
    assert "level-1 heading" in no_js.message
    assert no_js.figures["main_text_without_js"] == 0 < no_js.figures["main_text_with_js"]
    # With JavaScript the page is fine: the other checks ran on the scripted page.
    assert outcome(page, "page.skip-link") == "passed"
    assert outcome(page, "axe.page-has-heading-one") == "passed"


def test_a_skip_link_to_nowhere_fails(findings: dict[str, list[Finding]]) -> None:
    page = findings["skip-nowhere.html"]
    assert outcome(page, "page.skip-link") == "failed"
    skip = next(f for f in page if f.check == "page.skip-link")
    assert "#content" in skip.message and "not on the page" in skip.message
    assert skip.criteria.wcag == ("2.4.1",)
    assert skip.locator == "body > a"
    for check in ("page.no-js", "page.reflow"):
        assert outcome(page, check) == "passed"


def test_a_skip_link_that_leaves_focus_behind_fails(findings: dict[str, list[Finding]]) -> None:
    # The target exists, but <main> without tabindex="-1" does not take the focus in Chromium:
    # our house rule fails; WCAG 2.4.1 is met (the link skips, and there are landmarks).
    page = findings["skip-no-focus.html"]
    assert outcome(page, "page.skip-link-first") == "failed"
    skip = next(f for f in page if f.check == "page.skip-link-first")
    assert 'tabindex="-1"' in skip.message
    assert skip.rulebook == "house" and skip.criteria.wcag == () and not skip.wcag_failure
    assert outcome(page, "page.skip-link") == "passed"


@pytest.mark.parametrize("name", ["wide.html", "wide-rtl.html"])
def test_a_box_wider_than_320_pixels_fails_reflow(
    findings: dict[str, list[Finding]], name: str
) -> None:
    page = findings[name]
    assert outcome(page, "page.reflow") == "failed"
    reflow = next(f for f in page if f.check == "page.reflow")
    assert reflow.locator == "#main > div"  # the timetable, not the skip link parked off-screen
    assert reflow.figures["client_width"] == 320 < reflow.figures["scroll_width"]
    assert reflow.criteria.wcag == ("1.4.10",)
    assert outcome(page, "page.skip-link") == "passed"


def test_a_language_link_to_a_missing_page_fails(findings: dict[str, list[Finding]]) -> None:
    page = findings["broken-switcher.html"]
    assert outcome(page, "page.language-switcher") == "failed"
    switcher = next(f for f in page if f.check == "page.language-switcher")
    assert "missing-ar.html" in switcher.message
    assert switcher.locator.endswith("a")
    # a house rule: no WCAG 2.4.4 or 3.1.2 failure
    assert switcher.rulebook == "house" and switcher.criteria.wcag == ()
    assert not switcher.wcag_failure
    # good.html links to good-fr.html, which exists.
    assert outcome(findings["good.html"], "page.language-switcher") == "passed"


def test_someone_elses_bare_page_is_audited(findings: dict[str, list[Finding]]) -> None:
    page = findings["foreign.htm"]
    assert outcome(page, "page.skip-link") == "failed"
    assert outcome(page, "page.language-switcher") == "cannot-tell"
    assert outcome(page, "page.no-js") == "cannot-tell"  # no main, no h1 even with scripts
    assert outcome(page, "page.reflow") == "passed"
    assert outcome(page, "axe.landmark-one-main") == "failed"
    assert outcome(page, "html.valid") == "failed"  # no doctype


def test_markup_errors_are_reported_honestly(findings: dict[str, list[Finding]]) -> None:
    errors = [f for f in findings["defects.html"] if f.check == "html.valid"]
    assert {f.outcome for f in errors} == {"failed"}
    stray = next(f for f in errors if "Stray end tag" in f.message)
    assert stray.locator.startswith("line 19, column ")
    assert "not a WCAG 2.2 failure" in stray.message
    assert stray.criteria.wcag == () and stray.criteria.en301549 == ("9.4.1.1",)
    assert stray.figures["engine"].startswith("Nu Html Checker ")
    assert stray.figures["errors"] == len(errors)


def test_findings_repeat_exactly(findings: dict[str, list[Finding]]) -> None:
    page = FIXTURES / "defects.html"
    again = audit_pages([AuditInput(page, page.name)])
    assert [f.to_json() for f in again] == [f.to_json() for f in findings["defects.html"]]


def test_tags_map_to_criteria() -> None:
    reflow = criteria_from_tags(["cat.structure", "wcag21aa", "wcag1410", "EN-301-549"])
    # With the EN-301-549 tag axe lists the clauses itself; here it gave none.
    assert reflow.wcag == ("1.4.10",) and reflow.en301549 == ()
    derived = criteria_from_tags(["wcag2aa", "wcag1410"])
    assert derived.en301549 == ("9.1.4.10",)
    target = criteria_from_tags(["wcag22aa", "wcag258", "EN-301-549v4", "EN-9.2.5.8"])
    assert target.wcag == ("2.5.8",) and target.en301549 == ()  # not in EN 301 549 V3.2.1
    assert criteria_from_tags(["best-practice"]).wcag == ()
    parsing = criteria_from_tags(["wcag2a", "wcag411"])
    assert parsing.wcag == () and parsing.en301549 == ("9.4.1.1",)


def test_the_browser_runs_with_its_own_profile_and_removes_it() -> None:
    with Browser() as started, Browser() as other:
        profile = started.profile
        assert profile is not None and profile.is_dir()
        assert started.driver.capabilities["chrome"]["userDataDir"] == str(profile)
        # A fresh one for each browser, in the temporary folder, never a person's own profile.
        second = other.profile
        assert second is not None and second != profile
        assert profile.parent == Path(tempfile.gettempdir())
    assert not profile.exists() and not second.exists()


def test_scripts_are_off_only_inside_the_block(browser: Browser) -> None:
    page = FIXTURES / "needs-js.html"
    count = "return document.querySelectorAll('h1').length"
    with browser.scripts_disabled():
        browser.open(page)
        assert browser.script(count) == 0
    browser.open(page)
    assert browser.script(count) == 1


def test_a_missing_browser_is_a_clear_error() -> None:
    with pytest.raises(BrowserUnavailable, match="chromium"):
        Browser(chromium=Path("/nonexistent/chromium")).start()


def test_missing_tools_give_cannot_tell_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    class NoBrowser(Browser):
        def __init__(self) -> None:
            super().__init__(chromium=tmp_path / "chromium")

    monkeypatch.setattr(html_audit, "Browser", NoBrowser)
    monkeypatch.setenv("PUBLISHER_NODE_MODULES", str(tmp_path))  # no vnu.jar there
    page = FIXTURES / "good.html"
    found = audit_pages([AuditInput(page, "good.html")])
    assert {f.check for f in found} == {"axe", *PAGE_CHECKS, "html.valid"}
    assert {f.outcome for f in found} == {"cannot-tell"}
    assert all("Not checked:" in f.message for f in found)


def test_language_links_are_resolved_on_disk(tmp_path: Path) -> None:
    resolve = html_audit._file_for_link
    (tmp_path / "fr" / "permit").mkdir(parents=True)
    built = AuditContext(config=None, root=tmp_path)
    foreign = AuditContext(config=None, root=None)
    rooted = {"href": "/fr/permit/", "url": "file:///fr/permit/"}
    # Root-relative links need the output root of a build; the folder's index.html is the page.
    assert resolve(rooted, built) == tmp_path / "fr" / "permit" / "index.html"
    assert resolve(rooted, foreign) is None
    relative = {"href": "../fr/a%20b.html", "url": (tmp_path / "fr" / "a b.html").as_uri()}
    assert resolve(relative, foreign) == tmp_path / "fr" / "a b.html"
    assert (
        resolve(
            {"href": "https://elsewhere.example/fr/", "url": "https://elsewhere.example/fr/"}, built
        )
        is None
    )


def test_a_page_that_breaks_the_browser_checks_is_not_examined(
    findings: dict[str, list[Finding]],
) -> None:
    # The page makes window.axe read-only, so axe-core cannot load: no partial results.
    page = findings["hostile.html"]
    browser_checks = [f for f in page if f.check != "html.valid"]
    assert sorted(f.check for f in browser_checks) == sorted(["axe", *PAGE_CHECKS])
    assert {f.outcome for f in browser_checks} == {"cannot-tell"}
    assert "could not be examined" in browser_checks[0].message
    assert outcome(page, "html.valid") == "passed"


def test_only_pages_that_may_run_scripts_are_loaded_again_without_them(
    findings: dict[str, list[Finding]],
) -> None:
    def method(name: str) -> str:
        return str(next(f for f in findings[name] if f.check == "page.no-js").figures["without_js"])

    assert method("needs-js.html") == html_audit.NO_JS_RELOADED
    assert method("good.html") == html_audit.NO_JS_SAME_PAGE  # its JSON-LD is never run
    assert method("foreign.htm") == html_audit.NO_JS_SAME_PAGE


@pytest.mark.parametrize(
    ("markup", "reason"),
    [
        ('<script type="application/ld+json">{"a": 1}</script><main>Text</main>', None),
        ("<main><h1>Plain</h1><p>Nothing runs here, nothing depends on it.</p></main>", None),
        ("<main></main><script>document.currentScript.remove()</script>", "script"),
        ('<SCRIPT type="module" src="x.js"></SCRIPT>', "script"),
        ('<script type="application/ld+json" src="x.js"></script>', "script"),
        ("<svg><script>alert(1)</script></svg>", "script"),
        ('<body onload="fill()"><main></main>', "event handler"),
        ('<img src="x.png" alt=""/onerror=fill()>', "event handler"),
        ("<main><noscript>Turn on JavaScript</noscript></main>", "noscript"),
        ('<iframe src="other.html"></iframe>', "iframe"),
        ("<style>@media (scripting: none) { main > * { display: none } }</style>", "scripting"),
        ('<link rel="stylesheet" media="(&#115;cripting: none)" href="a.css">', "scripting"),
        ('<meta http-equiv="refresh" content="0; url=other.html">', "refresh"),
        ('<style>@import "more.css";</style>', "@import"),
    ],
)
def test_what_makes_a_page_differ_without_javascript(
    tmp_path: Path, markup: str, reason: str | None
) -> None:
    page = tmp_path / "page.html"
    page.write_text(f"<!DOCTYPE html><title>T</title>{markup}", encoding="utf-8")
    found = html_audit.why_reload_without_js(page, [None])
    assert found is None if reason is None else reason in str(found), found
    page.write_bytes("<main>Text</main>".encode("utf-16"))
    assert "encoding" in str(html_audit.why_reload_without_js(page, []))


def test_style_sheets_that_depend_on_scripting_are_seen(tmp_path: Path) -> None:
    sheet = tmp_path / "a.css"
    sheet.write_text("main { color: #222 }", encoding="utf-8")
    page = tmp_path / "page.html"
    page.write_text('<!DOCTYPE html><link rel="stylesheet" href="a.css"><main>Text</main>')
    assert html_audit.why_reload_without_js(page, [sheet.as_uri()]) is None
    sheet.write_text(r"@media (\73 cripting: none) { main > * { display: none } }")
    assert "scripting" in str(html_audit.why_reload_without_js(page, [sheet.as_uri()]))
    assert "could not be read" in str(
        html_audit.why_reload_without_js(page, [(tmp_path / "gone.css").as_uri()])
    )
    assert "not a local file" in str(
        html_audit.why_reload_without_js(page, ["https://cdn.example/a.css"])
    )


def test_pages_that_need_javascript_in_hidden_ways_fail_no_js(tmp_path: Path) -> None:
    """Each page hides its need of JavaScript from a look at the page once scripts have run:
    the script removes itself, the content comes from an event handler, a style sheet hides it
    when scripts are off. The control page uses noscript and works either way."""
    text = "<h1>Library cards</h1><p>Anyone who lives in the city can get a card for free.</p>"
    fill = f"document.querySelector('main').innerHTML = '{text}'"
    head = '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>T</title>'
    pages = {
        "self-removing.html": f"{head}</head><body><main></main>"
        f"<script>{fill}; document.currentScript.remove();</script></body></html>",
        "handler.html": f'{head}</head><body onload="{fill}"><main></main></body></html>',
        "css.html": f'{head}<link rel="stylesheet" href="hide.css"></head><body>'
        f"<main>{text}</main></body></html>",
        "noscript.html": f"{head}</head><body><main>{text}"
        "<noscript><p>Some features need JavaScript.</p></noscript></main></body></html>",
    }
    for name, source in pages.items():
        (tmp_path / name).write_text(source, encoding="utf-8")
    hide = r"@media (\73 cripting: none) { main > * { display: none } }"
    (tmp_path / "hide.css").write_text(hide, encoding="utf-8")
    inputs = [AuditInput(tmp_path / name, name) for name in pages]
    found = AUDIT.audit(inputs, AuditContext(config=None, root=None))
    no_js = {f.artifact: f for f in found if f.check == "page.no-js"}
    for name in ("self-removing.html", "handler.html", "css.html"):
        assert no_js[name].outcome == "failed", (name, no_js[name])
        assert no_js[name].figures["main_text_without_js"] == 0
        assert no_js[name].figures["without_js"] == html_audit.NO_JS_RELOADED
    assert no_js["noscript.html"].outcome == "passed"
    assert no_js["noscript.html"].figures["without_js"] == html_audit.NO_JS_RELOADED


def test_the_renderer_collects_its_garbage_after_a_large_page_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A detail page of the report leaves tens of MB in the renderer: it is collected at once,
    and only after such a page (collecting after every page costs time for little memory)."""
    row = "<tr><td>axe.color-contrast</td><td>passed</td><td>main &gt; p</td></tr>\n"
    rows = row * (html_audit.COLLECT_AFTER_BYTES // len(row) + 1)
    shell = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{0}</title>'
             '</head><body><main><h1>{0}</h1>{1}</main></body></html>')
    large, small = tmp_path / "large.html", tmp_path / "small.html"
    large.write_text(shell.format("Large", f"<table><caption>Checks</caption>{rows}</table>"))
    small.write_text(shell.format("Small", "<p>A short page.</p>"))
    assert large.stat().st_size > html_audit.COLLECT_AFTER_BYTES > small.stat().st_size
    monkeypatch.setattr(html_audit, "BROWSERS", 1)
    collected: list[str] = []
    devtools = Browser.devtools

    def spy(self: Browser, command: str, params: dict[str, object] | None = None) -> object:
        if command == "HeapProfiler.collectGarbage":
            collected.append(Path(self.driver.current_url).name)
        return devtools(self, command, params)

    monkeypatch.setattr(Browser, "devtools", spy)
    found = AUDIT.audit([AuditInput(small, "small.html"), AuditInput(large, "large.html")],
                        AuditContext(config=None, root=None))
    assert collected == ["large.html"]
    for name in ("small.html", "large.html"):  # and both pages were examined in full
        checks = {f.check for f in found if f.artifact == name}
        assert checks >= set(PAGE_CHECKS) and any(c.startswith("axe.") for c in checks)
