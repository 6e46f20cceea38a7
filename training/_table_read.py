"""A flat table file as raw columns: CSV (every cell as text) or Parquet (as stored).

CSV files from spreadsheets come in many shapes, so the reader decides three
things from the file itself rather than asking: the encoding (UTF-8, else
Windows' cp1252, else latin-1, which decodes any byte), the delimiter (the one
of ``,``, ``;`` and tab that splits the header into the most fields) and the
column names (stripped of spaces). Nothing is typed here: every CSV cell stays
text so that :mod:`training._table_columns` can tell a decimal comma from a
thousands separator, and a blank from a zero.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from previ.errors import PreviError

SUFFIXES = (".csv", ".parquet")
DELIMITERS = (",", ";", "\t")
ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
"""Tried in order; latin-1 maps every byte to a character, so reading never fails on encoding."""

NOT_FOUND = "--table: file {path} does not exist"
BAD_SUFFIX = "--table: {name} must end in .csv or .parquet"
UNREADABLE = "--table: cannot read {name} ({reason}){hint}"
NO_ROWS = "--table: {name} has no data rows"
DUPLICATE_HEADER = "--table: {name} has columns with the same name: {names}; rename them"
UNNAMED_HEADER = (
    "--table: ignored {count} column(s) without a name in the header of {name} (position {positions})"
)
ENCODING_FALLBACK = "--table: {name} is not UTF-8; read it as {encoding} (check the accents)"
DECIMAL_COMMA_HINT = "; numbers with decimal commas must be quoted, or the file separated by ';'"


@dataclass(frozen=True)
class RawTable:
    """The file's columns, unconverted, and what reading it had to guess."""

    frame: pd.DataFrame
    warnings: tuple[str, ...]


def read_raw_table(path: Path) -> RawTable:
    """Read ``path`` by its suffix; raise :class:`PreviError` if it cannot be read as a table."""
    if not path.is_file():
        raise PreviError(NOT_FOUND.format(path=path))
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise PreviError(BAD_SUFFIX.format(name=path.name))
    if suffix == ".parquet":
        return _read_parquet(path)
    return _read_csv(path)


def _read_parquet(path: Path) -> RawTable:
    try:
        frame = pd.read_parquet(path)
    except Exception as error:  # any reader failure is the file's problem, reported as such
        raise PreviError(UNREADABLE.format(name=path.name, reason=_reason(error), hint="")) from None
    return _named(path.name, frame.reset_index(drop=True), [str(column) for column in frame.columns], [])


def _read_csv(path: Path) -> RawTable:
    content, encoding = _decode(path.read_bytes())
    warnings = (
        [] if encoding == ENCODINGS[0] else [ENCODING_FALLBACK.format(name=path.name, encoding=encoding)]
    )
    header_line = next((line for line in content.splitlines() if line.strip()), "")
    delimiter = _delimiter(header_line)
    try:  # header=None: a row longer than the header is an error, not a silent index column
        frame = pd.read_csv(
            io.StringIO(content),
            sep=delimiter,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
        )
    except Exception as error:  # pandas' parser errors name the line that broke
        hint = DECIMAL_COMMA_HINT if delimiter == "," else ""
        raise PreviError(UNREADABLE.format(name=path.name, reason=_reason(error), hint=hint)) from None
    header = [str(name) for name in frame.iloc[0]]
    return _named(path.name, frame.iloc[1:].reset_index(drop=True), header, warnings)


def _named(name: str, frame: pd.DataFrame, header: list[str], warnings: list[str]) -> RawTable:
    """The columns under their stripped header names; unnamed columns (a saved index) dropped."""
    names = [column.strip() for column in header]
    repeated = sorted(column for column, count in Counter(names).items() if column and count > 1)
    if repeated:
        raise PreviError(DUPLICATE_HEADER.format(name=name, names=", ".join(repeated)))
    unnamed = [position for position, column in enumerate(names) if not column]
    if unnamed:
        positions = ", ".join(str(position + 1) for position in unnamed)
        warnings = [*warnings, UNNAMED_HEADER.format(name=name, count=len(unnamed), positions=positions)]
    kept = [position for position, column in enumerate(names) if column]
    frame = frame.iloc[:, kept].set_axis([names[position] for position in kept], axis="columns")
    if frame.empty:
        raise PreviError(NO_ROWS.format(name=name))
    return RawTable(frame, tuple(warnings))


def _decode(content: bytes) -> tuple[str, str]:
    for encoding in ENCODINGS:
        try:
            return content.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any byte")  # pragma: no cover


def _delimiter(header_line: str) -> str:
    """The delimiter that splits the header into the most fields (ties: the earlier one)."""
    widths = {
        delimiter: len(next(csv.reader([header_line], delimiter=delimiter), [])) for delimiter in DELIMITERS
    }
    return max(DELIMITERS, key=lambda delimiter: widths[delimiter])


def _reason(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else error.__class__.__name__
