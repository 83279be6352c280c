"""A notice of any length is mastered, encoded and measured in bounded memory (issue 24, point
6): the stretches the writer works on give what the whole signal would, the meters fed a block
at a time give the figures of the whole, and a notice of 40 minutes — twice the long page of a
migrated catalogue, twenty times an example notice — is joined, mastered and measured by a
process whose peak memory stays under one float32 copy of it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import wave
from pathlib import Path

import numpy as np
import pytest

from publisher.writers import audio as audio_writer
from publisher.writers.audio import (
    MASTERING_CHUNK,
    SAMPLE_RATE,
    AudioOptions,
    Mastering,
    Speech,
    first_aims,
    measure,
    measure_file,
)

ROOT = Path(__file__).resolve().parent.parent


def _speech_wav(folder: Path, text: str) -> Path:
    wav = folder / "sentence.wav"
    subprocess.run(["espeak-ng", "-v", "en", "-w", str(wav), text], check=True)
    return wav


def _samples(wav: Path) -> np.ndarray:
    with wave.open(str(wav), "rb") as handle:
        assert handle.getframerate() == SAMPLE_RATE
        frames = handle.readframes(handle.getnframes())
    return np.frombuffer(frames, dtype="<i2").astype(np.float32) * np.float32(1 / 32768)


@pytest.fixture(scope="module")
def long_speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """Real speech over four mastering stretches (about 100 s), loud enough to be limited."""
    folder = tmp_path_factory.mktemp("speech")
    piece = _samples(_speech_wav(folder, "You can claim Jobseeker's Allowance if you work "
                                 "less than sixteen hours a week. Call the helpline."))
    pause = np.zeros(SAMPLE_RATE // 2, dtype=np.float32)
    repeats = -(-(4 * MASTERING_CHUNK + 12345) // (len(piece) + len(pause)))
    return np.concatenate([np.concatenate([piece, pause])] * repeats)[: 4 * MASTERING_CHUNK
                                                                        + 12345]


def test_a_round_mastered_a_stretch_at_a_time_is_the_round_of_the_whole(
        long_speech: np.ndarray) -> None:
    """The limiter of one call over the whole signal (as the writer had it) against the
    writer's stretches: the same gain everywhere, to float rounding."""
    gain_db, ceiling_dbtp = 9.0, -4.0
    gain, ceiling = 10 ** (gain_db / 20), 10 ** (ceiling_dbtp / 20)
    index, peaks = audio_writer.loud_peaks(long_speech, ceiling / gain)
    where, gains = audio_writer._limiter_gain(ceiling / (gain * peaks), index, len(long_speech),
                                              SAMPLE_RATE)
    whole = np.multiply(long_speech, gain, dtype=np.float32)
    whole[where] *= gains
    assert len(where) > len(long_speech) // 100  # the limiter has work in every stretch
    stretched, loudness = Mastering(long_speech, SAMPLE_RATE).limited(gain_db, ceiling_dbtp)
    assert stretched.dtype == np.float32 and len(stretched) == len(long_speech)
    assert np.max(np.abs(stretched - whole)) < 1e-6
    assert loudness == pytest.approx(audio_writer.integrated_loudness(whole, SAMPLE_RATE),
                                     abs=1e-4)


def test_mastering_from_disk_writes_what_mastering_in_memory_gives(
        long_speech: np.ndarray, tmp_path: Path) -> None:
    target, ceiling = first_aims(AudioOptions())
    in_memory = Mastering(long_speech, SAMPLE_RATE)(target, ceiling)
    pcm = tmp_path / "joined.pcm"
    # the speech came as 16-bit samples: written back as they were
    pcm.write_bytes(np.rint(long_speech * 32768).astype("<i2").tobytes())
    speech = Speech(pcm=pcm, length=len(long_speech))
    assert np.array_equal(speech.read(0, len(long_speech)), long_speech)  # 16 bits exactly
    spill = tmp_path / "spill"
    spill.mkdir()
    mastering = Mastering(speech, SAMPLE_RATE, spill=spill)
    mastering.master_to(tmp_path / "mastered.pcm", target, ceiling)
    assert (tmp_path / "mastered.pcm").read_bytes() == audio_writer.pcm_bytes(in_memory)
    assert list(spill.glob("peaks-*.npz"))  # the peaks kept between rounds went to disk


