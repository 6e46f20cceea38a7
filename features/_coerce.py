"""Raw bundle columns -> typed columns, keeping note of every cell that would not convert.

A CSV column arrives as text (pandas' pyarrow-backed strings); a Parquet column
may already be typed. Each converter accepts either and returns the typed values
(missing where the cell was blank or unconvertible), the blank cells and the
groups of non-blank cells that failed, so that the checks can report them with
row numbers and the offending text.

Clean data takes a fast path: pyarrow casts a whole column at once
(``pc.cast``/``pc.strptime``), which is one to two orders of magnitude faster
than ``pd.to_numeric`` on millions of strings. Only when that cast fails does
the slower, forgiving pandas parser run, to find which cells are at fault.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api import types as ptypes

from features.schemas import ColumnKind

TEXT_DTYPE = pd.StringDtype()
"""Ids, text and categories: pandas' nullable string dtype (pyarrow storage, ``pd.NA`` for blanks)."""

TRUE_WORDS = ("true", "t", "1", "1.0", "yes", "y", "si", "sí", "verdadero", "v")
FALSE_WORDS = ("false", "f", "0", "0.0", "no", "n", "falso")

# datetime64[ns] covers 1677-09-21 .. 2262-04-11; earlier dates cannot be held.
_EARLIEST = np.datetime64(pd.Timestamp.min.ceil("D").date(), "s")


@dataclass(frozen=True)
class Invalid:
    """Non-blank cells that did not convert, and how to describe them."""

    mask: np.ndarray
    singular: str
    plural: str
    hint: str = ""
    shown: pd.Series | None = None
    """What to show for the offending rows (default: the raw text)."""


@dataclass(frozen=True)
class Converted:
    """A column after conversion.

    ``values`` is typed (float64 for numbers, datetime64[s] for dates, nullable
    boolean, nullable string) with missing values where ``blank`` or an
    ``invalid`` mask is set; ``text`` holds the cells as read (stripped when
    the slow path ran), to quote offending values.
    """

    values: pd.Series
    blank: np.ndarray
    invalid: tuple[Invalid, ...]
    text: pd.Series


def convert(raw: pd.Series, kind: ColumnKind) -> Converted:
    """Convert one raw column to the representation the checks work on."""
    if kind in ("int", "float"):
        return _numbers(raw, whole=kind == "int")
    if kind == "date":
        return _dates(raw)
    if kind == "bool":
        return _booleans(raw)
    text = as_text(raw)
    return Converted(text, text.isna().to_numpy(), (), text)


def as_text(raw: pd.Series) -> pd.Series:
    """Stripped text with blank cells (empty or spaces only) as missing."""
    text = raw if isinstance(raw.dtype, pd.StringDtype) else raw.astype(TEXT_DTYPE)
    stripped = text.str.strip()
    return stripped.mask(stripped == "").astype(TEXT_DTYPE)


def looks_boolean(text: pd.Series) -> bool:
    """Whether every non-blank cell is a yes/no word (true/false, 1/0, sí/no...)."""
    words = text.dropna().str.lower()
    return bool(words.isin(TRUE_WORDS + FALSE_WORDS).all())


def to_boolean(text: pd.Series) -> pd.Series:
    """Yes/no words to nullable booleans (anything else missing)."""
    words = text.str.lower()
    truthy = words.isin(TRUE_WORDS).to_numpy(dtype=bool, na_value=False)
    falsy = words.isin(FALSE_WORDS).to_numpy(dtype=bool, na_value=False)
    values = pd.array(truthy, dtype="boolean")
    values[~(truthy | falsy)] = pd.NA
    return pd.Series(values, index=text.index)


