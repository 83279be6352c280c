"""Property-based and fuzz tests: random front matter and Markdown through the whole pipeline.

Hypothesis writes a content folder (a random service, in English, beside a fixed valid one and
its Arabic translation), loads it and renders it in every format. The properties:

- nothing raises: a run ends either with a site or with content errors, each with a code, a
  message, a place and a hint;
- the website shows the author's text as text: no element or attribute the content could have
  made (scripts other than JSON-LD, ``on*`` handlers, ``javascript:`` addresses, frames, styles),
  the JSON-LD parses and names the title, the ``h1`` is the title, and every text run of the body
  appears verbatim in the page;
- braille is written and passes its own audit, or its problems were reported (``B2xx``);
- the spoken script, its captions and the PDF are made without error from the same documents (a
  few examples only: they are slow).

The runs are derandomised (the same examples every time, in CI too) and bounded, so the whole
file takes well under a minute. Failures Hypothesis found are kept as explicit ``@example``
cases.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import lxml.html
import yaml
from hypothesis import HealthCheck, Phase, assume, example, given, settings
from hypothesis import strategies as st

from publisher.audits import AuditContext, AuditInput
from publisher.audits import registry as audits
from publisher.build import formats_dir
from publisher.diagnostics import Diagnostics
from publisher.i18n import Locale
from publisher.load import load_site
from publisher.model import Code, Document, Text, block_inlines, walk_blocks, walk_inlines
from publisher.speech import script
from publisher.writers import Artifact, RenderContext, Site, registry
from publisher.writers.audio import Cue, parse_vtt, write_vtt

from .conftest import SITE_YAML

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
WHEN = dt.datetime(2026, 1, 15, tzinfo=dt.UTC)
OTHER = """\
---
id: other
title: Other service
summary: Another service.
topic: transport
audience: [Residents]
channels:
  - type: phone
    phone: "+33 4 00 00 00 00"
processing_time: 1 day
contact:
  email: other@test.example
owner: Test Department
last_reviewed: 2026-01-10
---
## Fees

