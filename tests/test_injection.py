"""A safe website: injection attempts in every text a content author or a site editor writes
run nothing in a real browser.

The fixture ``tests/fixtures/injection/`` puts script tags, event-handler attributes, attribute
and element break-outs, ``</script>`` inside what becomes JSON-LD, ``javascript:`` and ``data:``
text, and CSS break-outs (``red;} body{background:url(//evil.example/…)}``) into the body and into
every front-matter and site-configuration text. Every payload that ran would set
``window.__injected`` or make the browser request ``evil.example``.

The site is built and served over HTTP on 127.0.0.1, and each HTML page is loaded in headless
Debian Chromium with a probe installed before any page script (DevTools
``Page.addScriptToEvaluateOnNewDocument``, which a page's Content-Security-Policy does not
govern): it records calls to ``alert``/``confirm``/``prompt`` and every
``securitypolicyviolation`` event. After the load the test checks that no dialog is open, that
``window.__injected`` is undefined, that the browser's console holds no CSP report, that no
element or attribute came from the content (no script but JSON-LD and the site's own, no ``on*``
attribute, no ``javascript:``/``data:`` address, no ``style`` attribute, no ``iframe``, ``object``,
``base`` or refresh), that nothing was requested from another origin, and that the payloads are
shown as plain text. A control page without the policy proves that the probe sees a script
that runs, and the same page with the site's policy proves that the policy blocks and reports it.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import socketserver
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tinycss2

from publisher.browser import CHROMEDRIVER, CHROMIUM, FLAGS, missing_browser
from publisher.build import BuildOptions, build, formats_dir
from publisher.diagnostics import Diagnostics
from publisher.i18n import Locale
from publisher.load import load_site
from publisher.writers import RenderContext, registry
from publisher.writers.html import CSP

FIXTURE = Path(__file__).parent / "fixtures" / "injection"

pytestmark = pytest.mark.skipif(missing_browser() is not None,
                                reason=missing_browser() or "")

#: installed before any script of the page; a page's Content-Security-Policy does not apply
PROBE = """
window.__probe = {dialogs: [], violations: []};
for (const name of ["alert", "confirm", "prompt", "print"]) {
  const original = window[name];
  window[name] = function (...args) {
    window.__probe.dialogs.push(name + ": " + args.join(" "));
    return original.apply(this, args);
  };
}
document.addEventListener("securitypolicyviolation", (event) => {
  window.__probe.violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""

#: what the page's document holds that the content could have put there
INSPECT = """
const bad = [];
const own = location.origin;
for (const script of document.querySelectorAll("script")) {
  if (script.type === "application/ld+json" && !script.src) continue;
  const src = script.src ? new URL(script.src) : null;
  if (src && src.origin === own && src.pathname.startsWith("/assets/")) continue;
  bad.push("script " + script.outerHTML.slice(0, 120));
}
const addresses = ["href", "src", "action", "formaction", "data", "poster", "xlink:href",
                   "background", "srcset", "ping"];
for (const element of document.querySelectorAll("*")) {
  for (const attribute of element.attributes) {
    const name = attribute.name.toLowerCase();
    const value = attribute.value.replace(/[\\s\\u0000-\\u001f]/g, "").toLowerCase();
    if (name.startsWith("on")) bad.push("handler " + name + " on " + element.tagName);
    if (name === "style" || name === "srcdoc") bad.push(name + " on " + element.tagName);
    if (addresses.includes(name) && /^(javascript|data|vbscript):/.test(value)) {
      bad.push("address " + name + "=" + attribute.value.slice(0, 80));
    }
  }
}
for (const tag of ["iframe", "frame", "object", "embed", "base", "style", "svg", "math",
                   "link[rel=import]"]) {
  for (const element of document.querySelectorAll(tag)) bad.push("element " + tag);
}
for (const form of document.forms) {
  if (new URL(form.action, location.href).origin !== own) bad.push("form to " + form.action);
}
for (const meta of document.querySelectorAll("meta[http-equiv]")) {
  if (meta.httpEquiv.toLowerCase() !== "content-security-policy") {
    bad.push("meta " + meta.outerHTML.slice(0, 120));
  }
}
const policy = document.querySelector('meta[http-equiv="Content-Security-Policy"]');
const foreign = performance.getEntriesByType("resource")
  .map((entry) => entry.name).filter((name) => new URL(name).origin !== own);
return {
  bad: bad,
  injected: typeof window.__injected,
  probe: window.__probe || null,
  policy: policy ? policy.content : null,
  policyFirst: policy !== null && document.head.firstElementChild.nextElementSibling !== null
    && [...document.head.children].indexOf(policy) <= 2,
  foreign: foreign,
  text: document.body ? document.body.innerText : "",
  title: document.title,
};
"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # the test reads the browser, not the server's log


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("injection")
    content = root / "content"
    shutil.copytree(FIXTURE, content)
    result = build(BuildOptions(content_dir=content, out_dir=root / "site",
                                formats=["html", "search", "opendata"], audit=False, jobs=1,
                                use_cache=False))
    assert result.published, [d.format() for d in result.diagnostics.errors]
    return root / "site"


@pytest.fixture(scope="module")
def served(built: Path) -> Iterator[str]:
    """The built site over HTTP on the loopback address, as a web server would serve it."""
    handler = functools.partial(_QuietHandler, directory=str(built))
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/"
        finally:
            server.shutdown()
            thread.join(10)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian Chromium as publisher.browser starts it, but leaving dialogs open (so that an
    alert can be seen) and keeping the browser's console log."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.unhandled_prompt_behavior = "ignore"
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER),
                                              log_output=subprocess.DEVNULL), options=options)
    driver.set_page_load_timeout(30)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PROBE})
    try:
        yield driver
    finally:
        driver.quit()


def visit(driver: Any, url: str) -> dict[str, Any]:
    """Load a page, then report what ran and what it holds."""
    from selenium.common.exceptions import NoAlertPresentException

    driver.get_log("browser")  # start each page with an empty console
    driver.get(url)
    dialog = None
    try:
        alert = driver.switch_to.alert
        dialog = alert.text
        alert.dismiss()
    except NoAlertPresentException:
        pass
    report: dict[str, Any] = driver.execute_script(INSPECT)
    report["dialog"] = dialog
    report["console"] = [entry["message"] for entry in driver.get_log("browser")]
    return report


def assert_clean(report: dict[str, Any], page: str) -> None:
    assert report["dialog"] is None, (page, report["dialog"])
    assert report["injected"] == "undefined", page
    assert report["probe"] is not None, f"{page}: the probe did not run"
    assert report["probe"]["dialogs"] == [], (page, report["probe"]["dialogs"])
    assert report["probe"]["violations"] == [], (page, report["probe"]["violations"])
    assert report["bad"] == [], (page, report["bad"])
    assert report["foreign"] == [], (page, report["foreign"])
    csp_reports = [m for m in report["console"]
                   if "Content Security Policy" in m or "Refused" in m or "evil" in m]
    assert csp_reports == [], (page, csp_reports)
    policy = report["policy"]
    assert policy is not None and report["policyFirst"], f"{page}: no policy before the content"
    assert "'unsafe-inline'" not in policy and "default-src 'none'" in policy, (page, policy)


def test_no_injected_script_runs_in_any_page(built: Path, served: str, chromium: Any) -> None:
    pages = sorted(p.relative_to(built).as_posix() for p in built.rglob("*.html"))
    assert {"en/hostile/index.html", "ar/hostile/index.html", "en/index.html",
            "en/search/index.html", "index.html"} <= set(pages)
    for page in pages:
        assert_clean(visit(chromium, served + page), page)


def test_payloads_are_shown_as_text(served: str, chromium: Any) -> None:
    """Escaped, not stripped: the reader sees exactly what the author wrote."""
    report = visit(chromium, served + "en/hostile/index.html")
    text = report["text"]
    for payload in (
        "Permit </script><script>window.__injected=10</script> <!-- red;} "
        "body{background:url(//evil.example/title-css)} .x{",  # the h1
        "Residents <script>window.__injected=13</script>",
        'Fee <meta http-equiv="refresh" content="0;url=javascript:window.__injected=18">',
        "<script>window.__injected=30</script> in a heading",
        '<img src=x onerror="window.__injected=31">',
        "<script>window.__injected=33</script>",
        "</code></pre><script>window.__injected=41</script>",
        "{{ 7*7 }} {% raw %}",  # no template ran over the content
        "{{ config }}",
        "Town <script>window.__injected=1</script> Hall",
    ):
        assert payload in text, payload
    assert report["title"].startswith("Permit </script><script>window.__injected=10</script>")


def test_search_results_run_nothing(served: str, chromium: Any) -> None:
    """The one page with a script: results built from the index of the hostile pages."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    visit(chromium, served + "en/search/index.html?q=injected")
    WebDriverWait(chromium, 20).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#search-results li"))
    report: dict[str, Any] = chromium.execute_script(INSPECT)
    report["dialog"] = None
    report["console"] = [entry["message"] for entry in chromium.get_log("browser")]
    assert_clean(report, "en/search/?q=injected")
    assert "window.__injected" in chromium.find_element(By.ID, "search-results").text


def test_the_probe_sees_a_script_that_runs_and_the_policy_blocks_it(
    built: Path, served: str, chromium: Any
) -> None:
    """The checks above can fail: the same probe on control pages."""
    payload = "<script>window.__injected = 1; alert('injected')</script>"
    (built / "control-open.html").write_text(
        f"<!DOCTYPE html><html><head><title>c</title></head><body>{payload}"
        '<a href="javascript:void(0)" onclick="x()">x</a></body></html>')
    (built / "control-csp.html").write_text(
        f'<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>c</title></head><body>{payload}"
        '<img src="http://evil.example/x.png" alt=""></body></html>')
    try:
        open_page = visit(chromium, served + "control-open.html")
        assert open_page["dialog"] == "injected"
        assert open_page["injected"] == "number"
        assert any(item.startswith("script") for item in open_page["bad"])
        assert any(item.startswith("handler onclick") for item in open_page["bad"])
        assert any("javascript:" in item for item in open_page["bad"])
        blocked = visit(chromium, served + "control-csp.html")
        assert blocked["dialog"] is None and blocked["injected"] == "undefined"
        assert any("script-src" in v for v in blocked["probe"]["violations"]), blocked["probe"]
        assert any("img-src" in v and "evil.example" in v for v in blocked["probe"]["violations"])
        assert any("Content Security Policy" in m for m in blocked["console"]), blocked["console"]
    finally:
        (built / "control-open.html").unlink()
        (built / "control-csp.html").unlink()


# -------------------------------------------------------------------- CSS in the print formats


def test_css_injection_through_front_matter_stays_a_css_string(tmp_path: Path) -> None:
    """The PDF's running header carries the title and the organisation inside a <style>
    block: the CSS break-out in the title must stay one string, and the PDF must show it."""
    from publisher.writers.pdf import VARIANTS, html_for, pdf_identifier, render_pdf

    diagnostics = Diagnostics()
    site = load_site(FIXTURE, diagnostics)
    assert site is not None
    doc = site.documents[("hostile", "en")]
    writer = registry()["pdf"]
    ctx = RenderContext(
        config=site.config, language=site.config.language("en"), locale=Locale("en", "ltr"),
        build_time=__import__("datetime").datetime(2026, 1, 15, tzinfo=__import__("datetime").UTC),
        formats_dir=formats_dir(), content_dir=FIXTURE, site=site,
        options=writer.options_model.model_validate({}), diagnostics=diagnostics,
    )
    variant = VARIANTS[0]
    html = html_for(doc, ctx, variant)
    style = html.split("<style>", 1)[1].split("</style>", 1)[0]
    rules = [r for r in tinycss2.parse_stylesheet(style, skip_comments=True, skip_whitespace=True)]
    assert [(r.type, getattr(r, "lower_at_keyword", None)) for r in rules] == [("at-rule", "page")]
    strings = [token.value for token in tinycss2.parse_blocks_contents(rules[0].content)
               if token.type == "at-rule"
               for token in token.content if token.type == "string"]
    assert doc.record.title in strings
    rendered = render_pdf(html, ctx, pdf_identifier(doc, ctx, variant))
    assert not [m for m in rendered.logs if "evil" in m], rendered.logs
    (tmp_path / "print.pdf").write_bytes(rendered.data)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "print.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "body{background:url(//evil.example/title-css)}" in text
