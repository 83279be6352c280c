"""Markdown body → document model, once, with source positions.

In: the Markdown body of one service file, where it starts in the file, and a resolver for
links to other service files. Out: a tuple of model blocks, plus diagnostics (codes ``C2xx``)
for anything an output could not render faithfully or safely: raw HTML, unsafe URL schemes,
images without alt text or outside the content folder, skipped heading levels, links to files
that are not services.

markdown-it-py does the parsing (CommonMark + tables + ``:::`` containers); this module only maps
its syntax tree onto our node classes. ``Token.map`` gives 0-based body lines; we add the front
matter offset so every span points at the real line of the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import cast
from urllib.parse import unquote, urlsplit

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import inline as parse_inlines
from markdown_it.rules_core.state_core import StateCore
from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode
from mdit_py_plugins.container import container_plugin

from publisher.config import DEFAULT_MAX_LINE_CHARS, DEFAULT_MAX_TABLE_COLUMNS, LinkSettings
from publisher.diagnostics import Diagnostics, SourceSpan
from publisher.model import (
    Abbreviation,
    Block,
    BulletList,
    Code,
    CodeBlock,
    Emphasis,
    Heading,
    Image,
    Inline,
    LineBreak,
    Link,
    ListItem,
    Note,
    NoteKind,
    OrderedList,
    Paragraph,
    Quote,
    Strong,
    Table,
    TableCell,
    Text,
    ThematicBreak,
    plain_text,
)

NOTE_KINDS: tuple[NoteKind, ...] = ("note", "warning", "tip")
#: the only URL schemes a content file may use: anything else could run or show anything
SAFE_SCHEMES = {"http", "https", "mailto", "tel"}
WEB_SCHEMES = {"http", "https"}
#: the site's own pages beside the services' (``/<lang>/search/`` …): no service has these ids
SITE_PAGES = {"accessibility", "search", "feed", "index"}
#: nesting deeper than this is refused: no reader can follow it and it costs stack
MAX_DEPTH = 20
#: markdown-it silently drops the blocks that lie deeper than its ``maxNesting`` token levels. A
#: level of ours is at most two of its levels (a list and its item), so with this value our own
#: depth check always sees, and reports, nesting before markdown-it would throw any of it away.
MARKDOWN_MAX_NESTING = 2 * MAX_DEPTH + 4
#: inline parsing keeps markdown-it's own limit (it turns deeper brackets into text, losing
#: nothing): a higher one makes pathological ``[[[[…`` text twice as slow to parse
INLINE_MAX_NESTING = 20
#: nothing but HTML comments (an editor's note in a CMS export)
_COMMENTS = re.compile(r"(\s*<!--.*?-->\s*)+", re.DOTALL)
#: a line that would underline a heading (``===`` or ``---``)
_UNDERLINE = re.compile(r"\s*(=+|-+)\s*")
#: a cell of a table's delimiter row (``|---|:--:|``)
_DELIMITER_CELL = re.compile(r":?-+:?")


def markdown() -> MarkdownIt:
    """The one Markdown dialect: CommonMark, pipe tables and ``::: note|warning|tip`` blocks.

    HTML parsing stays on so that raw HTML is *seen* and reported (never emitted), and link
    validation is ours (markdown-it would silently turn a ``javascript:`` link into text).
    """
    md = MarkdownIt("commonmark", {"html": True, "maxNesting": MARKDOWN_MAX_NESTING})
    md.enable("table")
    for kind in NOTE_KINDS:
        md.use(container_plugin, name=kind)
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    md.core.ruler.at("inline", _inline_with_own_limit)
    md.block.ruler.before("reference", "abbr_definition", _abbr_definition,
                          {"alt": ["paragraph", "reference"]})
    md.core.ruler.after("inline", "abbr_replace", _abbr_replace)
    return md


# Abbreviations (``*[JSA]: Jobseeker's Allowance``), the syntax of PHP Markdown Extra, kramdown
# and GOV.UK's Markdown. mdit-py-plugins (0.7) has no abbr plugin, so these two rules port
# markdown-it-abbr's (the JavaScript plugin): a block rule takes the definitions out of the text,
# a core rule marks each use in the text tokens (outside links and code) as an ``abbr`` token.


def _abbr_definition(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    if state.sCount[start] - state.blkIndent >= 4:
        return False  # an indented code block
    pos = state.bMarks[start] + state.tShift[start]
    maximum = state.eMarks[start]
    src = state.src
    if pos + 2 >= maximum or src[pos:pos + 2] != "*[":
        return False
    pos += 2
    label_start, label_end = pos, -1
    while pos < maximum:
        char = src[pos]
        if char == "[":
            return False
        if char == "]":
            label_end = pos
            break
        if char == "\\":
            pos += 1
        pos += 1
    if label_end < 0 or src[label_end + 1:label_end + 2] != ":":
        return False
    label = re.sub(r"\\(.)", r"\1", src[label_start:label_end]).strip()
    title = src[label_end + 2:maximum].strip()
    if not label or not title:
        return False
    if silent:
        return True
    definitions = state.env.setdefault("abbreviations", {})
    definitions.setdefault(label, (title, start))  # the first definition counts, as in PHP
    token = state.push("abbr_definition", "", 0)
    token.map = [start, start + 1]
    token.meta = {"label": label, "title": title}
    state.line = start + 1
    return True


def _abbr_replace(state: StateCore) -> None:
    definitions: dict[str, tuple[str, int]] = state.env.get("abbreviations", {})
    if not definitions:
        return
    # longest first, so that "JSA (IB)" wins over "JSA"; a use stands between spaces,
    # punctuation or the ends of the text, as in markdown-it-abbr
    alternatives = "|".join(re.escape(label) for label in sorted(definitions, key=len,
                                                                reverse=True))
    pattern = re.compile(rf"(?<![^\W_])({alternatives})(?![^\W_])")
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        in_link = 0
        for token in block.children:
            in_link += token.type == "link_open"
            in_link -= token.type == "link_close"
            if token.type != "text" or in_link or not pattern.search(token.content):
                children.append(token)
                continue
            at = 0
            for match in pattern.finditer(token.content):
                if match.start() > at:
                    children.append(_text_token(token, token.content[at:match.start()]))
                label = match.group(1)
                abbr = Token("abbr", "abbr", 0, content=label, level=token.level)
                abbr.meta = {"title": definitions[label][0]}
                children.append(abbr)
                at = match.end()
            if at < len(token.content):
                children.append(_text_token(token, token.content[at:]))
        block.children = children


def _text_token(like: Token, content: str) -> Token:
    return Token("text", "", 0, content=content, level=like.level)


def _inline_with_own_limit(state: StateCore) -> None:
    """markdown-it's inline stage under :data:`INLINE_MAX_NESTING` (one option serves both
    stages). Parsing runs in one thread per process, so switching the option is safe."""
    state.md.options["maxNesting"] = INLINE_MAX_NESTING
    try:
        parse_inlines(state)
    finally:
        state.md.options["maxNesting"] = MARKDOWN_MAX_NESTING


_MD = markdown()


def _delimiter_row_columns(line: str) -> int:
    """The columns of a table whose delimiter row this line is (0 when it is not one), in time
    proportional to the line: no backtracking regular expression over user text."""
    row = line.strip().lstrip("> \t").strip()
    cells = row.removeprefix("|").removesuffix("|").split("|")
    if all(_DELIMITER_CELL.fullmatch(cell.strip()) for cell in cells):
        return len(cells)
    return 0


def _row_cells(line: str) -> list[str]:
    """The cells of a table row as markdown-it splits them: on each ``|`` not escaped by a
    backslash, without the empty cells the outer pipes make."""
    row = line.strip()
    cells = re.split(r"(?<!\\)\|", row)
    if row.startswith("|"):
        cells = cells[1:]
    if row.endswith("|") and not row.endswith("\\|") and cells:
        cells = cells[:-1]
    return cells


def _closes_row(line: str) -> bool:
    text = line.strip()
    return text.endswith("|") and not text.endswith("\\|")


#: in a table cell that held several paragraphs (see :func:`join_broken_rows`), where one ended
PARAGRAPH_MARK = "\u2029"
#: how many lines after a row's start its closing ``|`` is looked for
_ROW_LOOKAHEAD = 60


def join_broken_rows(lines: list[str]) -> tuple[list[str], list[int], list[int]]:
    """Table rows whose cells hold several paragraphs, as HTML-to-Markdown converters write
    them (``| JSA | You get money.``, a blank line, ``You must look for work. |``), joined
    into one row each, their paragraphs kept apart by :data:`PARAGRAPH_MARK`; markdown-it
    would end the table at the blank line and publish the rest as paragraphs full of pipes.

    Returns the lines, the original (0-based) line of each, and the lines where a row was
    joined. A row whose closing ``|`` is not found is left as it is (and reported as stray
    pipes by the parser)."""
    out: list[str] = []
    origin: list[int] = []
    joined: list[int] = []
    in_table = False
    index = 0
    while index < len(lines):
        line = lines[index]
        text = line.strip()
        if not in_table:
            in_table = ("|" in line and index + 1 < len(lines)
                        and _delimiter_row_columns(lines[index + 1]) > 0
                        and not lines[index + 1].startswith((" " * 4, "\t")))
        elif not text:
            in_table = False
        elif text.startswith("|") and not _closes_row(text):
            end = _row_end(lines, index)
            if end is not None:
                paragraphs: list[list[str]] = [[text]]
                for part in lines[index + 1:end + 1]:
                    if part.strip():
                        paragraphs[-1].append(part.strip())
                    elif paragraphs[-1]:
                        paragraphs.append([])
                out.append(PARAGRAPH_MARK.join(" ".join(p) for p in paragraphs if p))
                origin.append(index)
                joined.append(index)
                index = end + 1
                continue
        out.append(line)
        origin.append(index)
        index += 1
    return out, origin, joined


def _row_end(lines: list[str], start: int) -> int | None:
    """The line that closes the row begun at ``start``, if a blank line comes first (a row
    broken by paragraphs) and no other row starts before it."""
    blank = False
    for index in range(start + 1, min(len(lines), start + 1 + _ROW_LOOKAHEAD)):
        text = lines[index].strip()
        if not text:
            blank = True
            continue
        if text.startswith("|") or _delimiter_row_columns(text):
            return None
        if _closes_row(text):
            return index if blank else None
    return None


@dataclass(frozen=True)
class ResolvedTarget:
    """A link to another service file, resolved by the loader."""

    service: str


#: (kind, content-relative path, answer): what a parse asked of the content folder
Observation = tuple[str, str, object]


def observe(question: Observation, content_dir: Path,
            resolve_service: Callable[[PurePosixPath], str | None],
            record: list[Observation] | None = None, real_root: str | None = None,
            real_dirs: dict[str, str] | None = None) -> object:
    """Ask the content folder ``question`` (its answer part is ignored): is there a file at
    this path, does the path stay inside the folder, which service does a ``.md`` path name.
    With ``record``, the answer is noted there; ``real_root``: the folder's real path, and
    ``real_dirs``: the real paths of its folders found so far, when the caller asks many
    questions (a catalogue's links are in a handful of folders)."""
    kind, path, _ = question
    answer: object
    if kind == "file":
        answer = os.path.isfile(os.path.join(content_dir, path))
    elif kind == "inside":
        # os.path rather than pathlib: asked once per link of every page, where pathlib's
        # object overhead is most of the time
        root = real_root or os.path.realpath(content_dir)
        real = _realpath(os.path.join(root, path), real_dirs if real_dirs is not None else {})
        answer = real == root or real.startswith(root + os.sep)
    else:
        answer = resolve_service(PurePosixPath(path))
    if record is not None:
        record.append((kind, path, answer))
    return answer


def _realpath(path: str, real_dirs: dict[str, str]) -> str:
    """``os.path.realpath`` of a path without '..' parts, its folder's taken from (and added
    to) ``real_dirs``: only the last part is looked at anew, unless it is a link."""
    folder, name = os.path.split(path)
    if name in ("", ".", "..") or os.path.islink(path):
        return os.path.realpath(path)
    real_folder = real_dirs.get(folder)
    if real_folder is None:
        real_folder = real_dirs[folder] = os.path.realpath(folder)
    return os.path.join(real_folder, name)


@dataclass
class BodyParser:
    """Parses one body. ``resolve_service`` maps a content-relative ``.md`` path to its service
    id (or ``None`` when no such service file was loaded)."""

    span: SourceSpan  # the file, with ``line`` = file line of the body's first line
    source: PurePosixPath  # content-relative path of this file
    content_dir: Path
    diagnostics: Diagnostics
    resolve_service: Callable[[PurePosixPath], str | None]
    max_line_chars: int = DEFAULT_MAX_LINE_CHARS
    max_table_columns: int = DEFAULT_MAX_TABLE_COLUMNS
    #: ``links:`` of site.yaml (root-relative links), and the site's ``base_url`` with a
    #: resolver of ``<lang>/<id>`` page paths to service ids, to recognise links to its pages
    links: LinkSettings | None = None
    base_url: str = ""
    resolve_page: Callable[[str], str | None] = lambda page: None
    images: list[str] = field(default_factory=list)
    #: what the parse learnt from outside its text (services resolved, files found), so that a
    #: cached parse is reused only while the content folder still answers the same
    observed: list[Observation] = field(default_factory=list)
    _anchors: set[str] = field(default_factory=set)
    _last_level: int = 1
    _too_deep: bool = False
    #: the body's lines, and where the search for the next inline's column starts (a line
    #: index into them and a column): markdown-it maps blocks to lines only
    _lines: list[str] = field(default_factory=list)
    #: the original (0-based) body line of each of ``_lines`` (see :func:`join_broken_rows`)
    _origin: list[int] = field(default_factory=list)
    _region_end: int = 0
    _cursor: tuple[int, int] = (0, 0)

    def parse(self, body: str) -> tuple[Block, ...]:
        """The body's blocks; ``()`` when it exceeds a resource limit that must be checked
        before markdown-it sees it (a line too long, a table too wide): reported, not parsed."""
        if not self._within_limits(body):
            return ()
        self._lines, self._origin, joined = join_broken_rows(body.split("\n"))
        for line in joined:
            self.diagnostics.warning(
                "C220",
                "a table cell holds several paragraphs (a blank line inside the row): they are "
                "kept as lines of the one cell",
                self.span.at(self.span.line + line + 1, 1),
                "check the table on the page; to silence this, write each row on one line",
            )
        tokens = _MD.parse("\n".join(self._lines))
        self._flatten_deep_inlines(tokens)
        tree = SyntaxTreeNode(tokens)
        return self._blocks(tree.children, 0)

    # ------------------------------------------------------------ resource limits

    def _within_limits(self, body: str) -> bool:
        """Cheap checks on the raw lines, in time proportional to the text: what they refuse
        would cost markdown-it (and every format after it) far more than its size."""
        fine = True
        for index, line in enumerate(body.split("\n")):
            at = self.span.at(self.span.line + index + 1, 1)
            if len(line) > self.max_line_chars:
                self.diagnostics.error(
                    "C213",
                    f"the line is {len(line):,} characters long, over the limit of "
                    f"{self.max_line_chars:,}",
                    at.at(at.line, self.max_line_chars + 1),
                    "break the text into paragraphs (a blank line between them), or raise "
                    "max_line_chars in site.yaml",
                )
                fine = False
            elif "|" in line and "-" in line:
                columns = _delimiter_row_columns(line)
                fine = self._table_width(columns, at) and fine
        return fine

    def _table_width(self, columns: int, span: SourceSpan) -> bool:
        if columns <= self.max_table_columns:
            return True
        self.diagnostics.error(
            "C214",
            f"the table has {columns:,} columns, over the limit of {self.max_table_columns:,}",
            span,
            "split it into narrower tables (no page, braille line or listener can follow so "
            "many columns), or raise max_table_columns in site.yaml",
        )
        return False

    def _flatten_deep_inlines(self, tokens: list[Token]) -> None:
        """Emphasis and links nested deeper than :data:`MAX_DEPTH` (``*****…a…*****``) would
        make the syntax tree recurse without bound: report them and keep such a run as text."""
        for token in tokens:
            if token.type != "inline" or not token.children:
                continue
            depth = deepest = 0
            for child in token.children:
                depth += child.nesting
                deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                line = token.map[0] if token.map else 0
                self._report_depth(self.span.at(self._file_line(line), 1))
                token.children = [Token("text", "", 0, content=token.content)]

    def _report_depth(self, span: SourceSpan) -> None:
        if self._too_deep:
            return  # once per file: the first place is enough to find the rest
        self._too_deep = True
        self.diagnostics.error(
            "C212",
            f"the text is nested more than {MAX_DEPTH} levels deep",
            span,
            "flatten the lists, quotes or emphasis: readers cannot follow such nesting",
        )

    # ------------------------------------------------------------ blocks

    def _at(self, node: SyntaxTreeNode) -> SourceSpan:
        line = node.map[0] if node.map else 0
        return self.span.at(self._file_line(line), 1)

    def _file_line(self, line: int) -> int:
        """The file line of a (0-based) line of the text markdown-it read."""
        if 0 <= line < len(self._origin):
            line = self._origin[line]
        return self.span.line + line + 1

    def _blocks(self, nodes: list[SyntaxTreeNode], depth: int) -> tuple[Block, ...]:
        blocks: list[Block] = []
        for index, node in enumerate(nodes):
            if (node.type == "hr" and index and node.map and node.map[0] > 0
                    and nodes[index - 1].type in ("bullet_list", "ordered_list")
                    and self._lines[node.map[0] - 1].strip()):
                self._underline_in_list(node.map[0], "read as a dividing line after the list")
            block = self._block(node, depth)
            if block is not None:
                blocks.append(block)
        return tuple(blocks)

    def _block(self, node: SyntaxTreeNode, depth: int) -> Block | None:
        span = self._at(node)
        if node.map:
            self._region_end = node.map[1]
            self._cursor = (node.map[0], 0)
        if depth > MAX_DEPTH:
            self._report_depth(span)
            return None
        kind = node.type
        if kind == "heading":
            if depth and node.markup in ("=", "-") and node.map:
                self._underline_in_list(node.map[1] - 1, "read as a heading inside the list item")
            return self._heading(node, span)
        if kind == "paragraph":
            self._check_paragraph_lines(node, depth)
            return Paragraph(self._inline_of(node, span), span)
        if kind == "bullet_list":
            return BulletList(self._items(node, depth), span)
        if kind == "ordered_list":
            start = int(str(node.attrs.get("start", 1)))
            return OrderedList(self._items(node, depth), start, span)
        if kind == "table":
            return self._table(node, span)
        if kind == "blockquote":
            return Quote(self._blocks(node.children, depth + 1), span)
        if kind.startswith("container_"):
            note_kind = cast(NoteKind, kind.removeprefix("container_"))
            return Note(note_kind, self._blocks(node.children, depth + 1), span)
        if kind in {"fence", "code_block"}:
            return CodeBlock(node.content.rstrip("\n"), span)
        if kind == "hr":
            return ThematicBreak(span)
        if kind == "html_block":
            self._raw_html(span, node.content)
            return None
        if kind == "abbr_definition":
            return None  # its uses carry it (see _abbr_replace)
        raise AssertionError(f"unexpected Markdown node {kind}")  # a bug: dialect changed

    def _heading(self, node: SyntaxTreeNode, span: SourceSpan) -> Heading:
        level = int(node.tag[1])
        children = self._inline_of(node, span)
        if level == 1:
            self.diagnostics.error(
                "C203",
                "a level-1 heading (#) in the body",
                span,
                "the title in the front matter is the only level-1 heading; start sections at ##",
            )
        elif level > self._last_level + 1:
            self.diagnostics.error(
                "C202",
                f"heading level skipped: level {level} follows level {self._last_level}",
                span,
                f"use {'#' * (self._last_level + 1)} here, or add the missing level above",
            )
        self._last_level = level
        return Heading(level, children, self._anchor(plain_text(children)), span)

    def _anchor(self, text: str) -> str:
        base = re.sub(r"[^\w]+", "-", text.casefold()).strip("-_") or "section"
        anchor, n = base, 2
        while anchor in self._anchors:
            anchor, n = f"{base}-{n}", n + 1
        self._anchors.add(anchor)
        return anchor

    def _items(self, node: SyntaxTreeNode, depth: int) -> tuple[ListItem, ...]:
        return tuple(
            ListItem(self._blocks(item.children, depth + 1), self._at(item))
            for item in node.children
        )

    def _table(self, node: SyntaxTreeNode, span: SourceSpan) -> Table:
        head: tuple[TableCell, ...] = ()
        rows: list[tuple[TableCell, ...]] = []
        for section in node.children:
            for row in section.children:
                cells = tuple(self._cell(cell, span) for cell in row.children)
                if section.type == "thead":
                    head = cells
                else:
                    self._check_row(row, len(head))
                    rows.append(cells)
        return Table(head, tuple(rows), span)

    def _check_row(self, row: SyntaxTreeNode, columns: int) -> None:
        """markdown-it fills a short row with empty cells and drops a long row's extra cells,
        silently: the author hears of both."""
        if not row.map or row.map[0] >= len(self._lines):
            return
        written = len(_row_cells(self._lines[row.map[0]]))
        at = self.span.at(self._file_line(row.map[0]), 1)
        if written > columns:
            self.diagnostics.error(
                "C216",
                f"the table row has {written} cells, the header {columns}: the cells after "
                f"the first {columns} would be lost",
                at,
                "remove the extra cells, add their columns to the header, or escape a | that "
                "belongs to the text as \\|",
            )
        elif written < columns:
            self.diagnostics.warning(
                "C215",
                f"the table row has {written} of the header's {columns} cells: the rest are "
                "published empty",
                at,
                "add the missing cells (an empty cell is written | |)",
            )

    def _check_paragraph_lines(self, node: SyntaxTreeNode, depth: int) -> None:
        """Text markdown-it reads as a paragraph although the author meant something else: a
        table row outside a table (stray pipes), an underline taken into a list item."""
        if not node.map:
            return
        start, end = node.map
        for line in range(start, min(end, len(self._lines))):
            text = self._lines[line].strip().lstrip("> \t").strip()
            if text.startswith("|") or _closes_row(text):
                self.diagnostics.error(
                    "C217",
                    "a line with table pipes '|' is not part of a table: it would be "
                    "published as text",
                    self.span.at(self._file_line(line), self._lines[line].find("|") + 1),
                    "give the table its header row and a delimiter row (|---|---|) with no "
                    "blank line in between, keep each row's cells on one line, or escape a "
                    "| of the text as \\|",
                )
                return  # once a paragraph: the first line tells where the table broke
        last = min(end, len(self._lines)) - 1
        if depth and end - start > 1 and _UNDERLINE.fullmatch(self._lines[last]):
            self._underline_in_list(last, "read as text of the list item")

    def _underline_in_list(self, line: int, effect: str) -> None:
        self.diagnostics.warning(
            "C218",
            f"the line {self._lines[line].strip()[:20]!r} would underline a heading, but "
            f"under a list it is {effect}",
            self.span.at(self._file_line(line), 1),
            "leave a blank line after the list and write the heading as ## Heading",
        )

    def _cell(self, node: SyntaxTreeNode, span: SourceSpan) -> TableCell:
        style = str(node.attrs.get("style", ""))
        align = None
        for value in ("left", "right", "center"):
            if f"text-align:{value}" in style:
                align = value
        return TableCell(self._inline_of(node, span), align)  # type: ignore[arg-type]

    # ------------------------------------------------------------ inlines

    def _place(self, span: SourceSpan, *needles: str, address: bool = True) -> SourceSpan:
        """The place of an inline in its block: the first of ``needles`` (its address as
        written, say) found in the block's source lines after the previous inline's place;
        the block's line, column 1, when none is found (a reference link's address is
        elsewhere). Searching on from the last find gives each of two links of one line its
        own column. With ``address``, a needle's opening ``(`` or ``<`` is not part of the
        place."""
        line, column = self._cursor
        while line < min(self._region_end, len(self._lines)):
            text = self._lines[line]
            found = [(text.find(n, column), n) for n in needles if n]
            found = [(at, n) for at, n in found if at >= 0]
            if found:
                at, needle = min(found)
                self._cursor = (line, at + len(needle))
                bracket = len(needle) - len(needle.lstrip("(<")) if address else 0
                return span.at(self._file_line(line), at + bracket + 1)
            line, column = line + 1, 0
        return span


    def _inline_of(self, node: SyntaxTreeNode, span: SourceSpan) -> tuple[Inline, ...]:
        inline = [child for child in node.children if child.type == "inline"]
        if not inline:
            return ()
        return self._inlines(inline[0].children, span)

    def _inlines(self, nodes: list[SyntaxTreeNode], span: SourceSpan) -> tuple[Inline, ...]:
        out: list[Inline] = []
        for node in nodes:
            item = self._inline(node, span)
            if item is None:
                continue
            if isinstance(item, Text) and out and isinstance(out[-1], Text):
                out[-1] = Text(out[-1].text + item.text)  # softbreaks split text runs
            else:
                out.append(item)
        if any(isinstance(item, Text) and PARAGRAPH_MARK in item.text for item in out):
            return self._paragraph_breaks(out)
        return tuple(out)

    @staticmethod
    def _paragraph_breaks(inlines: list[Inline]) -> tuple[Inline, ...]:
        """The paragraphs of a joined table cell (see :func:`join_broken_rows`) as lines."""
        out: list[Inline] = []
        for item in inlines:
            if not isinstance(item, Text) or PARAGRAPH_MARK not in item.text:
                out.append(item)
                continue
            for index, part in enumerate(item.text.split(PARAGRAPH_MARK)):
                if index:
                    out.append(LineBreak())
                if part.strip():
                    out.append(Text(part.strip() if index else part.rstrip()))
        return tuple(out)

    def _inline(self, node: SyntaxTreeNode, span: SourceSpan) -> Inline | None:
        kind = node.type
        if kind == "text":
            return Text(node.content)
        if kind == "softbreak":
            return Text(" ")
        if kind == "hardbreak":
            return LineBreak()
        if kind == "em":
            return Emphasis(self._inlines(node.children, span))
        if kind == "strong":
            return Strong(self._inlines(node.children, span))
        if kind == "code_inline":
            return Code(node.content)
        if kind == "link":
            return self._link(node, span)
        if kind == "image":
            return self._image(node, span)
        if kind == "abbr":
            return Abbreviation(node.content, str(node.meta["title"]))
        if kind == "html_inline":
            self._raw_html(self._place(span, node.content, address=False), node.content)
            return None
        raise AssertionError(f"unexpected Markdown inline {kind}")

    def _raw_html(self, span: SourceSpan, content: str) -> None:
        if _COMMENTS.fullmatch(content):
            # CMS exports keep editors' notes as comments: not content, and never published
            self.diagnostics.warning(
                "C219",
                "an HTML comment (<!-- … -->) is left out of every format",
                span,
                "remove the comment, or write the text as Markdown if readers need it",
            )
            return
        snippet = content.strip().splitlines()[0][:60] if content.strip() else content
        self.diagnostics.error(
            "C201",
            f"raw HTML is not allowed: {snippet!r}",
            span,
            "write it in Markdown; HTML would only reach the website and could be unsafe",
        )

    def _link(self, node: SyntaxTreeNode, span: SourceSpan) -> Inline | None:
        target = str(node.attrs.get("href", ""))
        title = str(node.attrs["title"]) if node.attrs.get("title") else None
        children = self._inlines(node.children, span)  # before the address, as in the text
        span = self._place(span, f"({target}", f"({unquote(target)}", f"<{target}>", target,
                           unquote(target))
        if not plain_text(children).strip():
            self.diagnostics.error(
                "C211", f"the link to {target!r} has no text", span,
                "write the words a reader should see between the brackets",
            )
        parts = urlsplit(target)
        scheme = parts.scheme.lower()
        if scheme:
            if scheme not in SAFE_SCHEMES:
                self.diagnostics.error(
                    "C209",
                    f"links with '{scheme}:' are not allowed ({target[:60]!r})",
                    span,
                    "use an https://, mailto: or tel: address, or a link to another service (.md)",
                )
                return Text(plain_text(children))
            kind = {"mailto": "email", "tel": "phone"}.get(scheme, "external")
            return Link(target, children, kind, title=title)  # type: ignore[arg-type]
        if parts.netloc:  # //host/path: the address of another site, without its scheme
            return Link(f"https:{target}", children, "external", title=title)
        if not parts.path:
            anchor = unquote(parts.fragment)
            return Link(target, children, "anchor", anchor=anchor, title=title)
        if parts.path.startswith("/"):
            return self._root_relative(target, children, title, span)
        resolved = self._inside_content(parts.path, span, "link")
        if resolved is None:
            return Text(plain_text(children))
        if resolved.suffix != ".md":
            self.diagnostics.error(
                "C210",
                f"the link {target!r} does not point to a service description",
                span,
                "link to another service's .md file, or to a full https:// address",
            )
            return Text(plain_text(children))
        service = self.resolve_service(resolved)
        self.observed.append(("service", resolved.as_posix(), service))
        if service is None:
            self.diagnostics.error(
                "C207",
                f"the link {target!r} points to a service that does not exist",
                span,
                "check the file name; a link to a service in the same language is written "
                "like [text](other-service.md)",
            )
            return Text(plain_text(children))
        fragment = unquote(parts.fragment)
        return Link(
            target, children, "service", service=service, anchor=fragment or None, title=title
        )

    def _root_relative(self, target: str, children: tuple[Inline, ...], title: str | None,
                       span: SourceSpan) -> Inline:
        """A link such as ``/find-a-court``: to the service it names (by its page path or an
        old address of ``links.old_addresses``), else to the same path under ``links.root``."""
        links = self.links
        if links is None:
            self.diagnostics.error(
                "C206",
                f"the link {target!r} is root-relative (it starts with '/'), and site.yaml "
                "does not say which site such links lead to",
                span,
                "add 'links: {root: https://www.your-organisation.example/}' to site.yaml "
                "(the address of the site these pages come from), or link to a service's .md file",
            )
            return Text(plain_text(children))
        parts = urlsplit(target)
        lang = self.source.parts[0] if len(self.source.parts) > 1 else ""
        anchor = unquote(parts.fragment) or None
        service = links.service_for(unquote(parts.path))
        if service is not None:
            page = f"{lang}/{service}"
            found = self.resolve_page(page)
            self.observed.append(("page", page, found))
            if found is None:
                self.diagnostics.error(
                    "C207",
                    f"the link {target!r} is the old address of the service '{service}' "
                    f"(links.old_addresses in site.yaml), which has no '{lang}' version",
                    span,
                    "correct the service id in links.old_addresses, or add the service",
                )
                return Text(plain_text(children))
            return Link(target, children, "service", service=service, anchor=anchor,
                        title=title)
        address = links.root + target.removeprefix("/")
        ours = bool(self.base_url) and address.startswith(self.base_url)
        # a page path of this site (/en/parking-permit/ under base_url's path) names the
        # service whichever host the old pages were on: the estate's pages move here
        prefix = urlsplit(self.base_url).path if self.base_url else "/"
        path = unquote(parts.path)
        if path.startswith(prefix):
            steps = path[len(prefix):].strip("/").split("/")
            if len(steps) == 2 and steps[1] not in SITE_PAGES:
                page = "/".join(steps)
                found = self.resolve_page(page)
                self.observed.append(("page", page, found))
                if found is None and not ours:
                    return Link(address, children, "external", title=title)
                if found is None:
                    self.diagnostics.error(
                        "C207",
                        f"the link {target!r} leads to the page of a service '{steps[1]}' "
                        f"in '{steps[0]}', which does not exist",
                        span,
                        "check the address, or link to the service's .md file",
                    )
                    return Text(plain_text(children))
                return Link(target, children, "service", service=found, anchor=anchor,
                            title=title)
        return Link(address, children, "external", title=title)

    def _image(self, node: SyntaxTreeNode, span: SourceSpan) -> Inline | None:
        src = str(node.attrs.get("src", ""))
        span = self._place(span, f"({src}", f"({unquote(src)}", src, unquote(src))
        alt = plain_text(self._inlines(node.children, span)).strip()
        if not alt:
            self.diagnostics.error(
                "C204",
                f"the image {src!r} has no alt text",
                span,
                "describe the image between the brackets: ![what the image shows](file.png)",
            )
        parts = urlsplit(src)
        if parts.scheme:
            self.diagnostics.error(
                "C209",
                f"images must be files in the content folder, not {parts.scheme}: addresses",
                span,
                "save the image under content/images/ and use its relative path",
            )
            return Text(alt)
        resolved = self._inside_content(parts.path, span, "image")
        if resolved is None:
            return Text(alt)
        if not observe(("file", resolved.as_posix(), None), self.content_dir,
                       self.resolve_service, self.observed):
            self.diagnostics.error(
                "C205",
                f"the image file {src!r} does not exist",
                span,
                f"add {resolved} to the content folder or correct the path",
            )
            return Text(alt)
        self.images.append(resolved.as_posix())
        title = str(node.attrs["title"]) if node.attrs.get("title") else None
        return Image(resolved.as_posix(), alt, title)

    def _inside_content(self, path: str, span: SourceSpan, what: str) -> PurePosixPath | None:
        """The content-relative path of a relative link, or ``None`` (reported) when it leaves
        the content folder — by '..' or through a symbolic link."""
        path = unquote(path) or ""
        if path.startswith("/"):
            self.diagnostics.error(
                "C206", f"the {what} path {path!r} is absolute", span,
                "save the file in the content folder and write its path relative to this file "
                "(for example ../images/map.png)",
            )
            return None
        parts: list[str] = []
        for part in (*self.source.parent.parts, *PurePosixPath(path).parts):
            if part == "..":
                if not parts:
                    self.diagnostics.error(
                        "C206",
                        f"the {what} path {path!r} leads outside the content folder",
                        span,
                        "only files inside the content folder can be published",
                    )
                    return None
                parts.pop()
            elif part not in {".", ""}:
                parts.append(part)
        resolved = PurePosixPath(*parts) if parts else PurePosixPath(".")
        if not observe(("inside", resolved.as_posix(), None), self.content_dir,
                       self.resolve_service, self.observed):
            self.diagnostics.error(
                "C206",
                f"the {what} path {path!r} is a symbolic link to outside the content folder",
                span,
                "copy the file into the content folder instead of linking to it",
            )
            return None
        return resolved
