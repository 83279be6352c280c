"""Translation freshness and the translators' round trip (export → translate → import).

Every test works on a copy of part of the example catalogue, whose translations record the
source revision they were made from (written by ``publish translate mark``).
"""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from translate.storage import pypo

from publisher.cli import main
from publisher.diagnostics import Diagnostics
from publisher.load import load_site
from publisher.model import (
    BulletList,
    Document,
    Heading,
    Link,
    Note,
    OrderedList,
    Paragraph,
    Table,
    block_inlines,
    walk_blocks,
    walk_inlines,
)
from publisher.translation import (
    export,
    import_file,
    segments,
    short,
    source_revision,
    translation_status,
)
from publisher.writers import Site

EXAMPLE = Path(__file__).resolve().parent.parent / "content"
SERVICES = ("parking-permit", "library-card", "swimming-pool", "business-licence")
PARAGRAPH = "Each household can have **two permits at most**."
CHANGED = "Each household can have **three permits at most**, see [the fees](#how-much-it-costs)."


@pytest.fixture
def catalogue(tmp_path: Path) -> Path:
    """Four services of the example, with the copies of their sources at the recorded
    revisions; business-licence has no Arabic translation."""
    folder = tmp_path / "content"
    folder.mkdir()
    shutil.copy(EXAMPLE / "site.yaml", folder / "site.yaml")
    for lang in ("en", "fr", "ar"):
        (folder / lang).mkdir()
        for service in SERVICES:
            if (EXAMPLE / lang / f"{service}.md").is_file():
                shutil.copy(EXAMPLE / lang / f"{service}.md", folder / lang / f"{service}.md")
    for service in SERVICES:
        shutil.copytree(EXAMPLE / ".revisions" / service, folder / ".revisions" / service)
    return folder


def load(folder: Path) -> Site:
    diagnostics = Diagnostics()
    site = load_site(folder, diagnostics)
    assert site is not None, [d.format() for d in diagnostics.errors]
    return site


def statuses(site: Site) -> dict[tuple[str, str], str]:
    return {key: site.status(*key) for key in site.documents}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def shape(doc: Document) -> list[object]:
    """The structure of a body: block kinds, heading levels, list lengths, table sizes, link
    targets and kinds — everything but the words."""
    out: list[object] = []
    for block in walk_blocks(doc.blocks):
        if isinstance(block, Heading):
            out.append(("h", block.level))
        elif isinstance(block, BulletList | OrderedList):
            out.append((type(block).__name__, len(block.items)))
        elif isinstance(block, Table):
            out.append(("table", len(block.head), len(block.rows)))
        elif isinstance(block, Note):
            out.append(("note", block.kind))
        elif isinstance(block, Paragraph):
            out.append("p")
        for inlines in block_inlines(block):
            for node in walk_inlines(inlines):
                if isinstance(node, Link):
                    out.append(("link", node.kind, node.service,
                                node.target if node.kind != "anchor" else "#"))
    return out


def fill(po: Path, translate: dict[str, str]) -> None:
    """A translator at work: every entry whose key ends with one of ``translate`` gets that
    text, the fuzzy flags are cleared."""
    store = pypo.pofile.parsefile(str(po))
    for unit in store.units:
        if unit.isheader():
            continue
        key = unit.getcontext().split(" ")[2]
        unit.target = translate.get(key, f"[fr] {unit.source}")
        unit.markfuzzy(False)
    po.write_bytes(bytes(store))


# ---------------------------------------------------------------- the revision


def test_the_revision_follows_what_the_text_says_not_its_layout(catalogue: Path) -> None:
    site = load(catalogue)
    before = source_revision(site.documents[("parking-permit", "en")])
    source = catalogue / "en" / "parking-permit.md"
    # re-wrapping a paragraph, a blank line, and a new review date say nothing new
    edit(source, "With a residents' parking permit, you can park",
         "With a residents' parking permit,\nyou can park")
    edit(source, "## Who can apply\n", "## Who can apply\n\n")
    edit(source, "last_reviewed: 2026-09-15", "last_reviewed: 2026-10-01")
    assert source_revision(load(catalogue).documents[("parking-permit", "en")]) == before
    # a fee amount does: the translation's copy of it is wrong now
    edit(source, "    amount: 60\n", "    amount: 65\n")
    assert source_revision(load(catalogue).documents[("parking-permit", "en")]) != before


