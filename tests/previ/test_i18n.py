"""The gettext catalogs: every message of the code translated in both languages, compiled as written.

The messages are extracted from the code and templates with Babel, as
``scripts/i18n`` does (``babel.cfg``), and compared with both catalogs: a
message the code shows must have a translation (not fuzzy, every plural form
filled) in Spanish and in English, with the placeholders of its id, and each
compiled ``.mo`` must hold exactly what its ``.po`` says.
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
import re
import string
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from previ.i18n import LANGUAGES, Language, mo_path, po_path, translation

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "i18n"
# What scripts/i18n passes to pybabel extract: the packages, and Plural(one, other) read as ngettext.
PACKAGES = re.search(r"-o \"\$LOCALES/previ.pot\" (?P<dirs>[a-z_ ]+)\n", SCRIPT.read_text())
KEYWORDS = {**DEFAULT_KEYWORDS, "Plural": (1, 2)}
Key = tuple[str | None, str | tuple[str, ...]]  # (context, id or (id, plural))


@cache
def extracted() -> frozenset[Key]:
    """Every message the code and templates mark, as Babel extracts it."""
    assert PACKAGES is not None and "-k Plural:1,2" in SCRIPT.read_text()
    with (ROOT / "babel.cfg").open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: set[Key] = set()
    for package in PACKAGES["dirs"].split():
        for _, _, message, _, context in extract_from_dir(
            str(ROOT / package), method_map, options_map, keywords=KEYWORDS
        ):
            found.add((context, tuple(message) if isinstance(message, list | tuple) else message))
    return frozenset(found)


@cache
def catalog(language: Language) -> Catalog:
    with po_path(language).open("rb") as source:
        return read_po(source, locale=language)


def untranslated(messages: Iterable[Key], catalog: Catalog) -> list[str]:
    """The messages ``catalog`` lacks, leaves fuzzy or leaves with an empty form."""
    problems = []
    for context, message in messages:
        entry = catalog.get(message[0] if isinstance(message, tuple) else message, context=context)
        forms = entry.string if entry is not None else ""
        forms = forms if isinstance(forms, tuple) else (forms,)
        if entry is None or entry.fuzzy or not all(forms):
            problems.append(f"{context or ''}|{message}")
    return problems


def placeholder_mismatches(catalog: Catalog) -> list[str]:
    """Translations whose ``{fields}`` are not those of their message id (plural: of either English form)."""
    problems = []
    for entry in catalog:
        if not entry.id:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        expected = _fields(ids[-1])
        allowed = set().union(*(_fields(text) for text in ids))
        for index, form in enumerate(forms):
            fields = _fields(form)
            if (
                not fields <= allowed
                or (index > 0 and fields != expected)
                or (len(ids) == 1 and fields != expected)
            ):
                problems.append(f"{ids[0]!r} -> {form!r}")
    return problems


def compiled_differences(catalog: Catalog, compiled: bytes) -> list[str]:
    """Messages whose compiled translation is not the source's (a .mo older than its .po).

    Only complete translations are compared: a compiler leaves out the others
    (fuzzy, or a form missing), which :func:`untranslated` reports.
    """
    read = gettext.GNUTranslations(io.BytesIO(compiled))
    table: dict[object, str] = read._catalog  # type: ignore[attr-defined]
    problems = []
    for entry in catalog:
        forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if not entry.id or entry.fuzzy or not all(forms):
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        key = ids[0] if entry.context is None else f"{entry.context}\x04{ids[0]}"
        if len(ids) > 1:
            written = tuple(table.get((key, index)) for index in range(len(forms)))
        else:
            written = (table.get(key),)
        if written != forms:
            problems.append(ids[0])
    return problems


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_of_the_code_is_translated(language: Language) -> None:
    messages = extracted()
    assert len(messages) > 500
    assert untranslated(messages, catalog(language)) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_catalog_keeps_a_message_the_code_no_longer_shows(language: Language) -> None:
    ids = {context_and_id[:2] for context_and_id in _catalog_keys(catalog(language))}
    code = {
        (context, message[0] if isinstance(message, tuple) else message) for context, message in extracted()
    }
    assert sorted(ids - code, key=str) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders_of_their_message(language: Language) -> None:
    assert placeholder_mismatches(catalog(language)) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_babel_finds_no_error_in_either_catalog(language: Language) -> None:
    # what pybabel compile checks: placeholders of %-formats and of {}-formats, and the plural forms
    assert [
        (message.id, [str(error) for error in errors]) for message, errors in catalog(language).check()
    ] == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_compiled_catalog_holds_what_its_source_says(language: Language) -> None:
    assert compiled_differences(catalog(language), mo_path(language).read_bytes()) == []


def test_the_catalog_checks_catch_what_they_are_for() -> None:
    spanish = Catalog(locale="es")
    spanish.add("Suggested referrals", "Canalizaciones sugeridas")
    spanish.add("Capacity: {capacity}", "Cupo: {cupo}")  # a renamed placeholder
    spanish.add("Fuzzy", "Difuso", flags=["fuzzy"])
    spanish.add(("{n} value", "{n} values"), ("{n} dato", "", "{n} datos"))  # a form left empty
    code: list[Key] = [(None, "Suggested referrals"), (None, "New message"), (None, "Fuzzy")]
    code.append((None, ("{n} value", "{n} values")))
    assert untranslated(code, spanish) == ["|New message", "|Fuzzy", "|('{n} value', '{n} values')"]
    assert placeholder_mismatches(spanish) == [
        "'Capacity: {capacity}' -> 'Cupo: {cupo}'",
        "'{n} value' -> ''",
    ]
    compiled = io.BytesIO()
    write_mo(compiled, spanish)
    assert compiled_differences(spanish, compiled.getvalue()) == []
    spanish["Suggested referrals"].string = "Derivaciones sugeridas"  # edited after compiling
    assert compiled_differences(spanish, compiled.getvalue()) == ["Suggested referrals"]


def test_a_catalog_is_read_once_per_process() -> None:
    assert translation("es") is translation("es")


def test_plural_forms_follow_each_languages_rule() -> None:
    spanish, english = translation("es"), translation("en")
    forms = {n: spanish.ngettext("{count} value", "{count} values", n, count=n) for n in (0, 1, 2, 1_000_000)}
    assert forms == {0: "0 datos", 1: "1 dato", 2: "2 datos", 1_000_000: "1000000 datos"}
    assert english.ngettext("{count} value", "{count} values", 1, count=1) == "1 value"
    assert english.ngettext("{count} value", "{count} values", 0, count=0) == "0 values"
    assert spanish.pgettext("button", "Declined") == "No aceptada"
    assert spanish.pgettext("places", "Declined") == "Rechazados"


def test_numbers_percentages_and_dates_follow_the_locale() -> None:
    spanish, english = translation("es"), translation("en")
    assert (spanish.integer(12_317), english.integer(12_317)) == ("12.317", "12,317")
    assert (spanish.decimal(0.0746, 3), english.decimal(0.0746, 3)) == ("0,075", "0.075")
    assert (spanish.decimal(-0.0001, 2), english.percent(-0.001)) == ("0,00", "0%")  # never "-0"
    assert (spanish.percent(0.183), english.percent(0.183)) == ("18\u00a0%", "18%")
    assert spanish.percent(0.0083, 1) == "0,8\u00a0%"
    assert spanish.significant(1.25) == "1,25" and english.significant(0.0015, 2) == "0.0015"
    assert spanish.integer(10**30) == str(10**30) and english.decimal(1e300, 1).endswith(".0")  # no crash
    day = dt.date(2026, 7, 1)
    assert (spanish.date(day), english.date(day)) == ("1 de julio de 2026", "July 1, 2026")
    assert (spanish.date(day, "medium"), english.date(day, "medium")) == ("1 jul 2026", "Jul 1, 2026")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalogs_speak_of_support_needs_never_of_dangerous_people(language: Language) -> None:
    words = " ".join(
        " ".join(entry.string) if isinstance(entry.string, tuple) else entry.string
        for entry in catalog(language)
    ).lower()
    for forbidden in ("peligros", "criminal", "delincuen", "dangerous", "offender", "riesgoso"):
        assert forbidden not in words


def _catalog_keys(catalog: Catalog) -> list[tuple[str | None, str]]:
    return [
        (entry.context, entry.id[0] if isinstance(entry.id, tuple) else entry.id)
        for entry in catalog
        if entry.id
    ]
