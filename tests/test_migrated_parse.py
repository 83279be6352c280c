"""Content as CMS exports write it, at the parser: root-relative links, several links a line
(each with its own column), constructs the parser cannot read as the author meant."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from publisher.config import LinkSettings
from publisher.diagnostics import Diagnostics, SourceSpan
from publisher.model import Block, Link, Paragraph, Text, walk_blocks
from publisher.parse import BodyParser

BASE = "https://services.example.gov/"


def parse(body: str, tmp_path: Path, links: LinkSettings | None = None,
          pages: dict[str, str] | None = None) -> tuple[tuple[Block, ...], Diagnostics]:
    diagnostics = Diagnostics()
    parser = BodyParser(
        span=SourceSpan("en/x.md", 10),
        source=PurePosixPath("en/x.md"),
        content_dir=tmp_path,
        diagnostics=diagnostics,
        resolve_service=lambda p: None,
        links=links,
        base_url=BASE,
        resolve_page=(pages or {}).get,
    )
    return parser.parse(body), diagnostics


def links_of(blocks: tuple[Block, ...]) -> list[Link]:
    return [node for block in walk_blocks(blocks) if isinstance(block, Paragraph)
            for node in block.children if isinstance(node, Link)]


def test_without_the_setting_each_root_relative_link_is_refused_at_its_own_column(
        tmp_path: Path) -> None:
    line = "See [courts](/find-court-tribunal) or [forms](/government/forms#top)."
    blocks, diagnostics = parse(f"Intro.\n\n{line}\n", tmp_path)
    found = [(d.code, d.span.line, d.span.column) for d in diagnostics if d.span]
    assert found == [("C206", 13, line.index("/find") + 1), ("C206", 13, line.index("/gov") + 1)]
    hint = diagnostics.items[0].hint
    assert "links: {root: https://" in hint and "site.yaml" in hint
    assert "relative to this file" not in hint  # the old advice led to C210
    assert not links_of(blocks)  # the text stays, no link to nowhere


def test_root_relative_links_lead_to_the_root_or_to_the_service_they_name(
        tmp_path: Path) -> None:
    links = LinkSettings(root="https://www.example.gov/",
                         old_addresses={"/apply-parking-permit/": "parking-permit"})
    body = ("[a](/find-court-tribunal?x=1#top) [b](/apply-parking-permit#fees) "
            "[c](https://services.example.gov/en/parking-permit/) [d](//cdn.example.org/f) "
            "[e](/en/parking-permit/) [f](/en/elsewhere/)\n")
    blocks, diagnostics = parse(body, tmp_path, links, {"en/parking-permit": "parking-permit"})
    assert not diagnostics.items, [d.format() for d in diagnostics]
    got = [(link.kind, link.target, link.service, link.anchor) for link in links_of(blocks)]
    assert got == [
        ("external", "https://www.example.gov/find-court-tribunal?x=1#top", None, None),
        ("service", "/apply-parking-permit#fees", "parking-permit", "fees"),
        ("external", "https://services.example.gov/en/parking-permit/", None, None),
        ("external", "https://cdn.example.org/f", None, None),
        # a page path of this site names the service, whatever the root; another stays there
        ("service", "/en/parking-permit/", "parking-permit", None),
        ("external", "https://www.example.gov/en/elsewhere/", None, None),
    ]


def test_a_root_relative_page_path_of_the_site_is_the_internal_link(tmp_path: Path) -> None:
    links = LinkSettings(root=BASE)
    body = "[p](/en/parking-permit/) [s](/en/search/) [gone](/en/no-such-service/)\n"
    blocks, diagnostics = parse(body, tmp_path, links, {"en/parking-permit": "parking-permit"})
    got = [(link.kind, link.service) for link in links_of(blocks)]
    assert got == [("service", "parking-permit"), ("external", None)]
    found = [(d.code, d.span.column) for d in diagnostics if d.span]
    assert found == [("C207", body.index("/en/no-such") + 1)]


def test_an_old_address_naming_a_missing_service_is_an_error(tmp_path: Path) -> None:
    links = LinkSettings(root=BASE, old_addresses={"/old": "nowhere"})
    blocks, diagnostics = parse("[x](/old)\n", tmp_path, links, {})
    assert [d.code for d in diagnostics] == ["C207"]
    assert "links.old_addresses" in diagnostics.items[0].message
    assert isinstance(blocks[0].children[0], Text)  # type: ignore[union-attr]


def test_unsafe_links_and_images_get_their_columns(tmp_path: Path) -> None:
    body = "One [x](javascript:alert(1)) two ![i](data:image/png;base64,AAAA) <b>raw</b>\n"
    _, diagnostics = parse(body, tmp_path)
    found = sorted((d.code, d.span.column) for d in diagnostics if d.span)
    assert found == sorted([("C201", body.index("<b>") + 1), ("C201", body.index("</b>") + 1),
                            ("C209", body.index("javascript") + 1),
                            ("C209", body.index("data:") + 1)])


# ------------------------------------------------------------------ abbreviations


def test_abbreviations_become_typed_nodes_and_their_definitions_leave_the_text(
        tmp_path: Path) -> None:
    from publisher.model import Abbreviation, Code, plain_text

    body = ("You can get JSA at 18. JSAX and [JSA](https://x.org) and `JSA` are not uses.\n"
            "*[JSA]: Jobseeker's Allowance\n\n*[HMRC]: HM Revenue and Customs\n")
    blocks, diagnostics = parse(body, tmp_path)
    assert not diagnostics.items
    assert len(blocks) == 1  # the definitions are no paragraph of their own
    nodes = blocks[0].children  # type: ignore[union-attr]
    abbreviations = [n for n in nodes if isinstance(n, Abbreviation)]
    assert abbreviations == [Abbreviation("JSA", "Jobseeker's Allowance")]
    assert any(isinstance(n, Code) for n in nodes)
    assert "*[" not in plain_text(nodes) and "Allowance" not in plain_text(nodes)


# ------------------------------------------------------------------ tables and stray text


def test_a_table_cell_of_several_paragraphs_is_read_as_one_cell(tmp_path: Path) -> None:
    from publisher.model import LineBreak, Table, plain_text

    body = ("| Benefit | What you get |\n|---|---|\n| JSA | You get money.\n\n"
            "You must look for work.\n\nEvery two weeks. |\n| PIP | Help with costs |\n\n"
            "## Next\n\n[x](/a)\n")
    blocks, diagnostics = parse(body, tmp_path)
    table = blocks[0]
    assert isinstance(table, Table) and len(table.rows) == 2
    cell = table.rows[0][1].children
    assert [type(n).__name__ for n in cell] == ["Text", "LineBreak", "Text", "LineBreak",
                                                 "Text"]
    assert isinstance(cell[1], LineBreak)
    assert plain_text(table.rows[1][0].children) == "PIP"
    assert not any(isinstance(b, Paragraph) and "|" in plain_text(b.children) for b in blocks)
    found = [(d.code, d.severity.name, d.span.line) for d in diagnostics if d.span]
    # spans after the joined row still point at the lines of the file
    assert found == [("C220", "WARNING", 13), ("C206", "ERROR", 22)]


def test_rows_with_the_wrong_number_of_cells_and_stray_pipes_are_located(
        tmp_path: Path) -> None:
    body = ("| A | B |\n|---|---|\n| 1 |\n| 1 | 2 | 3 |\n| x \\| y | 2 |\n\n"
            "Stray | row |\n")
    _, diagnostics = parse(body, tmp_path)
    found = [(d.code, d.severity.name, d.span.line, d.span.column)
             for d in diagnostics.sorted() if d.span]
    assert found == [("C215", "WARNING", 13, 1), ("C216", "ERROR", 14, 1),
                     ("C217", "ERROR", 17, 7)]


def test_underlines_under_a_list_and_html_comments_are_reported(tmp_path: Path) -> None:
    body = ("- one\n- two\nNext section\n============\n\n- item\nNext\n------\n\n"
            "<!-- editor: check with legal -->\n\nText <!-- inline --> here.\n\n"
            "- x\n  Heading\n  ---\n")
    blocks, diagnostics = parse(body, tmp_path)
    found = [(d.code, d.span.line) for d in diagnostics.sorted() if d.span]
    assert found == [("C218", 14), ("C218", 18), ("C219", 20), ("C219", 22), ("C218", 26)]
    assert all(d.severity.name == "WARNING" for d in diagnostics)
    text = " ".join(str(b) for b in blocks)
    assert "editor" not in text and "inline" not in text
