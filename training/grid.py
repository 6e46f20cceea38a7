"""The model grid: baselines, a logistic regression, the glass box and an unconstrained LightGBM.

Each candidate is fitted on a fold's training rows; boosting stops early on the
fold's ``stop`` rows, and the small hyper-parameter grid below is searched by
the log loss on those same rows. The grids are deliberately small and written
here so the report can state them:

* logistic regression: C in {0.1, 1.0} (median imputation with missing-value
  indicators, standard scaling, one-hot categories);
* glass box (one feature per tree, monotone constraints from the registry):
  num_leaves in {4, 8} x min_child_samples in {50, 200}, learning rate 0.05;
* unconstrained LightGBM: num_leaves in {15, 31}, min_child_samples 50,
  learning rate 0.05.

Where the learned models are fitted is a :class:`FitEngine`: :class:`LocalFit`
(this process, the pandas engine) or the Dask engine's
:class:`training.dask_fit.DaskFit`. Everything else (the grid, the choice on
the stop rows, compiling the glass box) is the same code for both.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from models.glassbox import LookupModel, compile_glassbox, fit_glassbox, lightgbm_names
from training.baselines import ABCRule, OneFeatureRanker, abc_applicable, fit_one_feature_ranker
from training.dataset import TrainingSet
from training.splits import Fold

ModelKind = Literal["rule", "ranker", "logistic", "glassbox", "lightgbm"]
MODEL_NAMES = ("abc_rule", "one_feature", "logistic", "glassbox", "lightgbm")
GLASSBOX_GRID = {"num_leaves": (4, 8), "min_child_samples": (50, 200)}
LIGHTGBM_GRID = {"num_leaves": (15, 31), "min_child_samples": (50,)}
LOGISTIC_GRID = {"C": (0.1, 1.0)}
MAX_ROUNDS = 2000
"""Most trees a boosted model may grow while early stopping watches the stop rows."""
PATIENCE = 50
"""Early stopping: rounds without a better stop-row log loss before boosting stops."""


class FitEngine(Protocol):
    """Where the grid's boosted models and logistic regression are fitted.

    ``rounds`` None: boost up to :data:`MAX_ROUNDS` trees, stopping early on the
    ``stop`` rows after :data:`PATIENCE` rounds without improvement; a number:
    exactly that many trees (``stop`` is then only watched). The boosters
    returned behave as LightGBM's after early stopping: ``best_iteration`` set.
    """

    glassbox_grid: Mapping[str, tuple[Any, ...]]

    def glassbox(
        self,
        train: TrainingSet,
        stop: TrainingSet,
        *,
        seed: int,
        threads: int,
        params: dict[str, Any],
        rounds: int | None,
    ) -> lgb.Booster: ...

    def lightgbm(
        self,
        train: TrainingSet,
        stop: TrainingSet,
        *,
        seed: int,
        threads: int,
        params: dict[str, Any],
        rounds: int | None,
    ) -> lgb.Booster: ...

    def logistic_rows(self, train: TrainingSet) -> TrainingSet:
        """The rows the logistic regression is fitted on."""
        ...


class LocalFit:
    """The pandas engine: every model fitted in this process, on every training row."""

    glassbox_grid: Mapping[str, tuple[Any, ...]] = GLASSBOX_GRID

    def glassbox(
        self,
        train: TrainingSet,
        stop: TrainingSet,
        *,
        seed: int,
        threads: int,
        params: dict[str, Any],
        rounds: int | None,
    ) -> lgb.Booster:
        return fit_glassbox(
            train.features,
            train.label,
            stop.features,
            stop.label,
            monotone=train.monotone,
            seed=seed,
            num_threads=threads,
            **params,
            num_boost_round=rounds or MAX_ROUNDS,
            early_stopping_rounds=None if rounds else PATIENCE,
        )

    def lightgbm(
        self,
        train: TrainingSet,
        stop: TrainingSet,
        *,
        seed: int,
        threads: int,
        params: dict[str, Any],
        rounds: int | None,
    ) -> lgb.Booster:
        names = lightgbm_names(train.feature_names)  # LightGBM refuses some characters of real column names
        return lgb.train(
            lightgbm_settings(seed, threads, params),
            lgb.Dataset(train.features.set_axis(names, axis=1), train.label),
            num_boost_round=rounds or MAX_ROUNDS,
            valid_sets=[lgb.Dataset(stop.features.set_axis(names, axis=1), stop.label)],
            callbacks=[] if rounds else [lgb.early_stopping(PATIENCE, verbose=False)],
        )

    def logistic_rows(self, train: TrainingSet) -> TrainingSet:
        return train


LOCAL = LocalFit()


def lightgbm_settings(seed: int, threads: int, params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters of the unconstrained LightGBM: the grid's ``params`` over fixed settings."""
    return {
        "objective": "binary",
        "learning_rate": 0.05,
        "feature_fraction": 0.9,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": threads,
        "verbose": -1,
        **params,
    }


@dataclass
class FittedModel:
    """A fitted candidate: its raw score ranks young people (a logit for the learned models)."""

    name: str
    kind: ModelKind
    model: Any
    params: dict[str, Any] = field(default_factory=dict)
    lookup: LookupModel | None = None

    def raw_score(self, features: pd.DataFrame) -> np.ndarray:
        if self.lookup is not None:
            return self.lookup.raw_score(features)
        if self.kind in ("rule", "ranker"):
            return np.asarray(self.model.score(features), dtype=float)
        if self.kind == "logistic":
            return np.asarray(self.model.decision_function(features), dtype=float)
        return np.asarray(self.model.predict(features, raw_score=True), dtype=float)


