"""Temporal folds never let a training or validation label window reach the test as_of."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from previ.errors import PreviError
from training.splits import check_classes, stratified_folds, temporal_folds

DAY = np.timedelta64(1, "D")


def _rows(dates: list[str], per_date: int = 10) -> tuple[np.ndarray, np.ndarray]:
    time = np.repeat(np.array(dates, dtype="datetime64[ns]"), per_date)
    ids = np.tile(np.array([f"Y{i:03d}" for i in range(per_date)], dtype=object), len(dates))
    return time, ids


def test_yearly_as_of_dates_give_train_validate_test_with_gaps() -> None:
    time, ids = _rows(["2022-08-01", "2023-08-01", "2024-08-01", "2025-08-01"])
    folds = temporal_folds(time, ids, 365)
    last = folds[-1]
    assert last.description == "train as_of 2022-08-01, 2023-08-01; validate 2024-08-01; test 2025-08-01"
    assert len(folds) == 2
    assert not (last.train & last.validation).any() and not (last.validation & last.test).any()
    assert (last.stop | last.calibrate).sum() == 10 and last.stop.sum() not in (0, 10)


@settings(max_examples=50, deadline=None)
@given(
    offsets=st.lists(st.integers(0, 2000), min_size=2, max_size=8, unique=True),
    horizon=st.integers(30, 400),
)
def test_no_label_window_reaches_past_its_successor(offsets: list[int], horizon: int) -> None:
    dates = [str(np.datetime64("2020-01-01") + offset * DAY) for offset in offsets]
    time, ids = _rows(dates, per_date=4)
    try:
        folds = temporal_folds(time, ids, horizon)
    except PreviError:
        return
    day = time.astype("datetime64[D]")
    for fold in folds:
        test_start = day[fold.test].min()
        validation_start = day[fold.validation].min()
        assert (day[fold.train] + horizon * DAY <= validation_start).all()
        assert (day[fold.validation] + horizon * DAY <= test_start).all()


def test_too_few_dates_is_a_clear_error() -> None:
    time, ids = _rows(["2023-08-01", "2024-02-01"])
    with pytest.raises(PreviError, match="leave no fold"):
        temporal_folds(time, ids, 365)


def test_stratified_folds_cover_every_row_once_as_test() -> None:
    label = np.array([0, 1] * 50)
    ids = np.array([f"Y{i}" for i in range(100)], dtype=object)
    folds = stratified_folds(label, ids, k=5)
    assert np.array_equal(sum(fold.test.astype(int) for fold in folds), np.ones(100))
    assert all("no time column" in fold.description for fold in folds)


def test_a_fold_with_one_class_is_refused() -> None:
    time, ids = _rows(["2022-08-01", "2023-08-01", "2024-08-01"])
    label = np.zeros(len(time), dtype=int)
    with pytest.raises(PreviError, match="need both 0 and 1"):
        check_classes(label, temporal_folds(time, ids, 365))
