"""Several languages done properly: complete catalogues, local formats, right-to-left, and no
English left in the French and Arabic outputs — checked on the rendered files.

The slow part builds one service in English, French and Arabic (website, PDFs, braille) after
changing its English text, so that the translations are outdated: every format must say so in
its own language. The audio notice is synthesised for the Arabic version only; the French
spoken script is checked without synthesis.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pikepdf
import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from lxml import html as lxml_html

from publisher.build import BuildOptions, BuildResult, build, site_contexts
from publisher.diagnostics import Diagnostics
from publisher.i18n import LOCALE_DIR, Locale
from publisher.load import load_site
from publisher.speech import script
from publisher.writers import Site

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "content"
ARTIFACTS = ROOT / "test-artifacts"
LANGUAGES = ("fr", "ar")
SERVICE = "parking-permit"
PARAGRAPH = "Each household can have **two permits at most**."
CHANGED = "Each household can have **three permits at most**."
_PLACEHOLDER = re.compile(r"\{[^}]*\}")


def catalogue(lang: str) -> Catalog:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=lang)


def extracted() -> set[str]:
    """Every interface string of the code and templates, extracted by Babel with the project's
    own mapping (babel.cfg), as ``scripts/catalogues.py`` does."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        found.update(m for m in (message if isinstance(message, tuple) else (message,)) if m)
    return found


# ---------------------------------------------------------------- the catalogues


def test_extraction_finds_the_strings_of_every_format() -> None:
    strings = extracted()
    # one from each place strings live: website, PDF (.j2), braille, speech, reports, CLI-free
    for message in ("Skip to main content", "Key facts", "{label}: {value}", "dot",
                    "Accessibility report", "Transcript of the audio notice.",
                    "This translation is out of date: the {language} text has changed since "
                    "it was translated."):
        assert message in strings


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_interface_string_is_translated(lang: str) -> None:
    messages = catalogue(lang)
    problems = []
    for message in sorted(extracted()):
        entry = messages.get(message)
        if entry is None or not entry.string or entry.fuzzy:
            problems.append(f"not translated: {message!r}")
            continue
        wanted = sorted(_PLACEHOLDER.findall(message))
        if sorted(_PLACEHOLDER.findall(str(entry.string))) != wanted:
            problems.append(f"placeholders differ: {message!r} → {entry.string!r}")
    assert not problems, "\n".join(problems)


def test_french_typography_puts_a_space_before_colons() -> None:
    for entry in catalogue("fr"):
        if entry.id and isinstance(entry.id, str) and re.search(r"\w:( |$)", entry.id):
            assert re.search(r"\w:( |$)", str(entry.string)) is None, entry.string


def test_a_missing_string_falls_back_to_english_and_is_recorded() -> None:
    locale = Locale("fr")
    assert locale.gettext("Key facts") == "L’essentiel"
    assert locale.gettext("A sentence no catalogue has") == "A sentence no catalogue has"
    assert locale.missing == {"A sentence no catalogue has"}


def test_dates_times_numbers_and_money_follow_each_language() -> None:
    import datetime as dt

    day = dt.date(2026, 9, 15)
    assert Locale("en").date(day) == "September 15, 2026"
    assert Locale("fr").date(day) == "15 septembre 2026"
    assert Locale("ar").date(day) == "15 سبتمبر 2026"
    assert Locale("fr").money(20, "EUR") == "20,00\xa0€"
    assert Locale("en").money(20, "EUR") == "€20.00"
    assert Locale("fr").time("17:00") == "17:00"
    assert Locale("en").time("17:00") == "5:00\u202fPM"
    assert Locale("ar").time("17:00") == "5:00 م"
    assert Locale("fr").number(1234.5) == "1\u202f234,5"


# ---------------------------------------------------------------- rendered outputs


def english_chrome(lang: str) -> list[str]:
    """Fragments of the English interface strings (two words or more) that the translation
    into ``lang`` does not itself contain: none of them may appear in a ``lang`` output."""
    messages = catalogue(lang)
    found = set()
    for message in extracted():
        translation = str(getattr(messages.get(message), "string", "") or "")
        for fragment in _PLACEHOLDER.split(message):
            fragment = fragment.strip(" :;,.–-()“”")
            if len(fragment.split()) >= 2 and fragment not in translation:
                found.add(fragment)
    return sorted(found)


