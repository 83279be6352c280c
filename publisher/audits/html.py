"""The website audit: every HTML page opened in a real browser.

In: HTML files on disk (our own build or anyone else's folder). Out: findings from

- axe-core 4.x (the npm package, injected into headless Chromium) with the WCAG 2.0, 2.1 and 2.2
  A and AA rules and axe's best practices: ``axe.<rule-id>``, one failed finding per offending
  element, one passed finding per rule that passed, one cannot-tell finding per element axe
  could not decide;
- checks axe cannot make because they need the browser to act like a person: the page works with
  JavaScript off (``page.no-js``), the first Tab reaches a skip link that moves focus to the main
  content (``page.skip-link-first``), nothing scrolls sideways at 320 CSS pixels
  (``page.reflow``), the language switcher's links lead to pages that exist
  (``page.language-switcher``), and those of :mod:`publisher.audits.page_checks` (bypass blocks,
  keyboard, language, text resize and spacing, contrast over images).

Each finding names its rulebook: a WCAG failure names its criterion; axe-core's best practices
are advice; ``page.no-js``, ``page.skip-link-first`` and ``page.language-switcher`` are our house
rules, which our own pages meet but which are no WCAG failure of someone else's page.

The markup is validated by an audit of its own (:mod:`publisher.audits.markup`). The npm
packages (axe-core, and vnu-jar for the markup) are found in ``node_modules`` at the project
root (``npm ci`` installs them), or in the folder named by the ``PUBLISHER_NODE_MODULES``
environment variable.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.keys import Keys

from publisher.audits import (
    IMPACTS,
    Audit,
    AuditContext,
    AuditInput,
    Criteria,
    Finding,
    Impact,
    Outcome,
    Rulebook,
    file_of_url,
    node_modules,
    not_checked,
)
from publisher.audits.page_checks import (
    BYPASS_FACTS,
    CSS_PATH,
    KEYBOARD_WATCH,
    LANGUAGE_TEXT,
    bypass_finding,
    contrast_finding,
    image_contrast_targets,
    keyboard_findings,
    language_finding,
    text_findings,
)
from publisher.browser import Browser, BrowserUnavailable, Tab

AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice")
REFLOW_WIDTH = 320  # CSS pixels: WCAG 1.4.10, a 1280 px wide window zoomed to 400 %
REFLOW_HEIGHT = 256
NO_JS_SHARE = 0.5  # main content shorter than this share of the scripted page counts as missing
#: tabs working at once, each in a renderer process of its own. A second one joins when the
#: pages left are worth it and the second core is free — the audits that run beside this one
#: are done (AuditContext.beside_done: the other formats', the markup's) — and takes the next page
#: left, largest first. It is a tab of the same Chromium (see publisher.browser.Tab): a second
#: browser made the audited 20-service benchmark 82 -> 74 s but took the build's peak memory
#: 786 -> 941-971 MB (each Chromium held ~400 MB), too close to the 1 GiB target.
BROWSERS = 2
SECOND_BROWSER_PAGES = 3  # pages left, at least, for a second browser to start
#: after a page this large (the report's detail pages, ~100-200 kB, ~3 s of axe-core each) the
#: tab's renderer has V8 collect its garbage at once: it otherwise keeps what axe-core left of
#: each such page for a while, and two tabs held 1,008 MB on the 18 report pages of a 10-service
#: build (575 MB when collecting, for 2 % more time). Smaller pages leave little: collecting
#: after every fifth page of the audited website cost 7 % of its time for a lower peak.
COLLECT_AFTER_BYTES = 50_000

# WCAG 2.2's new success criteria have no clause in EN 301 549 V3.2.1, which follows WCAG 2.1.
WCAG22_NEW = frozenset(
    {"2.4.11", "2.4.12", "2.4.13", "2.5.7", "2.5.8", "3.2.6", "3.3.7", "3.3.8", "3.3.9"}
)
# 4.1.1 Parsing is obsolete in WCAG 2.2 (always satisfied); EN 301 549 V3.2.1 still lists it.
WCAG_OBSOLETE = frozenset({"4.1.1"})
_SC_TAG = re.compile(r"^wcag(\d)(\d)(\d{1,2})$")

# House rules, stricter than WCAG: the first Tab stop is a skip link to the main content (2.4.1
# accepts other ways, see page_checks.bypass_finding), and a page says which other languages it
# exists in (a single-language page fails no WCAG criterion).
SKIP_LINK_FIRST = Criteria()
REFLOW = Criteria(wcag=("1.4.10",), en301549=("9.1.4.10",))
LANGUAGE_SWITCHER = Criteria()
# Working without JavaScript is the publisher's robustness rule (progressive enhancement), not a
# WCAG success criterion: it serves CAF 5.2.f and ISO 11367 5.2.4 only.
NO_JS = Criteria()

# A CSS selector for an element, so a person can find what a check points at (shared with the
# checks of publisher.audits.page_checks).
_CSS_PATH = CSS_PATH

# What the page holds right after it loaded, before anything moves the focus: its main content
# (for the check with JavaScript off), its language links and the style sheets it loaded.
_FIRST_LOOK = (
    _CSS_PATH
    + """
