"""The one format-neutral document model that every writer renders from.

In: the parser (:mod:`publisher.parse`) builds these nodes from markdown-it-py's token tree and
the loader's validated :class:`ServiceRecord`. Out: a :class:`Document` per (service, language),
immutable, each node carrying the :class:`SourceSpan` it came from so that any later stage can
point the author at the line to fix. HTML is one output among others, never the intermediate form.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import pickle
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Generic, Literal, TypeAlias, TypeVar, overload

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from publisher.diagnostics import SourceSpan
from publisher.i18n import N_

# ---------------------------------------------------------------- front matter: the service


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _iso_date_text(value: object) -> object:
    """Dates are written YYYY-MM-DD; refuse numbers that pydantic would read as timestamps."""
    if isinstance(value, dt.date | str):
        return value
    raise ValueError("expected a date written YYYY-MM-DD")


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_text)]


Day = Literal["mo", "tu", "we", "th", "fr", "sa", "su"]
DAYS: tuple[Day, ...] = ("mo", "tu", "we", "th", "fr", "sa", "su")
ChannelType = Literal["online", "phone", "in-person", "post", "email"]
#: how each format names a channel (message ids, translated where they are shown)
CHANNEL_LABELS: dict[str, str] = {
    "online": N_("Online"),
    "phone": N_("By phone"),
    "in-person": N_("In person"),
    "post": N_("By post"),
    "email": N_("By email"),
}


def day_runs(days: Iterable[str]) -> list[list[Day]]:
    """Days in the week's order, consecutive ones grouped: [mo, tu, we, fr] → [[mo, tu, we],
    [fr]]. Every format then says a run its own way ("Monday–Wednesday", "Monday to …")."""
    runs: list[list[Day]] = []
    for index in sorted({DAYS.index(day) for day in days}):
        if runs and index == DAYS.index(runs[-1][-1]) + 1:
            runs[-1].append(DAYS[index])
        else:
            runs.append([DAYS[index]])
    return runs


class Channel(_Record):
    """One way to apply (CPSV-AP ``Channel``): online, phone, in person, post or email."""

    type: ChannelType
    label: str | None = None
    url: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    location: str | None = None


class Fee(_Record):
    """A cost (CPSV-AP ``Cost``): what it is for, the amount and its ISO 4217 currency."""

    label: str
    amount: float = Field(ge=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class OpeningHours(_Record):
    """Opening hours (schema.org ``OpeningHoursSpecification``)."""

    days: tuple[Day, ...] = Field(min_length=1)
    opens: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    closes: str = Field(pattern=r"^([01][0-9]|2[0-4]):[0-5][0-9]$")


class Location(_Record):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    address: str


class Contact(_Record):
    """Contact point (CPSV-AP ``ContactPoint``); at least a phone or an email."""

    phone: str | None = None
    email: str | None = None
    url: str | None = None


#: what a record says of the service's cost: ``free`` (``free_of_charge: true``), ``fees``
#: (listed), or ``not-stated`` (neither: the text may say; no format may call it free)
Cost = Literal["free", "fees", "not-stated"]


class ServiceRecord(_Record):
    """The validated front matter of one service description in one language.

    Modelled on CPSV-AP 3.2 ``PublicService`` and schema.org ``GovernmentService``; the README
    documents every field.
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=80)
    title: str = Field(min_length=1, max_length=200)
    summary: str = Field(min_length=1, max_length=400)
    topic: str
    audience: tuple[str, ...] = Field(min_length=1)
    keywords: tuple[str, ...] = ()
    channels: tuple[Channel, ...] = Field(min_length=1)
    fees: tuple[Fee, ...] = ()
    free_of_charge: bool | None = None
    processing_time: str
    opening_hours: tuple[OpeningHours, ...] = ()
    locations: tuple[Location, ...] = ()
    contact: Contact
    owner: str
    last_reviewed: IsoDate
    source_revision: str | None = Field(default=None, pattern=r"^[0-9a-f]{12,64}$")

    @property
    def cost(self) -> Cost:
        """Whether the service is free, has fees, or says neither (CMS exports often list no
        fees for a service that has them: an empty list is not a promise that it is free)."""
        if self.fees:
            return "fees"
        return "free" if self.free_of_charge else "not-stated"


# ---------------------------------------------------------------- inline nodes


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Emphasis:
    children: tuple[Inline, ...]


@dataclass(frozen=True)
class Strong:
    children: tuple[Inline, ...]


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class LineBreak:
    pass


LinkKind = Literal["external", "service", "anchor", "email", "phone"]


