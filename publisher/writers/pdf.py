"""Print, large print and poster PDFs (tagged PDF/UA-1) of a service, through WeasyPrint.

In: a :class:`~publisher.model.Document` and its :class:`~publisher.writers.RenderContext`.
Out: three :class:`~publisher.writers.Artifact` values — an A4 print document, an A4 large print
document (18 pt and up, sans-serif, no hyphenation) and an A3 poster with a QR code to the web
page. Each is HTML from the Jinja2 templates under ``formats/pdf/templates/`` laid out by
WeasyPrint with the variant's stylesheet (``formats/pdf/*.css``), tagged, with the language, title,
author, subject and bookmarks, and byte-for-byte deterministic: the dates come from
``ctx.build_time`` and the file identifier from the artifact's address.

The only files read are the templates and stylesheets under ``formats/pdf/`` and the images the
document uses under the content folder; any other URL (network included) is refused, so a build
never depends on the network.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import mimetypes
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

import jinja2
import segno
from markupsafe import Markup, escape

from publisher.cache import TEMPLATES
from publisher.diagnostics import SourceSpan
from publisher.model import CHANNEL_LABELS, Document, Heading, day_runs, plain_text
from publisher.translation import current_version_link, outdated_notice
from publisher.writers import N_, Artifact, Options, RenderContext, Writer, artifact_path, pdfua
from publisher.writers.blocks_html import Links, render_blocks

FORMAT_DIR = "pdf"
MEDIA_TYPE = "application/pdf"
#: WeasyPrint logs what it could not do (a CSS rule ignored, an image not loaded); these loggers
#: are read during a render and turned into diagnostics.
_WEASYPRINT_LOGGERS = ("weasyprint", "weasyprint.progress")


class PdfOptions(Options):
    """``formats: pdf:`` in ``site.yaml``."""

    print: bool = True
    large_print: bool = True
    poster: bool = True
    #: a contents list is printed when the document has more headings than this
    contents_after_headings: int = 4


@dataclass(frozen=True)
class Variant:
    """One of the three PDFs made from a service."""

    format: str
    suffix: str
    label: str
    template: str
    stylesheet: str
    option: str  # the PdfOptions switch that turns it on


VARIANTS: tuple[Variant, ...] = (
    Variant("pdf-print", ".pdf", N_("Printable PDF (A4)"), "document.html.j2", "print.css",
            "print"),
    Variant("pdf-large-print", "-large-print.pdf", N_("Large print PDF"), "document.html.j2",
            "large-print.css", "large_print"),
    Variant("pdf-poster", "-poster.pdf", N_("Poster (A3 PDF)"), "poster.html.j2", "poster.css",
            "poster"),
)

# ---------------------------------------------------------------- body: model blocks -> HTML


def body_html(doc: Document, ctx: RenderContext) -> Markup:
    """The body through the HTML formats' shared renderer; a PDF leaves its folder, so links to
    other services point at their web pages and images are read from the content folder."""

    def service_url(service: str, anchor: str | None) -> str:
        return web_url(ctx, doc.lang, service) + (f"#{anchor}" if anchor else "")

    links = Links(
        service_url=service_url,
        image_url=lambda src: (ctx.content_dir / src).resolve().as_uri(),
        locale=ctx.locale,
        # a visually hidden "(external site)" would be printed: paper has no hidden text
        external_marker=False,
    )
    return render_blocks(doc.blocks, links)


# ---------------------------------------------------------------- front matter, for people


def web_url(ctx: RenderContext, lang: str, service: str) -> str:
    """The service's web page, as printed under the poster's QR code."""
    return f"{ctx.config.base_url}{lang}/{service}/"




@dataclass(frozen=True)
class Fact:
    """One line of the front matter essentials, plain text: "label – detail: value"."""

    label: str
    value: str
    detail: str = ""
    href: str | None = None
    #: phone numbers, addresses for machines and URLs read left to right in every language
    ltr: bool = False
    #: a postal address keeps its own direction inside a line of the other (an address in
    #: Latin letters on an Arabic page), so it is isolated
    isolate: bool = False
    address: str = ""  # a postal address after the value ("Town Hall, 1 place …")

    def html(self, pattern: str = "{label}: {value}") -> Markup:
        """The fact as HTML; ``pattern`` is the translated "{label}: {value}" (French puts a
        space before the colon)."""
        if self.ltr:
            value = Markup('<bdi dir="ltr">%s</bdi>') % self.value
        elif self.isolate:
            value = Markup("<bdi>%s</bdi>") % self.value
        else:
            value = Markup("%s") % self.value
        if self.address:
            value += Markup(", <bdi>%s</bdi>") % self.address
        if self.href:
            value = Markup('<a href="%s">%s</a>') % (self.href, value)
        if not self.label:
            return value
        detail = Markup(" – %s") % self.detail if self.detail else Markup("")
        label = Markup("<strong>%s</strong>%s") % (self.label, detail)
        return Markup(escape(pattern)).format(label=label, value=value)


@dataclass(frozen=True)
class Section:
    """A titled group of facts (How to apply, Cost, Opening hours …) with a stable anchor."""

    anchor: str
    title: str
    facts: tuple[Fact, ...]
    table: bool = False  # fees read best as a two-column table


def _day_ranges(days: tuple[str, ...], ctx: RenderContext) -> str:
    """"Monday–Friday, Sunday": consecutive days become a range, in the week's order."""
    parts = []
    for run in day_runs(days):
        first, last = ctx.locale.day_name(run[0]), ctx.locale.day_name(run[-1])
        parts.append(first if len(run) == 1 else f"{first}–{last}")
    return ", ".join(parts)


