"""The manifest's and report's JSON writer: valid JSON, one list item a line, whatever the
strings hold."""

from __future__ import annotations

import json
from typing import Any

import pytest

from publisher.jsontext import dumps_by_line

CASES: list[dict[str, Any]] = [
    {"artifacts": [{"path": f"en/s{i}/index.html", "bytes": i, "service": None}
                   for i in range(50)], "generator": "publisher"},
    # the text between two items inside a string, a nested list of objects, empty objects
    {"items": [{"label": "a}, {b"}, {"label": "c"}]},
    {"items": [{"nested": [{"y": 1}, {"z": 2}]}, {"w": 1}]},
    {"items": [{"k": "é\n\"}, {\""}, {}, {"q": {}}]},
    {"items": [1, "two", {"k": "}, {"}, None]},
    {"empty": [], "scalar": 3},
]


@pytest.mark.parametrize("document", CASES)
def test_each_item_of_a_list_is_one_line_of_valid_json(document: dict[str, Any]) -> None:
    text = dumps_by_line(document)
    assert json.loads(text) == document
    for key, value in document.items():
        if isinstance(value, list) and value:
            start = text.index(json.dumps(key) + ": [\n") + len(json.dumps(key)) + 4
            lines = text[start:text.index("\n]", start)].split("\n")
            assert [json.loads(line.rstrip(",")) for line in lines] == value