def test_changing_one_paragraph_marks_its_translations_outdated_and_nothing_else(
    catalogue: Path,
) -> None:
    before = statuses(load(catalogue))
    assert set(before.values()) == {"source", "current"}
    edit(catalogue / "en" / "parking-permit.md", PARAGRAPH, CHANGED)
    after = statuses(load(catalogue))
    changed = {key: state for key, state in after.items() if before[key] != state}
    assert changed == {("parking-permit", "fr"): "outdated", ("parking-permit", "ar"): "outdated"}

    report = {state.lang: state for state in translation_status(load(catalogue))}
    assert [d.id for d in report["fr"].outdated] == ["parking-permit"]
    assert [d.id for d in report["ar"].outdated] == ["parking-permit"]
    assert report["ar"].missing == ("business-licence",)
    assert report["fr"].missing == ()


def test_the_build_warns_about_each_outdated_translation(catalogue: Path) -> None:
    from publisher.translation import report_freshness

    edit(catalogue / "en" / "parking-permit.md", PARAGRAPH, CHANGED)
    diagnostics = Diagnostics()
    report_freshness(load(catalogue), diagnostics)
    assert [d.code for d in diagnostics.warnings] == ["T001", "T001"]
    assert sorted(d.format().split(":")[0].rsplit("/", 2)[-2] for d in diagnostics.warnings) == [
        "ar", "fr"]


# ---------------------------------------------------------------- export


def test_export_holds_only_the_changed_segments_as_fuzzy_gettext_entries(
    catalogue: Path, tmp_path: Path,
) -> None:
    edit(catalogue / "en" / "parking-permit.md", PARAGRAPH, CHANGED)
    site = load(catalogue)
    exported = export(site, catalogue, "fr")
    store = pypo.pofile(io.BytesIO(exported.data))
    units = [u for u in store.units if not u.isheader()]
    assert [(u.source, u.isfuzzy()) for u in units] == [(CHANGED, True)]
    unit = units[0]
    revision = short(site.documents[("parking-permit", "en")].freshness.revision)  # type: ignore[union-attr]
    assert unit.getcontext() == f"parking-permit {revision} b7"
    assert unit.target == "Chaque foyer peut avoir **deux cartes au maximum**."  # to start from
    assert "#| msgid \"Each household can have **two permits at most**.\"" in exported.data.decode()
    assert "en/parking-permit.md:" in " ".join(unit.getlocations())
    assert "in the section “Who can apply”" in unit.getnotes()
    # gettext itself accepts the file, and so does a second, independent reader
    po = tmp_path / "fr.po"
    po.write_bytes(exported.data)
    subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(po)], check=True)
    assert read_po(io.BytesIO(exported.data)).locale is not None
    # a copy of the source at the exported revision is kept for the import
    assert (catalogue / ".revisions" / "parking-permit" / f"{revision}.md.txt").is_file()


def test_export_of_a_missing_translation_holds_every_segment(catalogue: Path) -> None:
    site = load(catalogue)
    exported = export(site, catalogue, "ar")
    assert [(s.service, s.mode) for s in exported.services] == [("business-licence", "new")]
    store = pypo.pofile(io.BytesIO(exported.data))
    sources = [u.source for u in store.units if not u.isheader()]
    text = (catalogue / "en" / "business-licence.md").read_text(encoding="utf-8")
    assert sources == [segment.text for segment in segments(text)]


# ---------------------------------------------------------------- import


def test_export_fill_in_import_brings_the_translation_up_to_date_with_its_structure(
    catalogue: Path, tmp_path: Path,
) -> None:
    source = catalogue / "en" / "parking-permit.md"
    edit(source, PARAGRAPH, CHANGED)
    edit(source, "| Motorcycle or scooter | €10 |", "| Motorcycle, scooter or moped | €10 |")
    edit(source, "3. Pay the fee by card, online or at the counter.",
         "3. Pay the fee by card or bank transfer, online or at the counter.")
    french = catalogue / "fr" / "parking-permit.md"
    before = french.read_text(encoding="utf-8")
    po = tmp_path / "fr.po"
    assert main(["translate", "export", "--lang", "fr", "--content", str(catalogue),
                 "--out", str(po)]) == 0
    translated = {
        "b7": "Chaque foyer peut avoir **trois cartes au maximum**, voir "
              "[les tarifs](#how-much-it-costs).",
        "b10.r4.c0": "Moto, scooter ou cyclomoteur",
        "b17": "Payez par carte ou par virement, en ligne ou au guichet.",
    }
    fill(po, translated)
    assert main(["translate", "import", str(po), "--content", str(catalogue)]) == 0

    site = load(catalogue)
    assert site.status("parking-permit", "fr") == "current"
    assert site.status("parking-permit", "ar") == "outdated"
    fr, en = site.documents[("parking-permit", "fr")], site.documents[("parking-permit", "en")]
    assert shape(fr) == shape(en)
    after = french.read_text(encoding="utf-8")
    # the new translations are in, the anchor follows the French heading
    assert "**trois cartes au maximum**, voir [les tarifs](#combien-ça-coûte)." in after
    assert "| Moto, scooter ou cyclomoteur | 10 € |" in after
    assert "3. Payez par carte ou par virement, en ligne ou au guichet." in after
    # everything else is the translator's earlier work, line for line
    changed = [line for line in after.split("\n") if line not in before.split("\n")]
    assert len(changed) == 4, changed  # three segments and the recorded revision
    assert re.search(r"^source_revision: [0-9a-f]{16}$", after, re.M)


