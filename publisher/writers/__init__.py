"""Output formats: one module per format, one interface, registered by name.

In: a :class:`~publisher.model.Document` and a :class:`RenderContext` (site configuration,
language, clock, the formats folder, the other documents). Out: a list of :class:`Artifact` —
bytes and where they go under the output folder. Writers do no I/O of their own beyond reading
their assets under ``formats/<name>/``; the build writes the artifacts.

Every module in this package that defines ``WRITER`` is a format: adding a format means adding a
module and its assets, nothing else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from publisher.config import Language, SiteConfig
from publisher.diagnostics import Diagnostics
from publisher.i18n import N_ as N_
from publisher.i18n import Locale
from publisher.model import Document
from publisher.translation import with_freshness


@dataclass(frozen=True)
class Artifact:
    """One output file. ``label`` is an untranslated message id naming the format for people
    ("Large print PDF"); ``meta`` holds figures a listing may show (pages, duration)."""

    path: str  # posix, relative to the output root, never absolute, never with '..'
    data: bytes
    media_type: str
    format: str
    service: str | None = None
    lang: str | None = None
    label: str = ""
    listed: bool = True  # offered in the page's "this service in other formats" block
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @cached_property
    def sha256(self) -> str:
        """The data's sha256 (hex), computed once: the cache, the manifest, the comparison with
        the published output and the keys of the pages that list this file all need it."""
        stored = self.__dict__.get("_data")
        if isinstance(stored, StoredBytes):
            return stored.sha256
        return hashlib.sha256(self.data).hexdigest()

    @property
    def size(self) -> int:
        """``len(data)``, without reading bytes still in the cache."""
        stored = self.__dict__.get("_data")
        return stored.size if isinstance(stored, StoredBytes) else len(self.data)

    @property
    def from_cache(self) -> bool:
        """Whether the bytes came from the build's cache (rather than from a render of this
        build)."""
        return isinstance(self.__dict__.get("_data"), StoredBytes)

    @classmethod
    def stored(cls, data: StoredBytes, path: str, media_type: str, format: str,
               **fields: Any) -> Artifact:
        """An artifact whose bytes are in the build's cache, read the first time ``data`` is
        (a rebuild takes thousands of files from the cache and links nearly all of them from
        the published output, which needs their hash and size only)."""
        artifact = cls(path, b"", media_type, format, **fields)
        artifact.__dict__["_data"] = data
        return artifact


class CacheDamaged(OSError):
    """A file of the cache no longer holds what its name says."""

    def __init__(self, path: str) -> None:
        super().__init__(f"the cache file {path} is damaged: delete the cache folder (or "
                         "build with --no-cache) and build again")
        self.path = path


@dataclass(frozen=True)
class StoredBytes:
    """Bytes kept in a file of the cache under their sha256, with their size."""

    path: str
    sha256: str
    size: int

    def read(self) -> bytes:
        with open(self.path, "rb") as stored:
            data = stored.read()
        if hashlib.sha256(data).hexdigest() != self.sha256:
            raise CacheDamaged(self.path)
        return data


class _Data:
    """``Artifact.data``: bytes, or :class:`StoredBytes` read on first use (a data
    descriptor: the frozen dataclass's ``__init__`` sets it like any field)."""

    def __get__(self, obj: object | None, owner: type | None = None) -> bytes:
        if obj is None:
            raise AttributeError("data")
        value = obj.__dict__["_data"]
        if isinstance(value, StoredBytes):
            value = value.read()
            obj.__dict__["_data"] = value
        return value  # type: ignore[no-any-return]

    def __set__(self, obj: object, value: bytes) -> None:
        obj.__dict__["_data"] = value


# set after the class is made: a descriptor in the class body would be taken for a default
setattr(Artifact, "data", _Data())  # noqa: B010


@dataclass
class Site:
    """All documents of a build, for links between services and languages."""

    config: SiteConfig
    documents: dict[tuple[str, str], Document]  # (service id, lang) -> document
    #: the source-language revision of each service, when the loader already knows them
    revisions: Mapping[str, str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Every document knows how it stands against its source text, so that every format
        # (and every audit that rebuilds a format) can say that a translation is outdated.
        self.documents = with_freshness(self.documents, self.config.default_language,
                                        self.revisions)

    def status(self, service: str, lang: str) -> str:
        """'source', 'current', 'outdated', 'unknown' (no revision recorded) or 'missing'."""
        doc = self.documents.get((service, lang))
        if doc is None:
            return "missing"
        return doc.freshness.status if doc.freshness else "unknown"

    def get(self, service: str, lang: str) -> Document | None:
        return self.documents.get((service, lang))

    def translations(self, service: str) -> dict[str, Document]:
        """The languages in which a service exists, in the configuration's language order."""
        return {
            lang: self.documents[(service, lang)]
            for lang in self.config.language_codes
            if (service, lang) in self.documents
        }

    def in_language(self, lang: str) -> list[Document]:
        """The services of a language by title (a new list: the caller may change it)."""
        return list(self._by_language.get(lang, ()))

    @cached_property
    def _by_language(self) -> dict[str, list[Document]]:
        # sorted once: every site pass lists each language, some several times
        by_language: dict[str, list[Document]] = {}
        for (_, lang), doc in self.documents.items():
            by_language.setdefault(lang, []).append(doc)
        for docs in by_language.values():
            docs.sort(key=lambda doc: doc.summary.title.casefold())
        return by_language

    def service_ids(self) -> list[str]:
        return sorted({service for service, _ in self.documents})


#: ``memo(key, compute)``: see :attr:`RenderContext.memo`
Memo = Callable[[str, Callable[[], Any]], Any]


def compute_now(key: str, compute: Callable[[], Any]) -> Any:
    """The memo of a context without a cache: computes every time."""
    return compute()


@dataclass
class RenderContext:
    """What a writer may know besides the document."""

    config: SiteConfig
    language: Language
    locale: Locale
    build_time: dt.datetime
    formats_dir: Path
    content_dir: Path
    site: Site
    options: BaseModel
    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    alternates: tuple[Artifact, ...] = ()
    #: ``memo(key, compute)``: ``compute()``, or what it returned on an earlier build for the
    #: same ``key`` (which must name every input of ``compute`` besides the writer's own code,
    #: templates and engines). The build gives site passes one backed by its cache, so that a
    #: site-wide output made of parts (a search index per language) remakes only what changed.
    memo: Memo = compute_now

    @property
    def lang(self) -> str:
        return self.language.code

    def _(self, message: str) -> str:
        return self.locale.gettext(message)

    def assets(self, name: str) -> Path:
        return self.formats_dir / name


class Options(BaseModel):
    """A format's options under ``formats: <name>:`` in ``site.yaml``; writers extend it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = True


class Writer:
    """Base of every format writer; subclasses set ``name`` and override ``render``."""

    name: ClassVar[str]
    options_model: ClassVar[type[Options]] = Options
    #: page writers render after the others, so that they can list the other formats
    lists_alternates: ClassVar[bool] = False
    #: order of the site-wide pass: a writer that reads other writers' site pages (a search
    #: index of the HTML, say) sets a higher number than theirs
    site_order: ClassVar[int] = 0
    #: False for a writer that makes only site-wide outputs: the plan then has no task per
    #: (service, language) for it
    per_document: ClassVar[bool] = True
    #: roughly how long a task of this writer takes, against the others' (seconds a page,
    #: say): the engine hands out the longest tasks first, so that no worker is left with a
    #: long task at the end while the others wait
    task_cost: ClassVar[float] = 1.0

    def render(self, doc: Document, ctx: RenderContext) -> list[Artifact]:
        raise NotImplementedError

    def render_site(self, site: Site, contexts: Mapping[str, RenderContext],
                    artifacts: tuple[Artifact, ...]) -> list[Artifact]:
        """Site-wide outputs (home, catalogues…); ``artifacts`` is everything rendered so far."""
        return []

    def render_unread(self, site: Site, contexts: Mapping[str, RenderContext],
                      artifacts: tuple[Artifact, ...]) -> list[Artifact]:
        """Site-wide outputs that no other writer and no report reads (the search index): the
        engine makes them on a thread of their own as soon as every per-document task is
        done, beside the site passes and while the build writes the rest of the output;
        ``artifacts`` is every per-document output (no site page)."""
        return []

    @property
    def renders_unread(self) -> bool:
        """Whether this writer has unread site outputs (overrides :meth:`render_unread`)."""
        return type(self).render_unread is not Writer.render_unread

    def engine_version(self) -> str:
        """The versions of the engines behind this format (part of cache keys)."""
        return ""


def artifact_path(doc: Document, suffix: str) -> str:
    """``<lang>/<service>/<service>-<lang><suffix>``: every file of a service sits with its page
    and carries its language in its name, so a downloaded file still says what it is."""
    return f"{doc.lang}/{doc.id}/{doc.id}-{doc.lang}{suffix}"


def page_path(lang: str, service: str | None = None) -> str:
    return f"{lang}/{service}/index.html" if service else f"{lang}/index.html"


@cache
def registry() -> dict[str, Writer]:
    """Every format found in this package, by name."""
    writers: dict[str, Writer] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        writer = getattr(module, "WRITER", None)
        if isinstance(writer, Writer):
            writers[writer.name] = writer
    return writers
