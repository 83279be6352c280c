"""The audio audit: each MP3 notice decoded and measured, with its captions and transcript.

In: ``.mp3`` and ``.vtt`` files (our own output, with its source document, or anybody's). Out:
findings per file — it decodes and is not empty; its pace fits its word count at the configured
rate (±35 %, when the source document is known); no silence longer than 3 s; integrated loudness
(ITU-R BS.1770-4) and true peak within the configured bounds; the captions beside it in order,
not overlapping, inside the sound and covering every sentence of the script; the transcript page
beside it; the ID3 title, organisation and language tags. Every finding carries the figures of
its file: duration, words a minute, loudness, true peak. Those of a notice our build made and
nobody changed since are the ones the writer measured on the very same bytes (see
:meth:`AudioAudit._proven`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from mutagen.id3 import ID3, ID3NoHeaderError

from publisher.audits import Audit, AuditContext, AuditInput, Criteria, Finding, Impact, Outcome
from publisher.i18n import Locale
from publisher.speech import Sentence, script, word_count
from publisher.writers.audio import (
    ISO_639_2,
    AudioOptions,
    Cue,
    Sound,
    expected_duration,
    measure_file,
    parse_vtt,
)

PACE_TOLERANCE = 0.35
MAX_SILENCE_SECONDS = 3.0
CUE_SLACK = 0.05  # seconds: MP3 frames round the end of the sound

# What each check evidences. WCAG 1.2.1 asks an audio-only recording for a text alternative
# that presents the same information: the transcript, and captions that cover every sentence.
# EN 301 549 7.1 is about captions: 7.1.2 their synchronisation, 7.1.1 their playback. The
# loudness checks evidence no WCAG criterion; they serve CAF 5.2.f and ISO 11367 5.2.4 (the
# information is usable by everyone). ID3 title and language are the file's title and language
# (WCAG 2.4.2 and 3.1.1, applied to non-web documents by EN 301 549 10.2.4.2 and 10.3.1.1).
CAPTIONS_TIMING = Criteria(en301549=("7.1.1", "7.1.2"))
CAPTIONS_COMPLETE = Criteria(wcag=("1.2.1",), en301549=("7.1.1", "10.1.2.1"))
TRANSCRIPT = Criteria(wcag=("1.2.1",), en301549=("9.1.2.1", "10.1.2.1"))
SOUND = Criteria()
TAGS = Criteria(wcag=("2.4.2", "3.1.1"), en301549=("10.2.4.2", "10.3.1.1"))


class _Report:
    def __init__(self, name: str, figures: dict[str, Any]) -> None:
        self.name = name
        self.figures = figures
        self.findings: list[Finding] = []

    def add(
        self,
        check: str,
        ok: bool | None,
        message: str,
        criteria: Criteria,
        impact: Impact = "serious",
        locator: str = "",
    ) -> None:
        outcome: Outcome = "cannot-tell" if ok is None else "passed" if ok else "failed"
        self.findings.append(
            Finding(
                artifact=self.name,
                check=check,
                outcome=outcome,
                message=message,
                criteria=criteria,
                impact=None if outcome == "passed" else impact,
                locator=locator,
                figures=self.figures,
            )
        )


def _options(ctx: AuditContext) -> AudioOptions:
    if ctx.config is None:
        return AudioOptions()
    return AudioOptions.model_validate(ctx.config.format_options("audio"))


def _stamp(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes // 60):02d}:{int(minutes % 60):02d}:{secs:06.3f}"


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


class _Page(HTMLParser):
    """What the transcript check needs of a page: its language, its h1 count, its text."""

    def __init__(self) -> None:
        super().__init__()
        self.lang = ""
        self.h1 = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html":
            self.lang = dict(attrs).get("lang") or ""
        elif tag == "h1":
            self.h1 += 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


class AudioAudit(Audit):
    name = "audio"
    suffixes = (".mp3", ".vtt")

    def audit(self, inputs: Sequence[AuditInput], ctx: AuditContext) -> list[Finding]:
        options = _options(ctx)
        mp3s = {item.path.resolve() for item in inputs if item.path.suffix.lower() == ".mp3"}
        findings: list[Finding] = []
        for item in sorted(inputs, key=lambda i: i.name):
            if item.path.suffix.lower() == ".mp3":
                findings += self._mp3(item, options, ctx)
            elif item.path.with_suffix(".mp3").resolve() not in mp3s:
                findings += self._lone_vtt(item)
        return findings

    # -- a notice

    def _script(self, item: AuditInput, ctx: AuditContext) -> list[Sentence] | None:
        doc = item.document
        if doc is None:
            return None
        organisation = ctx.config.organisation_name(doc.lang) if ctx.config else ""
        return script(doc, Locale(doc.lang), organisation)

    def _mp3(self, item: AuditInput, options: AudioOptions, ctx: AuditContext) -> list[Finding]:
        figures: dict[str, Any] = {}
        report = _Report(item.name, figures)
        sound = self._proven(item)
        if sound is None:
            try:
                sound = measure_file(item.path)
            except ValueError as exc:
                report.add("audio.decodes", False, f"The file does not decode as audio: {exc}.",
                           SOUND, "critical")
                return report.findings
        duration = sound.duration
        figures["duration_seconds"] = round(duration, 2)
        if duration < 0.5 or not sound.audible:
            report.add("audio.decodes", False,
                       f"The notice is empty: {duration:.2f} s with no sound.", SOUND, "critical")
            return report.findings
        report.add("audio.decodes", True, f"The notice decodes: {duration:.1f} s of sound.",
                   SOUND)

        figures["loudness_lufs"] = round(sound.loudness, 2)
        figures["true_peak_dbtp"] = round(sound.peak, 2)
        sentences = self._script(item, ctx)
        self._pace(report, sentences, duration, options)
        self._silence(report, sound)
        self._loudness(report, sound.loudness, sound.peak, options)
        self._captions(report, item.path.with_suffix(".vtt"), sentences, duration)
        self._transcript(report, item.path, sentences)
        self._tags(report, item)
        return report.findings

    def _pace(self, report: _Report, sentences: list[Sentence] | None, duration: float,
              options: AudioOptions) -> None:
        if sentences is None:
            report.figures["words_per_minute"] = None
            report.add("audio.pace", None,
                       "The pace cannot be checked without the source document.", SOUND,
                       "minor")
            return
        words = word_count(sentences)
        wpm = words / (duration / 60)
        report.figures["words_per_minute"] = round(wpm, 1)
        # the pauses between sentences are part of the notice: a script of many short
        # sentences is slower in words a minute, and that is not a fault
        expected = expected_duration(sentences, options.rate_wpm)
        ratio = duration / expected
        ok = abs(ratio - 1) <= PACE_TOLERANCE
        report.add(
            "audio.pace", ok,
            f"{words} words in {duration:.1f} s ({wpm:.0f} words a minute); at the configured "
            f"{options.rate_wpm} words a minute with its pauses the script lasts about "
            f"{expected:.0f} s" + ("." if ok else
                                   f": {abs(ratio - 1):.0%} off, more than "
                                   f"{PACE_TOLERANCE:.0%} — words are lost or the rate is "
                                   "wrong."),
            SOUND, "serious")

    @staticmethod
    def _proven(item: AuditInput) -> Sound | None:
        """The figures the audio writer measured of this notice when it proved it, if the file
        holds exactly the bytes it made (by SHA-256); None otherwise, and the file is decoded.

        The writer decodes the MP3 it made and measures it with :func:`measure_file` — the same
        decoder and the same meters as below, on the same bytes, so the same figures (a test
        keeps it so). Doing it again would cost ~0.8 s of CPU a notice for nothing; a file
        changed after the build (or from elsewhere) does not match and is measured here."""
        artifact = item.artifact
        if artifact is None:
            return None
        sound = Sound.from_meta(artifact.meta.get("sound"))
        if sound is None:
            return None
        try:
            data = item.path.read_bytes()
        except OSError:
            return None
        return sound if hashlib.sha256(data).hexdigest() == artifact.sha256 else None

    def _silence(self, report: _Report, sound: Sound) -> None:
        start, length = sound.silence_start, sound.silence_length
        ok = length <= MAX_SILENCE_SECONDS
        report.add(
            "audio.silence", ok,
            f"The longest silence lasts {length:.1f} s"
            + ("." if ok else f", more than {MAX_SILENCE_SECONDS:g} s: a listener may think "
               "the notice has ended."),
            SOUND, "moderate", _stamp(start))

    def _loudness(self, report: _Report, loudness: float, peak: float,
                  options: AudioOptions) -> None:
        target, tolerance = options.loudness_lufs, options.loudness_tolerance_lu
        ok = abs(loudness - target) <= tolerance
        report.add(
            "audio.loudness", ok,
            f"Integrated loudness {loudness:.1f} LUFS (target {target:g} ± {tolerance:g}); "
            + ("listeners hear every notice at the same level." if ok else
               "listeners must adjust the volume from one notice to the next."),
            SOUND, "moderate")
        ok = peak <= options.true_peak_dbtp + 0.05  # the meter's own rounding
        report.add(
            "audio.true-peak", ok,
            f"True peak {peak:.1f} dBTP (at most {options.true_peak_dbtp:g})"
            + ("." if ok else ": the sound will distort on many players."),
            SOUND, "moderate")

    def _captions(self, report: _Report, vtt: Path, sentences: list[Sentence] | None,
                  duration: float) -> None:
        if not vtt.is_file():
            report.add("audio.captions-timing", False,
                       f"There are no captions beside the notice ({vtt.name}).",
                       CAPTIONS_TIMING, "serious")
            return
        try:
            cues = parse_vtt(vtt.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            report.add("audio.captions-timing", False, f"The captions are not WebVTT: {exc}.",
                       CAPTIONS_TIMING, "serious")
            return
        problems = _timing_problems(cues, duration)
        report.add(
            "audio.captions-timing", not problems,
            problems[0][1] if problems else
            f"{len(cues)} captions, in order, none overlapping, all within the sound.",
            CAPTIONS_TIMING, "serious", problems[0][0] if problems else "")
        if sentences is None:
            report.add("audio.captions-complete", None,
                       "Without the source document the captions cannot be compared with the "
                       "script.", CAPTIONS_COMPLETE, "minor")
            return
        said = [_normal(cue.text) for cue in cues]
        expected = [_normal(sentence.text) for sentence in sentences]
        missing = [text for text in expected if text not in said]
        ok = not missing and said == expected
        report.add(
            "audio.captions-complete", ok,
            f"The captions give all {len(expected)} sentences of the script in order."
            if ok else
            (f"{len(missing)} sentence(s) of the script have no caption, the first: "
             f"“{missing[0][:80]}”." if missing else
             "The captions are not in the order of the script."),
            CAPTIONS_COMPLETE, "serious")

    def _transcript(self, report: _Report, mp3: Path, sentences: list[Sentence] | None) -> None:
        path = mp3.with_name(mp3.stem + "-transcript.html")
        if not path.is_file():
            report.add("audio.transcript", False,
                       f"There is no transcript beside the notice ({path.name}).",
                       TRANSCRIPT, "serious")
            return
        page = _Page()
        page.feed(path.read_text(encoding="utf-8", errors="replace"))
        problems: list[str] = []
        if not page.lang:
            problems.append("the page declares no language")
        if page.h1 != 1:
            problems.append(f"the page has {page.h1} h1 headings, not one")
        if sentences is not None:
            body = _normal(" ".join(page.text))
            lost = [s.heading if s.role == "heading" else s.text for s in sentences]
            lost = [text for text in lost if _normal(text) not in body]
            if lost:
                problems.append(f"{len(lost)} sentence(s) of the notice are missing, the "
                                f"first: “{lost[0][:80]}”")
        report.add(
            "audio.transcript", not problems,
            "The transcript page gives the whole notice, with its language and one h1."
            if not problems else f"The transcript is not a full alternative: {problems[0]}.",
            TRANSCRIPT, "serious")

    def _tags(self, report: _Report, item: AuditInput) -> None:
        try:
            tags = ID3(str(item.path))  # type: ignore[no-untyped-call]
        except ID3NoHeaderError:
            report.add("audio.id3-tags", False,
                       "The file has no ID3 tags: players show no title or language.", TAGS,
                       "moderate")
            return
        values = {key: str(tags[key].text[0]) if key in tags and tags[key].text else ""
                  for key in ("TIT2", "TPE1", "TPUB", "TLAN")}
        problems = [f"no {label}" for key, label in (("TIT2", "title"), ("TLAN", "language"))
                    if not values[key]]
        if not (values["TPE1"] or values["TPUB"]):
            problems.append("no organisation (artist or publisher)")
        doc = item.document
        if doc is not None:
            if values["TIT2"] and values["TIT2"] != doc.record.title:
                problems.append(f"the title “{values['TIT2']}” is not the service's")
            language = ISO_639_2.get(doc.lang.split("-")[0], doc.lang)
            if values["TLAN"] and values["TLAN"] != language:
                problems.append(f"the language '{values['TLAN']}' is not '{language}'")
        report.add(
            "audio.id3-tags", not problems,
            "Title, organisation and language are tagged." if not problems
            else f"ID3 tags: {'; '.join(problems)}.",
            TAGS, "moderate")

    # -- captions without their sound

    def _lone_vtt(self, item: AuditInput) -> list[Finding]:
        report = _Report(item.name, {})
        try:
            cues = parse_vtt(item.path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            report.add("audio.captions-timing", False, f"The captions are not WebVTT: {exc}.",
                       CAPTIONS_TIMING, "serious")
            return report.findings
        problems = _timing_problems(cues, None)
        report.add(
            "audio.captions-timing", not problems,
            problems[0][1] if problems else f"{len(cues)} captions, in order, none overlapping.",
            CAPTIONS_TIMING, "serious", problems[0][0] if problems else "")
        return report.findings


def _timing_problems(cues: list[Cue], duration: float | None) -> list[tuple[str, str]]:
    """(locator, message) for each timing fault: empty, reversed, out of order, overlapping,
    or past the end of the sound."""
    if not cues:
        return [("", "The captions file has no cues.")]
    problems: list[tuple[str, str]] = []
    previous: Cue | None = None
    for cue in cues:
        where = f"line {cue.line}"
        if cue.end <= cue.start:
            problems.append((where, f"A caption ends before it starts ({where})."))
        if previous is not None and cue.start < previous.start:
            problems.append((where, f"A caption is out of order ({where})."))
        elif previous is not None and cue.start < previous.end - 0.0005:
            problems.append((where, f"A caption overlaps the one before ({where})."))
        if duration is not None and cue.end > duration + CUE_SLACK:
            problems.append(
                (where, f"A caption runs to {cue.end:.2f} s, past the end of the sound at "
                        f"{duration:.2f} s ({where}).")
            )
        if not cue.text.strip():
            problems.append((where, f"A caption has no text ({where})."))
        previous = cue
    return problems


AUDIT = AudioAudit()
