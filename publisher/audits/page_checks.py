"""Checks of a web page in the browser that axe-core cannot make, because a person would have to
act on the page or look at it: bypassing blocks, the keyboard, the language of the text, text
resized and spaced, and contrast over background images.

In: a :class:`~publisher.browser.Browser` with the page loaded (the website audit runs these in
the same load as axe-core, see :mod:`publisher.audits.html`) and what the page held at first.
Out: :class:`~publisher.audits.Finding` values:

- ``page.skip-link`` (WCAG 2.4.1): any sufficient technique bypasses the repeated blocks — a
  skip link or skip button that works, landmarks, headings; none at all, or a skip link to
  nothing, fails;
- ``page.keyboard-trap`` (2.1.2) and ``page.focus-visible`` (2.4.7): Tab and Shift+Tab through
  every focusable element;
- ``page.language`` (3.1.1): the declared language against the language of the text (py3langid);
- ``page.text-spacing`` (1.4.12) and ``page.resize-text`` (1.4.4): text clipped or overlapping
  once spaced as WCAG says or zoomed to 200 %, and text that does not grow with the zoom;
- ``page.contrast-image`` (1.4.3): the text's contrast with the pixels of the background image
  behind it, where axe-core could not tell.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np
from PIL import Image
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from publisher.audits import Criteria, Finding
from publisher.browser import Browser

BYPASS = Criteria(wcag=("2.4.1",), en301549=("9.2.4.1",))
NO_TRAP = Criteria(wcag=("2.1.2",), en301549=("9.2.1.2",))
FOCUS_VISIBLE = Criteria(wcag=("2.4.7",), en301549=("9.2.4.7",))
LANGUAGE = Criteria(wcag=("3.1.1",), en301549=("9.3.1.1",))
TEXT_SPACING = Criteria(wcag=("1.4.12",), en301549=("9.1.4.12",))
RESIZE_TEXT = Criteria(wcag=("1.4.4",), en301549=("9.1.4.4",))
CONTRAST = Criteria(wcag=("1.4.3",), en301549=("9.1.4.3",))

#: the language of fewer letters than this is not told (a title and a few links say too little)
MIN_LETTERS = 200
#: below this probability (py3langid's, normalised over its 97 languages) the language is not told
MIN_CONFIDENCE = 0.95
#: languages that an identifier cannot keep apart from their text alone
_SAME_LANGUAGE = ({"no", "nb", "nn"}, {"hr", "sr", "bs"}, {"ms", "id"})
#: WCAG 1.4.12's text spacing, as the W3C's own test applies it
SPACING_CSS = """
* { line-height: 1.5 !important; letter-spacing: 0.12em !important;
    word-spacing: 0.16em !important; }
p { margin-bottom: 2em !important; }
"""
#: the window at 200 % zoom: the audit's 1280 x 900 window shows 640 x 450 CSS pixels
ZOOM_VIEWPORT = (640, 450)
#: text smaller than this share of its size at 100 % (in CSS pixels) at 200 % zoom did not grow
#: to 200 %: it is sized in viewport units
MIN_GROWTH = 0.95
MAX_CONTRAST_ELEMENTS = 10
MAX_LISTED = 5


def _listing(selectors: Sequence[str]) -> str:
    shown = ", ".join(selectors[:MAX_LISTED])
    more = len(selectors) - MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


# A CSS selector for an element, so a person can find what a check points at.
CSS_PATH = """
function cssPath(el) {
  if (!(el instanceof Element)) return '';
  const parts = [];
  while (el && el !== document.documentElement) {
    if (el.id && document.querySelectorAll('#' + CSS.escape(el.id)).length === 1) {
      parts.unshift('#' + CSS.escape(el.id));
      break;
    }
    let part = el.localName;
    const parent = el.parentElement;
    if (parent) {
      const same = Array.from(parent.children).filter((c) => c.localName === el.localName);
      if (same.length > 1) part += ':nth-of-type(' + (same.indexOf(el) + 1) + ')';
    }
    parts.unshift(part);
    el = parent;
  }
  return parts.join(' > ') || 'html';
}
"""


# --- 2.4.1 bypass blocks ---------------------------------------------------------------------

#: what the freshly loaded page offers to bypass its blocks; run before anything has focus
BYPASS_FACTS = CSS_PATH + """
const tabbable = (el) => el.tabIndex >= 0 && !el.disabled && !el.closest('[inert]')
  && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