@dataclass(frozen=True)
class Link:
    """A link. ``kind`` tells writers how to present it; ``service`` links name a service id
    (already checked to exist in the same language) and an optional anchor."""

    target: str
    children: tuple[Inline, ...]
    kind: LinkKind
    service: str | None = None
    anchor: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class Image:
    """An image; ``src`` is relative to the content folder and the file was checked to exist."""

    src: str
    alt: str
    title: str | None = None


@dataclass(frozen=True)
class Abbreviation:
    """An abbreviation the author defined (``*[JSA]: Jobseeker's Allowance``, as PHP Markdown
    Extra and kramdown write it), where it is used: ``text`` as written, ``title`` spelt out."""

    text: str
    title: str


Inline: TypeAlias = Text | Emphasis | Strong | Code | LineBreak | Link | Image | Abbreviation


# ---------------------------------------------------------------- block nodes


@dataclass(frozen=True)
class Heading:
    """A section heading; level 2–6 (the title is the only level 1) and a stable anchor id."""

    level: int
    children: tuple[Inline, ...]
    anchor: str
    span: SourceSpan


@dataclass(frozen=True)
class Paragraph:
    children: tuple[Inline, ...]
    span: SourceSpan


@dataclass(frozen=True)
class ListItem:
    blocks: tuple[Block, ...]
    span: SourceSpan


@dataclass(frozen=True)
class BulletList:
    items: tuple[ListItem, ...]
    span: SourceSpan


@dataclass(frozen=True)
class OrderedList:
    items: tuple[ListItem, ...]
    start: int
    span: SourceSpan


@dataclass(frozen=True)
class TableCell:
    children: tuple[Inline, ...]
    align: Literal["left", "right", "center"] | None = None


@dataclass(frozen=True)
class Table:
    """A table whose first row holds the column headers (Markdown tables always have one)."""

    head: tuple[TableCell, ...]
    rows: tuple[tuple[TableCell, ...], ...]
    span: SourceSpan


NoteKind = Literal["note", "warning", "tip"]


@dataclass(frozen=True)
class Note:
    """An admonition written ``::: note`` … ``:::``."""

    kind: NoteKind
    blocks: tuple[Block, ...]
    span: SourceSpan


@dataclass(frozen=True)
class Quote:
    blocks: tuple[Block, ...]
    span: SourceSpan


@dataclass(frozen=True)
class CodeBlock:
    text: str
    span: SourceSpan


@dataclass(frozen=True)
class ThematicBreak:
    span: SourceSpan


Block: TypeAlias = (
    Heading | Paragraph | BulletList | OrderedList | Table | Note | Quote | CodeBlock
    | ThematicBreak
)


FreshnessStatus = Literal["source", "current", "outdated", "unknown"]


@dataclass(frozen=True)
class Freshness:
    """How a document stands against its source-language text (:mod:`publisher.translation`).

    ``source`` for the source itself; a translation is ``current`` when the revision it records
    (``source_revision`` in its front matter) is the source's revision now, ``outdated`` when
    it records an older one, ``unknown`` when it records none.
    """

    status: FreshnessStatus
    source_lang: str
    revision: str  # the source's revision now (64 hex digits)
    recorded: str | None = None  # the revision the translation was made from

    @property
    def outdated(self) -> bool:
        return self.status == "outdated"


T = TypeVar("T")


@dataclass(frozen=True)
class RecordSummary:
    """What the site-wide outputs read of every record (catalogues, the home page, feeds'
    order, the build's clock, translations' freshness). The loader keeps it beside a cached
    record, so that a rebuild lists a thousand services without unpickling their records."""

    id: str
    title: str
    summary: str
    topic: str
    last_reviewed: dt.date
    source_revision: str | None

    @classmethod
    def of(cls, record: ServiceRecord) -> RecordSummary:
        return cls(record.id, record.title, record.summary, record.topic, record.last_reviewed,
                   record.source_revision)


@dataclass(frozen=True)
class PackedRecord:
    """A cached record still pickled, with its summary (see :class:`RecordSummary`)."""

    data: bytes
    summary: RecordSummary


def summary_of(record: ServiceRecord | PackedRecord) -> RecordSummary:
    """A record's summary, without unpickling a packed one."""
    return record.summary if isinstance(record, PackedRecord) else RecordSummary.of(record)


