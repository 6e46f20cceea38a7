"""Benchmark: explained scoring on one thread, lookup tables against LightGBM's TreeSHAP.

    python bench/bench_explain.py [--rows 100000] [--contrib-rows 20000]

Trains a glass box on synthetic rows with the registry's 37 feature names and
directions, compiles it, then times on ONE thread: the lookup tables (raw score and
contributions), ``booster.predict(pred_contrib=True, num_threads=1)`` (on the first
``--contrib-rows`` rows, as it is slow) and the reason codes of every row.
Goals: lookup >= 200,000 rows/s and >= 50x pred_contrib.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from features.registry import FEATURES  # noqa: E402
from models.explain import explain  # noqa: E402
from models.glassbox import compile_glassbox, fit_glassbox  # noqa: E402
from models.reasons import reason_codes  # noqa: E402


def synthetic_features(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Registry-named features (skewed counts, rates, grades, with missing values) and a label."""
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {}
    logit = np.full(rows, -2.5)
    for feature in FEATURES:
        if feature.unit == "rate":
            values = rng.beta(6, 1.5, rows)
        elif feature.unit == "grade":
            values = np.clip(rng.normal(7.2, 1.4, rows), 0, 10)
        elif feature.unit == "flag":
            values = (rng.random(rows) < 0.15).astype(float)
        elif feature.unit == "points":
            values = rng.normal(0, 0.1, rows)
        else:
            values = rng.poisson(rng.gamma(1.0, 2.0, rows)).astype(float)
        standard = (values - values.mean()) / (values.std() + 1e-9)
        logit += feature.direction * rng.uniform(0.05, 0.3) * np.tanh(standard)
        values[rng.random(rows) < 0.05] = np.nan
        columns[feature.name] = values
    label = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    return pd.DataFrame(columns), label


def rows_per_second(rows: int, run: Callable[[], object], repeats: int = 3) -> float:
    best = min(_seconds(run) for _ in range(repeats))
    return rows / best


def _seconds(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--contrib-rows", type=int, default=20_000)
    arguments = parser.parse_args()

    train, y_train = synthetic_features(arguments.rows, seed=1)
    valid, y_valid = synthetic_features(arguments.rows // 5, seed=2)
    monotone = {feature.name: int(feature.direction) for feature in FEATURES}
    start = time.perf_counter()
    booster = fit_glassbox(train, y_train, valid, y_valid, monotone=monotone, seed=0, num_threads=1)
    trained = time.perf_counter() - start
    model = compile_glassbox(booster)
    print(f"glass box: {booster.num_trees()} trees on {len(train):,} rows x {train.shape[1]} features")
    print(f"  training (1 thread, early stopping): {trained:.1f} s")

    scoring, _ = synthetic_features(arguments.rows, seed=3)
    matrix = scoring.to_numpy(dtype=np.float64)
    contrib_rows = min(arguments.contrib_rows, len(matrix))

    def lookup() -> None:
        base, contributions = model.contributions(matrix)
        base + contributions.sum(axis=1)

    exact = np.abs(
        model.raw_score(matrix[:contrib_rows]) - booster.predict(matrix[:contrib_rows], raw_score=True)
    )
    shap_values = booster.predict(matrix[:contrib_rows], pred_contrib=True, num_threads=1)
    contribution_gap = np.abs(model.contributions(matrix[:contrib_rows])[1] - shap_values[:, :-1])
    print(f"  max |lookup raw - LightGBM raw|     = {exact.max():.2e}")
    print(f"  max |lookup contrib - pred_contrib| = {contribution_gap.max():.2e}")

    lookup_rate = rows_per_second(len(matrix), lookup)
    frame_rate = rows_per_second(len(scoring), lambda: model.contributions(scoring))
    contrib_rate = rows_per_second(
        contrib_rows,
        lambda: booster.predict(matrix[:contrib_rows], pred_contrib=True, num_threads=1),
        repeats=1,
    )
    explained = explain(model, scoring)
    reasons_rate = rows_per_second(len(scoring), lambda: reason_codes(explained), repeats=1)
    print(f"lookup, raw score + contributions (array):     {lookup_rate:>10,.0f} rows/s  (goal >= 200,000)")
    print(f"lookup, raw score + contributions (DataFrame): {frame_rate:>10,.0f} rows/s")
    print(f"LightGBM pred_contrib, 1 thread ({contrib_rows:,} rows): {contrib_rate:>10,.0f} rows/s")
    print(f"ratio lookup / pred_contrib: {lookup_rate / contrib_rate:,.0f}x  (goal >= 50x)")
    print(f"reason codes (top 3 each way, Spanish):        {reasons_rate:>10,.0f} rows/s")


if __name__ == "__main__":
    main()
