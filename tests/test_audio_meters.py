"""The audio meters' fast paths against their plain computations: the true peak that computes
only the blocks its bound cannot rule out, the limiter that filters its stretches end to end,
the one-run decoder, the pieces' silence walk and the audit's silence scan. Each reference is
the obvious computation; each case is built so that a wrong shortcut would show."""

from __future__ import annotations

import importlib.util
import subprocess
import wave
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from scipy import ndimage, signal

from publisher.writers import audio as audio_writer
from publisher.writers.audio import SILENCE_DBFS, longest_silence

RATE = 22050
ROOT = Path(__file__).resolve().parent.parent


def reference_peak(samples: np.ndarray) -> float:
    over = signal.upfirdn(audio_writer._interpolation_taps(), samples, 4)
    return float(20 * np.log10(np.max(np.abs(over))))


def worst_case(amplitude: float, phase: int = 2) -> np.ndarray:
    """13 samples whose interpolated value at the given phase is as large as the filter
    allows: each sample carries the sign of the tap it meets (the bound is reached)."""
    taps = audio_writer._interpolation_taps()[phase::4]
    return np.asarray(amplitude * np.sign(taps[::-1]), dtype=np.float64)


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """Real speech as a listener gets it: espeak-ng, encoded to MP3 at 64 kbit/s, decoded, and
    made loud enough that its inter-sample peaks go over full scale."""
    folder = tmp_path_factory.mktemp("speech")
    wav, mp3 = folder / "speech.wav", folder / "speech.mp3"
    subprocess.run(["espeak-ng", "-v", "fr", "-w", str(wav),
                    "Bonjour. Le permis de stationnement coûte vingt euros par mois, "
                    "payables à la mairie, du lundi au vendredi."], check=True)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(wav), "-af",
                    "volume=9dB", "-c:a", "libmp3lame", "-b:a", "64k", str(mp3)], check=True)
    samples, rate = audio_writer.decode(mp3)
    assert rate == RATE
    return samples


def test_true_peak_is_the_full_oversampled_peak_on_real_speech(speech: np.ndarray) -> None:
    assert audio_writer.true_peak(speech, RATE) == pytest.approx(reference_peak(speech),
                                                                 abs=1e-9)
    # the decoded float32 samples give the same figure as float32 and as float64
    single = speech.astype(np.float32)
    assert audio_writer.true_peak(single, RATE) == pytest.approx(reference_peak(speech),
                                                                 abs=1e-9)
    quiet = speech * 0.01
    assert audio_writer.true_peak(quiet, RATE) == pytest.approx(reference_peak(quiet), abs=1e-9)


