"""previ synth: deterministic, schema-true bundles whose truth file really predicts the records."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from features.schemas import TABLES
from previ.config import SynthConfig
from previ.errors import PreviError
from synthetic import synth as synth_module
from synthetic.synth import DRIVERS, Format, SyntheticBundle, simulate_bundle, synthesize

SEED = 11
HORIZON = dt.timedelta(days=365)
NO_DRIVER = "none"


def _config(**overrides: object) -> SynthConfig:
    values: dict[str, object] = {"youth": 1500, "years": 3, "seed": SEED, **overrides}
    return SynthConfig.model_validate(values)


def _digests(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.iterdir())}


def _read(folder: Path, name: str) -> pd.DataFrame:
    frame = pq.read_table(folder / f"{name}.parquet").to_pandas()
    for column in frame.columns:
        if name in TABLES and column in TABLES[name].column_names:
            if TABLES[name].column(column).kind == "date":
                frame[column] = pd.to_datetime(frame[column])
        elif column == "as_of":
            frame[column] = pd.to_datetime(frame[column])
    return frame


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synth") / "bundle"
    synthesize(_config(), folder)
    return folder


@pytest.fixture(scope="module")
def manifest(bundle_dir: Path) -> dict[str, object]:
    return dict(json.loads((bundle_dir / "manifest.json").read_text(encoding="utf-8")))


# --- determinism ---------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_same_seed_writes_identical_bytes_and_another_seed_does_not(tmp_path: Path, fmt: Format) -> None:
    config = _config(youth=400, years=2)
    synthesize(config, tmp_path / "a", fmt=fmt)
    synthesize(config, tmp_path / "b", fmt=fmt)
    synthesize(_config(youth=400, years=2, seed=SEED + 1), tmp_path / "c", fmt=fmt)
    first, second, other = (_digests(tmp_path / name) for name in "abc")
    assert first == second
    assert set(first) == {
        *(f"{name}.{fmt}" for name in TABLES),
        f"truth.{fmt}",
        "truth_effects.json",
        "manifest.json",
    }
    differing = {name for name in first if first[name] != other[name]}
    assert differing >= {f"{name}.{fmt}" for name in TABLES} | {f"truth.{fmt}"}


def test_manifest_describes_the_bundle(manifest: dict[str, object]) -> None:
    assert manifest["generator"] == "previ synth"
    assert manifest["seed"] == SEED
    assert manifest["youth"] == 1500
    assert manifest["years"] == 3
    assert manifest["start"] == "2021-08-01"
    assert manifest["extraction_date"] == "2024-07-31"
    assert manifest["tables"] == list(TABLES)
    assert manifest["format"] == "parquet"
    assert manifest["bias"] is None
    assert manifest["as_of"] == ["2022-08-01", "2023-02-01", "2023-08-01"]


# --- the tables keep the contract of features/schemas.py -------------------------------------------
@pytest.mark.parametrize("name", list(TABLES))
def test_table_has_the_schema_columns_kinds_and_values(bundle_dir: Path, name: str) -> None:
    schema = TABLES[name]
    frame = _read(bundle_dir, name)
    extra = ["indigenous", "disability"] if name == "youth" else []
    assert list(frame.columns) == [*schema.column_names, *extra]
    assert len(frame) > 0
    for column in schema.columns:
        values = frame[column.name]
        if not column.nullable:
            assert values.notna().all(), column.name
        present = values.dropna()
        if column.kind in ("id", "text", "category"):
            assert all(isinstance(value, str) and value for value in present), column.name
        if column.kind == "date":
            assert pd.api.types.is_datetime64_any_dtype(values), column.name
        if column.kind == "int":
            assert pd.api.types.is_integer_dtype(values), column.name
        if column.kind == "bool":
            assert pd.api.types.is_bool_dtype(values), column.name
        if column.allowed is not None:
            assert set(present) <= set(column.allowed), column.name
        if column.minimum is not None:
            assert (present >= column.minimum).all(), column.name
        if column.maximum is not None:
            assert (present <= column.maximum).all(), column.name
    if schema.key:
        assert not frame.duplicated(list(schema.key)).any()
    for order in schema.date_orders:
        both = frame[order.end].notna()
        assert (frame.loc[both, order.end] >= frame.loc[both, order.start]).all()
    for parts, whole in schema.sum_limits:
        assert (frame[list(parts)].sum(axis=1) <= frame[whole]).all()


def test_events_name_known_youth_and_fall_within_the_simulated_period(
    bundle_dir: Path, manifest: dict[str, object]
) -> None:
    youth = _read(bundle_dir, "youth")
    assert youth["youth_id"].is_unique
    assert youth["youth_id"].str.fullmatch(r"Y\d{6}").all()
    extraction = pd.Timestamp(str(manifest["extraction_date"]))
    start = pd.Timestamp(str(manifest["start"]))
    for name, schema in TABLES.items():
        if name == "youth":
            continue
        frame = _read(bundle_dir, name)
        assert frame["youth_id"].isin(youth["youth_id"]).all(), name
        for column in schema.columns:
            if column.kind == "date":
                dates = frame[column.name].dropna()
                assert dates.between(start, extraction).all(), (name, column.name)


def test_grades_use_the_mexican_scale(bundle_dir: Path) -> None:
    grades = _read(bundle_dir, "grades")
    assert grades["grade"].between(0, 10).all()
    assert (grades["passed"] == (grades["grade"] >= 6)).all()
    assert grades["term_end"].dt.month.isin([3, 7, 11]).all()
    assert grades["subject"].nunique() == 6
    assert 0.01 < (~grades["passed"]).mean() < 0.2


def test_youth_have_plausible_attributes(bundle_dir: Path) -> None:
    youth = _read(bundle_dir, "youth")
    assert set(youth["sex"]) == {"F", "M"}
    assert youth["municipality"].nunique() == 6
    shares = youth["municipality"].value_counts(normalize=True)
    assert shares.iloc[0] > 2 * shares.iloc[-1]  # skewed sizes
    assert 0.08 < youth["indigenous"].mean() < 0.22
    assert 0.02 < youth["disability"].mean() < 0.09
    enrolled = youth["school_id"].dropna()
    assert enrolled.str.fullmatch(r"ESC-[A-Z]{3}-\d{3}").all()
    assert (enrolled.str[4:7] == youth.loc[enrolled.index, "municipality"].map(_municipality_codes())).all()


def _municipality_codes() -> dict[str, str]:
    from synthetic._world import MUNICIPALITIES

    return {municipality.name: municipality.code for municipality in MUNICIPALITIES}


def test_programmes_are_active_only_while_running_at_extraction(bundle_dir: Path) -> None:
    programs = _read(bundle_dir, "programs")
    active = programs["status"] == "active"
    assert programs.loc[active, "end_date"].isna().all()
    assert programs.loc[~active, "end_date"].notna().all()
    assert set(programs["status"]) == {"active", "completed", "dropped"}


def test_no_school_records_after_dropping_out(bundle_dir: Path) -> None:
    exits = _read(bundle_dir, "school_exits")
    dropped = exits.loc[exits["reason"] == "dropped_out"].set_index("youth_id")["date"]
    attendance = _read(bundle_dir, "attendance")
    grades = _read(bundle_dir, "grades")
    assert len(dropped) > 0
    after_attendance = attendance["period_end"] >= attendance["youth_id"].map(dropped)
    after_grades = grades["term_end"] >= grades["youth_id"].map(dropped)
    assert not after_attendance.any()
    assert not after_grades.any()


# --- the truth -------------------------------------------------------------------------------------
def test_truth_covers_ages_11_to_19_with_valid_values(bundle_dir: Path, manifest: dict[str, object]) -> None:
    truth = _read(bundle_dir, "truth")
    youth = _read(bundle_dir, "youth").set_index("youth_id")
    assert list(truth.columns) == ["youth_id", "as_of", "true_probability", "true_main_driver", "true_need"]
    assert [day.date().isoformat() for day in sorted(truth["as_of"].unique())] == manifest["as_of"]
    assert not truth.duplicated(["youth_id", "as_of"]).any()
    birth = truth["youth_id"].map(youth["birth_date"])
    had_birthday = (truth["as_of"].dt.month > birth.dt.month) | (
        (truth["as_of"].dt.month == birth.dt.month) & (truth["as_of"].dt.day >= birth.dt.day)
    )
    age = truth["as_of"].dt.year - birth.dt.year - (~had_birthday).astype(int)
    assert age.between(11, 19).all()
    assert truth["true_probability"].between(0, 1).all()
    assert set(truth["true_main_driver"]) <= {*DRIVERS, NO_DRIVER}
    assert {"unexcused_absences", "school_incidents", NO_DRIVER} <= set(truth["true_main_driver"])
    assert np.isfinite(truth["true_need"]).all()


def test_truth_leaves_out_youth_who_graduated_or_transferred_before(bundle_dir: Path) -> None:
    truth = _read(bundle_dir, "truth")
    exits = _read(bundle_dir, "school_exits")
    left = exits.loc[exits["reason"].isin(["graduated", "transferred"])].set_index("youth_id")["date"]
    assert not (truth["youth_id"].map(left) < truth["as_of"]).any()


def _realised_outcomes(folder: Path, truth: pd.DataFrame) -> np.ndarray:
    """Whether each truth row has a recorded adverse outcome in [as_of, as_of + 365 days)."""
    justice = _read(folder, "justice_contacts")
    exits = _read(folder, "school_exits")
    violent = (justice["kind"] == "civic_infraction") & (justice["category"] == "violence")
    serious = justice["kind"].isin(["detention", "probation_start"])
    events = pd.concat(
        [
            justice.loc[violent | serious, ["youth_id", "date"]],
            exits.loc[exits["reason"] == "dropped_out", ["youth_id", "date"]],
        ]
    )
    pairs = truth[["youth_id", "as_of"]].reset_index().merge(events, on="youth_id")
    inside = (pairs["date"] >= pairs["as_of"]) & (pairs["date"] < pairs["as_of"] + HORIZON)
    hit = set(pairs.loc[inside, "index"])
    return np.array([row in hit for row in range(len(truth))])


def test_outcome_rate_is_plausible_and_matches_the_true_probabilities(bundle_dir: Path) -> None:
    truth = _read(bundle_dir, "truth")
    outcome = _realised_outcomes(bundle_dir, truth)
    assert 0.06 < outcome.mean() < 0.16
    assert abs(outcome.mean() - truth["true_probability"].mean()) < 0.02


def test_higher_true_probability_goes_with_more_realised_outcomes(bundle_dir: Path) -> None:
    truth = _read(bundle_dir, "truth")
    outcome = _realised_outcomes(bundle_dir, truth)
    assert roc_auc_score(outcome, truth["true_probability"]) > 0.7
    by_need = outcome[np.argsort(truth["true_need"].to_numpy())]
    fifth = len(by_need) // 5
    assert by_need[-fifth:].mean() > 3 * by_need[:fifth].mean()


def test_summary_reports_rows_and_outcome_rate(tmp_path: Path) -> None:
    summary = synthesize(_config(youth=300, years=2), tmp_path / "out")
    assert summary.rows["youth"] == 300
    assert set(summary.rows) == set(TABLES)
    assert summary.truth_rows == pq.read_metadata(tmp_path / "out" / "truth.parquet").num_rows
    assert summary.as_of == (dt.date(2022, 8, 1),)
    assert 0.0 <= summary.outcome_rate <= 1.0


# --- recording bias --------------------------------------------------------------------------------
def _minor_civic_counts(bundle: SyntheticBundle, municipality: str) -> tuple[int, int]:
    youth = bundle.tables["youth"].to_pandas().set_index("youth_id")
    justice = bundle.tables["justice_contacts"].to_pandas()
    minor = justice.loc[(justice["kind"] == "civic_infraction") & (justice["category"] != "violence")]
    inside = minor["youth_id"].map(youth["municipality"]) == municipality
    return int(inside.sum()), int((~inside).sum())


def test_recording_bias_multiplies_records_in_the_municipality_but_not_the_truth() -> None:
    municipality = "Ciudad Benito Juárez"
    plain = simulate_bundle(_config(youth=2500))
    biased = simulate_bundle(_config(youth=2500, bias_municipality="ciudad benito juarez", bias_rate=3.0))
    assert biased.truth.equals(plain.truth)
    assert biased.tables["attendance"].equals(plain.tables["attendance"])
    plain_inside, plain_outside = _minor_civic_counts(plain, municipality)
    biased_inside, biased_outside = _minor_civic_counts(biased, municipality)
    assert biased_outside == plain_outside
    assert plain_inside > 100
    assert 2.4 < biased_inside / plain_inside < 3.6
    assert biased.manifest["bias"] == {"municipality": municipality, "group": None, "rate": 3.0}


def test_recording_bias_by_group_reaches_the_labels() -> None:
    plain = simulate_bundle(_config(youth=1000, years=2))
    biased = simulate_bundle(_config(youth=1000, years=2, bias_group="indigenous", bias_rate=4.0))
    assert biased.truth.equals(plain.truth)
    assert biased.tables["justice_contacts"].num_rows > plain.tables["justice_contacts"].num_rows
    assert biased.outcome_rate > plain.outcome_rate


def test_unknown_bias_options_are_refused_with_every_problem() -> None:
    with pytest.raises(PreviError) as raised:
        simulate_bundle(_config(bias_municipality="Atlantis", bias_group="race"))
    assert raised.value.lines == (
        synth_module.UNKNOWN_MUNICIPALITY_ERROR.format(
            name="Atlantis", allowed=", ".join(synth_module.MUNICIPALITY_NAMES)
        ),
        synth_module.UNKNOWN_GROUP_ERROR.format(name="race", allowed="indigenous, disability"),
    )


# --- missing tables and failures --------------------------------------------------------------------
def test_drop_tables_leaves_the_files_out(tmp_path: Path) -> None:
    from cli.app import app

    out = tmp_path / "bundle"
    arguments = ["synth", "--youth", "300", "--years", "2", "--seed", "3", "--out", str(out)]
    result = CliRunner().invoke(app, [*arguments, "--drop-tables", "attendance, grades"])
    assert result.exit_code == 0, result.output
    files = {path.name for path in out.iterdir()}
    assert "attendance.parquet" not in files
    assert "grades.parquet" not in files
    assert {"youth.parquet", "justice_contacts.parquet", "truth.parquet", "manifest.json"} <= files
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["dropped_tables"] == ["attendance", "grades"]
    assert str(out) in result.stdout


def test_dropping_youth_fails_with_exit_code_2_and_one_line(tmp_path: Path) -> None:
    from cli.app import app

    out = tmp_path / "bundle"
    result = CliRunner().invoke(app, ["synth", "--youth", "50", "--out", str(out), "--drop-tables", "youth"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines == ["error: " + synth_module.REQUIRED_TABLE_ERROR.format(table="youth")]
    assert not out.exists()


def test_unknown_table_is_refused() -> None:
    with pytest.raises(PreviError, match="unknown table 'grade'"):
        simulate_bundle(_config(drop_tables=("grade",)))


def test_a_failed_run_leaves_no_output_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[Path] = []

    def fail_after_two(table: object, path: Path, fmt: str) -> None:
        written.append(path)
        path.write_bytes(b"partial")
        if len(written) == 2:
            raise OSError("disk full")

    monkeypatch.setattr(synth_module, "_write", fail_after_two)
    with pytest.raises(OSError, match="disk full"):
        synthesize(_config(youth=100, years=2), tmp_path / "bundle")
    assert list(tmp_path.iterdir()) == []
