"""Markdown → model: the node types, their source lines, and robustness on any input."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from publisher.diagnostics import Diagnostics, SourceSpan
from publisher.model import (
    BulletList,
    Heading,
    Image,
    Link,
    Note,
    OrderedList,
    Paragraph,
    Table,
    Text,
    walk_blocks,
)
from publisher.parse import BodyParser


def parse(body: str, tmp_path: Path, known: dict[str, str] | None = None
          ) -> tuple[tuple[object, ...], Diagnostics]:
    diagnostics = Diagnostics()
    parser = BodyParser(
        span=SourceSpan("en/x.md", 10),
        source=PurePosixPath("en/x.md"),
        content_dir=tmp_path,
        diagnostics=diagnostics,
        resolve_service=lambda p: (known or {}).get(p.as_posix()),
    )
    return parser.parse(body), diagnostics


def test_nodes_and_lines(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "map.png").write_bytes(b"\x89PNG")
    body = (
        "## Steps\n\n1. one\n2. two\n\n- a\n- b\n\n| A | B |\n|---|--:|\n| 1 | 2 |\n\n"
        "::: warning\nCareful.\n:::\n\n![Map of the town](../images/map.png)\n\n"
        "See [other](other.md#fees) and [site](https://example.org).\n"
    )
    blocks, diagnostics = parse(body, tmp_path, {"en/other.md": "other"})
    assert not diagnostics.items, [d.format() for d in diagnostics]
    kinds = [type(b) for b in blocks]
    assert kinds == [Heading, OrderedList, BulletList, Table, Note, Paragraph, Paragraph]
    heading = blocks[0]
    assert isinstance(heading, Heading) and heading.anchor == "steps" and heading.span.line == 11
    table = blocks[3]
    assert isinstance(table, Table) and table.head[1].align == "right" and len(table.rows) == 1
    assert table.span.line == 19
    image = blocks[5].children[0]  # type: ignore[attr-defined]
    assert isinstance(image, Image) and image.src == "images/map.png"
    links = [n for n in blocks[6].children if isinstance(n, Link)]  # type: ignore[attr-defined]
    assert [(link.kind, link.service, link.anchor) for link in links] == [
        ("service", "other", "fees"), ("external", None, None)]


def test_unsafe_and_broken_things_are_reported(tmp_path: Path) -> None:
    body = "<script>alert(1)</script>\n\n[x](data:text/html,hi) [y](vbscript:z) [](https://a.b)\n"
    blocks, diagnostics = parse(body, tmp_path)
    codes = sorted(d.code for d in diagnostics)
    assert codes == ["C201", "C209", "C209", "C211"]
    texts = [n.text for b in blocks for n in b.children if isinstance(n, Text)]  # type: ignore[attr-defined]
    assert "x" in "".join(texts)  # the link text stays, the unsafe address goes


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          derandomize=True)
@given(st.text(alphabet=st.sampled_from(list("ab #*-_[]()!:|`>\n1.<&\u0627\u00e9")), max_size=200))
def test_parsing_never_crashes_and_spans_stay_in_the_source(body: str) -> None:
    diagnostics = Diagnostics()
    parser = BodyParser(
        span=SourceSpan("en/x.md", 10),
        source=PurePosixPath("en/x.md"),
        content_dir=Path("/nonexistent"),
        diagnostics=diagnostics,
        resolve_service=lambda p: None,
    )
    blocks = parser.parse(body)
    last_line = 10 + body.count("\n") + 1
    for block in walk_blocks(blocks):
        span = block.span
        assert 11 <= span.line <= last_line
    for diagnostic in diagnostics:
        assert diagnostic.span is not None and 11 <= diagnostic.span.line <= last_line