def test_true_peak_finds_a_peak_between_samples_under_louder_samples() -> None:
    """The largest interpolated value lies in a block whose samples are quieter than those of
    hundreds of other blocks: a search that stopped at the loudest samples would miss it."""
    rng = np.random.default_rng(3)
    samples = np.full(RATE, 0.9) * np.sign(rng.standard_normal(RATE)).clip(0, 1)  # 0 or 0.9
    samples = signal.lfilter([1.0], [1.0, -0.99], samples) / 100  # smooth, about 0.9 at most
    samples = np.clip(samples, -0.9, 0.9)
    hidden = worst_case(0.6)  # its peak: 0.6 times the tap magnitudes' sum, over 1.1
    samples[15_000: 15_000 + len(hidden)] = hidden
    expected = reference_peak(samples)
    assert expected > 20 * np.log10(1.1) > 20 * np.log10(np.max(np.abs(samples)))
    assert audio_writer.true_peak(samples, RATE) == pytest.approx(expected, abs=1e-9)
    # hundreds of blocks whose bound is above the hidden block's (their samples swing wider)
    # but whose values are not: the peak is found beyond the loudest bounds
    time = np.arange(RATE) / RATE
    samples = 0.65 * np.sin(2 * np.pi * 5000 * time)
    samples[10_000: 10_600] = 0.0
    samples[10_300: 10_300 + len(hidden)] = hidden
    padded, count = audio_writer._padded(samples)
    bounds = audio_writer._block_bounds(padded, count)
    assert np.sum(bounds > bounds[10_300 // audio_writer.PEAK_BLOCK]) > 1000
    expected = reference_peak(samples)
    assert expected > 20 * np.log10(1.1)
    assert audio_writer.true_peak(samples, RATE) == pytest.approx(expected, abs=1e-9)
    for phase in (1, 3):  # the other fractional phases too, at the very start and end
        pattern = worst_case(0.5, phase)
        for where in (0, len(samples) - len(pattern)):
            case = np.zeros(len(samples))
            case[where: where + len(pattern)] = pattern
            assert audio_writer.true_peak(case, RATE) == pytest.approx(reference_peak(case),
                                                                       abs=1e-9)
    for case in (np.array([0.3]), np.array([0.0, -0.7, 0.0]), worst_case(1.0)):
        assert audio_writer.true_peak(case, RATE) == pytest.approx(reference_peak(case),
                                                                   abs=1e-9)
    assert audio_writer.true_peak(np.zeros(100), RATE) == float("-inf")


def test_block_bound_holds_and_is_reached() -> None:
    """No block's interpolated values exceed its bound, on noise, speech-like tones and the
    worst case, where the bound is met (so it is as tight as a bound of this form can be)."""
    rng = np.random.default_rng(11)
    time = np.arange(20_000) / RATE
    cases = [
        rng.standard_normal(20_000) * 0.3,
        0.8 * np.sin(2 * np.pi * 180 * time) + 0.1 * np.sin(2 * np.pi * 2500 * time),
        np.tile(worst_case(0.9), 400),
        # a lone click: the blocks before it see it only at the far end of their window
        np.pad([0.7], (60, 60)),
    ]
    for samples in cases:
        padded, count = audio_writer._padded(samples)
        bounds = audio_writer._block_bounds(padded, count)
        peaks = audio_writer._block_peaks(padded, np.arange(count))
        assert np.all(peaks.max(axis=1) <= bounds)
        assert np.max(peaks) > 0
    peaks = audio_writer._block_peaks(*audio_writer._padded(cases[2])[:1],
                                      np.arange(audio_writer._padded(cases[2])[1]))
    _, magnitudes = audio_writer._phases()
    assert np.max(peaks) == pytest.approx(0.9 * np.max(magnitudes), rel=1e-12)


def test_sample_peaks_are_exact_wherever_they_reach_the_threshold(speech: np.ndarray) -> None:
    over = signal.upfirdn(audio_writer._interpolation_taps(), speech, 4)
    over = np.pad(over[24: 24 + 4 * len(speech)], (0, 4 * len(speech)))[: 4 * len(speech)]
    reference = np.abs(over).reshape(len(speech), 4).max(axis=1)
    for threshold in (0.2, 0.6, 1.0):
        peaks = audio_writer.sample_peaks(speech, threshold)
        loud = reference >= threshold
        assert loud.any()
        assert np.allclose(peaks[loud], reference[loud], rtol=0, atol=1e-12)
        assert np.all(peaks <= reference + 1e-12)  # elsewhere exact or left at zero


def test_limiter_stretches_filtered_end_to_end_equal_one_filter_each() -> None:
    rng = np.random.default_rng(5)
    need = np.ones(200_000)
    low = np.sort(rng.choice(np.arange(0, 200_000), 300, replace=False))
    low = np.unique(np.concatenate([low, [0, 1, 199_999]]))  # stretches cut by either end
    need[low] = rng.uniform(0.3, 0.99, len(low))
    index, gains = audio_writer._limiter_gain(need[low], low, len(need), RATE)
    width = int(audio_writer.LIMITER_HOLD * RATE)
    # reference: the same filters over the whole signal, in the limiter's float32 (a running
    # sum restarted at each stretch rounds a little differently from one over the whole)
    need = need.astype(np.float32)
    held = ndimage.minimum_filter1d(need, size=2 * width + 1, mode="nearest")
    whole = np.minimum(ndimage.uniform_filter1d(held, size=width, mode="nearest"), need)
    assert gains.dtype == np.float32
    assert np.allclose(gains, whole[index], rtol=0, atol=1e-6)
    outside = np.ones(len(need), dtype=bool)
    outside[index] = False
    assert np.all(np.abs(whole[outside] - 1) < 1e-6)
    assert len(np.unique(index)) == len(index)


def test_decode_reads_the_rate_from_the_stream(tmp_path: Path) -> None:
    source = tmp_path / "tone.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                    "sine=frequency=440:sample_rate=44100:duration=1.5", "-ac", "2",
                    str(source)], check=True)
    samples, rate = audio_writer.decode(source)
    assert rate == 44100 and len(samples) == 66150
    assert np.max(np.abs(samples)) == pytest.approx(0.125, abs=1e-3)  # lavfi's sine, mono mix
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"ID3" + bytes(200))
    with pytest.raises(ValueError, match="no audio stream"):
        audio_writer.decode(broken)
    with pytest.raises(ValueError, match="no such file"):
        audio_writer.decode(tmp_path / "missing.mp3")


