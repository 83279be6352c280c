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
from markdown_it.rules_core import inline as parse_inlines
from markdown_it.rules_core.state_core import StateCore
from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode
from mdit_py_plugins.container import container_plugin

from publisher.config import DEFAULT_MAX_LINE_CHARS, DEFAULT_MAX_TABLE_COLUMNS
from publisher.diagnostics import Diagnostics, SourceSpan
from publisher.model import (
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
#: nesting deeper than this is refused: no reader can follow it and it costs stack
MAX_DEPTH = 20
#: markdown-it silently drops the blocks that lie deeper than its ``maxNesting`` token levels. A
#: level of ours is at most two of its levels (a list and its item), so with this value our own
#: depth check always sees, and reports, nesting before markdown-it would throw any of it away.
MARKDOWN_MAX_NESTING = 2 * MAX_DEPTH + 4
#: inline parsing keeps markdown-it's own limit (it turns deeper brackets into text, losing
#: nothing): a higher one makes pathological ``[[[[…`` text twice as slow to parse
INLINE_MAX_NESTING = 20
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
    return md


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
    images: list[str] = field(default_factory=list)
    #: what the parse learnt from outside its text (services resolved, files found), so that a
    #: cached parse is reused only while the content folder still answers the same
    observed: list[Observation] = field(default_factory=list)
    _anchors: set[str] = field(default_factory=set)
    _last_level: int = 1
    _too_deep: bool = False

    def parse(self, body: str) -> tuple[Block, ...]:
        """The body's blocks; ``()`` when it exceeds a resource limit that must be checked
        before markdown-it sees it (a line too long, a table too wide): reported, not parsed."""
        if not self._within_limits(body):
            return ()
        tokens = _MD.parse(body)
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
                self._report_depth(self.span.at(self.span.line + line + 1, 1))
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
        return self.span.at(self.span.line + line + 1, 1)

    def _blocks(self, nodes: list[SyntaxTreeNode], depth: int) -> tuple[Block, ...]:
        blocks: list[Block] = []
        for node in nodes:
            block = self._block(node, depth)
            if block is not None:
                blocks.append(block)
        return tuple(blocks)

    def _block(self, node: SyntaxTreeNode, depth: int) -> Block | None:
        span = self._at(node)
        if depth > MAX_DEPTH:
            self._report_depth(span)
            return None
        kind = node.type
        if kind == "heading":
            return self._heading(node, span)
        if kind == "paragraph":
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
                    rows.append(cells)
        return Table(head, tuple(rows), span)

    def _cell(self, node: SyntaxTreeNode, span: SourceSpan) -> TableCell:
        style = str(node.attrs.get("style", ""))
        align = None
        for value in ("left", "right", "center"):
            if f"text-align:{value}" in style:
                align = value
        return TableCell(self._inline_of(node, span), align)  # type: ignore[arg-type]

    # ------------------------------------------------------------ inlines

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
        if kind == "html_inline":
            self._raw_html(span, node.content)
            return None
        raise AssertionError(f"unexpected Markdown inline {kind}")

    def _raw_html(self, span: SourceSpan, content: str) -> None:
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
        children = self._inlines(node.children, span)
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
        if not parts.path:
            anchor = unquote(parts.fragment)
            return Link(target, children, "anchor", anchor=anchor, title=title)
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

    def _image(self, node: SyntaxTreeNode, span: SourceSpan) -> Inline | None:
        src = str(node.attrs.get("src", ""))
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
                "write the path relative to this file",
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
