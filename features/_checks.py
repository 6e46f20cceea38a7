"""Check one bundle table against its declaration in :mod:`features.schemas`.

Every rule is read off the schema (column kinds, ``nullable``, ``allowed``,
``minimum``/``maximum``, ``key``, ``date_orders``, ``sum_limits``), so a new
table or column needs no new code here. Every check is a vectorised mask over
the whole column; only the first few offending rows are turned into text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api import types as ptypes

from features._coerce import as_text, convert, final_dtype, looks_boolean, to_boolean
from features.schemas import Column, TableSchema

MAX_EXAMPLES = 3
REFERENCE_COLUMN = "youth_id"
"""A ``youth_id`` column in any table but ``youth`` must name a row of ``youth``."""

Examples = Callable[[np.ndarray], list[str]]


@dataclass(frozen=True)
class CheckedTable:
    """The outcome of checking one table: a typed frame only when it has no problem."""

    frame: pd.DataFrame | None
    problems: tuple[str, ...]
    warnings: tuple[str, ...]
    audit_columns: tuple[str, ...]
    ids: pd.Series | None
    """The table's ``youth_id`` column as text (used by ``youth`` for the reference check)."""


def check_table(
    raw: pd.DataFrame,
    schema: TableSchema,
    *,
    extraction_date: dt.date,
    youth_ids: pd.Series | None = None,
    audit_columns: Sequence[str] = (),
) -> CheckedTable:
    """Convert and check ``raw`` (as read from the file) against ``schema``.

    ``youth_ids`` are the ids of the youth table (None when it could not be
    read: the reference check is then skipped). ``audit_columns`` are kept
    rather than dropped, and only in ``youth``.
    """
    problems: list[str] = []
    columns = [column for column in schema.columns if column.name in raw.columns]
    problems += [f"{schema.name}.{name}: required column missing" for name in _missing(raw, schema)]
    audit = tuple(name for name in audit_columns if name in raw.columns and name not in schema.column_names)
    unknown = [name for name in raw.columns if name not in schema.column_names and name not in audit]
    warnings = [f"{schema.name}: ignored unknown columns {', '.join(map(str, unknown))}"] if unknown else []

    values: dict[str, pd.Series] = {}
    for column in columns:
        converted = convert(raw[column.name], column.kind)
        label = f"{schema.name}.{column.name}"
        if not column.nullable:
            problems += _report(label, converted.blank, "blank value", "blank values")
        for invalid in converted.invalid:
            examples = _values_of(converted.text if invalid.shown is None else invalid.shown)
            problems += _report(label, invalid.mask, invalid.singular, invalid.plural, examples, invalid.hint)
        problems += _value_problems(label, column, converted.values, extraction_date)
        values[column.name] = converted.values

    problems += _key_problems(schema, values)
    problems += _date_order_problems(schema, values)
    problems += _sum_limit_problems(schema, values)
    ids = values.get(REFERENCE_COLUMN)
    if youth_ids is not None and ids is not None and schema.name != "youth":
        problems += _reference_problems(schema.name, ids, youth_ids)

    frame = None
    if not problems:
        typed = {c.name: final_dtype(values[c.name], c.kind, nullable=c.nullable) for c in schema.columns}
        typed.update({name: _audit_values(raw[name]) for name in audit})
        frame = pd.DataFrame(typed, copy=False)  # the columns are fresh: no need to copy them again
    return CheckedTable(frame, tuple(problems), tuple(warnings), audit, ids)


def format_value(value: object) -> str:
    """One value as it appears in a problem line: text quoted, dates ISO, whole numbers bare."""
    if isinstance(value, str):
        return repr(value)
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return "blank"
    if isinstance(value, pd.Timestamp | np.datetime64 | dt.datetime):
        stamp = pd.Timestamp(value)
        return stamp.date().isoformat() if stamp == stamp.normalize() else stamp.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool | np.bool_):
        return str(bool(value)).lower()
    if isinstance(value, float | np.floating):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    return str(value)


