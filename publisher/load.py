"""The content folder → a validated :class:`~publisher.writers.Site`.

In: ``content/site.yaml`` and ``content/<lang>/**/*.md``. Out: every service in every language as
a :class:`~publisher.model.Document`, or ``None`` with all the problems of the run in
``diagnostics`` (codes ``C1xx`` for files and front matter, ``C2xx`` for the body, ``S1xx`` for the
configuration). What depends on a value that already failed is not checked again (a body is not
parsed when its front matter is invalid).
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import cast
from urllib.parse import urlsplit

from publisher.cache import FileTable, Store, code_version, digest
from publisher.config import CONFIG_NAME, SiteConfig, load_config, yaml_hazard
from publisher.diagnostics import Diagnostics, SourceSpan, did_you_mean, display_path
from publisher.model import (
    Block,
    Document,
    Link,
    PackedRecord,
    RecordSummary,
    ServiceRecord,
    block_inlines,
    summary_of,
    walk_blocks,
    walk_inlines,
)
from publisher.parse import SITE_PAGES, WEB_SCHEMES, BodyParser, Observation, observe
from publisher.translation import source_revision
from publisher.writers import Site, registry
from publisher.yamlsource import parse_yaml, validate

RECORD_CODES = {
    "missing": "C102", "unknown": "C103", "type": "C104", "date": "C105", "value": "C106"
}
#: ids that would collide with pages the site makes in every language folder
RESERVED_IDS = SITE_PAGES
_FENCE = re.compile(r"^---[ \t]*$")
_CHANNEL_NEEDS = {
    "online": "url",
    "phone": "phone",
    "email": "email",
    "post": "address",
    "in-person": "location",
}


@dataclass
class _Source:
    path: Path  # on disk
    rel: PurePosixPath  # content-relative
    shown: str  # as shown to the user
    lang: str
    raw: bytes
    text: str = ""
    record: ServiceRecord | PackedRecord | None = None  # packed when it comes from the cache
    body: str = ""
    body_line: int = 1  # file line of the body's first line
    key: str = ""  # in the cache: the file's bytes, path, configuration and code
    sha256: str = ""  # of ``raw``, known before it is read when the file did not change
    record_fingerprint: str = ""  # sha256 of the validated record alone
    body_fingerprint: str = ""  # sha256 of the body's text, stripped


def load_site(
    content_dir: Path,
    diagnostics: Diagnostics,
    config_path: Path | None = None,
    store: Store | None = None,
    known: FileTable | None = None,
    no_links: bool = False,
) -> Site | None:
    """Load and validate everything; ``None`` when any error was found (all are reported).

    With a ``store``, a file whose bytes (and the configuration and code) are unchanged is not
    parsed again: its record, blocks and diagnostics come from the cache, as long as what its
    parse learnt of the other files (the services its links name, the images it shows) still
    holds. Reading a large catalogue is then a matter of reading its bytes. ``known``: the
    build's table of the content files as it just checked them (size, time, sha256), so that
    an unchanged file is not read or looked at again; ``no_links``: that table lists every file
    of the folder, which holds no symbolic link, so it answers which files exist."""
    # The model is made of many small objects: Python's cycle collector would run hundreds
    # of times while they are built or unpickled, for nothing (they hold no cycles).
    collecting = gc.isenabled()
    gc.disable()
    try:
        site, parsed = _load_site(content_dir, diagnostics, config_path, store or Store(None),
                                  known or {}, no_links)
        if parsed > COLLECT_AFTER_PARSES:
            # Parsing leaves garbage with cycles (markdown-it's token trees): collected once
            # here, while the site is young, rather than kept (the build freezes the site for
            # the collector, garbage and all: 60 MiB more in every worker of a cold build). A
            # rebuild that parsed few files does not pay for a scan of the whole site.
            gc.collect()
        return site
    finally:
        if collecting:
            gc.enable()


#: more bodies parsed than this, and the loader collects their garbage before it returns
COLLECT_AFTER_PARSES = 100


def _load_site(
    content_dir: Path, diagnostics: Diagnostics, config_path: Path | None, store: Store,
    known: FileTable, no_links: bool,
) -> tuple[Site | None, int]:
    """The site (``None`` on errors) and how many bodies were parsed anew."""
    if not content_dir.is_dir():
        diagnostics.error(
            "C001",
            f"the content folder {display_path(content_dir)} does not exist",
            None,
            "pass the folder of your Markdown files with --content",
        )
        return None, 0
    config = load_config(
        config_path or content_dir / CONFIG_NAME,
        diagnostics,
        {name: writer.options_model for name, writer in registry().items()},
    )
    if config is None:
        return None, 0
    sources = _discover(content_dir, config, diagnostics, no_links)
    config_key = digest(code_version(), config.model_dump_json())
    for source in sources:
        _read_cached(source, config, config_key, store, diagnostics,
                     known.get(source.rel.as_posix()))
    records = [s for s in sources if s.record is not None]
    _check_records(records, config, diagnostics)
    by_path = {s.rel: summary_of(s.record).id for s in records if s.record is not None}
    documents: dict[tuple[str, str], Document] = {}
    facts: dict[tuple[str, str], _Facts] = {}
    folder = _Folder(content_dir, by_path, frozenset(known) if no_links else None)
    for source in records:
        doc, fact = _parse_body_cached(source, folder, config, store, diagnostics)
        documents[(doc.id, doc.lang)] = doc
        facts[(doc.id, doc.lang)] = fact
    _check_anchors(documents, facts, diagnostics)
    _check_translations(documents, config, diagnostics)
    if diagnostics.has_errors():
        return None, folder.parsed
    revisions = {key[0]: f.revision for key, f in facts.items() if f.revision is not None}
    return Site(config, documents, revisions), folder.parsed


def _discover(content_dir: Path, config: SiteConfig, diagnostics: Diagnostics,
              no_links: bool = False) -> list[_Source]:
    sources: list[_Source] = []
    root = content_dir.resolve()
    shown_root = display_path(content_dir)
    # os.walk rather than Path.rglob: pathlib's objects were most of the time of a rebuild's
    # look at a large catalogue; like rglob, it does not descend into linked folders, so only
    # the file itself can be a link
    top = os.fspath(content_dir)
    found: list[str] = []
    for directory, _, files in os.walk(top):
        base = os.path.relpath(directory, top).replace(os.sep, "/")
        found.extend(name if base == "." else f"{base}/{name}"
                     for name in files if name.endswith(".md"))
    found.sort(key=lambda rel: rel.split("/"))  # the order of sorted(Path)
    for rel_text in found:
        path = content_dir / rel_text
        rel = PurePosixPath(rel_text)
        link = not no_links and os.path.islink(path)
        shown = (display_path(path) if link
                 else rel.as_posix() if shown_root == "." else f"{shown_root}/{rel}")
        if link and not path.resolve().is_relative_to(root):
            diagnostics.error(
                "C206",
                "this file is a symbolic link to outside the content folder",
                SourceSpan(shown),
                "copy the file into the content folder instead of linking to it",
            )
            continue
        if len(rel.parts) < 2:
            diagnostics.error(
                "C107",
                "a service file must be inside a language folder",
                SourceSpan(shown),
                f"move it to {content_dir.name}/{config.default_language}/{rel.name} "
                "(or another language folder)",
            )
            continue
        lang = rel.parts[0]
        if lang not in config.language_codes:
            hint = did_you_mean(lang, config.language_codes)
            diagnostics.error(
                "C107",
                f"unknown language '{lang}' (the folder name gives the language)",
                SourceSpan(shown),
                hint or f"add '{lang}' to 'languages' in {CONFIG_NAME}, or use one of: "
                f"{', '.join(config.language_codes)}",
            )
            continue
        sources.append(_Source(path, rel, shown, lang, b""))
    return sources


def _read_cached(source: _Source, config: SiteConfig, config_key: str, store: Store,
                 diagnostics: Diagnostics, known: tuple[int, int, str] | None = None) -> None:
    """:func:`_read` through the cache, keyed by the file's bytes (their ``sha256`` from the
    content table when the caller knows it), path and configuration."""
    size, _, sha256 = known if known is not None else (source.path.stat().st_size, 0, None)
    if size > config.max_file_bytes:
        _read(source, config, diagnostics)
        return
    if sha256 is None:
        raw = source.path.read_bytes()
        sha256 = hashlib.sha256(raw).hexdigest()
    source.sha256 = sha256
    source.key = digest("front matter", config_key, source.shown, source.rel.as_posix(), sha256)
    cached = store.get_object("parsed", source.key)
    if cached is not None:
        (packed, summary, source.body, source.body_line, found,
         source.record_fingerprint, source.body_fingerprint) = cached
        # the record stays pickled until something reads more of it than its summary
        source.record = PackedRecord(packed, summary)
        diagnostics.extend(found)
        return
    found_here = Diagnostics()
    _read(source, config, found_here)
    diagnostics.extend(found_here.items)
    actual = hashlib.sha256(source.raw).hexdigest()
    if source.raw and actual != sha256:  # changed since the caller looked: key what was read
        source.sha256 = actual
        source.key = digest("front matter", config_key, source.shown, source.rel.as_posix(),
                            actual)
    if isinstance(source.record, ServiceRecord):
        source.record_fingerprint = hashlib.sha256(
            source.record.model_dump_json().encode()).hexdigest()
        source.body_fingerprint = _body_fingerprint(source.body)
        packed = pickle.dumps(source.record, protocol=pickle.HIGHEST_PROTOCOL)
        store.put_object("parsed", source.key, (packed, RecordSummary.of(source.record),
                                                source.body, source.body_line, found_here.items,
                                                source.record_fingerprint,
                                                source.body_fingerprint))


def _read(source: _Source, config: SiteConfig, diagnostics: Diagnostics) -> None:
    span = SourceSpan(source.shown)
    size = source.path.stat().st_size
    if size > config.max_file_bytes:
        diagnostics.error(
            "C112",
            f"the file is {size:,} bytes, over the limit of {config.max_file_bytes:,}",
            span,
            "split the service description, or raise max_file_bytes in site.yaml",
        )
        return
    raw = source.path.read_bytes()
    if not raw.strip():
        diagnostics.error(
            "C110", "the file is empty", span, "write the front matter and the description"
        )
        return
    if b"\x00" in raw:
        diagnostics.error(
            "C111",
            "the file is binary, not text",
            span,
            "service descriptions are Markdown text files; remove this file",
        )
        return
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        diagnostics.error(
            "C100",
            f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x})",
            span.at(line, column),
            "save the file as UTF-8 in your editor",
        )
        return
    source.raw = raw
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    source.text = text
    lines = text.split("\n")
    if not lines or not _FENCE.match(lines[0]):
        diagnostics.error(
            "C109",
            "the file does not start with front matter",
            span.at(1, 1),
            "begin the file with a line '---', the service fields, and another line '---'",
        )
        return
    end = next((i for i in range(1, len(lines)) if _FENCE.match(lines[i])), None)
    if end is None:
        diagnostics.error(
            "C109",
            "the front matter is not closed",
            span.at(1, 1),
            "add a line '---' after the last service field",
        )
        return
    front_matter = "\n".join(lines[1:end])
    if yaml_hazard(front_matter, span.at(2), diagnostics, "C101"):
        return
    located = parse_yaml(front_matter, span.at(2), diagnostics, "C101")
    if located is None:
        return
    record = validate(ServiceRecord, located, diagnostics, RECORD_CODES, "front matter")
    if record is None:
        return
    before = len(diagnostics.errors)
    if record.id in RESERVED_IDS:
        diagnostics.error(
            "C106",
            f"the service id '{record.id}' is reserved for the site's own pages",
            located.span(("id",)),
            "choose another id",
        )
    if record.topic not in config.topics:
        diagnostics.error(
            "C113",
            f"unknown topic '{record.topic}'",
            located.span(("topic",)),
            did_you_mean(record.topic, config.topics)
            or f"use one of: {', '.join(sorted(config.topics))} (or add it to site.yaml)",
        )
    location_ids = {location.id for location in record.locations}
    for index, channel in enumerate(record.channels):
        needed = _CHANNEL_NEEDS[channel.type]
        if getattr(channel, needed) is None:
            diagnostics.error(
                "C102",
                f"the {channel.type} channel has no '{needed}'",
                located.span(("channels", index)),
                f"add '{needed}:' to this channel",
            )
        if channel.location is not None and channel.location not in location_ids:
            diagnostics.error(
                "C114",
                f"the channel names the location '{channel.location}', which is not listed "
                "under 'locations'",
                located.span(("channels", index, "location")),
                did_you_mean(channel.location, location_ids)
                or "add it under 'locations' with its id, name and address",
            )
    addresses: list[tuple[tuple[str | int, ...], str | None]] = [
        (("channels", i, "url"), c.url) for i, c in enumerate(record.channels)
    ]
    addresses.append((("contact", "url"), record.contact.url))
    for where, address in addresses:
        if address is not None and not _web_address(address):
            diagnostics.error(
                "C209",
                f"'{'.'.join(map(str, where))}' must be a web address starting with https:// "
                f"(not {address[:60]!r})",
                located.span(where),
                "write the full address of the page, for example https://www.example.org/apply",
            )
    if record.free_of_charge and record.fees:
        diagnostics.error(
            "C106",
            "the service is said to be free of charge ('free_of_charge: true') and to have fees",
            located.span(("free_of_charge",)),
            "remove 'free_of_charge' or the fees, whichever is wrong",
        )
    if record.contact.phone is None and record.contact.email is None:
        diagnostics.error(
            "C102",
            "the contact has neither a phone nor an email",
            located.span(("contact",)),
            "add 'phone:' or 'email:' under 'contact'",
        )
    if len(diagnostics.errors) > before:
        return
    source.record = record
    source.body = "\n".join(lines[end + 1 :])
    source.body_line = end + 2


def _web_address(address: str) -> bool:
    """An absolute http(s) address with a host: the only kind a page may link to from the
    front matter (a ``javascript:`` or ``data:`` address would run or show anything)."""
    parts = urlsplit(address.strip())
    return parts.scheme.lower() in WEB_SCHEMES and bool(parts.netloc) and address == address.strip()


def _check_records(records: list[_Source], config: SiteConfig, diagnostics: Diagnostics) -> None:
    seen: dict[tuple[str, str], _Source] = {}
    for source in list(records):
        assert source.record is not None
        key = (summary_of(source.record).id, source.lang)
        if key in seen:
            first = seen[key]
            diagnostics.error(
                "C108",
                f"the service id '{key[0]}' is used twice in '{key[1]}': also in {first.shown}",
                SourceSpan(source.shown, 2),
                "give each service its own id; translations share an id across languages only",
            )
            records.remove(source)
        else:
            seen[key] = source


class _Folder:
    """The content folder as the parser sees it, each question answered once per load."""

    def __init__(self, root: Path, by_path: dict[PurePosixPath, str],
                 files: frozenset[str] | None = None) -> None:
        self.root = root
        self.by_path = by_path
        #: every file of the folder (content-relative), when it holds no link: a cached parse's
        #: questions about files are then answered without asking the file system again
        self.files = files
        self.real_root = os.path.realpath(root)
        #: ``<lang>/<id>`` → id: the page paths of the services (root-relative links name them)
        self.pages = {f"{path.parts[0]}/{service}": service for path, service in by_path.items()
                      if len(path.parts) > 1}
        self.parsed = 0  # bodies parsed anew, not taken from the cache
        self._real_dirs: dict[str, str] = {}
        self._answers: dict[Observation, object] = {}

    def still_true(self, observed: list[Observation]) -> bool:
        for item in observed:
            question = (item[0], item[1], None)
            if question not in self._answers:
                self._answers[question] = self._ask(question)
            if self._answers[question] != item[2]:
                return False
        return True

    def _ask(self, question: Observation) -> object:
        kind, path, _ = question
        if kind == "page":
            return self.pages.get(path)
        if self.files is not None and kind in ("file", "inside"):
            # without links, a path the parser made (relative, no '..' left: see
            # BodyParser._inside_content) stays inside, and is a file if the table has it
            return kind == "inside" or path in self.files
        return observe(question, self.root, self.by_path.get, real_root=self.real_root,
                       real_dirs=self._real_dirs)


def _parse_body_cached(
    source: _Source,
    folder: _Folder,
    config: SiteConfig,
    store: Store,
    diagnostics: Diagnostics,
) -> tuple[Document, _Facts]:
    """The body's document and its facts, through the cache (under the file's key, from
    :func:`_read_cached`)."""
    body_key = digest("body", source.key)
    cached = store.get_object("parsed", body_key) if source.key else None
    if cached is not None:
        packed_blocks, images, facts, observed, found = cached
        if folder.still_true(observed):
            diagnostics.extend(found)
            # the blocks stay pickled until a writer reads them (see model._Unpickled)
            return _document(source, packed_blocks, images), facts
    found_here = Diagnostics()
    folder.parsed += 1
    parser = BodyParser(
        span=SourceSpan(source.shown, source.body_line - 1),
        source=source.rel,
        content_dir=folder.root,
        diagnostics=found_here,
        # a link to a file in another language folder is still a link to that service, and
        # the website links the service in the page's own language
        resolve_service=folder.by_path.get,
        max_line_chars=config.max_line_chars,
        max_table_columns=config.max_table_columns,
        links=config.links,
        base_url=config.base_url,
        resolve_page=folder.pages.get,
    )
    blocks = parser.parse(source.body)
    images = tuple(parser.images)
    diagnostics.extend(found_here.items)
    doc = _document(source, blocks, images)
    facts = _facts(doc, config.default_language)
    if source.key:
        packed_blocks = pickle.dumps(blocks, protocol=pickle.HIGHEST_PROTOCOL)
        store.put_object("parsed", body_key,
                         (packed_blocks, images, facts, parser.observed, found_here.items))
    return doc, facts


def _document(source: _Source, blocks: tuple[Block, ...] | bytes,
              images: tuple[str, ...]) -> Document:
    assert source.record is not None
    return Document(
        # a PackedRecord is unpickled by Document.record when read (see model._Unpickled)
        record=cast(ServiceRecord, source.record),
        lang=source.lang,
        blocks=blocks,
        source=source.rel.as_posix(),
        span=SourceSpan(source.shown, 1),
        fingerprint=source.sha256 or hashlib.sha256(source.raw).hexdigest(),
        body_fingerprint=source.body_fingerprint or _body_fingerprint(source.body),
        images=images,
        record_fingerprint=source.record_fingerprint,
    )


def _body_fingerprint(body: str) -> str:
    return hashlib.sha256(body.strip().encode()).hexdigest()


@dataclass(frozen=True)
class _Facts:
    """What the checks across files need of one document, kept with its cached parse: its
    headings' anchors, its links that name a section, its revision (for translations)."""

    anchors: frozenset[str]
    anchor_links: tuple[tuple[Link, SourceSpan], ...]
    revision: str | None  # only for documents in the source language


