"""A real browser for the audits: headless Debian Chromium driven through Selenium.

In: the paths of Chromium and its driver (by default Debian's ``chromium-headless-shell`` when it
is installed, else ``/usr/bin/chromium``, and ``/usr/bin/chromedriver``). Out: a :class:`Browser`,
a context manager that starts one Chromium with a fresh temporary profile, opens pages, runs
scripts, presses keys and sends DevTools commands, and removes the profile when it closes. Start
one and reuse it for every page: starting Chromium takes a second or more.

The headless shell is Chromium's own engine (the same Blink, V8 and layout, from the same Debian
source and version) without the browser around it: no omnibox, tab strip, history or session
service, no WebUI renderer of its own. Those cost CPU at every navigation (the omnibox's WebUI
popup alone takes a renderer), about 40 % of the CPU time of loading a page and a fifth of the
website audit's, and nothing in a page can tell them apart.

Selenium Manager is never asked for anything: both paths are given explicitly, because it would
otherwise try to download a driver or a browser, and the build machines have no network.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import JavascriptException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains

HEADLESS_SHELL = Path("/usr/lib/chromium/chromium-headless-shell")  # Debian chromium-headless-shell
FULL_CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM = HEADLESS_SHELL if HEADLESS_SHELL.is_file() else FULL_CHROMIUM
CHROMEDRIVER = Path("/usr/bin/chromedriver")

# Headless, and quiet: no first-run dialogs, no updates, no sync, no background requests that
# would wait on a network the build machines do not have. --no-sandbox because the audits run
# as root in containers, where Chromium's sandbox cannot start. The headless shell takes the same
# flags (it is headless whatever --headless says).
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
WINDOW = (1280, 900)  # a fixed window so layout-dependent results (contrast, reflow) repeat
PAGE_LOAD_SECONDS = 30
SCRIPT_SECONDS = 60


class BrowserUnavailable(Exception):
    """Chromium or its driver is missing or would not start; the message says which and why."""


def missing_browser(chromium: Path = CHROMIUM, chromedriver: Path = CHROMEDRIVER) -> str | None:
    """Why the browser cannot start, or None when both programs are there."""
    browser_package = "chromium-headless-shell" if chromium == HEADLESS_SHELL else "chromium"
    for program, package in ((chromium, browser_package), (chromedriver, "chromium-driver")):
        if not program.is_file():
            return f"{program} is missing (install the Debian package {package})"
    return None


class Browser:
    """One headless Chromium, reused across pages.

    Use it as a context manager; leaving the block quits Chromium and deletes its profile.
    """

    def __init__(
        self,
        chromium: Path = CHROMIUM,
        chromedriver: Path = CHROMEDRIVER,
        window: tuple[int, int] = WINDOW,
    ) -> None:
        self.chromium = chromium
        self.chromedriver = chromedriver
        self.window = window
        self.profile: Path | None = None
        self._driver: webdriver.Chrome | None = None

    def __enter__(self) -> Browser:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        reason = missing_browser(self.chromium, self.chromedriver)
        if reason:
            raise BrowserUnavailable(reason)
        options = webdriver.ChromeOptions()
        options.binary_location = str(self.chromium)
        for flag in FLAGS:
            options.add_argument(flag)
        # chromedriver makes the fresh profile itself (and deletes it when it quits): given one
        # with --user-data-dir it no longer opens the first page, and the headless shell then
        # has no page to drive.
        options.add_argument(f"--window-size={self.window[0]},{self.window[1]}")
        # Someone else's page may call alert() on load; a dialog left open would make every
        # later command fail.
        options.unhandled_prompt_behavior = "dismiss"
        service = Service(executable_path=str(self.chromedriver), log_output=subprocess.DEVNULL)
        try:
            self._driver = webdriver.Chrome(service=service, options=options)
        except WebDriverException as err:
            raise BrowserUnavailable(f"Chromium would not start: {err.msg or err}") from err
        profile = self._driver.capabilities.get("chrome", {}).get("userDataDir")
        self.profile = Path(profile) if profile else None
        self._driver.set_page_load_timeout(PAGE_LOAD_SECONDS)
        self._driver.set_script_timeout(SCRIPT_SECONDS)

    def close(self) -> None:
        if self._driver is not None:
            try:
                self._driver.quit()
            finally:
                self._driver = None
                self._remove_profile()
        else:
            self._remove_profile()

    def _remove_profile(self) -> None:
        if self.profile is not None:
            shutil.rmtree(self.profile, ignore_errors=True)
            self.profile = None

    @property
    def driver(self) -> webdriver.Chrome:
        if self._driver is None:
            raise RuntimeError("the browser is not started; use it as a context manager")
        return self._driver

    def open(self, path: Path) -> None:
        """Load a file from disk as a file:// page and wait for its load event."""
        self.driver.get(path.resolve().as_uri())

    def script(self, source: str, *args: Any) -> Any:
        """Run JavaScript in the page (works even while page scripts are disabled)."""
        return self.driver.execute_script(source, *args)

    def evaluate(self, source: str, *args: Any) -> Any:
        """Run JavaScript in the page, as :meth:`script` does, straight through DevTools: a third
        of the time, but it neither waits for a navigation under way nor dismisses a dialog the
        page opened, so use it only on a loaded page that runs no scripts."""
        expression = f"(function () {{\n{source}\n}}).apply(null, {json.dumps(list(args))})"
        reply = self.devtools("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in reply:
            details = reply["exceptionDetails"]
            error = details.get("exception", {}).get("description") or details.get("text", "")
            raise JavascriptException(f"javascript error: {error}")
        return reply.get("result", {}).get("value")

    def run_async(self, source: str, *args: Any) -> Any:
        """Run JavaScript that ends by calling its last argument with the result."""
        return self.driver.execute_async_script(source, *args)

    def press(self, *keys: str) -> None:
        """Press keys as a keyboard user does, on whatever element has focus."""
        ActionChains(self.driver).send_keys(*keys).perform()

    def devtools(self, command: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self.driver.execute_cdp_cmd(command, params or {})
        return result

    @contextmanager
    def on_every_page(self, source: str) -> Iterator[None]:
        """Pages opened inside the block run ``source`` first, before any script of their own.

        A script sent with each page would cross Python, chromedriver and DevTools every time
        (axe-core is half a megabyte of JavaScript: sending it cost a third of the CPU time of
        sending and running it); this one is handed to Chromium once, and Chromium runs it in
        every new document of the tab.
        """
        added = self.devtools("Page.addScriptToEvaluateOnNewDocument", {"source": source})
        try:
            yield
        finally:
            self.devtools(
                "Page.removeScriptToEvaluateOnNewDocument", {"identifier": added["identifier"]}
            )

    @contextmanager
    def scripts_disabled(self) -> Iterator[None]:
        """Pages opened inside the block load with JavaScript off, as with a blocker."""
        self.devtools("Emulation.setScriptExecutionDisabled", {"value": True})
        try:
            yield
        finally:
            self.devtools("Emulation.setScriptExecutionDisabled", {"value": False})

    @contextmanager
    def viewport(self, width: int, height: int) -> Iterator[None]:
        """Lay the current page out in a viewport of this many CSS pixels."""
        self.devtools(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        try:
            yield
        finally:
            self.devtools("Emulation.clearDeviceMetricsOverride")


class Tab(Browser):
    """Another tab of a started :class:`Browser`, driven on its own (from another thread) by a
    chromedriver of its own attached to the same Chromium: the pages of each tab get renderer
    processes of their own, without a second browser's other processes and caches (a second
    browser cost ~400 MB with the pages of a build, a second tab ~150 MB). Leaving the block
    closes the tab only; the browser must outlive it."""

    def __init__(self, browser: Browser) -> None:
        super().__init__(browser.chromium, browser.chromedriver, browser.window)
        self.browser = browser

    def start(self) -> None:
        options = webdriver.ChromeOptions()
        options.debugger_address = self.browser.driver.capabilities["goog:chromeOptions"][
            "debuggerAddress"]
        options.unhandled_prompt_behavior = "dismiss"
        service = Service(executable_path=str(self.chromedriver), log_output=subprocess.DEVNULL)
        try:
            self._driver = webdriver.Chrome(service=service, options=options)
            self._driver.switch_to.new_window("tab")
        except WebDriverException as err:
            self.close()
            raise BrowserUnavailable(f"Chromium would not open a tab: {err.msg or err}") from err
        self._driver.set_page_load_timeout(PAGE_LOAD_SECONDS)
        self._driver.set_script_timeout(SCRIPT_SECONDS)

    def close(self) -> None:
        # an attached chromedriver leaves the browser running when it quits
        if self._driver is not None:
            try:
                with suppress(WebDriverException):
                    self._driver.close()  # this tab
                self._driver.quit()
            finally:
                self._driver = None