Free.
"""

# ---------------------------------------------------------------- strategies

#: characters and pieces that Markdown, HTML, YAML, CSS, JSON, liblouis or a voice treat specially
HOSTILE = st.sampled_from([
    "<", ">", "&", '"', "'", "`", "*", "_", "[", "]", "(", ")", "!", "#", "|", ":", "\\", "{",
    "}", "%", ";", "/", "=", "-", ".", " ", "  ", "\t", "é", "ß", "ا", "لا", "中", "🙂", "\u200f",
    "\u2028", "\ue000", "ﬁ", "€", "<script>", "</script>", "<img src=x onerror=alert(1)>",
    "javascript:alert(1)", "data:text/html,x", "&lt;", "&#60;", "&amp;", "{{ x }}", "{% x %}",
    "red;} body{background:url(//evil.example)}", "]]>", "<!--", "-->", "\\<b>", "1.", "- ",
])
WORD = st.sampled_from(["service", "apply", "permit", "Fees", "form", "town", "رخصة", "délai"])
TEXT = st.lists(st.one_of(WORD, HOSTILE), min_size=1, max_size=8).map("".join)
PLAIN = st.lists(st.one_of(WORD, WORD, HOSTILE), min_size=1, max_size=6).map(" ".join)


@st.composite
def inline(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.one_of(
        TEXT,
        WORD.map(lambda w: f"**{w}**"),
        WORD.map(lambda w: f"*{w}*"),
        TEXT.map(lambda t: f"`{t.replace('`', '')}`"),
        WORD.map(lambda w: f"[{w}](https://example.org/{w})"),
        st.sampled_from(["[fees](other.md#fees)", "[other](other.md)", "[top](#section)",
                         "[bad](other.md#nowhere)", "[x](javascript:alert(1))",
                         "[x](../../etc/passwd.md)", "[x](data:,x)", "[](https://a.example)",
                         "![A dot](../images/dot.png)", "![](../images/dot.png)",
                         "![x](missing.png)", "<b>raw</b>", "<https://example.org>",
                         "[x](<https://e.example/\" onmouseover=\"alert(1)>)",
                         '[t](https://e.example/ "\\" onmouseover=\\"alert(1)")']),
    ), min_size=1, max_size=5))
    return " ".join(parts)


@st.composite
def block(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["heading", "paragraph", "list", "ordered", "table", "note",
                                 "code", "quote", "raw"]))
    if kind == "heading":
        return "#" * draw(st.integers(2, 4)) + " " + draw(inline())
    if kind == "list":
        items = draw(st.lists(st.tuples(st.integers(0, 3), inline()), min_size=1, max_size=4))
        return "\n".join("  " * depth + "- " + text for depth, text in items)
    if kind == "ordered":
        items = draw(st.lists(inline(), min_size=1, max_size=3))
        return "\n".join(f"{i + 1}. {text}" for i, text in enumerate(items))
    if kind == "table":
        columns = draw(st.integers(1, 4))
        cell = PLAIN.map(lambda t: t.replace("|", "\\|").replace("\n", " "))
        head = draw(st.lists(cell, min_size=columns, max_size=columns))
        rows = draw(st.lists(st.lists(cell, min_size=columns, max_size=columns), max_size=3))
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * columns]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    if kind == "note":
        return f"::: {draw(st.sampled_from(['note', 'warning', 'tip']))}\n{draw(inline())}\n:::"
    if kind == "code":
        return "```\n" + draw(TEXT).replace("```", "") + "\n```"
    if kind == "quote":
        return "> " + draw(inline())
    if kind == "raw":
        return draw(st.text(max_size=60))
    return draw(inline())


BODY = st.lists(block(), max_size=6).map("\n\n".join)


@st.composite
def front_matter(draw: st.DrawFn) -> str:
    """Valid front matter with hostile texts, then sometimes broken in one way."""
    record: dict[str, Any] = {
        "id": "sample",
        "title": draw(TEXT).strip() or "x",
        "summary": draw(TEXT).strip() or "x",
        "topic": "transport",
        "audience": draw(st.lists(TEXT, min_size=1, max_size=2)),
        "keywords": draw(st.lists(TEXT, max_size=2)),
        "channels": [{"type": "phone", "phone": "+33 4 00 00 00 00", "label": draw(TEXT)},
                     {"type": "post", "address": draw(TEXT)}],
        "fees": [{"label": draw(TEXT), "amount": draw(st.integers(0, 500)), "currency": "EUR"}],
        "processing_time": draw(TEXT),
        "locations": [{"id": "office", "name": draw(TEXT), "address": draw(TEXT)}],
        "contact": {"email": "contact@test.example"},
        "owner": draw(TEXT),
        "last_reviewed": "2026-01-15",
    }
    mutation = draw(st.sampled_from(["none", "none", "none", "drop", "unknown", "type", "raw"]))
    if mutation == "drop":
        record.pop(draw(st.sampled_from(sorted(record))))
    elif mutation == "unknown":
        record[draw(st.sampled_from(["ownr", "tittle", "x"]))] = draw(TEXT)
    elif mutation == "type":
        record[draw(st.sampled_from(sorted(record)))] = draw(st.one_of(
            st.integers(), st.lists(st.integers(), max_size=2), st.none(), st.booleans()))
    if mutation == "raw":
        return draw(st.text(max_size=200))
    return yaml.safe_dump(record, allow_unicode=True, sort_keys=False)


# ---------------------------------------------------------------- the pipeline


def content_folder(root: Path, matter: str, body: str) -> Path:
    content = root / "content"
    for folder in ("en", "ar", "images"):
        (content / folder).mkdir(parents=True)
    (content / "site.yaml").write_text(SITE_YAML, encoding="utf-8")
    (content / "images" / "dot.png").write_bytes(PNG)
    (content / "en" / "other.md").write_text(OTHER, encoding="utf-8")
    (content / "ar" / "other.md").write_text(OTHER.replace("Other service", "خدمة أخرى"),
                                             encoding="utf-8")
    (content / "en" / "sample.md").write_text(f"---\n{matter}\n---\n{body}\n", encoding="utf-8")
    return content


def context(site: Site, lang: str, writer: str, diagnostics: Diagnostics, content: Path,
            **options: Any) -> RenderContext:
    model = registry()[writer].options_model
    return RenderContext(
        config=site.config, language=site.config.language(lang),
        locale=Locale(lang, site.config.language(lang).direction), build_time=WHEN,
        formats_dir=formats_dir(), content_dir=content, site=site,
        options=model.model_validate({**site.config.format_options(writer), **options}),
        diagnostics=diagnostics,
    )


def load(root: Path, matter: str, body: str) -> tuple[Site | None, Diagnostics, Path]:
    content = content_folder(root, matter, body)
    diagnostics = Diagnostics()
    site = load_site(content, diagnostics)  # must not raise, whatever the input
    if site is None:
        assert diagnostics.errors, "no site and no error"
        for error in diagnostics.errors:
            assert re.fullmatch(r"[A-Z]\d{3}", error.code), error
            assert error.message and error.hint, error.format()
            assert error.span is not None and error.span.path, error.format()
    return site, diagnostics, content


def texts_of(doc: Document) -> list[str]:
    """Every run of body text the reader should see verbatim."""
    found = []
    for node_block in walk_blocks(doc.blocks):
        for inlines in block_inlines(node_block):
            found += [n.text for n in walk_inlines(inlines) if isinstance(n, Text | Code)]
    return [" ".join(t.split()) for t in found if t.strip()]


SCRIPT_TYPES = {"application/ld+json"}
DANGEROUS = re.compile(r"^\s*(javascript|data|vbscript):", re.IGNORECASE)
FORBIDDEN_TAGS = {"style", "iframe", "frame", "object", "embed", "base", "svg", "math", "applet"}


def check_page(data: bytes, doc: Document | None, name: str) -> None:
    page = lxml.html.document_fromstring(data)
    for element in page.iter():
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions
        assert element.tag not in FORBIDDEN_TAGS, (name, element.tag)
        if element.tag == "script":
            assert element.get("type") in SCRIPT_TYPES or (
                element.get("src") or "").endswith(".js"), (name, lxml.html.tostring(element))
            assert element.get("src") is None or "assets/" in element.get("src", ""), name
        if element.tag == "meta" and element.get("http-equiv"):
            assert element.get("http-equiv") == "Content-Security-Policy", name
        for attribute, value in element.attrib.items():
            assert not attribute.lower().startswith("on"), (name, attribute, value)
            assert attribute.lower() not in {"style", "srcdoc"}, (name, attribute)
            if attribute in {"href", "src", "action", "data", "poster"}:
                assert not DANGEROUS.match(value), (name, attribute, value)
    policies = page.xpath('//head/meta[@http-equiv="Content-Security-Policy"]/@content')
    assert len(policies) == 1 and "script-src 'none'" in policies[0], (name, policies)
    assert "default-src 'none'" in policies[0] and "unsafe-inline" not in policies[0], name
    for link in page.xpath("//a[@href]"):
        if re.match(r"https?://", link.get("href", "")):
            assert {"noopener", "noreferrer"} <= set(link.get("rel", "").split()), (
                name, lxml.html.tostring(link))
            assert "external" in link.get("class", "").split(), name
    if doc is None:
        return
    (h1,) = page.xpath("//h1")
    assert h1.text_content() == doc.record.title, name
    scripts = page.xpath('//script[@type="application/ld+json"]')
    assert len(scripts) == 1, name
    assert json.loads(scripts[0].text)["name"] == doc.record.title, name
    shown = " ".join(page.xpath("//main")[0].text_content().split())
    for text in texts_of(doc):
        assert text in shown, (name, text)


def render_html(site: Site, diagnostics: Diagnostics, content: Path) -> list[Artifact]:
    writer = registry()["html"]
    artifacts = []
    for (_, lang), doc in sorted(site.documents.items()):
        for artifact in writer.render(doc, context(site, lang, "html", diagnostics, content)):
            check_page(artifact.data, doc, artifact.path)
            artifacts.append(artifact)
    contexts = {lang: context(site, lang, "html", diagnostics, content)
                for lang in site.config.language_codes}
    for artifact in writer.render_site(site, contexts, tuple(artifacts)):
        if artifact.media_type.startswith("text/html"):
            check_page(artifact.data, None, artifact.path)
    return artifacts


def render_braille(site: Site, diagnostics: Diagnostics, content: Path, out: Path) -> None:
    writer = registry()["braille"]
    audit = audits()["braille"]
    for (_, lang), doc in sorted(site.documents.items()):
        mine = Diagnostics()
        artifacts = writer.render(doc, context(site, lang, "braille", mine, content))
        assert not mine.errors, [d.format() for d in mine.errors]
        inputs = []
        for artifact in artifacts:
            path = out / artifact.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(artifact.data)
            inputs.append(AuditInput(path, artifact.path, artifact, doc))
        findings = audit.audit(inputs, AuditContext(site.config, out, WHEN))
        failed = [f for f in findings if f.outcome != "passed"]
        reported = [d for d in mine.warnings if d.code.startswith("B2")]
        assert not failed or reported, [(f.check, f.message) for f in failed]


def speak(site: Site) -> None:
    """The audio writer's text stages: the spoken script and its captions round trip."""
    for (_, lang), doc in sorted(site.documents.items()):
        sentences = script(doc, Locale(lang, site.config.language(lang).direction),
                           site.config.organisation_name(lang))
        assert sentences and all(s.spoken.strip() for s in sentences)
        cues = [Cue(i * 2.0, i * 2.0 + 1.5, s.text, i + 1) for i, s in enumerate(sentences)]
        back = parse_vtt(write_vtt(cues))
        assert [c.text for c in back] == [" ".join(c.text.split()) for c in cues]


