"""Read and check the table to audit: the edge where bad input stops with a clear message.

Everything past :func:`prepare` trusts its arrays. Blank labels and blank
scores are errors, not silently dropped rows: dropping them would change the
population being audited without anyone noticing. Blank group values are kept
as a group of their own (``missing``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from fairness_audits.groups import group_labels_of
from previ.errors import PreviError

FILE_MISSING = "input: file {path} does not exist"
FILE_FORMAT = "input: {path} must be a .csv or .parquet file"
FILE_UNREADABLE = "input: could not read {path} ({reason})"
EMPTY_TABLE = "input: the table has no rows"
COLUMN_MISSING = "{role} column '{column}' is not in the table (columns: {available})"
COLUMN_REUSED = "group column '{column}' is also the {role} column; choose different columns"
COLUMN_REPEATED = "group column '{column}' is given more than once"
NO_GROUPS = "give at least one group column (--groups)"
LABEL_BLANK = (
    "label column '{column}' has {count} blank values; fill or remove those rows "
    "(an audit does not guess outcomes)"
)
LABEL_NOT_BINARY = "label column '{column}' must hold two values; found {count}: {examples}"
LABEL_TEXT = (
    "label column '{column}' holds text ({examples}); "
    "say which value means a support need with --positive VALUE"
)
LABEL_POSITIVE_ABSENT = "label column '{column}' has no value {positive!r} (values: {examples})"
LABEL_ONE_CLASS = "label column '{column}' has only the value {value!r}; an audit needs both outcomes"
SCORE_BLANK = "score column '{column}' has {count} blank values; fill or remove those rows"
SCORE_NOT_NUMERIC = (
    "score column '{column}' is not numeric: {count} values such as {example!r} are not numbers"
)
SCORE_NOT_FINITE = "score column '{column}' has {count} infinite values"
GROUP_ONE_VALUE = (
    "group column '{column}' has only one value ({value!r}); "
    "an audit compares groups, so it needs two or more"
)

ArrayT = TypeVar("ArrayT", bound=np.ndarray)

_TRUE_TEXT = frozenset({"1", "true", "1.0"})
_FALSE_TEXT = frozenset({"0", "false", "0.0"})


@dataclass(frozen=True)
class PreparedTable:
    """Checked arrays of the audit: who had a support need, their score and their groups."""

    label: npt.NDArray[np.bool_]
    score: npt.NDArray[np.float64]
    group_labels: dict[str, pd.Series]
    champion: npt.NDArray[np.float64] | None = None
    rank: npt.NDArray[np.float64] | None = None


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet file; raises :class:`PreviError` if it is missing or unreadable."""
    path = Path(path)
    if not path.exists():
        raise PreviError(FILE_MISSING.format(path=path))
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".parquet"}:
        raise PreviError(FILE_FORMAT.format(path=path))
    try:
        if suffix == ".csv":
            return pd.read_csv(path, low_memory=False)
        return pd.read_parquet(path)
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise PreviError(FILE_UNREADABLE.format(path=path, reason=error.__class__.__name__)) from error


def prepare(
    frame: pd.DataFrame,
    *,
    label: str,
    score: str,
    groups: Sequence[str],
    positive: str | None = None,
    champion: str | None = None,
    rank_by: str | None = None,
) -> PreparedTable:
    """Check the columns of ``frame`` and turn them into arrays.

    Raises
    ------
    PreviError
        One line per problem: a missing column, a label that is not binary or
        has blanks, a score that is not a finite number, a group column with a
        single value.
    """
    problems = _column_problems(frame, label=label, score=score, groups=groups)
    for role, column in (("champion", champion), ("rank", rank_by)):
        if column is not None and column not in frame.columns:
            problems.append(COLUMN_MISSING.format(role=role, column=column, available=_available(frame)))
    if problems:
        raise PreviError(*problems)
    if len(frame) == 0:
        raise PreviError(EMPTY_TABLE)
    problems = []
    labels = _collect(problems, lambda: _parse_label(frame[label], label, positive))
    scores = _collect(problems, lambda: _parse_score(frame[score], score))
    champion_scores = (
        _collect(problems, lambda: _parse_score(frame[champion], champion)) if champion is not None else None
    )
    rank = _collect(problems, lambda: _parse_score(frame[rank_by], rank_by)) if rank_by is not None else None
    group_labels = {column: group_labels_of(frame[column]) for column in groups}
    for column, values in group_labels.items():
        distinct = values.unique()
        if len(distinct) < 2:
            problems.append(GROUP_ONE_VALUE.format(column=column, value=distinct[0]))
    if problems or labels is None or scores is None:
        raise PreviError(*problems)
    return PreparedTable(
        label=labels, score=scores, group_labels=group_labels, champion=champion_scores, rank=rank
    )


