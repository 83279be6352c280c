"""Audits: each format's checks, run on the real output read back from disk.

In: the files to check (paths on disk), each with what the build knows of it — the
:class:`~publisher.writers.Artifact` and the source :class:`~publisher.model.Document`, or nothing
for material the publisher did not produce. Out: :class:`Finding` values, one per check and
place, each naming the accessibility criteria it evidences, for the reports.

Every module in this package that defines ``AUDIT`` is registered, keyed by the file suffixes it
reads — the same shape as the writers.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import pkgutil
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import unquote, urlsplit

from publisher.config import SiteConfig
from publisher.model import Document
from publisher.writers import Artifact

Outcome = Literal["passed", "failed", "cannot-tell"]
Impact = Literal["critical", "serious", "moderate", "minor"]
IMPACTS: tuple[Impact, ...] = ("critical", "serious", "moderate", "minor")
#: which rulebook a finding comes from. ``wcag``: a WCAG 2.2 success criterion (named in its
#: criteria) — only these count as non-conformance in the report, EARL and the statement;
#: ``advice``: advice with no WCAG criterion of its own — axe-core's best practices, markup
#: validity (4.1.1 is obsolete), a clause of EN 301 549 alone; ``pdfua``: a requirement of
#: PDF/UA-1 (ISO 14289-1, a Matterhorn checkpoint) with no WCAG criterion of its own — a PDF
#: that claims PDF/UA and fails it does not conform, so these count as non-conformance too;
#: ``house``: the publisher's own rule, stricter than WCAG (what we demand of our own pages)
Rulebook = Literal["wcag", "pdfua", "advice", "house"]
RULEBOOKS: tuple[Rulebook, ...] = ("wcag", "pdfua", "advice", "house")
#: the rulebooks whose failures are non-conformance (the report, the statement)
CONFORMANCE_RULEBOOKS: frozenset[Rulebook] = frozenset({"wcag", "pdfua"})


@dataclass(frozen=True)
class Criteria:
    """The requirements a check gives evidence for.

    ``wcag``: WCAG 2.2 success criteria ("1.1.1"); ``en301549``: EN 301 549 V3.2.1 clauses
    ("9.1.1.1", "10.1.1.1"); ``caf``: CAF 2020 sub-criterion 5.2 points ("5.2.e", "5.2.f");
    ``iso11367``: ISO 11367 principles ("5.2.3", "5.2.4"); ``matterhorn``: Matterhorn Protocol
    1.1 checkpoints for PDF ("06-001").
    """

    wcag: tuple[str, ...] = ()
    en301549: tuple[str, ...] = ()
    caf: tuple[str, ...] = ("5.2.f",)
    iso11367: tuple[str, ...] = ("5.2.4",)
    matterhorn: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    """One result of one check on one artifact."""

    artifact: str  # output-relative path (or the path given to `publish audit`)
    check: str  # stable id, e.g. "braille.line-width" or "axe.image-alt"
    outcome: Outcome
    message: str  # for a non-programmer
    criteria: Criteria
    impact: Impact | None = None  # how much a failure hurts; None for passed checks
    locator: str = ""  # CSS selector, "page 3", "line 12", "00:01:23.400"
    figures: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    #: None: told by the criteria (see :func:`rulebook_for`), which is right for every check
    #: but those that name no WCAG criterion and are advice (axe's best practices) or a house
    #: rule with a standard's clause
    rulebook: Rulebook | None = None

    def __post_init__(self) -> None:
        if self.rulebook is None:
            object.__setattr__(self, "rulebook", rulebook_for(self.criteria))
        elif self.rulebook == "wcag" and not self.criteria.wcag:
            raise ValueError(f"{self.check}: a WCAG failure must name its criterion")

    @property
    def wcag_failure(self) -> bool:
        """Whether this is a failure of a WCAG 2.2 success criterion: non-conformance."""
        return self.outcome == "failed" and self.rulebook == "wcag"

    @property
    def non_conformance(self) -> bool:
        """Whether this failure stands against conformance: of WCAG 2.2, or of PDF/UA-1."""
        return self.outcome == "failed" and self.rulebook in CONFORMANCE_RULEBOOKS

    def to_json(self) -> dict[str, Any]:
        return {
            "artifact": self.artifact,
            "check": self.check,
            "outcome": self.outcome,
            "rulebook": self.rulebook,
            "impact": self.impact,
            "locator": self.locator,
            "message": self.message,
            "criteria": {
                "wcag": list(self.criteria.wcag),
                "en301549": list(self.criteria.en301549),
                "caf": list(self.criteria.caf),
                "iso11367": list(self.criteria.iso11367),
                "matterhorn": list(self.criteria.matterhorn),
            },
            "figures": dict(self.figures),
        }


def rulebook_for(criteria: Criteria) -> Rulebook:
    """The rulebook of a check by what it evidences: a WCAG criterion; else another standard's
    clause: a Matterhorn checkpoint is PDF/UA-1's, an EN 301 549 clause alone is advice as far
    as WCAG goes; else our own rule."""
    if criteria.wcag:
        return "wcag"
    if criteria.matterhorn:
        return "pdfua"
    if criteria.en301549:
        return "advice"
    return "house"


@dataclass(frozen=True)
class AuditInput:
    """A file to audit; ``artifact`` and ``document`` are known only for our own output."""

    path: Path  # on disk
    name: str  # as reported: output-relative path, or the path the auditor gave
    artifact: Artifact | None = None
    document: Document | None = None


@dataclass
class AuditContext:
    config: SiteConfig | None  # None when auditing material from elsewhere without a site.yaml
    root: Path | None  # the output root when auditing a build
    #: the build's clock, for checks that depend on the date (review dates); None when unknown
    build_time: dt.datetime | None = None
    #: set when the audits that run beside this one are done (the website's audit may then use
    #: the second core); None when none run beside it. Not sent to another process.
    beside_done: threading.Event | None = field(default=None, compare=False, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "beside_done": None}


#: how the message of a check that could not run for want of a tool begins (a browser, Java, an
#: npm package, poppler): such a cannot-tell says nothing of the file, so it is never cached —
#: the tool may be there at the next build
NOT_CHECKED = "Not checked: "


def not_checked(artifact: str, checks: Iterable[str], reason: str,
                criteria: Criteria | None = None) -> list[Finding]:
    """A cannot-tell finding for each of ``checks``, which could not run: ``reason`` says why
    and what to do."""
    return [Finding(artifact, check, "cannot-tell", f"{NOT_CHECKED}{reason}.",
                    criteria or Criteria())
            for check in checks]


def is_not_checked(finding: Finding) -> bool:
    """Whether a finding is one of :func:`not_checked`'s."""
    return finding.outcome == "cannot-tell" and finding.message.startswith(NOT_CHECKED)