def leftovers(text: str, lang: str) -> list[str]:
    text = " ".join(text.split())
    return [fragment for fragment in english_chrome(lang) if fragment in text]


@pytest.fixture(scope="module")
def outdated_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Site]]:
    """The parking permit in three languages; its English text changed after translation."""
    folder = tmp_path_factory.mktemp("i18n") / "content"
    folder.mkdir()
    shutil.copy(EXAMPLE / "site.yaml", folder / "site.yaml")
    for lang in ("en", "fr", "ar"):
        (folder / lang).mkdir()
        shutil.copy(EXAMPLE / lang / f"{SERVICE}.md", folder / lang / f"{SERVICE}.md")
    source = folder / "en" / f"{SERVICE}.md"
    source.write_text(source.read_text(encoding="utf-8").replace(PARAGRAPH, CHANGED),
                      encoding="utf-8")
    diagnostics = Diagnostics()
    site = load_site(folder, diagnostics)
    assert site is not None
    assert site.status(SERVICE, "fr") == site.status(SERVICE, "ar") == "outdated"
    yield folder, site


@pytest.fixture(scope="module")
def built(outdated_site: tuple[Path, Site], tmp_path_factory: pytest.TempPathFactory
          ) -> tuple[Path, BuildResult]:
    folder, _ = outdated_site
    out = tmp_path_factory.mktemp("i18n-out") / "site"
    result = build(BuildOptions(content_dir=folder, out_dir=out, formats=["pdf", "braille"],
                                audit=False, jobs=1, use_cache=False))
    assert result.published, [d.format() for d in result.diagnostics.errors]
    assert not [d for d in result.diagnostics.warnings if d.code == "I001"], "untranslated"
    assert sorted(d.code for d in result.diagnostics.warnings if d.code == "T001") == [
        "T001", "T001"]
    return out, result


def notice(lang: str) -> str:
    from publisher.translation import language_name

    locale = Locale(lang)
    return locale.gettext(
        "This translation is out of date: the {language} text has changed since it was "
        "translated."
    ).format(language=language_name("en", locale))


def page_text(path: Path) -> str:
    """What a reader meets on a page: its text and the text of its attributes."""
    tree = lxml_html.fromstring(path.read_bytes())
    for script_node in tree.xpath("//script"):
        script_node.drop_tree()
    attributes = tree.xpath("//@aria-label | //@alt | //@title | //@label | //@placeholder")
    return " ".join([tree.text_content(), *map(str, attributes)])


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_web_page_says_it_is_outdated_and_has_no_english_chrome(
    built: tuple[Path, BuildResult], lang: str,
) -> None:
    out, _ = built
    page = out / lang / SERVICE / "index.html"
    tree = lxml_html.fromstring(page.read_bytes())
    box = tree.xpath('//main/*[@class="outdated-notice"]')
    assert box, "no notice at the top of main"
    assert notice(lang) in " ".join(box[0].text_content().split())
    link = box[0].xpath(".//a")[0]
    assert link.get("href") == f"../../en/{SERVICE}/" and link.get("hreflang") == "en"
    assert (page.parent / link.get("href") / "index.html").resolve().is_file()
    assert leftovers(page_text(page), lang) == []
    # the English page says nothing of the kind
    english = lxml_html.fromstring((out / "en" / SERVICE / "index.html").read_bytes())
    assert not english.xpath('//*[@class="outdated-notice"]')


