"""The pages' texts and the way figures are put to people (no browser, no model)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.artifact import Tiers
from service.pages.history import HistoryPoint, SnapshotDate
from service.pages.labels import LABELS, label_of
from service.pages.views import (
    change_since,
    cost_sentence,
    frequency,
    horizon,
    percent,
    percentile_shown,
    probability_sentence,
    trend_chart,
)

NBSP = "\u00a0"  # Spanish writes a non-breaking space before the percent sign


def test_every_label_reads_in_words_in_both_languages() -> None:
    snake = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)+")
    for family, words in LABELS.items():
        for code, message in words.items():
            for language in ("es", "en"):
                word = label_of(family, code, language)
                assert word and not snake.search(word), (family, code, language, word)
            assert label_of(family, code, "en") == message  # the English catalog carries the English


def test_labels_fall_back_to_the_value_itself() -> None:
    assert label_of("tier", "indicated", "es") == "Indicada"
    assert label_of("purpose", "case_review", "en") == "Case review"
    assert label_of("purpose", "community_outreach", "es") == "community_outreach"


@pytest.mark.parametrize(
    ("probability", "spanish", "english"),
    [
        (0.004, "menos de 1 de cada 100", "less than 1 in 100"),
        (0.18, "alrededor de 1 de cada 6", "about 1 in 6"),
        (0.21, "alrededor de 1 de cada 5", "about 1 in 5"),
        (0.45, "alrededor de 1 de cada 2", "about 1 in 2"),
        (0.72, "alrededor de 7 de cada 10", "about 7 in 10"),
        (0.96, "alrededor de 9 de cada 10", "about 9 in 10"),  # never "10 in 10" short of certainty
        (0.999, "alrededor de 9 de cada 10", "about 9 in 10"),
    ],
)
def test_probabilities_read_as_rounded_natural_frequencies(
    probability: float, spanish: str, english: str
) -> None:
    assert frequency(probability, "es") == spanish
    assert frequency(probability, "en") == english


def test_counts_per_hundred_percentages_and_horizons_read_plainly() -> None:
    def sentence(probability: float, language: str) -> str:
        return probability_sentence(probability, "X", "Y", language)  # type: ignore[arg-type]

    assert (
        sentence(0.183, "es") == "De cada 100 jóvenes con una estimación como esta, cerca de 18 tendrían X Y."
    )
    assert (
        sentence(0.012, "es") == "De cada 100 jóvenes con una estimación como esta, cerca de 1 tendría X Y."
    )
    assert "menos de 1 tendría" in sentence(0.003, "es") and "fewer than 1 would" in sentence(0.003, "en")
    assert "más de 99 tendrían" in sentence(0.997, "es") and "more than 99 would" in sentence(0.997, "en")
    assert percent(0.183, "en") == "18%" and percent(0.002, "en") == "<1%"
    assert percent(0.183, "es") == f"18{NBSP}%" and percent(0.002, "es") == f"<1{NBSP}%"
    assert percent(0.996, "en") == ">99%" and percent(1.0, "en") == "100%"
    assert horizon(365, "es") == "en los próximos 12 meses"
    assert horizon(30, "es") == "en el próximo mes" and horizon(30, "en") == "within the next month"
    assert horizon(180, "en") == "within the next 6 months"
    assert horizon(100, "en") == "within the next 100 days"


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=0.0, max_value=0.9999, allow_nan=False))
def test_no_probability_below_certainty_reads_as_certain(probability: float) -> None:
    assert "10 de cada 10" not in frequency(probability, "es")
    assert "10 in 10" not in frequency(probability, "en")
    assert " 100 would" not in probability_sentence(probability, "X", "Y", "en")
    assert percent(probability, "en") != "100%"


@pytest.mark.parametrize(("value", "shown"), [(100.0, 99), (99.6, 99), (0.0, 1), (0.2, 1), (57.4, 57)])
def test_a_percentile_is_shown_between_1_and_99(value: float, shown: int) -> None:
    assert percentile_shown(value) == shown


@pytest.mark.parametrize(
    ("cost", "spanish", "english"),
    [
        (-0.0051, "AUC ROC 0,005 más alto que el del modelo sin restricciones", "ROC AUC 0.005 higher than"),
        (0.012, "AUC ROC 0,012 más alto)", "ROC AUC 0.012 higher)"),
        (0.0002, "ninguno apreciable", "none to speak of"),
    ],
)
def test_the_cost_of_interpretability_reads_in_words(cost: float, spanish: str, english: str) -> None:
    assert spanish in cost_sentence(cost, "es") and english in cost_sentence(cost, "en")
    assert "-0" not in cost_sentence(cost, "es") + cost_sentence(cost, "en")


def _points(*values: tuple[int, float, str]) -> list[HistoryPoint]:
    return [
        HistoryPoint(SnapshotDate(snapshot, dt.date(2026, snapshot, 1), "1"), probability, 50.0, tier)
        for snapshot, probability, tier in values
    ]


def test_what_changed_between_the_two_latest_snapshots_is_said_in_words() -> None:
    latest, previous = SnapshotDate(3, dt.date(2026, 3, 1), "1"), SnapshotDate(2, dt.date(2026, 2, 1), "1")
    assert change_since(_points((2, 0.10, "universal"), (3, 0.14, "selective")), latest, previous, "es") == (
        "Subió de Universal a Selectiva"
    )
    assert change_since(_points((2, 0.30, "indicated"), (3, 0.15, "selective")), latest, previous, "en") == (
        "Fell from Indicated to Selective"
    )
    assert change_since(_points((2, 0.10, "universal"), (3, 0.07, "universal")), latest, previous, "es") == (
        "Mismo nivel; −3 puntos"
    )
    assert change_since(_points((2, 0.10, "universal"), (3, 0.11, "universal")), latest, previous, "en") == (
        "Same tier; +1 point"
    )
    assert change_since(_points((2, 0.10, "universal"), (3, 0.102, "universal")), latest, previous, "en") == (
        "No change"
    )
    assert (
        change_since(_points((3, 0.1, "universal")), latest, previous, "en") == "New in the latest snapshot"
    )
    assert (
        change_since(_points((2, 0.1, "universal")), latest, previous, "en") == "Not in the latest snapshot"
    )
    assert change_since(_points((3, 0.1, "universal")), latest, None, "es") == "Primer lote"


def test_the_trend_chart_scales_to_the_data_and_draws_tier_thresholds() -> None:
    chart = trend_chart(
        _points((1, 0.10, "universal"), (2, 0.30, "indicated")),
        Tiers(indicated_min=0.25, selective_min=0.12),
        "es",
    )
    assert [point.value for point in chart.points] == [f"10{NBSP}%", f"30{NBSP}%"]
    assert chart.top_label == f"35{NBSP}%"
    first, second = chart.points
    assert first.x < second.x and first.y > second.y  # higher probability, higher on the chart
    assert [tier for tier, _ in chart.thresholds] == ["selective", "indicated"]
    assert f"1 ene 2026: 10{NBSP}%" in chart.label
