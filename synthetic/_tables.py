"""The simulated rows, from integer codes to typed Arrow tables in the schema's shape.

Codes are what :class:`synthetic._records.Recorder` collects: youth index,
day number since 1970-01-01, index into a category's labels, -1 for a blank.
Rows are sorted by the table's key (or by every column), so the same codes
always give the same bytes.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from features.schemas import (
    DISPOSITIONS,
    EXIT_REASONS,
    INCIDENT_CATEGORIES,
    JUSTICE_CATEGORIES,
    JUSTICE_KINDS,
    PROGRAM_STATUSES,
    SEXES,
    TABLES,
)
from synthetic import _world as world
from synthetic._records import NO_CODE, Codes

# Labels of the text columns that are not closed categories of the schema.
TEXT_LABELS: dict[tuple[str, str], tuple[str, ...]] = {
    ("grades", "subject"): world.SUBJECTS,
    ("programs", "program"): tuple(program.name for program in world.PROGRAMS),
}
CATEGORY_LABELS: dict[tuple[str, str], tuple[str, ...]] = {
    ("youth", "sex"): SEXES,
    ("school_incidents", "category"): INCIDENT_CATEGORIES,
    ("justice_contacts", "kind"): JUSTICE_KINDS,
    ("justice_contacts", "category"): JUSTICE_CATEGORIES,
    ("justice_contacts", "disposition"): DISPOSITIONS,
    ("programs", "status"): PROGRAM_STATUSES,
    ("school_exits", "reason"): EXIT_REASONS,
}


def youth_ids(size: int, *, first: int = 0, total: int | None = None) -> pa.Array:
    """Pseudonymous ids Y000000, Y000001, ... (zero-padded, so text order is row order).

    ``first`` and ``total`` number a slice of a larger population (the buckets
    of a partitioned synthesis): ids Y<first> to Y<first + size - 1>, padded to
    the width of the whole population's ids.
    """
    width = max(6, len(str(max((total or size) - 1, 0))))
    digits = pc.utf8_lpad(
        pa.array(np.arange(first, first + size)).cast(pa.string()), width=width, padding="0"
    )
    return pc.binary_join_element_wise("Y", digits, "")


def youth_table(codes: Codes, ids: pa.Array) -> pa.Table:
    """The youth table with municipality names and school ids ESC-<municipality code>-<number>."""
    municipality = codes["municipality"].astype(np.int64)
    school = codes["school_id"].astype(np.int64)
    names = np.array([municipality.name for municipality in world.MUNICIPALITIES])
    prefixes = np.array([f"ESC-{municipality.code}-" for municipality in world.MUNICIPALITIES])
    width = max(3, len(str(int(school.max(initial=1)))))
    school_text = np.strings.add(prefixes[municipality], np.strings.zfill(school.astype(np.str_), width))
    return pa.table(
        {
            "youth_id": ids,
            "birth_date": _arrow_column("youth", "birth_date", "date", codes["birth_date"], ids),
            "sex": _arrow_column("youth", "sex", "category", codes["sex"], ids),
            "municipality": pa.array(names[municipality], type=pa.string()),
            "school_id": pa.array(school_text, mask=school == NO_CODE, type=pa.string()),
            "indigenous": pa.array(codes["indigenous"].astype(bool)),
            "disability": pa.array(codes["disability"].astype(bool)),
        }
    )


def to_arrow(table: str, codes: Codes, ids: pa.Array) -> pa.Table:
    """Typed Arrow columns in the schema's order, rows sorted by the key (or every column)."""
    schema = TABLES[table]
    sort_by = schema.key or schema.column_names
    order = np.lexsort([codes[name] for name in reversed(sort_by)])
    return pa.table(
        {
            column.name: _arrow_column(table, column.name, column.kind, codes[column.name][order], ids)
            for column in schema.columns
        }
    )


def _arrow_column(table: str, name: str, kind: str, values: np.ndarray, ids: pa.Array) -> pa.Array:
    if kind == "id":
        return ids.take(pa.array(values))
    if kind == "date":
        return pa.array(values.astype("datetime64[D]"), mask=values == NO_CODE, type=pa.date32())
    if kind == "int":
        return pa.array(values.astype(np.int64))
    if kind == "float":
        return pa.array(values.astype(np.float64))
    if kind == "bool":
        return pa.array(values.astype(bool))
    labels = CATEGORY_LABELS.get((table, name)) or TEXT_LABELS[(table, name)]
    return pa.array(labels, type=pa.string()).take(pa.array(values, mask=values == NO_CODE))