def pdf_text(path: Path, *pages: str) -> str:
    done = subprocess.run(["pdftotext", "-enc", "UTF-8", *pages, str(path), "-"],
                          capture_output=True, check=True, text=True)
    # pdftotext wraps right-to-left runs in embedding controls of its own
    return re.sub("[\u202a-\u202e]", "", unicodedata.normalize("NFKC", done.stdout))


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_pdf_says_it_is_outdated_on_its_first_page_with_no_english_chrome(
    built: tuple[Path, BuildResult], lang: str,
) -> None:
    out, _ = built
    pdfs = sorted((out / lang / SERVICE).glob("*.pdf"))
    assert len(pdfs) == 3
    expected = " ".join(notice(lang).split())
    for pdf in pdfs:
        first = " ".join(pdf_text(pdf, "-f", "1", "-l", "1").split())
        if lang == "fr":
            assert expected in first, pdf.name
        else:
            # pdftotext reverses the lam-alef ligature and splits off the shadda: compare
            # the words it extracts faithfully
            words = {re.sub(r"\W", "", w) for w in expected.split()
                     if not re.search("ل[اأإآ]|[\u064b-\u0652]", w)}
            assert len(words) >= 6
            assert words <= set(re.findall(r"\w+", first)), (pdf.name, words - set(
                re.findall(r"\w+", first)))
        assert leftovers(pdf_text(pdf), lang) == [], pdf.name
        # the address of the current English page (pdftotext breaks it where it wraps, and
        # drops a hyphen at the end of a line); the poster's QR code leads to the web page
        if "poster" not in pdf.name:
            assert "/en/parkingpermit/" in re.sub(r"[\s\-‐]", "", first)


def brf_text(path: Path, lang: str, site: Site) -> str:
    from publisher.writers.braille import (
        back_translate,
        braille_options,
        from_ascii,
        resolve_tables,
        table_names,
    )

    options = braille_options(site.config.format_options("braille"))
    names = table_names(options, lang)
    assert names is not None
    tables = resolve_tables(names, None)
    lines = path.read_bytes().decode("ascii").replace("\f", "\r\n").split("\r\n")
    return "\n".join(back_translate(tables, from_ascii(line)) for line in lines if line.strip())


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_braille_says_it_is_outdated_before_the_title_with_no_english_chrome(
    built: tuple[Path, BuildResult], outdated_site: tuple[Path, Site], lang: str,
) -> None:
    out, _ = built
    _, site = outdated_site
    text = brf_text(out / lang / SERVICE / f"{SERVICE}-{lang}.brf", lang, site)
    flat = " ".join(text.split()).casefold()
    title = site.documents[(SERVICE, lang)].record.title.casefold()
    words = [w.casefold() for w in re.findall(r"\w{4,}", notice(lang))]
    # back-translation is lossy (accents, letter forms): most words must come back, before
    # the title
    found = [w for w in words if w in flat]
    assert len(found) >= len(words) * 0.6, (words, flat[:300])
    title_word = max(re.findall(r"\w+", title), key=len)
    assert flat.find(found[-1]) < flat.find(title_word), flat[:300]
    assert [f for f in english_chrome(lang) if f.casefold() in flat] == []


@pytest.mark.slow
def test_the_spoken_script_opens_with_the_notice_and_has_no_english_chrome(
    outdated_site: tuple[Path, Site],
) -> None:
    _, site = outdated_site
    for lang in LANGUAGES:
        doc = site.documents[(SERVICE, lang)]
        sentences = script(doc, Locale(lang), site.config.organisation_name(lang))
        assert sentences[0].text == notice(lang)
        assert sentences[1].role == "title"
        every = " ".join(s.text + " " + s.spoken for s in sentences)
        assert leftovers(every, lang) == []
        assert not re.search("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]",
                             " ".join(s.spoken for s in sentences))
    english = script(site.documents[(SERVICE, "en")], Locale("en"), "Org")
    assert english[0].role == "title"


@pytest.mark.slow
def test_the_arabic_captions_open_with_the_notice_and_isolate_numbers(
    outdated_site: tuple[Path, Site],
) -> None:
    from publisher.writers.audio import WRITER, AudioOptions

    folder, site = outdated_site
    ctx = site_contexts(site, folder, Diagnostics())["ar"]
    ctx = dataclasses.replace(ctx, options=AudioOptions.model_validate(
        site.config.format_options("audio")))
    artifacts = {a.format: a for a in WRITER.render(site.documents[(SERVICE, "ar")], ctx)}
    vtt = artifacts["vtt"].data.decode("utf-8")
    cues = [block.split("\n", 2)[2] for block in vtt.strip().split("\n\n")[1:]]
    assert cues[0] == notice("ar")
    assert leftovers(vtt, "ar") == []
    # phone numbers keep their digit order on screen: isolated, left to right, balanced
    assert "\u2066+33 4 50 00 01 10\u2069" in vtt
    assert vtt.count("\u2066") + vtt.count("\u2068") == vtt.count("\u2069")
    assert not re.search("[\u200e\u200f\u061c\u202a-\u202e]", vtt)
    transcript = artifacts["transcript"].data.decode("utf-8")
    assert notice("ar") in transcript
    assert leftovers(page_text_from(transcript), "ar") == []


