"""Raw columns of a flat table -> what they hold: numbers, yes/no, dates, categories or text.

Every text column is first reduced to :class:`Cells`: integer codes into its
distinct stripped values (its *levels*). Parsing numbers and dates, testing for
yes/no words and counting levels then work on the few distinct values rather
than on every row, and results go back to the rows by indexing with the codes,
so a column of millions of rows with a dozen distinct values costs a dozen
parses.

The rules (thresholds are module constants, documented in
:func:`training.table.read_flat_table`):

* blank cells (empty, spaces, or a written-out missing value such as ``nan`` or
  ``NULL``) are missing values;
* numbers may use a decimal comma (``0,75``) and thousands separators
  (``1.234,5``, ``1,234.5``); a column is numeric when at least
  :data:`NUMERIC_SHARE` of its non-blank cells are numbers;
* a column whose non-blank cells are all yes/no words becomes 1.0/0.0;
* a column whose non-blank cells are at least :data:`DATE_SHARE` dates is a
  date column (dates are not features);
* other text is a category, unless it has more than :data:`MAX_LEVELS` levels
  or (from :data:`MIN_ROWS_FOR_SHARE` cells) more than
  :data:`MAX_UNIQUE_SHARE` of its cells are different: then it is an id or
  free text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from sklearn.metrics import roc_auc_score

from features._coerce import FALSE_WORDS, TRUE_WORDS

BLANK_WORDS = frozenset({"nan", "na", "n/a", "#n/a", "null", "none", "<na>", "nat"})
"""Written-out missing values (compared in lower case), as pandas and spreadsheets write them."""
NUMERIC_SHARE = 0.95
DATE_SHARE = 0.95
MAX_LEVELS = 50
MAX_UNIQUE_SHARE = 0.5
MIN_ROWS_FOR_SHARE = 20
LEAK_AUC = 0.95
"""A single feature that ranks the label this well almost surely describes the outcome itself."""

DATE_FORMATS = (
    "ISO8601",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%d-%b-%Y",
    "%d/%b/%Y",
    "%d %b %Y",
    "%d/%m/%y",
    "%d-%b-%y",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%Y/%m/%d",
)
"""Tried in this order; the format that reads the most cells wins (ties: the earlier, so day first)."""
DATE_SAMPLE_LEVELS = 1_000
# datetime64[ns] holds 1677-09-21 .. 2262-04-11; a date outside is a typo, not a date we can use.
_EARLIEST, _LATEST = pd.Timestamp("1678-01-01"), pd.Timestamp("2262-01-01")
_ES_THOUSANDS = r"[+-]?\d{1,3}(?:\.\d{3})+(?:,\d*)?"
_EN_THOUSANDS = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?"
_EN_WITH_DECIMALS = r"[+-]?\d{1,3}(?:,\d{3})+\.\d+"

Kind = Literal["number", "boolean", "category", "date", "empty", "constant", "high_cardinality"]


@dataclass(frozen=True)
class Cells:
    """A column as codes into its distinct values: ``codes[i] == -1`` for a blank cell."""

    codes: np.ndarray
    levels: pd.Series
    """Distinct non-blank values, stripped and NFC-normalised, in order of first appearance."""

    @property
    def blank(self) -> np.ndarray:
        return self.codes < 0

    @property
    def counts(self) -> np.ndarray:
        """Cells per level."""
        return np.bincount(self.codes[self.codes >= 0], minlength=len(self.levels))

    def take(self, per_level: np.ndarray, fill: object) -> np.ndarray:
        """One value per row from one value per level; ``fill`` for blank cells."""
        return np.append(per_level, np.array([fill], dtype=per_level.dtype))[self.codes]

    def examples(self, level_mask: np.ndarray, limit: int = 3) -> list[str]:
        """The most frequent levels among ``level_mask``, for messages."""
        counts = np.where(level_mask, self.counts, 0)
        order = np.argsort(-counts, kind="stable")
        return [str(self.levels.iloc[i]) for i in order[:limit] if counts[i] > 0]


@dataclass(frozen=True)
class FeatureColumn:
    """What a raw column turned out to be; ``values`` is set only for kept features."""

    kind: Kind
    values: pd.Series | None = None
    not_numbers: int = 0
    """Non-blank cells of a numeric column that were not numbers (now missing)."""
    examples: tuple[str, ...] = ()
    levels: int = 0


def to_cells(raw: pd.Series) -> Cells:
    """Reduce a column of any dtype to codes into its distinct stripped, non-blank values."""
    raw_codes, raw_uniques = pd.factorize(raw, use_na_sentinel=True)
    text = pd.Series(raw_uniques, dtype=object).astype("string").str.strip().str.normalize("NFC")
    text = text.mask(text.isna() | (text == "") | text.str.lower().isin(BLANK_WORDS))
    level_codes, levels = pd.factorize(text, use_na_sentinel=True)
    codes = np.append(level_codes, -1)[raw_codes]
    return Cells(codes=codes.astype(np.intp), levels=pd.Series(levels, dtype="string"))


def classify(raw: pd.Series) -> FeatureColumn:
    """Decide what a raw column is and convert it to a feature (float64 or category) when it is one."""
    if ptypes.is_bool_dtype(raw.dtype) or (
        ptypes.is_numeric_dtype(raw.dtype) and not isinstance(raw.dtype, pd.CategoricalDtype)
    ):
        return _kept_or_constant("number", raw.astype("float64"))
    if ptypes.is_datetime64_any_dtype(raw.dtype):
        return FeatureColumn("date")
    cells = to_cells(raw)
    if not len(cells.levels):
        return FeatureColumn("empty")
    nonblank = int(cells.counts.sum())
    numbers = parse_numbers(cells.levels)
    parsed = np.isfinite(numbers)
    if cells.counts[parsed].sum() >= NUMERIC_SHARE * nonblank:
        values = pd.Series(cells.take(numbers, np.nan), index=raw.index, dtype="float64")
        kept = _kept_or_constant("number", values)
        if kept.values is None:
            return kept
        failed = ~parsed
        return FeatureColumn(
            "number",
            kept.values,
            not_numbers=int(cells.counts[failed].sum()),
            examples=tuple(cells.examples(failed)),
        )
    words = cells.levels.str.lower()
    if words.isin(TRUE_WORDS + FALSE_WORDS).all():
        flags = words.isin(TRUE_WORDS).to_numpy(dtype="float64")
        return _kept_or_constant("boolean", pd.Series(cells.take(flags, np.nan), index=raw.index))
    dates = parse_dates(cells)
    if cells.counts[~np.isnat(dates)].sum() >= DATE_SHARE * nonblank:
        return FeatureColumn("date")
    levels = len(cells.levels)
    if levels > MAX_LEVELS or (nonblank >= MIN_ROWS_FOR_SHARE and levels > MAX_UNIQUE_SHARE * nonblank):
        return FeatureColumn("high_cardinality", levels=levels)
    return _kept_or_constant("category", _categories(cells, raw.index))


def parse_numbers(levels: pd.Series) -> np.ndarray:
    """Each level as a number (NaN where it is not one), reading the column's decimal mark.

    The decimal mark is the comma when some value has a comma and none is
    written ``1,234.5``; then dots are thousands separators in ``1.234`` or
    ``1.234,5``, and a value with a stray decimal point (``0.75``) is still
    read. Otherwise commas are thousands separators in ``1,234`` or
    ``1,234.5``, and ``0,75`` is not a number.
    """
    if not len(levels):
        return np.empty(0, dtype="float64")
    comma_decimal = bool(levels.str.contains(",", regex=False).any()) and not bool(
        levels.str.fullmatch(_EN_WITH_DECIMALS).any()
    )
    if comma_decimal:
        grouped = levels.str.fullmatch(_ES_THOUSANDS).to_numpy(dtype=bool)
        plain = levels.where(~grouped, levels.str.replace(".", "", regex=False))
        plain = plain.str.replace(",", ".", regex=False)
    else:
        grouped = levels.str.fullmatch(_EN_THOUSANDS).to_numpy(dtype=bool)
        plain = levels.where(~grouped, levels.str.replace(",", "", regex=False))
    numbers = np.array(pd.to_numeric(plain.astype(object), errors="coerce"), dtype="float64")  # writable
    numbers[~np.isfinite(numbers)] = np.nan
    return numbers


def parse_dates(cells: Cells) -> np.ndarray:
    """Each level as a datetime64[ns] (NaT where it is not a date) in the format that reads most cells.

    The format is chosen on the first :data:`DATE_SAMPLE_LEVELS` levels, then
    applied to all: trying every format on every level of a free-text column
    would cost more than the rest of the reading put together.
    """
    levels = cells.levels.to_numpy(dtype=object)
    best = np.full(len(levels), np.datetime64("NaT"), dtype="datetime64[ns]")
    if not cells.levels.str.contains(r"\d", regex=True).any():
        return best
    sample, sample_counts = levels[:DATE_SAMPLE_LEVELS], cells.counts[:DATE_SAMPLE_LEVELS]
    best_format, best_count = None, 0
    for date_format in DATE_FORMATS:
        count = int(sample_counts[~np.isnat(_dates_in(sample, date_format))].sum())
        if count > best_count:
            best_format, best_count = date_format, count
    return best if best_format is None else _dates_in(levels, best_format)


def _dates_in(levels: np.ndarray, date_format: str) -> np.ndarray:
    stamps = pd.to_datetime(levels, format=date_format, errors="coerce", utc=True).tz_convert(None)
    in_range = np.asarray((stamps >= _EARLIEST) & (stamps < _LATEST), dtype=bool)  # False for NaT
    return np.asarray(stamps.where(in_range).to_numpy(dtype="datetime64[ns]"))


def separation_auc(values: pd.Series, label: np.ndarray) -> float:
    """How well one feature alone ranks the label (0.5 = not at all, 1.0 = perfectly), missing included.

    A category is scored by its levels' positive rates (the best ordering of
    levels); a number by its value with missing cells placed lowest, then
    highest, keeping the better. Either direction counts.
    """
    if len(np.unique(label)) < 2:
        return 0.5
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        rates = pd.Series(label).groupby(codes).transform("mean").to_numpy(dtype="float64")
        candidates = [rates]
    else:
        numbers = values.to_numpy(dtype="float64", na_value=np.nan)
        missing = np.isnan(numbers)
        candidates = [np.where(missing, -np.inf, numbers), np.where(missing, np.inf, numbers)]
    aucs = [float(roc_auc_score(label, np.nan_to_num(scores))) for scores in candidates]
    return max(max(auc, 1.0 - auc) for auc in aucs)


def _categories(cells: Cells, index: pd.Index) -> pd.Series:
    """A pandas category with levels sorted, so that the same file always gives the same codes."""
    order = np.argsort(cells.levels.to_numpy(dtype=object), kind="stable")
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order))
    codes = np.append(rank, -1)[cells.codes]
    categories = pd.Index(cells.levels.to_numpy(dtype=object)[order])
    return pd.Series(pd.Categorical.from_codes(codes, categories=categories), index=index)


def _kept_or_constant(kind: Kind, values: pd.Series) -> FeatureColumn:
    if values.nunique(dropna=False) > 1:
        return FeatureColumn(kind, values)
    present = values.dropna()
    if present.empty:
        return FeatureColumn("empty")
    value = present.iloc[0]
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    return FeatureColumn("constant", examples=(shown,))
