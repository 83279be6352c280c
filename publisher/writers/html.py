"""The accessible website: a page per service per language, catalogues, a home page.

In: each :class:`~publisher.model.Document` with its context (the other formats already rendered
for it are in ``ctx.alternates``); for the site-wide pages, the whole :class:`Site`. Out: HTML
artifacts rendered with the Jinja2 templates in ``formats/html/templates`` and the stylesheet in
``formats/html/assets``. All URLs between pages are relative, so the output works from any
folder, from a web server or straight from disk.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
from markupsafe import Markup

from publisher.cache import TEMPLATES, digest
from publisher.config import SiteConfig
from publisher.i18n import Locale
from publisher.model import CHANNEL_LABELS, DAYS, Document
from publisher.translation import current_version_link, outdated_notice
from publisher.writers import (
    N_,
    Artifact,
    RenderContext,
    Site,
    Writer,
    page_path,
)
from publisher.writers.blocks_html import Links, render_blocks

SCHEMA_DAYS = dict(zip(DAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                              "Saturday", "Sunday"), strict=True))
#: the Content-Security-Policy of every page: nothing runs, nothing loads from elsewhere
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; media-src 'self'; "
    "font-src 'self'; script-src 'none'; form-action 'self'; base-uri 'none'"
)


def relative(from_page: str, to: str) -> str:
    """The relative URL from one output path to another ('index.html' shown as its folder)."""
    # the folders above the page, as PurePosixPath(from_page).parent.parts counts them (on
    # strings: a catalogue page links to a thousand services)
    depth = sum(1 for part in from_page.split("/")[:-1] if part not in ("", "."))
    target = to.removesuffix("index.html")
    return "../" * depth + target if (target or depth) else "./"


def human_size(size: int, locale: Locale) -> str:
    if size < 1024:
        return f"{locale.number(size)} B"
    if size < 1024 * 1024:
        return f"{locale.number(round(size / 1024))} KB"
    return f"{locale.number(round(size / (1024 * 1024), 1))} MB"


def duration_text(seconds: float, locale: Locale) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"


class HtmlWriter(Writer):
    name = "html"
    lists_alternates = True

    @staticmethod
    @cache
    def environment(formats_dir: Path) -> jinja2.Environment:
        return page_environment(formats_dir)

    def engine_version(self) -> str:
        return f"jinja2 {jinja2.__version__}"

    def _render(self, ctx: RenderContext, template: str, language: Locale,
                **values: Any) -> bytes:
        env = self.environment(ctx.formats_dir)
        env.install_gettext_callables(  # type: ignore[attr-defined]
            language.gettext, language.ngettext, newstyle=True
        )
        return env.get_template(template).render(**values).encode("utf-8")

    # ---------------------------------------------------------------- service pages

    def render(self, doc: Document, ctx: RenderContext) -> list[Artifact]:
        path = page_path(doc.lang, doc.id)
        site = ctx.site

        def service_url(service: str, anchor: str | None) -> str:
            url = relative(path, page_path(doc.lang, service))
            return f"{url}#{anchor}" if anchor else url

        links = Links(
            service_url=service_url,
            image_url=lambda src: relative(path, f"media/{src}"),
            locale=ctx.locale,
        )
        alternates = [
            {
                "href": relative(path, artifact.path),
                "label": ctx._(artifact.label),
                "type": _type_name(artifact),
                "size": human_size(artifact.size, ctx.locale),
                "duration": duration_text(float(artifact.meta["duration_seconds"]), ctx.locale)
                if "duration_seconds" in artifact.meta
                else None,
                "format": artifact.format,
            }
            for artifact in ctx.alternates
            if artifact.listed
        ]
        by_format = {a.format: a for a in ctx.alternates}
        audio = None
        if "mp3" in by_format:
            audio = {
                "src": relative(path, by_format["mp3"].path),
                "captions": relative(path, by_format["vtt"].path) if "vtt" in by_format else None,
                "transcript": relative(path, by_format["transcript"].path)
                if "transcript" in by_format
                else None,
            }
        values = self._page_values(ctx, path, doc.id)
        values.update(
            doc=doc,
            record=doc.record,
            body=render_blocks(doc.blocks, links),
            topic=ctx.config.topic_label(doc.record.topic, doc.lang),
            channels=[(ctx._(CHANNEL_LABELS[c.type]), c) for c in doc.record.channels],
            locations={location.id: location for location in doc.record.locations},
            alternates=alternates,
            audio=audio,
            json_ld=government_service(doc, ctx.config, site),
            catalogue_url=relative(path, page_path(doc.lang)),
            outdated=_outdated(doc, ctx, path),
        )
        return [
            Artifact(
                path=path,
                data=self._render(ctx, "service.html", ctx.locale, **values),
                media_type="text/html; charset=utf-8",
                format="html",
                service=doc.id,
                lang=doc.lang,
                label=N_("Web page"),
                listed=False,
            )
        ]

    def _page_values(
        self,
        ctx: RenderContext,
        path: str,
        service: str | None,
        switch_to: Callable[[str], str] | None = None,
    ) -> dict[str, Any]:
        """What every page's frame needs: language, switcher, breadcrumbs, footer.

        The language switcher leads to the same service (or catalogue) in each language where it
        exists, or to ``switch_to(lang)`` for other pages (the accessibility statement)."""
        config = ctx.config
        lang = ctx.lang
        switcher = []
        for language in config.languages:
            exists = service is None or ctx.site.get(service, language.code) is not None
            if not exists:
                continue
            target = switch_to(language.code) if switch_to else page_path(language.code, service)
            switcher.append(
                {
                    "code": language.code,
                    "name": language.name,
                    "href": relative(path, target),
                    "absolute": config.base_url + target.removesuffix("index.html"),
                    "current": language.code == lang,
                }
            )
        return {
            "lang": lang,
            "dir": ctx.language.direction,
            "org": config.organisation_name(lang),
            "config": config,
            "locale": ctx.locale,
            "root": relative(path, ""),
            "home_url": relative(path, page_path(lang)),
            "stylesheet": relative(path, "assets/site.css"),
            "canonical": config.base_url + path.removesuffix("index.html"),
            "languages": switcher,
            "csp": CSP,
            "statement_url": relative(path, f"{lang}/accessibility/index.html"),
            "has_statement": True,
        }

    # ---------------------------------------------------------------- site pages

    def render_site(
        self,
        site: Site,
        contexts: Mapping[str, RenderContext],
        artifacts: tuple[Artifact, ...],
    ) -> list[Artifact]:
        out: list[Artifact] = []
        config = site.config
        for lang, ctx in contexts.items():
            path = page_path(lang)
            groups = []
            by_topic: dict[str, list[Document]] = {}
            for doc in site.in_language(lang):
                by_topic.setdefault(doc.summary.topic, []).append(doc)
            for topic in config.topics:
                services = by_topic.get(topic, [])
                if services:
                    groups.append(
                        {
                            "label": config.topic_label(topic, lang),
                            "id": f"topic-{topic}",
                            "services": [
                                {
                                    "title": d.summary.title,
                                    "summary": d.summary.summary,
                                    "href": relative(path, page_path(lang, d.id)),
                                }
                                for d in services
                            ],
                        }
                    )
            missing = []
            for service in site.service_ids():
                versions = site.translations(service)
                if lang in versions:
                    continue
                missing.append(
                    {
                        "id": service,
                        "versions": [
                            {
                                "lang": code,
                                "name": config.language(code).name,
                                "title": doc.summary.title,
                                "href": relative(path, page_path(code, service)),
                            }
                            for code, doc in versions.items()
                        ],
                    }
                )
            values = self._page_values(ctx, path, None)
            values.update(groups=groups, missing=missing)
            out.append(
                Artifact(
                    path=path,
                    # kept by what the page lists (the frame is the language's and the
                    # configuration's, in the memo's own key): an edit of a body text leaves
                    # the catalogues as they were
                    data=ctx.memo(digest("catalogue", lang, groups, missing), functools.partial(
                        self._render, ctx, "catalogue.html", ctx.locale, **values)),
                    media_type="text/html; charset=utf-8",
                    format="html-catalogue",
                    lang=lang,
                    listed=False,
                )
            )
        default = contexts[config.default_language]
        values = self._page_values(default, "index.html", None)
        values.update(
            entries=[
                {
                    "lang": language.code,
                    "dir": language.direction,
                    "name": language.name,
                    "org": config.organisation_name(language.code),
                    "label": contexts[language.code].locale.gettext("Services in {language}")
                    .format(language=language.name),
                    "href": page_path(language.code).removesuffix("index.html"),
                    "count": len(site.in_language(language.code)),
                }
                for language in config.languages
            ],
            recent=recently_updated(site, config.default_language, "index.html"),
            feeds=[
                {"lang": language.code, "name": language.name,
                 "href": f"feeds/{language.code}.xml"}
                for language in config.languages
            ]
            if config.format_options("opendata").get("enabled", True)
            else [],
        )
        out.append(
            Artifact(
                path="index.html",
                data=default.memo(digest("home", values["entries"], values["recent"],
                                         values["feeds"]), functools.partial(
                    self._render, default, "home.html", default.locale, **values)),
                media_type="text/html; charset=utf-8",
                format="html-home",
                listed=False,
            )
        )
        assets = default.formats_dir / "html" / "assets"
        for asset in sorted(assets.rglob("*")):
            if asset.is_file():
                out.append(
                    Artifact(
                        path=f"assets/{asset.relative_to(assets).as_posix()}",
                        data=asset.read_bytes(),
                        media_type=_media_type(asset.suffix),
                        format="asset",
                        listed=False,
                    )
                )
        images = sorted({src for doc in site.documents.values() for src in doc.images})
        for src in images:
            content_dir = default.content_dir
            out.append(
                Artifact(
                    path=f"media/{src}",
                    data=(content_dir / src).read_bytes(),
                    media_type=_media_type(PurePosixPath(src).suffix),
                    format="asset",
                    listed=False,
                )
            )
        return out


def _outdated(doc: Document, ctx: RenderContext, path: str) -> dict[str, str] | None:
    """The notice an outdated translation opens with, and the link to its source page."""
    notice = outdated_notice(doc, ctx.locale)
    if notice is None or doc.freshness is None:
        return None
    source = doc.freshness.source_lang
    return {
        "text": notice,
        "link": current_version_link(doc, ctx.locale),
        "href": relative(path, page_path(source, doc.id)),
        "lang": source,
    }


#: how many services the home page lists as recently updated
RECENT_COUNT = 5


def recently_updated(site: Site, lang: str, from_page: str) -> list[dict[str, Any]]:
    """The services of a language most recently reviewed (the news feeds list them all)."""
    docs = sorted(site.in_language(lang),
                  key=lambda d: (-d.summary.last_reviewed.toordinal(), d.summary.title.casefold()))
    return [
        {"title": d.summary.title, "href": relative(from_page, page_path(lang, d.id)),
         "reviewed": d.summary.last_reviewed}
        for d in docs[:RECENT_COUNT]
    ]


@cache
def page_environment(formats_dir: Path, *own: str) -> jinja2.Environment:
    """Jinja2 for pages in the site's frame: the templates of the formats named in ``own``
    first (reports, search), then the website's own (``base.html``)."""
    folders = [formats_dir / name / "templates" for name in (*own, "html")]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(folder) for folder in folders]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=TEMPLATES,
    )
    env.filters["tojson_ld"] = _json_ld
    return env