# ---------------------------------------------------------------- the properties

FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(matter=front_matter(), body=BODY)
@example(  # regression: a control character made PyYAML fail with no line and no advice
    matter="\x1f", body="")
@example(  # regression: an emphasis nested deeper than the tree builder can recurse
    matter=yaml.safe_dump({"id": "sample"}), body="*" * 3000 + "x" + "*" * 3000)
@example(  # regression: list nesting beyond markdown-it's own limit was dropped silently
    matter=yaml.safe_dump({"id": "sample"}), body="- " * 30 + "x")
def test_any_content_loads_or_is_reported_and_renders_safely(matter: str, body: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        site, diagnostics, content = load(root, matter, body)
        if site is None:
            return
        render_html(site, diagnostics, content)
        render_braille(site, diagnostics, content, root / "site")
        speak(site)
        assert not diagnostics.errors, [d.format() for d in diagnostics.errors]


# no shrinking: each step would lay out a PDF, and a failure would keep CI busy for minutes
@settings(max_examples=3, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(matter=front_matter(), body=BODY)
def test_print_formats_render_hostile_documents(matter: str, body: str) -> None:
    """The PDF writer (slow) on a few of the same documents: no error, real PDFs."""
    with tempfile.TemporaryDirectory() as tmp:
        site, _, content = load(Path(tmp), matter, body)
        assume(site is not None)
        assert site is not None
        doc = site.documents[("sample", "en")]
        mine = Diagnostics()
        artifacts = registry()["pdf"].render(doc, context(
            site, "en", "pdf", mine, content, large_print=False, poster=False))
        assert not mine.errors, [d.format() for d in mine.errors]
        assert artifacts and all(a.data.startswith(b"%PDF-") for a in artifacts)


@st.composite
def site_yaml(draw: st.DrawFn) -> str:
    """The test site configuration with lines dropped, replaced or inserted."""
    lines = SITE_YAML.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "replace", "insert", "indent"]))
        noise = draw(st.one_of(TEXT, st.text(max_size=30), st.sampled_from([
            "max_file_bytes: -1", "max_line_chars: x", "formats: {braille: {cells_per_line: 3}}",
            "a: &a [1]\nb: *a", "topics: {t: {en: x}}", "languages: []", "  - code: xx-YY"])))
        if action == "drop":
            del lines[index]
        elif action == "replace":
            lines[index] = noise
        elif action == "insert":
            lines.insert(index, noise)
        else:
            lines[index] = " " + lines[index]
    return "\n".join(lines) + "\n"


