"""`previ evaluate` end to end: a synthetic bundle, the Catalonia table, and refusals of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest
from typer.testing import CliRunner

from cli.app import app

CATALONIA_EXCLUDE = (
    "V1_*,V2_*,V3_*,V4_*,V5_*,V6_*,V7_*,V9_*,V10_*,V19_*,V22_*,V23_*,V24_*,V26_*,V27_*,V28_*,V29_*,"
    "V3?_*,V4?_*,V50_*,V51_*,V52_*,V53_*,xxxxxxxx_SAVRY,V54_*,V55_*,V1??_*"
)


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "previ.yaml"
    config.write_text(f"training:\n  tracking_uri: sqlite:///{tmp_path / 'mlflow.db'}\n")
    return config


@pytest.mark.slow
def test_evaluate_bundle_writes_json_reports_and_an_mlflow_run(
    synthetic_bundle: Path, tmp_path: Path
) -> None:
    out = tmp_path / "evaluation"
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--config",
            str(_config(tmp_path)),
            "--data",
            str(synthetic_bundle),
            "--programs",
            "mentoria",
            "--by",
            "municipality",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    found = json.loads((out / "evaluation.json").read_text())
    truth = json.loads((synthetic_bundle / "truth_effects.json").read_text())
    assert found["goal"] == 0.15
    assert set(found["programs"]) == {"mentoria"}
    served = found["served"]
    assert served["n_served"] == truth["served"]["n_served"]  # the same enrolments as the truth counts
    low, high = served["relative_risk_reduction"]["ci"]
    assert low < served["relative_risk_reduction"]["value"] < high
    assert served["naive_relative_risk_reduction"] < low  # the served have more need
    assert served["balance_max_smd"]["after"] < served["balance_max_smd"]["before"]
    by_place = served["groups"]["municipality"]
    assert set(by_place["groups"]) <= set(truth["municipalities"]) and len(by_place["groups"]) >= 2
    pooled = by_place["pooled_risk_difference"]
    assert pooled["ci"][0] < pooled["value"] < pooled["ci"][1]
    assert 0.0 <= by_place["heterogeneity"]["p_value"] <= 1.0
    assert by_place["heterogeneity"]["df"] == len(by_place["groups"]) - 1
    for language, word in (("es", "¿Funciona?"), ("en", "Does it work?")):
        assert word in (out / f"evaluation_{language}.html").read_text()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["previ-evaluate"])
    assert len(runs) == 1 and runs["metrics.served.rrr"].iloc[0] == pytest.approx(
        served["relative_risk_reduction"]["value"]
    )


@pytest.mark.slow
def test_catalonia_mediation_against_court_measures(catalonia_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "catalonia"
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--config",
            str(_config(tmp_path)),
            "--table",
            str(catalonia_csv),
            "--treatment",
            "V25_programa_mesura=MRM",
            "--control",
            "V25_programa_mesura=Mesures d'execució",
            "--label",
            "V115_reincidencia_2015",
            "--positive",
            "Sí",
            "--id",
            "id",
            "--exclude",
            CATALONIA_EXCLUDE,
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    found = json.loads((out / "evaluation.json").read_text())["served"]
    assert found["n_served"] + round(found["overlap"]["trimmed_served_share"] * 1486) == 1486
    assert found["risk_served"] == pytest.approx(0.306, abs=0.03)
    assert found["e_value"]["estimate"] >= 1.0
    assert (
        "V115_reincidencia_2015"
        not in json.loads((out / "evaluation.json").read_text())["notes"]["covariates"]
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "evaluate: give either --data (a bundle) or --table (a flat table)"),
        (["--data", "x", "--by", "school"], "--by: expected municipality (got 'school')"),
        (["--table", "t.csv", "--treatment", "A"], "evaluate --table: --label, --positive, --id required"),
    ],
)
def test_bad_options_exit_2_with_one_line(arguments: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["evaluate", "--out", str(tmp_path / "out"), *arguments])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_table_treatment_must_be_column_equals_value(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("id,group,y\n1,a,yes\n2,b,no\n")
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--table",
            str(table),
            "--treatment",
            "group",
            "--label",
            "y",
            "--positive",
            "yes",
            "--id",
            "id",
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 2
    assert "--treatment: expected COLUMN=VALUE (got 'group')" in result.output
