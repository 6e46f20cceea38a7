"""Small synthetic youth tables and the models of the grid trained on them (cached per process)."""

from __future__ import annotations

from functools import cache

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from models.glassbox import LookupModel, compile_glassbox, fit_glassbox

DISTRICTS = ("centro", "norte", "sur", "oriente")
# Registry features with their registry directions, plus a categorical column and an unconstrained one.
MONOTONE = {
    "unexcused_absences_90d": 1,
    "attendance_rate_90d": -1,
    "grade_mean_last_term": -1,
    "fights_365d": 1,
    "age": 0,
}
NUMERIC = tuple(MONOTONE)
FEATURES = (*NUMERIC, "district")


def youth_table(rows: int = 4000, seed: int = 7) -> tuple[pd.DataFrame, np.ndarray]:
    """Features with missing values (except ``fights_365d`` and ``age``) and a label they drive.

    ``fights_365d`` has no missing value, so LightGBM gives its splits missing_type
    None (a NaN at scoring counts as 0); the others get missing_type NaN.
    """
    rng = np.random.default_rng(seed)
    absences = rng.poisson(2.5, rows).astype(float)
    attendance = np.clip(rng.beta(8, 1.5, rows), 0, 1)
    grade = np.clip(rng.normal(7.5, 1.3, rows), 0, 10).round(1)
    fights = rng.poisson(0.4, rows).astype(float)
    age = rng.integers(12, 19, rows).astype(float)
    district = rng.choice(len(DISTRICTS), rows, p=[0.4, 0.3, 0.2, 0.1])
    logit = (
        -2.0
        + 0.35 * absences
        - 3.0 * (attendance - 0.85)
        - 0.45 * (grade - 7.5)
        + 0.6 * fights
        + 0.15 * (age - 15)
        + np.array([0.9, 0.3, -0.4, 0.0])[district]
    )
    label = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    for values, share in ((absences, 0.08), (attendance, 0.1), (grade, 0.12)):
        values[rng.random(rows) < share] = np.nan
    district_codes = np.where(rng.random(rows) < 0.03, -1, district)
    frame = pd.DataFrame(
        {
            "unexcused_absences_90d": absences,
            "attendance_rate_90d": attendance,
            "grade_mean_last_term": grade,
            "fights_365d": fights,
            "age": age,
            "district": pd.Categorical.from_codes(district_codes, categories=list(DISTRICTS)),
        }
    )
    return frame, label


def split(
    frame: pd.DataFrame, label: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]:
    cut = int(0.75 * len(frame))
    return frame.iloc[:cut], label[:cut], frame.iloc[cut:].reset_index(drop=True), label[cut:]


@cache
def glassbox(zero_as_missing: bool = False) -> tuple[lgb.Booster, LookupModel]:
    """A small glass box and its lookup tables; ``zero_as_missing`` gives splits missing_type Zero."""
    train, y_train, valid, y_valid = split(*youth_table())
    booster = fit_glassbox(
        train,
        y_train,
        valid,
        y_valid,
        monotone=MONOTONE,
        seed=3,
        learning_rate=0.1,
        num_boost_round=400,
        extra_params={"zero_as_missing": zero_as_missing},
    )
    return booster, compile_glassbox(booster)


@cache
def unconstrained_booster() -> lgb.Booster:
    train, y_train, valid, y_valid = split(*youth_table())
    params = {"objective": "binary", "num_leaves": 15, "learning_rate": 0.1, "verbose": -1, "seed": 3}
    params |= {"deterministic": True, "force_row_wise": True, "num_threads": 1}
    train_set = lgb.Dataset(train, y_train)
    return lgb.train(params, train_set, num_boost_round=80, valid_sets=[lgb.Dataset(valid, y_valid)])


@cache
def logistic_pipeline() -> Pipeline:
    """The grid's logistic regression: median imputation with indicators, scaling, one-hot districts."""
    train, y_train, _, _ = split(*youth_table())
    numeric = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
            ("scale", StandardScaler()),
        ]
    )
    prepare = ColumnTransformer(
        [
            ("numeric", numeric, list(NUMERIC)),
            ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["district"]),
        ],
        verbose_feature_names_out=False,
    )
    return Pipeline([("prepare", prepare), ("model", LogisticRegression(C=1.0, max_iter=2000))]).fit(
        train, y_train
    )


def as_codes(frame: pd.DataFrame) -> np.ndarray:
    """The float matrix LightGBM sees: categories as their codes, missing levels as NaN."""
    columns = [
        np.where(frame[name].cat.codes < 0, np.nan, frame[name].cat.codes).astype(float)
        if isinstance(frame[name].dtype, pd.CategoricalDtype)
        else frame[name].to_numpy(dtype=float)
        for name in frame.columns
    ]
    return np.column_stack(columns)
