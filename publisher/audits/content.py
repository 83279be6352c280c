"""The content audit: is each service description up to date and written plainly?

In: the web page of each service, with the source :class:`~publisher.model.Document` it was made
from (known only for our own build: material from elsewhere gets no finding here). Out:

- ``content.review-date``: the service was last reviewed longer ago than ``review_period_days``
  (site.yaml) at the build's date — ISO 11367 asks for timely information, CAF 5.2 (e) for
  appropriate information;
- ``content.readability``: the Flesch reading ease of the whole text, computed by textstat for
  English and French (Kandel–Moles variant), against ``plain_language.target_reading_ease``;
  one finding per file with the figure, and one per paragraph clearly below the target;
  other languages (Arabic…) get a cannot-tell, for want of a maintained measure;
- ``content.long-sentences``: sentences longer than ``plain_language.max_sentence_words``;
- ``content.passive-voice``: sentences that look passive (English and French). The detection is
  a pattern (a form of "to be" / "être" followed by a past participle): it misses some passives
  and takes some adjectives for participles, so these are cannot-tell findings for the author
  to judge, never failures.

Every finding points at the line of the Markdown source, where the author fixes it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache

from publisher.audits import Audit, AuditContext, AuditInput, Criteria, Finding
from publisher.config import PlainLanguage
from publisher.model import (
    Document,
    Paragraph,
    block_inlines,
    plain_text,
    walk_blocks,
)

TIMELY = Criteria(caf=("5.2.e",), iso11367=("5.2.3",))
# Reading level is WCAG 2.2 success criterion 3.1.5 (level AAA: advice beyond the AA target).
PLAIN = Criteria(wcag=("3.1.5",), caf=("5.2.e",))
#: languages with a maintained readability formula in textstat
READABILITY_LANGUAGES = ("en", "fr")
#: shorter paragraphs give no meaningful readability figure of their own
MIN_PARAGRAPH_WORDS = 15
#: a paragraph is listed when it is clearly harder than the target, not for a point or two:
#: Flesch figures of single paragraphs swing widely with one long word
PARAGRAPH_MARGIN = 15.0

# A sentence ends at . ! ? … (and the Arabic question mark and full stop) followed by space;
# abbreviations with a dot ("e.g. ", "p. ex. ") are rare in service texts and only make a
# sentence look shorter, never longer.
_SENTENCE_END = re.compile(r"(?<=[.!?…؟])\s+")
_WORD = re.compile(r"\w+(?:[’'-]\w+)*", re.UNICODE)
_PASSIVE = {
    "en": re.compile(
        r"\b(?:am|is|are|was|were|be|been|being|gets?|got)\s+(?:\w+ly\s+)?"
        r"(?:\w+ed|known|given|taken|made|done|seen|sent|paid|built|shown|written|held|kept|"
        r"told|found|brought|bought|sold|chosen|left|put|read|heard|lost|issued|withdrawn|"
        r"drawn|spent|understood|forbidden|driven|thrown|hidden)\b",
        re.IGNORECASE,
    ),
    "fr": re.compile(
        r"\b(?:suis|es|est|sommes|êtes|sont|été|être|étais|était|étaient|sera|seront|serait|"
        r"seraient|soit|soient|fut|furent)\s+(?:\w+ment\s+)?"
        r"(?:\w+(?:é|ée|és|ées)|\w+(?:is|ise|ises)|\w+(?:it|ite|its|ites)|"
        r"\w+(?:ert|erte|erts|ertes)|\w+(?:u|ue|us|ues)|fait|faite|faits|faites)\b",
        re.IGNORECASE,
    ),
}


@dataclass(frozen=True)
class Passage:
    """A paragraph of the body (or the summary) and the source line it starts on."""

    text: str
    locator: str


def passages(doc: Document) -> Iterator[Passage]:
    yield Passage(doc.record.summary, f"{doc.span.path} (summary)")
    for block in walk_blocks(doc.blocks):
        if isinstance(block, Paragraph):
            for inlines in block_inlines(block):
                text = " ".join(plain_text(inlines).split())
                if text:
                    yield Passage(text, str(block.span))


def sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


def words(text: str) -> int:
    return len(_WORD.findall(text))


@cache
def _textstat(lang: str) -> object:
    # one instance per language: textstat keeps the language on the instance
    from textstat.textstat import textstatistics  # type: ignore[import-untyped]

    stats = textstatistics()
    stats.set_lang(lang)
    return stats


def reading_ease(text: str, lang: str) -> float:
    stats = _textstat(lang)
    return round(float(stats.flesch_reading_ease(text)), 1)  # type: ignore[attr-defined]


def review_date_finding(name: str, doc: Document, today: dt.date, period: int) -> Finding:
    reviewed = doc.record.last_reviewed
    age = (today - reviewed).days
    figures = {"last_reviewed": reviewed.isoformat(), "age_days": age, "period_days": period,
               "checked_on": today.isoformat()}
    if age > period:
        return Finding(
            name, "content.review-date", "failed",
            f"This service was last reviewed on {reviewed.isoformat()}, {age} days before this "
            f"build: longer than the review period of {period} days. Check that every fact is "
            "still true, then update last_reviewed in the front matter.",
            TIMELY, "moderate", doc.span.path, figures,
        )
    return Finding(
        name, "content.review-date", "passed",
        f"Reviewed on {reviewed.isoformat()}, within the review period of {period} days.",
        TIMELY, None, doc.span.path, figures,
    )


def readability_findings(name: str, doc: Document, found: Sequence[Passage],
                         target: float) -> list[Finding]:
    if doc.lang not in READABILITY_LANGUAGES:
        return [Finding(
            name, "content.readability", "cannot-tell",
            f"No maintained readability measure exists for this language ('{doc.lang}'): have "
            "the text read by someone who speaks it, or test it with readers.",
            PLAIN, None, doc.span.path, {"language": doc.lang},
        )]
    whole = " ".join(passage.text for passage in found)
    score = reading_ease(whole, doc.lang)
    figures = {"flesch_reading_ease": score, "target": target, "words": words(whole),
               "sentences": len(sentences(whole)), "language": doc.lang}
    results = []
    if score < target:
        results.append(Finding(
            name, "content.readability", "failed",
            f"The text's reading ease is {score:g}, below the target of {target:g}: use shorter "
            "sentences and everyday words.",
            PLAIN, "minor", doc.span.path, figures,
        ))
    else:
        results.append(Finding(
            name, "content.readability", "passed",
            f"The text's reading ease is {score:g} (target {target:g}).",
            PLAIN, None, doc.span.path, figures,
        ))
    for passage in found:
        if words(passage.text) < MIN_PARAGRAPH_WORDS:
            continue
        paragraph_score = reading_ease(passage.text, doc.lang)
        if paragraph_score < target - PARAGRAPH_MARGIN:
            results.append(Finding(
                name, "content.readability", "failed",
                f"This paragraph is hard to read (reading ease {paragraph_score:g}, target "
                f"{target:g}): “{_shorten(passage.text)}”",
                PLAIN, "minor", passage.locator,
                {"flesch_reading_ease": paragraph_score, "target": target},
            ))
    return results


def sentence_findings(name: str, doc: Document, found: Sequence[Passage],
                      options: PlainLanguage) -> list[Finding]:
    results = []
    passive = _PASSIVE.get(doc.lang)
    for passage in found:
        for sentence in sentences(passage.text):
            count = words(sentence)
            if count > options.max_sentence_words:
                results.append(Finding(
                    name, "content.long-sentences", "cannot-tell",
                    f"This sentence has {count} words (more than {options.max_sentence_words}); "
                    f"consider splitting it: “{_shorten(sentence)}”",
                    PLAIN, None, passage.locator,
                    {"words": count, "limit": options.max_sentence_words},
                ))
            match = passive.search(sentence) if passive else None
            if match:
                results.append(Finding(
                    name, "content.passive-voice", "cannot-tell",
                    f"This sentence may be in the passive voice (“{match.group(0)}”); the active "
                    "voice says who does what. This check is a pattern and can be wrong: "
                    f"“{_shorten(sentence)}”",
                    PLAIN, None, passage.locator, {"words": match.group(0)},
                ))
    return results


def _shorten(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def build_date(inputs: Sequence[AuditInput], ctx: AuditContext) -> dt.date | None:
    """The build's date, or (as the build's clock does without SOURCE_DATE_EPOCH) the newest
    review date among the documents: never the wall clock, so results repeat."""
    if ctx.build_time is not None:
        return ctx.build_time.date()
    dates = [item.document.record.last_reviewed for item in inputs if item.document]
    return max(dates, default=None)


class ContentAudit(Audit):
    name = "content"
    suffixes = (".html",)

    def reads(self, item: AuditInput) -> bool:
        """The service pages of our own build: their source is known."""
        return (item.document is not None and item.artifact is not None
                and item.artifact.format == "html")

    def audit(self, inputs: Sequence[AuditInput], ctx: AuditContext) -> list[Finding]:
        if ctx.config is None:
            return []
        pages = [item for item in inputs if self.reads(item)]
        today = build_date(pages, ctx)
        options = ctx.config.plain_language
        findings: list[Finding] = []
        for item in pages:
            doc = item.document
            assert doc is not None
            if today is not None:
                findings.append(review_date_finding(item.name, doc, today,
                                                    ctx.config.review_period_days))
            found = list(passages(doc))
            findings.extend(readability_findings(item.name, doc, found,
                                                 options.target_reading_ease))
            findings.extend(sentence_findings(item.name, doc, found, options))
        return findings


AUDIT = ContentAudit()