const main = document.querySelector('main, [role="main"]');
const h1 = document.querySelector('h1, [role="heading"][aria-level="1"]');
return {
  main: main ? main.innerText.trim().length : -1,
  h1: h1 ? h1.innerText.trim() : null,
  links: Array.from(document.querySelectorAll('a[hreflang][href], area[hreflang][href]')).map(
    (a) => ({
      selector: cssPath(a),
      href: a.getAttribute('href'),
      url: a.href,
      hreflang: a.getAttribute('hreflang'),
      lang: (a.closest('[lang]') || document.createElement('i')).getAttribute('lang') || '',
      text: a.innerText.trim(),
    })),
  styleSheets: Array.from(document.styleSheets, (sheet) => sheet.href),
};
"""
)

# The page with scripts off, loaded a second time: the same measures as in _FIRST_LOOK.
_PAGE_CONTENT = """
const main = document.querySelector('main, [role="main"]');
const h1 = document.querySelector('h1, [role="heading"][aria-level="1"]');
return {
  main: main ? main.innerText.trim().length : -1,
  h1: h1 ? h1.innerText.trim() : null,
};
"""

_FOCUSED = (
    _CSS_PATH
    + """
const el = document.activeElement;
if (!el || el === document.body || el === document.documentElement) return null;
const box = el.getBoundingClientRect();
let hash = '';
if (el.localName === 'a' && el.hasAttribute('href')) {
  const url = new URL(el.href, location.href);
  if (url.href.split('#')[0] === location.href.split('#')[0]) hash = url.hash;
}
return {
  selector: cssPath(el),
  hash: hash,
  text: (el.innerText || el.getAttribute('aria-label') || '').trim(),
  visible: box.width >= 2 && box.height >= 2 && box.right > 0 && box.bottom > 0
    && box.left < innerWidth && box.top < innerHeight,
};
"""
)

_AFTER_SKIP = (
    _CSS_PATH
    + """
const hash = arguments[0];
const el = document.activeElement;
const main = document.querySelector('main, [role="main"]');
const id = decodeURIComponent(hash.slice(1));
const target = document.getElementById(id) || document.getElementsByName(id)[0] || null;
const inside = (outer, inner) => !!outer && !!inner && (outer === inner || outer.contains(inner));
return {
  focused: el && el !== document.body ? cssPath(el) : '',
  hasMain: !!main,
  target: target ? cssPath(target) : '',
  focusInMain: inside(main, el),
  targetAtMain: inside(main, target) || inside(target, main),
};
"""
)

_REFLOW = (
    _CSS_PATH
    + """