const candidates = Array.from(document.querySelectorAll(
  'a[href], area[href], button, input, select, textarea, summary, iframe, [tabindex], '
  + '[contenteditable=""], [contenteditable="true"]')).filter(tabbable);
const byTab = candidates.filter((el) => el.tabIndex > 0).sort((a, b) => a.tabIndex - b.tabIndex)
  .concat(candidates.filter((el) => el.tabIndex === 0));
const landmarks = document.querySelectorAll(
  'main, [role="main"], nav, [role="navigation"], [role="search"], search, aside, '
  + '[role="complementary"], body > header, [role="banner"], body > footer, '
  + '[role="contentinfo"]');
const main = document.querySelector('main, [role="main"]');
const headings = Array.from(document.querySelectorAll(
  'h1, h2, h3, h4, h5, h6, [role="heading"]')).filter((h) => h.textContent.trim());
const follows = (a, b) => !!(a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING);
const first = byTab.slice(0, 3);
const skipLinks = first.filter((el) => el.localName === 'a' && el.hash && el.hash !== '#'
    && el.hash.toLowerCase() !== '#top'
    && new URL(el.href, location.href).href.split('#')[0] === location.href.split('#')[0])
  .map((el) => {
    const id = decodeURIComponent(el.hash.slice(1));
    const target = document.getElementById(id) || document.getElementsByName(id)[0] || null;
    return {selector: cssPath(el), hash: el.hash, text: el.textContent.trim(),
            target: target ? cssPath(target) : '', forward: !!target && follows(el, target)};
  });
const skipWords = new RegExp('skip|jump|bypass|main|content|passer|aller|contenu|saltar|ir al|'
  + 'contenido|neidio|cynnwys|تخط|انتقل|المحتوى', 'i');
const skipButtons = first.filter((el) => (el.localName === 'button'
    || el.getAttribute('role') === 'button') && skipWords.test(el.textContent + ' '
    + (el.getAttribute('aria-label') || '')))
  .map((el) => ({selector: cssPath(el), text: el.textContent.trim(), index: byTab.indexOf(el)}));
// H69: headings that start the content after the first of the repeated links
const firstStop = byTab[0];
return {
  tabbable: byTab.length,
  main: main ? cssPath(main) : '',
  landmarks: landmarks.length,
  headings: headings.length,
  headingAfterFirstStop: headings.some((h) => !firstStop || follows(firstStop, h)),
  skipLinks: skipLinks,
  skipButtons: skipButtons,
};
"""

#: where the keyboard focus is, and how far down the page, after the skip button was pressed
_AFTER_BUTTON = CSS_PATH + """
const el = document.activeElement;
return {focused: el && el !== document.body ? cssPath(el) : '', scrollY: scrollY,
        moved: !!el && el !== document.body && el !== arguments[0]
               && !!(arguments[0].compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING)};
