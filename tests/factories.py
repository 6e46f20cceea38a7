"""Small, typed bundles for tests: build tables row by row with defaults."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from features.schemas import TABLES

AS_OF = dt.date(2024, 2, 1)


@dataclass(frozen=True)
class TinyBundle:
    """A bundle already typed like the loader's output (tables keyed by name)."""

    tables: dict[str, pd.DataFrame]
    extraction_date: dt.date = dt.date(2025, 7, 31)
    audit_columns: tuple[str, ...] = ("indigenous",)
    missing_tables: tuple[str, ...] = field(default=())


def youth_rows(n: int = 3, birth: dt.date = dt.date(2009, 5, 10)) -> list[dict[str, Any]]:
    return [
        {
            "youth_id": f"Y{index:03d}",
            "birth_date": birth,
            "sex": "F" if index % 2 else "M",
            "municipality": "Tlalpan" if index % 3 else "Ecatepec",
            "school_id": "ESC-1",
            "indigenous": index % 2 == 0,
        }
        for index in range(n)
    ]


def typed_frame(table: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A frame with the schema's columns and the loader's dtypes."""
    schema = TABLES[table]
    frame = pd.DataFrame(rows, columns=[*schema.column_names, *_extra_columns(rows, schema.column_names)])
    for column in schema.columns:
        if column.kind == "date":
            frame[column.name] = pd.to_datetime(frame[column.name]).astype("datetime64[ns]")
        elif column.kind == "int":
            frame[column.name] = frame[column.name].astype("int64")
        elif column.kind == "float":
            frame[column.name] = frame[column.name].astype("float64")
        elif column.kind == "bool":
            frame[column.name] = frame[column.name].astype(bool)
        else:
            frame[column.name] = frame[column.name].astype("string")
    return frame


def _extra_columns(rows: list[dict[str, Any]], known: tuple[str, ...]) -> list[str]:
    extra: list[str] = []
    for row in rows:
        extra += [key for key in row if key not in known and key not in extra]
    return extra


def tiny_bundle(**tables: list[dict[str, Any]]) -> TinyBundle:
    """Typed tables from row lists; `youth` defaults to three young people."""
    tables.setdefault("youth", youth_rows())
    tables.setdefault("school_exits", [])
    return TinyBundle(tables={name: typed_frame(name, rows) for name, rows in tables.items()})


def shared_data_dir() -> Path:
    """The real public data sets: PREVI_SHARED_DATA if set, else ``<repo>/../shared/data``."""
    configured = os.environ.get("PREVI_SHARED_DATA")
    return Path(configured) if configured else Path(__file__).resolve().parents[1].parent / "shared" / "data"
