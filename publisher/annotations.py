"""Diagnostics in the forms review tools read: SARIF 2.1.0 and GitHub Actions annotations.

In: diagnostics (each with its file, line and column). Out: a SARIF log (a JSON document for
code scanning: GitHub, GitLab, Azure DevOps, the SARIF viewers of editors) or workflow-command
lines (``::error file=…,line=…,col=…::…``) that GitHub shows on the lines of a pull request.
Both carry exactly the place the terminal message shows. Written here rather than with a SARIF
library: the log we need is a few fixed objects, and the one Python object model (sarif-om) is
unmaintained since 2019; the test validates our output against the OASIS schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

from publisher import __version__
from publisher.diagnostics import Diagnostic, Severity

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/publisher/"
_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _text(diagnostic: Diagnostic) -> str:
    hint = f" — {diagnostic.hint}" if diagnostic.hint else ""
    return f"{diagnostic.message}{hint}"


def _uri(path: str) -> str:
    """A relative path as a relative URI reference (what code scanning resolves against the
    repository), an absolute one as a file URI."""
    pure = PurePath(path)
    if pure.is_absolute():
        return pure.as_uri()
    return "/".join(part.replace("%", "%25").replace(" ", "%20") for part in pure.parts)


def to_sarif(diagnostics: Sequence[Diagnostic]) -> dict[str, Any]:
    """One SARIF run: the rules are the codes met, in order; each result points at its file,
    line and column (columns count characters, as the terminal message does)."""
    rules: dict[str, int] = {}
    descriptions: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for diagnostic in diagnostics:
        if diagnostic.code not in rules:
            rules[diagnostic.code] = len(descriptions)
            descriptions.append({
                "id": diagnostic.code,
                "shortDescription": {"text": diagnostic.message},
                "helpUri": f"{INFORMATION_URI}#messages",
            })
        result: dict[str, Any] = {
            "ruleId": diagnostic.code,
            "ruleIndex": rules[diagnostic.code],
            "level": _LEVELS[diagnostic.severity],
            "message": {"text": _text(diagnostic)},
        }
        span = diagnostic.span
        if span is not None:
            location: dict[str, Any] = {"artifactLocation": {"uri": _uri(span.path)}}
            if span.line > 0:
                region: dict[str, int] = {"startLine": span.line}
                if span.column > 0:
                    region["startColumn"] = span.column
                location["region"] = region
            result["locations"] = [{"physicalLocation": location}]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "publisher", "version": __version__,
                                "informationUri": INFORMATION_URI, "rules": descriptions}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def to_github(diagnostics: Sequence[Diagnostic]) -> list[str]:
    """One workflow command per diagnostic (GitHub's escaping of ``%``, line breaks, and of
    ``:`` and ``,`` in the properties)."""
    lines = []
    for diagnostic in diagnostics:
        properties = []
        span = diagnostic.span
        if span is not None:
            properties.append(f"file={_escape_property(span.path)}")
            if span.line > 0:
                properties.append(f"line={span.line}")
                if span.column > 0:
                    properties.append(f"col={span.column}")
        properties.append(f"title={_escape_property(diagnostic.code)}")
        lines.append(f"::{_COMMANDS[diagnostic.severity]} {','.join(properties)}::"
                     f"{_escape_data(_text(diagnostic))}")
    return lines
