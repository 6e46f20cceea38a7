"""The bundle loader: typed tables from a clean folder, every problem at once from a bad one."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from features.load import Bundle, load_bundle, validate_bundle
from features.schemas import TABLES
from previ.errors import PreviError

EXTRACTION = dt.date(2024, 6, 30)


# --- factories -------------------------------------------------------------------------------


def clean_tables() -> dict[str, pd.DataFrame]:
    """A tiny valid bundle, every cell as the text a CSV file would hold."""
    rows: dict[str, list[list[str]]] = {
        "youth": [
            ["Y001", "2009-05-10", "F", "Tlalpan", "ESC-1"],
            ["Y002", "2010-01-02", "M", "Ecatepec", ""],
            ["Y003", "2008-11-30", "F", "Tlalpan", "ESC-2"],
        ],
        "attendance": [
            ["Y001", "2023-01-01", "2023-01-31", "20", "1", "2", "0"],
            ["Y001", "2023-02-01", "2023-02-28", "19", "0", "0", "3"],
            ["Y002", "2023-01-01", "2023-01-31", "20", "0", "5", "1"],
        ],
        "grades": [
            ["Y001", "2023-07-15", "matemáticas", "7.5", "true"],
            ["Y001", "2023-07-15", "español", "5", "false"],
            ["Y003", "2023-07-15", "matemáticas", "10", "1"],
        ],
        "school_incidents": [
            ["Y001", "2023-03-04", "fight", "2", "1"],
            ["Y002", "2023-05-06", "bullying", "1", "0"],
        ],
        "justice_contacts": [
            ["Y002", "2023-08-09", "civic_infraction", "violence", "mediation"],
            ["Y002", "2023-09-10", "detention", "property", ""],
        ],
        "programs": [
            ["Y001", "deporte", "2023-02-01", "2023-06-30", "completed", "10", "12"],
            ["Y002", "mentoría", "2024-01-15", "", "active", "3", "5"],
        ],
        "school_exits": [["Y003", "2024-01-31", "dropped_out"]],
    }
    return {
        name: pd.DataFrame(table_rows, columns=list(TABLES[name].column_names), dtype=str)
        for name, table_rows in rows.items()
    }


def with_value(
    tables: dict[str, pd.DataFrame], table: str, column: str, row: int, value: str
) -> dict[str, pd.DataFrame]:
    """A copy of ``tables`` with one cell replaced (``row`` counts data rows from 1, as messages do)."""
    changed = {name: frame.copy() for name, frame in tables.items()}
    frame = changed[table]
    while len(frame) < row:
        frame.loc[len(frame)] = frame.iloc[-1]
    frame.loc[row - 1, column] = value
    return changed


def typed_for_parquet(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """What a Parquet writer would store: real dates, numbers and booleans."""
    typed = frame.copy()
    for column in TABLES[table].columns:
        values = frame[column.name].replace("", None)
        if column.kind == "date":
            typed[column.name] = pd.to_datetime(values)
        elif column.kind == "int":
            typed[column.name] = values.astype("int64")
        elif column.kind == "float":
            typed[column.name] = values.astype("float64")
        elif column.kind == "bool":
            typed[column.name] = values.isin(["true", "1"])
        else:
            typed[column.name] = values
    return typed


def write_bundle(
    folder: Path,
    tables: dict[str, pd.DataFrame],
    *,
    file_format: str = "csv",
    extraction_date: dt.date | None = None,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if file_format == "csv":
            frame.to_csv(folder / f"{name}.csv", index=False)
        else:
            typed_for_parquet(name, frame).to_parquet(folder / f"{name}.parquet", index=False)
    if extraction_date is not None:
        manifest = {"extraction_date": extraction_date.isoformat()}
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def problems_in(folder: Path) -> list[str]:
    report = validate_bundle(folder, extraction_date=EXTRACTION)
    assert report.bundle is None, "expected problems"
    return list(report.problems)


def load(folder: Path, audit_columns: tuple[str, ...] = ()) -> Bundle:
    return load_bundle(folder, extraction_date=EXTRACTION, audit_columns=audit_columns)


# --- a clean bundle --------------------------------------------------------------------------


def test_clean_csv_bundle_loads_with_the_schema_dtypes(tmp_path: Path) -> None:
    bundle = load(write_bundle(tmp_path, clean_tables()))

    assert list(bundle.tables) == list(TABLES)
    assert bundle.missing_tables == ()
    assert bundle.extraction_date == EXTRACTION
    for name, schema in TABLES.items():
        frame = bundle.tables[name]
        assert list(frame.columns) == list(schema.column_names)
        for column in schema.columns:
            dtype = frame[column.name].dtype
            expected = {
                "id": "string",
                "text": "string",
                "category": "string",
                "date": "datetime64[ns]",
                "int": "Int64" if column.nullable else "int64",
                "float": "float64",
                "bool": "boolean" if column.nullable else "bool",
            }[column.kind]
            assert dtype == expected, f"{name}.{column.name} is {dtype}, expected {expected}"
    attendance = bundle.tables["attendance"]
    assert attendance["days_absent_unexcused"].tolist() == [2, 0, 5]
    assert bundle.tables["grades"]["passed"].tolist() == [True, False, True]
    assert bundle.tables["grades"]["grade"].tolist() == [7.5, 5.0, 10.0]
    assert bundle.youth["school_id"].isna().tolist() == [False, True, False]
    assert bundle.tables["programs"]["end_date"].isna().tolist() == [False, True]
    assert bundle.youth["birth_date"].iloc[0] == pd.Timestamp("2009-05-10")


def test_parquet_bundle_loads_to_the_same_frames_as_csv(tmp_path: Path) -> None:
    from_csv = load(write_bundle(tmp_path / "csv", clean_tables()))
    from_parquet = load(write_bundle(tmp_path / "parquet", clean_tables(), file_format="parquet"))

    for name in TABLES:
        pd.testing.assert_frame_equal(from_parquet.tables[name], from_csv.tables[name])


def test_dates_with_a_time_of_day_are_normalised_to_midnight(tmp_path: Path) -> None:
    tables = with_value(clean_tables(), "school_incidents", "date", 1, "2023-03-04T17:45:00")

    incidents = load(write_bundle(tmp_path, tables)).tables["school_incidents"]

    assert incidents["date"].iloc[0] == pd.Timestamp("2023-03-04")


def test_optional_tables_may_be_absent_and_are_named(tmp_path: Path) -> None:
    tables = clean_tables()
    del tables["grades"], tables["programs"]

    report = validate_bundle(write_bundle(tmp_path, tables), extraction_date=EXTRACTION)

    assert report.bundle is not None
    assert report.bundle.missing_tables == ("grades", "programs")
    assert "grades" not in report.bundle.tables
    assert [line.split(":")[0] for line in report.absent] == ["grades", "programs"]
    assert all("absent (optional)" in line for line in report.absent)


def test_absent_tables_name_the_features_they_remove(tmp_path: Path) -> None:
    registry = pytest.importorskip("features.registry")
    tables = clean_tables()
    del tables["grades"]

    report = validate_bundle(write_bundle(tmp_path, tables), extraction_date=EXTRACTION)

    removed = [feature.name for feature in registry.FEATURES if feature.source == "grades"]
    assert report.absent == (
        f"grades: absent (optional); removes {len(removed)} features: {', '.join(removed)}",
    )


def test_unknown_columns_are_dropped_with_a_warning(tmp_path: Path) -> None:
    tables = clean_tables()
    tables["grades"]["teacher"] = "Prof. X"

    bundle = load(write_bundle(tmp_path, tables))

    assert "teacher" not in bundle.tables["grades"].columns
    assert "grades: ignored unknown columns teacher" in bundle.warnings


def test_audit_columns_are_kept_in_youth_and_typed(tmp_path: Path) -> None:
    tables = clean_tables()
    tables["youth"]["indigenous"] = ["sí", "no", "No"]
    tables["youth"]["disability"] = ["motriz", "", "visual"]

    bundle = load(write_bundle(tmp_path, tables), audit_columns=("indigenous", "disability", "migrant"))

    assert bundle.audit_columns == ("indigenous", "disability")
    assert bundle.youth["indigenous"].dtype == bool
    assert bundle.youth["indigenous"].tolist() == [True, False, False]
    assert bundle.youth["disability"].dtype == "string"
    assert any("youth.migrant" in line for line in bundle.warnings)


def test_extraction_date_comes_from_the_manifest(tmp_path: Path) -> None:
    folder = write_bundle(tmp_path, clean_tables(), extraction_date=dt.date(2024, 1, 20))

    report = validate_bundle(folder)

    assert report.extraction_date == dt.date(2024, 1, 20)
    assert report.problems == (
        "school_exits.date: 1 date after the extraction date 2024-01-20 (row 1: 2024-01-31)",
    )


def test_the_extraction_date_argument_wins_over_the_manifest(tmp_path: Path) -> None:
    folder = write_bundle(tmp_path, clean_tables(), extraction_date=dt.date(2024, 1, 20))

    assert load(folder).extraction_date == EXTRACTION


def test_a_bad_manifest_date_is_a_problem(tmp_path: Path) -> None:
    folder = write_bundle(tmp_path, clean_tables())
    (folder / "manifest.json").write_text('{"extraction_date": "30/06/2024"}', encoding="utf-8")

    problems = validate_bundle(folder).problems

    assert problems == ("manifest.json: extraction_date '30/06/2024' is not a date; expected YYYY-MM-DD",)


def test_spaces_around_cells_a_byte_order_mark_and_si_no_flags_are_accepted(tmp_path: Path) -> None:
    tables = with_value(clean_tables(), "attendance", "days_late", 1, " 4 ")
    tables = with_value(tables, "attendance", "period_end", 1, " 2023-01-31")
    tables = with_value(tables, "youth", "sex", 1, "F ")
    tables = with_value(tables, "grades", "passed", 1, "Sí")
    folder = write_bundle(tmp_path, {})
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False, encoding="utf-8-sig")  # as Excel saves "CSV UTF-8"

    bundle = load(folder)

    assert bundle.tables["attendance"]["days_late"].iloc[0] == 4
    assert bundle.tables["attendance"]["period_end"].iloc[0] == pd.Timestamp("2023-01-31")
    assert bundle.youth["sex"].iloc[0] == "F"
    assert bundle.tables["grades"]["passed"].tolist() == [True, False, True]


def test_parquet_date_columns_stored_as_dates_are_read(tmp_path: Path) -> None:
    folder = write_bundle(tmp_path, clean_tables(), file_format="parquet")
    exits = pa.table({"youth_id": ["Y003"], "date": [dt.date(2024, 1, 31)], "reason": ["dropped_out"]})
    pq.write_table(exits, folder / "school_exits.parquet")

    exits_frame = load(folder).tables["school_exits"]

    assert exits_frame["date"].dtype == "datetime64[ns]"
    assert exits_frame["date"].iloc[0] == pd.Timestamp("2024-01-31")


def test_data_files_that_match_no_table_are_warned_about_unless_the_manifest_names_them(
    tmp_path: Path,
) -> None:
    folder = write_bundle(tmp_path, clean_tables())
    (folder / "atendance.csv").write_text("youth_id\n", encoding="utf-8")
    (folder / "truth.csv").write_text("youth_id\n", encoding="utf-8")
    manifest = {"extraction_date": EXTRACTION.isoformat(), "truth": "truth.csv"}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    warnings = validate_bundle(folder).warnings

    assert warnings == ("bundle: ignored files that match no table: atendance.csv",)


# --- one test per problem --------------------------------------------------------------------


def test_missing_youth_table_is_an_error(tmp_path: Path) -> None:
    tables = clean_tables()
    del tables["youth"]

    problems = problems_in(write_bundle(tmp_path, tables))

    assert problems[0].startswith("youth: required table missing")


def test_a_table_in_both_formats_is_an_error(tmp_path: Path) -> None:
    folder = write_bundle(tmp_path, clean_tables())
    typed_for_parquet("grades", clean_tables()["grades"]).to_parquet(folder / "grades.parquet")

    assert "grades: both grades.csv and grades.parquet exist; keep only one" in problems_in(folder)


def test_an_unreadable_file_is_reported(tmp_path: Path) -> None:
    folder = write_bundle(tmp_path, clean_tables())
    (folder / "grades.csv").unlink()
    (folder / "grades.parquet").write_bytes(b"this is not parquet")

    problems = problems_in(folder)

    assert len(problems) == 1
    assert problems[0].startswith("grades: cannot read grades.parquet (")


def test_a_missing_folder_is_one_problem(tmp_path: Path) -> None:
    assert problems_in(tmp_path / "nowhere") == [f"bundle: folder {tmp_path / 'nowhere'} does not exist"]


def test_a_file_that_is_not_utf8_gets_a_hint(tmp_path: Path) -> None:
    folder = write_bundle(tmp_path, clean_tables())
    clean_tables()["grades"].to_csv(folder / "grades.csv", index=False, encoding="latin-1")

    problems = problems_in(folder)

    assert len(problems) == 1
    assert problems[0].startswith("grades: cannot read grades.csv (")
    assert problems[0].endswith("; save it as CSV UTF-8")


def test_a_youth_table_without_rows_is_an_error(tmp_path: Path) -> None:
    tables = clean_tables()
    tables["youth"] = tables["youth"].iloc[0:0]
    del tables["attendance"], tables["grades"], tables["school_incidents"]
    del tables["justice_contacts"], tables["programs"], tables["school_exits"]

    assert problems_in(write_bundle(tmp_path, tables)) == ["youth: the table has no rows"]


def test_missing_required_column_is_named(tmp_path: Path) -> None:
    tables = clean_tables()
    tables["attendance"] = tables["attendance"].drop(columns=["days_late"])

    assert problems_in(write_bundle(tmp_path, tables)) == ["attendance.days_late: required column missing"]


@pytest.mark.parametrize(
    ("table", "column", "value", "expected"),
    [
        pytest.param(
            "youth",
            "birth_date",
            "12/05/2009",
            "youth.birth_date: 1 value that is not a date (row 2: '12/05/2009'); expected YYYY-MM-DD",
            id="unparseable-date",
        ),
        pytest.param(
            "attendance",
            "days_late",
            "tres",
            "attendance.days_late: 1 non-numeric value (row 2: 'tres')",
            id="non-numeric-count",
        ),
        pytest.param(
            "attendance",
            "days_late",
            "2.5",
            "attendance.days_late: 1 value that is not a whole number (row 2: 2.5)",
            id="non-integer-count",
        ),
        pytest.param(
            "grades",
            "passed",
            "maybe",
            "grades.passed: 1 value that is not true/false (row 2: 'maybe')",
            id="non-boolean-passed",
        ),
        pytest.param(
            "youth", "municipality", "", "youth.municipality: 1 blank value (row 2)", id="blank-value"
        ),
        pytest.param(
            "school_exits",
            "date",
            "2024-07-01",
            "school_exits.date: 1 date after the extraction date 2024-06-30 (row 2: 2024-07-01)",
            id="future-date",
        ),
        pytest.param(
            "school_incidents",
            "severity",
            "4",
            "school_incidents.severity: 1 value off the 1-3 scale (row 2: 4)",
            id="severity-off-scale",
        ),
        pytest.param(
            "school_incidents",
            "category",
            "robbery",
            "school_incidents.category: 1 value not allowed (row 2: 'robbery'); "
            "allowed: fight, bullying, vandalism, substance, weapon, other",
            id="category-not-allowed",
        ),
        pytest.param(
            "programs",
            "end_date",
            "2024-01-01",
            "programs.end_date: 1 date before start_date (row 2: 2024-01-01 < 2024-01-15)",
            id="end-before-start",
        ),
        pytest.param(
            "programs",
            "sessions_attended",
            "6",
            "programs.sessions_attended: 1 value above sessions_offered (row 2: 6 > 5)",
            id="sessions-attended-above-offered",
        ),
    ],
)
def test_a_bad_cell_is_reported_with_table_column_count_row_and_value(
    tmp_path: Path, table: str, column: str, value: str, expected: str
) -> None:
    tables = with_value(clean_tables(), table, column, 2, value)

    assert problems_in(write_bundle(tmp_path, tables)) == [expected]


def test_negative_counts_are_reported_with_the_first_three_examples(tmp_path: Path) -> None:
    tables = clean_tables()
    for row, value in ((4, "-1"), (5, "-2"), (6, "-1"), (7, "-3")):
        tables = with_value(tables, "attendance", "days_absent_unexcused", row, value)
        tables = with_value(tables, "attendance", "period_start", row, f"2023-0{row}-01")
        tables = with_value(tables, "attendance", "period_end", row, f"2023-0{row}-28")

    assert problems_in(write_bundle(tmp_path, tables)) == [
        "attendance.days_absent_unexcused: 4 negative values (rows 4, 5, 6: -1, -2, -1)"
    ]


def test_grades_off_the_scale_are_reported(tmp_path: Path) -> None:
    tables = with_value(clean_tables(), "grades", "grade", 2, "11.5")
    tables = with_value(tables, "grades", "grade", 3, "-0.5")

    assert problems_in(write_bundle(tmp_path, tables)) == [
        "grades.grade: 2 values off the 0-10 scale (rows 2, 3: 11.5, -0.5)"
    ]


def test_absences_above_days_enrolled_are_reported(tmp_path: Path) -> None:
    tables = with_value(clean_tables(), "attendance", "days_absent_excused", 3, "16")

    assert problems_in(write_bundle(tmp_path, tables)) == [
        "attendance.days_absent_excused+days_absent_unexcused: 1 row whose sum exceeds days_enrolled "
        "(row 3: 16+5 > 20)"
    ]


def test_duplicate_keys_are_reported_with_the_row_they_repeat(tmp_path: Path) -> None:
    tables = with_value(clean_tables(), "attendance", "period_start", 2, "2023-01-01")
    tables = with_value(tables, "attendance", "period_end", 2, "2023-01-31")

    assert problems_in(write_bundle(tmp_path, tables)) == [
        "attendance.(youth_id, period_start): 1 duplicate key (row 2: 'Y001', 2023-01-01 as in row 1)"
    ]


def test_a_duplicate_key_further_down_an_unsorted_file_is_found(tmp_path: Path) -> None:
    tables = with_value(clean_tables(), "grades", "youth_id", 4, "Y001")
    tables = with_value(tables, "grades", "subject", 4, "español")

    assert problems_in(write_bundle(tmp_path, tables)) == [
        "grades.(youth_id, term_end, subject): 1 duplicate key "
        "(row 4: 'Y001', 2023-07-15, 'español' as in row 2)"
    ]


def test_ids_unknown_to_youth_are_reported(tmp_path: Path) -> None:
    tables = clean_tables()
    for row, youth_id in enumerate(("Y999", "Y998", "Y997", "Y996"), start=1):
        tables = with_value(tables, "justice_contacts", "youth_id", row, youth_id)
        tables = with_value(tables, "justice_contacts", "date", row, f"2023-0{row}-01")

    assert problems_in(write_bundle(tmp_path, tables)) == [
        "justice_contacts.youth_id: 4 ids unknown to youth (rows 1, 2, 3: 'Y999', 'Y998', 'Y997')"
    ]


def test_bad_cells_in_parquet_are_reported_like_csv(tmp_path: Path) -> None:
    tables = with_value(clean_tables(), "grades", "grade", 2, "11.5")
    tables = with_value(tables, "school_exits", "date", 1, "2025-01-01")

    problems = problems_in(write_bundle(tmp_path, tables, file_format="parquet"))

    assert problems == [
        "grades.grade: 1 value off the 0-10 scale (row 2: 11.5)",
        "school_exits.date: 1 date after the extraction date 2024-06-30 (row 1: 2025-01-01)",
    ]


def test_a_semicolon_separated_file_gets_a_hint(tmp_path: Path) -> None:
    folder = write_bundle(tmp_path, clean_tables())
    clean_tables()["grades"].to_csv(folder / "grades.csv", index=False, sep=";")

    assert problems_in(folder) == ["grades: grades.csv seems separated by ';'; save it comma-separated"]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    tables = with_value(clean_tables(), "youth", "sex", 1, "X")
    tables = with_value(tables, "grades", "grade", 1, "12")
    tables = with_value(tables, "school_incidents", "youth_id", 2, "Y404")
    tables["programs"] = tables["programs"].drop(columns=["status"])

    with pytest.raises(PreviError) as caught:
        load(write_bundle(tmp_path, tables))

    assert [line.split(":")[0] for line in caught.value.lines] == [
        "youth.sex",
        "grades.grade",
        "school_incidents.youth_id",
        "programs.status",
    ]


# --- command line ----------------------------------------------------------------------------


def test_cli_reports_every_problem_and_exits_2_without_traceback(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cli.app import app

    tables = with_value(clean_tables(), "grades", "grade", 1, "12")
    tables = with_value(tables, "attendance", "days_late", 3, "-1")
    folder = write_bundle(tmp_path / "bundle", tables, extraction_date=EXTRACTION)

    result = CliRunner().invoke(app, ["validate", str(folder)])

    assert result.exit_code == 2
    assert "error: attendance.days_late: 1 negative value (row 3: -1)" in result.stderr
    assert "error: grades.grade: 1 value off the 0-10 scale (row 1: 12)" in result.stderr
    assert "Traceback" not in result.output


def test_cli_prints_the_tables_found_for_a_clean_bundle(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cli.app import app

    tables = clean_tables()
    del tables["school_exits"]
    folder = write_bundle(tmp_path / "bundle", tables, extraction_date=EXTRACTION)

    result = CliRunner().invoke(app, ["validate", str(folder)])

    assert result.exit_code == 0, result.output
    assert "attendance" in result.stdout
    assert "school_exits: absent (optional)" in result.stdout


def test_cli_takes_the_extraction_date_and_audit_columns_from_the_config(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cli.app import app

    tables = clean_tables()
    tables["youth"]["indigenous"] = ["sí", "no", "no"]
    folder = write_bundle(tmp_path / "bundle", tables, extraction_date=EXTRACTION)
    config = tmp_path / "previ.yaml"
    config.write_text(
        "data:\n  extraction_date: 2024-01-20\n  audit_columns: [indigenous]\n", encoding="utf-8"
    )

    result = CliRunner().invoke(app, ["validate", str(folder), "--config", str(config)])

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: school_exits.date: 1 date after the extraction date 2024-01-20 (row 1: 2024-01-31)"
    ]
    assert "ignored unknown columns" not in result.stdout
