"""Flat tables for ``previ train --table``: messy files in, a clean TrainingSet out, or one clear error."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from previ.errors import PreviError
from training.table import MISSING_GROUP, read_flat_table

Columns = dict[str, list[str]]
DATE_DROPPED = (
    "dropped date column V10_data_naixement (a date is not a feature; pass it as --time if it dates the row)"
)

# --- factories -------------------------------------------------------------------------------


def youth_columns(**overrides: list[str]) -> Columns:
    """Eight young people, every cell as the text a spreadsheet export would hold."""
    columns: Columns = {
        "id": ["Y1", "Y2", "Y3", "Y4", "Y5", "Y6", "Y7", "Y8"],
        "reincidencia": ["Sí", "No", "No", "Sí", "No", "No", "Sí", "No"],
        "sexe": ["Dona", "Home", "Dona", "Home", "", "Dona", "Home", "Dona"],
        "puntuacio": ["0,75", "1,5", "2", "3,25", "0,5", "1", "2,5", "4"],
        "escola": ["B", "A", "B", "C", "A", "B", "C", "A"],
    }
    columns.update(overrides)
    return columns


def write_csv(
    directory: Path,
    columns: Columns,
    *,
    sep: str = ";",
    encoding: str = "utf-8",
    name: str = "taula.csv",
) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(zip(*columns.values(), strict=True))
    path = directory / name
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


# --- reading the file ------------------------------------------------------------------------


def test_semicolon_file_with_decimal_commas_reads_numbers(tmp_path: Path) -> None:
    training = read_flat_table(
        write_csv(tmp_path, youth_columns()), label="reincidencia", id_column="id", positive="Sí"
    )

    assert training.features["puntuacio"].dtype == "float64"
    assert training.features["puntuacio"].tolist() == [0.75, 1.5, 2.0, 3.25, 0.5, 1.0, 2.5, 4.0]
    assert training.warnings == ()


def test_comma_file_with_quoted_decimal_commas_reads_numbers(tmp_path: Path) -> None:
    path = write_csv(tmp_path, youth_columns(), sep=",")

    training = read_flat_table(path, label="reincidencia", id_column="id", positive="Sí")

    assert training.features["puntuacio"].tolist()[:2] == [0.75, 1.5]


def test_thousands_separators_are_read_in_either_convention(tmp_path: Path) -> None:
    columns = youth_columns(
        euros=["1.234,5", "2.000", "15,25", "7", "1.000.000", "3,5", "0", "12"],
        dollars=["1,234.5", "2,000", "15.25", "7", "1,000,000", "3.5", "0", "12"],
    )
    training = read_flat_table(
        write_csv(tmp_path, columns), label="reincidencia", id_column="id", positive="Sí"
    )

    expected = [1234.5, 2000.0, 15.25, 7.0, 1_000_000.0, 3.5, 0.0, 12.0]
    assert training.features["euros"].tolist() == expected
    assert training.features["dollars"].tolist() == expected


def test_latin1_file_is_read_with_a_warning(tmp_path: Path) -> None:
    path = write_csv(tmp_path, youth_columns(comarca=["Gironès"] * 4 + ["Segrià"] * 4), encoding="latin-1")

    training = read_flat_table(path, label="reincidencia", id_column="id", positive="Sí")

    assert training.label.tolist() == [1, 0, 0, 1, 0, 0, 1, 0]
    assert list(training.features["comarca"].cat.categories) == ["Gironès", "Segrià"]
    assert training.warnings == ("--table: taula.csv is not UTF-8; read it as cp1252 (check the accents)",)


def test_unnamed_index_column_is_ignored_with_a_warning(tmp_path: Path) -> None:
    path = write_csv(tmp_path, {"": [str(i) for i in range(8)], **youth_columns()})

    training = read_flat_table(path, label="reincidencia", id_column="id", positive="Sí")

    assert training.feature_names == ["sexe", "puntuacio", "escola"]
    assert "--table: ignored 1 column(s) without a name in the header of taula.csv (position 1)" in (
        training.warnings
    )


def test_comma_file_with_unquoted_decimal_commas_is_an_error_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "taula.csv"
    path.write_text("id,reincidencia,puntuacio\nY1,1,0,75\nY2,0,1,5\n", encoding="utf-8")

    with pytest.raises(PreviError, match="must be quoted, or the file separated by ';'"):
        read_flat_table(path, label="reincidencia", id_column="id")


def test_parquet_table_keeps_its_types(tmp_path: Path) -> None:
    path = tmp_path / "taula.parquet"
    pd.DataFrame(
        {
            "id": [101, 102, 103, 104],
            "label": [True, False, False, True],
            "edat": pd.array([14, 15, None, 17], dtype="Int64"),
            "mediacio": pd.array([True, None, False, True], dtype="boolean"),
            "escola": pd.Categorical(["B", "A", "B", "A"]),
            "data_fet": pd.to_datetime(["2010-01-02", "2010-03-04", "2010-05-06", "2010-07-08"]),
        }
    ).to_parquet(path)

    training = read_flat_table(path, label="label", id_column="id")

    assert training.ids.tolist() == ["101", "102", "103", "104"]
    assert training.label.tolist() == [1, 0, 0, 1]
    np.testing.assert_array_equal(training.features["edat"], [14.0, 15.0, np.nan, 17.0])
    np.testing.assert_array_equal(training.features["mediacio"], [1.0, np.nan, 0.0, 1.0])
    assert list(training.features["escola"].cat.categories) == ["A", "B"]
    assert "data_fet" not in training.feature_names


@pytest.mark.parametrize(
    ("name", "expected"),
    [("absent.csv", "--table: file {path} does not exist"), ("taula.xlsx", "--table: taula.xlsx must end")],
)
def test_missing_file_or_unknown_suffix_is_an_error(tmp_path: Path, name: str, expected: str) -> None:
    path = tmp_path / name
    if name.endswith(".xlsx"):
        path.write_bytes(b"not a table")

    with pytest.raises(PreviError) as raised:
        read_flat_table(path, label="y", id_column="id")

    assert str(raised.value).startswith(expected.format(path=path))


# --- role columns: id, label, time, groups ---------------------------------------------------


def test_every_missing_column_is_reported_at_once_with_the_closest_names(tmp_path: Path) -> None:
    path = write_csv(tmp_path, youth_columns())

    with pytest.raises(PreviError) as raised:
        read_flat_table(
            path, label="Reincidència", id_column="ID_jove", time="data", groups=["Sexe"], positive="Sí"
        )

    assert raised.value.lines == (
        "--label: column 'Reincidència' not found in taula.csv (closest: 'reincidencia')",
        "--id: column 'ID_jove' not found in taula.csv",
        "--time: column 'data' not found in taula.csv",
        "--group: column 'Sexe' not found in taula.csv (closest: 'sexe')",
    )


def test_a_column_in_two_roles_is_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path, youth_columns())

    with pytest.raises(PreviError, match="column 'sexe' is given both as --group and as --group"):
        read_flat_table(path, label="reincidencia", id_column="id", groups=["sexe", "sexe"], positive="Sí")
    with pytest.raises(PreviError, match="column 'id' is given both as --id and as --group"):
        read_flat_table(path, label="reincidencia", id_column="id", groups=["id"], positive="Sí")


def test_id_column_goes_to_ids_and_never_to_features(tmp_path: Path) -> None:
    training = read_flat_table(
        write_csv(tmp_path, youth_columns(id=["007", "8", "9", "10", "11", "12", "13", "14"])),
        label="reincidencia",
        id_column="id",
        positive="Sí",
    )

    assert training.ids.tolist() == ["007", "8", "9", "10", "11", "12", "13", "14"]
    assert "id" not in training.feature_names


def test_duplicate_ids_without_time_are_an_error_naming_count_and_examples(tmp_path: Path) -> None:
    path = write_csv(tmp_path, youth_columns(id=["Y1", "Y2", "Y1", "Y4", "Y2", "Y6", "Y7", "Y1"]))

    with pytest.raises(PreviError) as raised:
        read_flat_table(path, label="reincidencia", id_column="id", positive="Sí")

    assert str(raised.value) == (
        "--id: 2 id(s) of column 'id' appear on more than one row (e.g. 'Y1', 'Y2'); "
        "without --time each row must be a different person"
    )


def test_blank_ids_are_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path, youth_columns(id=["Y1", "", "Y3", "Y4", "nan", "Y6", "Y7", "Y8"]))

    with pytest.raises(
        PreviError, match=r"^--id: column 'id' is blank in 2 row\(s\); every row needs an id$"
    ):
        read_flat_table(path, label="reincidencia", id_column="id", positive="Sí")


def test_time_column_is_parsed_day_first_and_never_a_feature(tmp_path: Path) -> None:
    dates = ["12/03/2010", "01/02/2011"] * 4  # either day or month first: day first wins
    columns = youth_columns(id=["Y1", "Y1", "Y2", "Y2", "Y3", "Y3", "Y4", "Y4"], data=dates)

    training = read_flat_table(
        write_csv(tmp_path, columns), label="reincidencia", id_column="id", time="data", positive="Sí"
    )

    assert training.time is not None
    assert training.time.dtype == np.dtype("datetime64[ns]")
    assert training.time[:2].tolist() == [pd.Timestamp("2010-03-12").value, pd.Timestamp("2011-02-01").value]
    assert training.ids.tolist()[:2] == ["Y1", "Y1"]
    assert "data" not in training.feature_names


def test_the_same_id_twice_at_the_same_time_is_an_error(tmp_path: Path) -> None:
    columns = youth_columns(id=["Y1", "Y1", "Y3", "Y4"] * 2, data=["2010-01-31"] * 8)

    with pytest.raises(
        PreviError, match=r"--id/--time: 3 pair\(s\) of 'id' and 'data' appear .*'Y1 on 2010-01-31'"
    ):
        read_flat_table(
            write_csv(tmp_path, columns), label="reincidencia", id_column="id", time="data", positive="Sí"
        )


def test_unparseable_and_blank_times_are_errors_naming_column_and_count(tmp_path: Path) -> None:
    dates = ["2010-03-12", "ahir", "2010-13-45", "", "2010-03-12", "2010-04-01", "2010-05-01", "ahir"]
    path = write_csv(tmp_path, youth_columns(data=dates))

    with pytest.raises(PreviError) as raised:
        read_flat_table(path, label="reincidencia", id_column="id", time="data", positive="Sí")

    assert raised.value.lines == (
        "--time: column 'data' has 3 value(s) that are not dates (e.g. '2010-13-45', 'ahir'); "
        "expected YYYY-MM-DD or DD/MM/YYYY",
        "--time: column 'data' is blank in 1 row(s); every row needs a date",
    )


def test_group_columns_are_audit_only_and_blanks_form_a_group(tmp_path: Path) -> None:
    training = read_flat_table(
        write_csv(tmp_path, youth_columns()),
        label="reincidencia",
        id_column="id",
        groups=["sexe", "escola"],
        positive="Sí",
    )

    assert training.feature_names == ["puntuacio"]
    assert list(training.groups.columns) == ["sexe", "escola"]
    assert training.groups["sexe"].dtype == "string"
    assert training.groups["sexe"].tolist() == [
        "Dona",
        "Home",
        "Dona",
        "Home",
        "missing",
        "Dona",
        "Home",
        "Dona",
    ]


def test_missing_group_value_is_the_audits_own() -> None:
    from fairness_audits.groups import MISSING_VALUE

    assert MISSING_GROUP == MISSING_VALUE


# --- the label --------------------------------------------------------------------------------


@pytest.mark.parametrize("values", [["1", "0"], ["1.0", "0.0"], ["TRUE", "false"]])
def test_numeric_or_true_false_label_is_used_as_is(tmp_path: Path, values: list[str]) -> None:
    columns = youth_columns(reincidencia=values * 4)

    training = read_flat_table(write_csv(tmp_path, columns), label="reincidencia", id_column="id")

    assert training.label.dtype == np.int8
    assert training.label.tolist() == [1, 0] * 4


def test_text_label_without_positive_lists_its_values_and_suggests_positive(tmp_path: Path) -> None:
    with pytest.raises(PreviError) as raised:
        read_flat_table(write_csv(tmp_path, youth_columns()), label="reincidencia", id_column="id")

    assert str(raised.value) == (
        "--label: column 'reincidencia' holds text (values: 'No', 'Sí'); "
        "pass --positive VALUE to say which value means the outcome happened"
    )


def test_positive_ignores_case_and_spaces_but_not_accents(tmp_path: Path) -> None:
    path = write_csv(tmp_path, youth_columns())

    training = read_flat_table(path, label="reincidencia", id_column="id", positive=" SÍ ")
    assert training.label.tolist() == [1, 0, 0, 1, 0, 0, 1, 0]

    with pytest.raises(PreviError) as raised:
        read_flat_table(path, label="reincidencia", id_column="id", positive="Si")
    assert str(raised.value) == (
        "--positive: 'Si' is not a value of column 'reincidencia' (values: 'No', 'Sí'); "
        "the comparison ignores case but not accents"
    )


def test_positive_counts_every_other_value_as_negative_with_a_warning(tmp_path: Path) -> None:
    columns = youth_columns(reincidencia=["Alt", "Baix", "Moderat", "Alt", "Baix", "Moderat", "Alt", "Baix"])

    training = read_flat_table(
        write_csv(tmp_path, columns), label="reincidencia", id_column="id", positive="alt"
    )

    assert training.label.tolist() == [1, 0, 0, 1, 0, 0, 1, 0]
    assert (
        "--label: values of 'reincidencia' counted as negative (0): 'Baix', 'Moderat'; only 'alt' is positive"
        in training.warnings
    )


def test_rows_with_a_blank_label_are_dropped_with_their_count(tmp_path: Path) -> None:
    columns = youth_columns(reincidencia=["Sí", "", "No", "Sí", "nan", "No", " ", "No"])

    training = read_flat_table(
        write_csv(tmp_path, columns), label="reincidencia", id_column="id", positive="Sí"
    )

    assert training.ids.tolist() == ["Y1", "Y3", "Y4", "Y6", "Y8"]
    assert training.label.tolist() == [1, 0, 1, 0, 0]
    assert len(training.features) == len(training.groups) == 5
    assert "--label: dropped 3 row(s) with no value in 'reincidencia'" in training.warnings


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            ["0", "1", "2", "1"],
            "--label: column 'reincidencia' has values '0', '1', '2'; expected 0/1 or true/false "
            "(or pass --positive VALUE to count one value as positive and the others as negative)",
        ),
        (
            ["1", "1", "", "1"],
            "--label: column 'reincidencia' has a single class among the labelled rows ('1'); "
            "a model needs both",
        ),
    ],
)
def test_a_label_that_is_not_binary_is_an_error_naming_column_and_values(
    tmp_path: Path, values: list[str], message: str
) -> None:
    path = write_csv(tmp_path, youth_columns(reincidencia=values * 2))

    with pytest.raises(PreviError) as raised:
        read_flat_table(path, label="reincidencia", id_column="id")

    assert str(raised.value) == message


def test_a_label_without_values_is_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path, youth_columns(reincidencia=["", "nan"] * 4))

    with pytest.raises(PreviError, match=r"^--label: column 'reincidencia' has no values$"):
        read_flat_table(path, label="reincidencia", id_column="id", positive="Sí")


def test_a_positive_that_every_row_has_leaves_one_class(tmp_path: Path) -> None:
    path = write_csv(tmp_path, youth_columns(reincidencia=["Sí"] * 8))

    with pytest.raises(PreviError, match="has a single class among the labelled rows"):
        read_flat_table(path, label="reincidencia", id_column="id", positive="Sí")


# --- feature columns --------------------------------------------------------------------------


def test_exclude_patterns_are_case_sensitive_globs(tmp_path: Path) -> None:
    columns = youth_columns(
        V100_rein_nombre=["1"] * 3 + ["0"] * 5,
        V132_REIN=["Sí", "No"] * 4,
        v101_minuscula=["3", "4"] * 4,
    )

    training = read_flat_table(
        write_csv(tmp_path, columns),
        label="reincidencia",
        id_column="id",
        positive="Sí",
        exclude=["V1[0-3][0-9]_*", "V999_*"],
    )

    assert training.feature_names == ["sexe", "puntuacio", "escola", "v101_minuscula"]
    assert "--exclude: pattern 'V999_*' matches no column (patterns are case-sensitive)" in training.warnings


def test_a_mostly_numeric_column_reads_its_leftovers_as_missing_with_a_warning(tmp_path: Path) -> None:
    values = [str(value) for value in range(40)] + ["desconegut"]
    columns = {
        "id": [f"Y{i}" for i in range(41)],
        "reincidencia": ["Sí", "No"] * 20 + ["No"],
        "edat": values,
    }

    training = read_flat_table(
        write_csv(tmp_path, columns), label="reincidencia", id_column="id", positive="Sí"
    )

    assert training.features["edat"].dtype == "float64"
    assert training.features["edat"].isna().sum() == 1
    assert training.warnings == (
        "edat: read as numbers; 1 value(s) that are not numbers read as missing (e.g. 'desconegut')",
    )


def test_a_column_with_too_many_non_numbers_is_a_category(tmp_path: Path) -> None:
    columns = youth_columns(nivell=["1", "2", "alt", "1", "2", "1", "2", "1"])

    training = read_flat_table(
        write_csv(tmp_path, columns), label="reincidencia", id_column="id", positive="Sí"
    )

    assert list(training.features["nivell"].cat.categories) == ["1", "2", "alt"]


def test_text_becomes_a_category_with_sorted_levels_and_blanks_missing(tmp_path: Path) -> None:
    columns = youth_columns(programa=["Mediació", "Internament", "", "LV", "NULL", "LV", "Mediació", " LV "])

    training = read_flat_table(
        write_csv(tmp_path, columns), label="reincidencia", id_column="id", positive="Sí"
    )

    programa = training.features["programa"]
    assert list(programa.cat.categories) == ["Internament", "LV", "Mediació"]
    assert programa.tolist()[:4] == ["Mediació", "Internament", np.nan, "LV"]
    assert programa.isna().sum() == 2
    assert training.categorical == ["sexe", "escola", "programa"]


def test_text_with_too_many_levels_is_dropped_as_an_id_or_free_text(tmp_path: Path) -> None:
    n = 60
    columns = {
        "id": [f"Y{i}" for i in range(n)],
        "reincidencia": ["Sí", "No"] * (n // 2),
        "nom": [f"nom {i}" for i in range(n)],
        "municipi": [f"municipi {i % 51}" for i in range(n)],
        "escola": ["A", "B", "C"] * (n // 3),
    }

    training = read_flat_table(
        write_csv(tmp_path, columns), label="reincidencia", id_column="id", positive="Sí"
    )

    assert training.feature_names == ["escola"]
    assert training.warnings == (
        "dropped column nom: 60 different values, too many for a category (an id or free text?); "
        "group them into fewer values to use it",
        "dropped column municipi: 51 different values, too many for a category (an id or free text?); "
        "group them into fewer values to use it",
    )


def test_text_where_most_values_differ_is_dropped(tmp_path: Path) -> None:
    n = 24
    columns = {
        "id": [f"Y{i}" for i in range(n)],
        "reincidencia": ["Sí", "No"] * (n // 2),
        "observacions": [f"text {i % 13}" for i in range(n)],
        "escola": ["A", "B", "C"] * (n // 3),
    }

    training = read_flat_table(
        write_csv(tmp_path, columns), label="reincidencia", id_column="id", positive="Sí"
    )

    assert training.feature_names == ["escola"]


@pytest.mark.parametrize(
    "dates",
    [
        [
            "2010-03-12",
            "2011-01-02",
            "2009-12-31",
            "",
            "2010-06-01",
            "2010-06-02",
            "2010-06-03",
            "2010-06-04",
        ],
        [
            "12/03/2010",
            "01/02/2011",
            "31/12/2009",
            "",
            "01/06/2010",
            "02/06/2010",
            "03/06/2010",
            "04/06/2010",
        ],
        ["10-Nov-1992", "02-Jul-1995", "nan", "", "01-Jan-1994", "05-Dec-1992", "16-Jul-1992", "05-Oct-1992"],
    ],
)
def test_date_columns_are_dropped_with_a_warning(tmp_path: Path, dates: list[str]) -> None:
    columns = youth_columns(V10_data_naixement=dates)

    training = read_flat_table(
        write_csv(tmp_path, columns), label="reincidencia", id_column="id", positive="Sí"
    )

    assert "V10_data_naixement" not in training.feature_names
    assert training.warnings == (DATE_DROPPED,)


def test_yes_no_columns_become_one_and_zero(tmp_path: Path) -> None:
    columns = youth_columns(
        mediacio=["Sí", "No", "", "si", "NO", "No", "Sí", "No"],
        antecedents=["true", "false", "TRUE", "False", "true", "false", "true", "false"],
    )

    training = read_flat_table(
        write_csv(tmp_path, columns), label="reincidencia", id_column="id", positive="Sí"
    )

    np.testing.assert_array_equal(training.features["mediacio"], [1.0, 0.0, np.nan, 1.0, 0.0, 0.0, 1.0, 0.0])
    assert training.features["antecedents"].tolist() == [1.0, 0.0] * 4
    assert training.features["antecedents"].dtype == "float64"


def test_constant_and_empty_columns_are_dropped_with_a_warning(tmp_path: Path) -> None:
    columns = youth_columns(
        programa=["LV"] * 8,
        versio=["2"] * 8,
        xxxxxxxx_SAVRY=["nan"] * 8,
        SAVRY=["LV", "", "", "", "", "", "", ""],
    )

    training = read_flat_table(
        write_csv(tmp_path, columns), label="reincidencia", id_column="id", positive="Sí"
    )

    assert training.feature_names == ["sexe", "puntuacio", "escola", "SAVRY"]
    assert training.warnings == (
        "dropped constant column programa (every row is LV)",
        "dropped constant column versio (every row is 2)",
        "dropped empty column xxxxxxxx_SAVRY (no values)",
    )


def test_a_feature_that_alone_predicts_the_label_is_kept_with_a_warning(tmp_path: Path) -> None:
    columns = youth_columns(V100_rein_nombre_fets=["2", "", "", "1", "", "", "3", ""])

    training = read_flat_table(
        write_csv(tmp_path, columns), label="reincidencia", id_column="id", positive="Sí"
    )

    assert "V100_rein_nombre_fets" in training.feature_names
    assert training.warnings == (
        "V100_rein_nombre_fets alone ranks the label with AUC 1.00: if it describes the outcome, "
        "exclude it with --exclude",
    )


def test_no_feature_left_is_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path, youth_columns())

    with pytest.raises(PreviError, match=r"^--table: no feature column left in taula\.csv"):
        read_flat_table(path, label="reincidencia", id_column="id", positive="Sí", exclude=["*"])


def test_the_training_set_is_what_training_expects(tmp_path: Path) -> None:
    training = read_flat_table(
        write_csv(tmp_path, youth_columns()),
        label="reincidencia",
        id_column="id",
        groups=["sexe"],
        positive="Sí",
    )

    assert training.source == "table"
    assert training.horizon_days is None
    assert training.registry == {}
    assert training.time is None
    assert training.monotone == {"puntuacio": 0, "escola": 0}
    assert {str(dtype) for dtype in training.features.dtypes} == {"float64", "category"}
    assert training.subset(np.array([0, 2])).ids.tolist() == ["Y1", "Y3"]


# --- real data --------------------------------------------------------------------------------


@pytest.mark.slow
def test_catalonia_juvenile_justice_table_reads_as_published(catalonia_csv: Path) -> None:
    path = catalonia_csv

    training = read_flat_table(
        path,
        label="V115_reincidencia_2015",
        id_column="id",
        groups=["V1_sexe", "V4_nacionalitat_agrupat"],
        exclude=["V1[0-3][0-9]_*"],  # V100-V132 describe the recidivism itself
        positive="Sí",
    )

    assert len(training.label) == len(training.features) == 4_753
    assert training.label.mean() == pytest.approx(0.341, abs=0.001)
    assert len(set(training.ids)) == 4_753
    assert [name for name in training.feature_names if re.match(r"V1[0-3][0-9]_", name)] == []
    assert not {"V1_sexe", "V4_nacionalitat_agrupat", "V115_reincidencia_2015", "id"} & set(
        training.feature_names
    )
    assert training.groups["V4_nacionalitat_agrupat"].value_counts()[MISSING_GROUP] == 3_028
    savry = training.features["V60_SAVRY_total_score"]
    assert savry.dtype == "float64"
    assert savry.notna().sum() == 858
    assessed = savry.notna().to_numpy()
    # the README's reference: the SAVRY total ranks recidivism with AUC 0.635 on the assessed
    assert roc_auc_score(training.label[assessed], savry[assessed]) == pytest.approx(0.635, abs=0.001)
    assert DATE_DROPPED in training.warnings
    assert len(training.feature_names) == 89