"""


def bypass_finding(name: str, facts: Mapping[str, Any], browser: Browser) -> Finding:
    """WCAG 2.4.1 by every sufficient technique of the W3C's: a skip link that leads forward
    to something on the page (G1, G123, G124, whether or not to ``<main>``), a skip button
    that moves the focus forward, landmarks (ARIA11), headings that open the content (H69).
    Fails when the page has none of them, or when its skip link leads to nothing (a broken
    bypass is worse than none: it promises one)."""

    def finding(outcome: str, message: str, locator: str = "") -> Finding:
        return Finding(name, "page.skip-link", "failed" if outcome == "failed" else "passed",
                       message, BYPASS, impact="serious" if outcome == "failed" else None,
                       locator=locator, figures={"landmarks": facts["landmarks"],
                                                 "headings": facts["headings"]},
                       rulebook="wcag")

    for link in facts["skipLinks"]:
        if not link["target"]:
            return finding(
                "failed",
                f"The skip link “{link['text']}” points to {link['hash']}, which is not on the "
                "page, so it skips nothing: give the element it should lead to that id.",
                link["selector"])
    ways = []
    working = [link for link in facts["skipLinks"] if link["forward"]]
    if working:
        ways.append(f"a skip link (“{working[0]['text']}” to {working[0]['hash']})")
    if facts["main"] or facts["landmarks"] >= 2:
        ways.append("landmarks" + (" with a main landmark" if facts["main"] else ""))
    if facts["headings"] and facts["headingAfterFirstStop"]:
        ways.append("headings at the start of its content")
    if not ways and facts["skipButtons"]:
        button = facts["skipButtons"][0]
        el = browser.script("return document.querySelector(arguments[0])", button["selector"])
        if el is not None:
            browser.script("arguments[0].focus()", el)
            browser.press(Keys.ENTER)
            after = browser.script(_AFTER_BUTTON, el)
            if after["moved"] or after["scrollY"] > 0:
                ways.append(f"a skip button (“{button['text']}”)")
    if ways:
        return finding("passed", "The page lets people bypass its repeated blocks with "
                       + " and ".join(ways) + ".")
    return finding(
        "failed",
        "The page gives no way to bypass blocks repeated on every page: no skip link, no "
        "landmarks and no headings. Mark the main content with <main> and give each section "
        "a heading, or add a “Skip to main content” link.")


# --- 2.1.2 and 2.4.7: the keyboard -----------------------------------------------------------

#: a keydown listener on the page that notes, at each Tab, where the focus is and whether it
#: shows (its styles against those it had before anything had focus); and those first styles
KEYBOARD_WATCH = CSS_PATH + """
const PROPS = ['outline-style', 'outline-width', 'outline-color', 'box-shadow',
  'background-color', 'background-image', 'color', 'border-top-color', 'border-bottom-color',
  'border-left-color', 'border-right-color', 'border-bottom-width', 'text-decoration-line',
  'text-decoration-thickness', 'transform', 'filter'];
const look = (el) => {
  const parts = [];
  for (const target of [el, el.parentElement]) {
    if (!target) continue;
    for (const pseudo of [null, '::before', '::after']) {
      if (pseudo && target !== el) continue;
      const cs = getComputedStyle(target, pseudo);
      parts.push(PROPS.map((p) => cs.getPropertyValue(p)).join('|'));
    }
  }
  return parts.join('#');
};
// Smooth scrolling and transitions would leave the focused element on its way at the next key
// press (a person waits for them): off while the keyboard is checked, and before the first look.
const still = document.createElement('style');
still.id = 'publisher-keyboard-still';
still.textContent = '*, *::before, *::after { scroll-behavior: auto !important; '
  + 'transition: none !important; }';
(document.head || document.documentElement).appendChild(still);
const first = new Map();
document.querySelectorAll('a[href], area[href], button, input, select, textarea, summary, '
  + 'iframe, [tabindex], [contenteditable]').forEach((el) => first.set(el, look(el)));