def fit_grid(
    data: TrainingSet,
    fold: Fold,
    *,
    models: tuple[str, ...] = MODEL_NAMES,
    seed: int = 0,
    threads: int = 0,
    engine: FitEngine = LOCAL,
) -> dict[str, FittedModel]:
    """Fit every requested candidate on the fold's training rows."""
    train = data.subset(fold.train)
    stop = data.subset(fold.stop)
    fitted: dict[str, FittedModel] = {}
    if "abc_rule" in models and abc_applicable(data.feature_names):
        fitted["abc_rule"] = FittedModel("abc_rule", "rule", ABCRule())
    if "one_feature" in models:
        ranker: OneFeatureRanker = fit_one_feature_ranker(train.features, train.label)
        fitted["one_feature"] = FittedModel(
            "one_feature", "ranker", ranker, {"feature": ranker.feature, "sign": ranker.sign}
        )
    if "logistic" in models:
        rows = engine.logistic_rows(train)
        fitted["logistic"] = _best((_fit_logistic(rows, C=C, seed=seed) for C in LOGISTIC_GRID["C"]), stop)
    if "glassbox" in models:
        fitted["glassbox"] = _best(
            (
                _fit_glassbox(train, stop, seed, threads, params, engine=engine)
                for params in _grid(engine.glassbox_grid)
            ),
            stop,
        )
    if "lightgbm" in models:
        fitted["lightgbm"] = _best(
            (
                _fit_lightgbm(train, stop, seed, threads, params, engine=engine)
                for params in _grid(LIGHTGBM_GRID)
            ),
            stop,
        )
    return fitted


def refit(
    fitted: FittedModel,
    train: TrainingSet,
    monitor: TrainingSet,
    *,
    seed: int,
    threads: int,
    engine: FitEngine = LOCAL,
) -> FittedModel:
    """The same model with its tuned settings, fitted again on ``train``.

    Boosted models keep the number of trees that early stopping chose on the
    fold (no early stopping here: ``monitor`` rows are watched, never used to
    choose); the logistic regression keeps its C; baselines are refitted as
    they were built.
    """
    tuned = {key: value for key, value in fitted.params.items() if key in ("num_leaves", "min_child_samples")}
    rounds = int(fitted.params.get("trees", 0)) or None
    if fitted.kind == "glassbox":
        model = _fit_glassbox(train, monitor, seed, threads, tuned, rounds=rounds, engine=engine)
    elif fitted.kind == "lightgbm":
        model = _fit_lightgbm(train, monitor, seed, threads, tuned, rounds=rounds, engine=engine)
    elif fitted.kind == "logistic":
        model = _fit_logistic(engine.logistic_rows(train), C=float(fitted.params["C"]), seed=seed)
    elif fitted.kind == "ranker":
        ranker = fit_one_feature_ranker(train.features, train.label)
        model = FittedModel("one_feature", "ranker", ranker, {"feature": ranker.feature, "sign": ranker.sign})
    else:
        return fitted
    model.params = {**fitted.params, **{key: value for key, value in model.params.items() if key == "trees"}}
    return model


def _grid(space: Mapping[str, tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [dict(zip(space, values, strict=True)) for values in itertools.product(*space.values())]


def _best(candidates: Any, stop: TrainingSet) -> FittedModel:
    """The candidate with the lowest log loss on the early-stopping rows."""
    scored = []
    for candidate in candidates:
        probability = 1 / (1 + np.exp(-candidate.raw_score(stop.features)))
        scored.append((log_loss(stop.label, np.clip(probability, 1e-12, 1 - 1e-12)), candidate))
    loss, best = min(scored, key=lambda item: item[0])
    best.params["stop_log_loss"] = round(float(loss), 6)
    return best


def _fit_logistic(train: TrainingSet, *, C: float, seed: int) -> FittedModel:
    numeric = [name for name in train.feature_names if name not in train.categorical]
    transformer = ColumnTransformer(
        [
            (
                "numeric",
                Pipeline(
                    [
                        (
                            "impute",
                            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                        ),
                        ("scale", StandardScaler()),
                    ]
                ),
                numeric,
            ),
            ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), train.categorical),
        ],
        verbose_feature_names_out=False,
    )
    pipeline = Pipeline(
        [
            ("prepare", transformer),
            ("model", LogisticRegression(C=C, max_iter=2000, random_state=seed)),
        ]
    )
    pipeline.fit(train.features, train.label)
    return FittedModel("logistic", "logistic", pipeline, {"C": C})


def _fit_glassbox(
    train: TrainingSet,
    stop: TrainingSet,
    seed: int,
    threads: int,
    params: dict[str, Any],
    *,
    rounds: int | None = None,
    engine: FitEngine = LOCAL,
) -> FittedModel:
    booster = engine.glassbox(train, stop, seed=seed, threads=threads, params=params, rounds=rounds)
    levels = {name: list(train.features[name].cat.categories) for name in train.categorical}
    lookup = compile_glassbox(booster, train.feature_names, levels)
    return FittedModel(
        "glassbox", "glassbox", booster, {**params, "trees": booster.num_trees()}, lookup=lookup
    )


def _fit_lightgbm(
    train: TrainingSet,
    stop: TrainingSet,
    seed: int,
    threads: int,
    params: dict[str, Any],
    *,
    rounds: int | None = None,
    engine: FitEngine = LOCAL,
) -> FittedModel:
    booster = engine.lightgbm(train, stop, seed=seed, threads=threads, params=params, rounds=rounds)
    return FittedModel("lightgbm", "lightgbm", booster, {**params, "trees": booster.num_trees()})
