"""`previ train` end to end: data -> grid -> outputs -> MLflow registry.

Outputs land in the run folder all or nothing: metrics.json (test-fold
figures of every model, the champion candidate and k), the plots, the model
card (Markdown and JSON), the feature registry and the scoring artifact. The
same folder is logged to MLflow before the model is registered.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairness_audits.selection import cutoff
from features.pipeline import matrix_from_bundle
from models.artifact import ARTIFACT_FOLDER, Tiers, save_artifact
from models.card import build_model_card, model_card_markdown
from models.marginal import population_from_training
from previ.atomic import atomic_dir
from previ.config import PreviConfig
from previ.jsonio import json_default
from training.dataset import TrainingSet, training_set_from_matrix
from training.fairness import AUDIT_FOLDER, Champion, audit_training
from training.grid import LOCAL, FitEngine
from training.holdout import HOLDOUT_FILE, holdout_report, split_municipality
from training.plots import write_plots
from training.proxies import screen_proxies
from training.registry import Registration, current_champion, log_and_register
from training.table import read_flat_table
from training.train import Progress, ServedModel, TrainingResult, run_training

TEST_FOLD_FILE = "test_fold.parquet"
AGE_IS_DEVELOPMENTAL = (
    "age stays a feature as a developmental factor: support needs change with age; age band is audited"
)


@dataclass(frozen=True)
class TrainOutcome:
    result: TrainingResult
    out_dir: Path
    metrics: dict[str, Any]
    registration: Registration | None


def training_set_from_bundle(settings: PreviConfig, data_dir: Path | None = None) -> TrainingSet:
    return training_set_from_matrix(
        matrix_from_bundle(settings, data_dir=data_dir, as_of=settings.features.as_of)
    )


def training_set_from_table(
    path: Path,
    *,
    label: str,
    id_column: str,
    time: str | None,
    groups: Sequence[str],
    exclude: Sequence[str],
    positive: str | None,
    horizon_days: int,
) -> TrainingSet:
    """A flat table; with a time column its rows get temporal folds over ``horizon_days``."""
    data = read_flat_table(
        path, label=label, id_column=id_column, time=time, groups=groups, exclude=exclude, positive=positive
    )
    return replace(data, horizon_days=horizon_days) if data.time is not None else data


def train_and_register(
    data: TrainingSet,
    settings: PreviConfig,
    *,
    out_dir: Path | None = None,
    register: bool = True,
    allow_features: Sequence[str] = (),
    progress: Progress | None = None,
    engine: FitEngine = LOCAL,
    holdout_municipality: str | None = None,
) -> TrainOutcome:
    """Screen proxies, run the grid, write the run folder, then log and register the champion candidate.

    With ``register``, the registry's current champion (if any) is scored on the
    test fold so that the fairness gate compares recall with it group by group.
    ``engine`` fits the learned models (this process by default; see
    :class:`training.grid.FitEngine`).
    With ``holdout_municipality``, that municipality's rows are taken out before
    anything is fitted and the run folder gets holdout.json (:mod:`training.holdout`);
    such a model is never registered.
    """
    training = settings.training
    report = progress or (lambda _: None)
    split = None
    if holdout_municipality is not None:
        split = split_municipality(data, holdout_municipality)
        data, register = split.training, False
    report("screening features for proxies of protected columns")
    data = screen_proxies(data, training, allow=allow_features)
    result = run_training(data, training, progress=progress, engine=engine)
    holdout = None
    if split is not None:
        report(f"scoring {split.name}, held out of training")
        holdout = holdout_report(result, split, training)
    out_dir = out_dir or training.out
    with tempfile.TemporaryDirectory() as scratch:
        current = current_champion(training, Path(scratch)) if register else None
        champion = Champion(*current) if current is not None else None
        with atomic_dir(out_dir) as folder:
            report("writing metrics, plots, the audit and the model card")
            metrics = write_run_folder(
                result, settings, folder, current=champion, published=out_dir, holdout=holdout
            )
    registration = None
    if register:
        report("logging to MLflow and registering the model")
        registration = log_and_register(
            settings=training,
            run_dir=out_dir,
            artifact_dir=out_dir / ARTIFACT_FOLDER,
            params=_params(result, settings),
            metrics=_flat_metrics(metrics),
            fold_metrics={name: model.fold_metrics for name, model in result.models.items()},
            tags={
                "champion_candidate": result.champion_candidate,
                "validation": result.validation,
                "source": data.source,
                "scoring_sha256": metrics["scoring_sha256"],
                "test_roc_auc": str(metrics["models"][result.champion_candidate]["roc_auc"]),
                "fairness_gate": metrics["fairness"]["champion_gate"],
                "fairness_flags": metrics["fairness"]["champion_flags"][:4000],
                "fairness_compared_with": metrics["fairness"]["compared_with"] or "none",
                "allocation_policy": settings.allocation.policy,
                "allocation_groups": ",".join(settings.allocation.groups) or "none",
            },
            input_example=_example(result),
            output_example=pd.DataFrame({"probability": [0.1], "tier": ["universal"], "percentile": [50.0]}),
        )
    return TrainOutcome(result=result, out_dir=out_dir, metrics=metrics, registration=registration)


def write_run_folder(
    result: TrainingResult,
    settings: PreviConfig,
    folder: Path,
    *,
    current: Champion | None = None,
    published: Path | None = None,
    holdout: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """metrics.json, plots, audit, model card, registry and the scoring artifact into ``folder``.

    ``current`` is the registry's champion, compared with on the test fold by the audit;
    ``published`` the folder ``folder`` will be moved to (the texts that name the report point there);
    ``holdout`` the figures of a municipality held out of training (holdout.json, and in metrics.json).
    """
    champion = result.champion
    served = result.served or ServedModel(
        champion.fitted, champion.calibrator, "the last fold's fit", result.folds[-1].train
    )
    test_features = result.data.features.iloc[result.test_rows].reset_index(drop=True)
    served_probability = served.calibrator.probability(served.fitted.raw_score(test_features))
    tiers = _tiers(served_probability, settings)
    sha256 = save_artifact(
        folder / ARTIFACT_FOLDER,
        kind=served.fitted.kind,
        model=served.fitted.lookup if served.fitted.lookup is not None else served.fitted.model,
        feature_names=result.data.feature_names,
        categorical_levels={
            name: [str(level) for level in result.data.features[name].cat.categories]
            for name in result.data.categorical
        },
        calibrator=served.calibrator,
        tiers=tiers,
        reference_probability=served_probability,
        golden_inputs=_example(result, rows=20),
        declarations=result.data.registry,
        metadata={
            "champion_candidate": result.champion_candidate,
            "validation": result.validation,
            "served": served.description,
            "allocation": {"policy": settings.allocation.policy, "groups": list(settings.allocation.groups)},
        },
        population=population_from_training(
            result.data.features.iloc[np.flatnonzero(served.rows)], served.fitted.lookup
        ),
    )
    metrics: dict[str, Any] = {
        "models": {name: model.evaluation.as_dict() for name, model in result.models.items()},
        "champion_candidate": result.champion_candidate,
        "k": result.k,
        "k_count": champion.evaluation.k,
        "validation": result.validation,
        "folds": [{"name": fold.name, "description": fold.description} for fold in result.folds],
        "per_fold": {name: model.fold_metrics for name, model in result.models.items()},
        "selected_params": {name: model.fitted.params for name, model in result.models.items()},
        "calibration": {name: model.calibrator.method for name, model in result.models.items()},
        "tiers": {"indicated_min": tiers.indicated_min, "selective_min": tiers.selective_min},
        "scoring_sha256": sha256,
        "served_model": served.description,
        "features": result.data.feature_names,
        "excluded": [{"column": column, "why": why} for column, why in result.data.excluded],
        "allowed_proxies": [{"column": column, "why": why} for column, why in result.data.allowed],
        "allocation": {"policy": settings.allocation.policy, "groups": list(settings.allocation.groups)},
    }
    if holdout is not None:
        metrics["holdout"] = holdout
        (folder / HOLDOUT_FILE).write_text(
            json.dumps(holdout, indent=2, ensure_ascii=False, default=json_default), encoding="utf-8"
        )
    _test_fold(result).to_parquet(folder / TEST_FOLD_FILE, index=False)
    write_plots(result, folder)
    fairness = audit_training(result, settings, folder, champion=current, published=published)
    metrics["fairness"] = {
        "champion_gate": fairness.gate,
        "champion_flags": fairness.flags_text(),
        "compared_with": fairness.compared_with,
        "not_compared": fairness.not_compared,
        "report": f"{AUDIT_FOLDER}/report.html",
        "by_model": fairness.summaries,
    }
    (folder / "metrics.json").write_text(
        json.dumps(metrics, indent=2, default=json_default), encoding="utf-8"
    )
    card = build_model_card(
        name=settings.training.registered_model,
        champion=result.champion_candidate,
        metrics=metrics["models"],
        data=_data_summary(result),
        validation=_validation_text(result),
        served=result.served.card() if result.served else None,
        calibration={
            "method": champion.calibrator.method,
            "brier_platt": champion.calibrator.brier_platt,
            "brier_isotonic": champion.calibrator.brier_isotonic,
        },
        tiers=metrics["tiers"],
        features=_feature_list(result.data),
        audit={
            "gate": fairness.gate,
            "flagged": fairness.flags_text(see_report=True),
            "recall compared with": fairness.compared_with or fairness.not_compared,
            "report": f"{AUDIT_FOLDER}/report.html and audit.json (in the MLflow run under report/)",
            "rule": f"the top {champion.evaluation.k} of {champion.evaluation.n} young people (capacity "
            f"k = {result.k}) by the model's score, on the test fold",
            "allocation policy": settings.allocation.policy
            + (f" across {', '.join(settings.allocation.groups)}" if settings.allocation.groups else ""),
            "features left out": "; ".join(f"{c}: {w}" for c, w in result.data.excluded) or "none",
            "proxies kept": "; ".join(f"{c}: {w}" for c, w in result.data.allowed) or "none",
            **({"age": AGE_IS_DEVELOPMENTAL} if "age" in result.data.feature_names else {}),
        },
    )
    (folder / "model_card.json").write_text(
        json.dumps(card, indent=2, ensure_ascii=False, default=json_default), encoding="utf-8"
    )
    (folder / "model_card.md").write_text(model_card_markdown(card), encoding="utf-8")
    (folder / "feature_registry.json").write_text(
        json.dumps(_feature_list(result.data), indent=2, ensure_ascii=False), encoding="utf-8"
    )
    return metrics


def _tiers(probability: np.ndarray, settings: PreviConfig) -> Tiers:
    """Tier cut-offs: the lowest probability in the top share, through the shared selection engine."""
    shares = settings.training.tiers
    return Tiers(
        indicated_min=cutoff(probability, shares.indicated),
        selective_min=cutoff(probability, shares.selective),
    )


def _example(result: TrainingResult, rows: int = 5) -> pd.DataFrame:
    """Test rows as a caller sends them: category columns as text, so that MLflow's signature
    describes strings (a pandas category has no MLflow type) and the pyfunc restores the levels."""
    test = result.data.features.iloc[result.test_rows[:rows]].reset_index(drop=True)
    for name in result.data.categorical:
        test[name] = test[name].astype(object).where(test[name].notna(), None)
    return test


def _test_fold(result: TrainingResult) -> pd.DataFrame:
    """What the quality gate needs from the test rows: features, label and probability.

    No ids and no protected columns: this file is logged to MLflow. The
    group-by-group comparison with the champion happens at training, where the
    groups are at hand, and only its aggregates are kept (the audit).
    """
    rows = result.test_rows
    frame = result.data.features.iloc[rows].reset_index(drop=True)
    frame["label"] = result.data.label[rows]
    frame["probability"] = result.champion.test_probability
    return frame


def _feature_list(data: TrainingSet) -> list[dict[str, Any]]:
    features = []
    for name in data.feature_names:
        declared = data.registry.get(name)
        if declared is None:
            features.append({"name": name, "source": data.source, "direction": 0})
        else:
            features.append(
                {
                    "name": name,
                    "kind": declared.kind,
                    "source": declared.source,
                    "aggregation": declared.aggregation,
                    "window_days": declared.window_days,
                    "unit": declared.unit,
                    "direction": declared.direction,
                    # the registry's English message id: the model card page shows it in the reader's language
                    "description": declared.description_text,
                    "referral_tags": list(declared.referral_tags),
                }
            )
    return features


def _data_summary(result: TrainingResult) -> dict[str, Any]:
    data = result.data
    summary: dict[str, Any] = {
        "source": data.source,
        "rows": len(data.label),
        "young_people": int(pd.Series(data.ids).nunique()),
        "prevalence": round(float(data.label.mean()), 4),
        "test_rows": len(result.test_rows),
        "audit_columns (never features)": ", ".join(data.groups.columns),
    }
    if data.time is not None:
        dates = sorted({str(date)[:10] for date in data.time})
        summary["as_of dates"] = ", ".join(dates)
        summary["horizon_days"] = data.horizon_days
    return summary


def _validation_text(result: TrainingResult) -> str:
    if result.validation == "temporal":
        return (
            "Rolling temporal folds: every training label window closes before the validation as_of, and "
            "every validation window before the test as_of. "
            + "; ".join(fold.description for fold in result.folds)
        )
    return (
        "Stratified 5-fold cross-validation (the table has no time column): figures pool out-of-fold "
        "predictions and do not show how the model ages over time."
    )


def _params(result: TrainingResult, settings: PreviConfig) -> dict[str, Any]:
    params: dict[str, Any] = {
        "k": settings.training.k,
        "seed": settings.training.seed,
        "models": ",".join(result.models),
        "champion_candidate": result.champion_candidate,
        "validation": result.validation,
    }
    for name, model in result.models.items():
        params.update({f"{name}.{key}": value for key, value in model.fitted.params.items()})
    return params


def _flat_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    flat = {}
    for name, values in metrics["models"].items():
        for key, value in values.items():
            if isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value):
                flat[f"test.{name}.{key}"] = float(value)
    return flat
