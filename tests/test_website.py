"""The example catalogue's website, checked by parsing the pages it wrote."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from lxml import html as lxml_html

from publisher.build import BuildOptions, build
from publisher.diagnostics import Diagnostics
from publisher.load import load_site

from .conftest import CONTENT, tree_digest


def pages(out: Path) -> list[Path]:
    return sorted(out.rglob("*.html"))


def parse(path: Path) -> lxml_html.HtmlElement:
    return lxml_html.fromstring(path.read_bytes())


def test_every_service_and_translation_has_a_page(example_html: tuple[Path, object]) -> None:
    out, _ = example_html
    site = load_site(CONTENT, Diagnostics())
    assert site is not None
    assert len(site.service_ids()) >= 12
    for service, lang in site.documents:
        assert (out / lang / service / "index.html").is_file()
    # every service exists in English; one of them lacks a translation
    assert all((service, "en") in site.documents for service in site.service_ids())
    assert any(len(site.translations(s)) < 3 for s in site.service_ids())


def test_pages_have_language_direction_one_h1_and_landmarks(
    example_html: tuple[Path, object],
) -> None:
    out, _ = example_html
    for page in pages(out):
        tree = parse(page)
        rel = page.relative_to(out).as_posix()
        if rel.endswith("-transcript.html"):
            # a transcript is a standalone document beside its recording: no site frame
            assert tree.get("lang") and len(tree.findall(".//h1")) == 1
            assert len(tree.findall(".//main")) == 1
            continue
        lang = tree.get("lang")
        first = rel.split("/")[0]
        expected_lang = first if first in {"en", "fr", "ar"} else "en"
        assert lang == expected_lang, rel
        assert tree.get("dir") == ("rtl" if lang == "ar" else "ltr"), rel
        assert len(tree.findall(".//h1")) == 1, rel
        assert len(tree.findall(".//main")) == 1, rel
        assert tree.find(".//header") is not None, rel
        assert tree.find(".//footer") is not None, rel
        skip = tree.xpath("//body/a[1]")[0]
        assert skip.get("href") == "#main" and tree.get_element_by_id("main").tag == "main"
        csp = tree.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")
        # the search page alone runs the site's own script (Pagefind); no page runs another's
        allowed = "script-src 'self'" if "/search/" in f"/{rel}" else "script-src 'none'"
        assert csp and allowed in csp[0], rel


def test_service_pages_link_their_translations_with_hreflang(
    example_html: tuple[Path, object],
) -> None:
    out, _ = example_html
    site = load_site(CONTENT, Diagnostics())
    assert site is not None
    for (service, lang), _doc in site.documents.items():
        tree = parse(out / lang / service / "index.html")
        alternates = {
            link.get("hreflang"): link.get("href")
            for link in tree.xpath("//link[@rel='alternate'][@hreflang]")
        }
        assert set(alternates) == set(site.translations(service)), (service, lang)
        for code, href in alternates.items():
            assert href == f"{site.config.base_url}{code}/{service}/"
        switcher = tree.xpath("//nav[contains(@class,'language-switcher')]//a")
        for link in switcher:
            target = (out / lang / service / link.get("href")).resolve() / "index.html"
            assert target.is_file(), link.get("href")
        # breadcrumbs and the review date
        assert tree.xpath("//nav[contains(@class,'breadcrumbs')]//a")
        assert tree.xpath("//p[@class='reviewed']/time/@datetime")


def test_json_ld_names_the_service(example_html: tuple[Path, object]) -> None:
    out, _ = example_html
    site = load_site(CONTENT, Diagnostics())
    assert site is not None
    for (service, lang), doc in site.documents.items():
        tree = parse(out / lang / service / "index.html")
        blocks = tree.xpath("//script[@type='application/ld+json']/text()")
        assert len(blocks) == 1
        data = json.loads(blocks[0])
        assert data["@type"] == "GovernmentService"
        assert data["name"] == doc.record.title
        assert data["inLanguage"] == lang
        assert data["availableChannel"]
        assert data["provider"]["name"] == site.config.organisation_name(lang)


def test_arabic_pages_are_right_to_left_with_arabic_interface(
    example_html: tuple[Path, object],
) -> None:
    out, _ = example_html
    tree = parse(out / "ar" / "parking-permit" / "index.html")
    assert tree.get("dir") == "rtl"
    skip = tree.xpath("//a[@class='skip-link']")[0].text_content()
    assert skip == "انتقل إلى المحتوى الرئيسي"
    headings = [h.text_content() for h in tree.xpath("//h2")]
    assert "كيفية تقديم الطلب" in headings
    assert "How to apply" not in headings


def test_catalogue_groups_by_topic_and_lists_missing_translations(
    example_html: tuple[Path, object],
) -> None:
    out, _ = example_html
    tree = parse(out / "ar" / "index.html")
    assert [h.get("id") for h in tree.xpath("//h2[starts-with(@id,'topic-')]")]
    missing = tree.get_element_by_id("missing-heading").getparent()
    links = missing.xpath(".//a")
    assert any(link.get("href") == "../en/business-licence/" for link in links)
    assert all(link.get("lang") and link.get("hreflang") for link in links)


def test_no_request_leaves_the_site(example_html: tuple[Path, object]) -> None:
    out, _ = example_html
    for page in pages(out):
        tree = parse(page)
        for element in tree.xpath("//link[@rel='stylesheet'] | //script[@src] | //img | "
                                  "//audio | //source | //track | //iframe"):
            url = element.get("href") or element.get("src") or ""
            assert "://" not in url and not url.startswith("//"), (page, url)
        for link in tree.xpath("//a[contains(@class,'external')]"):
            assert link.get("rel") == "noopener noreferrer"


def test_manifest_lists_every_file_with_its_hash(example_html: tuple[Path, object]) -> None:
    out, _ = example_html
    manifest = json.loads((out / "manifest.json").read_text())
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {entry["path"] for entry in manifest["artifacts"]} == files - {"manifest.json"}
    for entry in manifest["artifacts"]:
        data = (out / entry["path"]).read_bytes()
        assert entry["bytes"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert set(entry) >= {"service", "language", "format", "path", "bytes", "sha256"}
    pages_in_manifest = [e for e in manifest["artifacts"] if e["format"] == "html"]
    assert all(e["service"] and e["language"] for e in pages_in_manifest)


def test_two_builds_are_byte_identical(tmp_path: Path) -> None:
    """(Every format's determinism is tested in test_engine.py; this is the whole website.)"""
    for name in ("one", "two"):
        result = build(BuildOptions(content_dir=CONTENT, out_dir=tmp_path / name,
                                    formats=["html"], audit=False, use_cache=False))
        assert result.published
    assert tree_digest(tmp_path / "one") == tree_digest(tmp_path / "two")


@pytest.mark.parametrize("epoch", ["1700000000"])
def test_source_date_epoch_sets_the_build_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, epoch: str
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    result = build(BuildOptions(content_dir=CONTENT, out_dir=tmp_path / "s", formats=["html"],
                                audit=False))
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert result.published and manifest["build_time"] == "2023-11-14T22:13:20+00:00"
