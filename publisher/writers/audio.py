"""Spoken audio notices: an MP3 per service per language, with WebVTT captions and a transcript.

In: a :class:`~publisher.model.Document` and its render context. Out: three artifacts — the MP3
(loudness-normalised per ITU-R BS.1770, ID3-tagged), its WebVTT captions (one cue per sentence,
timed from the real synthesised pieces) and an HTML transcript page — or none at all and a
diagnostic when any piece could not be synthesised (``A201``), so that a listener never gets a
notice with a sentence missing.

The script comes from :mod:`publisher.speech`. Each sentence is synthesised alone by espeak-ng
(through pyttsx3's binding of it, synchronously: see :func:`_synthesis_worker`), in a fresh worker
process per notice: espeak-ng keeps state between utterances (its voice flutter and echo carry
on), so pieces synthesised in a long-lived engine differ by a few samples from one run to the next
and the MP3 would not be reproducible; a fresh process per notice gives the same samples for the
same script, and keeps espeak-ng's per-process state out of the build's own processes. All
temporary files live in a :class:`tempfile.TemporaryDirectory`.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import inspect
import json
import math
import re
import shutil
import subprocess
import sys
import tempfile
import wave
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Literal

import jinja2
import yaml
from pydantic import Field

from publisher.diagnostics import Diagnostic, Severity
from publisher.model import Document
from publisher.speech import Sentence, script, word_count
from publisher.writers import N_, Artifact, Options, RenderContext, Writer, artifact_path

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Signal = npt.NDArray[np.float64]
    #: samples as decoded (float32) or computed (float64)
    Samples = npt.NDArray[np.floating[Any]]
else:
    def _lazy(name: str) -> Any:
        """``import name``, executed on first use (the standard library's LazyLoader): every
        build imports every writer to read their options, and NumPy costs ~0.2 s of a
        rebuild that makes no audio."""
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.loader is not None
        spec.loader = importlib.util.LazyLoader(spec.loader)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    np = _lazy("numpy")

#: espeak-ng voice identifiers (as ``espeak-ng --voices`` lists them) for the languages the
#: project ships; other languages fall back to espeak-ng's voice of the same code
DEFAULT_VOICES = {"en": "gmw/en", "fr": "roa/fr", "ar": "sem/ar"}
#: ID3v2 TLAN holds ISO 639-2 codes
ISO_639_2 = {
    "ar": "ara", "de": "deu", "en": "eng", "es": "spa", "fr": "fra", "it": "ita", "nl": "nld",
    "pl": "pol", "pt": "por", "ro": "ron", "ru": "rus", "tr": "tur", "uk": "ukr", "zh": "zho",
}
SAMPLE_RATE = 22050  # espeak-ng's output rate; speech needs no more
#: pauses between pieces, in seconds: within a paragraph, between blocks, around headings
PAUSE_SENTENCE = 0.35
PAUSE_BLOCK = 0.7
PAUSE_HEADING = 1.0
LEAD_IN = 0.3
TAIL = 0.6
#: limiter headroom under the true-peak ceiling, for the MP3 encoder's overshoot. Measured on
#: the benchmark's nine notices at 64 kbit/s (ceiling 2 dB under): LAME overshoots by 0.4 to
#: 0.8 dB on the English voice, 0.5 to 2.35 dB on the French one and 1.2 to 2.0 dB on the
#: Arabic one, so 2 dB sent two notices in nine through a second mastering and encoding (an
#: encoding is most of a notice's cost). 3 dB covers all of them with room to spare
PEAK_MARGIN_DB = 3.0
LIMITER_HOLD = 0.005  # seconds
#: how far under the first round's limiter threshold the oversampled peaks are computed, so
#: that the later rounds (more gain: see LIMITING_SLOPE) reuse them; a round that needs more
#: computes them again
PEAK_ROOM_DB = 3.0
#: the first round's gain over the one that would bring the unlimited speech to the target,
#: for a voice ``formats/audio/voices.yaml`` does not calibrate (``limiting_gain_db``): the
#: limiter takes loudness off, which more gain makes up. Only the number of rounds depends on
#: it (each limits and measures the whole notice)
LIMITING_GAIN_DB = 5.5
#: how much of a gain step the limited loudness follows, first guess, for a voice not
#: calibrated (``limiting_slope``): one more dB of gain adds a quarter of a LU or so once
#: limiting takes its share. Only the number of rounds depends on it (each next round follows
#: the slope of the last two); it saves a round or two over assuming 1
LIMITING_SLOPE = 0.25
OVERSAMPLING = 4
ENCODER_LOSS_LU = 0.45


class AudioOptions(Options):
    """``formats: audio:`` in ``site.yaml``."""

    voices: dict[str, str] = Field(default_factory=dict)
    rate_wpm: int = Field(default=150, ge=80, le=450)
    loudness_lufs: float = Field(default=-16.0, ge=-40.0, le=-5.0)
    loudness_tolerance_lu: float = Field(default=1.0, gt=0.0, le=5.0)
    true_peak_dbtp: float = Field(default=-1.0, ge=-20.0, le=0.0)
    bitrate_kbps: Literal[32, 40, 48, 56, 64, 80, 96, 112, 128] = 64
    retries: int = Field(default=2, ge=0, le=5)

    def voice_for(self, lang: str) -> str:
        return self.voices.get(lang) or DEFAULT_VOICES.get(lang) or lang


# ---------------------------------------------------------------- measuring (shared with audit)

#: the K-weighting of ITU-R BS.1770-4 as two biquads (high shelf, then high pass), designed from
#: RBJ's cookbook with the parameters pyloudnorm uses: (kind, gain dB, Q, corner Hz)
K_WEIGHTING = (("high_shelf", 4.0, 1 / math.sqrt(2), 1500.0), ("high_pass", 0.0, 0.5, 38.0))
GATE_BLOCK = 0.4  # seconds
GATE_STEP = 0.25  # of a block: 75 % overlap
ABSOLUTE_GATE = -70.0  # LUFS


@functools.cache
def _k_weighting(rate: int) -> Signal:
    """The K-weighting filter at this sample rate, as second-order sections."""
    sections = []
    for kind, gain_db, q, corner in K_WEIGHTING:
        a_ = 10 ** (gain_db / 40)
        w0 = 2 * np.pi * corner / rate
        alpha = np.sin(w0) / (2 * q)
        cos = np.cos(w0)
        if kind == "high_shelf":
            root = 2 * np.sqrt(a_) * alpha
            b = [a_ * ((a_ + 1) + (a_ - 1) * cos + root), -2 * a_ * ((a_ - 1) + (a_ + 1) * cos),
                 a_ * ((a_ + 1) + (a_ - 1) * cos - root)]
            a = [(a_ + 1) - (a_ - 1) * cos + root, 2 * ((a_ - 1) - (a_ + 1) * cos),
                 (a_ + 1) - (a_ - 1) * cos - root]
        else:
            b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
            a = [1 + alpha, -2 * cos, 1 - alpha]
        sections.append([value / a[0] for value in (*b, *a)])
    return np.asarray(sections, dtype=np.float64)


def k_weighted(samples: Samples, rate: int) -> Signal:
    from scipy import signal  # SciPy is imported when audio is made, not at start-up
    return np.asarray(signal.sosfilt(_k_weighting(rate), samples), dtype=np.float64)


#: samples K-weighted at a time: the filter's state is carried from one stretch to the next
#: (the same operations in the same order as one call), and a notice of minutes never has a
#: whole float64 copy of itself in memory
WEIGHTING_CHUNK = 1 << 19


def _block_edges(length: int, rate: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]]:
    """The gating blocks' bounds as pyloudnorm sets them (so that both meters agree to the last
    digit that matters): the distinct bounds (``edges``, sorted), and for each block where its
    lower and upper bounds are among them."""
    count = int(np.round((length / rate - GATE_BLOCK) / (GATE_BLOCK * GATE_STEP))) + 1
    index = np.arange(max(count, 0))
    lower = np.minimum((GATE_BLOCK * (index * GATE_STEP) * rate).astype(np.int64), length)
    upper = np.minimum((GATE_BLOCK * (index * GATE_STEP + 1) * rate).astype(np.int64), length)
    edges, where = np.unique(np.concatenate([lower, upper]), return_inverse=True)
    return edges, where.reshape(2, -1)


class _LoudnessMeter:
    """Integrated loudness of a signal of known length fed a stretch at a time, in any sizes:
    the sum of the squared K-weighted signal between each gating block's bound and the next
    (a notice has thousands of overlapping blocks: the signal is squared and summed once, each
    block then adds up its few stretches). It is filtered ``WEIGHTING_CHUNK`` samples at a time,
    each chunk ending on a bound, so that no stretch straddles two chunks, and the filter's
    state carried from one to the next: where the stretches fed begin and end changes nothing
    (the writer feeds what it masters, the audit what it decodes, and they must agree to the
    last bit), and memory stays that of a chunk whatever the length."""

    def __init__(self, length: int, rate: int) -> None:
        self.rate = rate
        # shorter than one gating block: measured with silence after it, as pyloudnorm does
        block = int(GATE_BLOCK * rate)
        self.length = length if length >= block else block + 1
        self.edges, self.where = _block_edges(self.length, rate)
        self.sums = np.zeros(len(self.edges))
        self.inside = np.flatnonzero(self.edges < self.length)  # a bound may be the length
        self.starts = self.edges[self.inside]
        self.state = np.zeros((len(_k_weighting(rate)), 2))
        self.cursor = self.first = 0
        self.pending: list[Samples] = []  # fed from ``cursor`` on, not yet filtered
        self.held = 0

    def feed(self, samples: Samples) -> None:
        if len(samples):
            self.pending.append(samples)
            self.held += len(samples)
        self._filter()

    def _filter(self) -> None:
        from scipy import signal  # SciPy is imported when audio is made, not at start-up
        sos = _k_weighting(self.rate)
        while self.cursor < self.length:
            # the chunk ends on the first bound past a whole chunk (or at the end)
            stop = int(np.searchsorted(self.starts, self.cursor + WEIGHTING_CHUNK))
            end = int(self.starts[stop]) if stop < len(self.starts) else self.length
            if self.held < end - self.cursor:
                return
            joined = (self.pending[0] if len(self.pending) == 1
                      else np.concatenate(self.pending))
            chunk, rest = joined[: end - self.cursor], joined[end - self.cursor:]
            self.pending, self.held = ([rest] if len(rest) else []), len(rest)
            weighted, self.state = signal.sosfilt(sos, chunk, zi=self.state)
            np.square(weighted, out=weighted)
            if stop > self.first:
                self.sums[self.inside[self.first:stop]] = np.add.reduceat(
                    weighted, self.starts[self.first:stop] - self.cursor)
            self.cursor, self.first = end, stop

    def loudness(self) -> float:
        """Once every sample was fed: the integrated loudness, in LUFS (-inf for silence)."""
        missing = self.length - self.cursor - self.held
        if missing > 0:  # the silence after a signal shorter than one block
            self.feed(np.zeros(missing))
        if len(self.edges) == 0:
            return _gated_loudness(np.zeros(0))
        return _gated_loudness(_energies(self.sums, self.where, self.rate))


def _energies(sums: Signal, where: npt.NDArray[np.intp], rate: int) -> Signal:
    """Each gating block's mean square from the stretches' sums."""
    running = np.concatenate([[0.0], np.cumsum(sums)])
    return np.asarray((running[where[1]] - running[where[0]]) / (GATE_BLOCK * rate),
                      dtype=np.float64)


def _gated_loudness(energies: Signal) -> float:
    """Integrated loudness from the blocks' mean squares: the absolute gate at -70 LUFS, then
    the relative gate 10 LU under the loudness of what passed it (BS.1770-4, eq. 4-7)."""
    with np.errstate(divide="ignore"):
        block = -0.691 + 10 * np.log10(np.maximum(energies, 0.0))
    above = block >= ABSOLUTE_GATE
    if not above.any():
        return float("-inf")
    relative = -0.691 + 10 * np.log10(np.mean(energies[above])) - 10
    gated = (block > relative) & (block > ABSOLUTE_GATE)
    if not gated.any():
        return float("-inf")
    return float(-0.691 + 10 * np.log10(np.mean(energies[gated])))


def integrated_loudness(samples: Samples, rate: int) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770-4, gated; the same figures as pyloudnorm's
    meter, computed without its per-block loop); -inf for silence."""
    meter = _LoudnessMeter(len(samples), rate)
    meter.feed(samples)
    return meter.loudness()


