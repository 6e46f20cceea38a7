"""A referral reads the records the feature registry counts, so the evaluation can adjust for it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from features.build import FeatureBuilder
from features.load import load_bundle
from previ.config import SynthConfig
from synthetic import _observed, synth
from synthetic import _truth as truth_model
from synthetic._model import DRIVERS
from synthetic._observed import RECORD_WEIGHT

# The registry's feature that counts each factor's records, in DRIVERS order.
FEATURE_OF_FACTOR = (
    "unexcused_absences_90d",
    "failed_subjects_last_term",
    "incidents_90d",
    "substance_incidents_365d",
    "civic_infractions_365d",
    "probation_active",
    "programs_dropped_total",
)
# Three months stand for 90 days and twelve for 365: an incident on the first day or two of the
# oldest month (or a contact on the first day of a leap year's window) is the only difference.
WINDOW_EDGE = {"incidents_90d": 0.99, "civic_infractions_365d": 0.99}


@pytest.fixture(scope="module")
def counts_and_features(
    tmp_path_factory: pytest.TempPathFactory,
) -> list[tuple[np.ndarray, pd.DataFrame, pd.Index]]:
    """At each truth as_of: the record counts a referral read, and the registry's features."""
    captured: dict[dt.date, np.ndarray] = {}
    real = truth_model.truth_at

    def spy(population: Any, state: Any, calendar: Any, month: Any, **options: Any) -> Any:
        scores = state.seen.factor_scores(state.probation_left > 0)
        captured[month.date] = scores / RECORD_WEIGHT[:, None]
        return real(population, state, calendar, month, **options)

    folder = tmp_path_factory.mktemp("observed") / "bundle"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(synth.truth_model, "truth_at", spy)
        synth.synthesize(SynthConfig(youth=3000, years=4, seed=3), folder, paths=2)
    bundle = load_bundle(Path(folder))
    builder = FeatureBuilder(bundle)
    ids = pd.Index(bundle.tables["youth"]["youth_id"])
    found = []
    for date, counts in sorted(captured.items()):
        frame = builder.build([date]).frame.set_index("youth_id")
        found.append((counts, frame, ids))
    return found


def test_every_risk_factor_is_scored_from_one_registry_feature() -> None:
    assert len(FEATURE_OF_FACTOR) == len(DRIVERS) == RECORD_WEIGHT.size
    assert (RECORD_WEIGHT > 0).all()


@pytest.mark.parametrize("factor", range(len(DRIVERS)), ids=DRIVERS)
def test_referral_counts_equal_the_registry_features_at_the_month_start(
    counts_and_features: list[tuple[np.ndarray, pd.DataFrame, pd.Index]], factor: int
) -> None:
    name = FEATURE_OF_FACTOR[factor]
    assert len(counts_and_features) >= 4
    for counts, frame, ids in counts_and_features:
        rows = ids.get_indexer(frame.index)
        feature = frame[name].fillna(0.0).to_numpy()
        equal = np.isclose(counts[factor, rows], feature).mean()
        assert equal >= WINDOW_EDGE.get(name, 1.0), (name, equal)


def test_record_rings_keep_exactly_the_window() -> None:
    seen = _observed.Seen.empty(2)
    none = np.zeros(2, dtype=np.int64)
    for month in range(14):
        seen.add_month(
            month,
            unexcused=np.array([1, 0]),
            incidents=np.array([0, 1]),
            school_substance=np.array([1, 0]),
            civic=np.array([0, 2]),
            graded=np.array([0]) if month == 5 else np.zeros(0, np.int64),
            failed_subjects=np.array([3, 0]),
            program_dropout=none.astype(bool),
        )
    counts = np.rint(seen.factor_scores(np.array([True, False])) / RECORD_WEIGHT[:, None])
    assert counts[:, 0].tolist() == [3, 3, 0, 12, 0, 1, 0]
    assert counts[:, 1].tolist() == [0, 0, 3, 0, 24, 0, 0]