def _facts(doc: Document, source_lang: str) -> _Facts:
    links = tuple(
        (node, block.span)
        for block in walk_blocks(doc.blocks)
        for inlines in block_inlines(block)
        for node in walk_inlines(inlines)
        if isinstance(node, Link) and node.anchor is not None
        and node.kind in {"service", "anchor"}
    )
    return _Facts(frozenset(h.anchor for h in doc.headings()), links,
                  source_revision(doc) if doc.lang == source_lang else None)


def _check_anchors(documents: dict[tuple[str, str], Document],
                   facts: dict[tuple[str, str], _Facts], diagnostics: Diagnostics) -> None:
    for (service, lang), doc in sorted(documents.items()):
        for node, span in facts[(service, lang)].anchor_links:
            assert node.anchor is not None
            if node.kind == "service" and node.service is not None:
                if (node.service, lang) not in documents:
                    diagnostics.error(
                        "C207",
                        f"the link {node.target!r} points to the service "
                        f"'{node.service}', which has no '{lang}' version",
                        span,
                        "link to a service that exists in this language",
                    )
                    continue
                known = facts[(node.service, lang)].anchors
            else:
                known = facts[(doc.id, lang)].anchors
            if node.anchor not in known:
                diagnostics.error(
                    "C208",
                    f"the link {node.target!r} points to a section '#{node.anchor}' "
                    "that does not exist",
                    span,
                    did_you_mean(node.anchor, known)
                    or "link to a heading's anchor (its words in lower case, joined by '-')",
                )


def _check_translations(
    documents: dict[tuple[str, str], Document], config: SiteConfig, diagnostics: Diagnostics
) -> None:
    sources = {service for service, lang in documents if lang == config.default_language}
    for (service, lang), doc in sorted(documents.items()):
        if lang != config.default_language and service not in sources:
            diagnostics.error(
                "C116",
                f"this translation's source '{service}' does not exist in "
                f"'{config.default_language}'",
                doc.span.at(2),
                f"restore {config.default_language}/{service}.md, correct the id, or remove "
                "this translation",
            )
