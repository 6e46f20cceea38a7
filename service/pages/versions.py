"""The registry's history: every version of the model with its test metrics and audit gate side by side.

Read from the MLflow registry the service loads its champion from: version
tags written at training (``test_roc_auc``, ``fairness_gate``,
``fairness_flags``, ``champion_candidate``, ``allocation_policy``) and by
``previ promote`` (``review``, ``reviewer``, ``reviewed_at``), and the run's flat test metrics
(``test.<model>.<metric>``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from previ.config import TrainingConfig
from previ.errors import PreviError

__all__ = ["METRICS", "VersionRow", "registered_versions"]

METRICS = ("roc_auc", "pr_auc", "precision_at_k", "recall_at_k", "brier", "ece")
REGISTRY_UNREADABLE = "versions: the model registry at {uri} cannot be read ({error})"


@dataclass(frozen=True)
class VersionRow:
    version: str
    created: dt.datetime | None
    aliases: tuple[str, ...]
    candidate: str
    metrics: dict[str, float | None]
    gate: str
    flags: str
    review: str | None
    """The signed review that let a version through a failed gate: "text (reviewer, date)"."""
    allocation: str


def registered_versions(training: TrainingConfig, *, limit: int = 20) -> list[VersionRow]:
    """The newest ``limit`` versions of ``training.registered_model``, newest first.

    Raises PreviError when the registry cannot be read.
    """
    from mlflow.exceptions import MlflowException

    from training.registry import client_for, tracking_uri

    name = training.registered_model
    try:
        client = client_for(training)
        found = client.search_model_versions(f"name = '{_quoted(name)}'")
        versions = sorted(found, key=lambda version: int(version.version), reverse=True)[:limit]
        return [_row(client, version) for version in versions]
    except (MlflowException, OSError, ValueError) as error:
        raise PreviError(
            REGISTRY_UNREADABLE.format(uri=tracking_uri(training), error=type(error).__name__)
        ) from error


def _row(client: Any, version: Any) -> VersionRow:
    from mlflow.exceptions import MlflowException

    # search results may leave out aliases; the version itself carries them
    version = client.get_model_version(version.name, version.version)
    tags: dict[str, str] = dict(version.tags or {})
    candidate = tags.get("champion_candidate", "")
    metrics: dict[str, float] = {}
    if version.run_id:
        try:
            metrics = dict(client.get_run(version.run_id).data.metrics)
        except MlflowException:
            metrics = {}
    values: dict[str, float | None] = {
        metric: metrics.get(f"test.{candidate}.{metric}") for metric in METRICS
    }
    if values["roc_auc"] is None and tags.get("test_roc_auc"):
        values["roc_auc"] = _number(tags["test_roc_auc"])
    created = (
        dt.datetime.fromtimestamp(version.creation_timestamp / 1000, tz=dt.UTC)
        if version.creation_timestamp
        else None
    )
    return VersionRow(
        version=str(version.version),
        created=created,
        aliases=tuple(sorted(getattr(version, "aliases", None) or ())),
        candidate=candidate,
        metrics=values,
        gate=tags.get("fairness_gate", "unknown"),
        flags=tags.get("fairness_flags", "") if tags.get("fairness_gate") == "failed" else "",
        review=_review(tags),
        allocation=tags.get("allocation_policy", "need")
        + (f" ({tags['allocation_groups']})" if tags.get("allocation_groups", "none") != "none" else ""),
    )


def _review(tags: dict[str, str]) -> str | None:
    if not tags.get("review"):
        return None
    signed = ", ".join(part for part in (tags.get("reviewer"), tags.get("reviewed_at", "")[:10]) if part)
    return f"{tags['review']} ({signed})"


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _quoted(name: str) -> str:
    return name.replace("\\", "\\\\").replace("'", "\\'")