const stops = [];
const note = (shift) => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) {
    stops.push({selector: '', shift: shift});
    return;
  }
  const box = el.getBoundingClientRect();
  // an element outside the Tab order (a skip link's target with tabindex="-1") has the focus
  // only because something gave it: not a stop whose focus indicator 2.4.7 asks for
  const before = el.tabIndex >= 0 ? first.get(el) : undefined;
  stops.push({
    selector: cssPath(el), shift: shift, frame: /^(iframe|frame|object|embed)$/.test(el.localName),
    changed: before === undefined ? null : before !== look(el),
    // in the page, not the window: the browser scrolls to the focus only at its next frame,
    // after the next key of the batch; parked before the page's start is off-screen for good
    onScreen: box.width >= 2 && box.height >= 2 && box.right + scrollX > 0
      && box.bottom + scrollY > 0,
  });
};
window.__publisherKeyboard = {stops: stops, note: note};
window.addEventListener('keydown', (event) => {
  if (event.key === 'Tab') note(event.shiftKey);
}, true);
return first.size;
"""

_KEYBOARD_END = """
const watch = window.__publisherKeyboard;
watch.note(arguments[0]);
const stops = watch.stops.splice(0);
return stops;
"""


def _pass(browser: Browser, presses: int, shift: bool) -> list[dict[str, Any]]:
    """Tab (or Shift+Tab) ``presses`` times in one go; where the focus was before each press
    and after the last."""
    chain = ActionChains(browser.driver)
    if shift:
        chain.key_down(Keys.SHIFT)
    chain.send_keys(Keys.TAB * presses)
    if shift:
        chain.key_up(Keys.SHIFT)
    chain.perform()
    stops: list[dict[str, Any]] = browser.script(_KEYBOARD_END, shift)
    return stops


def _trapped(stops: Sequence[Mapping[str, Any]], presses: int) -> list[str] | None:
    """The elements that hold the focus, or None: the focus left the page (to the browser)
    at least once in more presses than the page has stops, or it moved to new elements all
    the way. Raises LookupError when keys went to a frame, whose insides we cannot follow."""
    if len(stops) < presses + 1 or any(stop.get("frame") for stop in stops):
        raise LookupError("frame")
    if any(not stop["selector"] for stop in stops):
        return None
    selectors = [stop["selector"] for stop in stops]
    if len(set(selectors)) == len(selectors):
        return None
    cycle = list(dict.fromkeys(selectors[len(selectors) // 2:]))
    return cycle


def keyboard_findings(name: str, browser: Browser, tabbable: int) -> list[Finding]:
    """Tab through the page, then Shift+Tab back: every press as a person makes it, in one
    batch of key events each way (a round trip per key would cost a page's axe run on a long
    page). ``tabbable``: the page's focusable elements in the Tab order (``BYPASS_FACTS``)."""
    presses = tabbable + 3  # every stop, out of the page, and back in
    stops: list[dict[str, Any]] = []
    trap: list[str] | None = None
    unknown = False
    escaped = False
    for shift in (False, True):
        found = _pass(browser, presses, shift)
        stops += found
        try:
            held = _trapped(found, presses)
        except LookupError:
            unknown = True
            continue
        if held:
            # a dialog that keeps the focus until Escape closes it is no trap (2.1.2 allows a
            # standard way out)
            browser.press(Keys.ESCAPE)
            again = _pass(browser, presses, shift)
            stops += again
            try:
                if _trapped(again, presses) is None:
                    escaped = True
                    continue
            except LookupError:
                unknown = True
                continue
            trap = held
            break
    figures = {"tab_stops": tabbable, "key_presses": len(stops)}
    findings: list[Finding] = []
    if trap:
        findings.append(Finding(
            name, "page.keyboard-trap", "failed",
            f"The keyboard focus is trapped: pressing Tab (or Shift+Tab, or Escape) keeps it in "
            f"{_listing(trap)} and never reaches the rest of the page. Let Tab move on from "
            "every component.", NO_TRAP, impact="critical", locator=trap[0], figures=figures))
    elif unknown:
        findings.append(Finding(
            name, "page.keyboard-trap", "cannot-tell",
            "The keyboard focus went into a frame, whose insides the audit cannot follow: check "
            "by hand that Tab and Shift+Tab leave it.", NO_TRAP, figures=figures))
    else:
        findings.append(Finding(
            name, "page.keyboard-trap", "passed",
            f"Tab and Shift+Tab move through every stop ({tabbable}) and out of the page"
            + (" (a dialog keeps the focus until Escape closes it)." if escaped else "."),
            NO_TRAP, figures=figures))
    hidden = list(dict.fromkeys(
        stop["selector"] for stop in stops
        if stop["selector"] and not stop.get("frame")
        and stop.get("changed") is not None
        and (stop.get("onScreen") is False or stop.get("changed") is False)))
    judged = {stop["selector"] for stop in stops if stop["selector"]
              and stop.get("changed") is not None}
    figures = {"focus_stops_seen": len(judged), "focus_not_visible": len(hidden)}
    if hidden:
        findings.append(Finding(
            name, "page.focus-visible", "failed",
            f"{len(hidden)} of the {len(judged)} elements the keyboard reaches "
            f"{'shows' if len(hidden) == 1 else 'show'} no sign of having the focus (its look "
            f"does not change, or it stays off-screen): {_listing(hidden)}. "
            "Keep an outline (or another visible change) on :focus-visible.",
            FOCUS_VISIBLE, impact="serious", locator=hidden[0], figures=figures))
    else:
        findings.append(Finding(
            name, "page.focus-visible", "passed",
            f"Every element the keyboard reaches ({len(judged)}) shows that it has the focus."
            if judged else "Nothing on the page takes the keyboard focus.",
            FOCUS_VISIBLE, figures=figures))
    return findings


# --- 3.1.1 language of the page ---------------------------------------------------------------

