"""A data scientist's flat table -> :class:`~training.dataset.TrainingSet`, for ``previ train --table``.

One row per young person (or per person and date, with a time column), one
column per variable, exported from whatever system holds the records: messy as
such files are. :func:`read_flat_table` reads it without asking about encoding,
delimiter or number format, decides what each column holds, and says in
``TrainingSet.warnings`` everything it dropped or guessed, so that the command
line can print it. Problems the user must fix (a column that does not exist, a
label that is not binary, repeated ids) raise one :class:`PreviError` listing
every problem found at that step.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Sequence
from fnmatch import fnmatchcase
from pathlib import Path

import numpy as np
import pandas as pd

from previ.errors import PreviError
from training._table_columns import (
    LEAK_AUC,
    Cells,
    classify,
    parse_dates,
    parse_numbers,
    separation_auc,
    to_cells,
)
from training._table_read import read_raw_table
from training.dataset import TrainingSet
from training.proxies import PROXY_CRAMERS_V, cramers_v

__all__ = ["MISSING_GROUP", "read_flat_table"]

MISSING_GROUP = "missing"
"""Group value of a blank cell in a group column: the fairness audits' own name for it
(``fairness_audits.groups.MISSING_VALUE``), so that blanks form one group in every audit."""

MISSING_COLUMN = "{option}: column '{column}' not found in {name}{hint}"
ROLE_CONFLICT = "column '{column}' is given both as {first} and as {second}"
LABEL_TEXT = (
    "--label: column '{column}' holds text (values: {values}); "
    "pass --positive VALUE to say which value means the outcome happened"
)
LABEL_NOT_BINARY = (
    "--label: column '{column}' has values {values}; expected 0/1 or true/false "
    "(or pass --positive VALUE to count one value as positive and the others as negative)"
)
LABEL_EMPTY = "--label: column '{column}' has no values"
LABEL_ONE_CLASS = (
    "--label: column '{column}' has a single class among the labelled rows ({values}); a model needs both"
)
POSITIVE_NOT_FOUND = (
    "--positive: {positive!r} is not a value of column '{column}' (values: {values}); "
    "the comparison ignores case but not accents"
)
ID_BLANK = "--id: column '{column}' is blank in {count} row(s); every row needs an id"
DUPLICATE_IDS = (
    "--id: {count} id(s) of column '{column}' appear on more than one row (e.g. {examples}); "
    "without --time each row must be a different person"
)
DUPLICATE_ID_TIMES = (
    "--id/--time: {count} pair(s) of '{column}' and '{time}' appear on more than one row (e.g. {examples})"
)
TIME_NOT_DATES = (
    "--time: column '{column}' has {count} value(s) that are not dates (e.g. {examples}); "
    "expected YYYY-MM-DD or DD/MM/YYYY"
)
TIME_BLANK = "--time: column '{column}' is blank in {count} row(s); every row needs a date"
NO_FEATURES = (
    "--table: no feature column left in {name} once the --label, --id, --time, --group and --exclude "
    "columns and the dropped columns are set aside"
)

LABEL_BLANK = "--label: dropped {count} row(s) with no value in '{column}'"
LABEL_NEGATIVES = (
    "--label: values of '{column}' counted as negative (0): {values}; only {positive!r} is positive"
)
EXCLUDE_UNUSED = "--exclude: pattern '{pattern}' matches no column (patterns are case-sensitive)"
NOT_NUMBERS = (
    "{column}: read as numbers; {count} value(s) that are not numbers read as missing (e.g. {examples})"
)
DROPPED = {
    "date": "dropped date column {column} (a date is not a feature; pass it as --time if it dates the row)",
    "empty": "dropped empty column {column} (no values)",
    "constant": "dropped constant column {column} (every row is {value})",
    "high_cardinality": (
        "dropped column {column}: {levels} different values, too many for a category (an id or free text?); "
        "group them into fewer values to use it"
    ),
}
LEAK = (
    "{column} alone ranks the label with AUC {auc:.2f}: if it describes the outcome, "
    "exclude it with --exclude"
)

_TRUE_FALSE = ("true", "false")


def read_flat_table(
    path: Path | str,
    *,
    label: str,
    id_column: str,
    time: str | None = None,
    groups: Sequence[str] = (),
    exclude: Sequence[str] = (),
    positive: str | None = None,
) -> TrainingSet:
    """Read a flat CSV or Parquet table into the training set that ``previ train`` consumes.

    Parameters
    ----------
    path : Path
        ``.csv`` or ``.parquet``. A CSV may be UTF-8 (with or without BOM),
        else it is read as cp1252/latin-1 (with a warning); its delimiter is
        ``,``, ``;`` or tab, whichever splits the header into most fields.
    label : str
        The outcome column. 0/1 numbers or true/false are used as they are; any
        other text needs ``positive``. Rows with a blank label are dropped (a
        warning gives the count).
    id_column : str
        The person's id, returned as text in ``ids``; never a feature. Without
        ``time`` each id must appear once; with it, each (id, time) pair.
    time : str, optional
        The date of each row (ISO or DD/MM/YYYY and a few other day-first
        forms), returned as datetime64[ns]; never a feature. Every row must
        have a valid date.
    groups : sequence of str
        Audit-only columns, returned as text in ``groups`` (blank cells become
        ``"missing"``, the audits' name for them); never features.
    exclude : sequence of str
        Case-sensitive glob patterns (``V1[0-3][0-9]_*``) of columns that must
        not be features, e.g. those that describe the outcome. They never apply
        to the columns above.
    positive : str, optional
        The label value that means the outcome happened. Compared after
        stripping spaces, ignoring case but not accents (``"sí"`` matches
        ``"Sí"``, ``"si"`` does not); every other non-blank value is 0.

    Returns
    -------
    TrainingSet
        Every other column as a feature (float64 or category), ``monotone`` 0
        for all (the direction is unknown), no registry, ``source="table"``,
        ``horizon_days=None``, and one warning per thing dropped or guessed.

    Notes
    -----
    Blank cells are empty, spaces, or written-out missing values (``nan``,
    ``NA``, ``NULL``...). Each remaining column is, in this order:

    * numeric when at least 95% of its non-blank cells are numbers, read with
      a decimal comma (``0,75``, ``1.234,5``) when the column has commas and
      none written ``1,234.5``; the other cells become NaN, with a warning;
    * yes/no (``Sí``/``No``, ``true``/``false``...) when every non-blank cell
      is a yes/no word: 1.0/0.0;
    * a date column when at least 95% of its non-blank cells are dates in one
      format: dropped with a warning;
    * an id or free text when it has more than 50 levels, or more than half of
      its cells (from 20 cells on) are different: dropped with a warning;
    * otherwise a category, its levels sorted.

    Columns left with a single value (missing counts as one) are dropped with a
    warning. A feature that alone ranks the label with ROC AUC of 0.95 or more
    is kept but warned about: it most likely describes the outcome.

    Raises
    ------
    PreviError
        If the file cannot be read; if a named column is missing (every one,
        with the closest names) or named in two roles; if the label is not
        binary, is text without ``positive``, or ``positive`` is not one of its
        values; if ids are blank or repeated; if a time is blank or not a date;
        if no feature column is left.
    """
    path = Path(path)
    raw_table = read_raw_table(path)
    frame = raw_table.frame
    warnings = list(raw_table.warnings)
    roles = _roles(label=label, id_column=id_column, time=time, groups=groups)
    _check_columns(frame, roles, path.name)

    label_values = _label(frame[label], label, positive, warnings)
    labelled = ~np.isnan(label_values)
    if not labelled.all():
        warnings.append(LABEL_BLANK.format(count=int((~labelled).sum()), column=label))
        frame = frame.loc[labelled].reset_index(drop=True)
    target = label_values[labelled].astype(np.int8)

    ids = _ids(frame[id_column], id_column)
    times = None if time is None else _times(frame[time], time)
    _check_unique(ids, times, id_column, time)

    warnings += [
        EXCLUDE_UNUSED.format(pattern=pattern)
        for pattern in exclude
        if not any(fnmatchcase(str(column), pattern) for column in frame.columns)
    ]
    dropped: list[tuple[str, str]] = []
    features = _features(frame.drop(columns=list(roles)), exclude, target, warnings, dropped)
    if features.empty:
        raise PreviError(NO_FEATURES.format(name=path.name))
    group_frame = _groups(frame, groups)
    return TrainingSet(
        features=features,
        label=target,
        ids=ids,
        groups=group_frame,
        time=times,
        registry={},
        monotone=dict.fromkeys(features.columns, 0),
        horizon_days=None,
        source="table",
        warnings=tuple(warnings),
        excluded=tuple(_with_proxy_figure(dropped, frame, group_frame)),
    )


def _with_proxy_figure(
    dropped: list[tuple[str, str]], frame: pd.DataFrame, groups: pd.DataFrame
) -> list[tuple[str, str]]:
    """Why each dropped column is not a feature; a text column that also mirrors a protected
    column says so (a nationality spelled out is a proxy of a nationality group, whatever its levels)."""
    described = []
    for column, why in dropped:
        text = frame[column].astype("string")
        strongest = max(
            ((cramers_v(text, groups[group].to_numpy(dtype=object)), group) for group in groups.columns),
            default=(0.0, ""),
        )
        if strongest[0] >= PROXY_CRAMERS_V:
            why = f"proxy: alone predicts {strongest[1]} with Cramér's V {strongest[0]:.2f}; {why}"
        described.append((column, why))
    return described


def _roles(*, label: str, id_column: str, time: str | None, groups: Sequence[str]) -> dict[str, str]:
    """Each role column and the option that named it; a column named twice is an error."""
    named = [("--label", label), ("--id", id_column)]
    named += [("--time", time)] if time is not None else []
    named += [("--group", group) for group in groups]
    roles: dict[str, str] = {}
    problems = []
    for option, column in named:
        if column in roles:
            problems.append(ROLE_CONFLICT.format(column=column, first=roles[column], second=option))
        else:
            roles[column] = option
    if problems:
        raise PreviError(*problems)
    return roles


def _check_columns(frame: pd.DataFrame, roles: dict[str, str], name: str) -> None:
    columns = [str(column) for column in frame.columns]
    problems = []
    for column, option in roles.items():
        if column not in columns:
            close = _closest(column, columns)
            hint = f" (closest: {', '.join(repr(match) for match in close)})" if close else ""
            problems.append(MISSING_COLUMN.format(option=option, column=column, name=name, hint=hint))
    if problems:
        raise PreviError(*problems)


def _closest(column: str, columns: list[str]) -> list[str]:
    """Up to three existing names close to ``column``, ignoring case."""
    lowered = {existing.lower(): existing for existing in columns}
    matches = difflib.get_close_matches(column.lower(), list(lowered), n=3, cutoff=0.6)
    return [lowered[match] for match in matches]


def _label(raw: pd.Series, column: str, positive: str | None, warnings: list[str]) -> np.ndarray:
    """1.0/0.0 per row, NaN where the label is blank."""
    cells = to_cells(raw)
    if not len(cells.levels):
        raise PreviError(LABEL_EMPTY.format(column=column))
    values = _quoted(cells.levels)
    if positive is not None:
        is_positive = _positive_levels(cells, positive)
        if not is_positive.any():
            raise PreviError(POSITIVE_NOT_FOUND.format(positive=positive, column=column, values=values))
        negatives = cells.levels[~is_positive]
        if len(negatives) > 1:
            warnings.append(
                LABEL_NEGATIVES.format(column=column, values=_quoted(negatives), positive=positive)
            )
        per_level = is_positive.astype("float64")
    else:
        numbers = parse_numbers(cells.levels)
        words = cells.levels.str.lower()
        if np.isfinite(numbers).all():
            per_level = numbers
        elif words.isin(_TRUE_FALSE).all():
            per_level = (words == "true").to_numpy(dtype="float64")
        else:
            raise PreviError(LABEL_TEXT.format(column=column, values=values))
        if not np.isin(per_level, (0.0, 1.0)).all():
            raise PreviError(LABEL_NOT_BINARY.format(column=column, values=values))
    if len(np.unique(per_level)) < 2:
        raise PreviError(LABEL_ONE_CLASS.format(column=column, values=values))
    return cells.take(per_level, np.nan)


def _positive_levels(cells: Cells, positive: str) -> np.ndarray:
    """Which levels equal ``positive``: as numbers when both are numbers, else as text ignoring case."""
    wanted = unicodedata.normalize("NFC", positive.strip())
    numbers = parse_numbers(cells.levels)
    wanted_number = parse_numbers(pd.Series([wanted], dtype="string"))[0]
    if np.isfinite(numbers).all() and np.isfinite(wanted_number):
        return numbers == wanted_number
    return (cells.levels.str.casefold() == wanted.casefold()).to_numpy(dtype=bool)


def _ids(raw: pd.Series, column: str) -> np.ndarray:
    cells = to_cells(raw)
    if cells.blank.any():
        raise PreviError(ID_BLANK.format(column=column, count=int(cells.blank.sum())))
    return cells.levels.to_numpy(dtype=object)[cells.codes]


def _times(raw: pd.Series, column: str) -> np.ndarray:
    """datetime64[ns] per row; blank or unreadable dates are errors."""
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        stamps = pd.to_datetime(raw, utc=True).dt.tz_convert(None)
        if stamps.isna().any():
            raise PreviError(TIME_BLANK.format(column=column, count=int(stamps.isna().sum())))
        return stamps.to_numpy(dtype="datetime64[ns]")
    cells = to_cells(raw)
    dates = parse_dates(cells)
    problems = []
    not_dates = np.isnat(dates)
    if not_dates.any():
        count = int(cells.counts[not_dates].sum())
        examples = _quoted(pd.Series(cells.examples(not_dates), dtype="string"))
        problems.append(TIME_NOT_DATES.format(column=column, count=count, examples=examples))
    if cells.blank.any():
        problems.append(TIME_BLANK.format(column=column, count=int(cells.blank.sum())))
    if problems:
        raise PreviError(*problems)
    return cells.take(dates, np.datetime64("NaT"))


def _check_unique(ids: np.ndarray, times: np.ndarray | None, id_column: str, time: str | None) -> None:
    keys = pd.DataFrame({"id": ids} if times is None else {"id": ids, "time": times})
    repeated = keys[keys.duplicated()].drop_duplicates()
    if repeated.empty:
        return
    if time is None:
        examples = _quoted(repeated["id"].astype("string"))
        raise PreviError(DUPLICATE_IDS.format(count=len(repeated), column=id_column, examples=examples))
    shown = repeated["id"].astype(str) + " on " + repeated["time"].dt.strftime("%Y-%m-%d")
    raise PreviError(
        DUPLICATE_ID_TIMES.format(
            count=len(repeated), column=id_column, time=time, examples=_quoted(shown.astype("string"))
        )
    )


def _groups(frame: pd.DataFrame, groups: Sequence[str]) -> pd.DataFrame:
    """Audit columns as text, blank cells as the audits' missing value so that they form a group."""
    columns = {}
    for column in groups:
        cells = to_cells(frame[column])
        columns[column] = cells.take(cells.levels.to_numpy(dtype=object), MISSING_GROUP)
    return pd.DataFrame(columns, index=frame.index, dtype="string")


def _features(
    frame: pd.DataFrame,
    exclude: Sequence[str],
    target: np.ndarray,
    warnings: list[str],
    dropped: list[tuple[str, str]],
) -> pd.DataFrame:
    """Every column not excluded, converted; what is dropped or guessed goes to ``warnings``,
    and each column left out goes to ``dropped`` with the reason."""
    kept: dict[str, pd.Series] = {}
    for column in frame.columns:
        name = str(column)
        if any(fnmatchcase(name, pattern) for pattern in exclude):
            dropped.append((name, "excluded by --exclude"))
            continue
        result = classify(frame[column])
        if result.values is None:
            value = result.examples[0] if result.examples else ""
            message = DROPPED[result.kind].format(column=name, value=value, levels=result.levels)
            warnings.append(message)
            dropped.append((name, message))
            continue
        if result.not_numbers:
            examples = _quoted(pd.Series(result.examples, dtype="string"))
            warnings.append(NOT_NUMBERS.format(column=name, count=result.not_numbers, examples=examples))
        auc = separation_auc(result.values, target)
        if auc >= LEAK_AUC:
            warnings.append(LEAK.format(column=name, auc=auc))
        kept[name] = result.values
    return pd.DataFrame(kept, index=frame.index)


def _quoted(values: pd.Series, limit: int = 10) -> str:
    """Distinct values as 'a', 'b', 'c' (sorted), cut after ``limit``."""
    distinct = sorted(str(value) for value in values.dropna().unique())
    shown = ", ".join(repr(value) for value in distinct[:limit])
    more = len(distinct) - limit
    return f"{shown} and {more} more" if more > 0 else shown
