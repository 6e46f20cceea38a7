"""``previ audit`` end to end: real COMPAS figures, bad inputs, all-or-nothing outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.app import app
from fairness_audits import Threshold, audit
from tests.fairness_audits.factories import age_band_table, shared_data_dir, synthetic_table

COMPAS = shared_data_dir() / "compas" / "compas-scores-two-years.csv"
needs_compas = pytest.mark.skipif(
    not COMPAS.exists(),
    reason=f"COMPAS file not found at {COMPAS} (set PREVI_SHARED_DATA to its data folder)",
)
runner = CliRunner()


def run_audit(*arguments: str) -> Any:
    return runner.invoke(app, ["audit", *arguments])


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def table_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "scores.csv", synthetic_table(600, seed=1))


def base_arguments(path: Path, out: Path) -> list[str]:
    return [
        "--input",
        str(path),
        "--label",
        "outcome",
        "--score",
        "probability",
        "--groups",
        "municipality,sex",
        "--threshold",
        "0.3",
        "--resamples",
        "200",
        "--out",
        str(out),
    ]


@needs_compas
def test_compas_reproduces_propublica_false_positive_and_negative_rates(tmp_path: Path) -> None:
    out = tmp_path / "compas"
    result = run_audit(
        "--input",
        str(COMPAS),
        "--score",
        "decile_score",
        "--threshold",
        "5",
        "--label",
        "two_year_recid",
        "--groups",
        "race,sex",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    groups = {(g["column"], g["value"]): g for g in report["groups"]}
    published = {  # ProPublica, "How We Analyzed the COMPAS Recidivism Algorithm", whole file, decile >= 5
        "African-American": {"fp": 805, "negatives": 1795, "fn": 532, "positives": 1901},
        "Caucasian": {"fp": 349, "negatives": 1488, "fn": 461, "positives": 966},
    }
    for race, figures in published.items():
        group = groups[("race", race)]
        assert group["counts"]["fp"] == figures["fp"]
        assert group["counts"]["fp"] + group["counts"]["tn"] == figures["negatives"]
        assert group["counts"]["fn"] == figures["fn"]
        assert group["positives"] == figures["positives"]
        assert group["metrics"]["fpr"]["value"] == pytest.approx(
            figures["fp"] / figures["negatives"], abs=1e-9
        )
        assert group["metrics"]["fnr"]["value"] == pytest.approx(
            figures["fn"] / figures["positives"], abs=1e-9
        )
    assert groups[("race", "African-American")]["metrics"]["fpr"]["value"] == pytest.approx(0.4485, abs=5e-5)
    assert groups[("race", "Caucasian")]["metrics"]["fnr"]["value"] == pytest.approx(0.4772, abs=5e-5)
    assert report["calibration"]["applicable"] is False  # deciles 1-10 are not probabilities
    assert (out / "report.html").exists()


@needs_compas
def test_compas_with_propublica_notebook_filter_matches_published_rates() -> None:
    frame = pd.read_csv(COMPAS)
    kept = frame[
        frame["days_b_screening_arrest"].between(-30, 30)
        & (frame["is_recid"] != -1)
        & (frame["c_charge_degree"] != "O")
        & (frame["score_text"] != "N/A")
    ]
    assert len(kept) == 6172
    result = audit(
        kept, label="two_year_recid", score="decile_score", groups=["race"], rule=Threshold(5), resamples=100
    )
    for race, fpr, fnr in (("African-American", 42.34, 28.48), ("Caucasian", 22.01, 49.64)):
        group = result.group("race", race)
        assert 100 * group.metrics["fpr"].value == pytest.approx(fpr, abs=0.005)
        assert 100 * group.metrics["fnr"].value == pytest.approx(fnr, abs=0.005)


def test_writes_json_and_html_and_same_seed_gives_same_json(table_csv: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    assert run_audit(*base_arguments(table_csv, first)).exit_code == 0
    assert run_audit(*base_arguments(table_csv, second)).exit_code == 0
    assert sorted(p.name for p in first.iterdir()) == ["audit.json", "report.html"]
    assert (first / "audit.json").read_bytes() == (second / "audit.json").read_bytes()
    third = tmp_path / "third"
    assert run_audit(*base_arguments(table_csv, third), "--seed", "1").exit_code == 0
    assert (first / "audit.json").read_bytes() != (third / "audit.json").read_bytes()


def test_reads_parquet_and_text_labels_with_positive(tmp_path: Path) -> None:
    frame = synthetic_table(600, seed=2)
    frame["outcome"] = frame["outcome"].map({1: "Sí", 0: "No"})
    path = tmp_path / "scores.parquet"
    frame.to_parquet(path)
    out = tmp_path / "out"
    result = run_audit(
        *base_arguments(path, out),
        "--positive",
        "Sí",
        "--lang",
        "en",
        "--reference",
        "municipality=Sur",
        "--top-k",
        "0.2",
    )
    assert result.exit_code == 2  # both --threshold and --top-k
    arguments = [a for a in base_arguments(path, out) if a not in ("--threshold", "0.3")]
    result = run_audit(
        *arguments, "--positive", "Sí", "--lang", "en", "--reference", "municipality=Sur", "--top-k", "0.2"
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    assert report["reference"]["municipality"] == "Sur"
    assert report["rule"]["selected"] == 120
    assert report["positive"] == "Sí"
    assert '<html lang="en">' in (out / "report.html").read_text(encoding="utf-8")


def _frame_with(**changes: Any) -> pd.DataFrame:
    frame = synthetic_table(300, seed=3)
    for column, values in changes.items():
        frame[column] = values
    return frame


BAD_INPUTS = [
    pytest.param({}, ["--label", "nope"], "nope", id="missing-label-column"),
    pytest.param({}, ["--groups", "municipality,barrio"], "barrio", id="missing-group-column"),
    pytest.param({"outcome": [0, 1, 2] * 100}, [], "outcome", id="non-binary-label"),
    pytest.param({"outcome": ["Sí", "No"] * 150}, [], "outcome", id="text-label-without-positive"),
    pytest.param({"outcome": [1, None, 0] * 100}, [], "outcome", id="blank-labels"),
    pytest.param({"probability": ["0,5", "0.2", "0.7"] * 100}, [], "probability", id="score-not-numeric"),
    pytest.param({"probability": [0.5, None, 0.2] * 100}, [], "probability", id="blank-scores"),
    pytest.param({"sex": ["F"] * 300}, [], "sex", id="group-with-one-value"),
    pytest.param({}, ["--reference", "municipality"], "--reference", id="reference-without-value"),
    pytest.param({}, ["--reference", "municipality=Atlantis"], "Atlantis", id="unknown-reference"),
    pytest.param({}, ["--tolerance", "0.8"], "--tolerance", id="tolerance-one-number"),
    pytest.param({}, ["--top-k", "10"], "--top-k", id="both-rules"),
    pytest.param({}, ["--lang", "fr"], "--lang", id="unknown-language"),
    pytest.param({}, ["--resamples", "5"], "resamples", id="too-few-resamples"),
    pytest.param({}, ["--fdr", "1.5"], "false_discovery_rate", id="fdr-out-of-range"),
    pytest.param({}, ["--champion", "v2_score"], "v2_score", id="missing-champion-column"),
]


@pytest.mark.parametrize(("changes", "extra", "named"), BAD_INPUTS)
def test_bad_input_exits_2_with_one_line_naming_the_problem(
    tmp_path: Path, changes: dict[str, Any], extra: list[str], named: str
) -> None:
    path = write_csv(tmp_path / "scores.csv", _frame_with(**changes))
    out = tmp_path / "reports" / "audit"
    arguments = base_arguments(path, out)
    for option, value in zip(extra[::2], extra[1::2], strict=True):
        if option in arguments and option != "--top-k":
            arguments[arguments.index(option) + 1] = value
        else:
            arguments += [option, value]
    result = run_audit(*arguments)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ") and named in lines[0]
    assert "Traceback" not in result.output
    assert not out.exists()
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


def test_neither_rule_is_an_error(table_csv: Path, tmp_path: Path) -> None:
    arguments = [a for a in base_arguments(table_csv, tmp_path / "out") if a not in ("--threshold", "0.3")]
    result = run_audit(*arguments)
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: give a decision rule: --threshold T or --top-k K"


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    result = run_audit(*base_arguments(tmp_path / "absent.csv", tmp_path / "out"))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: input: file {tmp_path / 'absent.csv'} does not exist"


def test_existing_output_folder_keeps_other_files(table_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "model.txt").write_text("kept", encoding="utf-8")
    assert run_audit(*base_arguments(table_csv, out)).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["audit.json", "model.txt", "report.html"]


@pytest.mark.parametrize(("halve_odds_in", "decision"), [(None, "gate passed"), ("11-13", "gate failed")])
def test_top_k_audit_of_any_scores_file_exits_0_and_prints_the_gate_decision(
    tmp_path: Path, halve_odds_in: str | None, decision: str
) -> None:
    path = write_csv(tmp_path / "scores.csv", age_band_table(20_000, seed=2, halve_odds_in=halve_odds_in))
    out = tmp_path / "out"
    result = run_audit(
        "--input",
        str(path),
        "--label",
        "outcome",
        "--score",
        "score",
        "--top-k",
        "0.1",
        "--groups",
        "age_band",
        "--resamples",
        "200",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output  # the decision is printed, not signalled
    assert decision in result.stdout
    gate = json.loads((out / "audit.json").read_text(encoding="utf-8"))["gate"]
    assert gate["passed"] is (halve_odds_in is None)
    for flag in gate["flags"]:
        assert {"column", "value", "check", "ratio", "ratio_ci", "p_adjusted"} <= set(flag)
        assert flag["check"] in {"calibration", "auc", "recall"}
    if halve_odds_in is not None:
        assert {(flag["column"], flag["value"], flag["check"]) for flag in gate["flags"]} == {
            ("age_band", halve_odds_in, "calibration")
        }
        assert f"flagged: calibration (calibration_in_the_large) age_band={halve_odds_in}" in result.stdout


def test_champion_column_gates_recall_no_worse_than_today(tmp_path: Path) -> None:
    frame = age_band_table(20_000, seed=3)
    frame["champion"] = frame["probability"]
    band = frame["age_band"] == "14-15"
    frame.loc[band, "score"] = frame.loc[band, "score"].sample(frac=1.0, random_state=0).to_numpy()
    path = write_csv(tmp_path / "scores.csv", frame)
    out = tmp_path / "out"
    arguments = ["--input", str(path), "--label", "outcome", "--score", "score", "--top-k", "0.1"]
    arguments += ["--groups", "age_band", "--champion", "champion", "--resamples", "200", "--out", str(out)]
    result = run_audit(*arguments)
    assert result.exit_code == 0, result.output
    assert "gate failed" in result.stdout
    assert "flagged: recall (recall_vs_champion) age_band=14-15" in result.stdout
    gate = json.loads((out / "audit.json").read_text(encoding="utf-8"))["gate"]
    assert gate["champion"] == "champion"
    assert {flag["value"] for flag in gate["flags"] if flag["check"] == "recall"} == {"14-15"}
