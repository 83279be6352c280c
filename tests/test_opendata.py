"""The machine-readable catalogue: sitemap, Atom feeds, CPSV-AP JSON-LD and CSV, read back.

The example content is built once for this module (website, search and open data, no audit).
The JSON-LD is expanded with pyld, resolving the CPSV-AP context from the local copy in
``shared/standards`` (any other URL fails the test: no network), and validated with pySHACL
against the official CPSV-AP 3.2.0 shapes kept beside it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyshacl
import pytest
import rdflib
from lxml import etree
from pyld import jsonld

from publisher.build import BuildOptions, BuildResult, build
from publisher.writers import Site
from publisher.writers.opendata import CPSV_AP_CONTEXT, CSV_COLUMNS, duration
from tests.conftest import CONTENT, SHARED

STANDARD = SHARED / "standards" / "cpsv-ap-3.2.0"
DATA = Path(__file__).parent / "data" / "sitemap"
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
XHTML = "{http://www.w3.org/1999/xhtml}"
CV = "http://data.europa.eu/m8g/"
DCT = "http://purl.org/dc/terms/"
CPSV = "http://purl.org/vocab/cpsv#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, BuildResult]]:
    out = tmp_path_factory.mktemp("opendata") / "site"
    result = build(BuildOptions(content_dir=CONTENT, out_dir=out,
                                formats=["html", "search", "opendata"], audit=False))
    assert result.published, [d.format() for d in result.diagnostics]
    yield out, result


@pytest.fixture(scope="module")
def site() -> Site:
    from publisher.diagnostics import Diagnostics
    from publisher.load import load_site

    loaded = load_site(CONTENT, Diagnostics())
    assert loaded is not None
    return loaded


def local_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """pyld's document loader: the CPSV-AP context from disk, nothing from the network."""
    if url != CPSV_AP_CONTEXT:
        raise AssertionError(f"the JSON-LD asked for a document from the network: {url}")
    return {"contextUrl": None, "documentUrl": url,
            "document": json.loads((STANDARD / "cpsv-ap.jsonld").read_text(encoding="utf-8"))}


def to_graph(document: dict[str, Any]) -> rdflib.Graph:
    quads = jsonld.to_rdf(document, {"format": "application/n-quads",
                                     "documentLoader": local_loader})
    # everything is in the default graph, so the N-Quads are N-Triples
    return rdflib.Graph().parse(data=quads, format="nt")


@pytest.fixture(scope="module")
def shapes() -> rdflib.Graph:
    return rdflib.Graph().parse(STANDARD / "cpsv-ap-SHACL.ttl")


def violations(graph: rdflib.Graph, shapes: rdflib.Graph) -> list[str]:
    conforms, report, _ = pyshacl.validate(graph, shacl_graph=shapes)
    sh = rdflib.Namespace("http://www.w3.org/ns/shacl#")
    found = [str(report.value(result, sh.resultMessage))
             for result in report.subjects(rdflib.RDF.type, sh.ValidationResult)]
    assert conforms == (not found)
    return found


def html_pages(out: Path) -> set[str]:
    """Every web page of the build, as the sitemap should give it (reports are for auditors)."""
    return {
        path.relative_to(out).as_posix().removesuffix("index.html")
        for path in out.rglob("*.html")
        if path.relative_to(out).parts[0] != "reports"
    }


# ------------------------------------------------------------------ sitemap


def test_sitemap_is_valid_and_lists_every_page_with_its_translations(
    built: tuple[Path, BuildResult], site: Site
) -> None:
    out, _ = built
    schema = etree.XMLSchema(etree.parse(str(DATA / "all.xsd")))
    tree = etree.parse(str(out / "sitemap.xml"))
    assert schema.validate(tree), schema.error_log
    base = site.config.base_url
    urls = {u.findtext(f"{SITEMAP}loc"): u for u in tree.getroot()}
    assert set(urls) == {base + page for page in html_pages(out)}
    for (service, lang), doc in site.documents.items():
        entry = urls[f"{base}{lang}/{service}/"]
        assert entry.findtext(f"{SITEMAP}lastmod") == doc.record.last_reviewed.isoformat()
        alternates = {link.get("hreflang"): link.get("href")
                      for link in entry.findall(f"{XHTML}link")}
        assert alternates == {code: f"{base}{code}/{service}/"
                              for code in site.translations(service)}
    catalogue = urls[f"{base}fr/"]
    hreflangs = {link.get("hreflang") for link in catalogue.findall(f"{XHTML}link")}
    assert hreflangs == {"en", "fr", "ar", "x-default"}
    search = urls[f"{base}ar/search/"]
    assert {link.get("hreflang") for link in search.findall(f"{XHTML}link")} == {"en", "fr", "ar"}


