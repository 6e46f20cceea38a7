"""MLflow tracking and the model registry, all or nothing.

Tracking goes to a local SQLite store (``sqlite:///mlflow.db``) with artifacts
under ``./mlruns`` unless ``MLFLOW_TRACKING_URI`` or the config says otherwise;
no server is needed. A run logs parameters, per-fold and test metrics, the plots,
the feature registry, the model card and the audit, then the pyfunc model with
its signature and input example. The model is registered as a new version of
``previ-risk`` with the alias ``challenger``. If anything fails after the
version was created, the version is deleted and the run marked FAILED: no
half-registered model is ever left for ``previ promote`` or the service.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from models.artifact import ARTIFACT_FOLDER, ScoringModel, load_artifact
from models.pyfunc import PreviPyfunc
from previ.config import TrainingConfig

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
CHALLENGER = "challenger"
CHAMPION = "champion"


@dataclass(frozen=True)
class Registration:
    run_id: str
    version: str
    model_uri: str


def tracking_uri(settings: TrainingConfig) -> str:
    """MLFLOW_TRACKING_URI, else the config, else the local SQLite store."""
    return os.environ.get("MLFLOW_TRACKING_URI") or settings.tracking_uri or DEFAULT_TRACKING_URI


def client_for(settings: TrainingConfig) -> MlflowClient:
    _quiet_mlflow()
    uri = tracking_uri(settings)
    # mlflow.set_tracking_uri also exports MLFLOW_TRACKING_URI, which would then outrank the config of
    # every later call in this process; keep the variable as the user set it.
    user_value = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    if user_value is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = user_value
    return MlflowClient(tracking_uri=uri)


def log_and_register(
    *,
    settings: TrainingConfig,
    run_dir: Path,
    artifact_dir: Path,
    params: dict[str, Any],
    metrics: dict[str, float],
    fold_metrics: dict[str, list[dict[str, Any]]],
    tags: dict[str, str],
    input_example: pd.DataFrame,
    output_example: pd.DataFrame,
    before_alias: Callable[[], None] | None = None,
) -> Registration:
    """Log a run, register its model as a new version and point ``challenger`` at it.

    ``before_alias`` runs after the version exists and before the alias is set;
    tests use it to inject a failure and check that nothing is left behind.
    """
    client = client_for(settings)
    experiment_id = _experiment(client, settings.experiment)
    version = None
    with mlflow.start_run(experiment_id=experiment_id) as run:
        try:
            mlflow.log_params({key: str(value)[:500] for key, value in params.items()})
            mlflow.log_metrics(metrics)
            for model, folds in fold_metrics.items():
                for step, values in enumerate(folds):
                    mlflow.log_metrics(
                        {
                            f"fold.{model}.{key}": float(value)
                            for key, value in values.items()
                            if isinstance(value, int | float) and not isinstance(value, bool)
                        },
                        step=step,
                    )
            mlflow.set_tags(tags)
            mlflow.log_artifacts(str(run_dir), artifact_path="report")
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=PreviPyfunc(),
                artifacts={"scoring": str(artifact_dir)},
                signature=infer_signature(input_example, output_example),
                input_example=input_example,
            )
            _ensure_registered_model(client, settings.registered_model)
            version = client.create_model_version(
                settings.registered_model, info.model_uri, run_id=run.info.run_id, tags=tags
            ).version
            if before_alias is not None:
                before_alias()
            client.set_registered_model_alias(settings.registered_model, CHALLENGER, version)
        except BaseException:
            if version is not None:
                client.delete_model_version(settings.registered_model, version)
            mlflow.end_run(status="FAILED")
            raise
    return Registration(run_id=run.info.run_id, version=str(version), model_uri=info.model_uri)


def current_champion(settings: TrainingConfig, folder: Path) -> tuple[str, ScoringModel] | None:
    """The version and scoring artifact the ``champion`` alias points at, or None when there is none.

    The artifact is downloaded into ``folder`` and verified like any artifact.
    """
    client = client_for(settings)
    try:
        version = client.get_model_version_by_alias(settings.registered_model, CHAMPION)
    except MlflowException:
        return None
    return str(version.version), registered_artifact(
        f"models:/{settings.registered_model}/{version.version}", folder
    )


def registered_artifact(model_uri: str, folder: Path) -> ScoringModel:
    """Download a registered pyfunc model and load its scoring artifact."""
    import mlflow.artifacts

    path = mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(folder))
    return load_artifact(Path(path) / "artifacts" / ARTIFACT_FOLDER)


def _quiet_mlflow() -> None:
    """MLflow's info logs and download bars would drown previ's own summary."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _experiment(client: MlflowClient, name: str) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return str(experiment.experiment_id)
    location = None
    if tracking_uri_is_local_sqlite(client):
        location = Path("mlruns").absolute().as_uri()
    return str(client.create_experiment(name, artifact_location=location))


def tracking_uri_is_local_sqlite(client: MlflowClient) -> bool:
    return str(client.tracking_uri).startswith("sqlite:")


def _ensure_registered_model(client: MlflowClient, name: str) -> None:
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(
            name, description="previ: calibrated need for prevention support, explained; never for sanctions."
        )
