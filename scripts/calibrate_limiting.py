"""Measure each voice's mastering calibration for ``formats/audio/voices.yaml``.

    .venv/bin/python scripts/calibrate_limiting.py [CONTENT]     # default: content/

For every audio notice of the catalogue (at its site.yaml's audio options) it synthesises the
speech as the audio writer does, then finds the gain at which the limited notice reaches the
mastering target, by the writer's own rounds (:meth:`Mastering.limited`) solved to 0.005 LU.
It prints, per voice, that gain over the unlimited one (``limiting_gain_db``) and the LU one
more dB then adds (``limiting_slope``): their means are what voices.yaml should say. Only the
number of mastering rounds depends on these figures, never a notice's loudness.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from publisher.diagnostics import Diagnostics  # noqa: E402
from publisher.i18n import Locale  # noqa: E402
from publisher.load import load_site  # noqa: E402
from publisher.speech import script  # noqa: E402
from publisher.writers import RenderContext  # noqa: E402
from publisher.writers.audio import (  # noqa: E402
    SAMPLE_RATE,
    WRITER,
    AudioOptions,
    Mastering,
    first_aims,
)


def solve(mastering: Mastering, target: float, ceiling: float) -> tuple[float, float]:
    """The gain (dB over the unlimited one) at which the limited notice measures ``target``,
    and the slope there (LU a dB, over ±0.5 dB)."""

    def loudness(gain_db: float) -> float:
        return mastering.limited(gain_db, ceiling)[1]

    base = target - mastering.loudness
    g0, g1 = base + 5.0, base + 8.0
    f0, f1 = loudness(g0), loudness(g1)
    for _ in range(8):
        if abs(f1 - target) < 0.005 or f1 == f0:
            break
        g0, f0, g1 = g1, f1, g1 + (target - f1) * (g1 - g0) / (f1 - f0)
        f1 = loudness(g1)
    return g1 - base, loudness(g1 + 0.5) - loudness(g1 - 0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("content", type=Path, nargs="?", default=ROOT / "content")
    args = parser.parse_args()
    diagnostics = Diagnostics()
    site = load_site(args.content, diagnostics)
    if site is None:
        print("\n".join(d.format() for d in diagnostics), file=sys.stderr)
        return 1
    options = AudioOptions.model_validate(site.config.format_options("audio"))
    target, ceiling = first_aims(options)  # what the writer's mastering aims at
    found: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for key in sorted(site.documents):
        doc = site.documents[key]
        ctx = RenderContext(
            config=site.config, language=site.config.language(doc.lang),
            locale=Locale(doc.lang), build_time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            formats_dir=ROOT / "formats", content_dir=args.content, site=site,
            options=options, diagnostics=Diagnostics(),
        )
        sentences = script(doc, ctx.locale, site.config.organisation_name(doc.lang))
        with tempfile.TemporaryDirectory() as tmp:
            synthesised = WRITER._synthesise(doc, sentences, options, ctx, Path(tmp))
            if synthesised is None:
                print(f"{doc.id} ({doc.lang}): not synthesised", file=sys.stderr)
                continue
            pieces, voice = synthesised
            speech = WRITER._join(sentences, pieces, Path(tmp) / "joined.pcm")[0]
            gain, slope = solve(Mastering(speech, SAMPLE_RATE), target, ceiling)
        found[voice].append((gain, slope))
        print(f"{voice:8s} {doc.id} ({doc.lang}): {gain:.2f} dB, {slope:.3f} LU/dB", flush=True)
    print("\nvoice     notices  limiting_gain_db (sd, range)       limiting_slope (sd)")
    for voice, rows in sorted(found.items()):
        table = np.array(rows)
        gains, slopes = table[:, 0], table[:, 1]
        print(f"{voice:8s} {len(rows):8d}  {gains.mean():5.2f} ({gains.std():.2f}, "
              f"{gains.min():.2f}-{gains.max():.2f})      {slopes.mean():.3f} ({slopes.std():.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