const doc = document.documentElement;
const width = doc.clientWidth;
// Content off the start edge (a skip link parked at left: -10000px) scrolls nowhere; only the
// end edge makes a page scroll sideways: the right in left-to-right pages, the left in Arabic.
const rtl = getComputedStyle(doc).direction === 'rtl';
const offenders = [];
if (doc.scrollWidth > width && document.body) {
  for (const el of [document.body, ...document.body.querySelectorAll('*')]) {
    const box = el.getBoundingClientRect();
    const left = box.left + scrollX;
    if (box.width > 0 && (rtl ? left < -1 : left + box.width > width + 1)) {
      // Name only the outermost element of each overflowing branch.
      if (!offenders.some((outer) => outer.contains(el))) offenders.push(el);
      if (offenders.length >= 5) break;
    }
  }
  // A word too long for its line (an email or web address) sticks out of a box that fits:
  // name the element whose text it is.
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let node = walker.nextNode(); node && offenders.length < 5; node = walker.nextNode()) {
    if (!node.textContent.trim() || !node.parentElement) continue;
    range.selectNodeContents(node);
    const box = range.getBoundingClientRect();
    const left = box.left + scrollX;
    if (box.width > 0 && (rtl ? left < -1 : left + box.width > width + 1)) {
      const el = node.parentElement;
      if (!offenders.some((outer) => outer.contains(el))) offenders.push(el);
    }
  }
}
return {scrollWidth: doc.scrollWidth, clientWidth: width, offenders: offenders.map(cssPath)};
"""
)

def axe_script() -> Path:
    return node_modules() / "axe-core" / "axe.min.js"


# --- criteria -------------------------------------------------------------------------------


def _sc_key(sc: str) -> tuple[int, ...]:
    return tuple(int(part) for part in sc.split("."))


def criteria_from_tags(tags: Iterable[str]) -> Criteria:
    """Map axe's rule tags to the requirements: ``wcag1410`` is WCAG 1.4.10, EN 301 549 9.1.4.10.

    axe tags EN 301 549 clauses itself ("EN-9.1.1.1") for V3.2.1 rules; other clauses are derived
    from the WCAG 2.0/2.1 criteria, since chapter 9 of EN 301 549 repeats them under "9.".
    Best-practice rules have no criterion and evidence CAF and ISO 11367 only.
    """
    tags = list(tags)
    scs: set[str] = set()
    for tag in tags:
        match = _SC_TAG.match(tag)
        if match:
            scs.add(".".join(match.groups()))
    if "EN-301-549" in tags:
        en = {tag[3:] for tag in tags if tag.startswith("EN-9.")}
    else:
        en = {f"9.{sc}" for sc in scs if sc not in WCAG22_NEW}
    return Criteria(
        wcag=tuple(sorted(scs - WCAG_OBSOLETE, key=_sc_key)),
        en301549=tuple(sorted(en, key=lambda clause: _sc_key(clause))),
    )


# --- axe --------------------------------------------------------------------------------------


def axe_options() -> str:
    """The options argument of ``axe.run``, as JavaScript source.

    :func:`run_axe` (and axe_selenium_python's ``Axe.run(context, options)`` in the benchmarks)
    pastes it into the script with ``%s``, so it must be JSON text, not a Python dict. Without a
    context axe takes the options as its first argument and checks the whole document.
    """
    return json.dumps(
        {
            "runOnly": {"type": "tag", "values": list(AXE_TAGS)},
            # Passed rules keep one example element: their count is all the report needs.
            "resultTypes": ["violations", "incomplete"],
        }
    )


def _impact(value: object) -> Impact | None:
    for impact in IMPACTS:
        if value == impact:
            return impact
    return None


def _locator(target: Sequence[Any]) -> str:
    # Each step is an element in a frame; a step that is itself a list crosses shadow roots.
    steps = [" >>> ".join(step) if isinstance(step, list) else str(step) for step in target]
    return " >>> ".join(steps)


def _plain(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join(
        line if line.endswith((":", ".")) else f"{line};" if i < len(lines) - 1 else f"{line}."
        for i, line in enumerate(lines)
    )


def _passed_rules(results: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Rules that passed on every element: axe also lists a rule under "passes" when it passed
    on some elements and failed or was undecided on others."""
    unsettled = {
        rule["id"] for kind in ("violations", "incomplete") for rule in results.get(kind, [])
    }
    return [rule for rule in results.get("passes", []) if rule["id"] not in unsettled]


def axe_figures(results: Mapping[str, Any]) -> dict[str, Any]:
    ran = {
        rule["id"]
        for kind in ("passes", "violations", "incomplete", "inapplicable")
        for rule in results.get(kind, [])
    }
    applicable = {
        rule["id"]
        for kind in ("passes", "violations", "incomplete")
        for rule in results.get(kind, [])
    }
    return {
        "engine": f"axe-core {results.get('testEngine', {}).get('version', '?')}",
        "rules_run": len(ran),
        "rules_applicable": len(applicable),
        "rules_passed": len(_passed_rules(results)),
        "rules_failed": len(results.get("violations", [])),
        "rules_cannot_tell": len(
            {rule["id"] for rule in results.get("incomplete", [])}
            - {rule["id"] for rule in results.get("violations", [])}
        ),
    }


def axe_rulebook(criteria: Criteria) -> Rulebook:
    """An axe rule tagged with a WCAG criterion tests it; the others are axe's best practices."""
    return "wcag" if criteria.wcag else "advice"


def axe_findings(name: str, results: Mapping[str, Any]) -> list[Finding]:
    """Turn the result of ``axe.run`` for one page into findings."""
    figures = axe_figures(results)
    findings: list[Finding] = []
    for rule in results.get("violations", []):
        for node in rule["nodes"]:
            findings.append(
                Finding(
                    artifact=name,
                    check=f"axe.{rule['id']}",
                    outcome="failed",
                    message=f"{rule['help']}. {_plain(node.get('failureSummary') or '')}".strip(),
                    criteria=criteria_from_tags(rule["tags"]),
                    impact=_impact(node.get("impact")) or _impact(rule.get("impact")),
                    locator=_locator(node["target"]),
                    figures=figures,
                    rulebook=axe_rulebook(criteria_from_tags(rule["tags"])),
                )
            )
    for rule in results.get("incomplete", []):
        for node in rule["nodes"]:
            reasons = [
                check["message"]
                for kind in ("any", "all", "none")
                for check in node.get(kind, [])
                if check.get("message")
            ]
            findings.append(
                Finding(
                    artifact=name,
                    check=f"axe.{rule['id']}",
                    outcome="cannot-tell",
                    message=f"{rule['help']}. A person needs to check this: "
                    + (" ".join(dict.fromkeys(reasons)) or "axe could not decide."),
                    criteria=criteria_from_tags(rule["tags"]),
                    impact=_impact(node.get("impact")) or _impact(rule.get("impact")),
                    locator=_locator(node["target"]),
                    figures=figures,
                    rulebook=axe_rulebook(criteria_from_tags(rule["tags"])),
                )
            )
    for rule in _passed_rules(results):
        findings.append(
            Finding(
                artifact=name,
                check=f"axe.{rule['id']}",
                outcome="passed",
                message=f"{rule['help']}.",
                criteria=criteria_from_tags(rule["tags"]),
                figures=figures,
                rulebook=axe_rulebook(criteria_from_tags(rule["tags"])),
            )
        )
    return findings


# axe.run's promise, settled either way: a rejection would otherwise leave the browser waiting
# for the script timeout. window.axe, not a name the injected source may have declared. A page
# that took window.axe from axe-core (a script of its own named so, or made it read-only) throws
# here, and is reported as not examined.
#
# Only what axe_findings and axe_figures read crosses back: the passed rules' example elements,
# the rules' descriptions and links, the checks' data and related elements were two thirds of
# the result, serialised by the page, chromedriver and Python for nothing.
_RUN_AXE = """
const done = arguments[arguments.length - 1];
const checks = (list) => (list || []).map((check) => ({message: check.message}));
const node = (n) => ({target: n.target, impact: n.impact, failureSummary: n.failureSummary,
                      any: checks(n.any), all: checks(n.all), none: checks(n.none)});
const rule = (r, nodes) => ({id: r.id, help: r.help, tags: r.tags, impact: r.impact,
                             nodes: nodes ? r.nodes.map(node) : []});
const report = (results) => ({
  testEngine: results.testEngine,
  violations: results.violations.map((r) => rule(r, true)),
  incomplete: results.incomplete.map((r) => rule(r, true)),
  passes: results.passes.map((r) => rule(r, false)),
  inapplicable: results.inapplicable.map((r) => ({id: r.id})),
});
window.axe.run(%s).then((results) => done(report(results)),
                         (error) => done({axeError: String(error)}));
"""


def run_axe(browser: Browser) -> Mapping[str, Any]:
    """Run axe-core in the open page, which loaded it first (:meth:`Browser.on_every_page` with
    axe-core's source)."""
    results: Mapping[str, Any] = browser.run_async(_RUN_AXE % axe_options())
    if "axeError" in results:
        raise WebDriverException(f"axe-core failed: {results['axeError']}")
    return results


# --- the page without JavaScript ---------------------------------------------------------------
#
# The check "works without JavaScript" compares the page as loaded with the page loaded again with
# scripts off. A page in which no script can run and nothing depends on whether scripts run is
# the same page both ways, and needs no second load: the second load would cost as much as the
# first. What could make the two differ, looked for in the page's bytes and its style sheets:
#
# - a script element, except a JSON data block (``<script type="application/ld+json">``, which
#   the browser never runs), and an event handler attribute (``onload=``);
# - elements whose content depends on scripting or may run scripts of its own: ``noscript``
#   (shown only without scripts), frames, objects and embeds;
# - the CSS media feature ``scripting``, a refresh to another page, and ``@import`` (style
#   sheets loaded from style sheets, which are not looked into).
#
# Elements exist only where their tag is spelled out in the source, and in every encoding a
# browser reads (ASCII bytes mean ASCII: checked first) that spelling is there in the bytes
# whatever the markup errors, so searching the bytes finds all of them, and perhaps more (a
# word in the text): finding more costs only a second load.

NO_JS_RELOADED = "loaded again with JavaScript off"
NO_JS_SAME_PAGE = "the same page: nothing in it runs scripts or depends on them"
_SCRIPT_TAG = re.compile(rb"<script", re.IGNORECASE)
_DATA_BLOCK = re.compile(
    rb"""<script\s+type\s*=\s*(["']?)application/(?:ld\+)?json\1\s*>""", re.IGNORECASE
)
_EVENT_HANDLER = re.compile(rb"""[\s/"']on[a-z]+\s*=""", re.IGNORECASE)
_SCRIPTED_CONTENT = re.compile(
    rb"<(?:noscript|iframe|frame|object|embed|portal|fencedframe)", re.IGNORECASE
)
_SCRIPT_DEPENDENT_WORDS = ("scripting", "refresh", "@import")
_CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})[ \t\r\n\f]?|\\(.)", re.DOTALL)


