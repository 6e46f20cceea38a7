"""How figures are put to people: frequencies instead of decimals, bars, trend lines, changes in words.

Pure functions from the API's answers (:class:`service.schemas.ScoreOut`) and
the snapshot history to what the templates draw; no text is written here
without going through :mod:`service.pages.texts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from features.registry import Language
from models.artifact import Tiers
from service.pages.history import HistoryPoint, SnapshotDate
from service.pages.texts import page_text
from service.schemas import ReasonOut, ScoreOut

__all__ = [
    "Bar",
    "TrendChart",
    "change_since",
    "contribution_bars",
    "cost_sentence",
    "decimal",
    "frequency",
    "horizon",
    "per_hundred",
    "percent",
    "percentile_shown",
    "trend_chart",
]

TIER_ORDER = {"universal": 0, "selective": 1, "indicated": 2}
# Trend chart geometry, in viewBox units.
CHART_WIDTH = 320
CHART_HEIGHT = 132
CHART_LEFT = 40
CHART_RIGHT = 24
CHART_TOP = 10
CHART_BOTTOM = 26


def percent(probability: float) -> str:
    """A probability as a whole percentage ("18%"); "<1%" and ">99%" rather than a false 0% or 100%."""
    value = 100 * probability
    if 0 < value < 0.5:
        return "<1%"
    if 99.5 <= value < 100:
        return ">99%"
    return f"{value:.0f}%"


def frequency(probability: float, language: Language) -> str:
    """A natural frequency, deliberately rounded: "about 1 in 6", "about 7 in 10".

    Never "10 in 10" short of certainty, never "0 in 10" above zero: the rounding
    stops at 9 and at the one-in-n form.
    """
    if probability < 0.01:
        return page_text("frequency_below", language)
    if probability < 0.5:
        return page_text("frequency_one_in", language, n=max(2, round(1 / probability)))
    if probability >= 1:
        return page_text("frequency_of_ten", language, n=10)
    return page_text("frequency_of_ten", language, n=min(9, round(10 * probability)))


def per_hundred(probability: float, language: Language) -> str:
    """How many in 100 ("18"); "less than 1" and "more than 99" rather than a misleading 0 or 100."""
    count = round(100 * probability)
    if count < 1:
        return page_text("per100_below", language)
    if count >= 100 and probability < 1:
        return page_text("per100_above", language)
    return str(count)


def percentile_shown(percentile: float) -> int:
    """A percentile for people: whole, between 1 and 99 (nobody is above all of the 100, or below all)."""
    return min(99, max(1, round(percentile)))


def decimal(value: float, digits: int, language: Language) -> str:
    """A number with the language's decimal mark ("0,005" in Spanish, "0.005" in English)."""
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if language == "es" else text


def cost_sentence(cost: float, language: Language) -> str:
    """The cost of interpretability in words: which model ranks better, and by how much ROC AUC."""
    if abs(cost) < 0.0005:
        return page_text("card_cost_none", language)
    key = "card_cost_higher" if cost > 0 else "card_cost_lower"
    return page_text(key, language, cost=decimal(abs(cost), 3, language))


def horizon(days: int, language: Language) -> str:
    """The label horizon in words: whole months when it is close to them, else days."""
    months = round(days / 30.4375)
    if months >= 1 and abs(months * 30.4375 - days) <= 3:
        return page_text("horizon_months", language, months=months)
    return page_text("horizon_days", language, days=days)


@dataclass(frozen=True)
class Bar:
    """One reason's bar on a shared scale: x and width in a 0-100 viewBox with the axis at 50."""

    sentence: str
    raises: bool
    x: float
    width: float


def contribution_bars(score: ScoreOut) -> tuple[list[Bar], list[Bar]]:
    """Bars for the reasons (right of the axis) and protective factors (left), on one scale."""
    everything: Sequence[ReasonOut] = [*score.reasons, *score.protective_factors]
    largest = max((abs(reason.contribution) for reason in everything), default=0.0) or 1.0

    def bar(reason: ReasonOut) -> Bar:
        raises = reason.contribution > 0
        width = round(48 * abs(reason.contribution) / largest, 2)
        return Bar(
            sentence=reason.sentence,
            raises=raises,
            x=50.0 if raises else round(50 - width, 2),
            width=max(width, 0.5),
        )

    return [bar(reason) for reason in score.reasons], [bar(reason) for reason in score.protective_factors]


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    date: str
    value: str


@dataclass(frozen=True)
class TrendChart:
    """A small line chart of probabilities over snapshots, with the tier thresholds as dotted lines."""

    width: int
    height: int
    points: list[ChartPoint]
    polyline: str
    thresholds: list[tuple[str, float]]
    top_label: str
    top_y: float
    baseline_y: float
    left: int
    right: int
    label: str


def trend_chart(points: Sequence[HistoryPoint], tiers: Tiers | None, language: Language) -> TrendChart:
    """Lay out ``points`` (oldest first); ``tiers``: the served model's cut-offs, drawn when given."""
    cutoffs = [("selective", tiers.selective_min), ("indicated", tiers.indicated_min)] if tiers else []
    highest = max([point.probability for point in points] + [value for _, value in cutoffs] + [0.05])
    top = min(1.0, _nice_ceiling(1.15 * highest))
    plot_width = CHART_WIDTH - CHART_LEFT - CHART_RIGHT
    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM

    def y_of(probability: float) -> float:
        return round(CHART_TOP + plot_height * (1 - probability / top), 2)

    step = plot_width / max(1, len(points) - 1)
    laid = [
        ChartPoint(
            x=round(CHART_LEFT + (step * index if len(points) > 1 else plot_width / 2), 2),
            y=y_of(point.probability),
            date=point.snapshot.as_of.isoformat(),
            value=percent(point.probability),
        )
        for index, point in enumerate(points)
    ]
    summary = ", ".join(f"{point.date}: {point.value}" for point in laid)
    return TrendChart(
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        points=laid,
        polyline=" ".join(f"{point.x},{point.y}" for point in laid),
        thresholds=[(tier, y_of(value)) for tier, value in cutoffs if value <= top],
        top_label=percent(top),
        top_y=y_of(top),
        baseline_y=y_of(0.0),
        left=CHART_LEFT,
        right=CHART_WIDTH - CHART_RIGHT,
        label=page_text("trend_chart_label", language, points=summary),
    )


def change_since(
    points: Sequence[HistoryPoint],
    latest: SnapshotDate | None,
    previous: SnapshotDate | None,
    language: Language,
) -> str:
    """What changed for one young person between the two latest snapshots, in words."""
    if latest is None:
        return ""
    by_snapshot = {point.snapshot.id: point for point in points}
    now = by_snapshot.get(latest.id)
    if now is None:
        return page_text("change_absent", language)
    if previous is None:
        return page_text("change_first", language)
    before = by_snapshot.get(previous.id)
    if before is None:
        return page_text("change_new", language)
    if now.tier != before.tier:
        key = "change_tier_up" if TIER_ORDER[now.tier] > TIER_ORDER[before.tier] else "change_tier_down"
        return page_text(
            key,
            language,
            before=page_text(f"tier_{before.tier}", language),
            after=page_text(f"tier_{now.tier}", language),
        )
    points_moved = round(100 * (now.probability - before.probability))
    if points_moved == 0:
        return page_text("change_none", language)
    key = "change_up" if points_moved > 0 else "change_down"
    return page_text(key, language, points=abs(points_moved))


def _nice_ceiling(value: float) -> float:
    """The next multiple of 5 percentage points (10 above one half)."""
    step = 0.05 if value <= 0.5 else 0.1
    return round(step * -(-value // step), 4)