#: the visible text in the page's own language (parts marked with another lang left out)
LANGUAGE_TEXT = """
const root = document.documentElement;
const declared = (root.getAttribute('lang') || root.getAttribute('xml:lang') || '').trim();
const primary = (code) => code.split('-')[0].toLowerCase();
const own = primary(declared);
const chunks = [];
let length = 0;
const walker = document.createTreeWalker(document.body || root, NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node && length < 20000; node = walker.nextNode()) {
  const text = node.nodeValue.trim();
  const parent = node.parentElement;
  if (!text || !parent || parent.closest('script, style, noscript, template, code, pre')) continue;
  if (!parent.checkVisibility()) continue;
  const marked = parent.closest('[lang]');
  if (marked && marked !== root && primary(marked.getAttribute('lang')) !== own) continue;
  chunks.push(text);
  length += text.length;
}
return {declared: declared, text: chunks.join(' ')};
"""


@cache
def _identifier() -> Any:
    """py3langid's model (a second to load: once per process, and only when a page has text)."""
    from py3langid.langid import (  # type: ignore[import-untyped]
        MODEL_FILE,
        LanguageIdentifier,
    )

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def identify_language(text: str) -> tuple[str, float] | None:
    """The language of ``text`` (ISO 639-1) and its probability; None for too little text."""
    letters = sum(ch.isalpha() for ch in text)
    if letters < MIN_LETTERS:
        return None
    code, probability = _identifier().classify(text)
    return str(code), float(probability)


def _same_language(a: str, b: str) -> bool:
    return a == b or any(a in group and b in group for group in _SAME_LANGUAGE)


def language_finding(name: str, facts: Mapping[str, str]) -> Finding:
    declared = facts["declared"]
    primary = declared.split("-")[0].lower()
    letters = sum(ch.isalpha() for ch in facts["text"])
    figures: dict[str, Any] = {"declared_language": declared, "letters": letters}

    def finding(outcome: str, message: str) -> Finding:
        return Finding(name, "page.language", "failed" if outcome == "failed" else (
            "passed" if outcome == "passed" else "cannot-tell"), message, LANGUAGE,
            impact="serious" if outcome == "failed" else None, figures=figures)

    if not primary:
        return finding("cannot-tell", "The page declares no language (see axe.html-has-lang), "
                       "so its text could not be compared with it.")
    known = set(_identifier().nb_classes)
    if primary not in known and not any(primary in group for group in _SAME_LANGUAGE):
        return finding("cannot-tell", f"The language identifier does not know “{declared}”, "
                       "so the text could not be compared with it.")
    found = identify_language(facts["text"])
    if found is None:
        return finding("cannot-tell", f"The page has {letters} letters of text in its own "
                       f"language, too few (under {MIN_LETTERS}) to tell its language.")
    code, probability = found
    figures.update(identified_language=code, probability=round(probability, 3))
    if probability < MIN_CONFIDENCE:
        return finding("cannot-tell", f"The text may be in “{code}” or another language "
                       f"(probability {probability:.2f}); a person should check that it is "
                       f"in “{declared}”, as the page declares.")
    if _same_language(code, primary):
        return finding("passed", f"The text is in the language the page declares ({declared}).")
    return finding(
        "failed",
        f"The page declares lang=\"{declared}\", but its text is in “{code}” (probability "
        f"{probability:.2f}): screen readers would read it with the wrong voice. Set the lang "
        "attribute of <html> to the language of the text.")


# --- 1.4.4 and 1.4.12: text resized and spaced -------------------------------------------------

#: elements whose text is cut off (clipped by overflow) or spills over the next element, and the
#: size of the text of each element that has text of its own
TEXT_LAYOUT = CSS_PATH + """
const clipped = [];
const spilling = [];
const sizes = {};
const ownText = (el) => Array.from(el.childNodes).some(
  (n) => n.nodeType === Node.TEXT_NODE && n.nodeValue.trim());
const hides = (value) => value === 'hidden' || value === 'clip';
for (const el of document.body ? document.body.querySelectorAll('*') : []) {
  if (/^(script|style|noscript|template|svg|math|select|option|textarea|input)$/
      .test(el.localName)) continue;
  const cs = getComputedStyle(el);
  if (cs.display === 'none' || cs.visibility === 'hidden') continue;
  if (ownText(el)) sizes[cssPath(el)] = parseFloat(cs.fontSize);
  if (el.clientWidth < 4 || el.clientHeight < 4 || !el.textContent.trim()) continue;
  const wide = el.scrollWidth > el.clientWidth + 1;
  const tall = el.scrollHeight > el.clientHeight + 1;
  if ((hides(cs.overflowX) && wide) || (hides(cs.overflowY) && tall)
      || (cs.textOverflow === 'ellipsis' && wide)) {
    clipped.push(cssPath(el));
  } else if (tall && cs.overflowY === 'visible' && ownText(el)) {
    const next = el.nextElementSibling;
    if (next && next.textContent.trim()) {
      const bottom = el.getBoundingClientRect().top + el.scrollHeight;
      if (next.getBoundingClientRect().top < bottom - 2) spilling.push(cssPath(el));
    }
  }
}
return {clipped: clipped, spilling: spilling, sizes: sizes};
"""