def _css_unescape(text: str) -> str:
    def char(match: re.Match[str]) -> str:
        if match.group(2) is not None:
            return match.group(2)
        code = int(match.group(1), 16)
        return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd"

    return _CSS_ESCAPE.sub(char, text)


def _mentions(data: bytes, words: Iterable[str]) -> str | None:
    """The first word said in ``data``, spelled out, as character references or CSS escapes."""
    text = data.decode("latin-1")
    readings = [text.lower(), html.unescape(text).lower(), _css_unescape(text).lower()]
    return next((word for word in words for reading in readings if word in reading), None)


def _why_in_bytes(data: bytes) -> str | None:
    if data.startswith((b"\xfe\xff", b"\xff\xfe")) or b"\x00" in data or b"\x1b" in data:
        return "its encoding is not one whose ASCII bytes mean ASCII"
    for tag in _SCRIPT_TAG.finditer(data):
        if not _DATA_BLOCK.match(data, tag.start()):
            return "it has a script"
    if _EVENT_HANDLER.search(data):
        return "it may have an event handler attribute"
    element = _SCRIPTED_CONTENT.search(data)
    if element:
        return f"it has a {element.group().decode('ascii')[1:].lower()} element"
    word = _mentions(data, _SCRIPT_DEPENDENT_WORDS)
    return f"it mentions {word!r}" if word else None


