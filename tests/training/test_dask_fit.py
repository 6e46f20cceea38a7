"""The Dask engine's fitting rules that need no cluster: early stopping as LightGBM does it, the sample."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from training import dask_fit
from training.dask_fit import DaskFit, staged_log_loss, stopping_point
from training.dataset import TrainingSet


def _rows(count: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = pd.DataFrame(rng.normal(size=(count, 4)), columns=["a", "b", "c", "d"])
    logit = -2 + 0.8 * features["a"] - 0.5 * features["b"] + rng.normal(scale=1.5, size=count)
    return features, (rng.random(count) < 1 / (1 + np.exp(-logit))).astype(np.int8)


@pytest.mark.parametrize("learning_rate", [0.05, 0.4])
def test_client_side_early_stopping_keeps_the_trees_lightgbm_keeps(learning_rate: float) -> None:
    train, train_label = _rows(3000, seed=1)
    stop, stop_label = _rows(800, seed=2)
    params = {
        "objective": "binary",
        "learning_rate": learning_rate,
        "num_leaves": 7,
        "verbose": -1,
        "seed": 0,
    }
    evaluated: dict[str, dict[str, list[float]]] = {}
    stopped = lgb.train(
        params,
        lgb.Dataset(train, train_label),
        num_boost_round=400,
        valid_sets=[lgb.Dataset(stop, stop_label)],
        callbacks=[lgb.early_stopping(20, verbose=False), lgb.record_evaluation(evaluated)],
    )
    grown = lgb.train(params, lgb.Dataset(train, train_label), num_boost_round=400)

    losses, raw = staged_log_loss(grown, stop, stop_label, start=0, raw=np.zeros(len(stop)))
    assert np.allclose(raw, grown.predict(stop, raw_score=True), rtol=0, atol=1e-12)
    assert np.allclose(
        losses[: len(evaluated["valid_0"]["binary_logloss"])], evaluated["valid_0"]["binary_logloss"]
    )
    grown_until = len(evaluated["valid_0"]["binary_logloss"])
    assert stopping_point(losses, 20, final=True) == (stopped.best_iteration, grown_until)
    # in chunks, as DaskFit grows them: the same losses, and no answer until the rule fires
    first, raw_first = staged_log_loss(
        lgb.Booster(model_str=grown.model_to_string(num_iteration=30)), stop, stop_label, start=0, raw=raw * 0
    )
    rest, _ = staged_log_loss(grown, stop, stop_label, start=30, raw=raw_first)
    assert np.allclose(first + rest, losses, rtol=0, atol=1e-12)


def test_stopping_point_waits_until_patience_runs_out_or_the_last_tree() -> None:
    assert stopping_point([0.5, 0.4, 0.41, 0.42], 3, final=False) is None
    assert stopping_point([0.5, 0.4, 0.41, 0.42, 0.43], 3, final=False) == (2, 5)
    assert stopping_point([0.5, 0.4, 0.41], 3, final=True) == (2, 3)
    assert stopping_point([0.5, 0.5, 0.5, 0.5], 3, final=False) == (1, 4)  # a tie is no improvement


def test_the_logistic_sample_keeps_every_row_of_the_young_people_it_keeps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = np.repeat([f"Y{index:05d}" for index in range(2000)], 3)
    features = pd.DataFrame({"x": np.arange(len(ids), dtype=np.float64)})
    data = TrainingSet(
        features=features,
        label=np.tile([0, 1, 0], 2000).astype(np.int8),
        ids=ids,
        groups=pd.DataFrame(index=features.index),
    )
    engine = DaskFit(client=None, partitions=4)
    assert engine.logistic_rows(data) is data  # fewer rows than the cap: all of them

    monkeypatch.setattr(dask_fit, "LOGISTIC_MAX_ROWS", 1500)
    sample = engine.logistic_rows(data)
    assert 1200 < len(sample.label) < 1800
    kept = pd.Series(sample.ids).value_counts()
    assert (kept == 3).all()  # whole young people, never some of their rows
    assert (engine.logistic_rows(data).ids == sample.ids).all()  # the same sample every time