class _Unpickled(Generic[T]):
    """A field the loader may give as the pickled bytes of a cached parse (``Document.blocks``,
    bytes; ``Document.record``, a :class:`PackedRecord`): unpickled the first time it is read. A
    rebuild of a large catalogue reads every document but renders few; unpickling the bodies
    and records of the others was most of its reading time. (A data descriptor: the frozen
    dataclass's ``__init__`` sets it like any field.)"""

    def __init__(self, *default: T, name: str = "") -> None:
        self.default = default  # () or (the default,): a field without one is required
        if name:  # set on the class after it was made: no __set_name__ call
            self.__set_name__(object, name)

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.private = f"_{name}"

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> T: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> T:
        if obj is None:
            if not self.default:
                raise AttributeError(self.name)  # for dataclasses: the field has no default
            return self.default[0]
        value = obj.__dict__[self.private]
        if isinstance(value, PackedRecord):
            value = value.data
        if isinstance(value, bytes):
            value = pickle.loads(value)  # the build's own cache, see cache.Store
            obj.__dict__[self.private] = value
        return value  # type: ignore[no-any-return]

    def __set__(self, obj: object, value: T | bytes | PackedRecord) -> None:
        obj.__dict__[self.private] = value


@dataclass(frozen=True)
class Document:
    """One service in one language: its record, its body and where it came from."""

    record: ServiceRecord  # or a PackedRecord, unpickled when read (see below)
    lang: str
    source: str  # content-relative posix path, e.g. "en/parking-permit.md"
    span: SourceSpan  # display path of the file, line 1
    fingerprint: str  # sha256 of the source bytes, for caches and translation freshness
    blocks: _Unpickled[tuple[Block, ...]] = _Unpickled(())
    body_fingerprint: str = ""  # sha256 of the body text alone (translation freshness)
    images: tuple[str, ...] = field(default=())
    #: set for every document of a :class:`~publisher.writers.Site`; ``None`` outside one
    freshness: Freshness | None = None
    #: sha256 of the record alone (what site-wide lists show), when the loader knows it
    record_fingerprint: str = field(default="", repr=False)

    @property
    def id(self) -> str:
        return self.summary.id

    @property
    def summary(self) -> RecordSummary:
        """What site-wide outputs show of the record: read without unpickling a packed one."""
        known = self.__dict__.get("_summary")
        if known is None:
            known = self.__dict__["_summary"] = summary_of(self.__dict__["_record"])
        return known

    def record_digest(self) -> str:
        """A digest of the record alone: unchanged by an edit of the body text."""
        return self.record_fingerprint or hashlib.sha256(
            self.record.model_dump_json().encode()).hexdigest()

    def with_freshness(self, freshness: Freshness) -> Document:
        """The same document with ``freshness``; its blocks are copied as they are (bytes not
        yet unpickled stay so, which ``dataclasses.replace`` would not leave them)."""
        other = copy.copy(self)
        object.__setattr__(other, "freshness", freshness)
        return other

    def headings(self) -> Iterator[Heading]:
        for block in walk_blocks(self.blocks):
            if isinstance(block, Heading):
                yield block


# set after the class is made: a descriptor in the class body would be taken for a default
setattr(Document, "record", _Unpickled(name="record"))  # noqa: B010


def walk_blocks(blocks: tuple[Block, ...]) -> Iterator[Block]:
    """Every block, depth first, in reading order."""
    for block in blocks:
        yield block
        if isinstance(block, BulletList | OrderedList):
            for item in block.items:
                yield from walk_blocks(item.blocks)
        elif isinstance(block, Note | Quote):
            yield from walk_blocks(block.blocks)


def walk_inlines(inlines: tuple[Inline, ...]) -> Iterator[Inline]:
    for node in inlines:
        yield node
        if isinstance(node, Emphasis | Strong | Link):
            yield from walk_inlines(node.children)


def block_inlines(block: Block) -> Iterator[tuple[Inline, ...]]:
    """The inline runs that belong directly to a block (not to nested blocks)."""
    if isinstance(block, Heading | Paragraph):
        yield block.children
    elif isinstance(block, Table):
        for cell in block.head:
            yield cell.children
        for row in block.rows:
            for cell in row:
                yield cell.children


def plain_text(inlines: tuple[Inline, ...]) -> str:
    """The text a reader sees, without markup (image alt text stands in for the image)."""
    return expanded_text(inlines, None)


def expanded_text(inlines: tuple[Inline, ...], seen: set[str] | None) -> str:
    """:func:`plain_text`, except that with ``seen`` (the abbreviations already met in the
    document, updated here) an abbreviation met for the first time is spelt out before it:
    "Jobseeker's Allowance (JSA)". Braille readers and listeners have no title to look up."""
    parts: list[str] = []
    for node in inlines:
        if isinstance(node, Text | Code):
            parts.append(node.text)
        elif isinstance(node, LineBreak):
            parts.append(" ")
        elif isinstance(node, Image):
            parts.append(node.alt)
        elif isinstance(node, Abbreviation):
            if seen is None or node.text in seen:
                parts.append(node.text)
            else:
                seen.add(node.text)
                parts.append(f"{node.title} ({node.text})")
        else:
            parts.append(expanded_text(node.children, seen))
    return "".join(parts)
