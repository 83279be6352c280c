"""How long the audio notices take, against their bare engines: espeak-ng and ffmpeg's LAME.

Run: ``.venv/bin/python benchmarks/bench_audio.py [--limit N] [--content DIR]``. Renders the audio
notices of the example content (``content/`` through ``load_site``; a small synthetic set when
there is none), then has the ``espeak-ng`` command speak the same spoken scripts, one WAV per
notice, with the same voices and rates, and ffmpeg encode each WAV to MP3 with the writer's own
encoder command (same bitrate, tags and flags). It prints CPU time (user + system, child
processes included: the machine may be shared, so wall time is printed too but is not the
measure) for the writer and for each bare engine, and the writer's ratio against both engines
together and against espeak-ng alone. The difference is the price of what a published notice
needs beyond raw speech and encoding: a checked piece per sentence, loudness and true-peak
mastering (BS.1770) measured on the MP3 decoded back, captions and transcript.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from publisher.diagnostics import Diagnostics  # noqa: E402
from publisher.engine import keep_heap  # noqa: E402
from publisher.i18n import Locale  # noqa: E402
from publisher.model import Document  # noqa: E402
from publisher.speech import script  # noqa: E402
from publisher.writers import RenderContext, Site  # noqa: E402
from publisher.writers.audio import WRITER, AudioOptions, _paces, encoder_command  # noqa: E402


@dataclass(frozen=True)
class Times:
    cpu: float  # user + system, this process and its finished children
    wall: float

    def plus(self, other: Times) -> Times:
        return Times(self.cpu + other.cpu, self.wall + other.wall)


class Clock:
    def __init__(self) -> None:
        self.start = self._now()

    @staticmethod
    def zero() -> Times:
        return Times(0.0, 0.0)

    @staticmethod
    def _now() -> Times:
        t = os.times()
        return Times(t.user + t.system + t.children_user + t.children_system, t.elapsed)

    def lap(self) -> Times:
        now = self._now()
        return Times(now.cpu - self.start.cpu, now.wall - self.start.wall)


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

    keep_heap()  # the allocator options of a build's render workers
    clock = Clock()
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
              f"{artifacts[0].meta['loudness_lufs']:.1f} LUFS, "
              f"{artifacts[0].meta['true_peak_dbtp']:.1f} dBTP", flush=True)
    project = clock.lap()

    speech = Clock.zero()
    encoding = Clock.zero()
    with tempfile.TemporaryDirectory() as tmp:
        for index, doc in enumerate(docs):
            text = "\n".join(s.spoken for s in script(
                doc, Locale(doc.lang), site.config.organisation_name(doc.lang)))
            voice = options.voice_for(doc.lang)
            rate = round(options.rate_wpm * paces.get(voice, 1.0))
            wav = Path(tmp) / f"{index}.wav"
            clock = Clock()
            subprocess.run(
                ["espeak-ng", "-v", voice.rsplit("/", 1)[-1], "-s", str(rate), "-w", str(wav),
                 text],
                check=True, capture_output=True,
            )
            speech = speech.plus(clock.lap())
            clock = Clock()
            subprocess.run(
                encoder_command(doc, options, site.config.organisation_name(doc.lang),
                                ["-i", str(wav)], wav.with_suffix(".mp3")),
                check=True, capture_output=True,
            )
            encoding = encoding.plus(clock.lap())
    bare = speech.plus(encoding)

    print(f"notices: {len(docs)} ({failures} failed), {seconds_of_audio / 60:.1f} min of audio")
    print("                                 CPU s    wall s")
    print(f"publisher audio writer:       {project.cpu:8.2f}  {project.wall:8.2f}")
    print(f"bare espeak-ng to WAV:        {speech.cpu:8.2f}  {speech.wall:8.2f}")
    print(f"bare ffmpeg WAV to MP3:       {encoding.cpu:8.2f}  {encoding.wall:8.2f}")
    print(f"bare engines together:        {bare.cpu:8.2f}  {bare.wall:8.2f}")
    print(f"ratio (CPU) against both engines: {project.cpu / bare.cpu:.2f}x, "
          f"against espeak-ng alone: {project.cpu / speech.cpu:.2f}x")
    print(f"ratio (wall) against both engines: {project.wall / bare.wall:.2f}x, "
          f"against espeak-ng alone: {project.wall / speech.wall:.2f}x")


if __name__ == "__main__":
    main()
