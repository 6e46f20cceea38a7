"""Registration is all or nothing: a failure after logging leaves no new version behind."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from previ.config import TrainingConfig
from training.registry import CHALLENGER, log_and_register


def _register(tmp_path: Path, before_alias: object = None) -> object:
    run_dir = tmp_path / "run"
    run_dir.mkdir(exist_ok=True)
    (run_dir / "metrics.json").write_text("{}")
    artifact = tmp_path / "scoring_model"
    artifact.mkdir(exist_ok=True)
    (artifact / "scoring.json").write_text("{}")
    frame = pd.DataFrame({"age": [14.0, 15.0]})
    return log_and_register(
        settings=TrainingConfig(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db"),
        run_dir=run_dir,
        artifact_dir=artifact,
        params={"k": 0.1},
        metrics={"test.glassbox.roc_auc": 0.7},
        fold_metrics={"glassbox": [{"fold": "test", "roc_auc": 0.7}]},
        tags={"champion_candidate": "glassbox"},
        input_example=frame,
        output_example=pd.DataFrame(
            {"probability": [0.1, 0.2], "tier": ["universal"] * 2, "percentile": [1.0, 2.0]}
        ),
        before_alias=before_alias,  # type: ignore[arg-type]
    )


def test_a_failure_after_logging_leaves_no_version_and_a_failed_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)

    def fail() -> None:
        raise RuntimeError("disk full while setting the alias")

    with pytest.raises(RuntimeError, match="disk full"):
        _register(tmp_path, before_alias=fail)
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    assert client.search_model_versions("name='previ-risk'") == []
    runs = client.search_runs([client.get_experiment_by_name("previ").experiment_id])
    assert [run.info.status for run in runs] == ["FAILED"]

    registration = _register(tmp_path)
    versions = client.search_model_versions("name='previ-risk'")
    assert [str(version.version) for version in versions] == [registration.version]  # type: ignore[attr-defined]
    assert str(client.get_model_version_by_alias("previ-risk", CHALLENGER).version) == registration.version  # type: ignore[attr-defined]