def _runs_no_scripts(path: Path) -> bool:
    try:
        return _why_in_bytes(path.read_bytes()) is None
    except OSError:
        return False


def why_reload_without_js(
    path: Path, style_sheets: Iterable[str | None], seen: dict[str, str | None] | None = None
) -> str | None:
    """Why the page must be loaded again with JavaScript off to see it so, or None when nothing
    in it or in its style sheets (their URLs, as the browser loaded them; None for those in the
    page) could make it differ. ``seen`` keeps the answer for each style sheet between pages."""
    try:
        reason = _why_in_bytes(path.read_bytes())
    except OSError as err:
        return f"it could not be read ({err.strerror})"
    if reason:
        return reason
    seen = {} if seen is None else seen
    for url in style_sheets:
        if url is None:  # a <style> element: its text is in the page
            continue
        if url not in seen:
            if urlsplit(url).scheme != "file":
                seen[url] = f"its style sheet {url} is not a local file"
            else:
                try:
                    word = _mentions(file_of_url(url).read_bytes(), _SCRIPT_DEPENDENT_WORDS)
                    seen[url] = f"its style sheet {url} mentions {word!r}" if word else None
                except OSError as err:
                    seen[url] = f"its style sheet {url} could not be read ({err.strerror})"
        if seen[url]:
            return seen[url]
    return None


# --- checks in the browser --------------------------------------------------------------------


@dataclass
class _PageContent:
    main_text: int  # characters of text in the main landmark; -1 without one
    h1: str | None
    style_sheets: list[str | None] = field(default_factory=list)  # as in _FIRST_LOOK


def _page_content(facts: Mapping[str, Any]) -> _PageContent:
    return _PageContent(int(facts["main"]), facts["h1"], list(facts.get("styleSheets", [])))


def no_js_finding(
    name: str, scripted: _PageContent, plain: _PageContent | None = None
) -> Finding:
    """``plain``: the page loaded again with JavaScript off; None for a page in which nothing
    runs scripts or depends on them (:func:`why_reload_without_js`), which is the same page
    with JavaScript off as with it."""
    if plain is None:
        plain, method = scripted, NO_JS_SAME_PAGE
    else:
        method = NO_JS_RELOADED

    def finding(outcome: Outcome, message: str, impact: Impact | None = None) -> Finding:
        return Finding(
            name,
            "page.no-js",
            outcome,
            message,
            NO_JS,
            impact=impact,
            figures={
                "main_text_with_js": scripted.main_text,
                "main_text_without_js": plain.main_text,
                "without_js": method,
            },
        )

    if scripted.main_text <= 0 and not scripted.h1:
        return finding(
            "cannot-tell",
            "The page has no main landmark with text and no level-1 heading even with "
            "JavaScript, so whether it works without JavaScript could not be judged.",
        )
    missing = []
    if plain.main_text < 0:
        missing.append("the main landmark")
    elif plain.main_text == 0 or plain.main_text < NO_JS_SHARE * scripted.main_text:
        missing.append("most of the main content")
    if scripted.h1 and not plain.h1:
        missing.append("the level-1 heading")
    if missing:
        return finding(
            "failed",
            "Without JavaScript the page loses " + " and ".join(missing) + ". People who block "
            "scripts, or whose connection drops them, cannot use it: put the content in the HTML "
            "and let scripts only enhance it.",
            "serious",
        )
    return finding(
        "passed", "The main content and the level-1 heading are there without JavaScript."
    )


