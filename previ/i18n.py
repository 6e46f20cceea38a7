"""Words for people, in Spanish and English: gettext catalogs, plural forms, and numbers and dates by locale.

Every sentence previ shows a person (the service's messages and pages, the
reason sentences of the feature registry, the fairness report, the model card)
is an English message id in the code, marked with ``gettext``, ``ngettext``,
``pgettext`` or :func:`N_`, and translated in one catalog per language:
``previ/locale/<language>/LC_MESSAGES/previ.po``, the file a translator edits,
compiled to ``previ.mo``, the file read at run time. Both are committed, so a
fresh ``pip install`` needs no build step; ``scripts/i18n`` extracts the
messages with Babel (``babel.cfg``), updates both catalogs and compiles them,
and ``tests/previ/test_i18n.py`` fails when a message lacks a translation in
either language or a compiled catalog is older than its source. Spanish is the
default language; the English catalog carries the English wording.

Placeholders are :meth:`str.format` fields (``{count}``), filled after the
lookup; a count that chooses a plural form is passed both as ``n`` and as a
field. Plural forms follow each catalog's ``Plural-Forms`` header (CLDR's rules
through Babel), never a hand-written ``== 1``.

A catalog is read once per process (:func:`translation` is cached): a lookup
is a dictionary access, cheap enough for every request.
"""

from __future__ import annotations

import datetime as dt
import decimal
import gettext as _gettext
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final, Literal

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

from previ.errors import PreviError

__all__ = [
    "DEFAULT_LANGUAGE",
    "DOMAIN",
    "LANGUAGES",
    "LOCALE_DIR",
    "N_",
    "Language",
    "Plural",
    "Translation",
    "mo_path",
    "po_path",
    "translation",
]

Language = Literal["es", "en"]
LANGUAGES: Final[tuple[Language, ...]] = ("es", "en")
DEFAULT_LANGUAGE: Final[Language] = "es"
DOMAIN: Final = "previ"
LOCALE_DIR: Final = Path(__file__).resolve().parent / "locale"
NO_CATALOG = "previ: the {language} catalog {path} is missing; run scripts/i18n compile (or reinstall previ)"


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it (it is translated where it is shown)."""
    return message


@dataclass(frozen=True)
class Plural:
    """A message whose words agree with a number: its English ``one`` and ``other`` forms.

    ``Plural(...)`` is marked for extraction like ``ngettext`` (``-k Plural:1,2``,
    see ``scripts/i18n``): each catalog holds as many forms as its language's
    plural rule has, and the rule picks one for the number.
    """

    one: str
    other: str

    def text(self, n: int, language: Language, /, **values: object) -> str:
        """The form that agrees with ``n`` in ``language``, its fields filled with ``values``."""
        return translation(language).ngettext(self.one, self.other, n, **values)


def po_path(language: Language) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(language: Language) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"


class Translation:
    """One language's catalog and locale: messages with their plural forms, and numbers and dates.

    A message the catalog lacks comes back as its English id (a test makes sure
    none is lacking). Values fill the translated text's ``{fields}``.
    """

    def __init__(self, language: Language, catalog: _gettext.GNUTranslations) -> None:
        self.language: Language = language
        self.locale = Locale.parse(language)
        self._catalog = catalog
        self._percent_pattern: str = self.locale.percent_formats[None].pattern
        self._decimal_mark: str = self.locale.number_symbols["latn"]["decimal"]

    def gettext(self, message: str, /, **values: object) -> str:
        """``message`` in this language, its fields filled with ``values``."""
        return _filled(self._catalog.gettext(message), values)

    def ngettext(self, singular: str, plural: str, n: int, /, **values: object) -> str:
        """The form that agrees with the count ``n`` (in this language's plural rule), filled."""
        return _filled(self._catalog.ngettext(singular, plural, n), values)

    def pgettext(self, context: str, message: str, /, **values: object) -> str:
        """``message`` as meant in ``context`` (one English word, two Spanish ones), filled."""
        return _filled(self._catalog.pgettext(context, message), values)

    def npgettext(self, context: str, singular: str, plural: str, n: int, /, **values: object) -> str:
        return _filled(self._catalog.npgettext(context, singular, plural, n), values)

    def integer(self, value: int) -> str:
        """A whole number with the locale's grouping: "12.317" in Spanish, "12,317" in English."""
        try:
            return format_decimal(value, format="#,##0", locale=self.locale)
        except decimal.InvalidOperation:  # beyond the 28 digits of Babel's decimal context
            return str(value)

    def decimal(self, value: float, digits: int) -> str:
        """A number with ``digits`` decimals and the locale's marks ("0,075" / "0.075"), never "-0"."""
        pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
        try:
            return format_decimal(round(value, digits) + 0.0, format=pattern, locale=self.locale)
        except decimal.InvalidOperation:  # beyond the 28 digits of Babel's decimal context
            return f"{value:.{digits}f}".replace(".", self._decimal_mark)

    def significant(self, value: float, digits: int = 6) -> str:
        """``value`` to ``digits`` significant digits, as ``:g`` writes it but with the locale's marks."""
        written = f"{value:.{digits}g}"
        if not any(character.isdigit() for character in written) or "e" in written:  # nan, inf, 1e-05
            return written.replace(".", self._decimal_mark)
        decimals = len(written.partition(".")[2])
        return self.decimal(float(written), decimals)

    def percent(self, fraction: float, digits: int = 0) -> str:
        """A share as a percentage in the locale's form ("18 %" in Spanish, "18%" in English), never "-0"."""
        pattern = self._percent_pattern
        if digits > 0:  # the locale's pattern ("#,##0 %") with its decimals: "#,##0.0 %"
            head, _, tail = pattern.rpartition("0")
            pattern = f"{head}0.{'0' * digits}{tail}"
        shown = round(100 * fraction, digits) / 100 + 0.0  # rounded as 100 * fraction is, without "-0"
        try:
            return format_percent(shown, format=pattern, locale=self.locale)
        except decimal.InvalidOperation:  # beyond the 28 digits of Babel's decimal context
            return f"{100 * fraction:.{digits}f}".replace(".", self._decimal_mark) + "%"

    def date(self, value: dt.date, style: Literal["short", "medium", "long"] = "long") -> str:
        """A date in words: "1 de julio de 2026" / "July 1, 2026" (``long``), "1 jul 2026" (``medium``)."""
        return format_date(value, format=style, locale=self.locale)


@cache
def translation(language: Language) -> Translation:
    """The compiled catalog of ``language``, read once per process."""
    path = mo_path(language)
    try:
        with path.open("rb") as compiled:
            catalog = _gettext.GNUTranslations(compiled)
    except FileNotFoundError:
        raise PreviError(NO_CATALOG.format(language=language, path=path)) from None
    return Translation(language, catalog)


def _filled(template: str, values: dict[str, object]) -> str:
    return template.format(**values) if values else template
