"""The one selection engine: capacity, seeded tie-breaks, cut-offs, shared by evaluation and the audit."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import training.evaluate
from fairness_audits import TopK, audit
from fairness_audits.selection import CAPACITY_INVALID, capacity_count, cutoff, ranking, top_k
from previ.errors import PreviError
from tests.fairness_audits.factories import synthetic_table
from training.evaluate import evaluate


@pytest.mark.parametrize(
    ("n", "k", "expected"),
    [
        (2_346, 0.1, 234),  # floor(234.6): never more than the places there are
        (10, 0.3, 3),  # 0.3 * 10 = 2.9999... in floating point, still 3
        (1_000, 0.25, 250),
        (100, 0.001, 1),  # a share always takes at least one person
        (1_000, 1, 1),
        (1_000, 500, 500),
        (1_000, 1_000.0, 1_000),  # a count equal to the population takes everyone
    ],
)
def test_capacity_count_of_a_share_floors_and_a_count_is_kept(n: int, k: float, expected: int) -> None:
    assert capacity_count(n, k) == expected


@pytest.mark.parametrize("k", [0, -1, 1.5, 1_001, float("nan"), float("inf")])
def test_capacity_that_does_not_fit_is_refused_with_the_message_constant(k: float) -> None:
    with pytest.raises(PreviError) as error:
        capacity_count(1_000, k)
    assert str(error.value) == CAPACITY_INVALID.format(n=1_000, k=k)


def test_capacity_of_an_empty_population_is_refused() -> None:
    with pytest.raises(PreviError) as error:
        capacity_count(0, 0.5)
    assert str(error.value) == CAPACITY_INVALID.format(n=0, k=0.5)


@given(n=st.integers(1, 100_000), share=st.floats(1e-6, 1.0, exclude_max=True))
def test_capacity_of_a_share_is_between_one_and_the_share_of_the_population(n: int, share: float) -> None:
    count = capacity_count(n, share)
    assert 1 <= count <= n
    assert count == 1 or count <= share * n * (1 + 1e-9)  # never more places than the share
    assert count > share * n - 1


def test_top_k_takes_the_highest_scores_and_breaks_ties_by_seed() -> None:
    scores = np.array([0.9, 0.5, 0.5, 0.5, 0.5, 0.1])
    first = top_k(scores, 3, seed=1)
    assert first.sum() == 3 and first[0] and not first[-1]
    assert np.array_equal(first, top_k(scores, 3, seed=1))
    picks = {tuple(top_k(scores, 3, seed=seed)) for seed in range(20)}
    assert len(picks) > 1  # different seeds, different people among the tied


def test_ties_are_not_broken_by_row_order() -> None:
    # 100 tied scores with room for 50: rows sorted so that group A comes first.
    # If row order decided, A would take every place; a seeded shuffle gives A about half.
    scores = np.concatenate([np.ones(10), np.full(100, 0.5), np.zeros(10)])
    in_a = np.zeros(len(scores), dtype=bool)
    in_a[10:60] = True
    share_of_a = [top_k(scores, 60, seed=seed)[in_a].sum() / 50 for seed in range(200)]
    assert 0.4 < float(np.mean(share_of_a)) < 0.6
    taken = np.mean([top_k(scores, 60, seed=seed) for seed in range(200)], axis=0)
    assert np.all(taken[:10] == 1) and np.all(taken[110:] == 0)
    assert taken[10:110].min() > 0.3 and taken[10:110].max() < 0.7  # every tied row has its chance


@settings(max_examples=60, deadline=None)
@given(
    scores=st.lists(st.sampled_from([0.0, 0.1, 0.2, 0.5, 0.9]), min_size=1, max_size=60),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_top_k_and_ranking_agree_and_select_exactly_the_count(
    scores: list[float], seed: int, data: st.DataObject
) -> None:
    values = np.array(scores)
    count = data.draw(st.integers(1, len(values)))
    selected = top_k(values, count, seed=seed)
    order = ranking(values, seed=seed)
    assert selected.sum() == count
    assert np.array_equal(np.flatnonzero(selected), np.sort(order[:count]))
    assert np.all(np.diff(values[order]) <= 0)  # from the highest score down
    if count < len(values):
        assert values[selected].min() >= values[~selected].max()


@given(
    scores=st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=80),
    share=st.floats(0.01, 0.99),
)
def test_cutoff_keeps_at_least_the_share_and_nobody_below(scores: list[float], share: float) -> None:
    values = np.array(scores)
    count = capacity_count(len(values), share)
    lowest = cutoff(values, share)
    assert lowest in values
    assert int((values >= lowest).sum()) >= count  # ties at the cut-off may add a few
    assert int((values > lowest).sum()) < count


def test_cutoff_of_ten_percent_is_the_lowest_score_of_the_top_tenth() -> None:
    scores = np.arange(100) / 100
    assert cutoff(scores, 0.1) == pytest.approx(0.90)


def _spy_on_evaluation(monkeypatch: pytest.MonkeyPatch) -> list[npt.NDArray[np.bool_]]:
    """Record every selection that training's evaluation makes."""
    seen: list[npt.NDArray[np.bool_]] = []

    def spy(scores: npt.ArrayLike, count: int, *, seed: int = 0) -> npt.NDArray[np.bool_]:
        selected = top_k(scores, count, seed=seed)
        seen.append(selected)
        return selected

    monkeypatch.setattr(training.evaluate, "top_k", spy)
    return seen


@pytest.mark.parametrize("seed", [0, 3])
def test_evaluation_and_audit_select_the_same_people(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    frame = synthetic_table(2_346, seed=seed)
    frame["probability"] = frame["probability"].round(1)  # heavy ties at the cut-off
    label = frame["outcome"].to_numpy()
    probability = frame["probability"].to_numpy()
    seen = _spy_on_evaluation(monkeypatch)
    evaluation = evaluate(label, probability, k=0.1, resamples=0, seed=seed)
    result = audit(
        frame,
        label="outcome",
        score="probability",
        groups=["municipality"],
        rule=TopK(0.1),
        resamples=100,
        seed=seed,
    )
    assert evaluation.k == result.selection["selected"] == 234
    (evaluated,) = seen
    audited = TopK(0.1).select(probability, seed=seed)
    assert np.array_equal(evaluated, audited)
    tied = probability == result.selection["cutoff_score"]
    assert result.selection["tied_not_selected"] == int((tied & ~audited).sum()) > 0  # ties did matter
    assert result.overall.counts["tp"] == int(label[evaluated].sum())
    assert evaluation.values["precision_at_k"] == pytest.approx(result.overall.metrics["ppv"].value)
    assert evaluation.values["recall_at_k"] == pytest.approx(result.overall.metrics["tpr"].value)