def test_decoding_in_process_gives_ffmpeg_s_samples(tmp_path: Path) -> None:
    """The in-process decoder (libmpg123) and ffmpeg's agree on a real notice's MP3: the same
    length (both drop the encoder delay and padding the LAME header gives), the same samples
    within float rounding, and so the same figures, true peak over full scale included."""
    wav, mp3, out = tmp_path / "speech.wav", tmp_path / "speech.mp3", tmp_path / "ffmpeg.wav"
    subprocess.run(["espeak-ng", "-v", "en", "-w", str(wav), "Parking permits cost twenty "
                    "euros a month, paid at the town hall from Monday to Friday."], check=True)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(wav), "-af",
                    "volume=12dB", "-c:a", "libmp3lame", "-b:a", "64k", str(mp3)], check=True)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(mp3), "-map_metadata",
                    "-1", "-fflags", "+bitexact", "-c:a", "pcm_f32le", str(out)], check=True)
    ours, rate = audio_writer.decode(mp3)
    with wave.open(str(wav), "rb") as handle:
        frames = handle.getnframes()
    theirs = np.fromfile(out, dtype="<f4")[-len(ours):]  # after the WAV header
    assert rate == RATE and len(ours) == frames
    assert out.stat().st_size - 4 * len(ours) < 100  # nothing but the header before them
    assert np.max(np.abs(ours - theirs)) < 1e-5
    assert np.max(np.abs(ours)) > 1  # loud enough to go over full scale, which is kept
    assert audio_writer.true_peak(ours, RATE) == pytest.approx(
        audio_writer.true_peak(theirs, RATE), abs=1e-3)
    assert audio_writer.integrated_loudness(ours, RATE) == pytest.approx(
        audio_writer.integrated_loudness(theirs, RATE), abs=1e-3)


def _wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(RATE)
        handle.writeframes(samples.astype("<i2").tobytes())


# the sound starting and ending at either end of a 256-sample stretch of the walk
@pytest.mark.parametrize("start", [0, 1, 215, 216, 217, 255, 256, 257, 5000])
@pytest.mark.parametrize("tail", [0, 1, 255, 256, 3000])
def test_piece_check_finds_the_sound_where_a_sample_by_sample_walk_does(
    tmp_path: Path, start: int, tail: int
) -> None:
    rng = np.random.default_rng(start * 7 + tail)
    # only the first and last samples are loud, just over the line: the walk must find both
    sound = rng.integers(-64, 65, 9000)
    sound[0], sound[-1] = 65, -65
    quiet = rng.integers(-64, 65, start + tail + len(sound))
    samples = quiet.copy()
    samples[start: start + len(sound)] = sound
    path = tmp_path / "piece.wav"
    _wav(path, samples)
    # 9000 samples of sound last 0.408 s: enough for 4 words at 150 a minute, not for 5
    assert audio_writer._piece_problem(path, 1, 150) is None
    assert audio_writer._piece_problem(path, 4, 150) is None
    problem = audio_writer._piece_problem(path, 5, 150)
    assert problem is not None and "lasts 0.41 s" in problem
    _wav(path, quiet)
    assert audio_writer._piece_problem(path, 1, 150) == "the audio is silent"