def _phone_href(phone: str) -> str:
    return "tel:" + phone.replace(" ", "")


def essentials(doc: Document, ctx: RenderContext) -> tuple[Section, ...]:
    """The service's practical facts in the reading order of the print documents."""
    record = doc.record
    locations = {location.id: location for location in record.locations}
    apply: list[Fact] = []
    for channel in record.channels:
        label, detail = ctx._(CHANNEL_LABELS[channel.type]), channel.label or ""
        if channel.url:
            apply.append(Fact(label, channel.url, detail, channel.url, ltr=True))
        elif channel.phone:
            apply.append(Fact(label, channel.phone, detail, _phone_href(channel.phone), ltr=True))
        elif channel.email:
            apply.append(Fact(label, channel.email, detail, f"mailto:{channel.email}", ltr=True))
        elif channel.location and channel.location in locations:
            place = locations[channel.location]
            apply.append(Fact(label, place.name, detail, address=place.address))
        else:
            apply.append(Fact(label, channel.address or "", detail, isolate=True))
    sections = [Section("pdf-how-to-apply", ctx._("How to apply"), tuple(apply))]
    sections.append(Section("pdf-cost", ctx._("Cost"), tuple(
        Fact(fee.label, ctx.locale.money(fee.amount, fee.currency)) for fee in record.fees
    ) or (Fact("", ctx._("Free") if record.cost == "free"
                else ctx._("Not stated (see the text)")),), table=bool(record.fees)))
    sections.append(Section("pdf-processing-time", ctx._("Processing time"),
                            (Fact("", record.processing_time),)))
    if record.opening_hours:
        sections.append(Section("pdf-opening-hours", ctx._("Opening hours"), tuple(
            Fact(_day_ranges(hours.days, ctx),
                 f"{ctx.locale.time(hours.opens)}–{ctx.locale.time(hours.closes)}")
            for hours in record.opening_hours
        )))
    if record.locations:
        sections.append(Section("pdf-where", ctx._("Where to go"), tuple(
            Fact(location.name, location.address, isolate=True)
            for location in record.locations
        )))
    contact: list[Fact] = []
    if record.contact.phone:
        contact.append(Fact(ctx._("Phone"), record.contact.phone, "",
                            _phone_href(record.contact.phone), ltr=True))
    if record.contact.email:
        contact.append(Fact(ctx._("Email"), record.contact.email, "",
                            f"mailto:{record.contact.email}", ltr=True))
    if record.contact.url:
        contact.append(Fact(ctx._("Website"), record.contact.url, "",
                            record.contact.url, ltr=True))
    sections.append(Section("pdf-contact", ctx._("Contact"), tuple(contact)))
    return tuple(sections)


# ---------------------------------------------------------------- CSS built from translations


def css_string(text: str) -> str:
    """A CSS string literal holding ``text`` verbatim, safe inside ``<style>``."""
    out = []
    for char in text:
        if char in '"\\' or char == "<" or ord(char) < 0x20 or char == "\x7f":
            out.append(f"\\{ord(char):x} ")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def page_counter_content(template: str) -> str:
    """``"Page {page} of {pages}"`` (translated) as a CSS ``content`` value with counters."""
    parts: list[str] = []
    rest = template
    while rest:
        cut = min((index for index in (rest.find("{page}"), rest.find("{pages}")) if index >= 0),
                  default=-1)
        if cut < 0:
            parts.append(css_string(rest))
            break
        if cut:
            parts.append(css_string(rest[:cut]))
        name = "pages" if rest.startswith("{pages}", cut) else "page"
        parts.append(f"counter({name})")
        rest = rest[cut + len(name) + 2:]
    return " ".join(parts) or '""'


