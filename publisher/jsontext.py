"""JSON documents written for both people and speed: one list item a line.

``json.dumps(indent=…)`` runs the pure-Python encoder; on the manifest and the report of a large
catalogue (tens of thousands of entries) that took most of a second per build. Here each
top-level value, and each item of a top-level list, is written by json's C encoder on a line of
its own: still readable, and a change shows in a diff as the lines of the entries that changed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

#: one encoder for every line: ``json.dumps`` with options makes a new one per call, which was
#: a third of the time of a manifest's seven thousand lines
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True)
_compact = _ENCODER.encode


def _lines(items: list[Any]) -> str:
    """The items of a list, a line each. A list of objects is encoded in one call and cut
    between its items (a call per item was most of the time of a large manifest); that is
    safe when the text between two items occurs nowhere else, which is counted — inside a
    string or a nested list it would, and then each item is encoded on its own."""
    if all(type(item) is dict for item in items):
        text = _compact(items)[1:-1]
        if text.count("}, {") == len(items) - 1:
            return text.replace("}, {", "},\n{")
    return ",\n".join(_compact(item) for item in items)


def dumps_by_line(document: Mapping[str, Any]) -> str:
    """``document`` (an object) as JSON text: its keys in order, a list's items a line each."""
    members = []
    for key in sorted(document):
        value = document[key]
        if isinstance(value, list) and value:
            members.append(f"{_compact(key)}: [\n{_lines(value)}\n]")
        else:
            members.append(f"{_compact(key)}: {_compact(value)}")
    return "{\n" + ",\n".join(members) + "\n}\n"
