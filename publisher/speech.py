"""The spoken script: a document rewritten for the ear, one sentence at a time.

In: a :class:`~publisher.model.Document` and the :class:`~publisher.i18n.Locale` of its language.
Out: a list of :class:`Sentence` values in reading order — the title and summary first, the body
with its headings announced, lists read as items and tables read as sentences, then the
essentials of the front matter (how to apply, fees, opening hours, contact). Each sentence keeps
two forms: ``text`` as written (for captions and the transcript) and ``spoken`` as the synthesiser
should say it (web and email addresses spelled so that a listener can write them down, money,
dates and times in words the language uses). The audio writer synthesises one piece per sentence;
the audio audit rebuilds the same script to check the captions against it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from babel import lists as babel_lists
from babel import numbers as babel_numbers

from publisher.diagnostics import SourceSpan
from publisher.i18n import Locale
from publisher.model import (
    Block,
    BulletList,
    CodeBlock,
    Document,
    Heading,
    Inline,
    Note,
    OrderedList,
    Paragraph,
    Quote,
    Table,
    ThematicBreak,
    day_runs,
    expanded_text,
    plain_text,
)
from publisher.translation import outdated_notice
from publisher.writers import N_

Role = Literal["title", "summary", "heading", "announce", "text", "item", "row", "fact"]


@dataclass(frozen=True)
class Sentence:
    """One piece of the notice: synthesised alone, captioned as one cue.

    ``group`` numbers the block a sentence belongs to: the transcript writes a group as one
    paragraph (or list, or heading) and the audio writer leaves a longer pause between groups.
    ``heading`` is the bare heading text for the transcript when ``role`` is ``"heading"``.
    """

    text: str
    spoken: str
    role: Role
    group: int
    level: int = 0
    heading: str = ""
    span: SourceSpan | None = None

    @property
    def words(self) -> int:
        return len(self.spoken.split())


def word_count(sentences: Iterable[Sentence]) -> int:
    return sum(sentence.words for sentence in sentences)


# ---------------------------------------------------------------- for the ear: single values

_SYMBOLS = {
    ".": N_("dot"),
    "-": N_("dash"),
    "/": N_("slash"),
    "@": N_("at"),
    "_": N_("underscore"),
    "+": N_("plus"),
    ":": N_("colon"),
    "=": N_("equals"),
    "&": N_("and"),
    "?": N_("question mark"),
    "#": N_("hash"),
    "~": N_("tilde"),
}
_VOWELS = set("aeiouyAEIOUY")


def spell_address(address: str, _: Callable[[str], str]) -> str:
    """A web or email address as a listener can write it down: symbols named ("dot", "dash"),
    digits one by one, short or vowel-less letter runs ("www", "fr") spelled letter by letter.
    The scheme (https://) is left out: every browser adds it."""
    address = re.sub(r"^(https?://|mailto:)", "", address.strip(), flags=re.IGNORECASE)
    address = address.rstrip("/")
    words: list[str] = []
    for token in re.findall(r"[^\W\d_]+|\d|.", address):
        if token.isdigit():
            words.append(token)
        elif token[0].isalpha():
            if len(token) <= 3 or (not (set(token) & _VOWELS) and token.isascii()):
                words.append(" ".join(token))
            else:
                words.append(token)
        elif token in _SYMBOLS:
            words.append(_(_SYMBOLS[token]))
        # anything else (a stray space or quote) is not part of what a listener writes down
    return " ".join(words)


def spell_phone(number: str, _: Callable[[str], str]) -> str:
    """A phone number digit by digit, in the groups it is written in, with a pause between
    groups ("plus 3 3, 4, 5 0, …") so that a listener can write it down."""
    number = number.strip()
    groups = [re.sub(r"\D", "", group) for group in re.split(r"[\s.\-/()]+", number)]
    spoken = ", ".join(" ".join(group) for group in groups if group)
    return f"{_('plus')} {spoken}" if number.startswith("+") else spoken


def spoken_money(amount: Decimal, currency: str, locale: Locale) -> str:
    """An amount as said aloud: "20 euros", "12 euros 50", "20 يورو" (Babel's currency names)."""
    units = int(amount)
    cents = int((amount - units) * 100)
    name = babel_numbers.get_currency_name(currency, count=units, locale=locale.babel)
    number = locale.number(units).replace("\u202f", " ").replace("\xa0", " ")
    if cents == 0:
        return f"{number} {name}"
    return locale.gettext("{amount} {currency} {cents}").format(
        amount=number, currency=name, cents=f"{cents:02d}"
    )


def spoken_time(value: str, locale: Locale) -> str:
    """A 'HH:MM' time as said aloud: "5 PM", "8:30 AM" where the language uses a 12-hour clock
    (its CLDR short time pattern has a day period), else "17 heures", "8 heures 30"…; never
    "zero zero", which is how a synthesiser reads ":00"."""
    hours, minutes = (int(part) for part in value.split(":"))
    hours %= 24
    pattern = locale.babel.time_formats["short"].pattern
    if "a" in pattern:
        # the wide day period: "صباحًا", not the abbreviation "ص" a synthesiser spells
        key = "am" if hours < 12 else "pm"
        periods = locale.babel.day_periods
        wide = periods.get("format", {}).get("wide", {})
        period = wide[key] if key in wide else periods["stand-alone"]["wide"][key]
        clock = hours % 12 or 12
        said = str(clock) if minutes == 0 else f"{clock}:{minutes:02d}"
        return f"{said} {period}"
    if minutes == 0:
        return locale.gettext("{hour} o'clock").format(hour=hours)
    return locale.gettext("{hour}:{minute}").format(hour=hours, minute=f"{minutes:02d}")


def spoken_days(days: Iterable[str], locale: Locale) -> str:
    """Days as said aloud: runs of three or more become "Monday to Friday"."""
    parts: list[str] = []
    for run in day_runs(days):
        names = [locale.day_name(day) for day in run]
        if len(run) >= 3:
            parts.append(
                locale.gettext("{first} to {last}").format(first=names[0], last=names[-1])
            )
        else:
            parts.extend(names)
    return str(babel_lists.format_list(parts, locale=locale.babel))


# ---------------------------------------------------------------- numbers in words (Arabic)

# espeak-ng 1.51 builds an Arabic number from its dictionary's pieces, and a number whose
# units and tens both hold the phoneme ʿ (14, 17, 19, 44, 47, 74, 99, 999, 74999, …) comes out
# with a random phoneme in it, or none ("sabA-'u:n" becomes "sabA-Q\"u:n", "sabA-Z;u:n" or
# "sabA-u:n": memory it reads without setting). `espeak-ng -v ar -x 74` gives different
# phonemes from one run to the next, and in a long-lived engine every later sentence differs
# too. The same numbers written in vowelled words go through espeak-ng's letter rules instead,
# which are deterministic, and say the same: so Arabic numbers are spoken from words.
# The words end as they are said at a pause: "-ah" (ه), where the written ة would make
# espeak-ng say "-at"; ة only where the number is read on into the next word. (num2words
# spells Arabic numbers too, but unvowelled and ending in ة: "أربعة و سبعون", which espeak-ng
# would read with "-at" and vowels of its own guessing; hence these tables.)
_AR_UNITS = ("صِفْر", "وَاحِد", "اِثْنَان", "ثَلَاثَه", "أَرْبَعَه", "خَمْسَه", "سِتَّه",
             "سَبْعَه", "ثَمَانِيَه", "تِسْعَه")
_AR_TEENS = ("عَشَرَه", "أَحَدَ عَشَر", "اِثْنَا عَشَر", "ثَلَاثَةَ عَشَر", "أَرْبَعَةَ عَشَر",
             "خَمْسَةَ عَشَر", "سِتَّةَ عَشَر", "سَبْعَةَ عَشَر", "ثَمَانِيَةَ عَشَر",
             "تِسْعَةَ عَشَر")
_AR_TENS = ("", "", "عِشْرُون", "ثَلَاثُون", "أَرْبَعُون", "خَمْسُون", "سِتُّون", "سَبْعُون",
            "ثَمَانُون", "تِسْعُون")
_AR_HUNDREDS = ("", "مِئَه", "مِئَتَان", "ثَلَاثُمِئَه", "أَرْبَعُمِئَه", "خَمْسُمِئَه",
                "سِتُّمِئَه", "سَبْعُمِئَه", "ثَمَانِمِئَه", "تِسْعُمِئَه")
#: each power of a thousand: one, two, three to ten (plural), eleven and more (accusative)
_AR_SCALES = (
    (10**9, ("مِلْيَار", "مِلْيَارَان", "مِلْيَارَات", "مِلْيَارًا")),
    (10**6, ("مِلْيُون", "مِلْيُونَان", "مَلَايِين", "مِلْيُونًا")),
    (10**3, ("أَلْف", "أَلْفَان", "آلَاف", "أَلْفًا")),
)
_AND = "وَ"


def _arabic_below_thousand(value: int) -> list[str]:
    parts: list[str] = []
    hundreds, rest = divmod(value, 100)
    if hundreds:
        parts.append(_AR_HUNDREDS[hundreds])
    if rest >= 20:
        units, tens = rest % 10, rest // 10
        parts += [_AR_UNITS[units], _AR_TENS[tens]] if units else [_AR_TENS[tens]]
    elif rest >= 10:
        parts.append(_AR_TEENS[rest - 10])
    elif rest:
        parts.append(_AR_UNITS[rest])
    return parts


def arabic_number(value: int) -> str:
    """A whole number (0 to 999 999 999 999) in vowelled Arabic words, as read aloud: "أَرْبَعَة
    وَسَبْعُون أَلْفًا وَتِسْعُمِئَة وَتِسْعَة وَتِسْعُون". The counted noun is taken as
    masculine, the forms are those of the nominative, as espeak-ng's own number reading."""
    if value == 0:
        return _AR_UNITS[0]
    parts: list[str] = []
    for scale, (one, two, few, many) in _AR_SCALES:
        count, value = divmod(value, scale)
        if count == 1:
            parts.append(one)
        elif count == 2:
            parts.append(two)
        elif count:
            last = count % 100
            noun = few if 3 <= last <= 10 else many if last >= 11 else one
            counted = " ".join(_and_joined(_arabic_below_thousand(count)))
            if noun == few and counted.endswith("ه"):
                # "ثَلَاثَةُ آلَاف": the number is the first term of a construct, read on
                counted = counted[:-1] + "ةُ"
            parts.append(f"{counted} {noun}")
    parts += _arabic_below_thousand(value)
    return " ".join(_and_joined(parts))


def _and_joined(parts: list[str]) -> list[str]:
    """Every part after the first takes "and" (وَ), written joined to it."""
    return [part if index == 0 else _AND + part for index, part in enumerate(parts)]


_AR_DIGITS = r"[0-9\u0660-\u0669\u06f0-\u06f9]"
_AR_NUMBER = re.compile(
    rf"(?P<hour>{_AR_DIGITS}{{1,2}}):(?P<minute>{_AR_DIGITS}{{2}})\b"
    rf"|(?P<whole>{_AR_DIGITS}{{1,3}}(?:[,\u066c]{_AR_DIGITS}{{3}})+|{_AR_DIGITS}+)"
    rf"(?:[.\u066b](?P<fraction>{_AR_DIGITS}+))?(?P<percent>\s?[%\u066a])?"
)


def arabic_numbers_in_words(text: str) -> str:
    """Every number of an Arabic sentence in words, as espeak-ng would read it: whole numbers
    as numbers (with thousands separators or not), a time "8:30" as its two numbers, a decimal
    fraction after "فَاصِلَه" digit by digit, a number with a leading zero or of more than 12
    digits digit by digit (a code, not a quantity); and a percentage with its "فِي الْمِئَه",
    which espeak-ng leaves out. A number glued to a prefix ("بـ48", "و90") stays glued to it."""

    def digits(run: str) -> str:
        return " ".join(_AR_UNITS[int(digit)] for digit in run)

    def number(run: str) -> str:
        if (len(run) > 1 and int(run[0]) == 0) or len(run) > 12:
            return digits(run)
        return arabic_number(int(run))

    def replace(match: re.Match[str]) -> str:
        if match["hour"]:
            return f"{arabic_number(int(match['hour']))} {arabic_number(int(match['minute']))}"
        said = number(re.sub(r"[,\u066c]", "", match["whole"]))
        if match["fraction"]:
            said += " فَاصِلَه " + digits(match["fraction"])
        if match["percent"]:
            said += " فِي الْمِئَه"
        return said

    return _AR_NUMBER.sub(replace, text)


#: languages whose numbers the synthesiser must be given in words (see above)
NUMBERS_IN_WORDS: dict[str, Callable[[str], str]] = {"ar": arabic_numbers_in_words}


# ---------------------------------------------------------------- for the ear: running text

_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_URL = r"(?:https?://|www\.)[^\s<>()\"']+"
_PHONE = r"\+\d[\d .]{6,}\d|\b0\d(?:[ .]?\d{2}){4}\b"
_AMOUNT = r"\d+(?:[.,\u202f\xa0 ]\d+)*"
_MONEY = (
    rf"(?P<sym1>[€$£])\s?(?P<amt1>{_AMOUNT})"
    rf"|(?P<amt2>{_AMOUNT})\s?(?P<sym2>[€$£]|\b(?:EUR|USD|GBP|CHF)\b)"
    rf"|\b(?P<sym3>EUR|USD|GBP|CHF)\s?(?P<amt3>{_AMOUNT})"
)
_DATE = r"\b\d{4}-\d{2}-\d{2}\b"
_TIME = r"\b(?:[01]?\d|2[0-4])[:h][0-5]\d\b"
_PATTERN = re.compile(
    rf"(?P<email>{_EMAIL})|(?P<url>{_URL})|(?P<phone>{_PHONE})|(?P<money>{_MONEY})"
    rf"|(?P<date>{_DATE})|(?P<time>{_TIME})"
)
_CURRENCY = {"€": "EUR", "$": "USD", "£": "GBP"}


def _amount(text: str) -> Decimal | None:
    """A written amount: the last separator is a decimal mark when two digits follow it."""
    digits = re.sub(r"[\u202f\xa0 ]", "", text)
    match = re.fullmatch(r"(.*?)[.,](\d{1,2})", digits)
    whole, fraction = (match.group(1), match.group(2)) if match else (digits, "0")
    try:
        return Decimal(re.sub(r"[.,]", "", whole) or "0") + Decimal(f"0.{fraction}")
    except InvalidOperation:
        return None


def for_the_ear(text: str, locale: Locale) -> str:
    """Running text rewritten for a synthesiser: addresses spelled, phone numbers in digit
    groups, money, ISO dates and times in the words of the language."""
    _ = locale.gettext

    def replace(match: re.Match[str]) -> str:
        found = match.group(0)
        if match.group("email"):
            return spell_address(found, _)
        if match.group("url"):
            trail = re.search(r"[.,;:!?]+$", found)
            core = found[: trail.start()] if trail else found
            return spell_address(core, _) + (trail.group(0) if trail else "")
        if match.group("phone"):
            return spell_phone(found, _)
        if match.group("money"):
            symbol = match.group("sym1") or match.group("sym2") or match.group("sym3")
            written = match.group("amt1") or match.group("amt2") or match.group("amt3")
            amount = _amount(written)
            if amount is None:
                return found
            return spoken_money(amount, _CURRENCY.get(symbol, symbol), locale)
        if match.group("date"):
            try:
                return locale.date(dt.date.fromisoformat(found), "long")
            except ValueError:
                return found
        hours, minutes = re.split(r"[:h]", found)
        return spoken_time(f"{int(hours):02d}:{minutes}", locale)

    spoken = _PATTERN.sub(replace, text)
    # Markdown's typographic leftovers are noise to a synthesiser ("asterisk", "tilde")
    spoken = re.sub(r"[*_`#|<>]+", " ", spoken)
    return re.sub(r"\s+", " ", spoken).strip()


#: marks a formatter may leave in a value (Babel writes U+200F before an Arabic amount) and
#: embeddings: never in a caption, never sent to the synthesiser
_BIDI_MARKS = re.compile("[\u200e\u200f\u061c\u202a-\u202e]")
_ISOLATES = re.compile("[\u2066-\u2069]")
_LTR_RUN = re.compile(rf"{_EMAIL}|{_URL}|{_PHONE}")
LRI, FSI, PDI = "\u2066", "\u2068", "\u2069"


def written(text: str, rtl: bool) -> str:
    """A sentence as captions and the transcript show it. In a right-to-left language, phone
    numbers and web and email addresses are isolated (LRI … PDI), so that their digit groups
    keep their order on screen; plain text has no other way (WebVTT has no ``<bdi>``)."""
    text = _BIDI_MARKS.sub("", text)
    if rtl:
        text = _LTR_RUN.sub(lambda m: f"{LRI}{m.group(0)}{PDI}", text)
    return text


def _unmarked(text: str) -> str:
    return _ISOLATES.sub("", _BIDI_MARKS.sub("", text))


_SENTENCE_END = re.compile(r"(?<=[.!?؟…])\s+(?=[^\s\da-z])")


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph; a full stop followed by a lower-case word ("e.g. the") or a
    digit does not end a sentence."""
    text = re.sub(r"\s+", " ", text).strip()
    return [part for part in _SENTENCE_END.split(text) if part]


def _closed(text: str) -> str:
    """A sentence that ends with punctuation, so that the synthesiser's intonation falls."""
    return text if re.search(r"[.!?؟…:;]$", text) else f"{text}."


# ---------------------------------------------------------------- the script


class _Script:
    def __init__(self, doc: Document, locale: Locale, organisation: str) -> None:
        self.doc = doc
        self.locale = locale
        self._ = locale.gettext
        self.organisation = organisation
        # from the language itself, not the site configuration: the audit rebuilds the script
        # without it
        self.rtl = locale.babel.character_order == "right-to-left"
        self.numbers_in_words = NUMBERS_IN_WORDS.get(locale.code.split("-")[0].lower())
        self.sentences: list[Sentence] = []
        self.group = 0
        #: abbreviations already spelt out: each is spelt out where a listener first hears it
        self.abbreviations_seen: set[str] = set()

    def new_group(self) -> None:
        if self.sentences and self.sentences[-1].group == self.group:
            self.group += 1

    def say(
        self,
        text: str,
        role: Role,
        span: SourceSpan | None,
        spoken: str | None = None,
        level: int = 0,
        heading: str = "",
    ) -> None:
        text = re.sub(r"\s+", " ", text).strip()
        if not _unmarked(text):
            return
        said = _unmarked(for_the_ear(_unmarked(text), self.locale) if spoken is None
                         else spoken)
        if not said:
            return
        if self.numbers_in_words is not None:
            said = self.numbers_in_words(said)
        text = written(text, self.rtl)
        self.sentences.append(
            Sentence(
                text=_closed(text) if role not in ("heading", "title") else text,
                spoken=_closed(said),
                role=role,
                group=self.group,
                level=level,
                heading=heading,
                span=span,
            )
        )

    def paragraph(self, text: str, role: Role, span: SourceSpan, prefix: str = "") -> None:
        for index, sentence in enumerate(split_sentences(text)):
            if index == 0 and prefix:
                sentence = prefix.format(text=sentence)
            self.say(sentence, role, span)

    # -- the parts of a notice

    def isolated(self, text: str) -> str:
        """A postal address inside a sentence of the other direction keeps its own."""
        return f"{FSI}{text}{PDI}" if self.rtl and text else text

    def words(self, inlines: tuple[Inline, ...]) -> str:
        """What is said of an inline run: its text, abbreviations spelt out where first met."""
        return expanded_text(inlines, self.abbreviations_seen)

    def build(self) -> list[Sentence]:
        record = self.doc.record
        notice = outdated_notice(self.doc, self.locale)
        if notice is not None:
            # the opening sentence of an outdated translation says so, as every format does
            self.say(notice, "announce", self.doc.span)
            self.new_group()
        self.say(record.title, "title", self.doc.span, level=1, heading=record.title)
        self.new_group()
        self.paragraph(record.summary, "summary", self.doc.span)
        self.blocks(self.doc.blocks)
        self.practical()
        return self.sentences

    def blocks(self, blocks: Iterable[Block]) -> None:
        for block in blocks:
            self.block(block)

    def block(self, block: Block) -> None:
        _ = self._
        if isinstance(block, Heading):
            self.new_group()
            title = plain_text(block.children)
            label = _("Section: {title}") if block.level <= 2 else _("Subsection: {title}")
            self.say(label.format(title=title), "heading", block.span, level=block.level,
                     heading=title)
            self.new_group()
        elif isinstance(block, Paragraph):
            self.new_group()
            self.paragraph(self.words(block.children), "text", block.span)
        elif isinstance(block, BulletList | OrderedList):
            self.list(block)
        elif isinstance(block, Table):
            self.table(block)
        elif isinstance(block, Note):
            self.new_group()
            label = {"note": _("Note"), "warning": _("Warning"), "tip": _("Tip")}[block.kind]
            self.say(_closed(label), "announce", block.span)
            self.blocks(block.blocks)
        elif isinstance(block, Quote):
            self.new_group()
            self.say(_("Quotation."), "announce", block.span)
            self.blocks(block.blocks)
        elif isinstance(block, CodeBlock):
            self.new_group()
            for line in block.text.splitlines():
                self.say(line, "text", block.span)
        elif isinstance(block, ThematicBreak):
            self.new_group()

    def list(self, block: BulletList | OrderedList) -> None:
        _ = self._
        count = len(block.items)
        self.new_group()
        # two phrases rather than ngettext: the catalogues are merged from flat tables, and the
        # Arabic wording ("number of items: n") needs no plural agreement
        phrase = _("A list of one item.") if count == 1 else _("A list of {n} items.")
        self.say(phrase.format(n=count), "announce", block.span)
        for index, item in enumerate(block.items):
            self.new_group()
            prefix = ""
            if isinstance(block, OrderedList):
                prefix = _("Item {number}: {text}").replace(
                    "{number}", str(block.start + index)
                )
            for child in item.blocks:
                if isinstance(child, Paragraph):
                    self.paragraph(self.words(child.children), "item", child.span, prefix)
                    prefix = ""
                else:
                    self.block(child)

    def table(self, block: Table) -> None:
        """Tables read as sentences: the first cell of a row names it, the others are given
        with their column header ("First car: 20 euros"; with more columns, "First car,
        price per year: 20 euros; deadline: …")."""
        _ = self._
        headers = [self.words(cell.children).strip() for cell in block.head]
        count = len(block.rows)
        self.new_group()
        columns = str(babel_lists.format_list([h for h in headers if h], locale=self.locale.babel))
        phrase = (_("A table of one row: {columns}.") if count == 1
                  else _("A table of {n} rows: {columns}."))
        self.say(phrase.format(n=count, columns=columns), "announce", block.span)
        for row in block.rows:
            self.new_group()
            cells = [self.words(cell.children).strip() for cell in row]
            key = cells[0] if cells else ""
            rest = [
                (headers[index] if index < len(headers) else "", value)
                for index, value in enumerate(cells[1:], start=1)
                if value
            ]
            if not rest:
                self.say(key, "row", block.span)
            elif len(headers) <= 2:
                self.say(_("{label}: {value}").format(label=key, value=rest[0][1]), "row",
                         block.span)
            else:
                pairs = "; ".join(f"{head}: {value}" if head else value for head, value in rest)
                self.say(f"{key}, {pairs}" if key else pairs, "row", block.span)

    def practical(self) -> None:
        """The essentials of the front matter, after the body, where a listener expects the
        details to write down."""
        _ = self._
        record = self.doc.record
        span = self.doc.span
        locale = self.locale
        self.new_group()
        self.say(_("Practical information"), "heading", span, level=2,
                 heading=_("Practical information"))

        self.new_group()
        self.say(_("How to apply:"), "announce", span)
        places = {location.id: location for location in record.locations}
        for channel in record.channels:
            self.new_group()
            if channel.type == "online" and channel.url:
                label = channel.label or _("Online")
                self.say(_("{label}: {value}").format(label=label, value=channel.url), "fact",
                         span)
            elif channel.type == "phone" and channel.phone:
                self.say(_("By phone: {phone}").format(phone=channel.phone), "fact", span)
            elif channel.type == "email" and channel.email:
                self.say(_("By email: {email}").format(email=channel.email), "fact", span)
            elif channel.type == "in-person":
                place = places.get(channel.location or "")
                where = ", ".join(
                    part
                    for part in (
                        place.name if place else None,
                        self.isolated(channel.address or (place.address if place else "")),
                    )
                    if part
                )
                text = _("In person: {place}").format(place=where) if where else _("In person")
                self.say(text, "fact", span)
            elif channel.type == "post" and channel.address:
                self.say(_("By post: {address}").format(address=self.isolated(channel.address)),
                         "fact", span)
            elif channel.label:
                self.say(channel.label, "fact", span)

        self.new_group()
        self.say(
            _("Processing time: {time}").format(time=record.processing_time), "fact", span
        )

        if not record.fees:
            # said either way: a listener must not take silence for "free"
            self.new_group()
            value = _("Free") if record.cost == "free" else _("Not stated (see the text)")
            self.say(_("{label}: {value}").format(label=_("Cost"), value=value), "fact", span)
        else:
            self.new_group()
            self.say(_("Fees:"), "announce", span)
            for fee in record.fees:
                amount = Decimal(str(fee.amount))
                self.say(
                    _("{label}: {value}").format(
                        label=fee.label, value=locale.money(fee.amount, fee.currency)),
                    "fact",
                    span,
                    spoken=_("{label}: {value}").format(
                        label=for_the_ear(fee.label, locale),
                        value=spoken_money(amount, fee.currency, locale)),
                )

        if record.opening_hours:
            self.new_group()
            self.say(_("Opening hours:"), "announce", span)
            for hours in record.opening_hours:
                days = spoken_days(hours.days, locale)
                self.say(
                    _("{days}: {opens} to {closes}").format(
                        days=days, opens=locale.time(hours.opens), closes=locale.time(hours.closes)
                    ),
                    "fact",
                    span,
                    spoken=_("{days}: from {opens} to {closes}").format(
                        days=days,
                        opens=spoken_time(hours.opens, locale),
                        closes=spoken_time(hours.closes, locale),
                    ),
                )

        contact = record.contact
        self.new_group()
        self.say(_("Contact:"), "announce", span)
        if contact.phone:
            self.say(_("Phone: {phone}").format(phone=contact.phone), "fact", span)
        if contact.email:
            self.say(_("Email: {email}").format(email=contact.email), "fact", span)
        if contact.url:
            self.say(_("Website: {url}").format(url=contact.url), "fact", span)

        self.new_group()
        reviewed = locale.date(record.last_reviewed, "long")
        self.say(
            _("Published by {organisation}.").format(organisation=self.organisation), "fact", span
        )
        self.say(_("Last reviewed on {date}.").format(date=reviewed), "fact", span)


def script(doc: Document, locale: Locale, organisation: str) -> list[Sentence]:
    """The spoken script of a document, in reading order."""
    return _Script(doc, locale, organisation).build()