def test_the_sitemap_schema_rejects_a_broken_sitemap(built: tuple[Path, BuildResult]) -> None:
    out, _ = built
    schema = etree.XMLSchema(etree.parse(str(DATA / "all.xsd")))
    tree = etree.parse(str(out / "sitemap.xml"))
    first = tree.getroot()[0]
    first.insert(0, etree.Element(f"{SITEMAP}lastmod"))  # before <loc>, and empty
    assert not schema.validate(tree)


# ------------------------------------------------------------------ feeds


def _one(element: etree._Element, name: str) -> etree._Element:
    found = element.findall(f"{ATOM}{name}")
    assert len(found) == 1, f"{name}: {len(found)} elements"
    return found[0]


def test_each_language_has_an_atom_feed_of_every_service_newest_first(
    built: tuple[Path, BuildResult], site: Site
) -> None:
    out, _ = built
    base = site.config.base_url
    for lang in site.config.language_codes:
        root = etree.parse(str(out / "feeds" / f"{lang}.xml")).getroot()
        # RFC 4287 4.1.1: exactly one id, title and updated; an author; a self link
        assert root.tag == f"{ATOM}feed"
        assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == lang
        for name in ("id", "title", "updated", "author"):
            _one(root, name)
        assert [link.get("href") for link in root.findall(f"{ATOM}link[@rel='self']")] == [
            f"{base}feeds/{lang}.xml"]
        entries = root.findall(f"{ATOM}entry")
        docs = {doc.id: doc for doc in site.in_language(lang)}
        ids = [_one(entry, "id").text for entry in entries]
        assert sorted(ids) == sorted(f"{base}{lang}/{service}/" for service in docs)
        updated = []
        for entry in entries:
            for name in ("title", "updated", "summary"):
                _one(entry, name)
            service = _one(entry, "id").text.rstrip("/").rsplit("/", 1)[1]  # type: ignore[union-attr]
            record = docs[service].record
            assert _one(entry, "title").text == record.title
            assert _one(entry, "updated").text == f"{record.last_reviewed.isoformat()}T00:00:00Z"
            assert _one(entry, "link").get("href") == f"{base}{lang}/{service}/"
            updated.append(_one(entry, "updated").text)
        assert updated == sorted(updated, reverse=True)
        assert _one(root, "updated").text == updated[0]


def test_pages_and_home_point_to_the_feeds(built: tuple[Path, BuildResult]) -> None:
    out, _ = built
    page = (out / "fr" / "marriage" / "index.html").read_text(encoding="utf-8")
    assert 'type="application/atom+xml" href="../../feeds/fr.xml"' in page
    home = etree.parse(str(out / "index.html"), etree.HTMLParser())
    recent = home.xpath("//section[@aria-labelledby='recent-heading']//li/a/@href")
    assert len(recent) == 5 and all(href.startswith("en/") for href in recent)
    feeds = home.xpath("//a[@type='application/atom+xml']/@href")
    assert feeds == ["feeds/en.xml", "feeds/fr.xml", "feeds/ar.xml"]


# ------------------------------------------------------------------ CPSV-AP


@pytest.fixture(scope="module")
def catalogue(built: tuple[Path, BuildResult]) -> dict[str, Any]:
    out, _ = built
    document: dict[str, Any] = json.loads(
        (out / "data" / "catalogue.jsonld").read_text(encoding="utf-8"))
    return document


def test_the_catalogue_expands_and_carries_every_service(
    catalogue: dict[str, Any], site: Site
) -> None:
    expanded = jsonld.expand(catalogue, {"documentLoader": local_loader})
    nodes = {node["@id"]: node for node in expanded}
    services = [node for node in expanded if f"{CPSV}PublicService" in node.get("@type", [])]
    assert len(services) == len(site.service_ids())

    def texts(node: dict[str, Any], prop: str) -> dict[str, str]:
        return {v["@language"]: v["@value"] for v in node.get(prop, [])}

    for node in services:
        service = node[f"{DCT}identifier"][0]["@value"]
        versions = site.translations(service)
        assert texts(node, f"{DCT}title") == {lang: d.record.title for lang, d in versions.items()}
        assert texts(node, f"{DCT}description") == {
            lang: d.record.summary for lang, d in versions.items()}
        record = next(iter(versions.values())).record
        channels = [nodes[c["@id"]] for c in node[f"{CV}hasChannel"]]
        assert len(channels) == len(record.channels)
        for channel in channels:
            kind = nodes[channel[f"{DCT}type"][0]["@id"]]
            assert "http://www.w3.org/2004/02/skos/core#Concept" in kind["@type"]
        costs = [nodes[c["@id"]] for c in node.get(f"{CV}hasCost", [])]
        assert sorted(float(c[f"{CV}hasValue"][0]["@value"]) for c in costs) == sorted(
            fee.amount for fee in record.fees)
        for cost in costs:
            assert cost[f"{CV}currency"][0]["@id"].endswith("/currency/EUR")
        contact = nodes[node[f"{CV}contactPoint"][0]["@id"]]
        if record.contact.email:
            assert contact[f"{CV}email"][0]["@value"] == record.contact.email
        if record.contact.phone:
            assert contact[f"{CV}telephone"][0]["@value"] == record.contact.phone
        authority = nodes[node[f"{CV}hasCompetentAuthority"][0]["@id"]]
        assert f"{CV}PublicOrganisation" in authority["@type"]


