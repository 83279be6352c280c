"""The document model → safe HTML fragments, shared by every HTML-based format.

In: model blocks and a :class:`Links` policy saying how service links and images become URLs
(relative on the website, absolute in a PDF). Out: :class:`markupsafe.Markup`. Every text is
escaped here; the model cannot carry raw HTML (the parser refuses it), so nothing a content
author writes reaches the output as markup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from publisher.i18n import N_, Locale
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
    Note,
    OrderedList,
    Paragraph,
    Quote,
    Strong,
    Table,
    Text,
    ThematicBreak,
    plain_text,
)

NOTE_LABELS = {"note": N_("Note"), "warning": N_("Warning"), "tip": N_("Tip")}


@dataclass(frozen=True)
class Links:
    """How links and images become URLs in one output."""

    service_url: Callable[[str, str | None], str]  # (service id, anchor) -> URL
    image_url: Callable[[str], str]  # content-relative path -> URL
    locale: Locale
    external_marker: bool = True  # say "(external site)" to screen readers


@dataclass
class _TableNames:
    """Each table wrapper of a page is a region, and regions need names of their own
    (axe's landmark-unique): the heading above it, numbered when one heading has several."""

    heading: str = ""
    used: set[str] = field(default_factory=set)

    def name(self, locale: Locale) -> str:
        table = locale.gettext("Table")
        number = 1
        while True:
            label = table if number == 1 else f"{table} {number}"
            name = (locale.gettext("{label}: {value}").format(label=label, value=self.heading)
                    if self.heading else label)
            if name not in self.used:
                self.used.add(name)
                return name
            number += 1


def render_blocks(blocks: tuple[Block, ...], links: Links,
                  names: _TableNames | None = None) -> Markup:
    names = names if names is not None else _TableNames()
    return Markup("\n").join(_block(block, links, names) for block in blocks)


def render_inlines(inlines: tuple[Inline, ...], links: Links) -> Markup:
    return Markup("").join(_inline(node, links) for node in inlines)


def _block(block: Block, links: Links, names: _TableNames) -> Markup:
    if isinstance(block, Heading):
        names.heading = " ".join(plain_text(block.children).split())
        return Markup('<h{0} id="{1}">{2}</h{0}>').format(
            block.level, block.anchor, render_inlines(block.children, links)
        )
    if isinstance(block, Paragraph):
        return Markup("<p>{}</p>").format(render_inlines(block.children, links))
    if isinstance(block, BulletList | OrderedList):
        items = Markup("").join(
            Markup("<li>{}</li>").format(_item(item.blocks, links, names))
            for item in block.items
        )
        if isinstance(block, BulletList):
            return Markup("<ul>{}</ul>").format(items)
        start = Markup(' start="{}"').format(block.start) if block.start != 1 else Markup("")
        return Markup("<ol{}>{}</ol>").format(start, items)
    if isinstance(block, Table):
        return _table(block, links, names.name(links.locale))
    if isinstance(block, Note):
        label = links.locale.gettext(NOTE_LABELS[block.kind])
        return Markup(
            '<aside class="note note-{0}" aria-label="{1}"><p class="note-label">{1}</p>{2}</aside>'
        ).format(block.kind, label, render_blocks(block.blocks, links, names))
    if isinstance(block, Quote):
        return Markup("<blockquote>{}</blockquote>").format(
            render_blocks(block.blocks, links, names))
    if isinstance(block, CodeBlock):
        return Markup("<pre><code>{}</code></pre>").format(block.text)
    if isinstance(block, ThematicBreak):
        return Markup("<hr>")
    raise AssertionError(f"unknown block {block!r}")


def _item(blocks: tuple[Block, ...], links: Links, names: _TableNames) -> Markup:
    # a tight list item is one paragraph: render its text without <p> for compact lists
    if len(blocks) == 1 and isinstance(blocks[0], Paragraph):
        return render_inlines(blocks[0].children, links)
    return render_blocks(blocks, links, names)


def _table(table: Table, links: Links, name: str) -> Markup:
    def cell(tag: str, children: tuple[Inline, ...], align: str | None, scope: str = "") -> Markup:
        attrs = Markup("")
        if scope:
            attrs += Markup(' scope="{}"').format(scope)
        if align:
            attrs += Markup(' class="align-{}"').format(align)
        return Markup("<{0}{1}>{2}</{0}>").format(tag, attrs, render_inlines(children, links))

    head = Markup("").join(cell("th", c.children, c.align, "col") for c in table.head)
    rows = Markup("").join(
        Markup("<tr>{}</tr>").format(Markup("").join(cell("td", c.children, c.align) for c in row))
        for row in table.rows
    )
    return Markup(
        '<div class="table-wrap" role="region" tabindex="0" aria-label="{}">'
        "<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table></div>"
    ).format(name, head, rows)


def _inline(node: Inline, links: Links) -> Markup:
    if isinstance(node, Text):
        return escape(node.text)
    if isinstance(node, Emphasis):
        return Markup("<em>{}</em>").format(render_inlines(node.children, links))
    if isinstance(node, Strong):
        return Markup("<strong>{}</strong>").format(render_inlines(node.children, links))
    if isinstance(node, Code):
        return Markup("<code>{}</code>").format(node.text)
    if isinstance(node, LineBreak):
        return Markup("<br>")
    if isinstance(node, Abbreviation):
        return Markup('<abbr title="{}">{}</abbr>').format(node.title, node.text)
    if isinstance(node, Image):
        title = Markup(' title="{}"').format(node.title) if node.title else Markup("")
        return Markup('<img src="{}" alt="{}"{}>').format(
            links.image_url(node.src), node.alt, title
        )
    if isinstance(node, Link):
        return _link(node, links)
    raise AssertionError(f"unknown inline {node!r}")


def _link(node: Link, links: Links) -> Markup:
    text = render_inlines(node.children, links)
    title = Markup(' title="{}"').format(node.title) if node.title else Markup("")
    if node.kind == "service" and node.service is not None:
        href = links.service_url(node.service, node.anchor)
        return Markup('<a href="{}"{}>{}</a>').format(href, title, text)
    if node.kind == "anchor":
        return Markup('<a href="#{}"{}>{}</a>').format(node.anchor or "", title, text)
    if node.kind == "external":
        marker = Markup("")
        if links.external_marker:
            marker = Markup('<span class="visually-hidden"> ({})</span>').format(
                links.locale.gettext("external site")
            )
        return Markup(
            '<a class="external" href="{}" rel="noopener noreferrer"{}>{}{}</a>'
        ).format(node.target, title, text, marker)
    # mailto: and tel: keep their own scheme
    return Markup('<a href="{}"{}>{}</a>').format(node.target, title, text)
