"""The build engine: incremental rules, the atomic swap under kill -9, determinism, Dask."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from publisher.build import BuildOptions, BuildResult, build, formats_dir

from .conftest import service_text, tree_digest

FAST = ["html", "braille"]


def run(content: Path, out: Path, **options: object) -> BuildResult:
    values: dict[str, object] = {"formats": FAST, "audit": False, "jobs": 1}
    values.update(options)
    result = build(BuildOptions(content_dir=content, out_dir=out, **values))  # type: ignore[arg-type]
    assert result.published, [d.format() for d in result.diagnostics]
    return result


def rendered(result: BuildResult) -> set[tuple[str | None, str | None, str]]:
    return {(t.service, t.lang, t.writer) for t in result.rendered}


def stat_of(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(folder).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


def test_no_change_rewrites_nothing(content: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    first = run(content, out)
    assert rendered(first) == {(s, lang, w) for s in ["sample"] for lang in ["en", "fr"]
                               for w in FAST}
    before = stat_of(out)
    again = run(content, out)
    assert again.unchanged and rendered(again) == set()
    assert stat_of(out) == before, "every file keeps its bytes, inode and modification time"


def test_editing_a_translation_rebuilds_only_that_language(content: Path, tmp_path: Path
                                                          ) -> None:
    out = tmp_path / "site"
    run(content, out)
    before = stat_of(out)
    page = content / "fr" / "sample.md"
    page.write_text(page.read_text().replace("Du texte.", "Un autre texte."))
    result = run(content, out)
    assert rendered(result) == {("sample", "fr", "html"), ("sample", "fr", "braille")}
    after = stat_of(out)
    assert after["en/sample/index.html"] == before["en/sample/index.html"]
    assert after["en/sample/sample-en.brf"] == before["en/sample/sample-en.brf"]
    assert after["fr/sample/index.html"] != before["fr/sample/index.html"]


def test_editing_a_source_rebuilds_it_and_its_translations(content: Path, tmp_path: Path
                                                          ) -> None:
    # a translation's outputs say whether it is up to date with its source, so they depend on it
    out = tmp_path / "site"
    run(content, out)
    page = content / "en" / "sample.md"
    page.write_text(page.read_text().replace("Some text.", "Other text."))
    assert rendered(run(content, out)) == {(s, lang, w) for s in ["sample"]
                                           for lang in ["en", "fr"] for w in FAST}


def test_changing_a_template_rebuilds_exactly_what_uses_it(content: Path, tmp_path: Path
                                                          ) -> None:
    templates = tmp_path / "formats"
    shutil.copytree(formats_dir(), templates)
    out = tmp_path / "site"
    run(content, out, formats_dir=templates)
    service = templates / "html" / "templates" / "service.html"
    service.write_text(service.read_text().replace("<article class=\"service\">",
                                                   "<article class=\"service changed\">"))
    result = run(content, out, formats_dir=templates)
    assert rendered(result) == {("sample", "en", "html"), ("sample", "fr", "html")}
    assert b"service changed" in (out / "en/sample/index.html").read_bytes()


def test_changing_the_configuration_rebuilds_everything(content: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    run(content, out)
    config = content / "site.yaml"
    config.write_text(config.read_text().replace("Test Town", "Test City"))
    assert len(rendered(run(content, out))) == 4


# ------------------------------------------------------------------ no-op and reading


def test_a_no_op_build_does_not_read_the_content_again(
    content: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no input changed, the last build's stamp answers: nothing is parsed or rendered,
    and the build says what the last one said."""
    out = tmp_path / "site"
    first = run(content, out)
    before = stat_of(out)

    def no_reading(*args: object, **kwargs: object) -> None:
        raise AssertionError("the content was read again")

    monkeypatch.setattr("publisher.build.load_site", no_reading)
    again = run(content, out)
    assert again.unchanged and rendered(again) == set()
    assert again.formats == first.formats and again.services == first.services
    assert [d.format() for d in again.diagnostics] == [d.format() for d in first.diagnostics]
    assert stat_of(out) == before


