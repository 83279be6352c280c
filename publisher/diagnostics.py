"""Problems for people: a diagnostic has a stable code, a severity, a message, a hint and a place.

In: whatever stage found a problem creates a :class:`Diagnostic`. Out: a :class:`Diagnostics`
collection that the CLI (the only place that prints) formats like a compiler message::

    content/en/parking-permit.md:14:3: error[C104]: image has no alt text — add a description

Exceptions are for bugs; users see diagnostics. Every stage reports all the problems it found
in one run instead of stopping at the first one.
"""

from __future__ import annotations

import difflib
import enum
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path


class Severity(enum.IntEnum):
    """How bad a problem is; an error stops the output from being published."""

    INFO = 0
    WARNING = 1
    ERROR = 2

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, order=True)
class SourceSpan:
    """A place in a source file: 1-based line and column, as editors show them."""

    path: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.path
        if self.column <= 0:
            return f"{self.path}:{self.line}"
        return f"{self.path}:{self.line}:{self.column}"

    def at(self, line: int, column: int = 0) -> SourceSpan:
        return SourceSpan(self.path, line, column)


@dataclass(frozen=True)
class Diagnostic:
    """One problem: ``code`` is stable (documented in the README), ``hint`` says what to do."""

    code: str
    severity: Severity
    message: str
    span: SourceSpan | None = None
    hint: str = ""

    def format(self) -> str:
        where = f"{self.span}: " if self.span else ""
        hint = f" — {self.hint}" if self.hint else ""
        return f"{where}{self.severity}[{self.code}]: {self.message}{hint}"

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": str(self.severity),
            "message": self.message,
            "hint": self.hint,
            "file": self.span.path if self.span else None,
            "line": self.span.line if self.span else None,
            "column": self.span.column if self.span else None,
        }


@dataclass
class Diagnostics:
    """An ordered collection of diagnostics; stages append, the edge prints."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, diagnostic: Diagnostic) -> None:
        self.items.append(diagnostic)

    def error(
        self, code: str, message: str, span: SourceSpan | None = None, hint: str = ""
    ) -> None:
        self.add(Diagnostic(code, Severity.ERROR, message, span, hint))

    def warning(
        self, code: str, message: str, span: SourceSpan | None = None, hint: str = ""
    ) -> None:
        self.add(Diagnostic(code, Severity.WARNING, message, span, hint))

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.items.extend(diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.WARNING]

    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        """Diagnostics in file order, so that a reader fixes them top to bottom."""
        return sorted(
            self.items,
            key=lambda d: (
                d.span.path if d.span else "",
                d.span.line if d.span else 0,
                d.span.column if d.span else 0,
                d.code,
            ),
        )

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def to_json(self) -> str:
        return json.dumps([d.to_json() for d in self.sorted()], ensure_ascii=False, indent=2)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A 'did you mean …?' hint for a mistyped key, or '' when nothing is close."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


def display_path(path: Path, root: Path | None = None) -> str:
    """The path as the user typed it: relative to the working directory when possible."""
    for base in (Path.cwd(), root):
        if base is None:
            continue
        try:
            return path.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            continue
    return path.as_posix()