def test_longest_silence_is_the_first_longest_run_of_quiet_frames() -> None:
    frame = RATE // 20
    loud, quiet = 0.5, 10 ** (SILENCE_DBFS / 20) / 2
    pattern = [loud, quiet, quiet, loud, quiet, quiet, quiet, loud, quiet, quiet, quiet]
    samples = np.repeat(pattern, frame)
    assert longest_silence(samples, RATE) == (4 * frame / RATE, 3 * frame / RATE)
    assert longest_silence(np.full(10 * frame, loud), RATE) == (0.0, 0.0)
    assert longest_silence(np.zeros(10 * frame + 7), RATE) == (0.0, 10 * frame / RATE)


def test_peaks_computed_in_chunks_equal_one_call(speech: np.ndarray,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A long notice is oversampled a bounded number of blocks at a time (memory): the chunks,
    cut anywhere in a run of blocks, give the same values as one call."""
    padded, count = audio_writer._padded(speech)
    blocks = np.r_[np.arange(0, count // 3), np.arange(count // 2, count)]
    whole = audio_writer._block_peaks(padded, blocks)
    monkeypatch.setattr(audio_writer, "PEAK_CHUNK_BLOCKS", 37)
    assert len(blocks) > 37 * 3
    assert np.array_equal(audio_writer._block_peaks(padded, blocks), whole)
    assert audio_writer.true_peak(speech, RATE) == pytest.approx(reference_peak(speech),
                                                                 abs=1e-9)


def _calibration_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "calibrate_limiting", ROOT / "scripts" / "calibrate_limiting.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mastering_reaches_the_target_from_any_calibration(
    speech: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A voice's calibration (voices.yaml) only chooses where the mastering's rounds start: from
    a poor start the notice still reaches the target under the ceiling, in more rounds; from
    the start the calibration script measures, in one."""
    quiet = np.asarray(speech * 10 ** (-14 / 20), dtype=np.float32)  # to be brought up
    target, ceiling = -15.5, -4.0
    rounds: list[float] = []
    limited = audio_writer.Mastering.limited

    def counted(self: audio_writer.Mastering, gain_db: float, ceiling_dbtp: float) -> Any:
        rounds.append(gain_db)
        return limited(self, gain_db, ceiling_dbtp)

    measured = _calibration_script().solve(audio_writer.Mastering(quiet, RATE), target, ceiling)
    assert 0 < measured[0] < 20 and 0 < measured[1] < 1
    monkeypatch.setattr(audio_writer.Mastering, "limited", counted)
    taken = {}
    for start in ((2.0, 0.6), (5.5, 0.25), (12.0, 0.15), (5.5, 0.0), measured):
        rounds.clear()
        out = audio_writer.Mastering(quiet, RATE)(target, ceiling, *start)
        assert abs(audio_writer.integrated_loudness(out, RATE) - target) < 0.1, start
        # the limiter scales each sample by its oversampled peak's need; scaled samples
        # interpolate a hair differently (thousandths of a dB: the ceiling's margin takes it)
        assert audio_writer.true_peak(out, RATE) <= ceiling + 0.01, start
        taken[start] = len(rounds)
    assert taken[measured] == 1
    assert taken[(2.0, 0.6)] > 1 and taken[(12.0, 0.15)] > 1


def test_voices_file_calibrates_each_example_voice() -> None:
    calibration = audio_writer._calibration(ROOT / "formats" / "audio" / "voices.yaml")
    for voice in audio_writer.DEFAULT_VOICES.values():
        entry = calibration[voice]
        assert set(entry) == {"pace", "limiting_gain_db", "limiting_slope"}
        assert 0 < entry["limiting_gain_db"] < 15 and 0.1 <= entry["limiting_slope"] <= 1
    assert audio_writer._paces(ROOT / "formats" / "audio" / "voices.yaml") == {
        voice: entry["pace"] for voice, entry in calibration.items()}
