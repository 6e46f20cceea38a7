"""`previ train --table` on the real Catalonia table, and its refusals of bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.app import app

CONFIG = """
training:
  models: [one_feature, glassbox]
  resamples: 100
audit:
  resamples: 100
"""


@pytest.mark.slow
def test_catalonia_table_trains_and_registers_without_leaking_groups_or_their_proxies(
    catalonia_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    config = tmp_path / "previ.yaml"
    config.write_text(CONFIG)
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--config",
            str(config),
            "--table",
            str(catalonia_csv),
            "--label",
            "V115_reincidencia_2015",
            "--positive",
            "Sí",
            "--id",
            "id",
            "--group",
            "V1_sexe,V4_nacionalitat_agrupat",
            "--exclude",
            "V1[0-3][0-9]_*",
            "--out",
            str(tmp_path / "run"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Registered previ-risk version 1" in result.output  # text columns survive the MLflow signature
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    excluded = {item["column"]: item["why"] for item in metrics["excluded"]}
    assert {"V2_estranger", "V3_nacionalitat"} <= set(excluded)
    assert excluded["V2_estranger"].startswith("proxy:")
    assert excluded["V3_nacionalitat"].startswith("proxy:")
    assert not {"V2_estranger", "V3_nacionalitat"} & set(metrics["features"])
    assert "left out V2_estranger" in result.output
    assert metrics["validation"] == "stratified_kfold"
    assert metrics["models"]["glassbox"]["roc_auc"] > 0.70
    assert metrics["models"]["glassbox"]["roc_auc"] > metrics["models"]["one_feature"]["roc_auc"]
    registry = json.loads((tmp_path / "run" / "feature_registry.json").read_text())
    names = {feature["name"] for feature in registry}
    assert not names & {"V1_sexe", "V4_nacionalitat_agrupat", "id", "V115_reincidencia_2015"}
    assert not [name for name in names if re.match(r"V1[0-3][0-9]_", name)]  # the outcome's own columns
    audit = json.loads((tmp_path / "run" / "audit" / "audit.json").read_text())
    assert {group["column"] for group in audit["groups"]} >= {"V1_sexe", "V4_nacionalitat_agrupat"}
    assert "dropped date column" in result.output


@pytest.mark.parametrize(
    ("label_values", "arguments", "message"),
    [
        (["a", "b", "c", "a"], ["--positive", "a"], None),
        ([0, 1, 2, 1], [], "label"),
        ([1, 1, 1, 1], [], "label"),
    ],
)
def test_bad_labels_stop_with_one_clear_line(
    tmp_path: Path, label_values: list[object], arguments: list[str], message: str | None
) -> None:
    table = tmp_path / "table.csv"
    pd.DataFrame({"id": ["a1", "a2", "a3", "a4"], "x": [1.0, 2.0, 3.0, 4.0], "outcome": label_values}).to_csv(
        table, index=False
    )
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--table",
            str(table),
            "--label",
            "outcome",
            "--id",
            "id",
            "--out",
            str(tmp_path / "run"),
            "--no-register",
            *arguments,
        ],
    )
    assert result.exit_code == 2
    assert "outcome" in result.output or "fold" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "run").exists()


def test_missing_column_names_it(tmp_path: Path) -> None:
    table = tmp_path / "table.csv"
    pd.DataFrame({"id": ["a1", "a2"], "x": [1.0, 2.0], "y": [0, 1]}).to_csv(table, index=False)
    result = CliRunner().invoke(
        app, ["train", "--table", str(table), "--label", "outcome", "--id", "id", "--no-register"]
    )
    assert result.exit_code == 2
    assert "outcome" in result.output
    assert len([line for line in result.output.splitlines() if line.startswith("error:")]) == 1


def test_table_options_without_table_are_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["train", "--label", "y", "--no-register"])
    assert result.exit_code == 2
    assert "go with --table" in result.output