def page_text_from(data: str) -> str:
    tree = lxml_html.fromstring(data.encode("utf-8"))
    return tree.text_content()


# ---------------------------------------------------------------- right to left


@pytest.mark.slow
def test_the_arabic_page_is_laid_out_right_to_left(built: tuple[Path, BuildResult]) -> None:
    from publisher.browser import Browser, missing_browser

    if missing_browser():
        pytest.fail(f"headless Chromium is needed: {missing_browser()}")
    out, _ = built
    measure = """
      const main = document.querySelector('main h1');
      const range = document.createRange();
      range.selectNodeContents(main);
      const text = range.getBoundingClientRect(), box = main.getBoundingClientRect();
      const phone = document.querySelector('.contact bdi');
      const label = phone.closest('li').firstChild;
      const labelRange = document.createRange();
      labelRange.selectNodeContents(label);
      return {dir: getComputedStyle(document.documentElement).direction,
              startGap: box.right - text.right, endGap: text.left - box.left,
              phoneDir: getComputedStyle(phone).direction,
              labelLeft: labelRange.getBoundingClientRect().left,
              phoneLeft: phone.getBoundingClientRect().left};
    """
    with Browser() as browser:
        browser.open(out / "ar" / SERVICE / "index.html")
        arabic = browser.script(measure)
        ARTIFACTS.mkdir(exist_ok=True)
        browser.driver.save_screenshot(str(ARTIFACTS / "i18n-ar-service.png"))
        browser.open(out / "en" / SERVICE / "index.html")
        english = browser.script(measure)
    assert arabic["dir"] == "rtl" and english["dir"] == "ltr"
    # the Arabic title starts at the right edge of its box, the English one at the left
    assert arabic["startGap"] < 2 < arabic["endGap"], arabic
    assert english["endGap"] < 2 < english["startGap"], english
    # the phone number reads left to right, after (to the left of) its Arabic label
    assert arabic["phoneDir"] == "ltr"
    assert arabic["phoneLeft"] < arabic["labelLeft"], arabic
    assert (ARTIFACTS / "i18n-ar-service.png").stat().st_size > 10_000


@pytest.mark.slow
def test_the_arabic_pdf_is_right_to_left(built: tuple[Path, BuildResult]) -> None:
    out, _ = built
    for lang, direction in (("ar", "rtl"), ("en", "ltr")):
        path = out / lang / SERVICE / f"{SERVICE}-{lang}.pdf"
        with pikepdf.open(path) as pdf:
            assert str(pdf.Root.Lang) == lang
            preferences = pdf.Root.get("/ViewerPreferences", {})
            assert (str(preferences.get("/Direction", "/L2R")) == "/R2L") == (direction == "rtl")
        # the title's words sit against the right margin in Arabic, the left one in English
        layout = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(path), "-"],
                                capture_output=True, check=True, text=True).stdout
        page = lxml_html.fromstring(layout.encode("utf-8"))
        width = float(page.xpath("//page")[0].get("width"))
        words = page.xpath("//word")
        size = max(float(w.get("ymax")) - float(w.get("ymin")) for w in words)
        title = [w for w in words if float(w.get("ymax")) - float(w.get("ymin")) == size]
        left = min(float(w.get("xmin")) for w in title)
        right = max(float(w.get("xmax")) for w in title)
        if direction == "rtl":
            assert width - right < left, (left, right, width)
        else:
            assert left < width - right, (left, right, width)


def test_bidi_isolation_in_the_html_templates() -> None:
    """Phone numbers, email and web addresses are isolated left to right and postal addresses
    isolated in both directions, in the website and PDF templates."""
    service = (ROOT / "formats" / "html" / "templates" / "service.html").read_text()
    for value in ("channel.phone", "channel.email", "channel.url", "record.contact.phone",
                  "record.contact.email", "record.contact.url"):
        assert re.search(r'<bdi dir="ltr">\{\{ ' + re.escape(value) + r" \}\}</bdi>", service)
    assert service.count('<bdi class="address">') == 3
