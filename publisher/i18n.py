"""Languages: translated fixed strings and locale-aware formatting, one object per language.

In: a language code. Out: a :class:`Locale` whose ``gettext`` returns the string in that language
(from the gettext catalogue ``publisher/locale/<lang>/LC_MESSAGES/messages.po``, compiled in
memory at build time with Babel) and whose ``date``/``money``/``number``/``time`` format values
by the language's conventions (Babel's CLDR data). A string missing from a catalogue falls back
to the default language (English source strings) and is recorded in ``missing``.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from babel import Locale as BabelLocale
from babel import dates, numbers
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"


def N_(message: str) -> str:
    """Mark a string for the translation catalogues; it is translated where it is shown."""
    return message


@functools.cache
def _catalog(lang: str) -> Catalog | None:
    po = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.is_file():
        return None
    with po.open("rb") as handle:
        return read_po(handle, locale=lang)


@functools.cache
def _translations(lang: str) -> Translations | None:
    catalog = _catalog(lang)
    if catalog is None:
        return None
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


@dataclass
class Locale:
    """Everything language-dependent that a writer needs, for one language."""

    code: str
    direction: str = "ltr"
    missing: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._translations = _translations(self.code)
        self._catalog = _catalog(self.code)
        self.babel = BabelLocale.parse(self.code.replace("-", "_"))

    def gettext(self, message: str) -> str:
        if self._catalog is not None:
            entry = self._catalog.get(message)
            if entry is not None and entry.string and not entry.fuzzy:
                return str(entry.string)
        if self.code != "en":
            self.missing.add(message)
        return message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        if self._translations is not None and self._catalog is not None:
            entry = self._catalog.get(singular)
            if entry is not None and entry.string and any(entry.string):
                return str(self._translations.ngettext(singular, plural, n))
        if self.code != "en":
            self.missing.add(singular)
        return singular if n == 1 else plural

    def date(self, value: dt.date, format: str = "long") -> str:
        return str(dates.format_date(value, format=format, locale=self.babel))

    def time(self, value: str) -> str:
        """A 'HH:MM' time in the language's convention (13:30, 1:30 PM, ١:٣٠ م …)."""
        hours, minutes = (int(part) for part in value.split(":"))
        if hours == 24:
            hours = 0
        return str(dates.format_time(dt.time(hours, minutes), format="short", locale=self.babel))

    def money(self, amount: float, currency: str) -> str:
        return str(
            numbers.format_currency(Decimal(str(amount)), currency, locale=self.babel)
        )

    def number(self, value: float) -> str:
        return str(numbers.format_decimal(value, locale=self.babel))

    def day_name(self, day: str, width: str = "wide") -> str:
        index = ("mo", "tu", "we", "th", "fr", "sa", "su").index(day)
        return str(self.babel.days["format"][width][index])

    def language_name(self, code: str) -> str:
        """The name of language ``code`` in its own language (autonym), for switchers."""
        return str(BabelLocale.parse(code).get_display_name(code) or code)