def node_modules() -> Path:
    """Where the pinned npm packages (axe-core, vnu-jar) are installed."""
    configured = os.environ.get("PUBLISHER_NODE_MODULES")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "node_modules"


def file_of_url(url: str) -> Path:
    """The file a ``file://`` URL names (as a browser or the HTML checker reports a page)."""
    return Path(unquote(urlsplit(url).path)).resolve()


class Audit:
    """Base of every format's audit; subclasses set ``name`` and ``suffixes``."""

    name: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]]  # e.g. (".brf", ".pef")

    def audit(self, inputs: Sequence[AuditInput], ctx: AuditContext) -> list[Finding]:
        raise NotImplementedError

    def reads(self, item: AuditInput) -> bool:
        """Whether this audit has anything to say of a file of one of its suffixes (the others
        are not handed to it)."""
        return True


@cache
def registry() -> dict[str, Audit]:
    audits: dict[str, Audit] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        audit = getattr(module, "AUDIT", None)
        if isinstance(audit, Audit):
            audits[audit.name] = audit
    return audits


def audits_for(path: Path) -> list[Audit]:
    """Every audit that reads files like ``path`` (a page has the website's and the content's)."""
    suffix = path.suffix.lower()
    return [audit for _, audit in sorted(registry().items()) if suffix in audit.suffixes]