_ADD_SPACING = """
const style = document.createElement('style');
style.id = 'publisher-text-spacing';
style.textContent = arguments[0];
(document.head || document.documentElement).appendChild(style);
"""
_REMOVE_SPACING = "const s = document.getElementById('publisher-text-spacing'); if (s) s.remove();"


def _lost(measured: Mapping[str, Any], before: Mapping[str, Any]) -> list[str]:
    """What is cut off or overlapping now and was not before (a box clipped on purpose, such as
    text hidden for screen readers only, is clipped both ways)."""
    was = set(before["clipped"]) | set(before["spilling"])
    return [s for s in (*measured["clipped"], *measured["spilling"]) if s not in was]


def text_findings(name: str, browser: Browser, measure: Any) -> list[Finding]:
    """``measure``: how to run a measuring script (Browser.script or .evaluate)."""
    base = measure(TEXT_LAYOUT)
    browser.script(_ADD_SPACING, SPACING_CSS)
    try:
        spaced = measure(TEXT_LAYOUT)
    finally:
        browser.script(_REMOVE_SPACING)
    with browser.viewport(*ZOOM_VIEWPORT):
        zoomed = measure(TEXT_LAYOUT)
    findings: list[Finding] = []
    lost = _lost(spaced, base)
    figures = {"text_elements": len(base["sizes"]), "lost_with_spacing": len(lost)}
    if lost:
        findings.append(Finding(
            name, "page.text-spacing", "failed",
            "With WCAG's text spacing (line height 1.5, letter spacing 0.12 em, word spacing "
            f"0.16 em, 2 em after paragraphs) text is cut off or overlaps in {_listing(lost)}. "
            "Let those boxes grow with their text (no fixed height, no overflow: hidden).",
            TEXT_SPACING, impact="serious", locator=lost[0], figures=figures))
    else:
        findings.append(Finding(
            name, "page.text-spacing", "passed",
            "No text is cut off or overlaps with WCAG's text spacing.", TEXT_SPACING,
            figures=figures))
    lost = _lost(zoomed, base)
    shrunk = [s for s, size in base["sizes"].items()
              if s in zoomed["sizes"] and zoomed["sizes"][s] < MIN_GROWTH * size]
    figures = {"text_elements": len(base["sizes"]), "lost_at_200": len(lost),
               "not_growing": len(shrunk)}
    if lost or shrunk:
        parts = []
        if shrunk:
            parts.append(f"the text of {_listing(shrunk)} does not grow with the zoom (it is "
                         "sized in viewport units): size it in rem or em")
        if lost:
            parts.append(f"text is cut off or overlaps in {_listing(lost)}")
        findings.append(Finding(
            name, "page.resize-text", "failed",
            "At 200 % zoom " + "; ".join(parts) + ".", RESIZE_TEXT, impact="serious",
            locator=(shrunk or lost)[0], figures=figures))
    else:
        findings.append(Finding(
            name, "page.resize-text", "passed",
            "At 200 % zoom the text grows to 200 % and none of it is cut off or overlaps.",
            RESIZE_TEXT, figures=figures))
    return findings


# --- 1.4.3 contrast over background images ----------------------------------------------------

#: axe-core's reasons for leaving colour contrast undecided that the pixels can settle
_IMAGE_REASON = re.compile(r"background image|background gradient|bgImage|bgGradient", re.I)