def skip_link_finding(name: str, browser: Browser) -> Finding:
    """Press Tab once from the top of the freshly loaded page, then Enter, like a keyboard user:
    our house rule ``page.skip-link-first`` (WCAG 2.4.1 itself is ``page.skip-link``)."""

    def finding(outcome: Outcome, message: str, locator: str = "") -> Finding:
        impact: Impact | None = "moderate" if outcome == "failed" else None
        return Finding(
            name, "page.skip-link-first", outcome, message, SKIP_LINK_FIRST, impact=impact,
            locator=locator, rulebook="house",
        )

    browser.press(Keys.TAB)
    focused = browser.script(_FOCUSED)
    if focused is None:
        return finding(
            "failed",
            "Pressing Tab once does not reach any link: keyboard users have "
            "no skip link to the main content.",
        )
    if not focused["hash"]:
        return finding(
            "failed",
            "The first thing the Tab key reaches is not a link that skips to the main content. "
            "Make a “Skip to main content” link to the main landmark the first link of the page.",
            focused["selector"],
        )
    if not focused["visible"]:
        return finding(
            "failed",
            f"The skip link “{focused['text']}” stays invisible when it has keyboard focus, so "
            "sighted keyboard users do not know it is there.",
            focused["selector"],
        )
    browser.press(Keys.ENTER)
    after = browser.script(_AFTER_SKIP, focused["hash"])
    link = f"The skip link “{focused['text']}” points to {focused['hash']}"
    if not after["hasMain"]:
        return finding(
            "failed",
            f"{link}, but the page has no main landmark (a <main> element).",
            focused["selector"],
        )
    if not after["target"]:
        return finding("failed", f"{link}, which is not on the page.", focused["selector"])
    if not after["targetAtMain"]:
        return finding("failed", f"{link}, which is outside the main content.", focused["selector"])
    if not after["focusInMain"]:
        return finding(
            "failed",
            f"{link}, but following it leaves the keyboard focus "
            + (f"on {after['focused']}" if after["focused"] else "on the page itself")
            + ", so screen readers do not move to the main content: give the target "
            'tabindex="-1".',
            focused["selector"],
        )
    return finding(
        "passed", f"{link} and moves the keyboard focus to the main content.", focused["selector"]
    )


# The keyboard checks leave the focus somewhere and the page scrolled: axe and the layout
# checks look at the page at rest, as it loaded.
_AT_REST = """
const still = document.getElementById('publisher-keyboard-still');
if (still) still.remove();
if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
scrollTo(0, 0);
"""


def reflow_finding(
    name: str, browser: Browser, script: Callable[[str], Any] | None = None
) -> Finding:
    """``script``: how to run the measure (:meth:`Browser.script` unless told)."""
    with browser.viewport(REFLOW_WIDTH, REFLOW_HEIGHT):
        measured = (script or browser.script)(_REFLOW)
    figures = {"scroll_width": measured["scrollWidth"], "client_width": measured["clientWidth"]}
    if measured["scrollWidth"] > measured["clientWidth"]:
        offenders = measured["offenders"]
        return Finding(
            name,
            "page.reflow",
            "failed",
            f"At {REFLOW_WIDTH} CSS pixels wide (a phone, or 400 % zoom) the page is "
            f"{measured['scrollWidth']} pixels wide, so people must scroll sideways to read it"
            + (f"; too wide: {', '.join(offenders)}." if offenders else "."),
            REFLOW,
            impact="serious",
            locator=offenders[0] if offenders else "",
            figures=figures,
        )
    return Finding(
        name,
        "page.reflow",
        "passed",
        f"Nothing scrolls sideways at {REFLOW_WIDTH} CSS pixels wide.",
        REFLOW,
        figures=figures,
    )


def _file_for_link(link: Mapping[str, str], ctx: AuditContext) -> Path | None:
    """The file a language link leads to, or None when it leads outside what we can see."""
    href = link["href"].strip()
    url = urlsplit(link["url"])
    path: Path | None = None
    if href.startswith("/") and not href.startswith("//"):
        # Root-relative: only the output root of a build says where the site starts.
        if ctx.root is not None:
            path = ctx.root / unquote(urlsplit(href).path).lstrip("/")
    elif url.scheme == "file":
        path = Path(unquote(url.path))
    elif (
        ctx.root is not None
        and ctx.config is not None
        and link["url"].startswith(ctx.config.base_url)
    ):
        rest = urlsplit(link["url"][len(ctx.config.base_url) :]).path
        path = ctx.root / unquote(rest)
    if path is not None and (path.is_dir() or link["url"].split("#")[0].endswith("/")):
        path = path / "index.html"
    return path


