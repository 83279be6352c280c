"""A synthetic catalogue for the benchmarks: N services, each in English, French and Arabic.

Run: ``.venv/bin/python benchmarks/generate.py N OUT_DIR [--source content] [--seed 0]``.

Every generated service is a variation of one of the real example services (``content/``, those
that exist in all three languages), so each language reads as real text with the structure the
writers meet in practice: front matter with fees, channels and opening hours, headings, ordered
and unordered lists, tables, notes (``::: tip``), links to the web and links between services.
Service ``k`` is built from example service ``k mod T`` with a random generator seeded by
``(seed, k)``: its title is numbered, its unordered lists are shuffled (punctuation kept in
place), its review date moves back by up to 200 days, and it gains a "Related services" section
that links to three other generated services. Links that pointed to an example service point to
a generated variation of it, so every link resolves. The same inputs always give the same
files.

The French and Arabic files record the ``source_revision`` of their generated English source, as
``publish translate mark`` would, so they load as current translations. The folder is checked
with ``publisher.load.load_site`` at the end (``--no-check`` skips it); errors exit with 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from publisher.diagnostics import Diagnostics  # noqa: E402
from publisher.load import load_site  # noqa: E402

LANGUAGES = ("en", "fr", "ar")
TITLE_SUFFIX = {
    "en": "{title} — area {n}",
    "fr": "{title} — secteur {n}",
    "ar": "{title} — القطاع {n}",
}
RELATED = {"en": "Related services", "fr": "Services associés", "ar": "خدمات ذات صلة"}
RELATED_INTRO = {
    "en": "People who use this service often need these ones too:",
    "fr": "Les personnes qui utilisent ce service ont souvent besoin de ceux-ci :",
    "ar": "غالبًا ما يحتاج مستخدمو هذه الخدمة إلى الخدمات التالية أيضًا:",
}
RELATED_LINKS = 3
_FENCE = re.compile(r"^---[ \t]*$")
_LOCAL_LINK = re.compile(r"\[([^\]]*)\]\(([a-z0-9][a-z0-9-]*)\.md(#[^)\s]*)?\)")
_BULLET = re.compile(r"^- (.*?)(\s*[;.,:؛،]?)$")


@dataclass(frozen=True)
class Template:
    """One example service in one language: its front matter lines and body lines."""

    service: str
    lang: str
    front: list[str]
    body: list[str]

    @property
    def title(self) -> str:
        for line in self.front:
            if line.startswith("title:"):
                return _scalar(line.partition(":")[2])
        raise ValueError(f"{self.lang}/{self.service}.md has no title")


def _scalar(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        inner = text[1:-1]
        return inner.replace("''", "'") if text[0] == "'" else json.loads(text)
    return text


def _split(path: Path) -> tuple[list[str], list[str]]:
    lines = path.read_text(encoding="utf-8").split("\n")
    if not lines or not _FENCE.match(lines[0]):
        raise ValueError(f"{path} does not start with front matter")
    end = next(i for i in range(1, len(lines)) if _FENCE.match(lines[i]))
    return lines[1:end], lines[end + 1 :]


def templates(source: Path) -> dict[str, dict[str, Template]]:
    """service → language → template, for the example services present in every language."""
    found: dict[str, dict[str, Template]] = {}
    for path in sorted((source / LANGUAGES[0]).glob("*.md")):
        service = path.stem
        if all((source / lang / path.name).is_file() for lang in LANGUAGES):
            found[service] = {}
            for lang in LANGUAGES:
                front, body = _split(source / lang / path.name)
                found[service][lang] = Template(service, lang, front, body)
    if not found:
        raise SystemExit(f"{source} has no service in all of {', '.join(LANGUAGES)}")
    return found


def service_ids(n: int, names: list[str]) -> list[str]:
    """The id of each generated service: ``<example id>-<k+1, four digits>``."""
    return [f"{names[k % len(names)]}-{k + 1:04d}" for k in range(n)]


def _variant_of(example: str, k: int, names: list[str], n: int) -> int | None:
    """The generated service standing for ``example`` near service ``k``: one of the same band
    of ``len(names)`` services, else the first variation of it, else none (too few services)."""
    index = names.index(example)
    near = (k // len(names)) * len(names) + index
    if near < n:
        return near
    return index if index < n else None


def _shuffle_lists(body: list[str], rng: random.Random) -> list[str]:
    """Shuffle each run of one-line top-level bullets, keeping each position's punctuation
    (``;`` after all but the last, ``.`` at the end) where it was."""
    out: list[str] = []
    run: list[tuple[str, str]] = []

    def flush() -> None:
        if run:
            texts = [text for text, _ in run]
            rng.shuffle(texts)
            out.extend(f"- {text}{end}" for text, (_, end) in zip(texts, run, strict=True))
            run.clear()

    for line in body:
        match = _BULLET.match(line)
        if match and "](" not in line:
            run.append((match.group(1), match.group(2)))
        else:
            flush()
            out.append(line)
    flush()
    return out


def _front(template: Template, service: str, title: str, reviewed_back: int) -> list[str]:
    lines = []
    for line in template.front:
        key = line.partition(":")[0]
        if key == "id":
            line = f"id: {service}"
        elif key == "title":
            line = "title: " + json.dumps(title, ensure_ascii=False)
        elif key == "last_reviewed":
            day = dt.date.fromisoformat(line.partition(":")[2].strip())
            line = f"last_reviewed: {(day - dt.timedelta(days=reviewed_back)).isoformat()}"
        elif key == "source_revision":
            continue  # set once the English source exists (see set_revisions)
        lines.append(line)
    return lines


def render(
    k: int, ids: list[str], names: list[str], example: dict[str, dict[str, Template]], seed: int
) -> dict[str, str]:
    """The three files (language → text) of generated service ``k``."""
    n = len(ids)
    name = names[k % len(names)]
    rng = random.Random(f"{seed}:{k}")
    reviewed_back = rng.randrange(200)
    list_seed = rng.randrange(2**32)
    others = [j for j in range(n) if j != k]
    related = rng.sample(others, min(RELATED_LINKS, len(others)))
    files = {}
    for lang in LANGUAGES:
        template = example[name][lang]
        title = TITLE_SUFFIX[lang].format(title=template.title, n=k + 1)

        def relink(match: re.Match[str], lang: str = lang) -> str:
            text, example_id, anchor = match.groups()
            target = _variant_of(example_id, k, names, n) if example_id in names else None
            if target is None:
                return text  # too few services for a variation of the one it named: no link
            return f"[{text}]({ids[target]}.md{anchor or ''})"

        body = [_LOCAL_LINK.sub(relink, line) for line in template.body]
        body = _shuffle_lists(body, random.Random(list_seed))
        while body and not body[-1].strip():
            body.pop()
        if related:
            body += ["", f"## {RELATED[lang]}", "", RELATED_INTRO[lang], ""]
            for j in related:
                other = example[names[j % len(names)]][lang]
                label = TITLE_SUFFIX[lang].format(title=other.title, n=j + 1)
                body.append(f"- [{label}]({ids[j]}.md)")
        front = _front(template, ids[k], title, reviewed_back)
        files[lang] = "\n".join(["---", *front, "---", *body, ""])
    return files


def set_revisions(out: Path, ids: list[str]) -> None:
    """Record in each translation the revision of its English source, as the translators'
    tooling does once a translation is up to date."""
    from publisher.translation import set_revision, source_revision

    diagnostics = Diagnostics()
    hidden = out.with_name(out.name + ".translations")
    shutil.rmtree(hidden, ignore_errors=True)
    hidden.mkdir()
    # load the English files alone, so that translations without a revision raise nothing
    for lang in LANGUAGES[1:]:
        (out / lang).rename(hidden / lang)
    try:
        site = load_site(out, diagnostics)
    finally:
        for lang in LANGUAGES[1:]:
            (hidden / lang).rename(out / lang)
        hidden.rmdir()
    if site is None:
        raise SystemExit("the generated English files do not load:\n"
                         + "\n".join(d.format() for d in diagnostics.errors[:20]))
    for service in ids:
        revision = source_revision(site.documents[(service, LANGUAGES[0])])
        for lang in LANGUAGES[1:]:
            path = out / lang / f"{service}.md"
            path.write_text(set_revision(path.read_text(encoding="utf-8"), revision),
                            encoding="utf-8")


def generate(n: int, out: Path, source: Path = ROOT / "content", seed: int = 0) -> list[str]:
    """Write a content folder of ``n`` services × en/fr/ar to ``out`` (replaced if it exists);
    returns the service ids."""
    if n < 1:
        raise ValueError("at least one service")
    example = templates(source)
    names = sorted(example)
    ids = service_ids(n, names)
    shutil.rmtree(out, ignore_errors=True)
    for lang in LANGUAGES:
        (out / lang).mkdir(parents=True)
    shutil.copyfile(source / "site.yaml", out / "site.yaml")
    for k in range(n):
        for lang, text in render(k, ids, names, example, seed).items():
            (out / lang / f"{ids[k]}.md").write_text(text, encoding="utf-8")
    set_revisions(out, ids)
    return ids


def check(out: Path) -> Diagnostics:
    diagnostics = Diagnostics()
    load_site(out, diagnostics)
    return diagnostics


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("services", type=int, help="number of services (each in en, fr, ar)")
    parser.add_argument("out", type=Path, help="content folder to write (replaced)")
    parser.add_argument("--source", type=Path, default=ROOT / "content",
                        help="the example content to vary (default: content/)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-check", action="store_true", help="do not load the result")
    args = parser.parse_args()
    started = time.perf_counter()
    ids = generate(args.services, args.out, args.source, args.seed)
    files = sorted(args.out.rglob("*.md"))
    size = sum(path.stat().st_size for path in files)
    words = sum(len(path.read_text(encoding="utf-8").split()) for path in files)
    print(f"wrote {len(ids)} services x {len(LANGUAGES)} languages = {len(files)} files, "
          f"{size / 1e6:.1f} MB, {words} words, to {args.out} "
          f"in {time.perf_counter() - started:.1f} s")
    if args.no_check:
        return 0
    started = time.perf_counter()
    diagnostics = check(args.out)
    print(f"load_site: {len(diagnostics.errors)} errors, {len(diagnostics.warnings)} warnings "
          f"in {time.perf_counter() - started:.1f} s")
    for diagnostic in diagnostics.sorted()[:20]:
        print(diagnostic.format())
    return 1 if diagnostics.has_errors() else 0


if __name__ == "__main__":
    sys.exit(main())
