"""Braille benchmark: the project's BRF + PEF of the example content against bare lou_translate.

Run: ``.venv/bin/python benchmarks/bench_braille.py [content-dir]`` (all the documents that
``load_site`` finds in ``content/``). Prints, for the same text:

- the time the braille writer takes to render every service of the example content (BRF and PEF:
  character checks, liblouis translation, layout, pagination, both files), caches emptied so
  each run starts as a fresh build would;
- of that, the time spent inside liblouis translation calls;
- the time Debian's ``lou_translate`` (liblouis-bin) takes to translate exactly the strings the
  writer handed to liblouis, one process per table, as a shell user would run it;
- the ratio of the two, and, for information, the time the braille audit takes to read it all back.

Each figure is the best of ``--runs`` runs (3 by default).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_build import children_cpu  # noqa: E402

from publisher.audits import AuditContext, AuditInput  # noqa: E402
from publisher.audits.braille import AUDIT  # noqa: E402
from publisher.diagnostics import Diagnostics  # noqa: E402
from publisher.i18n import Locale  # noqa: E402
from publisher.load import load_site  # noqa: E402
from publisher.model import Document  # noqa: E402
from publisher.writers import (  # noqa: E402
    Artifact,
    RenderContext,
    Site,
    braille,
)


def load(content: Path) -> Site:
    diagnostics = Diagnostics()
    site = load_site(content, diagnostics)
    if site is None:
        raise SystemExit("\n".join(d.format() for d in diagnostics))
    return site


def render_all(site: Site, content: Path) -> list[tuple[Artifact, Document]]:
    """Render every document of the site as BRF and PEF."""
    options = braille.braille_options(site.config.format_options("braille"))
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    produced = []
    for (_, lang), doc in sorted(site.documents.items()):
        ctx = RenderContext(config=site.config, language=site.config.language(lang),
                            locale=Locale(lang), build_time=when, formats_dir=ROOT / "formats",
                            content_dir=content, site=site, options=options,
                            diagnostics=Diagnostics())
        produced += [(artifact, doc) for artifact in braille.WRITER.render(doc, ctx)]
    return produced


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("content", nargs="?", type=Path, default=ROOT / "content")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    lou_translate = shutil.which("lou_translate")
    if lou_translate is None:
        raise SystemExit("lou_translate is not installed (Debian package liblouis-bin)")
    site = load(args.content)

    # Record what the writer gives liblouis, and how long liblouis takes, by wrapping the one
    # function through which the writer translates text.
    original = braille.translate
    inputs: dict[tuple[str, ...], list[str]] = defaultdict(list)
    in_louis = 0.0

    def recording(tables: tuple[str, ...], text: str) -> str:
        nonlocal in_louis
        started = time.perf_counter()
        result = original(tables, text)
        in_louis += time.perf_counter() - started
        inputs[tables].append(text)
        return result

    braille.translate = recording
    project, louis_part = float("inf"), float("inf")
    produced: list[tuple[Artifact, Document]] = []
    for _ in range(args.runs):
        for cached in (braille._defined, braille.page_number, braille.hyphen):
            cached.cache_clear()
        inputs.clear()
        in_louis = 0.0
        started = time.perf_counter()
        produced = render_all(site, args.content)
        elapsed = time.perf_counter() - started
        if elapsed < project:
            project, louis_part = elapsed, in_louis
    braille.translate = original

    bare, bare_cpu = float("inf"), 0.0
    characters = sum(len(text) for texts in inputs.values() for text in texts)
    for _ in range(args.runs):
        started, started_cpu = time.perf_counter(), children_cpu()
        for tables, texts in sorted(inputs.items()):
            # One line per string: lou_translate translates its input line by line.
            stdin = "\n".join(text.replace("\n", " ") for text in texts) + "\n"
            subprocess.run([lou_translate, "--forward", ",".join(tables)], input=stdin.encode(),
                           stdout=subprocess.DEVNULL, check=True)
        elapsed = time.perf_counter() - started
        if elapsed < bare:
            bare, bare_cpu = elapsed, children_cpu() - started_cpu

    with tempfile.TemporaryDirectory() as folder:
        audit_inputs = []
        for artifact, doc in produced:
            path = Path(folder) / artifact.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(artifact.data)
            audit_inputs.append(AuditInput(path, artifact.path, artifact, doc))
        started = time.perf_counter()
        findings = AUDIT.audit(audit_inputs, AuditContext(site.config, Path(folder)))
        audit_seconds = time.perf_counter() - started

    pages = sum(artifact.meta["pages"] for artifact, _ in produced if artifact.format == "brf")
    print(f"documents: {len(site.documents)}  braille pages: {pages}  "
          f"characters translated: {characters}  strings: "
          f"{sum(len(texts) for texts in inputs.values())}")
    print(f"project (BRF + PEF, best of {args.runs}):   {project:8.3f} s")
    print(f"  of which liblouis translation:     {louis_part:8.3f} s")
    print(f"bare lou_translate, same text:       {bare:8.3f} s")
    print(f"bare lou_translate, CPU:             {bare_cpu:8.3f} s")
    print(f"ratio project / lou_translate:       {project / bare:8.2f}")
    print(f"audit (read back, back-translate):   {audit_seconds:8.3f} s "
          f"({len(findings)} findings, "
          f"{sum(1 for f in findings if f.outcome == 'failed')} failed)")


if __name__ == "__main__":
    main()