def test_a_missing_translation_is_created_by_the_import(catalogue: Path, tmp_path: Path) -> None:
    po = tmp_path / "ar.po"
    assert main(["translate", "export", "--lang", "ar", "--content", str(catalogue),
                 "--out", str(po)]) == 0
    store = pypo.pofile.parsefile(str(po))
    for unit in store.units:
        if not unit.isheader():
            # keep the Markdown marks and addresses, as the note asks
            unit.target = re.sub(r"(?<![\w(*\[`/.:-])([A-Za-z]{3,})(?![\w)]*\))", "عربي",
                                 unit.source)
    po.write_bytes(bytes(store))
    assert main(["translate", "import", str(po), "--content", str(catalogue)]) == 0
    site = load(catalogue)
    assert site.status("business-licence", "ar") == "current"
    assert shape(site.documents[("business-licence", "ar")]) == shape(
        site.documents[("business-licence", "en")])


def test_untranslated_or_fuzzy_entries_stop_the_import_of_that_service(
    catalogue: Path, tmp_path: Path,
) -> None:
    edit(catalogue / "en" / "parking-permit.md", PARAGRAPH, CHANGED)
    french = catalogue / "fr" / "parking-permit.md"
    before = french.read_text(encoding="utf-8")
    po = tmp_path / "fr.po"
    po.write_bytes(export(load(catalogue), catalogue, "fr").data)  # the fuzzy entry as is
    diagnostics = Diagnostics()
    result = import_file(po, catalogue, diagnostics)
    assert result.written == []
    assert [d.code for d in diagnostics.errors] == ["T203"]
    assert french.read_text(encoding="utf-8") == before


def test_a_translation_that_loses_a_link_address_is_refused(
    catalogue: Path, tmp_path: Path,
) -> None:
    edit(catalogue / "en" / "parking-permit.md", PARAGRAPH, CHANGED)
    po = tmp_path / "fr.po"
    po.write_bytes(export(load(catalogue), catalogue, "fr").data)
    fill(po, {"b7": "Chaque foyer peut avoir **trois cartes au maximum**, voir les tarifs."})
    diagnostics = Diagnostics()
    assert import_file(po, catalogue, diagnostics).written == []
    assert [d.code for d in diagnostics.errors] == ["T204"]


def test_mark_records_a_translation_updated_by_hand(catalogue: Path) -> None:
    edit(catalogue / "en" / "parking-permit.md", PARAGRAPH, CHANGED)
    edit(catalogue / "fr" / "parking-permit.md",
         "Chaque foyer peut avoir **deux cartes au maximum**.",
         "Chaque foyer peut avoir **trois cartes au maximum**, voir "
         "[les tarifs](#combien-ça-coûte).")
    assert main(["translate", "mark", "--lang", "fr", "parking-permit",
                 "--content", str(catalogue)]) == 0
    site = load(catalogue)
    assert site.status("parking-permit", "fr") == "current"
    assert site.status("parking-permit", "ar") == "outdated"
    # only the one line changed in the front matter
    text = (catalogue / "fr" / "parking-permit.md").read_text(encoding="utf-8")
    assert text.count("source_revision:") == 1


def test_the_freshness_rides_on_every_document_of_a_site(catalogue: Path) -> None:
    site = load(catalogue)
    doc = site.documents[("parking-permit", "fr")]
    stale = dataclasses.replace(doc, record=doc.record.model_copy(
        update={"source_revision": "0" * 16}), freshness=None)
    rebuilt = Site(site.config, {**site.documents, ("parking-permit", "fr"): stale})
    assert rebuilt.status("parking-permit", "fr") == "outdated"
    assert rebuilt.status("business-licence", "ar") == "missing"