@functools.cache
def _interpolation_taps() -> Signal:
    """The 49-tap interpolation filter of the true-peak meter (12 taps a phase), as ITU-R
    BS.1770-4 annex 2 suggests."""
    from scipy import signal  # SciPy is imported when audio is made, not at start-up
    return np.asarray(signal.firwin(49, 1 / OVERSAMPLING, window=("kaiser", 5.0))
                      * OVERSAMPLING, dtype=np.float64)


@functools.cache
def _phases() -> tuple[Signal, Signal]:
    """For each of the four phases of the interpolation filter, the sum of its taps and the
    sum of their magnitudes (what the peak bound below needs)."""
    taps = _interpolation_taps()
    rows = [taps[phase::OVERSAMPLING] for phase in range(OVERSAMPLING)]
    return (np.array([np.sum(row) for row in rows]),
            np.array([np.sum(np.abs(row)) for row in rows]))


#: instants of the oversampled signal are bounded and computed in blocks of this many samples
#: (four interpolated values each): small blocks make a tight bound
PEAK_BLOCK = 8
#: how many input samples before an instant its interpolated values draw on (taps less one,
#: per phase: 49 taps, 13 a phase)
PEAK_SPAN = (49 - 1) // OVERSAMPLING


def _padded(samples: Samples) -> tuple[Samples, int]:
    """The signal after ``PEAK_SPAN`` zeros and followed by zeros to whole blocks (and two
    more blocks, which the bounds read), and how many blocks of instants there are. Instant
    ``q`` (0 ≤ q < len + PEAK_SPAN, those of ``upfirdn``'s full output) is made of
    ``padded[q: q + PEAK_SPAN + 1]``: its phase ``p`` is
    ``sum(taps[p + 4k] * padded[q + PEAK_SPAN - k])``."""
    count = -(-(len(samples) + PEAK_SPAN) // PEAK_BLOCK)
    # float32 samples (as decoded) stay float32: bounds of their exact values; upfirdn
    # computes in the precision of its taps, float64
    padded = np.zeros((count + 3) * PEAK_BLOCK, dtype=samples.dtype)
    padded[PEAK_SPAN: PEAK_SPAN + len(samples)] = samples
    return padded, count


def _block_bounds(padded: Samples, count: int) -> Signal:
    """For each block of instants, an upper bound of the magnitude of its interpolated values.

    Proof. The values of a block are made of the samples of its window (the block and the
    ``PEAK_SPAN`` after it). Let ``hi`` and ``lo`` be their largest and smallest, ``c`` =
    (hi + lo) / 2 and ``r`` = (hi − lo) / 2, so that every sample is ``c + e`` with |e| ≤ r.
    A value of phase ``p`` is ``sum(h_p[k] * (c + e_k))`` = ``c * S_p + sum(h_p[k] * e_k)``,
    whose magnitude is at most ``|c| * |S_p| + r * A_p`` (``S_p`` the sum of the phase's taps,
    ``A_p`` the sum of their magnitudes). This is never looser than the plain bound
    ``max(|hi|, |lo|) * A_p`` (as |S_p| ≤ A_p), and much tighter where the window does not
    swing from one sign to the other. The factor 1 + 1e-9 covers rounding: the computed sums
    of 13 products err by less than 1e-14 of the bound."""
    blocks = len(padded) // PEAK_BLOCK
    high = np.empty(blocks, dtype=padded.dtype)
    low = np.empty(blocks, dtype=padded.dtype)
    # a stretch at a time, so that the halvings' arrays stay small beside a notice of minutes
    step = PEAK_CHUNK_BLOCKS * 8
    for start in range(0, blocks, step):
        top = bottom = padded[start * PEAK_BLOCK: min(blocks, start + step) * PEAK_BLOCK]
        width = 1
        while width < PEAK_BLOCK:  # halving strided pairs: faster than a reduction along rows
            top = np.maximum(top[0::2], top[1::2])
            bottom = np.minimum(bottom[0::2], bottom[1::2])
            width *= 2
        high[start: start + len(top)] = top
        low[start: start + len(bottom)] = bottom
    # a block's window ends PEAK_SPAN (12) after it: it lies within it and the next two
    reach = -(-PEAK_SPAN // PEAK_BLOCK)
    hi, lo = high[:count].copy(), low[:count].copy()
    for ahead in range(1, reach + 1):
        np.maximum(hi, high[ahead: count + ahead], out=hi)
        np.minimum(lo, low[ahead: count + ahead], out=lo)
    sums, magnitudes = _phases()
    centre, radius = np.abs(hi + lo) / 2, (hi - lo) / 2
    bound = centre * np.max(np.abs(sums)) + radius * np.max(magnitudes)
    return np.asarray(bound * (1 + 1e-9), dtype=np.float64)


#: blocks oversampled by one ``upfirdn`` call at most: the call's arrays (the window, four
#: times as many values, their magnitudes) then stay near 30 MB, where a notice of minutes
#: would take hundreds of MB in each worker at once
PEAK_CHUNK_BLOCKS = 1 << 15


def _block_peaks(padded: Samples, blocks: npt.NDArray[np.intp]) -> Signal:
    """The exact largest magnitude over the four phases of each instant of the given blocks
    (sorted, distinct), shape (len(blocks), PEAK_BLOCK), computed ``PEAK_CHUNK_BLOCKS`` blocks
    at a time."""
    if len(blocks) <= PEAK_CHUNK_BLOCKS:
        return _chunk_peaks(padded, blocks)
    return np.concatenate([_chunk_peaks(padded, blocks[start: start + PEAK_CHUNK_BLOCKS])
                           for start in range(0, len(blocks), PEAK_CHUNK_BLOCKS)])


def _chunk_peaks(padded: Samples, blocks: npt.NDArray[np.intp]) -> Signal:
    """:func:`_block_peaks` in one call. Consecutive blocks form runs; the runs' windows are
    laid end to end and oversampled by one ``upfirdn`` call (the reference computation
    itself), and only the instants whose whole window lies in their run are kept."""
    from scipy import signal  # SciPy is imported when audio is made, not at start-up
    if len(blocks) == 0:
        return np.zeros((0, PEAK_BLOCK))
    breaks = np.flatnonzero(np.diff(blocks) != 1) + 1
    first = blocks[np.r_[0, breaks]]
    last = blocks[np.r_[breaks - 1, len(blocks) - 1]]
    instants = (last - first + 1) * PEAK_BLOCK
    lengths = instants + PEAK_SPAN
    where = np.cumsum(lengths) - lengths  # where each run's window starts, end to end
    index = np.arange(int(lengths.sum())) + np.repeat(first * PEAK_BLOCK - where, lengths)
    out = signal.upfirdn(_interpolation_taps(), padded[index], OVERSAMPLING)
    # out[4i + p] = sum(taps[p + 4k] * window[i - k]): instant q of a run is at i = its
    # place in the window + PEAK_SPAN
    wanted = (np.arange(int(instants.sum()))
              + np.repeat(where + PEAK_SPAN - (np.cumsum(instants) - instants), instants))
    magnitude = np.abs(out[: len(index) * OVERSAMPLING])
    largest = np.maximum(np.maximum(magnitude[0::4], magnitude[1::4]),
                         np.maximum(magnitude[2::4], magnitude[3::4]))
    return np.asarray(largest[wanted].reshape(len(blocks), PEAK_BLOCK), dtype=np.float64)


class _PeakMeter:
    """True peak in dBTP (BS.1770-4 annex 2) of a signal of known length fed a stretch at a
    time: the peak of the signal oversampled four times, which catches the inter-sample peaks
    a decoder or DAC will produce. Exact: the instants are taken ``PEAK_CHUNK_BLOCKS`` blocks
    at a time (the same groups however the signal is fed, so that the writer and the audit
    agree); in each, the loudest blocks by their bound are computed first when many could
    beat the peak so far, then every other block whose bound exceeds it, and no block left out
    can hold a larger value. (Computing every group's blocks loudest bound first, to stop
    early, was tried: on speech the bounds are too close to one another for it to stop much
    sooner, and the sorting cost more than it saved.)"""

    def __init__(self, length: int) -> None:
        #: blocks of instants, as :func:`_padded` counts them
        self.count = -(-(length + PEAK_SPAN) // PEAK_BLOCK)
        self.total = (self.count + 3) * PEAK_BLOCK  # the padded signal's length
        self.done = 0  # blocks of instants measured
        self.pending: list[Samples] = []  # the padded signal from block ``done`` on
        self.held = 0
        self.dtype: Any = None  # the samples' own (float32 decoded, float64 computed)
        self.peak = 0.0

    def feed(self, samples: Samples) -> None:
        if self.dtype is None:  # the PEAK_SPAN zeros before, in the samples' own dtype
            self.dtype = samples.dtype
            self.pending.append(np.zeros(PEAK_SPAN, dtype=samples.dtype))
            self.held = PEAK_SPAN
        if len(samples):
            self.pending.append(samples)
            self.held += len(samples)
        while self.count - self.done >= PEAK_CHUNK_BLOCKS and (
                self.held >= (PEAK_CHUNK_BLOCKS + 3) * PEAK_BLOCK):
            self._measure(PEAK_CHUNK_BLOCKS)

    def _measure(self, blocks: int) -> None:
        joined = self.pending[0] if len(self.pending) == 1 else np.concatenate(self.pending)
        window = joined[: (blocks + 3) * PEAK_BLOCK]  # the blocks and the next three
        bounds = _block_bounds(window, blocks)
        candidates = np.flatnonzero(bounds > self.peak)
        if len(candidates) > 256:
            loudest = np.sort(candidates[np.argpartition(-bounds[candidates], 255)[:256]])
            self.peak = max(self.peak, float(np.max(_block_peaks(window, loudest))))
            candidates = np.flatnonzero(bounds > self.peak)  # the loudest again among them
        if len(candidates):
            self.peak = max(self.peak, float(np.max(_block_peaks(window, candidates))))
        rest = joined[blocks * PEAK_BLOCK:]
        self.pending, self.held = ([rest] if len(rest) else []), len(rest)
        self.done += blocks

    def true_peak(self) -> float:
        """Once every sample was fed: the true peak, in dBTP (-inf for silence)."""
        if self.dtype is None:
            self.feed(np.zeros(0))
        missing = self.total - self.done * PEAK_BLOCK - self.held
        if missing > 0:  # zeros to whole blocks and two more blocks, as _padded has
            self.pending.append(np.zeros(missing, dtype=self.dtype))
            self.held += missing
        while self.done < self.count:
            self._measure(min(PEAK_CHUNK_BLOCKS, self.count - self.done))
        return float(20 * np.log10(self.peak)) if self.peak > 0 else float("-inf")


def true_peak(samples: Samples, rate: int) -> float:
    """True peak in dBTP (see :class:`_PeakMeter`)."""
    if len(samples) == 0:
        return float("-inf")
    meter = _PeakMeter(len(samples))
    meter.feed(samples)
    return meter.true_peak()


def loud_peaks(samples: Samples, threshold: float) -> tuple[npt.NDArray[np.intp], Signal]:
    """The samples whose oversampled peak (the largest of the four interpolated values centred
    on the sample: the filter delays by 6 samples) reaches ``threshold``, and those peaks,
    exact. Only the blocks whose bound reaches the threshold are computed, and only the loud
    samples kept, ``PEAK_CHUNK_BLOCKS`` blocks at a time: the limiter needs no more, and a
    notice of minutes is spared a dense envelope of itself."""
    padded, count = _padded(samples)
    blocks = np.flatnonzero(_block_bounds(padded, count) >= threshold)
    delay = (len(_interpolation_taps()) - 1) // (2 * OVERSAMPLING)
    found: list[npt.NDArray[np.intp]] = [np.zeros(0, dtype=np.intp)]
    values: list[Signal] = [np.zeros(0)]
    for start in range(0, len(blocks), PEAK_CHUNK_BLOCKS):
        chunk = blocks[start: start + PEAK_CHUNK_BLOCKS]
        peaks = _chunk_peaks(padded, chunk).ravel()
        where = (chunk[:, None] * PEAK_BLOCK + np.arange(PEAK_BLOCK)).ravel() - delay
        keep = (peaks >= threshold) & (where >= 0) & (where < len(samples))
        found.append(where[keep])
        values.append(peaks[keep])
    return np.concatenate(found), np.concatenate(values)


def sample_peaks(samples: Samples, threshold: float) -> Signal:
    """Each sample's oversampled peak, exact wherever it reaches ``threshold`` and zero where
    it does not (:func:`loud_peaks` as a dense envelope)."""
    envelope = np.zeros(len(samples))
    index, peaks = loud_peaks(samples, threshold)
    envelope[index] = peaks
    return envelope


def _sndfile_message(error: RuntimeError, path: Path) -> str:
    """libsndfile's reason, without what misleads: it says a file that exists but holds no audio
    it knows "does not exist or is not a regular file"."""
    if not path.is_file():
        return "there is no such file to read"
    reason = str(getattr(error, "error_string", "") or error)
    if "does not exist" in reason:
        return "no audio stream libsndfile can read (MP3, WAV, FLAC, Ogg)"
    return reason


def decoder_version() -> str:
    """The version of the decoder :func:`decode` uses (the soundfile wheel, which brings its
    libsndfile and libmpg123): the writer's figures and the audit's findings depend on it."""
    try:
        return f"soundfile {importlib.metadata.version('soundfile')}"
    except importlib.metadata.PackageNotFoundError:
        return "soundfile missing"


#: frames decoded at a time
DECODE_BLOCK = 1 << 16


def _decoded(path: Path) -> tuple[int, int, Iterator[Samples]]:
    """An audio file's length in frames (as its header says), its rate, and its mono float32
    samples a block at a time (see :func:`decode`). Raises ValueError when it cannot be read
    as audio.

    The blocks are read by libsndfile's own ``sf_readf_float``: python-soundfile's ``read``
    seeks to where it stands after every read, and a seek resets libmpg123's bit reservoir, so
    that MP3 read in blocks through it came out a hair different with each block size and
    libmpg123 printed "part2_3_length … too large" on the terminal at every block. Read
    straight, the samples are the same whatever the size of the blocks."""
    import soundfile  # imported when audio is decoded, not at start-up

    try:
        handle = soundfile.SoundFile(path)
    except RuntimeError as exc:  # soundfile.LibsndfileError, with libsndfile's message
        raise ValueError(_sndfile_message(exc, path)) from exc

    def blocks() -> Iterator[Samples]:
        with handle:
            channels = handle.channels
            while True:
                buffer = np.empty((DECODE_BLOCK, channels), dtype=np.float32)
                count = int(soundfile._snd.sf_readf_float(
                    handle._file, soundfile._ffi.cast("float *", buffer.ctypes.data),
                    DECODE_BLOCK))
                if soundfile._snd.sf_error(handle._file):
                    message = soundfile._ffi.string(soundfile._snd.sf_strerror(handle._file))
                    raise ValueError(message.decode("utf-8", "replace"))
                if count <= 0:
                    return
                samples = buffer[:count]
                if channels == 1:
                    yield samples[:, 0]
                    continue
                # summed and scaled by 1/sqrt(channels), as ffmpeg mixes stereo down: a voice
                # in the centre keeps the loudness BS.1770 gives it over all the channels
                mixed = samples.sum(axis=1, dtype=np.float32)
                yield np.multiply(mixed, np.float32(1 / math.sqrt(channels)), out=mixed)

    return int(handle.frames), int(handle.samplerate), blocks()


def decode(path: Path) -> tuple[Samples, int]:
    """An audio file (MP3, WAV, FLAC, Ogg) decoded to mono float32 samples at its own rate.
    Raises ValueError when it cannot be read as audio.

    Decoded in this process by libsndfile, which reads MP3 with libmpg123 (both come in the
    soundfile wheel), honouring the LAME header's encoder delay and padding as ffmpeg does: the
    same length and, within float rounding (~5e-6 of full scale), the same samples. An ffmpeg
    process with its temporary WAV cost twice the CPU time (its start alone links ~150 shared
    libraries), and the writer decodes every notice it makes. Float, so that what a decoder
    yields above full scale is kept for the peak meter; float32 as decoded, so that a notice
    of minutes costs 4 bytes a sample. :func:`measure_file` measures a file without holding
    it whole, from the very same samples."""
    _length, rate, blocks = _decoded(path)
    parts = list(blocks)
    return (np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)), rate


SILENCE_DBFS = -50.0  # a 50 ms frame quieter than this is silence


class _SilenceMeter:
    """The longest run of silent 50 ms frames of a signal fed a stretch at a time."""

    def __init__(self, length: int, rate: int) -> None:
        self.rate, self.length = rate, length
        self.frame = max(1, rate // 20)
        self.count = length // self.frame
        self.silent: list[npt.NDArray[np.bool_]] = []  # a byte a frame
        self.done = 0
        self.pending: Samples | None = None

    def feed(self, samples: Samples) -> None:
        joined = samples if self.pending is None else np.concatenate([self.pending, samples])
        whole = min(len(joined) // self.frame, self.count - self.done)
        frames = joined[: whole * self.frame].reshape(whole, self.frame)
        rms = np.sqrt(np.mean(frames**2, axis=1))
        self.silent.append(rms < 10 ** (SILENCE_DBFS / 20))
        self.done += whole
        self.pending = joined[whole * self.frame:] if self.done < self.count else None

    def longest(self) -> tuple[float, float]:
        """Once every sample was fed: (start, length) of the longest silence, in seconds."""
        if self.count == 0:
            return 0.0, self.length / self.rate
        silent = np.concatenate(self.silent)
        # runs of silent frames: where silence starts and ends (the first longest run wins)
        edges = np.diff(np.concatenate([[0], silent.astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        if len(starts) == 0:
            return 0.0, 0.0
        longest = int(np.argmax(ends - starts))
        best_start, best_length = int(starts[longest]), int(ends[longest] - starts[longest])
        return best_start * self.frame / self.rate, best_length * self.frame / self.rate


def longest_silence(samples: Samples, rate: int) -> tuple[float, float]:
    """The longest run of silent 50 ms frames: (start, length) in seconds."""
    meter = _SilenceMeter(len(samples), rate)
    meter.feed(samples)
    return meter.longest()


@dataclass(frozen=True)
class Sound:
    """What a decoded notice measures: the figures the writer proves a notice by and the audit
    judges it by, computed by :func:`measure` from the samples of one decoding of the file."""

    rate: int
    duration: float  # seconds
    audible: bool  # some sample above the silence level
    loudness: float  # LUFS, integrated (-inf for silence)
    peak: float  # dBTP (-inf for silence)
    silence_start: float  # the longest silence: where it starts and how long, in seconds
    silence_length: float

    def as_meta(self) -> dict[str, Any]:
        """JSON-ready (an artifact's meta): the exact floats, None for -inf."""
        return {key: None if isinstance(value, float) and not math.isfinite(value) else value
                for key, value in self.__dict__.items()}

    @classmethod
    def from_meta(cls, data: Any) -> Sound | None:
        """The figures :meth:`as_meta` gave, or None when ``data`` is not such a record."""
        if not isinstance(data, dict) or set(data) != set(cls.__dataclass_fields__):
            return None
        try:
            loudness, peak = (float("-inf") if data[key] is None else float(data[key])
                              for key in ("loudness", "peak"))
            return cls(int(data["rate"]), float(data["duration"]), bool(data["audible"]),
                       loudness, peak, float(data["silence_start"]),
                       float(data["silence_length"]))
        except (TypeError, ValueError):
            return None


def _measured(length: int, rate: int, stretches: Iterable[Samples]) -> Sound:
    """The figures of a signal of ``length`` samples given a stretch at a time: each meter
    keeps a stretch, not the signal, so a notice of any length is measured in bounded memory,
    and gives the same figures however the signal is cut."""
    silence, loudness = _SilenceMeter(length, rate), _LoudnessMeter(length, rate)
    peak = _PeakMeter(length)
    audible, fed = False, 0
    for samples in stretches:
        fed += len(samples)
        if fed > length:
            raise ValueError(f"the audio holds more samples than the {length} it declares")
        audible = audible or bool(np.any(np.abs(samples) > 10 ** (SILENCE_DBFS / 20)))
        silence.feed(samples)
        loudness.feed(samples)
        peak.feed(samples)
    if fed != length:
        raise ValueError(f"the audio holds {fed} samples, not the {length} it declares")
    start, longest = silence.longest()
    return Sound(rate, length / rate if rate else 0.0, audible, loudness.loudness(),
                 peak.true_peak() if length else float("-inf"), start, longest)


def measure(samples: Samples, rate: int) -> Sound:
    """A decoded notice's figures (see :class:`Sound`)."""
    return _measured(len(samples), rate, [samples])


def measure_file(path: Path) -> Sound:
    """The figures of an audio file, decoded a block at a time (the samples of
    :func:`decode`, never all at once): what the writer proves a notice by and the audit
    judges it by. Raises ValueError when it cannot be read as audio."""
    length, rate, blocks = _decoded(path)
    try:
        return _measured(length, rate, blocks)
    except ValueError:
        # a file whose header miscounts its frames (libsndfile reads MP3 lengths from the
        # LAME header): counted by decoding it, then measured
        counted = sum(len(block) for block in _decoded(path)[2])
        return _measured(counted, rate, _decoded(path)[2])


# ---------------------------------------------------------------- WebVTT


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str
    line: int = 0  # line of the timing in the .vtt file


def vtt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def vtt_unescape(text: str) -> str:
    text = re.sub(r"<[^>]*>", "", text)  # cue markup (<v>, <b>…) is not part of the words
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&nbsp;", "\xa0").replace(
        "&amp;", "&"
    )


def write_vtt(cues: Sequence[Cue]) -> str:
    parts = ["WEBVTT", ""]
    for index, cue in enumerate(cues, start=1):
        parts += [str(index), f"{vtt_time(cue.start)} --> {vtt_time(cue.end)}",
                  vtt_escape(cue.text), ""]
    return "\n".join(parts)


_TIMING = re.compile(
    r"^(?P<start>(?:\d{2,}:)?\d{2}:\d{2}\.\d{3})\s+-->\s+(?P<end>(?:\d{2,}:)?\d{2}:\d{2}\.\d{3})"
)


def _seconds(stamp: str) -> float:
    parts = [float(part) for part in stamp.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0.0)
    return parts[0] * 3600 + parts[1] * 60 + parts[2]


def parse_vtt(text: str) -> list[Cue]:
    """The cues of a WebVTT file; raises ValueError (with the line) when it is not WebVTT."""
    lines = text.replace("\r\n", "\n").split("\n")
    if not lines or not re.match(r"^(\ufeff)?WEBVTT([ \t].*)?$", lines[0]):
        raise ValueError("line 1: the file does not start with 'WEBVTT'")
    cues: list[Cue] = []
    index = 1
    while index < len(lines):
        match = _TIMING.match(lines[index])
        if match is None:
            if "-->" in lines[index]:
                raise ValueError(f"line {index + 1}: malformed cue timing '{lines[index]}'")
            index += 1
            continue
        body: list[str] = []
        cursor = index + 1
        while cursor < len(lines) and lines[cursor].strip():
            body.append(lines[cursor])
            cursor += 1
        cues.append(Cue(_seconds(match["start"]), _seconds(match["end"]),
                        vtt_unescape(" ".join(body)), index + 1))
        index = cursor
    return cues


# ---------------------------------------------------------------- synthesis


def _piece_problem(path: Path, words: int, rate_wpm: int) -> str | None:
    """Why a synthesised piece cannot be used, or None: it must exist, be complete (the WAV
    header, which is written last, must account for every byte: a file still being written or
    cut short does not), decode and last long enough for its words.

    (Whether a piece ends in silence says nothing: espeak-ng may end a sentence on a sound.)"""
    if not path.is_file():
        return "no audio file was written"
    try:
        size = path.stat().st_size
        with wave.open(str(path), "rb") as handle:
            if handle.getsampwidth() != 2 or handle.getnchannels() != 1:
                return "the audio is not 16-bit mono"
            declared = handle.getnframes()
            frames = handle.readframes(declared)
            rate = handle.getframerate()
    except (wave.Error, EOFError, OSError) as exc:
        return f"the audio file does not decode ({exc})"
    if len(frames) != declared * 2 or size - len(frames) > 4096:
        return "the audio file is incomplete (truncated)"
    # plain Python, no numpy: the worker runs this too, and importing numpy would cost it more
    # than synthesising a short notice. Only the silence at either end is walked through, a
    # stretch at a time (min and max run in C), then sample by sample in the stretch where
    # the sound starts or ends: the same first and last loud samples as a walk through all.
    samples = array("h", frames)
    if sys.byteorder == "big":
        samples.byteswap()
    stretch = 256
    starts = range(0, len(samples), stretch)
    begin = next((s for s in starts
                  if min(samples[s: s + stretch]) < -64 or max(samples[s: s + stretch]) > 64),
                 None)
    if begin is None:
        return "the audio is silent"
    first = next(i for i in range(begin, len(samples)) if not -64 <= samples[i] <= 64)
    end = next(s for s in reversed(starts)
               if min(samples[s: s + stretch]) < -64 or max(samples[s: s + stretch]) > 64)
    last = next(i for i in range(min(end + stretch, len(samples)) - 1, first - 1, -1)
                if not -64 <= samples[i] <= 64)
    speech = (last - first + 1) / rate
    expected = words * 60 / rate_wpm
    if speech < max(0.15, 0.25 * expected):
        return f"the audio lasts {speech:.2f} s, too short for {words} words"
    return None


def _resolve_voice(voices: Sequence[Any], wanted: str) -> str | None:
    """The identifier of an espeak-ng voice given as an identifier ("roa/fr"), a file name
    ("fr") or a language ("fr-fr")."""
    wanted = wanted.lower()
    for test in (
        lambda v: v.id == wanted,
        lambda v: v.id.rsplit("/", 1)[-1] == wanted,
        lambda v: wanted in [str(lang).lower() for lang in (v.languages or [])],
        lambda v: any(str(lang).lower().startswith(f"{wanted}-") for lang in (v.languages or [])),
    ):
        for voice in voices:
            if test(voice):
                return str(voice.id)
    return None


def _synthesis_worker() -> None:
    """Entry point of the worker process: ``job.json`` in, one WAV per piece and
    ``result.json`` out.

    espeak-ng runs synchronously, through pyttsx3's binding of it (``pyttsx3.drivers._espeak``)
    rather than its engine. pyttsx3's espeak driver runs espeak-ng asynchronously: the rate and
    volume it sets are queued for espeak-ng's own thread while a voice is loaded at once by the
    caller's, and how the two interleave changed the voice's timing (one Arabic notice in thirty
    came out 3 % faster, and in nearly half when the start was delayed); it also returned before
    a piece was written now and then, which had to be waited for and retried. Synchronous, each
    piece is complete when ``Synth`` returns, in the order it was asked for."""
    job = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    import ctypes

    from pyttsx3.drivers import _espeak

    rate = _espeak.Initialize(_espeak.AUDIO_OUTPUT_SYNCHRONOUS, 1000)
    if rate == -1:
        raise RuntimeError("espeak-ng could not be initialised")
    chunks: list[bytes] = []

    def collect(samples: Any, count: int, events: Any) -> int:
        if count > 0:
            chunks.append(ctypes.string_at(samples, count * 2))
        return 0  # go on

    _espeak.SetSynthCallback(collect)
    voices = [
        SimpleNamespace(id=v.identifier.decode("utf-8").lower(),
                        languages=[v.languages[1:].decode("utf-8", "ignore")] if v.languages
                        else [])
        for v in _espeak.ListVoices(None)
    ]
    voice = _resolve_voice(voices, job["voice"])
    result: dict[str, Any] = {"voice": voice, "pieces": []}
    if voice is not None:
        _espeak.SetVoiceByName(voice.encode("utf-8"))
        _espeak.SetParameter(_espeak.RATE, round(job["rate"] * job["paces"].get(voice, 1.0)), 0)
        _espeak.SetParameter(_espeak.VOLUME, 100, 0)
        # a refused voice leaves the previous one: read back what espeak-ng really uses
        current = _espeak.GetCurrentVoice()
        if not current or current.contents.identifier.decode("utf-8").lower() != voice:
            result["voice"] = None
    if result["voice"] is not None:
        for index, (text, words) in enumerate(job["pieces"]):
            out = Path(job["dir"]) / f"piece-{index:04d}.wav"
            problem: str | None = "not tried"
            attempts = 0
            for attempts in range(1, job["retries"] + 2):  # noqa: B007
                chunks.clear()
                # the flags pyttsx3 synthesises with: the same sound as through its engine
                _espeak.Synth(text, flags=_espeak.ENDPAUSE | _espeak.CHARS_UTF8)
                with wave.open(str(out), "wb") as handle:
                    handle.setnchannels(1)
                    handle.setsampwidth(2)
                    handle.setframerate(rate)
                    handle.writeframes(b"".join(chunks))
                problem = _piece_problem(out, words, job["rate"])
                if problem is None:
                    break
            result["pieces"].append({"problem": problem, "attempts": attempts})
    Path(job["result"]).write_text(json.dumps(result), encoding="utf-8")


#: what the worker's code needs besides its own functions: the standard library and pyttsx3
_WORKER_PRELUDE = """from __future__ import annotations
import json, sys, wave
from array import array
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any
"""


@cache
def _worker_code() -> str:
    """The worker's program: the source of its three functions, run on their own. Importing
    this module would cost the worker 1.6 s of CPU (numpy, scipy, Jinja, pydantic) to
    synthesise what espeak-ng speaks in a tenth of that."""
    functions = (_piece_problem, _resolve_voice, _synthesis_worker)
    return "\n\n".join([_WORKER_PRELUDE, *(inspect.getsource(f) for f in functions),
                         "_synthesis_worker()\n"])


def _run_worker(job_path: Path) -> subprocess.CompletedProcess[bytes]:
    """Run the synthesis worker in a fresh Python process (see the module docstring)."""
    return subprocess.run(
        [sys.executable, "-c", _worker_code(), str(job_path)],
        capture_output=True, check=False, timeout=1800,
    )


# ---------------------------------------------------------------- mastering


def _limiter_gain(
    low_need: Signal, low: npt.NDArray[np.intp], length: int, rate: int
) -> tuple[npt.NDArray[np.intp], Signal]:
    """A look-ahead peak limiter's gain from the gain each sample needs (``low_need``, at the
    samples ``low`` where it is under 1, of a signal of ``length``): the need held over a 5 ms
    window and smoothed, never above the need. Returned for the samples around those (the
    indices, then the gains); the gain is exactly 1 everywhere else, as the same filters over
    the whole signal would give.

    The stretches around the groups of ``low`` samples are filtered laid end to end, in one
    call: each begins and ends with ``reach`` samples whose need is 1, further than the hold
    and the smoothing look (110 + 55 samples at 22.05 kHz), so no stretch sees another."""
    from scipy import ndimage  # SciPy is imported when audio is made, not at start-up
    width = max(1, int(LIMITER_HOLD * rate))
    if len(low) == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32)
    reach = 4 * width  # further than the hold and the smoothing look either way
    cuts = np.flatnonzero(np.diff(low) > 2 * reach)
    first, last = low[np.r_[0, cuts + 1]], low[np.r_[cuts, len(low) - 1]]
    begin = np.maximum(0, first - reach)
    lengths = np.minimum(length, last + reach + 1) - begin
    index = (np.arange(int(lengths.sum()))
             + np.repeat(begin - (np.cumsum(lengths) - lengths), lengths))
    # the need, 1 but where it is low (every low is in a stretch); float32, as the samples it
    # scales: the stretches of a loud notice cover half of it, and float64 would double that
    part = np.ones(len(index), dtype=np.float32)
    part[np.searchsorted(index, low)] = low_need
    held = ndimage.minimum_filter1d(part, size=2 * width + 1, mode="nearest")
    smooth = ndimage.uniform_filter1d(held, size=width, mode="nearest")
    del held
    return index, np.minimum(smooth, part, out=smooth)


def _bounded_slope(slope: float) -> float:
    """A slope the rounds may follow: at least 0.1 LU a dB (the French voice's is 0.19), so
    that no step is huge, and at most 1 (no limiting at all)."""
    return min(1.0, max(0.1, slope))


class Speech:
    """The joined speech of a notice, which the mastering reads a stretch at a time: in memory
    (``samples``) or on disk as 16-bit mono PCM (``pcm``, ``length`` samples), so that a
    notice of any length never has the whole of itself in memory."""

    def __init__(self, samples: Samples | None = None, pcm: Path | None = None,
                 length: int = 0) -> None:
        self.samples, self.pcm = samples, pcm
        self.length = len(samples) if samples is not None else length

    def read(self, start: int, stop: int) -> Samples:
        if self.samples is not None:
            return self.samples[start:stop]
        assert self.pcm is not None
        frames = np.fromfile(self.pcm, dtype="<i2", count=stop - start, offset=2 * start)
        # float32: 4 bytes a sample, and exact for 16-bit samples (a power-of-two scale)
        return frames.astype(np.float32) * np.float32(1 / 32768)

    def stretches(self) -> Iterator[tuple[int, int]]:
        """The bounds of the stretches the mastering works on, in order."""
        for start in range(0, self.length, MASTERING_CHUNK):
            yield start, min(self.length, start + MASTERING_CHUNK)


#: samples mastered at a time (12 s at 22.05 kHz): a stretch's arrays, not the notice's, are
#: what a long notice costs in memory (a 38-minute notice mastered and measured peaked at
#: 158 MiB with stretches of 24 s, 139 MiB with these, 133 MiB with 6 s: most of it is
#: NumPy and SciPy themselves)
MASTERING_CHUNK = 1 << 18
#: samples read on either side of a stretch: further than the limiter's look (the hold and the
#: smoothing, 165 samples at 22.05 kHz) plus the oversampled peak's window (a few blocks), so
#: that the gain inside the stretch is the one the whole signal would give
MASTERING_MARGIN = 4096


class Mastering:
    """Loudness and true-peak mastering of one joined notice: one gain to the target
    integrated loudness and one pass of a look-ahead limiter under the ceiling, applied once to
    the synthesised speech (an already limited signal is never limited again).

    What does not depend on the target is measured once: the loudness and the oversampled peak
    of each loud sample. Limiting lowers the loudness a little, so the gain is corrected in a
    round or two, each limiting the original speech afresh. (Measuring a round's loudness
    from the K-weighted speech plus the weighted change the limiter makes, the filter being
    linear, was tried: the limiter touches a quarter of the samples of speech and its change
    rings on for 100 ms after each stretch, so the filtering spared was less than the
    indexing it cost.)

    Each round works ``MASTERING_CHUNK`` samples at a time (with ``MASTERING_MARGIN`` read on
    either side, so the limiter sees what it would in the whole), measures what it makes as
    it goes and hands it on (to memory, or to a PCM file for the encoder): one notice of
    38 minutes held whole took 1.7 GB. The loud samples' peaks, kept from one round to the
    next, go to ``spill`` (a folder) when given, since for loud speech they are as large as
    the notice."""

    def __init__(self, samples: Samples | Speech, rate: int, spill: Path | None = None) -> None:
        self.speech = samples if isinstance(samples, Speech) else Speech(samples)
        self.rate = rate
        self.spill = spill
        meter = _LoudnessMeter(self.speech.length, rate)
        for start, stop in self.speech.stretches():
            meter.feed(self.speech.read(start, stop))
        self.loudness = meter.loudness()
        #: each stretch's loud samples (indices in its read) and their peaks, or their file
        self._loud: dict[int, tuple[npt.NDArray[np.intp], Signal] | Path] = {}
        self._floor = float("inf")  # the peaks are known wherever they reach this level
        self._generation = 0

    def _peaks_over(self, stretch: int, samples: Samples,
                    level: float) -> tuple[npt.NDArray[np.intp], Signal]:
        if level < self._floor:
            # some room below, so that the next rounds (a little more gain) reuse them
            self._floor = level * 10 ** (-PEAK_ROOM_DB / 20)
            self._loud.clear()
            self._generation += 1
        kept = self._loud.get(stretch)
        if isinstance(kept, Path):
            with np.load(kept) as saved:
                return saved["index"], saved["peaks"]
        if kept is not None:
            return kept
        found = loud_peaks(samples, self._floor)
        if self.spill is None:
            self._loud[stretch] = found
        else:
            path = self.spill / f"peaks-{self._generation}-{stretch}.npz"
            np.savez(path, index=found[0], peaks=found[1])
            self._loud[stretch] = path
        return found

    def _rounds(self, target_lufs: float, limiting_gain_db: float, slope: float,
                limited: Any) -> None:
        """The rounds: ``limited(gain_db)`` gives a round's loudness; the first aims
        ``limiting_gain_db`` over the unlimited gain and expects ``slope`` LU a dB after it."""
        gain_db = target_lufs - self.loudness + limiting_gain_db
        slope = _bounded_slope(slope)  # a calibration's too: a zero would divide by it
        # limiting takes more off the louder the gain: each next gain is aimed along the slope
        # of the last two rounds (the secant), which a round or two makes exact enough
        tried: tuple[float, float] | None = None
        for _round in range(5):
            loudness = limited(gain_db)
            if not np.isfinite(loudness) or abs(loudness - target_lufs) < 0.1 or _round == 4:
                return
            if tried is not None and gain_db != tried[0]:
                slope = _bounded_slope((loudness - tried[1]) / (gain_db - tried[0]))
            tried = (gain_db, loudness)
            gain_db += (target_lufs - loudness) / slope

    def __call__(self, target_lufs: float, ceiling_dbtp: float,
                 limiting_gain_db: float = LIMITING_GAIN_DB,
                 slope: float = LIMITING_SLOPE) -> Samples:
        """The notice at ``target_lufs`` under ``ceiling_dbtp``; the first round aims
        ``limiting_gain_db`` over the unlimited gain and expects ``slope`` LU a dB after it
        (the voice's calibration: only the number of rounds depends on them)."""
        whole = self.speech.read(0, self.speech.length)
        if not np.isfinite(self.loudness):
            return whole.copy()
        out: list[Samples] = [whole]

        def limited(gain_db: float) -> float:
            out[0] = whole  # the round's array goes before the next round makes its own
            out[0], loudness = self.limited(gain_db, ceiling_dbtp)
            return loudness

        self._rounds(target_lufs, limiting_gain_db, slope, limited)
        return out[0]

    def master_to(self, pcm: Path, target_lufs: float, ceiling_dbtp: float,
                  limiting_gain_db: float = LIMITING_GAIN_DB,
                  slope: float = LIMITING_SLOPE) -> None:
        """The same as calling it, written to ``pcm`` as 16-bit mono PCM (what the encoder
        reads) a stretch at a time: each round rewrites the file, the last one stays."""
        def limited(gain_db: float) -> float:
            with pcm.open("wb") as handle:
                return self._limited(gain_db, ceiling_dbtp,
                                     lambda samples: handle.write(pcm_bytes(samples)))

        if not np.isfinite(self.loudness):  # silence: written as it is
            with pcm.open("wb") as handle:
                for start, stop in self.speech.stretches():
                    handle.write(pcm_bytes(self.speech.read(start, stop)))
            return
        self._rounds(target_lufs, limiting_gain_db, slope, limited)

    def limited(self, gain_db: float, ceiling_dbtp: float) -> tuple[Samples, float]:
        """One round: the notice with this gain, limited under the ceiling, and its loudness."""
        parts: list[Samples] = []
        loudness = self._limited(gain_db, ceiling_dbtp, parts.append)
        return (np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)), loudness

    def _limited(self, gain_db: float, ceiling_dbtp: float, sink: Any) -> float:
        """One round, a stretch at a time: each mastered stretch goes to ``sink``, in order;
        returns the loudness of them all."""
        ceiling = 10 ** (ceiling_dbtp / 20)
        gain = 10 ** (gain_db / 20)
        length = self.speech.length
        meter = _LoudnessMeter(length, self.rate)
        for stretch, (start, stop) in enumerate(self.speech.stretches()):
            low = max(0, start - MASTERING_MARGIN)
            samples = self.speech.read(low, min(length, stop + MASTERING_MARGIN))
            index, peaks = self._peaks_over(stretch, samples, ceiling / gain)
            over = peaks > ceiling / gain
            where, gains = _limiter_gain(ceiling / (gain * peaks[over]), index[over],
                                         len(samples), self.rate)
            del over
            # float32, as the samples: the mastered notice is rounded to 16 bits anyway
            out = np.multiply(samples[start - low: stop - low], gain, dtype=np.float32)
            inside = (where >= start - low) & (where < stop - low)
            out[where[inside] - (start - low)] *= gains[inside]
            meter.feed(out)
            sink(out)
        return meter.loudness()


def pcm_bytes(samples: Samples) -> bytes:
    """Samples (full scale ±1) as 16-bit little-endian PCM, rounded to the nearest step."""
    scaled = np.multiply(samples, 32767, dtype=np.float32)  # in place from here on
    return np.clip(np.rint(scaled, out=scaled), -32768, 32767, out=scaled).astype("<i2").tobytes()


def first_aims(options: AudioOptions) -> tuple[float, float]:
    """What the mastering first aims a notice at (the writer corrects them after measuring the
    decoded MP3; the calibration script measures the voices at them): the loudness, in LUFS,
    and the limiter's ceiling, in dBTP. MP3 coding takes about 0.45 LU off espeak-ng's voices
    (measured at 64 kbit/s), so the loudness is aimed that much higher; the ceiling leaves the
    encoder's overshoot its margin."""
    return (options.loudness_lufs + ENCODER_LOSS_LU,
            options.true_peak_dbtp - PEAK_MARGIN_DB)


def pause_before(previous: Sentence | None, sentence: Sentence) -> float:
    """The silence before a sentence, in seconds, from the script's structure."""
    if previous is None:
        return LEAD_IN
    if sentence.role == "heading" or previous.role in ("heading", "title"):
        return PAUSE_HEADING
    if sentence.group != previous.group:
        return PAUSE_BLOCK
    return PAUSE_SENTENCE


def expected_duration(sentences: Sequence[Sentence], rate_wpm: int) -> float:
    """How long a notice of this script lasts at this rate: its words, its pauses, its tail."""
    seconds = word_count(sentences) * 60 / rate_wpm + TAIL
    previous: Sentence | None = None
    for sentence in sentences:
        seconds += pause_before(previous, sentence)
        previous = sentence
    return seconds


@cache
def _calibration(path: Path) -> dict[str, dict[str, float]]:
    """Each voice's calibration (see ``formats/audio/voices.yaml``): its numeric settings."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    if not isinstance(data, dict):
        return {}
    return {
        str(voice): {str(key): float(value) for key, value in entry.items()
                     if isinstance(value, int | float) and not isinstance(value, bool)}
        for voice, entry in data.items()
        if isinstance(entry, dict)
    }


def _paces(path: Path) -> dict[str, float]:
    """Each voice's pace (see ``formats/audio/voices.yaml``)."""
    return {voice: entry["pace"] for voice, entry in _calibration(path).items() if "pace" in entry}


@cache
def _tool_version(command: tuple[str, ...]) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError:
        return "missing"
    first = (result.stdout or result.stderr).strip().splitlines()
    return first[0] if first else "unknown"


def encoder_command(
    doc: Document, options: AudioOptions, organisation: str, source: list[str], out: Path
) -> list[str]:
    """The ffmpeg command that encodes a notice's sound (``source``: ffmpeg's input options)
    to the published MP3, tagged (the benchmark encodes with the same)."""
    language = ISO_639_2.get(doc.lang.split("-")[0], doc.lang)
    return [
        "ffmpeg", "-nostdin", "-v", "error", "-y", *source,
        # reproducible bytes: no input metadata, no encoder version, no timestamps
        "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
        "-c:a", "libmp3lame", "-b:a", f"{options.bitrate_kbps}k",
        "-id3v2_version", "3", "-write_id3v1", "0",
        "-metadata", f"title={doc.record.title}",
        "-metadata", f"artist={organisation}",
        "-metadata", f"publisher={organisation}",
        "-metadata", f"language={language}",
        str(out),
    ]


@dataclass(frozen=True)
class _Notice:
    mp3: bytes
    cues: list[Cue]
    sound: Sound  # the MP3 decoded back and measured


class AudioWriter(Writer):
    name = "audio"
    options_model = AudioOptions
    task_cost = 5.0  # seconds a notice, against ~2 for a service's PDFs

    def engine_version(self) -> str:
        import pyttsx3

        return "; ".join(
            (
                _tool_version(("espeak-ng", "--version")),
                f"pyttsx3 {getattr(pyttsx3, '__version__', '?')}",
                _tool_version(("ffmpeg", "-version")),
                decoder_version(),
            )
        )

    @cached_property
    def _templates(self) -> dict[Path, jinja2.Environment]:
        return {}

    def _template(self, ctx: RenderContext) -> jinja2.Template:
        folder = ctx.formats_dir / "audio"
        if folder not in self._templates:
            self._templates[folder] = jinja2.Environment(
                loader=jinja2.FileSystemLoader(folder),
                autoescape=True,
                trim_blocks=True,
                lstrip_blocks=True,
                keep_trailing_newline=True,
            )
        return self._templates[folder].get_template("transcript.html.j2")

    def render(self, doc: Document, ctx: RenderContext) -> list[Artifact]:
        options = ctx.options
        assert isinstance(options, AudioOptions)
        organisation = ctx.config.organisation_name(doc.lang)
        sentences = script(doc, ctx.locale, organisation)
        notice = self._notice(doc, sentences, options, ctx)
        if notice is None:
            return []
        words = word_count(sentences)
        sound = notice.sound
        wpm = words / (sound.duration / 60) if sound.duration > 0 else 0.0
        mp3_path = artifact_path(doc, ".mp3")
        vtt_path = artifact_path(doc, ".vtt")
        transcript = self._transcript(doc, sentences, ctx, mp3_path, vtt_path)
        service, lang = doc.id, doc.lang
        meta = {
            "duration_seconds": round(sound.duration, 2),
            "words": words,
            "words_per_minute": round(wpm, 1),
            "loudness_lufs": round(sound.loudness, 2),
            "true_peak_dbtp": round(sound.peak, 2),
            "voice": options.voice_for(doc.lang),
            # the exact figures of this MP3, for the audit (see AudioAudit)
            "sound": sound.as_meta(),
        }
        return [
            Artifact(mp3_path, notice.mp3, "audio/mpeg", "mp3",
                     service=service, lang=lang, label=N_("Audio notice (MP3)"), meta=meta),
            Artifact(vtt_path, write_vtt(notice.cues).encode("utf-8"), "text/vtt", "vtt",
                     service=service, lang=lang, label=N_("Captions (WebVTT)"),
                     meta={"cues": len(notice.cues),
                           "duration_seconds": round(sound.duration, 2)}),
            Artifact(artifact_path(doc, "-transcript.html"), transcript.encode("utf-8"),
                     "text/html", "transcript", service=service, lang=lang,
                     label=N_("Transcript")),
        ]

    # -- the sound

    def _notice(
        self, doc: Document, sentences: list[Sentence], options: AudioOptions, ctx: RenderContext
    ) -> _Notice | None:
        with tempfile.TemporaryDirectory(prefix="publisher-audio-") as tmp:
            folder = Path(tmp)
            synthesised = self._synthesise(doc, sentences, options, ctx, folder)
            if synthesised is None:
                return None
            pieces, voice = synthesised
            # joined on disk and mastered, encoded and measured a stretch at a time: memory
            # stays that of a stretch, whatever the length of the notice
            speech, cues = self._join(sentences, pieces, folder / "joined.pcm")
            mastering = Mastering(speech, SAMPLE_RATE, spill=folder)
            calibration = _calibration(ctx.formats_dir / "audio" / "voices.yaml").get(voice, {})
            limiting = (calibration.get("limiting_gain_db", LIMITING_GAIN_DB),
                        calibration.get("limiting_slope", LIMITING_SLOPE))
            # then corrected by what the decoded file really measures
            target, ceiling = first_aims(options)
            mp3: bytes | None = None
            # the peak the decoded MP3 may reach: a little under the ceiling, for rounding
            allowed_peak = options.true_peak_dbtp - 0.1
            for _attempt in range(4):
                mastering.master_to(folder / "mastered.pcm", target, ceiling, *limiting)
                mp3 = self._encode(doc, folder / "mastered.pcm", options, ctx, folder)
                if mp3 is None:
                    return None
                # figures are measured on what a listener gets: the MP3 decoded back, as the
                # audio audit decodes a file (the audit takes these figures for the same bytes)
                sound = measure_file(folder / "encoded.mp3")
                loudness, peak = sound.loudness, sound.peak
                loud_ok = not np.isfinite(loudness) or abs(loudness - options.loudness_lufs) < 0.25
                if loud_ok and peak <= allowed_peak:
                    break
                if not loud_ok:
                    # the encoder's low-pass takes some loudness away: aim that much higher
                    target += options.loudness_lufs - loudness
                if peak > allowed_peak:
                    # the encoder overshoots more on some voices (Arabic: ~1.7 dB): limit lower
                    ceiling -= peak - allowed_peak + 0.1
        if (abs(loudness - options.loudness_lufs) > options.loudness_tolerance_lu
                or peak > options.true_peak_dbtp):
            ctx.diagnostics.warning(
                "A203",
                f"the audio notice measures {loudness:.1f} LUFS and {peak:.1f} dBTP, outside "
                f"the target {options.loudness_lufs:g} ± {options.loudness_tolerance_lu:g} "
                f"LUFS, peak ≤ {options.true_peak_dbtp:g} dBTP",
                doc.span,
                "report this as a bug in the audio writer",
            )
        assert mp3 is not None
        return _Notice(mp3, cues, sound)

    def _synthesise(
        self,
        doc: Document,
        sentences: list[Sentence],
        options: AudioOptions,
        ctx: RenderContext,
        folder: Path,
    ) -> tuple[list[Path], str] | None:
        """The pieces, one WAV file per sentence in ``folder``, and the espeak-ng voice that
        spoke them (its identifier, as voices.yaml names it); None when they could not be made
        (reported)."""
        voice = options.voice_for(doc.lang)
        job = {
            "voice": voice,
            "rate": options.rate_wpm,
            "paces": _paces(ctx.formats_dir / "audio" / "voices.yaml"),
            "retries": options.retries,
            "dir": str(folder),
            "result": str(folder / "result.json"),
            "pieces": [[sentence.spoken, sentence.words] for sentence in sentences],
        }
        job_path = folder / "job.json"
        job_path.write_text(json.dumps(job, ensure_ascii=False), encoding="utf-8")
        try:
            process = _run_worker(job_path)
        except subprocess.TimeoutExpired:
            process = None
        result_path = folder / "result.json"
        if process is None or process.returncode != 0 or not result_path.is_file():
            detail = ""
            if process is not None:
                lines = process.stderr.decode("utf-8", "replace").strip().splitlines()
                detail = f": {lines[-1]}" if lines else f" (exit status {process.returncode})"
            ctx.diagnostics.error(
                "A201",
                f"the speech synthesiser failed{detail}; no audio notice was published",
                doc.span,
                "check that espeak-ng and pyttsx3 are installed (see the README)",
            )
            return None
        result = json.loads(result_path.read_text(encoding="utf-8"))
        if result["voice"] is None:
            ctx.diagnostics.error(
                "A202",
                f"espeak-ng has no voice '{voice}' for the language '{doc.lang}'; no audio "
                "notice was published",
                doc.span,
                f"set formats: audio: voices: {doc.lang}: to a voice that "
                "'espeak-ng --voices' lists",
            )
            return None
        pieces: list[Path] = []
        failed = False
        for index, sentence in enumerate(sentences):
            path = folder / f"piece-{index:04d}.wav"
            # checked again here: the worker's word is not taken for it
            problem = _piece_problem(path, sentence.words, options.rate_wpm)
            if problem is None:
                with wave.open(str(path), "rb") as handle:
                    if handle.getframerate() != SAMPLE_RATE:
                        problem = f"unexpected sample rate {handle.getframerate()} Hz"
            if problem is not None:
                failed = True
                attempts = (result["pieces"][index]["attempts"]
                            if index < len(result["pieces"]) else 0)
                ctx.diagnostics.add(Diagnostic(
                    "A201",
                    Severity.ERROR,
                    f"the sentence “{sentence.text[:80]}” could not be synthesised after "
                    f"{attempts} attempt(s): {problem}; no audio notice was published",
                    sentence.span or doc.span,
                    "shorten or rephrase the sentence; if it persists, report it with this "
                    "sentence",
                ))
                continue
            pieces.append(path)
        return None if failed else (pieces, str(result["voice"]))

    @staticmethod
    def _join(sentences: list[Sentence], pieces: list[Path],
              pcm: Path) -> tuple[Speech, list[Cue]]:
        """One signal, written to ``pcm`` (16-bit mono PCM) a piece at a time, with a pause
        before each piece (chosen from the script's structure, never espeak-ng's own trailing
        silence), and a cue per piece from its real length."""
        cues: list[Cue] = []
        position = 0
        previous: Sentence | None = None
        with pcm.open("wb") as out:
            for sentence, path in zip(sentences, pieces, strict=True):
                with wave.open(str(path), "rb") as handle:
                    piece = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2")
                # the sound is what lies above one step of 16 bits
                sound = np.flatnonzero(np.abs(piece.astype(np.int32)) > 1)
                trimmed = piece[sound[0]: sound[-1] + 1] if len(sound) else piece
                gap = round(pause_before(previous, sentence) * SAMPLE_RATE)
                out.write(bytes(2 * gap))
                position += gap
                cues.append(Cue(position / SAMPLE_RATE,
                                (position + len(trimmed)) / SAMPLE_RATE, sentence.text))
                out.write(trimmed.astype("<i2").tobytes())
                position += len(trimmed)
                previous = sentence
            tail = round(TAIL * SAMPLE_RATE)
            out.write(bytes(2 * tail))
        return Speech(pcm=pcm, length=position + tail), cues

    @staticmethod
    def _encode(
        doc: Document, pcm: Path, options: AudioOptions, ctx: RenderContext, folder: Path
    ) -> bytes | None:
        # the MP3 goes to a file, which ffmpeg seeks back in to write the LAME header (its
        # length and encoder delay, for gapless decoding)
        out = folder / "encoded.mp3"
        command = encoder_command(
            doc, options, ctx.config.organisation_name(doc.lang),
            ["-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", str(pcm)], out,
        )
        if shutil.which("ffmpeg") is None:
            process = None
        else:
            process = subprocess.run(command, capture_output=True, check=False)
        if process is None or process.returncode != 0 or not out.is_file():
            detail = process.stderr.decode("utf-8", "replace").strip() if process else ""
            ctx.diagnostics.error(
                "A204",
                f"ffmpeg could not encode the audio notice{': ' + detail if detail else ''}",
                doc.span,
                "check that ffmpeg with libmp3lame is installed (see the README)",
            )
            return None
        return out.read_bytes()

    # -- the transcript

    def _transcript(
        self, doc: Document, sentences: list[Sentence], ctx: RenderContext, mp3: str, vtt: str
    ) -> str:
        blocks: list[dict[str, Any]] = []
        for sentence in sentences:
            if sentence.role == "title":
                continue  # the title is the h1
            if blocks and blocks[-1]["group"] == sentence.group:
                blocks[-1]["sentences"].append(sentence)
                continue
            blocks.append({"group": sentence.group, "sentences": [sentence]})
        shaped: list[dict[str, Any]] = []
        for block in blocks:
            first: Sentence = block["sentences"][0]
            kind = first.role
            if kind == "heading":
                shaped.append({"kind": "heading", "level": min(max(first.level, 2), 6),
                               "text": first.heading})
            elif kind in ("item", "row"):
                text = " ".join(s.text for s in block["sentences"])
                if shaped and shaped[-1]["kind"] == "list":
                    shaped[-1]["items"].append(text)
                else:
                    shaped.append({"kind": "list", "items": [text]})
            elif kind == "announce" and len(block["sentences"]) > 1:
                shaped.append({"kind": "paragraph", "text": first.text})
                shaped.append({"kind": "list",
                               "items": [s.text for s in block["sentences"][1:]]})
            else:
                shaped.append({"kind": "paragraph",
                               "text": " ".join(s.text for s in block["sentences"])})
        return self._template(ctx).render(
            lang=doc.lang,
            dir=ctx.language.direction,
            title=doc.record.title,
            blocks=shaped,
            mp3=Path(mp3).name,
            vtt=Path(vtt).name,
            _=ctx._,
        )


WRITER = AudioWriter()