def language_switcher_findings(
    name: str, links: Sequence[Mapping[str, str]], ctx: AuditContext
) -> list[Finding]:
    """``links``: the page's links with hreflang, as ``_FIRST_LOOK`` describes them."""
    if not links:
        return [
            Finding(
                name,
                "page.language-switcher",
                "cannot-tell",
                "No language switcher found (no link with hreflang). If this page exists in "
                "other languages, link each version with hreflang and lang.",
                LANGUAGE_SWITCHER,
                rulebook="house",
            )
        ]
    unmarked = [
        link
        for link in links
        if link["lang"].split("-")[0].lower() != link["hreflang"].split("-")[0].lower()
    ]
    figures = {"links": len(links), "links_without_their_language": len(unmarked)}
    findings: list[Finding] = []
    checked = 0
    for link in links:
        path = _file_for_link(link, ctx)
        if path is None:
            continue
        checked += 1
        if not path.is_file():
            findings.append(
                Finding(
                    name,
                    "page.language-switcher",
                    "failed",
                    f"The link to the {link['hreflang']} version (“{link['text']}”) leads to "
                    f"{link['href']}, which does not exist.",
                    LANGUAGE_SWITCHER,
                    impact="serious",
                    locator=link["selector"],
                    figures=figures,
                )
            )
    if findings:
        return findings
    if checked == 0:
        return [
            Finding(
                name,
                "page.language-switcher",
                "cannot-tell",
                "The language links lead outside the audited files, so whether their pages "
                "exist could not be checked.",
                LANGUAGE_SWITCHER,
                figures=figures,
                rulebook="house",
            )
        ]
    note = (
        f" {len(unmarked)} of them are not marked with the language of the page they lead to "
        "(give each a lang attribute matching its hreflang if its text is in that language)."
        if unmarked
        else ""
    )
    summary = (
        "The language link leads to a page that exists."
        if checked == 1
        else f"All {checked} language links lead to pages that exist."
    )
    return [
        Finding(
            name,
            "page.language-switcher",
            "passed",
            summary + note,
            LANGUAGE_SWITCHER,
            figures=figures,
            rulebook="house",
        )
    ]


# --- the audit ------------------------------------------------------------------------------

BROWSER_CHECKS = ("axe", "page.no-js", "page.skip-link", "page.skip-link-first",
                  "page.keyboard-trap", "page.focus-visible", "page.language",
                  "page.text-spacing", "page.resize-text", "page.reflow",
                  "page.language-switcher")


def _reason(err: WebDriverException) -> str:
    # The first line says what happened; the rest is the browser's stack trace.
    lines = (err.msg or str(err)).strip().splitlines()
    return lines[0] if lines else type(err).__name__