def test_the_catalogue_conforms_to_the_cpsv_ap_shapes(
    catalogue: dict[str, Any], shapes: rdflib.Graph
) -> None:
    assert violations(to_graph(catalogue), shapes) == []


def test_the_shapes_find_what_is_missing(catalogue: dict[str, Any], shapes: rdflib.Graph) -> None:
    # the official example fails on the six concepts it uses without typing them
    example = json.loads((STANDARD / "example-rdf_public_service.jsonld").read_text("utf-8"))
    assert len(violations(to_graph(example), shapes)) == 6
    # and ours fails once a mandatory property goes: a service without a competent authority
    broken = json.loads(json.dumps(catalogue))
    service = next(n for n in broken["@graph"] if n.get("@type") == "PublicService")
    del service["cv:hasCompetentAuthority"]
    found = violations(to_graph(broken), shapes)
    assert len(found) == 1 and "hasCompetentAuthority" in found[0]


def test_processing_times_become_durations_only_when_they_are_one() -> None:
    assert duration("3 weeks") == "P21D"
    assert duration("1 month") == "P1M"
    assert duration("24 hours") == "PT24H"
    assert duration("10 working days") is None
    assert duration("Same day, at the counter") is None


# ------------------------------------------------------------------ CSV


def test_the_csv_has_a_row_per_service_and_language(
    built: tuple[Path, BuildResult], site: Site
) -> None:
    out, _ = built
    raw = (out / "data" / "catalogue.csv").read_bytes()
    assert b"\r\n" in raw and not raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert len(rows) == len(site.documents)
    for row in rows:
        doc = site.documents[(row["service_id"], row["language"])]
        assert row["title"] == doc.record.title
        assert row["last_reviewed"] == doc.record.last_reviewed.isoformat()
        # the example content says "free_of_charge: true" for each service without fees
        assert row["free_of_charge"] == ("false" if doc.record.fees else "true")
        assert doc.record.cost == ("fees" if doc.record.fees else "free")
        assert row["page_url"] == f"{site.config.base_url}{doc.lang}/{doc.id}/"


def test_open_data_is_the_same_bytes_every_time(
    built: tuple[Path, BuildResult], site: Site
) -> None:
    _, result = built
    from publisher.writers.opendata import WRITER

    contexts = _contexts(site)
    # what the site pass saw: everything but the reports, written after it
    rendered = tuple(a for a in result.artifacts if a.format != "html-report")
    first = WRITER.render_site(site, contexts, rendered)
    second = WRITER.render_site(site, contexts, rendered)
    assert [(a.path, a.data) for a in first] == [(a.path, a.data) for a in second]
    published = {a.path: a.data for a in result.artifacts}
    assert [a.path for a in first if published[a.path] != a.data] == []


def _contexts(site: Site) -> dict[str, Any]:
    from publisher.build import build_time, formats_dir
    from publisher.i18n import Locale
    from publisher.writers import RenderContext
    from publisher.writers.opendata import OpenDataOptions

    return {
        lang: RenderContext(
            config=site.config, language=site.config.language(lang),
            locale=Locale(lang, site.config.language(lang).direction),
            build_time=build_time(site), formats_dir=formats_dir(), content_dir=CONTENT,
            site=site,
            options=OpenDataOptions.model_validate(site.config.format_options("opendata")),
        )
        for lang in site.config.language_codes
    }


def test_csv_cells_never_start_a_spreadsheet_formula() -> None:
    from publisher.writers.opendata import text_cell

    assert text_cell('=HYPERLINK("http://evil.example","x")').startswith("'=")
    assert text_cell("@SUM(A1)") == "'@SUM(A1)" and text_cell("-2+3") == "'-2+3"
    assert text_cell("Parking permit") == "Parking permit"