def _numbers(raw: pd.Series, *, whole: bool) -> Converted:
    text, blank = raw, raw.isna().to_numpy()
    if _is_typed(raw, ptypes.is_numeric_dtype):
        values = raw.to_numpy(dtype="float64", na_value=np.nan)
    else:
        try:
            values = pc.cast(_arrow_text(raw), pa.float64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # slow path: find the bad cells
            text = as_text(raw)
            blank = text.isna().to_numpy()
            values = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    values = np.array(values, dtype="float64")  # a writable copy
    not_number = ~blank & ~np.isfinite(values)
    values[not_number] = np.nan
    invalid = [Invalid(not_number, "non-numeric value", "non-numeric values")]
    if whole:
        fractional = np.isfinite(values) & (values != np.floor(values))
        if fractional.any():
            shown = pd.Series(values.copy(), index=raw.index)
            values[fractional] = np.nan
            invalid.append(
                Invalid(
                    fractional,
                    "value that is not a whole number",
                    "values that are not whole numbers",
                    shown=shown,
                )
            )
    return Converted(pd.Series(values, index=raw.index), blank, tuple(invalid), text)


def _dates(raw: pd.Series) -> Converted:
    text, blank = raw, raw.isna().to_numpy()
    if ptypes.is_datetime64_any_dtype(raw.dtype):
        stamps = raw.dt.tz_localize(None) if getattr(raw.dt, "tz", None) is not None else raw
        values = _midnight(stamps.to_numpy(dtype="datetime64[s]"))
    elif raw.dtype == object:  # Parquet date32 columns arrive as datetime.date objects
        values = _midnight(pd.to_datetime(raw, errors="coerce").to_numpy(dtype="datetime64[s]"))
    else:
        parsed = pc.strptime(_arrow_text(raw), format="%Y-%m-%d", unit="s", error_is_null=True)
        values = np.array(parsed.to_numpy(zero_copy_only=False), dtype="datetime64[s]")
        if (~blank & np.isnat(values)).any():  # slow path: spaces, a time of day, or bad cells
            text = as_text(raw)
            blank = text.isna().to_numpy()
            retry = ~blank & np.isnat(values)
            again = pd.to_datetime(text[retry], format="ISO8601", errors="coerce", utc=True)
            values[retry] = _midnight(again.dt.tz_localize(None).to_numpy(dtype="datetime64[s]"))
    unparseable = ~blank & np.isnat(values)
    too_early = ~np.isnat(values) & (values < _EARLIEST)
    values[too_early] = np.datetime64("NaT")
    invalid = Invalid(
        unparseable | too_early,
        "value that is not a date",
        "values that are not dates",
        "; expected YYYY-MM-DD",
    )
    return Converted(pd.Series(values, index=raw.index), blank, (invalid,), text)


def _midnight(values: np.ndarray) -> np.ndarray:
    return values.astype("datetime64[D]").astype("datetime64[s]")


def _arrow_text(raw: pd.Series) -> pa.Array | pa.ChunkedArray:
    """The column as an arrow string array (zero-copy for pyarrow-backed text)."""
    text = raw if isinstance(raw.dtype, pd.StringDtype) else raw.astype(TEXT_DTYPE)
    return pa.array(text)


def _booleans(raw: pd.Series) -> Converted:
    if _is_typed(raw, ptypes.is_bool_dtype):
        text, values = raw, raw.astype("boolean")
    elif _is_typed(raw, ptypes.is_numeric_dtype):
        text, values = raw, raw.map({1: True, 0: False}).astype("boolean")
    else:
        try:  # true/false/1/0 in any case
            flags = pc.cast(_arrow_text(raw), pa.bool_()).to_numpy(zero_copy_only=False)
            text, values = raw, pd.Series(flags, index=raw.index, dtype="boolean")
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # slow path: sí/no words or bad cells
            text = as_text(raw)
            values = to_boolean(text)
    blank = text.isna().to_numpy()
    not_boolean = ~blank & values.isna().to_numpy()
    invalid = Invalid(not_boolean, "value that is not true/false", "values that are not true/false")
    return Converted(values, blank, (invalid,), text)


def _is_typed(raw: pd.Series, predicate: Callable[[Any], bool]) -> bool:
    """Whether a column already has a non-text dtype that ``predicate`` accepts (Parquet)."""
    return raw.dtype != object and not isinstance(raw.dtype, pd.StringDtype) and predicate(raw.dtype)


def final_dtype(values: pd.Series, kind: ColumnKind, *, nullable: bool) -> pd.Series:
    """The loader's output dtype for a column that passed every check."""
    if kind == "int":
        return values.astype("Int64" if nullable else "int64")
    if kind == "float":
        return values.astype("float64")
    if kind == "date":
        return values.astype("datetime64[ns]")
    if kind == "bool":
        return values.astype("boolean" if nullable else bool)
    return values.astype(TEXT_DTYPE)