@settings(max_examples=50, deadline=None, derandomize=True, database=None)
@given(text=site_yaml())
def test_any_site_configuration_is_read_or_reported(text: str) -> None:
    from publisher.config import load_config

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "site.yaml"
        path.write_text(text, encoding="utf-8")
        diagnostics = Diagnostics()
        config = load_config(path, diagnostics, {n: w.options_model for n, w in registry().items()})
        if config is None:
            assert diagnostics.errors
            for error in diagnostics.errors:
                assert error.code.startswith("S1"), error
                assert error.message and error.span and error.hint, error.format()


def test_a_key_given_twice_in_the_site_configuration_has_a_configuration_code() -> None:
    from publisher.config import load_config

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "site.yaml"
        path.write_text(SITE_YAML + "default_language: fr\n", encoding="utf-8")
        diagnostics = Diagnostics()
        load_config(path, diagnostics)
        assert [d.code[0] for d in diagnostics.errors] == ["S"], diagnostics.errors


def test_the_page_check_catches_markup_from_the_content() -> None:
    """check_page can fail: a page where content became markup."""
    page = textwrap.dedent("""\
        <!DOCTYPE html><html><head><title>x</title></head><body><main><h1>x</h1>
        <p>a<img src=x onerror=alert(1)></p></main></body></html>""").encode()
    try:
        check_page(page, None, "bad.html")
    except AssertionError as error:
        assert "onerror" in str(error)
    else:
        raise AssertionError("check_page accepted an event handler")
