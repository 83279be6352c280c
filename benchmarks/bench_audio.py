"""How long the audio notices take, against bare espeak-ng speaking the same scripts.

Run: ``.venv/bin/python benchmarks/bench_audio.py [--limit N] [--content DIR]``. Renders the audio
notices of the example content (``content/`` through ``load_site``; a small synthetic set when
there is none), then has the ``espeak-ng`` command speak the same spoken scripts, one WAV per
notice, with the same voices and rate, and prints both times and their ratio. The difference is
the price of what a published notice needs beyond raw speech: a checked piece per sentence,
loudness mastering (BS.1770), MP3 encoding and reading it back, captions and transcript.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from publisher.diagnostics import Diagnostics  # noqa: E402
from publisher.i18n import Locale  # noqa: E402
from publisher.model import Document  # noqa: E402
from publisher.speech import script  # noqa: E402
from publisher.writers import RenderContext, Site  # noqa: E402
from publisher.writers.audio import WRITER, AudioOptions, _paces  # noqa: E402


def load(content: Path) -> tuple[Site, list[Document]]:
    try:
        from publisher.load import load_site
    except ImportError:
        load_site = None
    if load_site is not None and (content / "site.yaml").is_file():
        site = load_site(content, Diagnostics())
        if site is not None:
            return site, [site.documents[key] for key in sorted(site.documents)]
    sys.path.insert(0, str(ROOT / "tests"))
    from test_audio import CONFIG, make_doc  # a synthetic set, as the tests build it

    docs = [make_doc(lang) for lang in ("en", "fr", "ar")]
    return Site(CONFIG, {(d.id, d.lang): d for d in docs}), docs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content", type=Path, default=ROOT / "content")
    parser.add_argument("--limit", type=int, default=0, help="only the first N notices")
    args = parser.parse_args()
    site, docs = load(args.content)
    if args.limit:
        docs = docs[: args.limit]
    options = AudioOptions.model_validate(site.config.format_options("audio"))
    paces = _paces(ROOT / "formats" / "audio" / "voices.yaml")

    started = time.perf_counter()
    seconds_of_audio = 0.0
    failures = 0
    for doc in docs:
        ctx = RenderContext(
            config=site.config, language=site.config.language(doc.lang),
            locale=Locale(doc.lang), build_time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            formats_dir=ROOT / "formats", content_dir=args.content, site=site,
            options=options, diagnostics=Diagnostics(),
        )
        artifacts = WRITER.render(doc, ctx)
        if not artifacts:
            failures += 1
            continue
        seconds_of_audio += float(artifacts[0].meta["duration_seconds"])
        print(f"  {artifacts[0].path}: {artifacts[0].meta['duration_seconds']:.0f} s, "
              f"{artifacts[0].meta['words_per_minute']:.0f} words/min, "
              f"{artifacts[0].meta['loudness_lufs']:.1f} LUFS", flush=True)
    project = time.perf_counter() - started

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for index, doc in enumerate(docs):
            text = "\n".join(s.spoken for s in script(
                doc, Locale(doc.lang), site.config.organisation_name(doc.lang)))
            voice = options.voice_for(doc.lang)
            rate = round(options.rate_wpm * paces.get(voice, 1.0))
            subprocess.run(
                ["espeak-ng", "-v", voice.rsplit("/", 1)[-1], "-s", str(rate),
                 "-w", f"{tmp}/{index}.wav", text],
                check=True, capture_output=True,
            )
    bare = time.perf_counter() - started

    print(f"notices: {len(docs)} ({failures} failed), {seconds_of_audio / 60:.1f} min of audio")
    print(f"publisher audio writer: {project:.2f} s")
    print(f"bare espeak-ng to WAV:  {bare:.2f} s")
    print(f"ratio: {project / bare:.1f}x")


if __name__ == "__main__":
    main()
