"""Hostile and broken input: the catalogue of bad inputs in the README, one test per entry.

Each entry damages a valid content folder in one way and checks, through the real ``publish
build`` command, that the run fails with the documented code at the right file, line and column,
that the message says what to do, and that the previously published site is left byte for byte
as it was. The entries already covered by ``test_bad_input.py`` (YAML syntax, missing, unknown and
mistyped fields, bad dates, unknown language, duplicate id, not UTF-8, missing service, raw HTML,
skipped heading, missing alt text, ``javascript:``, ``..`` links, the site configuration, a
translation without source) are not repeated here.

The resource limits (C212–C214, C112, YAML bombs) run in a child process with a time limit and a
memory limit, so that a regression that hangs or swells fails the test instead of blocking CI.
"""

from __future__ import annotations

import multiprocessing
import resource
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from publisher.build import check_paths, formats_dir
from publisher.cli import EXIT_CONTENT
from publisher.diagnostics import Diagnostics, Severity
from publisher.i18n import Locale
from publisher.load import load_site
from publisher.writers import Artifact, RenderContext, Site, registry
from publisher.writers.braille import (
    back_translate,
    braille_options,
    from_ascii,
    resolve_tables,
    table_names,
)

from .conftest import build_cli, service_text, tree_digest

PNG = (  # a 1×1 transparent PNG
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


def edit(path: Path, old: str, new: str) -> Path:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def body(content: Path, markdown: str, name: str = "en/sample.md") -> Path:
    """Replace the body of a service file (front matter ends on line 15; the body starts on
    line 16)."""
    (content / name).write_text(service_text(body=markdown), encoding="utf-8")
    return content / name


def names(line: str, where: str) -> bool:
    """Whether a printed diagnostic starts with ``where`` (file[:line[:column]]), however the
    file's path is shown (relative to the working folder, or absolute)."""
    place = line.partition(": ")[0] + ":"
    return place.startswith(where) or f"/{where}" in place


def link(path: Path, target: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)
    return path


def outside_file(content: Path, name: str, data: bytes) -> Path:
    """A file beside (not inside) the content folder, as a symbolic link's target."""
    target = content.parent / "outside" / name
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(data)
    return target


# -------------------------------------------------------------------- the catalogue

Damage = Callable[[Path], object]

#: name → (damage, "file:line[:column]", code, words of the message, words of the hint)
CATALOGUE: dict[str, tuple[Damage, str, str, str, str]] = {
    "empty-file": (
        lambda c: (c / "en/empty.md").write_bytes(b"  \n\n"),
        "en/empty.md", "C110", "the file is empty", "write the front matter",
    ),
    "binary-file": (
        lambda c: (c / "en/photo.md").write_bytes(PNG),
        "en/photo.md", "C111", "the file is binary", "Markdown text files",
    ),
    "file-too-large": (
        lambda c: [
            edit(c / "site.yaml", "default_language: en", "default_language: en\n"
                 "max_file_bytes: 2000"),
            (c / "en/long.md").write_text(service_text(id="long", body="word " * 500)),
        ],
        "en/long.md", "C112", "over the limit of 2,000", "raise max_file_bytes",
    ),
    "no-front-matter": (
        lambda c: (c / "en/plain.md").write_text("Just some text.\n"),
        "en/plain.md:1:1", "C109", "does not start with front matter", "begin the file",
    ),
    "front-matter-not-closed": (
        lambda c: (c / "en/open.md").write_text("---\nid: open\ntitle: Open\n"),
        "en/open.md:1:1", "C109", "front matter is not closed", "add a line '---'",
    ),
    "duplicate-yaml-key": (
        lambda c: edit(c / "en/sample.md", "owner: Test Department",
                       "owner: Test Department\nowner: Other Department"),
        "en/sample.md:14:1", "C115", "'owner' is given twice", "keep one of them",
    ),
    "yaml-alias-bomb": (
        lambda c: edit(c / "en/sample.md", "audience: [Residents]",
                       'audience: &a ["lol", "lol", "lol", "lol"]\nkeywords: [*a, *a, *a]'),
        "en/sample.md:7:12", "C101", "alias '*a'", "write the value out",
    ),
    "yaml-too-deep": (
        lambda c: edit(c / "en/sample.md", "audience: [Residents]",
                       "audience: " + "[" * 30 + "Residents" + "]" * 30),
        "en/sample.md:6:", "C101", "nested more than 20 levels", "check the indentation",
    ),
    "yaml-control-character": (
        lambda c: edit(c / "en/sample.md", "owner: Test", "owner: \x07Test"),
        "en/sample.md:13:8", "C101", "the character U+0007, which YAML does not allow",
        "remove it",
    ),
    "unknown-topic": (
        lambda c: edit(c / "en/sample.md", "topic: transport", "topic: transprot"),
        "en/sample.md:5:1", "C113", "unknown topic 'transprot'", "did you mean 'transport'?",
    ),
    "channel-location-not-listed": (
        lambda c: edit(c / "en/sample.md", "  - type: phone\n    phone: \"+33 4 00 00 00 00\"",
                       "  - type: in-person\n    location: town-hall"),
        "en/sample.md:9:5", "C114", "the location 'town-hall'", "add it under 'locations'",
    ),
    "channel-without-its-address": (
        lambda c: edit(c / "en/sample.md", "    phone: \"+33 4 00 00 00 00\"", "    label: Call"),
        "en/sample.md:8:5", "C102", "the phone channel has no 'phone'", "add 'phone:'",
    ),
    "reserved-id": (
        lambda c: edit(c / "en/sample.md", "id: sample", "id: accessibility"),
        "en/sample.md:2:1", "C106", "reserved for the site's own pages", "choose another id",
    ),
    "id-that-is-a-path": (
        lambda c: edit(c / "en/sample.md", "id: sample", "id: ../../etc"),
        "en/sample.md:2:1", "C106", "'id' has an invalid value", "allowed values",
    ),
    "channel-url-javascript": (
        lambda c: edit(c / "en/sample.md", "  - type: phone\n    phone: \"+33 4 00 00 00 00\"",
                       "  - type: online\n    url: \"javascript:alert(1)\""),
        "en/sample.md:9:5", "C209", "'channels.0.url' must be a web address",
        "write the full address",
    ),
    "contact-url-data": (
        lambda c: edit(c / "en/sample.md", "  email: contact@test.example",
                       "  email: contact@test.example\n"
                       "  url: \"data:text/html,<script>x</script>\""),
        "en/sample.md:13:3", "C209", "'contact.url' must be a web address",
        "write the full address",
    ),
    "image-missing": (
        lambda c: body(c, "## Map\n\n![The town centre](../images/map.png)\n"),
        "en/sample.md:18:20", "C205", "the image file '../images/map.png' does not exist",
        "add images/map.png",
    ),
    "image-outside-content": (
        lambda c: body(c, "## Map\n\n![Secrets](../../../etc/passwd)\n"),
        "en/sample.md:18:12", "C206", "leads outside the content folder",
        "only files inside the content folder",
    ),
    "image-absolute-path": (
        lambda c: body(c, "## Map\n\n![Secrets](/etc/passwd)\n"),
        "en/sample.md:18:12", "C206", "is absolute", "relative to this file",
    ),
    "image-symlink-outside": (
        lambda c: [
            link(c / "images/map.png", outside_file(c, "secret.png", PNG)),
            body(c, "## Map\n\n![The town centre](../images/map.png)\n"),
        ],
        "en/sample.md:18:20", "C206", "symbolic link to outside the content folder",
        "copy the file into the content folder",
    ),
    "service-file-symlink-outside": (
        lambda c: link(c / "en/evil.md",
                       outside_file(c, "evil.md", service_text(id="evil").encode())),
        "en/evil.md", "C206", "symbolic link to outside the content folder",
        "copy the file into the content folder",
    ),
    "image-data-url": (
        lambda c: body(c, "## Map\n\n![A dot](data:image/png;base64,iVBORw0KGgo=)\n"),
        "en/sample.md:18:10", "C209", "not data: addresses", "save the image under content/images/",
    ),
    "link-data-url": (
        lambda c: body(c, "## Go\n\n[Click](data:text/html,<script>alert(1)</script>)\n"),
        "en/sample.md:18:9", "C209", "links with 'data:' are not allowed", "use an https://",
    ),
    "link-vbscript-mixed-case": (
        lambda c: body(c, "## Go\n\n[Click](VbScript:msgbox)\n"),
        "en/sample.md:18:9", "C209", "links with 'vbscript:' are not allowed", "use an https://",
    ),
    "link-missing-anchor": (
        lambda c: body(c, "## Fees\n\nSee [the steps](#steps).\n"),
        "en/sample.md:18:1", "C208", "a section '#steps' that does not exist", "anchor",
    ),
    "link-missing-anchor-in-other-service": (
        lambda c: [
            (c / "en/other.md").write_text(service_text(id="other", body="## Fees\n\nFree.\n")),
            (c / "fr/other.md").write_text(service_text(id="other", body="## Frais\n\nx\n")),
            body(c, "## Costs\n\nSee [its fees](other.md#fess).\n"),
        ],
        "en/sample.md:18:1", "C208", "a section '#fess' that does not exist",
        "did you mean 'fees'?",
    ),
    "link-to-a-file-that-is-not-a-service": (
        lambda c: body(c, "## Config\n\nSee [the settings](../site.yaml).\n"),
        "en/sample.md:18:20", "C210", "does not point to a service description", ".md file",
    ),
    "link-without-text": (
        lambda c: body(c, "## Go\n\n[](https://example.org/)\n"),
        "en/sample.md:18:4", "C211", "has no text", "write the words",
    ),
    "heading-level-1-in-body": (
        lambda c: body(c, "# Again the title\n"),
        "en/sample.md:16:1", "C203", "a level-1 heading", "start sections at ##",
    ),
    "raw-html-inline-in-heading": (
        lambda c: body(c, "## Hello <img src=x onerror=alert(1)>\n"),
        "en/sample.md:16:10", "C201", "raw HTML is not allowed", "write it in Markdown",
    ),
    "nesting-too-deep": (
        lambda c: body(c, "## Steps\n\n" + "".join("  " * i + f"- step {i}\n" for i in range(25))),
        "en/sample.md:38:1", "C212", "nested more than 20 levels", "flatten",
    ),
    "emphasis-too-deep": (
        lambda c: body(c, "## Steps\n\n" + "*" * 60 + "deep" + "*" * 60 + "\n"),
        "en/sample.md:18:1", "C212", "nested more than 20 levels", "flatten",
    ),
    "line-too-long": (
        lambda c: body(c, "## Steps\n\n" + "word " * 2500 + "\n"),
        "en/sample.md:18:10001", "C213", "12,500 characters long, over the limit of 10,000",
        "raise max_line_chars",
    ),
    "table-too-wide": (
        lambda c: body(c, "## Prices\n\n|" + "a|" * 30 + "\n|" + "-|" * 30 + "\n|" + "1|" * 30),
        "en/sample.md:19:1", "C214", "the table has 30 columns, over the limit of 20",
        "raise max_table_columns",
    ),
}


@pytest.mark.parametrize("case", sorted(CATALOGUE))
def test_catalogue_entry_is_reported_and_output_kept(
    case: str, content: Path, published: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damage, where, code, words, hint = CATALOGUE[case]
    before = tree_digest(published)
    capsys.readouterr()
    damage(content)
    assert build_cli(content, published) == EXIT_CONTENT
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if f"error[{code}]" in line]
    assert lines, err
    matching = [line for line in lines if names(line, where) and words in line]
    assert matching, f"no {code} at {where} saying {words!r}:\n{err}"
    advice = matching[0].partition(" — ")[2]
    assert hint in advice, matching[0]
    assert "left as it was" in err
    assert tree_digest(published) == before


def test_every_problem_of_a_hostile_run_is_reported_together(
    content: Path, published: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One run over many broken files reports each of them (not only the first)."""
    cases = ["empty-file", "binary-file", "duplicate-yaml-key", "service-file-symlink-outside",
             "unknown-topic"]
    for case in cases:
        CATALOGUE[case][0](content)
    body(content, "## A\n\n[x](data:,x) [y](#nowhere) ![](missing.png)\n", "fr/sample.md")
    before = tree_digest(published)
    capsys.readouterr()
    assert build_cli(content, published) == EXIT_CONTENT
    err = capsys.readouterr().err
    for case in cases:
        assert f"error[{CATALOGUE[case][2]}]" in err, case
    text = "[x](data:,x) [y](#nowhere) ![](missing.png)"
    for code, column in (("C209", text.index("data:") + 1), ("C208", 1),
                         ("C204", text.index("missing") + 1), ("C205", text.index("missing") + 1)):
        assert any(names(line, f"fr/sample.md:18:{column}:") and f"error[{code}]" in line
                   for line in err.splitlines()), code
    assert tree_digest(published) == before


# -------------------------------------------------------------------- the site configuration


@pytest.mark.parametrize(
    ("old", "new", "where", "code", "words"),
    [
        ("topics:", "extra: &x [a, b]\nmore: [*x, *x]\ntopics:", "site.yaml:18:8", "S101",
         "alias '*x'"),
        ("  email: a11y@test.example", "  email: a11y@test.example\n  url: javascript:alert(1)",
         "site.yaml:17:3", "S106", "'accessibility_contact.url' has an invalid value"),
        ("default_language: en", "default_language: en\nmax_line_chars: 0", "site.yaml:7:1",
         "S106", "'max_line_chars' has an invalid value"),
        ("default_language: en", "default_language: en\nmax_table_columns: [20]",
         "site.yaml:7:1", "S104", "'max_table_columns' has the wrong type"),
    ],
)
def test_hostile_site_configuration(
    content: Path, published: Path, capsys: pytest.CaptureFixture[str],
    old: str, new: str, where: str, code: str, words: str,
) -> None:
    before = tree_digest(published)
    edit(content / "site.yaml", old, new)
    capsys.readouterr()
    assert build_cli(content, published) == EXIT_CONTENT
    err = capsys.readouterr().err
    assert any(names(line, where) and f"error[{code}]" in line and words in line
               for line in err.splitlines()), err
    assert tree_digest(published) == before


def test_raised_limits_let_the_same_content_through(content: Path, tmp_path: Path) -> None:
    """The limits are settings, not hidden constants: raising them accepts the text."""
    edit(content / "site.yaml", "default_language: en",
         "default_language: en\nmax_line_chars: 20000\nmax_table_columns: 40")
    body(content, "## Steps\n\n" + "word " * 2500 + "\n\n|" + "a|" * 30 + "\n|" + "-|" * 30
         + "\n|" + "1|" * 30 + "\n")
    diagnostics = Diagnostics()
    site = load_site(content, diagnostics)
    assert site is not None, [d.format() for d in diagnostics]


def test_nesting_up_to_the_limit_loses_nothing(content: Path) -> None:
    """markdown-it drops blocks deeper than its own limit without a word; ours reports first,
    so nesting that is accepted is kept whole."""
    body(content, "## Steps\n\n" + "".join("  " * i + f"- step{i}\n" for i in range(20)))
    diagnostics = Diagnostics()
    site = load_site(content, diagnostics)
    assert site is not None, [d.format() for d in diagnostics]
    from publisher.model import Paragraph, plain_text, walk_blocks

    texts = {plain_text(b.children) for b in walk_blocks(site.documents[("sample", "en")].blocks)
             if isinstance(b, Paragraph)}
    assert {f"step{i}" for i in range(20)} <= texts


# -------------------------------------------------------------------- output paths


@pytest.mark.parametrize("path", ["../escape.html", "/etc/passwd", "a/../../b", ""])
def test_no_artifact_path_leaves_the_output_folder(path: str) -> None:
    with pytest.raises(ValueError, match="escapes the output folder"):
        check_paths([Artifact(path, b"x", "text/plain", "html")])


def test_image_names_cannot_steer_output_paths(content: Path, tmp_path: Path) -> None:
    """Images are published under media/ by their content-relative path, which the parser has
    already resolved (no '..', no absolute path): even odd names stay inside the output."""
    (content / "images").mkdir()
    (content / "images" / "..%2F..%2Fx.png").write_bytes(PNG)
    body(content, "## Map\n\n![A map](../images/..%252F..%252Fx.png)\n")
    out = tmp_path / "site"
    assert build_cli(content, out) == 0
    written = [p for p in out.rglob("*.png")]
    assert written and all(p.resolve().is_relative_to(out.resolve()) for p in written)
    assert not list(tmp_path.glob("x.png"))


# -------------------------------------------------------------------- text a format cannot render


def contexts(site: Site, diagnostics: Diagnostics, content_dir: Path, name: str
             ) -> dict[str, RenderContext]:
    writer = registry()[name]
    options = writer.options_model.model_validate(site.config.format_options(name))
    return {
        lang: RenderContext(
            config=site.config, language=site.config.language(lang),
            locale=Locale(lang, site.config.language(lang).direction),
            build_time=__import__("datetime").datetime(2026, 1, 15,
                                                       tzinfo=__import__("datetime").UTC),
            formats_dir=formats_dir(), content_dir=content_dir, site=site, options=options,
            diagnostics=diagnostics,
        )
        for lang in site.config.language_codes
    }


def test_braille_reports_what_its_table_cannot_translate(content: Path) -> None:
    body(content, "## Symbols\n\nThe office sign is \ue000 here.\n")
    diagnostics = Diagnostics()
    site = load_site(content, diagnostics)
    assert site is not None
    doc = site.documents[("sample", "en")]
    artifacts = registry()["braille"].render(doc, contexts(site, diagnostics, content,
                                                           "braille")["en"])
    b201 = [d for d in diagnostics if d.code == "B201"]
    assert b201 and b201[0].severity is Severity.WARNING
    assert b201[0].span is not None and names(str(b201[0].span) + ": ", "en/sample.md:18:1")
    assert "U+E000" in b201[0].message and b201[0].hint
    brf = next(a for a in artifacts if a.format == "brf").data.decode("ascii")
    tables = resolve_tables(table_names(braille_options(site.config.format_options("braille")),
                                        "en") or "", formats_dir())
    read_back = back_translate(tables, from_ascii(brf.replace("\r\n", " ").replace("\f", "")))
    assert "u+e000" in read_back.lower()  # shown as a placeholder, never silently dropped


@pytest.mark.skipif(sys.platform != "linux", reason="espeak-ng")
def test_audio_refuses_a_sentence_its_voice_cannot_speak(content: Path) -> None:
    """A sentence of characters the voice has no sound for (here private-use characters)
    synthesises to silence: the writer reports A201 at the sentence's line and publishes no
    notice, rather than a notice with a sentence missing."""
    body(content, "## Symbols\n\nHere is the text.\n\n\ue000\ue001\ue002\n")
    diagnostics = Diagnostics()
    site = load_site(content, diagnostics)
    assert site is not None
    doc = site.documents[("sample", "en")]
    artifacts = registry()["audio"].render(doc, contexts(site, diagnostics, content,
                                                         "audio")["en"])
    assert artifacts == []
    a201 = [d for d in diagnostics.errors if d.code == "A201"]
    assert a201, [d.format() for d in diagnostics]
    assert any(names(f"{d.span}: ", "en/sample.md:20:1") and "silent" in d.message
               for d in a201), [d.format() for d in a201]


# -------------------------------------------------------------------- resource bounds

#: generous bounds: they catch a hang or a blow-up, not a slow machine
SECONDS = 60
MEMORY_BYTES = 1536 * 1024 * 1024


def _address_space() -> int:
    """This process's virtual memory size, from /proc (the child's limit is set above it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmSize in /proc/self/status")


def _load_and_report(content: Path, out: Connection) -> None:
    """In the child: at most MEMORY_BYTES more address space, then load and send the result."""
    limit = _address_space() + MEMORY_BYTES
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    diagnostics = Diagnostics()
    site = load_site(content, diagnostics)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    lines = [d.format()[:300] for d in diagnostics.errors]
    out.send((site is not None, lines, grown))
    out.close()


def load_in_child(content: Path) -> tuple[bool, list[str], int]:
    """Load the content in a forked child bounded in time and address space, so that a hang or
    a blow-up fails the test instead of blocking CI. Forking keeps the test's imports: the
    child starts at once. Returns whether a site came out, the errors, and how much the
    child's peak resident memory grew."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_load_and_report, args=(content, send), daemon=True)
    child.start()
    send.close()
    try:
        if not receive.poll(SECONDS):
            child.kill()
            pytest.fail(f"loading did not finish within {SECONDS} s")
        result: tuple[bool, list[str], int] = receive.recv()
    except EOFError:
        pytest.fail(f"the child died (exit code {child.exitcode}): out of memory?")
    finally:
        child.join(SECONDS)
        receive.close()
    return result


NESTED_ITEMS = "- " * 100_000 + "x\n"  # 100,000 nested list items: the only way they fit a file
#: name → (body, settings added to site.yaml, code, where)
PATHOLOGICAL: dict[str, tuple[str, str, str, str]] = {
    "100000-nested-list-items": (NESTED_ITEMS, "", "C213", "en/sample.md:16:10001"),
    # with the line limit raised, the document reaches the nesting check
    "100000-nested-list-items-long-lines-allowed": (
        NESTED_ITEMS, "max_line_chars: 1000000", "C212", "en/sample.md:16:1"),
    "100000-nested-quotes-long-lines-allowed": (
        ">" * 100_000 + " x\n", "max_line_chars: 1000000", "C212", "en/sample.md:16:1"),
    "100000-nested-emphasis-long-lines-allowed": (
        "*" * 50_000 + "x" + "*" * 50_000 + "\n", "max_line_chars: 1000000", "C212",
        "en/sample.md:16:1"),
    "1000-list-levels-by-indentation": (
        "".join("  " * i + "- x\n" for i in range(1000)), "max_line_chars: 1000000", "C212",
        "en/sample.md:36:1"),
    "10000-table-columns": (
        "|" + "a|" * 10_000 + "\n|" + "-|" * 10_000 + "\n", "", "C213", "en/sample.md:16:10001"),
    "10000-table-columns-long-lines-allowed": (
        "|" + "a|" * 10_000 + "\n|" + "-|" * 10_000 + "\n", "max_line_chars: 1000000", "C214",
        "en/sample.md:17:1"),
    "10-MB-line": ("a" * 10_000_000 + "\n", "", "C213", "en/sample.md:16:10001"),
}


@pytest.mark.parametrize("case", sorted(PATHOLOGICAL))
def test_pathological_document_is_rejected_within_bounds(case: str, content: Path) -> None:
    text, settings, code, where = PATHOLOGICAL[case]
    # the size limit is raised so that the document reaches the parser's own limits
    edit(content / "site.yaml", "default_language: en",
         f"default_language: en\nmax_file_bytes: 20000000\n{settings}")
    body(content, text)
    published, errors, grown = load_in_child(content)
    assert not published
    assert any(names(line, where) and f"error[{code}]" in line for line in errors), errors
    assert grown < MEMORY_BYTES


def test_yaml_billion_laughs_is_refused_within_bounds(content: Path) -> None:
    lines = ['  l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 10)]
    edit(content / "en/sample.md", "owner: Test Department",
         "owner: Test Department\nkeywords:\n" + "\n".join(lines))
    published, errors, grown = load_in_child(content)
    assert not published
    assert any("error[C101]" in line and "alias '*l0'" in line for line in errors), errors
    assert grown < 100 * 1024 * 1024  # nothing was expanded


def test_oversized_file_is_refused_before_it_is_read(content: Path) -> None:
    (content / "en/huge.md").write_bytes(b"---\n" + b"a" * 50_000_000)
    published, errors, grown = load_in_child(content)
    assert not published
    assert any("/en/huge.md: error[C112]: the file is 50,000,004 bytes" in line
               for line in errors), errors
    assert grown < 40 * 1024 * 1024  # the 50 MB were never read into memory