class HtmlAudit(Audit):
    name: ClassVar[str] = "html"
    suffixes: ClassVar[tuple[str, ...]] = (".html", ".htm")

    def audit(self, inputs: Sequence[AuditInput], ctx: AuditContext) -> list[Finding]:
        if not inputs:
            return []
        pages: dict[str, list[Finding]] = {item.name: [] for item in inputs}
        # The pages are shared between browsers (each page is examined on its own, so the
        # findings do not depend on which browser saw it): see BROWSERS.
        left = _Pages(inputs)
        with ThreadPoolExecutor(max_workers=BROWSERS) as pool:
            try:
                with Browser() as browser:
                    tabs = [pool.submit(self._in_browser, browser, left, ctx, pages)]
                    # enough pages left to wait for the second core, and still after the wait
                    while (len(tabs) < BROWSERS and len(left) >= SECOND_BROWSER_PAGES
                           and _second_core_free(ctx, tabs[0])
                           and len(left) >= SECOND_BROWSER_PAGES):
                        tabs.append(pool.submit(self._in_tab, Tab(browser), left, ctx, pages))
                    for done in tabs:
                        done.result()
            except BrowserUnavailable as err:  # raised at the start: no page was examined
                for item in left:
                    pages[item.name] = not_checked(item.name, BROWSER_CHECKS, str(err))
        return [finding for item in inputs for finding in pages[item.name]]

    def _in_tab(self, tab: Tab, left: Iterable[AuditInput], ctx: AuditContext,
                pages: dict[str, list[Finding]]) -> None:
        """Pages from ``left`` in a second tab; one that cannot open leaves them to the first."""
        try:
            with tab:
                self._in_browser(tab, left, ctx, pages)
        except BrowserUnavailable:
            return

    def _page(
        self,
        browser: Browser,
        item: AuditInput,
        ctx: AuditContext,
        findings: list[Finding],
        with_axe: bool,
    ) -> _PageContent | None:
        """Every check of one page in one load of it but the one with JavaScript off; what the
        page held at first, or None when the page could not be examined."""
        done = len(findings)
        try:
            # One load of the page for every check, in an order that keeps them apart: what
            # the page holds first, then the keyboard before anything moves the focus, axe in
            # the window's size, the text spaced and zoomed, and the narrow viewport last.
            browser.open(item.path)
            # A page without scripts opens no dialog: DevTools may run the read-only checks.
            read = browser.evaluate if _runs_no_scripts(item.path) else None
            first = (read or browser.script)(_FIRST_LOOK)
            scripted = _page_content(first)
            bypass = (read or browser.script)(BYPASS_FACTS)
            language = (read or browser.script)(LANGUAGE_TEXT)
            browser.script(KEYBOARD_WATCH)  # the look of each element before anything has focus
            findings.append(skip_link_finding(item.name, browser))
            findings.append(bypass_finding(item.name, bypass, browser))
            findings += keyboard_findings(item.name, browser, bypass["tabbable"])
            browser.script(_AT_REST)
            if not with_axe:
                findings += not_checked(
                    item.name,
                    ["axe"],
                    f"axe-core is not installed ({axe_script()} is missing: run `npm ci`)",
                )
            else:
                results = run_axe(browser)
                decided = []
                for target in image_contrast_targets(results):
                    measured = contrast_finding(item.name, browser, target)
                    if measured is not None:
                        decided.append(measured)
                # what the pixels decided replaces axe's "a person needs to check this", and so
                # does page.skip-link, which always decides 2.4.1, axe's "bypass" rule
                settled = {f.locator for f in decided}
                findings += sorted(
                    [f for f in axe_findings(item.name, results)
                     if not (f.outcome == "cannot-tell" and (
                         f.check == "axe.bypass" or (f.check == "axe.color-contrast"
                                                     and f.locator in settled)))] + decided,
                    key=lambda f: (f.check, f.outcome, f.locator),
                )
            findings += text_findings(item.name, browser, read or browser.script)
            findings.append(reflow_finding(item.name, browser, read or browser.script))
            findings.append(language_finding(item.name, language))
            findings += language_switcher_findings(item.name, first["links"], ctx)
        except WebDriverException as err:
            # Whatever was found before the page broke the browser would be a partial
            # result; report the page as not examined instead.
            del findings[done:]
            findings += not_checked(
                item.name,
                BROWSER_CHECKS,
                f"the page could not be examined in the browser ({_reason(err)})",
            )
            return None
        return scripted

    def _in_browser(
        self,
        browser: Browser,
        inputs: Iterable[AuditInput],
        ctx: AuditContext,
        pages: dict[str, list[Finding]],
    ) -> None:
        taken: list[AuditInput] = []  # the pages this browser took, in turn
        script = axe_script()
        axe_source = script.read_text(encoding="utf-8") if script.is_file() else None
        style_sheets: dict[str, str | None] = {}
        reload: dict[str, _PageContent] = {}  # pages to load again with JavaScript off
        # axe-core is handed to Chromium once and loads in each page before the page's own
        # scripts; it defines window.axe and nothing else until it is run.
        with browser.on_every_page(axe_source) if axe_source else nullcontext():
            for item in inputs:
                taken.append(item)
                scripted = self._page(browser, item, ctx, pages[item.name], axe_source is not None)
                if _size(item.path) > COLLECT_AFTER_BYTES:
                    with suppress(WebDriverException):  # memory only: the findings are made
                        browser.devtools("HeapProfiler.collectGarbage")
                if scripted is None:
                    continue
                if why_reload_without_js(item.path, scripted.style_sheets, style_sheets) is None:
                    pages[item.name].append(no_js_finding(item.name, scripted))
                else:
                    reload[item.name] = scripted
        if not reload:
            return
        # One pass with scripts off for the pages that need it: switching costs a DevTools call
        # each way.
        with browser.scripts_disabled():
            for item in taken:
                if item.name not in reload:
                    continue
                try:
                    browser.open(item.path)
                    plain = _page_content(browser.script(_PAGE_CONTENT))
                except WebDriverException as err:
                    pages[item.name] += not_checked(
                        item.name, ["page.no-js"], f"the page would not load ({_reason(err)})"
                    )
                    continue
                pages[item.name].append(no_js_finding(item.name, reload[item.name], plain))


class _Pages:
    """The pages left to examine, shared between browsers: each takes the next one, the largest
    first (so that no browser is left with a large page at the end while the other waits)."""

    def __init__(self, inputs: Sequence[AuditInput]) -> None:
        self._left = sorted(inputs, key=lambda item: (-_size(item.path), item.name))
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._left)

    def __iter__(self) -> Iterator[AuditInput]:
        while True:
            with self._lock:
                if not self._left:
                    return
                item = self._left.pop(0)
            yield item


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _second_core_free(ctx: AuditContext, first: Future[None]) -> bool:
    """Wait until the audits beside this one are done (the second core is then free); False
    when the first browser finished meanwhile (no page is left)."""
    while not first.done():
        if ctx.beside_done is None or ctx.beside_done.is_set():
            return True
        time.sleep(0.05)
    return False


AUDIT = HtmlAudit()
