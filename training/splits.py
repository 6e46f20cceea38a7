"""Validation folds as first-class objects.

Temporal folds (data with as_of dates): for a test as_of ``T`` the validation
as_of ``V`` is the latest one whose label window closes by ``T`` (``V + horizon
<= T``), and training uses every as_of whose window closes by ``V``. No label
a model learns from, nor any label used to stop or calibrate it, reaches into
the period it is tested on. The last fold is the test; earlier folds are the
rolling evaluation that shows how stable the model is over time.

Validation rows are split in two halves by young person: one half stops the
boosting early, the other calibrates, so calibration is fitted on rows the
model never looked at.

Without a time column (a flat table) the folds are stratified k-fold, and the
report says so plainly: such figures do not show how a model ages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from previ.errors import PreviError

FoldKind = Literal["temporal", "stratified_kfold"]


@dataclass(frozen=True)
class Fold:
    """Row masks of one fold; ``stop`` and ``calibrate`` split the validation rows."""

    name: str
    kind: FoldKind
    train: np.ndarray
    stop: np.ndarray
    calibrate: np.ndarray
    test: np.ndarray
    description: str

    @property
    def validation(self) -> np.ndarray:
        return self.stop | self.calibrate


def temporal_folds(time: np.ndarray, ids: np.ndarray, horizon_days: int) -> list[Fold]:
    """Rolling temporal folds, oldest first; the last one is the test fold."""
    dates = np.array(sorted(set(time.astype("datetime64[D]").tolist())), dtype="datetime64[D]")
    row_dates = time.astype("datetime64[D]")
    horizon = np.timedelta64(horizon_days, "D")
    halves = _halves(ids)
    folds = []
    for test_date in dates:
        closed_by_test = dates[dates + horizon <= test_date]
        if len(closed_by_test) == 0:
            continue
        valid_date = closed_by_test[-1]
        train_dates = dates[dates + horizon <= valid_date]
        if len(train_dates) == 0:
            continue
        validation = row_dates == valid_date
        folds.append(
            Fold(
                name=f"test {test_date}",
                kind="temporal",
                train=np.isin(row_dates, train_dates),
                stop=validation & halves,
                calibrate=validation & ~halves,
                test=row_dates == test_date,
                description=(
                    f"train as_of {', '.join(str(date) for date in train_dates)}; "
                    f"validate {valid_date}; test {test_date}"
                ),
            )
        )
    if not folds:
        raise PreviError(
            f"training: the as_of dates {', '.join(str(date) for date in dates)} leave no fold in which "
            f"training labels ({horizon_days}-day windows) close before a validation and a test date; "
            "add as_of dates or synthesise more years"
        )
    return folds


def stratified_folds(label: np.ndarray, ids: np.ndarray, *, k: int = 5, seed: int = 0) -> list[Fold]:
    """Stratified k-fold for tables without time; 1/8 of each training part validates."""
    classes, counts = np.unique(label, return_counts=True)
    if len(classes) < 2 or counts.min() < k:
        found = ", ".join(f"{count} of class {value}" for value, count in zip(classes, counts, strict=True))
        raise PreviError(
            f"training: stratified {k}-fold needs at least {k} rows of each label class; "
            f"the label has {found}"
        )
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    halves = _halves(ids)
    inner = _bucket(ids, 8, salt="validation:") == 0
    folds = []
    for index, (_, test_rows) in enumerate(splitter.split(np.zeros(len(label)), label), start=1):
        test = np.zeros(len(label), dtype=bool)
        test[test_rows] = True
        validation = ~test & inner
        folds.append(
            Fold(
                name=f"fold {index}/{k}",
                kind="stratified_kfold",
                train=~test & ~inner,
                stop=validation & halves,
                calibrate=validation & ~halves,
                test=test,
                description=f"stratified {k}-fold, fold {index} (no time column: not a test of ageing)",
            )
        )
    return folds


def check_classes(label: np.ndarray, folds: list[Fold]) -> None:
    """Every part of every fold needs both classes, or metrics and calibration are meaningless."""
    for fold in folds:
        for part in ("train", "stop", "calibrate", "test"):
            values = np.unique(label[getattr(fold, part)])
            if len(values) < 2:
                raise PreviError(
                    f"training: {fold.name}: the {part} rows hold {len(values)} class(es) "
                    f"({', '.join(str(value) for value in values) or 'no rows'}); need both 0 and 1"
                )


def _bucket(ids: np.ndarray, buckets: int, *, salt: str) -> np.ndarray:
    """A stable bucket per id (same id, same bucket, in every run and on every machine).

    The salt makes assignments for different purposes independent of each other.
    """
    digests = pd.util.hash_pandas_object(salt + pd.Series(ids).astype(str), index=False).to_numpy()
    return (digests % np.uint64(buckets)).astype(np.int64)


def _halves(ids: np.ndarray) -> np.ndarray:
    return _bucket(ids, 2, salt="stop|calibrate:") == 0
