"""`previ train --holdout-municipality M`: trained without M, scored in M against the others."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app

CONFIG = """
data:
  dir: {bundle}
training:
  models: [logistic]
  champion_candidate: logistic
  resamples: 100
  tracking_uri: sqlite:///{folder}/mlflow.db
audit:
  resamples: 100
"""
HELD = "Ciudad Benito Juárez"


@pytest.mark.slow
def test_a_model_trained_elsewhere_is_scored_in_the_held_out_municipality(
    synthetic_bundle: Path, tmp_path: Path
) -> None:
    config = tmp_path / "previ.yaml"
    config.write_text(CONFIG.format(bundle=synthetic_bundle, folder=tmp_path))
    run = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--config",
            str(config),
            "--out",
            str(run),
            "--holdout-municipality",
            "ciudad benito juarez",
        ],
    )
    assert result.exit_code == 0, result.output
    holdout = json.loads((run / "holdout.json").read_text())
    assert holdout == json.loads((run / "metrics.json").read_text())["holdout"]
    assert holdout["municipality"] == HELD and holdout["model"] == "logistic"
    held, others = holdout["held_out"], holdout["others"]
    test_rows = json.loads((run / "metrics.json").read_text())["models"]["logistic"]["n"]
    assert others["n"] == test_rows  # the usual test fold, which holds no one from M
    for figures in (held, others):
        low, high = figures["roc_auc_ci"]
        assert figures["roc_auc"] > 0.6 and low <= figures["roc_auc"] <= high  # it ranks in M as well
        ratio = figures["observed_over_predicted"]
        assert ratio["ci"][0] <= ratio["value"] <= ratio["ci"][1]
        assert 0.5 < ratio["value"] < 2.0 and 0.3 < figures["calibration_slope"]["value"] < 3.0
    assert HELD in result.output and "Not registered" in result.output
    assert not (tmp_path / "mlflow.db").exists()  # nothing registered


def test_an_unknown_municipality_is_named_with_the_known_ones(synthetic_bundle: Path, tmp_path: Path) -> None:
    config = tmp_path / "previ.yaml"
    config.write_text(CONFIG.format(bundle=synthetic_bundle, folder=tmp_path))
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--config",
            str(config),
            "--out",
            str(tmp_path / "run"),
            "--holdout-municipality",
            "Atlantis",
        ],
    )
    assert result.exit_code == 2
    assert "--holdout-municipality: unknown municipality 'Atlantis'; the data has: " in result.output
    assert "Cuautempan" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()