def _missing(raw: pd.DataFrame, schema: TableSchema) -> list[str]:
    return [name for name in schema.column_names if name not in raw.columns]


def _report(
    label: str,
    mask: np.ndarray,
    singular: str,
    plural: str,
    examples: Examples | None = None,
    hint: str = "",
) -> list[str]:
    """One problem line for the rows in ``mask``, or none when the mask is empty."""
    count = int(np.count_nonzero(mask))
    if not count:
        return []
    rows = np.flatnonzero(mask)[:MAX_EXAMPLES]
    where = ("row " if len(rows) == 1 else "rows ") + ", ".join(str(row + 1) for row in rows)
    if examples is not None:
        shown = examples(rows)
        where += ": " + ("; " if any(", " in item for item in shown) else ", ").join(shown)
    return [f"{label}: {count} {singular if count == 1 else plural} ({where}){hint}"]


def _values_of(series: pd.Series) -> Examples:
    return lambda rows: [format_value(series.iloc[row]) for row in rows]


def _value_problems(label: str, column: Column, values: pd.Series, extraction_date: dt.date) -> list[str]:
    """Allowed values, numeric ranges and future dates of one converted column."""
    examples = _values_of(values)
    if column.allowed is not None:
        outside = (values.notna() & ~values.isin(column.allowed)).to_numpy(dtype=bool)
        hint = f"; allowed: {', '.join(column.allowed)}"
        return _report(label, outside, "value not allowed", "values not allowed", examples, hint)
    if column.kind == "date":
        limit = np.datetime64(extraction_date, "s")
        future = values.to_numpy() > limit
        what = f"after the extraction date {extraction_date.isoformat()}"
        return _report(label, future, f"date {what}", f"dates {what}", examples)
    if column.kind in ("int", "float") and (column.minimum is not None or column.maximum is not None):
        numbers = values.to_numpy(dtype="float64")
        low = numbers < column.minimum if column.minimum is not None else np.zeros(len(numbers), bool)
        high = numbers > column.maximum if column.maximum is not None else np.zeros(len(numbers), bool)
        return _report(label, low | high, *_range_nouns(column.minimum, column.maximum), examples)
    return []


def _range_nouns(minimum: float | None, maximum: float | None) -> tuple[str, str]:
    """("negative value", "negative values") and the like, from the schema's bounds."""
    if minimum == 0 and maximum is None:
        return "negative value", "negative values"
    bounds = [
        f"{word} {format_value(float(bound))}"
        for word, bound in (("below", minimum), ("above", maximum))
        if bound is not None
    ]
    what = " or ".join(bounds)
    if minimum is not None and maximum is not None:
        what = f"off the {format_value(float(minimum))}-{format_value(float(maximum))} scale"
    return f"value {what}", f"values {what}"


def _key_problems(schema: TableSchema, values: dict[str, pd.Series]) -> list[str]:
    """Rows that repeat the key of an earlier row (rows with a blank key part are skipped)."""
    if not schema.key or any(name not in values for name in schema.key):
        return []
    key = [values[name] for name in schema.key]
    codes = _key_codes(key)
    repeated = _repeated(codes)

    def examples(rows: np.ndarray) -> list[str]:
        described = []
        for row in rows:
            first = int(np.flatnonzero(codes == codes[row])[0])
            parts = ", ".join(format_value(part.iloc[row]) for part in key)
            described.append(f"{parts} as in row {first + 1}")
        return described

    label = (
        f"{schema.name}.{schema.key[0]}"
        if len(schema.key) == 1
        else f"{schema.name}.({', '.join(schema.key)})"
    )
    return _report(label, repeated, "duplicate key", "duplicate keys", examples)


def _key_codes(key: list[pd.Series]) -> np.ndarray:
    """One int64 code per row for the combination of key values; -1 where any part is blank."""
    combined = np.zeros(len(key[0]), dtype=np.int64)
    blank = np.zeros(len(key[0]), dtype=bool)
    for part in key:
        codes, size = _factorize(part)
        blank |= codes < 0
        if combined.size and int(combined.max()) * (size + 1) >= 2**62:
            combined = pd.factorize(combined)[0].astype(np.int64)  # keep the code space small
        combined = combined * (size + 1) + codes + 1
    combined[blank] = -1
    return combined