_TEXT_BOX = """
const el = document.querySelector(arguments[0]);
if (!el) return null;
el.scrollIntoView({block: 'center', inline: 'nearest'});
const box = el.getBoundingClientRect();
const cs = getComputedStyle(el);
return {x: box.left + scrollX, y: box.top + scrollY, width: box.width, height: box.height,
        color: cs.color, size: parseFloat(cs.fontSize), weight: parseInt(cs.fontWeight, 10)};
"""
_HIDE_TEXT = """
const el = document.querySelector(arguments[0]);
el.setAttribute('data-publisher-contrast', '');
const style = document.createElement('style');
style.id = 'publisher-contrast';
style.textContent = '[data-publisher-contrast], [data-publisher-contrast] * { color: transparent '
  + '!important; -webkit-text-fill-color: transparent !important; text-shadow: none '
  + '!important; caret-color: transparent !important; }';
document.head.appendChild(style);
"""
_SHOW_TEXT = """
document.querySelector('[data-publisher-contrast]').removeAttribute('data-publisher-contrast');
document.getElementById('publisher-contrast').remove();
"""
_RGB = re.compile(r"rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)")


def image_contrast_targets(axe_results: Mapping[str, Any]) -> list[str]:
    """The elements whose colour contrast axe-core left undecided for a background image."""
    targets = []
    for rule in axe_results.get("incomplete", []):
        if rule["id"] != "color-contrast":
            continue
        for node in rule["nodes"]:
            reasons = " ".join(check.get("message") or "" for kind in ("any", "all", "none")
                               for check in node.get(kind, []))
            target = node["target"]
            if (_IMAGE_REASON.search(reasons) and len(target) == 1
                    and isinstance(target[0], str)):
                targets.append(target[0])
    return targets[:MAX_CONTRAST_ELEMENTS]


def _luminance(rgb: np.ndarray) -> np.ndarray:
    channel = rgb / 255.0
    linear = np.where(channel <= 0.04045, channel / 12.92, ((channel + 0.055) / 1.055) ** 2.4)
    result: np.ndarray = linear @ np.array([0.2126, 0.7152, 0.0722])
    return result


def _screenshot(browser: Browser, box: Mapping[str, float]) -> np.ndarray:
    shot = browser.devtools("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": box["x"], "y": box["y"], "width": max(box["width"], 1),
                 "height": max(box["height"], 1), "scale": 1}})
    import base64

    with Image.open(io.BytesIO(base64.b64decode(shot["data"]))) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float64)


def contrast_finding(name: str, browser: Browser, selector: str) -> Finding | None:
    """Contrast of the text of ``selector`` with the pixels of its background, measured where its
    letters are: a screenshot with the text, one without it (the text made transparent), the
    letters being where the two differ. None when the pixels cannot settle it either."""
    box = browser.script(_TEXT_BOX, selector)
    colour = _RGB.match(box["color"]) if box else None
    if box is None or colour is None or box["width"] < 1 or box["height"] < 1:
        return None
    if colour.group(4) is not None and float(colour.group(4)) < 1:
        return None  # a translucent text colour mixes with the background: no single colour
    text = _screenshot(browser, box)
    browser.script(_HIDE_TEXT, selector)
    try:
        background = _screenshot(browser, box)
    finally:
        browser.script(_SHOW_TEXT)
    if text.shape != background.shape:
        return None
    letters = np.abs(text - background).sum(axis=2) > 30
    if letters.sum() < 20:
        return None
    text_lum = float(_luminance(np.array([float(colour.group(i)) for i in (1, 2, 3)])))
    behind = _luminance(background[letters])
    ratios = (np.maximum(behind, text_lum) + 0.05) / (np.minimum(behind, text_lum) + 0.05)
    large = box["size"] >= 24 or (box["size"] >= 18.66 and box["weight"] >= 700)
    needed = 3.0 if large else 4.5
    worst, middle = float(np.percentile(ratios, 5)), float(np.median(ratios))
    figures = {"contrast_p5": round(worst, 2), "contrast_median": round(middle, 2),
               "contrast_needed": needed, "letter_pixels": int(letters.sum())}
    if worst >= needed:
        return Finding(name, "page.contrast-image", "passed",
                       f"Measured on the screen, the text has at least {worst:.1f}:1 contrast "
                       f"with the image behind it nearly everywhere ({needed}:1 needed).",
                       CONTRAST, locator=selector, figures=figures)
    if middle < needed:
        return Finding(name, "page.contrast-image", "failed",
                       f"Measured on the screen, the text has {middle:.1f}:1 contrast with the "
                       f"image behind most of its letters ({needed}:1 needed). Darken or "
                       "lighten the image behind the text, or put a solid background under it.",
                       CONTRAST, impact="serious", locator=selector, figures=figures)
    return None
