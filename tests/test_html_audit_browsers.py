"""The website audit finds the same in Debian's headless shell as in full Chromium.

The audit prefers ``chromium-headless-shell`` (the same engine without the browser's own user
interface, which costs CPU at every navigation): this proves, on the fixture site with its known
defects, that every finding (outcome, locator, message, figures) is the same in both.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from publisher.audits import AuditContext, AuditInput
from publisher.audits import html as html_audit
from publisher.browser import FULL_CHROMIUM, HEADLESS_SHELL, Browser

pytestmark = pytest.mark.skipif(
    not (HEADLESS_SHELL.is_file() and FULL_CHROMIUM.is_file()),
    reason="needs both Debian packages chromium-headless-shell and chromium",
)

FIXTURES = Path(__file__).parent / "fixtures" / "defects"


def test_the_headless_shell_and_full_chromium_find_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pages = sorted([*FIXTURES.glob("*.html"), *FIXTURES.glob("*.htm")])
    inputs = [AuditInput(path=page, name=page.name) for page in pages]
    monkeypatch.setattr(html_audit, "BROWSERS", 1)  # one browser of each kind
    found, names = {}, []
    for binary in (HEADLESS_SHELL, FULL_CHROMIUM):

        class Chosen(Browser):
            def __init__(self, chromium: Path = binary) -> None:
                super().__init__(chromium=chromium)

            def start(self) -> None:
                super().start()
                names.append(self.driver.capabilities["browserName"])

        monkeypatch.setattr(html_audit, "Browser", Chosen)
        found[binary] = [
            f.to_json()
            for f in html_audit.AUDIT.audit(inputs, AuditContext(config=None, root=None))
        ]
    assert names == ["chrome-headless-shell", "chrome"]
    shell, full = found[HEADLESS_SHELL], found[FULL_CHROMIUM]
    assert len(shell) > 100 and {f["outcome"] for f in shell} >= {"passed", "failed"}
    assert shell == full