def test_without_the_stamp_a_no_op_still_replaces_nothing(content: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    run(content, out)
    before = stat_of(out)
    (tmp_path / ".site.cache" / "last-build.json").unlink()
    again = run(content, out)
    assert again.unchanged and rendered(again) == set()
    assert stat_of(out) == before


def test_an_output_file_edited_by_hand_is_restored(content: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    run(content, out)
    page = out / "en" / "sample" / "index.html"
    published = page.read_bytes()
    page.write_bytes(published.replace(b"Some text.", b"Vandalised."))
    again = run(content, out)
    assert not again.unchanged
    assert page.read_bytes() == published
    (out / "en" / "sample" / "sample-en.brf").unlink()
    assert not run(content, out).unchanged
    assert (out / "en" / "sample" / "sample-en.brf").is_file()


def test_reading_parses_only_the_files_that_changed(
    content: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from publisher.parse import BodyParser

    out = tmp_path / "site"
    run(content, out)
    parsed: list[str] = []
    original = BodyParser.parse

    def counting(self: BodyParser, body: str) -> object:
        parsed.append(self.source.as_posix())
        return original(self, body)

    monkeypatch.setattr(BodyParser, "parse", counting)
    page = content / "fr" / "sample.md"
    page.write_text(page.read_text().replace("Du texte.", "Un autre texte."))
    run(content, out)
    assert parsed == ["fr/sample.md"]


def test_a_cached_parse_is_checked_against_the_files_it_links_to(
    content: Path, tmp_path: Path
) -> None:
    """sample.md does not change, but the service it links to goes: its cached parse must not
    hide the broken link."""
    other = content / "en" / "other.md"
    other.write_text(service_text(id="other", title="Other service", body="Text.\n"))
    page = content / "en" / "sample.md"
    page.write_text(page.read_text().replace("Some text.", "See [the other](other.md)."))
    out = tmp_path / "site"
    run(content, out)
    other.unlink()
    result = build(BuildOptions(content_dir=content, out_dir=out, formats=FAST, audit=False,
                                jobs=1))
    assert not result.published
    assert [(d.code, d.span.path if d.span else "") for d in result.diagnostics.errors] == [
        ("C207", str(page.relative_to(Path.cwd())) if page.is_relative_to(Path.cwd())
         else str(page))]


def test_a_cached_parse_is_checked_against_the_images_it_shows(
    content: Path, tmp_path: Path
) -> None:
    """The image goes, then comes back as a link to a file outside the content folder: each
    time sample.md's cached parse must not hide it (without links in the folder, the content
    table answers which files exist; with one, the file system is asked)."""
    image = content / "images" / "map.png"
    image.parent.mkdir()
    image.write_bytes(_PNG)
    page = content / "en" / "sample.md"
    page.write_text(page.read_text().replace("Some text.", "![A map](../images/map.png)"))
    out = tmp_path / "site"
    assert run(content, out).published
    shown = str(page.relative_to(Path.cwd())) if page.is_relative_to(Path.cwd()) else str(page)
    image.unlink()
    result = build(BuildOptions(content_dir=content, out_dir=out, formats=FAST, audit=False,
                                jobs=1))
    assert [(d.code, d.span.path if d.span else "") for d in result.diagnostics.errors] == [
        ("C205", shown)]
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(_PNG)
    image.symlink_to(outside)
    result = build(BuildOptions(content_dir=content, out_dir=out, formats=FAST, audit=False,
                                jobs=1))
    assert [(d.code, d.span.path if d.span else "") for d in result.diagnostics.errors] == [
        ("C206", shown)]


#: a 1×1 PNG
_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8ffff3f0005fe02fea7d6a48f0000000049454e44ae426082")


def test_a_cached_parse_leaves_the_body_and_record_packed_until_read(content: Path,
                                                                      tmp_path: Path) -> None:
    """Loading from the cache unpickles neither bodies nor records; the site-wide lists read
    the records' summaries; what a writer reads is unpickled once and equals a fresh parse."""
    from publisher.cache import Store
    from publisher.diagnostics import Diagnostics
    from publisher.load import load_site
    from publisher.model import PackedRecord, RecordSummary

    store = Store(tmp_path / "cache")
    first = load_site(content, Diagnostics(), store=store)
    store.prune()
    again = load_site(content, Diagnostics(), store=Store(tmp_path / "cache"))
    assert first is not None and again is not None
    again.in_language("fr")  # sorts by title
    for key, doc in again.documents.items():
        assert isinstance(doc.__dict__["_blocks"], bytes), "not unpickled by loading"
        assert isinstance(doc.__dict__["_record"], PackedRecord), "not unpickled by loading"
        assert doc.summary == RecordSummary.of(first.documents[key].record)
        assert doc.id == key[0] and doc.freshness == first.documents[key].freshness
        assert doc.blocks == first.documents[key].blocks
        assert isinstance(doc.__dict__["_blocks"], tuple), "unpickled once, then kept"
        assert doc.record == first.documents[key].record
        assert not isinstance(doc.__dict__["_record"], PackedRecord), "unpickled, then kept"
        assert doc == first.documents[key]


def test_site_wide_lists_follow_front_matter_edits_not_body_edits(content: Path,
                                                                  tmp_path: Path) -> None:
    """The open data, feeds, catalogue pages and sitemap are remade from cached parts keyed by
    the records: a body edit leaves their bytes alone, a front-matter edit shows in each."""
    out = tmp_path / "site"
    lists = ["data/catalogue.jsonld", "data/catalogue.csv", "feeds/fr.xml", "fr/index.html",
             "sitemap.xml"]
    run(content, out)
    before = {name: (out / name).read_bytes() for name in lists}
    page = content / "fr" / "sample.md"
    page.write_text(page.read_text().replace("Du texte.", "Un autre texte."))
    run(content, out)
    assert {name: (out / name).read_bytes() for name in lists} == before
    page.write_text(page.read_text().replace("title: Service exemple",
                                             "title: Service renommé"))
    run(content, out)
    for name in lists[:4]:
        assert "Service renommé" in (out / name).read_text(encoding="utf-8"), name
    assert "Service exemple" not in (out / "feeds" / "fr.xml").read_text(encoding="utf-8")
    fresh = run(content, tmp_path / "fresh", use_cache=False)
    assert fresh.published
    for name in [*lists, "index.html", "en/index.html"]:
        assert (out / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes(), name


def test_unchanged_content_files_are_not_read_to_know_they_are_unchanged(
    content: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    from publisher.cache import content_state

    old = time.time_ns() - 10**10  # older than the racy window
    for path in content.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(old, old))
    first_key, table, no_links = content_state(content, {})
    assert set(table) == {"site.yaml", "en/sample.md", "fr/sample.md"} and no_links
    opened: list[str] = []
    real_open = builtins.open

    def spy(file: object, *args: object, **kwargs: object) -> object:
        opened.append(str(file))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(builtins, "open", spy)
    assert content_state(content, table) == (first_key, table, True)
    assert opened == []
    page = content / "fr" / "sample.md"
    page.write_text(page.read_text().replace("Du texte.", "Un texte."))
    key, _, _ = content_state(content, table)
    assert key != first_key and opened == [str(page)]


def test_a_file_changed_within_the_clock_tick_of_a_scan_is_read_again(content: Path) -> None:
    """Same size, same modification time (a second write in the same tick of the file system's
    clock): a file that recent when scanned is not trusted by its stat on the next scan."""
    from publisher.cache import content_state

    page = content / "fr" / "sample.md"
    first_key, table, _ = content_state(content, {})
    assert table["fr/sample.md"][1] == 0, "written just now: listed with no time, not trusted"
    mtime = page.stat().st_mtime_ns
    page.write_text(page.read_text().replace("Du texte.", "Du teste."))
    os.utime(page, ns=(mtime, mtime))
    assert content_state(content, table)[0] != first_key


def test_the_next_output_is_assembled_in_the_tree_taken_out_of_service(
    content: Path, tmp_path: Path
) -> None:
    """After a swap, the old output stays beside the new one as the spare tree; the next build
    updates it in place and swaps again. Each output is exactly what a build from nothing
    makes, and a service removed in between leaves no file or folder behind."""
    from publisher.build import spare_dir

    out = tmp_path / "site"
    other = content / "en" / "other.md"
    other.write_text(service_text(id="other", title="Other service", body="Text.\n"))
    run(content, out)
    first = tree_digest(out)
    assert tree_digest(spare_dir(out)) == first, "a first build leaves a copy as the spare"
    assert (spare_dir(out) / "index.html").stat().st_ino == (out / "index.html").stat().st_ino
    assert not list(tmp_path.glob(".site.new-*")), "the copy was made under a staging name"
    page = content / "fr" / "sample.md"
    page.write_text(page.read_text().replace("Du texte.", "Un autre texte."))
    run(content, out)
    assert tree_digest(spare_dir(out)) == first, "the spare is the previous output"
    spare_inode = spare_dir(out).stat().st_ino
    other.unlink()
    page.write_text(page.read_text().replace("Un autre texte.", "Un troisième texte."))
    run(content, out)
    assert out.stat().st_ino == spare_inode, "the spare was updated and swapped in"
    fresh = tmp_path / "fresh"
    run(content, fresh, use_cache=False)
    assert tree_digest(out) == tree_digest(fresh)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == sorted(
        p.relative_to(fresh) for p in fresh.rglob("*")), "no folder of the removed service"


def test_whatever_is_in_the_spare_tree_the_output_is_right(content: Path, tmp_path: Path
                                                          ) -> None:
    from publisher.build import spare_dir

    out = tmp_path / "site"
    run(content, out)
    page = content / "fr" / "sample.md"
    page.write_text(page.read_text().replace("Du texte.", "Un autre texte."))
    run(content, out)
    spare = spare_dir(out)
    (spare / "stray.txt").write_text("left by hand")
    (spare / "en" / "stray" / "deep").mkdir(parents=True)
    shutil.rmtree(spare / "fr" / "sample")
    (spare / "fr" / "sample").write_text("a file where a folder was")
    brf = spare / "en" / "sample" / "sample-en.brf"
    brf.unlink()
    brf.symlink_to(tmp_path / "elsewhere")
    (spare / "index.html").unlink()
    (spare / "index.html").mkdir()
    page.write_text(page.read_text().replace("Un autre texte.", "Encore un texte."))
    run(content, out)
    fresh = tmp_path / "fresh"
    run(content, fresh, use_cache=False)
    assert tree_digest(out) == tree_digest(fresh)
    assert not (tmp_path / "elsewhere").exists()


def test_a_damaged_cache_file_is_rendered_again_not_published(content: Path,
                                                                tmp_path: Path) -> None:
    """Cached files are read only when needed; one whose bytes no longer match its hash (same
    size, other bytes) is found then, dropped, and its task rendered again."""
    import json as jsonlib

    out, cache = tmp_path / "site", tmp_path / "cache"
    run(content, out, cache_dir=cache)
    entry = jsonlib.loads((out / "manifest.json").read_bytes())
    brf = next(e for e in entry["artifacts"] if e["path"] == "en/sample/sample-en.brf")
    blob = cache / "blobs" / brf["sha256"][:2] / brf["sha256"]
    blob.write_bytes(b"x" * blob.stat().st_size)
    (out / "en" / "sample" / "sample-en.brf").unlink()  # so the blob's bytes are needed
    result = run(content, out, cache_dir=cache)
    assert ("sample", "en", "braille") in rendered(result)
    fresh = tmp_path / "fresh"
    run(content, fresh, use_cache=False)
    assert tree_digest(out) == tree_digest(fresh)


def test_parallel_and_serial_builds_are_identical(content: Path, tmp_path: Path) -> None:
    serial = run(content, tmp_path / "serial", use_cache=False)
    parallel = run(content, tmp_path / "parallel", jobs=2, use_cache=False)
    assert serial.published and parallel.published
    assert tree_digest(tmp_path / "serial") == tree_digest(tmp_path / "parallel")


def test_every_format_is_deterministic(content: Path, tmp_path: Path) -> None:
    """Two builds of every format, without the cache, give byte-identical files."""
    first = run(content, tmp_path / "a", formats=None, use_cache=False, jobs=2)
    second = run(content, tmp_path / "b", formats=None, use_cache=False, jobs=2)
    formats = {a.format for a in first.artifacts}
    assert {"html", "pdf-print", "pdf-large-print", "pdf-poster", "brf", "pef", "mp3", "vtt",
            "transcript"} <= formats
    a, b = tree_digest(tmp_path / "a"), tree_digest(tmp_path / "b")
    assert sorted(p for p in a.keys() | b.keys() if a.get(p) != b.get(p)) == []
    assert len(second.artifacts) == len(first.artifacts)


def test_a_killed_build_leaves_the_old_output_intact(content: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    command = [sys.executable, "-m", "publisher.cli", "build", "--content", str(content),
               "--out", str(out), "--formats", "html,braille", "-q", "--fail-on", "none"]
    assert subprocess.run(command, capture_output=True, check=False).returncode == 0
    before = tree_digest(out)
    page = content / "en" / "sample.md"
    page.write_text(page.read_text().replace("Some text.", "Changed text."))
    generator = random.Random(11)
    for attempt in range(5):
        process = subprocess.Popen([*command, "--no-cache"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(generator.uniform(0.3, 6.0))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        assert tree_digest(out) == before, f"attempt {attempt}: the output changed"
    # the next build cleans what the killed ones left and publishes
    assert subprocess.run(command, capture_output=True, check=False).returncode == 0
    assert tree_digest(out) != before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site.new-")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[str]:
    """A real Dask scheduler and two workers, on loopback, as separate processes."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    bin_dir = Path(sys.executable).parent
    logs = (tmp_path / "dask.log").open("wb")
    scheduler = subprocess.Popen(
        [str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
         "--no-dashboard"], stdout=logs, stderr=logs, cwd=tmp_path)
    workers = [
        subprocess.Popen([str(bin_dir / "dask"), "worker", address, "--nthreads", "1",
                          "--no-dashboard", "--local-directory", str(tmp_path / f"w{i}")],
                         stdout=logs, stderr=logs, cwd=tmp_path)
        for i in range(2)
    ]
    try:
        from distributed import Client

        deadline = time.time() + 60
        while True:
            try:
                with Client(address, timeout=5) as client:  # type: ignore[no-untyped-call]
                    client.wait_for_workers(2, timeout=30)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        yield address
    finally:
        for process in [*workers, scheduler]:
            process.terminate()
        for process in [*workers, scheduler]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        logs.close()


def test_dask_build_is_identical_to_the_local_build(
    content: Path, tmp_path: Path, dask_cluster: str
) -> None:
    local = run(content, tmp_path / "local", use_cache=False)
    remote = run(content, tmp_path / "remote", use_cache=False, scheduler=dask_cluster)
    assert remote.rendered_tasks == local.rendered_tasks == 4
    assert tree_digest(tmp_path / "local") == tree_digest(tmp_path / "remote")


def test_a_load_that_parsed_many_files_leaves_no_garbage(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """Parsing leaves cycles (markdown-it's token trees); the build freezes the loaded site for
    the collector, so a load that parsed many files must collect them first, or every forked
    worker keeps them (it did: 60 MiB each on a thousand services). A load that parsed few does
    not pay for a scan of the whole site."""
    import gc

    from publisher import load
    from publisher.diagnostics import Diagnostics

    from .conftest import CONTENT

    gc.collect()
    monkeypatch.setattr(load, "COLLECT_AFTER_PARSES", 10**9)
    assert load.load_site(CONTENT, Diagnostics()) is not None
    assert gc.collect() > 1000, "the example's parses leave garbage (what this test is about)"
    monkeypatch.setattr(load, "COLLECT_AFTER_PARSES", 0)
    assert load.load_site(CONTENT, Diagnostics()) is not None
    assert gc.collect() == 0


def test_a_rebuild_warns_of_the_same_missing_interface_strings(tmp_path: Path) -> None:
    """Pages taken from the cache (a service's page, a language's catalogue) still say which
    interface strings their language's catalogue lacks: the warnings do not depend on what the
    cache held."""
    folder = tmp_path / "content"
    for lang in ("en", "de"):
        (folder / lang).mkdir(parents=True)
    (folder / "site.yaml").write_text(
        "organisation:\n  en: Test Town\n  de: Teststadt\n"
        "base_url: https://test.example/\ndefault_language: en\n"
        "languages:\n  - code: en\n    name: English\n  - code: de\n    name: Deutsch\n"
        "accessibility_contact:\n  email: a11y@test.example\n"
        "topics:\n  transport:\n    en: Transport\n    de: Verkehr\n", encoding="utf-8")
    for id in ("one", "two"):
        (folder / "en" / f"{id}.md").write_text(
            service_text(id=id, title=f"Service {id}", body="## What it is\n\nSome text.\n"),
            encoding="utf-8")
        (folder / "de" / f"{id}.md").write_text(
            service_text(id=id, title=f"Dienst {id}", body="## Was es ist\n\nEin Text.\n"),
            encoding="utf-8")

    def build_it() -> tuple[list[str], int]:
        result = build(BuildOptions(content_dir=folder, out_dir=tmp_path / "site",
                                    cache_dir=tmp_path / "cache", formats=["html"], audit=False,
                                    jobs=1))
        assert result.published, [d.format() for d in result.diagnostics.errors]
        return sorted(d.message for d in result.diagnostics.warnings
                      if d.code == "I001"), result.cached_tasks

    first, cached = build_it()
    assert cached == 0 and first and all("no 'de' translation" in m for m in first)
    # an edit of one English page: the German pages and the German catalogue come from the cache
    page = folder / "en" / "one.md"
    page.write_text(page.read_text(encoding="utf-8").replace("Some text.", "Other text."),
                    encoding="utf-8")
    again, cached = build_it()
    assert cached > 0
    assert again == first
