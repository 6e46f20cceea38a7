"""Unknown features marginalised: the expectation, the exact range, and which unknown matters most."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.calibration import Calibrator
from models.marginal import Population, marginalise, population_from_training, reachable
from tests.models.factories import glassbox, split, youth_table

PLATT = Calibrator("platt", slope=0.8, intercept=-0.3)
ISOTONIC = Calibrator("isotonic", thresholds=(-4.0, -2.0, -1.0, 0.5, 2.0), values=(0.01, 0.05, 0.2, 0.4, 0.9))


def _data() -> tuple[pd.DataFrame, pd.DataFrame]:
    train, _, valid, _ = split(*youth_table())
    return train, valid.head(200)


def test_the_point_estimate_is_the_independent_marginal_expectation_in_logit() -> None:
    """Known terms from LightGBM's own TreeSHAP; unknown ones their mean over the population's rows."""
    booster, lookup = glassbox()
    train, rows = _data()
    # the training rows, and a population unlike them (many absences), whose expectations are not 0
    for population_rows in (train, train[train["unexcused_absences_90d"] >= 4]):
        population = population_from_training(population_rows, lookup)
        expected = np.asarray(booster.predict(population_rows, pred_contrib=True))[:, :-1].mean(axis=0)
        own = np.asarray(booster.predict(rows, pred_contrib=True))
        unknown = np.random.default_rng(5).random((len(rows), len(lookup.feature_names))) < 0.4
        independent = own[:, -1] + np.where(unknown, expected, own[:, :-1]).sum(axis=1)
        _, contributions = lookup.contributions(rows)
        marginal = marginalise(lookup, population, contributions, unknown, PLATT.probability)
        assert np.max(np.abs(marginal.logit - independent)) < 1e-9
        np.testing.assert_allclose(marginal.probability, PLATT.probability(independent), atol=1e-12)
        np.testing.assert_allclose(
            marginal.base + marginal.contributions.sum(axis=1), marginal.logit, atol=1e-12
        )
    assert np.abs(expected).max() > 0.05  # the second population really moves the unknown terms


@pytest.mark.parametrize("calibrator", [PLATT, ISOTONIC], ids=["platt", "isotonic"])
def test_each_feature_unknown_in_turn_the_range_holds_the_true_values_probability(
    calibrator: Calibrator,
) -> None:
    _, lookup = glassbox()
    train, rows = _data()
    population = population_from_training(train, lookup)
    _, contributions = lookup.contributions(rows)
    truth = calibrator.probability(lookup.raw_score(rows))
    for j in range(len(lookup.feature_names)):
        unknown = np.zeros(contributions.shape, dtype=bool)
        unknown[:, j] = True
        marginal = marginalise(lookup, population, contributions, unknown, calibrator.probability)
        assert ((marginal.low <= truth + 1e-12) & (truth <= marginal.high + 1e-12)).all()
        assert ((marginal.low <= marginal.probability) & (marginal.probability <= marginal.high)).all()
        # the range is exact: its ends are reached by values the feature can take
        table = lookup.position_table(j)[reachable(lookup, population, j)]
        others = lookup.base + np.delete(contributions, j, axis=1).sum(axis=1)
        reached = calibrator.probability(others[:, None] + table[None, :])
        np.testing.assert_allclose(marginal.low, reached.min(axis=1), atol=1e-12)
        np.testing.assert_allclose(marginal.high, reached.max(axis=1), atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(row=st.integers(0, 199), unknown=st.lists(st.booleans(), min_size=6, max_size=6))
def test_any_set_of_unknowns_gives_a_range_around_the_truth_and_the_estimate(
    row: int, unknown: list[bool]
) -> None:
    _, lookup = glassbox()
    train, rows = _data()
    one = rows.iloc[[row]]
    _, contributions = lookup.contributions(one)
    mask = np.array([unknown])
    marginal = marginalise(
        lookup, population_from_training(train, lookup), contributions, mask, ISOTONIC.probability
    )
    truth = ISOTONIC.probability(lookup.raw_score(one))
    assert marginal.low[0] <= truth[0] + 1e-12 and truth[0] <= marginal.high[0] + 1e-12
    assert marginal.low[0] <= marginal.probability[0] <= marginal.high[0]
    if not any(unknown):
        assert marginal.low[0] == marginal.high[0] == pytest.approx(truth[0], abs=1e-12)
        assert marginal.most_informative[0] == -1
    else:
        assert unknown[marginal.most_informative[0]]


def test_the_most_informative_unknown_leaves_the_narrowest_expected_range() -> None:
    """Brute force: make each unknown known at each populated position, weigh the widths left."""
    _, lookup = glassbox()
    train, rows = _data()
    population = population_from_training(train, lookup)
    _, contributions = lookup.contributions(rows.head(20))
    unknown = np.zeros(contributions.shape, dtype=bool)
    unknown[:, [0, 2, 3, 5]] = True
    chosen = marginalise(lookup, population, contributions, unknown, PLATT.probability).most_informative
    for row in range(len(contributions)):
        widths = {}
        for j in (0, 2, 3, 5):
            table = lookup.position_table(j)
            weights = population.positions[lookup.feature_names[j]] / population.rows
            total = 0.0
            for position in np.flatnonzero(weights):
                known = contributions[[row]].copy()
                known[0, j] = table[position]
                rest = unknown[[row]].copy()
                rest[0, j] = False
                result = marginalise(lookup, population, known, rest, PLATT.probability)
                total += weights[position] * (result.high[0] - result.low[0])
            widths[j] = total
        assert chosen[row] == min(widths, key=widths.__getitem__)


def test_the_population_knows_which_features_are_never_missing_and_survives_json() -> None:
    _, lookup = glassbox()
    train, _ = _data()
    population = population_from_training(train, lookup)
    assert population.never_missing("fights_365d") and population.never_missing("age")
    assert not population.never_missing("grade_mean_last_term") and not population.never_missing("district")
    assert all(counts.sum() == len(train) for counts in population.positions.values())
    fights = lookup.feature_names.index("fights_365d")
    assert not reachable(lookup, population, fights)[
        -1
    ]  # no record is not a state of a never-missing feature
    again = Population.from_dict(json.loads(json.dumps(population.to_dict())))
    assert again.rows == population.rows and dict(again.missing) == dict(population.missing)
    for name, counts in population.positions.items():
        np.testing.assert_array_equal(again.positions[name], counts)
