"""`previ train --engine dask` on a real scheduler with two worker processes, compared with pandas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from cli.app import app
from previ.config import PreviConfig
from scale.cluster import ClusterOptions, dask_client
from tests.scale.conftest import PARTITIONS
from tests.service.factories import Registry
from training.dask_fit import DaskFit
from training.grid import fit_grid
from training.partitioned import training_set_from_partitions
from training.pipeline import training_set_from_bundle
from training.splits import temporal_folds

pytestmark = pytest.mark.slow

runner = CliRunner()
AUC_TOLERANCE = 0.005


def test_the_buckets_training_set_is_the_bundles_and_a_fit_on_it_is_repeatable(
    synthetic_bundle: Path, partitioned_bundle: Path, scheduler: str
) -> None:
    expected = training_set_from_bundle(PreviConfig(), synthetic_bundle)
    with dask_client(ClusterOptions(scheduler=scheduler)) as client:
        data = training_set_from_partitions(client, PreviConfig(), partitioned_bundle)
        assert data.features.equals(expected.features) and data.groups.equals(expected.groups)
        assert (data.label == expected.label).all() and (data.ids == expected.ids).all()
        assert (data.time == expected.time).all() and data.monotone == expected.monotone

        fold = temporal_folds(data.time, data.ids, data.horizon_days)[-1]
        engine = DaskFit(client, PARTITIONS)
        runs = [fit_grid(data, fold, models=("glassbox",), engine=engine)["glassbox"] for _ in range(2)]
        train, stop = data.subset(fold.train), data.subset(fold.stop)
        lightgbm = [
            engine.lightgbm(
                train, stop, seed=0, threads=1, params={"num_leaves": 15}, rounds=30
            ).model_to_string()
            for _ in range(2)
        ]
    assert runs[0].model.model_to_string() == runs[1].model.model_to_string()
    assert lightgbm[0] == lightgbm[1]
    glassbox = runs[0]
    assert glassbox.params["num_leaves"] == 2  # stumps: one feature per tree without interaction constraints
    assert glassbox.lookup is not None and glassbox.params["trees"] == glassbox.model.num_trees()

    local = fit_grid(data, fold, models=("glassbox",))["glassbox"]
    test = data.subset(fold.test)
    auc = {
        engine: roc_auc_score(test.label, fitted.raw_score(test.features))
        for engine, fitted in (("dask", glassbox), ("pandas", local))
    }
    assert abs(auc["dask"] - auc["pandas"]) < AUC_TOLERANCE, auc


def test_previ_train_on_two_workers_is_within_the_tolerance_of_pandas(
    registry: Registry, partitioned_bundle: Path, scheduler: str, tmp_path: Path
) -> None:
    """The registry fixture is the pandas engine's `previ train` of the same bundle (glass box only)."""
    config = tmp_path / "previ.yaml"
    config.write_text(
        f"data:\n  dir: {partitioned_bundle}\n"
        "training:\n  models: [glassbox]\n  resamples: 100\n"
        f"  tracking_uri: sqlite:///{tmp_path / 'mlflow.db'}\n"
        "audit:\n  resamples: 100\n"
    )
    out = tmp_path / "run"
    command = ["train", "--config", str(config), "--engine", "dask", "--scheduler", scheduler]
    result = runner.invoke(app, [*command, "--out", str(out), "--no-register"])
    assert result.exit_code == 0, result.output
    dask_metrics = json.loads((out / "metrics.json").read_text())
    pandas_metrics = json.loads((registry.run_dir / "metrics.json").read_text())
    dask_auc, pandas_auc = (
        metrics["models"]["glassbox"]["roc_auc"] for metrics in (dask_metrics, pandas_metrics)
    )
    assert abs(dask_auc - pandas_auc) < AUC_TOLERANCE, (dask_auc, pandas_auc)
    assert dask_metrics["folds"] == pandas_metrics["folds"]  # the same test fold
    assert dask_metrics["selected_params"]["glassbox"]["num_leaves"] == 2
    assert (out / "scoring_model" / "manifest.json").is_file()
    assert "LightGBM" not in result.output  # the workers' network chatter stays off the terminal


def test_the_dask_engine_does_not_train_on_a_flat_table(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["train", "--engine", "dask", "--table", str(tmp_path / "t.csv"), "--label", "y", "--id", "id"],
    )
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: train: --engine dask trains on a partitioned bundle (--data), not on --table"
    )