def test_a_file_measured_a_block_at_a_time_measures_as_a_whole(
        long_speech: np.ndarray, tmp_path: Path) -> None:
    wav = tmp_path / "notice.wav"
    with wave.open(str(wav), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(SAMPLE_RATE)
        handle.writeframes(audio_writer.pcm_bytes(long_speech * np.float32(0.5)))
    samples, rate = audio_writer.decode(wav)
    assert rate == SAMPLE_RATE and len(samples) > 10 * audio_writer.DECODE_BLOCK
    assert measure_file(wav) == measure(samples, rate)
    # and the meters cut the signal where they choose, not where it was fed
    cut = [samples[start: start + 7919] for start in range(0, len(samples), 7919)]
    assert audio_writer._measured(len(samples), rate, cut) == measure(samples, rate)


#: the child: a notice of MINUTES minutes made of one real sentence, joined from its pieces,
#: mastered to PCM on disk, written as WAV a stretch at a time and measured back
CHILD = textwrap.dedent("""
    import json, sys, wave
    from pathlib import Path

    def peak_rss():
        # the peak of this program's own memory (VmHWM): ru_maxrss would also count what the
        # parent held when it forked this process (Linux carries it over the exec)
        status = Path("/proc/self/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines()
                        if line.startswith("VmHWM:"))) * 1024

    sys.path.insert(0, sys.argv[1])
    from publisher.speech import Sentence
    from publisher.writers.audio import (
        WRITER, SAMPLE_RATE, AudioOptions, Mastering, first_aims, measure_file)
    folder, piece, minutes = Path(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4])
    with wave.open(str(piece), "rb") as handle:
        seconds = handle.getnframes() / handle.getframerate()
    count = int(minutes * 60 / (seconds + 0.35))
    sentences = [Sentence("One sentence.", "One sentence.", "paragraph", index // 8)
                 for index in range(count)]
    speech, cues = WRITER._join(sentences, [piece] * count, folder / "joined.pcm")
    target, ceiling = first_aims(AudioOptions())
    Mastering(speech, SAMPLE_RATE, spill=folder).master_to(
        folder / "mastered.pcm", target, ceiling)
    with wave.open(str(folder / "mastered.wav"), "wb") as out, \\
            (folder / "mastered.pcm").open("rb") as pcm:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        while block := pcm.read(1 << 20):
            out.writeframes(block)
    sound = measure_file(folder / "mastered.wav")
    print(json.dumps({"length": speech.length, "cues": len(cues), "end": cues[-1].end,
                      "duration": sound.duration, "loudness": sound.loudness,
                      "peak": sound.peak, "target": target, "ceiling": ceiling,
                      "peak_rss": peak_rss()}))
""")


@pytest.mark.slow
def test_a_40_minute_notice_is_mastered_and_measured_in_less_than_a_copy_of_itself(
        tmp_path: Path) -> None:
    minutes = 40.0
    piece = _speech_wav(tmp_path, "Apprentices get paid, train and gain qualifications while "
                        "they work for an employer.")
    run = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(tmp_path), str(piece),
                          str(minutes)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    figures = json.loads(run.stdout)
    # (espeak-ng's own silence at either end of the piece is cut: a little under the aim)
    assert figures["duration"] == figures["length"] / SAMPLE_RATE > 0.9 * minutes * 60
    assert figures["end"] < figures["duration"]
    # the mastering reached its aims on the whole notice
    assert abs(figures["loudness"] - figures["target"]) < 0.1
    assert figures["peak"] <= figures["ceiling"] + 0.01
    # one float32 copy of the notice is 4 bytes a sample: 212 MB for 40 minutes; the whole
    # notice held in memory (as before) peaked at 1.7 GB for 38 minutes
    one_copy = 4 * figures["length"]
    assert figures["peak_rss"] < min(one_copy, 200 * 2**20), figures
    print(f"{figures['duration'] / 60:.1f} minutes: peak {figures['peak_rss'] / 2**20:.0f} MiB")
