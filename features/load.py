"""Read and validate a data bundle folder: the one loader of previ.

:func:`load_bundle` returns typed tables or raises one :class:`PreviError`
listing every problem of every table at once; :func:`validate_bundle` returns
the same findings as a :class:`ValidationReport` without raising, for
``previ validate`` and for pages that show them.

Why hand-written checks rather than pandera: the rules are already declared
once in :mod:`features.schemas` and read from there, so a pandera schema would
be a second declaration to keep in step; the problem lines need a fixed form
(table.column, count, first row numbers and offending values) that we would
otherwise rebuild from pandera's failure-case frames; and the checks must tell
a blank cell from unparseable text, which needs the raw text next to the
converted value. The checks are vectorised masks with pyarrow fast paths for
clean data (see :mod:`features._coerce`), which keeps a bundle of millions of
event rows to a few seconds.

Row numbers in problem lines count data rows from 1 (the CSV header is not a
row), in file order. Ids, text and categories are pandas' nullable ``string``
dtype; dates are ``datetime64[ns]`` at midnight; counts are ``int64``
(``Int64`` when the schema allows blanks); the grade is ``float64``; flags are
``bool``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow.parquet as pq

from features._checks import CheckedTable, check_table
from features.registry import features_removed_by
from features.schemas import OPTIONAL_TABLES, TABLES
from previ.errors import PreviError

__all__ = [
    "MANIFEST_NAME",
    "Bundle",
    "TableFile",
    "ValidationReport",
    "describe_missing_tables",
    "load_bundle",
    "validate_bundle",
]

MANIFEST_NAME = "manifest.json"
FileFormat = Literal["csv", "parquet"]
SUFFIXES: dict[str, FileFormat] = {".csv": "csv", ".parquet": "parquet"}


@dataclass(frozen=True)
class Bundle:
    """A validated bundle: typed tables keyed by name, in the order of ``TABLES``.

    Absent optional tables are not in ``tables``; they are named in
    ``missing_tables``. ``audit_columns`` are the config's audit columns found
    in ``youth`` (kept there for fairness audits, never to be used as features).
    """

    directory: Path
    tables: dict[str, pd.DataFrame]
    missing_tables: tuple[str, ...]
    extraction_date: dt.date
    audit_columns: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def youth(self) -> pd.DataFrame:
        return self.tables["youth"]

    def has(self, table: str) -> bool:
        return table in self.tables


@dataclass(frozen=True)
class TableFile:
    """A table file found in the bundle folder, as read (before any check)."""

    table: str
    path: Path
    file_format: FileFormat
    rows: int
    columns: int


@dataclass(frozen=True)
class ValidationReport:
    """Everything validation found; ``bundle`` is set only when there is no problem."""

    directory: Path
    extraction_date: dt.date
    files: tuple[TableFile, ...]
    problems: tuple[str, ...]
    warnings: tuple[str, ...]
    missing_tables: tuple[str, ...]
    """Optional tables with no file (a missing ``youth`` is a problem instead)."""
    unread_tables: tuple[str, ...]
    """Tables whose file exists but could not be read (each has a problem line)."""
    absent: tuple[str, ...]
    """One line per absent optional table, naming the features it removes."""
    bundle: Bundle | None

    @property
    def ok(self) -> bool:
        return not self.problems


def load_bundle(
    directory: Path | str,
    *,
    audit_columns: Sequence[str] = (),
    extraction_date: dt.date | None = None,
) -> Bundle:
    """Read and validate every table of the bundle in ``directory``.

    The extraction date is ``extraction_date``, else the ``extraction_date`` of
    the folder's manifest.json, else today; dates after it are errors.

    Raises
    ------
    PreviError
        With one line per problem, for every table at once.
    """
    report = validate_bundle(directory, audit_columns=audit_columns, extraction_date=extraction_date)
    if report.bundle is None:
        raise PreviError(*report.problems)
    return report.bundle


def validate_bundle(
    directory: Path | str,
    *,
    audit_columns: Sequence[str] = (),
    extraction_date: dt.date | None = None,
) -> ValidationReport:
    """Check the bundle in ``directory`` and report every problem; never raises for bad data."""
    directory = Path(directory)
    problems: list[str] = []
    warnings: list[str] = []
    if not directory.is_dir():
        problems.append(f"bundle: folder {directory} does not exist")
        return ValidationReport(
            directory, extraction_date or dt.date.today(), (), tuple(problems), (), (), (), (), None
        )
    # A broken manifest only blocks loading when its extraction date is needed.
    manifest = _read_manifest(directory, warnings if extraction_date is not None else problems)
    extraction = _extraction_date(manifest, extraction_date, problems, warnings)
    warnings += _stray_files(directory, manifest)

    files: list[TableFile] = []
    checked: dict[str, CheckedTable] = {}
    missing: list[str] = []
    unread: list[str] = []
    youth_ids = None
    for name, schema in TABLES.items():
        paths = [directory / f"{name}{suffix}" for suffix in SUFFIXES]
        paths = [path for path in paths if path.is_file()]
        if not paths:
            missing.append(name)
            continue
        raw = _read_table(name, paths, problems)
        if raw is None:
            unread.append(name)
            continue
        files.append(TableFile(name, paths[0], SUFFIXES[paths[0].suffix], len(raw), len(raw.columns)))
        result = check_table(
            raw,
            schema,
            extraction_date=extraction,
            youth_ids=youth_ids,
            audit_columns=audit_columns if name == "youth" else (),
        )
        if schema.required and raw.empty:
            problems.append(f"{name}: the table has no rows")
        if name == "youth":
            youth_ids = result.ids
        problems += result.problems
        warnings += result.warnings
        checked[name] = result

    if "youth" in missing:
        problems.insert(0, _missing_youth(directory))
    absent_optional = tuple(name for name in missing if name in OPTIONAL_TABLES)
    audit_found = checked["youth"].audit_columns if "youth" in checked else ()
    if "youth" in checked:
        for name in audit_columns:
            if name not in audit_found:
                warnings.append(f"youth.{name}: audit column named in the config is not in the file")

    bundle = None
    if not problems:
        tables = {name: result.frame for name, result in checked.items() if result.frame is not None}
        bundle = Bundle(directory, tables, absent_optional, extraction, audit_found, tuple(warnings))
    return ValidationReport(
        directory=directory,
        extraction_date=extraction,
        files=tuple(files),
        problems=tuple(problems),
        warnings=tuple(warnings),
        missing_tables=absent_optional,
        unread_tables=tuple(unread),
        absent=describe_missing_tables(absent_optional),
        bundle=bundle,
    )


def describe_missing_tables(tables: Sequence[str]) -> tuple[str, ...]:
    """ "<table>: absent (optional); removes N features: a, b" for each absent optional table."""
    lines = []
    for table in tables:
        names = [feature.name for feature in features_removed_by(table)]
        noun = "feature" if len(names) == 1 else "features"
        removes = f"; removes {len(names)} {noun}: {', '.join(names)}" if names else ""
        lines.append(f"{table}: absent (optional){removes}")
    return tuple(lines)


def _read_manifest(directory: Path, complaints: list[str]) -> dict[str, Any]:
    """manifest.json as a mapping ({} when absent or unreadable, with a complaint in the latter case)."""
    path = directory / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        complaints.append(f"{MANIFEST_NAME}: not valid JSON ({error.__class__.__name__})")
        return {}
    if not isinstance(manifest, dict):
        complaints.append(f"{MANIFEST_NAME}: must hold a JSON object, not {type(manifest).__name__}")
        return {}
    return manifest


def _extraction_date(
    manifest: dict[str, Any], given: dt.date | None, problems: list[str], warnings: list[str]
) -> dt.date:
    if given is not None:
        return given
    value = manifest.get("extraction_date")
    if value is None:
        warnings.append(
            f"no extraction date in the config or {MANIFEST_NAME}: dates are checked against today"
        )
        return dt.date.today()
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        problems.append(f"{MANIFEST_NAME}: extraction_date {value!r} is not a date; expected YYYY-MM-DD")
        return dt.date.today()


def _read_table(name: str, paths: list[Path], problems: list[str]) -> pd.DataFrame | None:
    """The table's file read as text (CSV) or as stored (Parquet); None, with a problem, if it cannot be."""
    if len(paths) > 1:
        problems.append(f"{name}: both {paths[0].name} and {paths[1].name} exist; keep only one")
        return None
    path = paths[0]
    try:
        if SUFFIXES[path.suffix] == "csv":
            raw = pd.read_csv(path, dtype=str, engine="pyarrow")
        else:  # dates as datetime64, not one Python object per cell
            raw = pq.read_table(path).to_pandas(date_as_object=False, ignore_metadata=True)
    except Exception as error:  # any reader failure is the file's problem, reported as such
        reason = str(error).strip().splitlines()[0] if str(error).strip() else error.__class__.__name__
        hint = "; save it as CSV UTF-8" if "UTF8" in reason or isinstance(error, UnicodeError) else ""
        problems.append(f"{name}: cannot read {path.name} ({reason}){hint}")
        return None
    raw.columns = [str(column).strip() for column in raw.columns]
    if path.suffix == ".csv" and len(raw.columns) == 1 and ";" in raw.columns[0]:
        problems.append(f"{name}: {path.name} seems separated by ';'; save it comma-separated")
        return None
    return raw


def _missing_youth(directory: Path) -> str:
    others = sorted(path.name for path in directory.glob("youth.*"))
    hint = f"; found {', '.join(others)}: export it as CSV (UTF-8) or Parquet" if others else ""
    return f"youth: required table missing (no youth.csv or youth.parquet in {directory}){hint}"


def _stray_files(directory: Path, manifest: dict[str, Any]) -> list[str]:
    """Data files that match no table (a misspelt table name would otherwise vanish silently).

    Files the manifest names (such as the synthesiser's ``truth`` file) are expected, not stray.
    """
    expected = {value for value in manifest.values() if isinstance(value, str)}
    stray = sorted(
        path.name
        for path in directory.iterdir()
        if path.suffix in SUFFIXES
        and path.stem not in TABLES
        and path.name not in expected
        and not path.name.startswith(".")
    )
    return [f"bundle: ignored files that match no table: {', '.join(stray)}"] if stray else []
