"""The catalogue for machines: sitemap, news feeds and open data, written once from the model.

In: the whole :class:`~publisher.writers.Site` and every page rendered before this site pass (it
runs after the website's and the search's site passes, ``site_order`` 20). Out, all site-wide:

- ``sitemap.xml``: every web page with its language alternates (``xhtml:link hreflang``), the
  home page standing as ``x-default`` for the catalogues;
- ``feeds/<lang>.xml``: an Atom feed per language of the services, newest review first;
- ``data/catalogue.jsonld``: the catalogue in the EU Core Public Service Vocabulary Application
  Profile (CPSV-AP) 3.2.0, one ``cpsv:PublicService`` per service with its texts in every
  language, valid against the official SHACL shapes;
- ``data/catalogue.csv``: one row per service and language, the columns documented in the README.

Controlled values (channel types, topics) are published as ``skos:Concept`` in schemes of the
site's own, because the content does not map them to EU vocabularies; currencies and languages
use the EU Publications Office authority tables, whose IRIs follow from ISO codes.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from publisher.cache import digest
from publisher.config import SiteConfig
from publisher.model import CHANNEL_LABELS, Channel, Document, ServiceRecord
from publisher.writers import Artifact, Options, RenderContext, Site, Writer, page_path

CPSV_AP_CONTEXT = (
    "https://semiceu.github.io/uri.semic.eu-generated/CPSV-AP/releases/3.2.0/context/cpsv-ap.jsonld"
)
PREFIXES = {
    "cpsv": "http://purl.org/vocab/cpsv#",
    "cv": "http://data.europa.eu/m8g/",
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "org": "http://www.w3.org/ns/org#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "time": "http://www.w3.org/2006/time#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
CURRENCY = "http://publications.europa.eu/resource/authority/currency/"
LANGUAGE = "http://publications.europa.eu/resource/authority/language/"
# ISO 639-1 → the Publications Office language table (ISO 639-3 based); a language missing here
# is simply not stated in the data rather than guessed.
AUTHORITY_LANGUAGES = {
    "ar": "ARA", "bg": "BUL", "ca": "CAT", "cs": "CES", "cy": "CYM", "da": "DAN", "de": "DEU",
    "el": "ELL", "en": "ENG", "es": "SPA", "et": "EST", "eu": "EUS", "fi": "FIN", "fr": "FRA",
    "ga": "GLE", "gl": "GLG", "hr": "HRV", "hu": "HUN", "it": "ITA", "lb": "LTZ", "lt": "LIT",
    "lv": "LAV", "mt": "MLT", "nl": "NLD", "pl": "POL", "pt": "POR", "ro": "RON", "ru": "RUS",
    "sk": "SLK", "sl": "SLV", "sq": "SQI", "sv": "SWE", "tr": "TUR", "uk": "UKR", "zh": "ZHO",
}
# Simple durations only: "working days" are not a fixed number of calendar days, and prose
# ("Same day, at the counter") is no duration; those stay text, in the CSV and on the pages.
_DURATION = re.compile(r"^(\d{1,4}) (hour|day|week|month|year)s?$", re.IGNORECASE)
_DURATION_UNIT = {"hour": ("T", "H", 1), "day": ("", "D", 1), "week": ("", "D", 7),
                  "month": ("", "M", 1), "year": ("", "Y", 1)}
ATOM = "http://www.w3.org/2005/Atom"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
XHTML = "http://www.w3.org/1999/xhtml"
#: the columns of data/catalogue.csv, in order (documented in the README)
CSV_COLUMNS = (
    "service_id", "language", "title", "summary", "topic", "topic_label", "audience",
    "keywords", "channels", "online_url", "phone", "email", "fees", "free_of_charge",
    "processing_time", "owner", "contact_phone", "contact_email", "contact_url",
    "last_reviewed", "page_url", "other_languages",
)
LIST_SEPARATOR = " | "


class OpenDataOptions(Options):
    """``formats: opendata:`` in site.yaml."""

    #: the area the organisation serves, as an IRI of an official table (the EU Publications
    #: Office's countries or administrative units, a national gazetteer); CPSV-AP requires one
    area: str | None = Field(default=None, pattern=r"^https?://\S+$")


def duration(text: str) -> str | None:
    """An xsd:duration for a processing time written as a plain number of units, else None."""
    match = _DURATION.match(text.strip())
    if not match:
        return None
    time_part, designator, factor = _DURATION_UNIT[match.group(2).lower()]
    return f"P{time_part}{int(match.group(1)) * factor}{designator}"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-") or "x"


class OpenDataWriter(Writer):
    name = "opendata"
    options_model = OpenDataOptions
    site_order = 20  # after the website's and the search's passes (0): the sitemap lists them
    per_document = False

    def render(self, doc: Document, ctx: RenderContext) -> list[Artifact]:
        return []

    def render_site(
        self,
        site: Site,
        contexts: Mapping[str, RenderContext],
        artifacts: tuple[Artifact, ...],
    ) -> list[Artifact]:
        # Each output is kept in the cache by its inputs (see RenderContext.memo): a rebuild
        # after an edit remakes only what the edit changes. The records' digests are the keys,
        # not the files': these lists show the front matter, never the body text.
        memo = next(iter(contexts.values())).memo
        pages = [(a.path, _page_key(a), a.lang) for a in artifacts
                 if a.media_type.startswith("text/html")]
        reviewed = sorted((d.id, d.lang, d.summary.last_reviewed.isoformat())
                          for d in site.documents.values())
        records = " ".join(_versions_key(service, site.translations(service))
                           for service in site.service_ids())
        return [
            Artifact("sitemap.xml",
                     memo(digest("sitemap", pages, reviewed),
                          functools.partial(sitemap, site, artifacts)),
                     "application/xml", "sitemap", listed=False),
            *(
                Artifact(f"feeds/{lang}.xml",
                         ctx.memo(digest("feed", lang, [(d.id, d.record_digest())
                                                        for d in site.in_language(lang)]),
                                  functools.partial(feed, site, ctx)),
                         "application/atom+xml", "feed", lang=lang, listed=False)
                for lang, ctx in contexts.items()
            ),
            # whole, under the keys of all their services' parts: an edit of a body text
            # takes each in one piece, an edit of a record remakes it from its parts
            Artifact("data/catalogue.jsonld",
                     memo(digest("catalogue.jsonld", records),
                          functools.partial(catalogue_jsonld, site, contexts)),
                     "application/ld+json", "opendata", listed=False),
            Artifact("data/catalogue.csv",
                     memo(digest("catalogue.csv", records),
                          functools.partial(catalogue_csv, site, contexts)),
                     "text/csv; charset=utf-8; header=present", "opendata", listed=False),
        ]


def _versions_key(service: str, versions: Mapping[str, Document]) -> str:
    """What the catalogue shows of a service: its id, and the records of its languages."""
    return digest(service, " ".join(f"{lang}:{doc.record_digest()}"
                                    for lang, doc in versions.items()))


# ------------------------------------------------------------------ sitemap


def statement_paths(site: Site) -> list[str]:
    """The accessibility statements: the reports stage writes them after every writer has run,
    in every language, so they are not among the artifacts yet."""
    return [f"{lang}/accessibility/index.html" for lang in site.config.language_codes]


def _page_key(artifact: Artifact) -> tuple[str, str | None]:
    """Pages that are translations of each other share a key."""
    if artifact.format in ("html-catalogue", "html-home"):
        return ("catalogue", None)
    return (artifact.format, artifact.service)


def sitemap(site: Site, artifacts: Iterable[Artifact]) -> bytes:
    config = site.config
    pages: dict[str, tuple[tuple[str, str | None], str | None]] = {}
    for artifact in artifacts:
        if artifact.media_type.startswith("text/html"):
            pages[artifact.path] = (_page_key(artifact), artifact.lang)
    for path in statement_paths(site):
        pages.setdefault(path, (("statement", None), path.split("/")[0]))
    groups: dict[tuple[str, str | None], dict[str, str]] = {}
    for path, (key, lang) in pages.items():
        groups.setdefault(key, {})[lang or "x-default"] = path
    lastmod: dict[str, str] = {}
    for doc in site.documents.values():
        lastmod[page_path(doc.lang, doc.id)] = doc.record.last_reviewed.isoformat()
    for lang in config.language_codes:
        reviewed = [d.record.last_reviewed for d in site.in_language(lang)]
        if reviewed:
            lastmod[page_path(lang)] = max(reviewed).isoformat()
    if site.documents:
        lastmod["index.html"] = max(d.record.last_reviewed
                                    for d in site.documents.values()).isoformat()

    # namespaces written as plain attributes: ElementTree's own prefixes are global state
    root = ET.Element("urlset", {"xmlns": SITEMAP, "xmlns:xhtml": XHTML})
    for path in sorted(pages):
        url = ET.SubElement(root, "url")
        ET.SubElement(url, "loc").text = _absolute(config, path)
        if path in lastmod:
            ET.SubElement(url, "lastmod").text = lastmod[path]
        alternates = groups[pages[path][0]]
        if len(alternates) > 1:
            order = [*config.language_codes, "x-default"]
            for lang in sorted(alternates, key=lambda code: (order.index(code)
                                                             if code in order else 99, code)):
                ET.SubElement(url, "xhtml:link", rel="alternate", hreflang=lang,
                                 href=_absolute(config, alternates[lang]))
    return _xml(root)


def _absolute(config: SiteConfig, path: str) -> str:
    return config.base_url + path.removesuffix("index.html")


def _xml(root: ET.Element) -> bytes:
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'.encode()


# ------------------------------------------------------------------ Atom feeds


def _timestamp(day: Any) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def feed(site: Site, ctx: RenderContext) -> bytes:
    """Atom (RFC 4287): the services of one language, most recently reviewed first. An entry's
    id is its page's address, which never changes; ``updated`` is the review date, so a reader
    sees an entry again whenever the service is reviewed."""
    config = site.config
    lang = ctx.lang
    docs = sorted(site.in_language(lang), key=lambda d: (-d.record.last_reviewed.toordinal(),
                                                         d.id))
    self_url = f"{config.base_url}feeds/{lang}.xml"
    root = ET.Element("feed", {"xmlns": ATOM, "xml:lang": lang})
    ET.SubElement(root, "id").text = self_url
    ET.SubElement(root, "title").text = (
        f"{config.organisation_name(lang)} – {ctx._('New and updated services')}"
    )
    updated = max((d.record.last_reviewed for d in docs), default=ctx.build_time.date())
    ET.SubElement(root, "updated").text = _timestamp(updated)
    author = ET.SubElement(root, "author")
    ET.SubElement(author, "name").text = config.organisation_name(lang)
    ET.SubElement(root, "link", rel="self", type="application/atom+xml",
                     href=self_url)
    ET.SubElement(root, "link", rel="alternate", type="text/html",
                     hreflang=lang, href=_absolute(config, page_path(lang)))
    for doc in docs:
        record = doc.record
        url = _absolute(config, page_path(lang, doc.id))
        entry = ET.SubElement(root, "entry")
        ET.SubElement(entry, "id").text = url
        ET.SubElement(entry, "title").text = record.title
        ET.SubElement(entry, "updated").text = _timestamp(record.last_reviewed)
        ET.SubElement(entry, "link", rel="alternate", type="text/html",
                         hreflang=lang, href=url)
        ET.SubElement(entry, "category", term=record.topic,
                         label=config.topic_label(record.topic, lang))
        ET.SubElement(entry, "summary").text = record.summary
    return _xml(root)


# ------------------------------------------------------------------ CPSV-AP JSON-LD


def _texts(values: Iterable[tuple[str, str | None]]) -> list[dict[str, str]]:
    """Language-tagged literals, without empty or repeated ones."""
    seen: set[tuple[str, str]] = set()
    out = []
    for lang, text in values:
        if text and (lang, text) not in seen:
            seen.add((lang, text))
            out.append({"@language": lang, "@value": text})
    return out


def _channel_text(channel: Channel, record: ServiceRecord, ctx: RenderContext) -> str:
    label = channel.label or ctx._(CHANNEL_LABELS[channel.type])
    places = {location.id: location for location in record.locations}
    detail = channel.url or channel.phone or channel.email or channel.address
    if channel.location and channel.location in places:
        place = places[channel.location]
        detail = f"{place.name}, {place.address}"
    return f"{label}: {detail}" if detail else label


def _hours_text(record: ServiceRecord, ctx: RenderContext) -> str:
    return "; ".join(
        f"{', '.join(ctx.locale.day_name(day) for day in hours.days)} "
        f"{ctx.locale.time(hours.opens)}–{ctx.locale.time(hours.closes)}"
        for hours in record.opening_hours
    )


def _same_channels(base: ServiceRecord, other: ServiceRecord) -> bool:
    """A translation describes the same channels, in the same order, when their kinds match;
    only then are its texts attached to the same nodes."""
    return [c.type for c in base.channels] == [c.type for c in other.channels]


def _same_fees(base: ServiceRecord, other: ServiceRecord) -> bool:
    return [(f.amount, f.currency) for f in base.fees] == [
        (f.amount, f.currency) for f in other.fees
    ]


def catalogue_jsonld(site: Site, contexts: Mapping[str, RenderContext]) -> bytes:
    config = site.config
    default = contexts[config.default_language]
    options = default.options
    area = options.area if isinstance(options, OpenDataOptions) else None
    base = f"{config.base_url}data/catalogue.jsonld"
    langs = config.language_codes
    graph: list[dict[str, Any]] = []
    organisation = f"{base}#organisation"
    area_id = area or f"{base}#area"
    graph.append({
        "@id": area_id,
        "@type": "Location",
        **({} if area else {"rdfs:label": _texts((lang, config.organisation_name(lang))
                                                 for lang in langs)}),
    })
    graph.append({
        "@id": organisation,
        "@type": ["PublicOrganization", "foaf:Agent"],
        "dct:identifier": slug(config.organisation_name(config.default_language)),
        "skos:prefLabel": _texts((lang, config.organisation_name(lang)) for lang in langs),
        "dct:title": _texts((lang, config.organisation_name(lang)) for lang in langs),
        "dct:spatial": {"@id": area_id},
        "foaf:homepage": {"@id": config.base_url},
    })
    graph.append({
        "@id": base,
        "@type": "dcat:Dataset",
        "dct:title": _texts((lang, f"{config.organisation_name(lang)} – "
                                   f"{contexts[lang]._('Public services')}") for lang in langs),
        "dct:description": _texts(
            (lang, contexts[lang]._("Every public service of the organisation, in every "
                                    "language it is published in.")) for lang in langs),
        "dct:publisher": {"@id": organisation},
        "dcat:landingPage": {"@id": config.base_url},
        "dct:hasPart": [{"@id": f"{base}#service-{s}"} for s in site.service_ids()],
    })
    graph.append({"@id": config.base_url, "@type": "foaf:Document"})
    graph.append({
        "@id": f"{base}#channel-types",
        "@type": "skos:ConceptScheme",
        "skos:prefLabel": _texts((lang, contexts[lang]._("Channel types")) for lang in langs),
    })
    for kind, label in CHANNEL_LABELS.items():
        graph.append({
            "@id": f"{base}#channel-type-{kind}",
            "@type": "Concept",
            "skos:notation": kind,
            "skos:prefLabel": _texts((lang, contexts[lang]._(label)) for lang in langs),
            "skos:inScheme": {"@id": f"{base}#channel-types"},
        })
    graph.append({
        "@id": f"{base}#topics",
        "@type": "skos:ConceptScheme",
        "skos:prefLabel": _texts((lang, contexts[lang]._("Topics")) for lang in langs),
    })
    for topic in sorted(config.topics):
        graph.append({
            "@id": f"{base}#topic-{topic}",
            "@type": "Concept",
            "skos:notation": topic,
            "skos:prefLabel": _texts((lang, config.topic_label(topic, lang)) for lang in langs),
            "skos:inScheme": {"@id": f"{base}#topics"},
        })
    currencies: set[str] = set()
    used_languages: set[str] = set()
    authorities: dict[str, list[tuple[str, str]]] = {}
    lines = [(str(node["@id"]), _line(node)) for node in graph]
    for service in site.service_ids():
        versions = site.translations(service)
        key = digest("jsonld", _versions_key(service, versions))
        part = default.memo(key, functools.partial(_service_graph, service, versions, base,
                                                   config, contexts))
        lines.extend(part.lines)
        authorities.setdefault(part.authority, []).extend(part.names)
        currencies.update(part.currencies)
        used_languages.update(part.languages)
    graph = []
    for authority, names in sorted(authorities.items()):
        graph.append({
            "@id": authority,
            "@type": "PublicOrganization",
            "skos:prefLabel": _texts(sorted(set(names))),
            "dct:spatial": {"@id": area_id},
            "org:unitOf": {"@id": organisation},
        })
    for currency in sorted(currencies):
        graph.append({"@id": CURRENCY + currency, "@type": "Concept",
                      "skos:notation": currency})
    for code in sorted(used_languages):
        graph.append({"@id": LANGUAGE + code, "@type": "LinguisticSystem"})
    lines.extend((str(node["@id"]), _line(node)) for node in graph)
    lines.sort(key=lambda item: item[0])
    context = json.dumps([CPSV_AP_CONTEXT, PREFIXES], ensure_ascii=False, sort_keys=True)
    nodes = ",\n".join(line for _, line in lines)
    return f'{{"@context": {context},\n"@graph": [\n{nodes}\n]}}\n'.encode()


def _line(node: dict[str, Any]) -> str:
    """One node a line: readable in a diff, and written by json's C encoder (an indented dump
    takes its Python one, five seconds for a thousand services)."""
    return json.dumps(node, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class _ServiceGraph:
    """One service's part of the catalogue graph: its nodes, one JSON line each (with their
    ids), its competent authority and that authority's names, what it uses of the shared
    concepts (currencies, languages)."""

    lines: list[tuple[str, str]]
    authority: str
    names: list[tuple[str, str]]
    currencies: set[str]
    languages: set[str]


def _service_graph(service: str, versions: Mapping[str, Document], base: str,
                   config: SiteConfig, contexts: Mapping[str, RenderContext]) -> _ServiceGraph:
    graph: list[dict[str, Any]] = []
    currencies: set[str] = set()
    used_languages: set[str] = set()
    main = versions.get(config.default_language) or next(iter(versions.values()))
    record = main.record
    node_id = f"{base}#service-{service}"
    authority = f"{base}#authority-{slug(record.owner)}"
    node: dict[str, Any] = {
        "@id": node_id,
        "@type": "PublicService",
        "dct:identifier": service,
        "dct:title": _texts((lang, doc.record.title) for lang, doc in versions.items()),
        "dct:description": _texts((lang, doc.record.summary)
                                  for lang, doc in versions.items()),
        "dcat:keyword": _texts((lang, keyword) for lang, doc in versions.items()
                               for keyword in doc.record.keywords),
        "cv:thematicArea": {"@id": f"{base}#topic-{record.topic}"},
        "cv:hasCompetentAuthority": {"@id": authority},
        "dct:isPartOf": {"@id": base},
        "foaf:page": [{"@id": _absolute(config, page_path(lang, service))}
                      for lang in versions],
        "dct:modified": {"@value": max(d.record.last_reviewed
                                       for d in versions.values()).isoformat(),
                         "@type": "xsd:date"},
    }
    languages = [AUTHORITY_LANGUAGES[lang] for lang in versions
                 if lang in AUTHORITY_LANGUAGES]
    if languages:
        node["dct:language"] = [{"@id": LANGUAGE + code} for code in languages]
        used_languages.update(languages)
    processing = duration(record.processing_time)
    if processing:
        node["cv:processingTime"] = {"@value": processing, "@type": "xsd:duration"}
    if not node["dcat:keyword"]:
        del node["dcat:keyword"]
    channels = []
    for index, channel in enumerate(record.channels, start=1):
        channel_id = f"{base}#channel-{service}-{index}"
        texts = [
            (lang, _channel_text(doc.record.channels[index - 1], doc.record, contexts[lang]))
            for lang, doc in versions.items()
            if _same_channels(record, doc.record)
        ]
        channel_node: dict[str, Any] = {
            "@id": channel_id,
            "@type": "Channel",
            "dct:identifier": f"{service}-channel-{index}",
            "dct:type": {"@id": f"{base}#channel-type-{channel.type}"},
            "dct:description": _texts(texts),
        }
        if channel.type == "in-person" and record.opening_hours:
            channel_node["cv:openingHours"] = {"@id": f"{base}#hours-{service}"}
        graph.append(channel_node)
        channels.append({"@id": channel_id})
    node["cv:hasChannel"] = channels
    costs = []
    for index, fee in enumerate(record.fees, start=1):
        cost_id = f"{base}#cost-{service}-{index}"
        currencies.add(fee.currency)
        graph.append({
            "@id": cost_id,
            "@type": "Cost",
            "dct:identifier": f"{service}-cost-{index}",
            "cv:hasValue": {"@value": f"{fee.amount:.2f}", "@type": "xsd:double"},
            "cv:currency": {"@id": CURRENCY + fee.currency},
            "dct:description": _texts(
                (lang, doc.record.fees[index - 1].label) for lang, doc in versions.items()
                if _same_fees(record, doc.record)),
        })
        costs.append({"@id": cost_id})
    if costs:
        node["cv:hasCost"] = costs
    contact_id = f"{base}#contact-{service}"
    contact: dict[str, Any] = {"@id": contact_id, "@type": "ContactPoint"}
    if record.contact.phone:
        contact["cv:telephone"] = record.contact.phone
    if record.contact.email:
        contact["cv:email"] = record.contact.email
    if record.contact.url:
        contact["cv:contactPage"] = {"@id": record.contact.url}
        graph.append({"@id": record.contact.url, "@type": "foaf:Document"})
    if record.opening_hours:
        contact["cv:openingHours"] = {"@id": f"{base}#hours-{service}"}
        graph.append({
            "@id": f"{base}#hours-{service}",
            "@type": "TemporalEntity",
            "dct:description": _texts(
                (lang, _hours_text(doc.record, contexts[lang]))
                for lang, doc in versions.items()
                if doc.record.opening_hours == record.opening_hours),
        })
    graph.append(contact)
    node["cv:contactPoint"] = {"@id": contact_id}
    graph.append(node)
    return _ServiceGraph([(str(n["@id"]), _line(n)) for n in graph], authority,
                         [(lang, doc.record.owner) for lang, doc in versions.items()],
                         currencies, used_languages)


# ------------------------------------------------------------------ CSV


def _channel_cell(channel: Channel, record: ServiceRecord) -> str:
    places = {location.id: location for location in record.locations}
    detail = channel.url or channel.phone or channel.email or channel.address or ""
    if channel.location and channel.location in places:
        detail = f"{places[channel.location].name}, {places[channel.location].address}"
    return f"{channel.type}: {detail}" if detail else channel.type


def text_cell(text: str) -> str:
    """A free-text cell that a spreadsheet will not run as a formula (OWASP "CSV injection"):
    text an author wrote starting with = + - @ gets a leading apostrophe. Phone numbers and
    addresses, which are not free text, are left as they are."""
    return f"'{text}" if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


def catalogue_csv(site: Site, contexts: Mapping[str, RenderContext]) -> bytes:
    """RFC 4180 CSV in UTF-8, a header row, CRLF line ends; lists inside a cell are joined with
    ' | '."""
    config = site.config
    memo = contexts[config.default_language].memo
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for service in site.service_ids():
        versions = site.translations(service)
        key = digest("csv", _versions_key(service, versions))
        writer.writerows(memo(key, functools.partial(_csv_rows, service, versions, config)))
    return buffer.getvalue().encode("utf-8")


def _csv_rows(service: str, versions: Mapping[str, Document], config: SiteConfig
              ) -> list[list[str]]:
    rows: list[list[str]] = []
    for lang, doc in versions.items():
        record = doc.record

        def first(kind: str, attribute: str, record: ServiceRecord = record) -> str:
            return next((str(getattr(c, attribute)) for c in record.channels
                         if c.type == kind and getattr(c, attribute)), "")

        rows.append([
            service,
            lang,
            text_cell(record.title),
            text_cell(record.summary),
            record.topic,
            text_cell(config.topic_label(record.topic, lang)),
            text_cell(LIST_SEPARATOR.join(record.audience)),
            text_cell(LIST_SEPARATOR.join(record.keywords)),
            text_cell(LIST_SEPARATOR.join(_channel_cell(c, record) for c in record.channels)),
            first("online", "url"),
            first("phone", "phone"),
            first("email", "email"),
            text_cell(LIST_SEPARATOR.join(f"{fee.label}: {fee.amount:.2f} {fee.currency}"
                                          for fee in record.fees)),
            # empty when the record says neither: not stated is not free
            {"fees": "false", "free": "true"}.get(
                record.cost, "false" if record.free_of_charge is False else ""),
            text_cell(record.processing_time),
            text_cell(record.owner),
            record.contact.phone or "",
            record.contact.email or "",
            record.contact.url or "",
            record.last_reviewed.isoformat(),
            _absolute(config, page_path(lang, service)),
            LIST_SEPARATOR.join(code for code in versions if code != lang),
        ])
    return rows


WRITER = OpenDataWriter()