def _media_type(suffix: str) -> str:
    return {
        ".css": "text/css",
        ".png": "image/png",
        ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".svg": "image/svg+xml",
        ".webp": "image/webp",
        ".gif": "image/gif",
        ".woff2": "font/woff2",
    }.get(suffix.lower(), "application/octet-stream")


def _type_name(artifact: Artifact) -> str:
    suffix = PurePosixPath(artifact.path).suffix.lstrip(".").upper()
    return suffix or artifact.media_type


def _json_ld(value: Any) -> Markup:
    """JSON for a <script type="application/ld+json"> block: '<' is escaped so that no text
    from the content can close the script element."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def government_service(doc: Document, config: SiteConfig, site: Site) -> dict[str, Any]:
    """schema.org ``GovernmentService`` for a service page."""
    record = doc.record
    url = f"{config.base_url}{doc.lang}/{doc.id}/"
    channels: list[dict[str, Any]] = []
    locations = {location.id: location for location in record.locations}
    for channel in record.channels:
        entry: dict[str, Any] = {"@type": "ServiceChannel", "availableLanguage": doc.lang}
        if channel.label:
            entry["name"] = channel.label
        if channel.url:
            entry["serviceUrl"] = channel.url
        if channel.phone:
            entry["servicePhone"] = {"@type": "ContactPoint", "telephone": channel.phone}
        if channel.email:
            entry["serviceUrl"] = f"mailto:{channel.email}"
        if channel.address:
            entry["servicePostalAddress"] = {
                "@type": "PostalAddress",
                "streetAddress": channel.address,
            }
        if channel.location and channel.location in locations:
            place = locations[channel.location]
            entry["serviceLocation"] = {
                "@type": "Place",
                "name": place.name,
                "address": place.address,
            }
        channels.append(entry)
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "GovernmentService",
        "@id": url,
        "url": url,
        "name": record.title,
        "description": record.summary,
        "inLanguage": doc.lang,
        "serviceType": config.topic_label(record.topic, doc.lang),
        "audience": {"@type": "Audience", "audienceType": "; ".join(record.audience)},
        "provider": {
            "@type": "GovernmentOrganization",
            "name": config.organisation_name(doc.lang),
            "department": record.owner,
        },
        "serviceOperator": {"@type": "GovernmentOrganization", "name": record.owner},
        "availableChannel": channels,
        "dateModified": record.last_reviewed.isoformat(),
    }
    if record.keywords:
        data["keywords"] = ", ".join(record.keywords)
    if record.fees:
        data["offers"] = [
            {
                "@type": "Offer",
                "name": fee.label,
                "price": f"{fee.amount:.2f}",
                "priceCurrency": fee.currency,
            }
            for fee in record.fees
        ]
    elif record.cost == "free":
        data["isAccessibleForFree"] = True
    if record.opening_hours:
        data["hoursAvailable"] = [
            {
                "@type": "OpeningHoursSpecification",
                "dayOfWeek": [f"https://schema.org/{SCHEMA_DAYS[d]}" for d in hours.days],
                "opens": hours.opens,
                "closes": hours.closes,
            }
            for hours in record.opening_hours
        ]
    contact: dict[str, Any] = {"@type": "ContactPoint"}
    if record.contact.phone:
        contact["telephone"] = record.contact.phone
    if record.contact.email:
        contact["email"] = record.contact.email
    if record.contact.url:
        contact["url"] = record.contact.url
    data["provider"]["contactPoint"] = contact
    translations = site.translations(doc.id)
    others = [f"{config.base_url}{lang}/{doc.id}/" for lang in translations if lang != doc.lang]
    if others:
        data["workTranslation" if doc.lang == config.default_language else "translationOfWork"] = (
            [{"@id": other} for other in others]
            if doc.lang == config.default_language
            else {"@id": f"{config.base_url}{config.default_language}/{doc.id}/"}
        )
    return data


WRITER = HtmlWriter()