# ---------------------------------------------------------------- fetching and logging


@cache
def _fetcher_class() -> type[Any]:
    """WeasyPrint is imported when a PDF is made, not when publisher starts (it takes most of a
    second, and an html-only build or a no-op rebuild never needs it)."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class LocalFetcher(URLFetcher):  # type: ignore[misc]
        """Serves files under the allowed folders and ``data:`` URLs; refuses everything else."""

        def __init__(self, roots: tuple[Path, ...]) -> None:
            super().__init__()
            self.roots = tuple(root.resolve() for root in roots)

        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            parts = urlsplit(url)
            if parts.scheme != "file":
                raise ValueError(f"not fetched (only local files are read): {url}")
            path = Path(unquote(parts.path)).resolve()
            if not any(path.is_relative_to(root) for root in self.roots):
                raise ValueError(f"not fetched (outside the content and formats folders): {url}")
            media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(path.as_uri(), path.read_bytes(),
                                      headers={"Content-Type": media_type})

    return LocalFetcher


class _LogCollector(logging.Handler):
    """WeasyPrint's warnings and errors during one render."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class _CollectLogs:
    def __init__(self) -> None:
        self.collector = _LogCollector()

    def __enter__(self) -> _LogCollector:
        for name in _WEASYPRINT_LOGGERS:
            logging.getLogger(name).addHandler(self.collector)
        return self.collector

    def __exit__(self, *exc: object) -> None:
        for name in _WEASYPRINT_LOGGERS:
            logging.getLogger(name).removeHandler(self.collector)


# ---------------------------------------------------------------- templates and rendering


@cache
def _environment(templates: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=TEMPLATES,
    )