def _available(frame: pd.DataFrame) -> str:
    available = ", ".join(str(column) for column in frame.columns[:20])
    return available + (", ..." if len(frame.columns) > 20 else "")


def _column_problems(frame: pd.DataFrame, *, label: str, score: str, groups: Sequence[str]) -> list[str]:
    available = _available(frame)
    problems = []
    for role, column in (("label", label), ("score", score), *(("group", group) for group in groups)):
        if column not in frame.columns:
            problems.append(COLUMN_MISSING.format(role=role, column=column, available=available))
    if not groups:
        problems.append(NO_GROUPS)
    for group in dict.fromkeys(groups):
        if list(groups).count(group) > 1:
            problems.append(COLUMN_REPEATED.format(column=group))
        for role, column in (("label", label), ("score", score)):
            if group == column:
                problems.append(COLUMN_REUSED.format(column=group, role=role))
    return problems


def _collect(problems: list[str], parse: Callable[[], ArrayT]) -> ArrayT | None:
    """Run ``parse`` and turn a PreviError into lines of ``problems`` (so all columns are reported)."""
    try:
        return parse()
    except PreviError as error:
        problems.extend(error.lines)
        return None


def _parse_label(series: pd.Series, column: str, positive: str | None) -> npt.NDArray[np.bool_]:
    text = series.astype("string").str.strip()
    blank = text.isna() | (text == "")
    if blank.any():
        raise PreviError(LABEL_BLANK.format(column=column, count=int(blank.sum())))
    distinct = sorted(text.unique())
    examples = ", ".join(repr(value) for value in distinct[:5])
    if len(distinct) > 2:
        raise PreviError(LABEL_NOT_BINARY.format(column=column, count=len(distinct), examples=examples))
    if positive is not None:
        is_positive = _matches(series, text, str(positive))
        if not is_positive.any():
            raise PreviError(
                LABEL_POSITIVE_ABSENT.format(column=column, positive=positive, examples=examples)
            )
    elif pd.api.types.is_bool_dtype(series.dtype):
        is_positive = series.to_numpy(dtype=bool)
    else:
        lowered = text.str.lower()
        known = lowered.isin(_TRUE_TEXT | _FALSE_TEXT)
        if not known.all():
            raise PreviError(LABEL_TEXT.format(column=column, examples=examples))
        is_positive = lowered.isin(_TRUE_TEXT).to_numpy(dtype=bool)
    if is_positive.all() or not is_positive.any():
        raise PreviError(LABEL_ONE_CLASS.format(column=column, value=distinct[0]))
    return np.asarray(is_positive, dtype=bool)


def _matches(series: pd.Series, text: pd.Series, positive: str) -> npt.NDArray[np.bool_]:
    """Rows whose label equals ``positive``: numerically for numeric columns, else as text."""
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        try:
            return np.asarray(series.to_numpy(dtype=float) == float(positive))
        except ValueError:
            return np.zeros(len(series), dtype=bool)
    return np.asarray((text == positive.strip()).to_numpy(dtype=bool))


def _parse_score(series: pd.Series, column: str) -> npt.NDArray[np.float64]:
    if pd.api.types.is_bool_dtype(series.dtype):
        raise PreviError(SCORE_NOT_NUMERIC.format(column=column, count=len(series), example=series.iloc[0]))
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        blank = np.isnan(values)
    else:
        text = series.astype("string").str.strip()
        blank = (text.isna() | (text == "")).to_numpy(dtype=bool)
        values = pd.to_numeric(text.where(~blank), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        not_numeric = np.isnan(values) & ~blank
        if not_numeric.any():
            example = text[not_numeric].iloc[0]
            raise PreviError(
                SCORE_NOT_NUMERIC.format(column=column, count=int(not_numeric.sum()), example=example)
            )
    if blank.any():
        raise PreviError(SCORE_BLANK.format(column=column, count=int(blank.sum())))
    infinite = np.isinf(values)
    if infinite.any():
        raise PreviError(SCORE_NOT_FINITE.format(column=column, count=int(infinite.sum())))
    return values.astype(np.float64)