def _factorize(part: pd.Series) -> tuple[np.ndarray, int]:
    """Integer codes (-1 for blank) and the number of distinct values of one key column."""
    if not isinstance(part.dtype, pd.StringDtype):
        codes, uniques = pd.factorize(part)
        return codes.astype(np.int64), len(uniques)
    # pyarrow's hash encoding is about three times faster than pd.factorize on arrow strings
    text = pa.array(part)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    encoded = pc.dictionary_encode(text)
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, len(encoded.dictionary)


def _repeated(codes: np.ndarray) -> np.ndarray:
    """Rows whose code (>= 0) already appeared in an earlier row."""
    if len(codes) < 2 or bool(np.all(codes[1:] > codes[:-1])):  # the common case of a sorted file
        return np.zeros(len(codes), dtype=bool)
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    later = np.zeros(len(codes), dtype=bool)
    if len(codes) > 1:
        later[order[1:]] = (ordered[1:] == ordered[:-1]) & (ordered[1:] >= 0)
    return later


def _date_order_problems(schema: TableSchema, values: dict[str, pd.Series]) -> list[str]:
    problems: list[str] = []
    for order in schema.date_orders:
        if order.start not in values or order.end not in values:
            continue
        start, end = values[order.start], values[order.end]
        before = (end.to_numpy() < start.to_numpy()) & end.notna().to_numpy() & start.notna().to_numpy()
        label = f"{schema.name}.{order.end}"
        what = f"before {order.start}"
        problems += _report(label, before, f"date {what}", f"dates {what}", _comparison([end], "<", start))
    return problems


def _sum_limit_problems(schema: TableSchema, values: dict[str, pd.Series]) -> list[str]:
    problems: list[str] = []
    for parts, whole in schema.sum_limits:
        if whole not in values or any(part not in values for part in parts):
            continue
        part_values = [values[part] for part in parts]
        total = np.sum([part.to_numpy(dtype="float64") for part in part_values], axis=0)
        over = total > values[whole].to_numpy(dtype="float64")  # NaN anywhere compares False
        label = f"{schema.name}.{'+'.join(parts)}"
        if len(parts) == 1:
            nouns = (f"value above {whole}", f"values above {whole}")
        else:
            nouns = (f"row whose sum exceeds {whole}", f"rows whose sum exceeds {whole}")
        problems += _report(label, over, *nouns, _comparison(part_values, ">", values[whole]))
    return problems


def _comparison(left: Sequence[pd.Series], operator: str, right: pd.Series) -> Examples:
    """Examples such as ``12+10 > 20`` or ``2023-01-01 < 2023-02-01``."""

    def describe(rows: np.ndarray) -> list[str]:
        return [
            "+".join(format_value(side.iloc[row]) for side in left)
            + f" {operator} {format_value(right.iloc[row])}"
            for row in rows
        ]

    return describe


def _reference_problems(table: str, ids: pd.Series, youth_ids: pd.Series) -> list[str]:
    known = pc.is_in(pa.array(ids), value_set=pa.array(youth_ids.dropna())).to_numpy(zero_copy_only=False)
    unknown = ids.notna().to_numpy() & ~known.astype(bool)
    label = f"{table}.{REFERENCE_COLUMN}"
    return _report(label, unknown, "id unknown to youth", "ids unknown to youth", _values_of(ids))


def _audit_values(raw: pd.Series) -> pd.Series:
    """An audit column: booleans when it holds yes/no words (or is boolean), else text."""
    if raw.dtype != object and ptypes.is_bool_dtype(raw.dtype):
        return raw.astype("boolean" if raw.isna().any() else bool)
    text = as_text(raw)
    if text.notna().any() and looks_boolean(text):
        flags = to_boolean(text)
        return flags.astype("boolean" if flags.isna().any() else bool)
    return text