def _w3c_time(moment: dt.datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def qr_code_data_uri(url: str, title: str) -> str:
    """The QR code of ``url`` as an SVG ``data:`` URI (vector, so it prints sharp at any size)."""
    code = segno.make(url, error="m")
    svg = code.svg_inline(scale=4, border=4, title=title, omitsize=False)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def has_introduction(doc: Document) -> bool:
    """Whether the body opens with text before its first heading: that text then gets the
    heading "About this service", so that it does not read as part of the last key fact."""
    return bool(doc.blocks) and not isinstance(doc.blocks[0], Heading)


def contents_entries(doc: Document, sections: tuple[Section, ...],
                     ctx: RenderContext) -> tuple[tuple[str, str, int], ...]:
    """(anchor, text, level) of every heading listed in the contents, in reading order."""
    entries = [("pdf-key-facts", ctx._("Key facts"), 2)]
    entries += [(section.anchor, section.title, 3) for section in sections]
    if has_introduction(doc):
        entries.append(("pdf-about", ctx._("About this service"), 2))
    entries += [(heading.anchor, plain_text(heading.children), heading.level)
                for heading in doc.headings() if heading.level <= 3]
    return tuple(entries)


@dataclass(frozen=True)
class RenderedPdf:
    data: bytes
    pages: int
    html: str
    logs: tuple[str, ...]


def html_for(doc: Document, ctx: RenderContext, variant: Variant) -> str:
    """The HTML WeasyPrint lays out for ``variant`` (also used by the benchmark)."""
    options = ctx.options if isinstance(ctx.options, PdfOptions) else PdfOptions()
    base = ctx.assets(FORMAT_DIR)
    sections = essentials(doc, ctx)
    headings = list(doc.headings())
    url = web_url(ctx, doc.lang, doc.id)
    title = doc.record.title
    if variant.format == "pdf-large-print":
        title = ctx._("{title} (large print)").format(title=title)
    elif variant.format == "pdf-poster":
        title = ctx._("{title} (poster)").format(title=title)
    template = _environment(base / "templates").get_template(variant.template)
    return template.render(
        doc=doc,
        record=doc.record,
        lang=doc.lang,
        direction=ctx.language.direction,
        variant=variant.format,
        document_title=title,
        organisation=ctx.config.organisation_name(doc.lang),
        created=_w3c_time(ctx.build_time),
        stylesheet=(base / variant.stylesheet).resolve().as_uri(),
        page_content=Markup(page_counter_content(ctx._("Page {page} of {pages}"))),
        header_start=Markup(css_string(ctx.config.organisation_name(doc.lang))),
        header_end=Markup(css_string(doc.record.title)),
        sections=sections,
        contents=(contents_entries(doc, sections, ctx)
                  if len(headings) > options.contents_after_headings else ()),
        body=body_html(doc, ctx),
        about=has_introduction(doc),
        last_reviewed=ctx.locale.date(doc.record.last_reviewed),
        web_url=url,
        qr_code=(qr_code_data_uri(url, ctx._("QR code")) if variant.format == "pdf-poster"
                 else ""),
        outdated=_outdated(doc, ctx),
        _=ctx._,
    )


def _outdated(doc: Document, ctx: RenderContext) -> dict[str, str] | None:
    """The first-page notice of an outdated translation, with the address of its source."""
    notice = outdated_notice(doc, ctx.locale)
    if notice is None or doc.freshness is None:
        return None
    return {"text": notice, "link": current_version_link(doc, ctx.locale),
            "url": web_url(ctx, doc.freshness.source_lang, doc.id)}


def pdf_identifier(doc: Document, ctx: RenderContext, variant: Variant) -> bytes:
    """A file identifier that names the document, not the moment: the same service, language
    and format always get the same one (the second half of /ID hashes the bytes)."""
    address = f"{ctx.config.base_url}{artifact_path(doc, variant.suffix)}"
    return hashlib.md5(address.encode("utf-8"), usedforsecurity=False).hexdigest().encode()


def _reading_direction(direction: str) -> Any:
    """A right-to-left document says so to viewers (``/ViewerPreferences /Direction /R2L``):
    they then lay out facing pages and scroll in its reading order."""

    def finish(document: Any, pdf: Any) -> None:
        if direction != "rtl":
            return
        preferences = pdf.catalog.get("ViewerPreferences")
        if preferences is None:
            import pydyf  # weasyprint's PDF writer

            preferences = pdf.catalog["ViewerPreferences"] = pydyf.Dictionary({})
        preferences["Direction"] = "/R2L"

    return finish


def render_pdf(html: str, ctx: RenderContext, identifier: bytes) -> RenderedPdf:
    """Lay out ``html`` and write it as tagged PDF/UA-1."""
    import weasyprint

    fetcher = _fetcher_class()((ctx.assets(FORMAT_DIR), ctx.content_dir))
    with _CollectLogs() as logs:
        document = weasyprint.HTML(
            string=html, base_url=ctx.assets(FORMAT_DIR).resolve().as_uri() + "/",
            url_fetcher=fetcher,
        ).render()
        data = document.write_pdf(pdf_variant="pdf/ua-1", pdf_identifier=identifier,
                                  finisher=_reading_direction(ctx.language.direction))
    # WeasyPrint has no option for these (see publisher/writers/pdfua.py): without them no
    # PDF passes a PDF/UA-1 validator
    return RenderedPdf(pdfua.repair(data), len(document.pages), html, tuple(logs.messages))


class PdfWriter(Writer):
    """The print, large print and poster PDFs of every service."""

    name: ClassVar[str] = "pdf"
    options_model: ClassVar[type[Options]] = PdfOptions
    task_cost: ClassVar[float] = 2.0  # seconds for a service's three PDFs

    def render(self, doc: Document, ctx: RenderContext) -> list[Artifact]:
        options = ctx.options if isinstance(ctx.options, PdfOptions) else PdfOptions()
        artifacts = []
        for variant in self.variants(options):
            rendered = render_pdf(html_for(doc, ctx, variant), ctx,
                                  pdf_identifier(doc, ctx, variant))
            self._report(doc, ctx, variant, rendered)
            artifacts.append(Artifact(
                path=artifact_path(doc, variant.suffix),
                data=rendered.data,
                media_type=MEDIA_TYPE,
                format=variant.format,
                service=doc.id,
                lang=doc.lang,
                label=variant.label,
                meta={"pages": rendered.pages},
            ))
        return artifacts

    def variants(self, options: PdfOptions) -> Iterator[Variant]:
        return (variant for variant in VARIANTS if getattr(options, variant.option))

    def _report(self, doc: Document, ctx: RenderContext, variant: Variant,
                rendered: RenderedPdf) -> None:
        span: SourceSpan = doc.span
        for message in rendered.logs:
            ctx.diagnostics.warning(
                "P301",
                f"the {variant.format} layout engine reported: {message}",
                span,
                "check the images and links of this service; if the message names a "
                "stylesheet, report it to the people who maintain formats/pdf/",
            )
        if variant.format == "pdf-poster" and rendered.pages > 1:
            ctx.diagnostics.warning(
                "P302",
                f"the poster does not fit on one A3 page ({rendered.pages} pages)",
                span,
                "shorten the summary or the list of ways to apply, or move details to the body",
            )

    def engine_version(self) -> str:
        return (f"weasyprint {version('weasyprint')}; pydyf {version('pydyf')}; "
                f"segno {segno.__version__}; pikepdf {version('pikepdf')}; "
                f"fonttools {version('fonttools')}")


WRITER = PdfWriter()
