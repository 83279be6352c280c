"""YAML with line numbers, validated into typed records.

In: YAML text and the span where it starts in its file (front matter starts on line 2 of a
Markdown file). Out: a validated pydantic record, or diagnostics that point at the line of the
offending key — PyYAML's composed node tree gives us the marks that ``safe_load`` throws away.
Timestamps are *not* resolved by YAML (a bad date such as 2026-13-40 would otherwise raise a bare
``ValueError`` with no line): dates stay strings and the record's schema parses them.
"""

from __future__ import annotations

from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from publisher.diagnostics import Diagnostics, SourceSpan, did_you_mean

Record = TypeVar("Record", bound=BaseModel)
Path_ = tuple[str | int, ...]


#: libyaml's parser when PyYAML was built with it (Debian's is): about three times faster than
#: the pure-Python one, and reading front matter is most of a no-op rebuild
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc]
    """A safe loader without the implicit timestamp type (see the module docstring)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class Located:
    """The YAML data with the line and column of every key and item."""

    def __init__(self, data: Any, marks: dict[Path_, tuple[int, int]], origin: SourceSpan):
        self.data = data
        self.marks = marks
        self.origin = origin

    def sub(self, path: Path_) -> Located:
        """The part of the data at ``path``, keeping the marks (for nested validation)."""
        prefix = tuple(path)
        data = _value_at(self.data, prefix)
        marks = {key[len(prefix):]: mark for key, mark in self.marks.items()
                 if key[: len(prefix)] == prefix}
        return Located(data, marks, self.origin)

    def span(self, path: Path_) -> SourceSpan:
        """The place of ``path``, or of its closest parent that has a place."""
        for end in range(len(path), -1, -1):
            mark = self.marks.get(tuple(path[:end]))
            if mark is not None:
                return self.origin.at(self.origin.line + mark[0], mark[1] + 1)
        return self.origin


def parse_yaml(
    text: str, origin: SourceSpan, diagnostics: Diagnostics, code: str
) -> Located | None:
    """Parse YAML; on a syntax error add one diagnostic with its line and return ``None``.

    ``origin.line`` is the file line of the YAML's first line; marks are 0-based from there.
    """
    try:
        # compose once, then build the data from that node: one pass over the text
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        span = origin.at(origin.line + mark.line, mark.column + 1) if mark else origin
        problem = exc.problem or str(exc)
        diagnostics.error(
            code,
            f"the YAML cannot be read: {problem}",
            span,
            "check the indentation and quote values that contain ': ' or start with a symbol",
        )
        return None
    except yaml.YAMLError as exc:
        diagnostics.error(code, f"the YAML cannot be read: {exc}", origin)
        return None
    marks: dict[Path_, tuple[int, int]] = {}
    duplicates: list[tuple[Path_, yaml.Node]] = []
    if node is not None:
        _collect(node, (), marks, duplicates)
    for path, key in duplicates:
        diagnostics.error(
            "S107" if code.startswith("S") else "C115",
            f"the field '{_dotted(path)}' is given twice",
            origin.at(origin.line + key.start_mark.line, key.start_mark.column + 1),
            "keep one of them: YAML would silently use the last one",
        )
    return Located(data, marks, origin)


def _collect(
    node: yaml.Node,
    path: Path_,
    marks: dict[Path_, tuple[int, int]],
    duplicates: list[tuple[Path_, yaml.Node]],
) -> None:
    marks.setdefault(path, (node.start_mark.line, node.start_mark.column))
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            child = (*path, name)
            if name in seen:
                duplicates.append((child, key))
            seen.add(name)
            marks[child] = (key.start_mark.line, key.start_mark.column)
            _collect(value, child, marks, duplicates)
            # the key's line is more useful than the value's for "unknown field" and the like
            marks[child] = (key.start_mark.line, key.start_mark.column)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _collect(item, (*path, index), marks, duplicates)


def _dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(top level)"


def validate(
    model: type[Record],
    located: Located,
    diagnostics: Diagnostics,
    codes: dict[str, str],
    what: str,
) -> Record | None:
    """Validate ``located.data`` into ``model``; every problem becomes one diagnostic.

    ``codes`` maps ``missing``, ``unknown``, ``type``, ``date`` and ``value`` to stable codes.
    """
    if located.data is None and not located.marks:
        located = Located({}, located.marks, located.origin)
    if not isinstance(located.data, dict):
        diagnostics.error(
            codes["type"],
            f"the {what} must be a set of 'field: value' lines",
            located.origin,
            "see the README for the fields",
        )
        return None
    try:
        return model.model_validate(located.data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            loc: Path_ = tuple(error["loc"])
            # pydantic adds the union member or a function name to the location; keep real keys
            loc = tuple(p for p in loc if isinstance(p, int) or not str(p).startswith("function-"))
            diagnostics.add(_diagnostic(model, located, loc, error, codes, what))
        return None


def _diagnostic(
    model: type[BaseModel],
    located: Located,
    loc: Path_,
    error: Any,
    codes: dict[str, str],
    what: str,
) -> Any:
    from publisher.diagnostics import Diagnostic, Severity

    kind = error["type"]
    name = _dotted(loc)
    span = located.span(loc)
    if kind == "missing":
        return Diagnostic(
            codes["missing"],
            Severity.ERROR,
            f"the required field '{name}' is missing from the {what}",
            located.span(loc[:-1]),
            f"add '{loc[-1]}:' (see the README for its format)",
        )
    if kind == "extra_forbidden":
        known = _fields_at(model, loc[:-1])
        hint = did_you_mean(str(loc[-1]), known) or f"known fields here: {', '.join(sorted(known))}"
        return Diagnostic(
            codes["unknown"], Severity.ERROR, f"unknown field '{name}' in the {what}", span, hint
        )
    value = _value_at(located.data, loc)
    if kind.startswith("date") or (kind == "value_error" and "date" in error["msg"]):
        return Diagnostic(
            codes["date"],
            Severity.ERROR,
            f"'{name}' is not a valid date: {value!r}",
            span,
            "write the date as YYYY-MM-DD, for example 2026-09-15",
        )
    if kind.endswith("_type") or kind in {"model_type", "dict_type", "list_type", "tuple_type"}:
        hint = "put the value in quotes" if isinstance(value, int | float) else ""
        expected = error["msg"].replace("Input should be", "expected").replace("a valid ", "")
        return Diagnostic(
            codes["type"],
            Severity.ERROR,
            f"'{name}' has the wrong type ({type(value).__name__} {value!r}): {expected}",
            span,
            hint or "see the README for the expected format",
        )
    message = str(error["msg"])
    if kind == "string_pattern_mismatch":
        message = f"does not have the expected form ({error['ctx']['pattern']})"
    return Diagnostic(
        codes["value"],
        Severity.ERROR,
        f"'{name}' has an invalid value {value!r}: {message}",
        span,
        "see the README for the allowed values",
    )


def _value_at(data: Any, loc: Path_) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _fields_at(model: type[BaseModel], path: Path_) -> set[str]:
    """The field names of the nested model at ``path`` (for 'did you mean')."""
    import typing

    current: Any = model
    for part in path:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(str(part)) if hasattr(current, "model_fields") else None
        if field is None:
            return set()
        annotation = field.annotation
        for candidate in (annotation, *typing.get_args(annotation)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                current = candidate
                break
            inner = [a for a in typing.get_args(candidate) if isinstance(a, type)]
            models = [a for a in inner if issubclass(a, BaseModel)]
            if models:
                current = models[0]
                break
    return set(current.model_fields) if hasattr(current, "model_fields") else set()
