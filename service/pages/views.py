"""How figures are put to people: frequencies instead of decimals, bars, trend lines, changes in words.

Pure functions from the API's answers (:class:`service.schemas.ScoreOut`) and
the snapshot history to what the templates draw. Every word comes from the
catalogs (:mod:`previ.i18n`), every number is written in the reader's locale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from models.artifact import Tiers
from previ.i18n import Language, translation
from service.pages.history import HistoryPoint, SnapshotDate
from service.pages.labels import label_of
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
    "percent",
    "percentile_shown",
    "probability_sentence",
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


def percent(probability: float, language: Language) -> str:
    """A probability as a whole percentage ("18 %", "18%"); "<1%", ">99%" rather than a false 0% or 100%."""
    texts = translation(language)
    value = 100 * probability
    if 0 < value < 0.5:
        return "<" + texts.percent(0.01)
    if 99.5 <= value < 100:
        return ">" + texts.percent(0.99)
    return texts.percent(probability)


def frequency(probability: float, language: Language) -> str:
    """A natural frequency, deliberately rounded: "about 1 in 6", "about 7 in 10".

    Never "10 in 10" short of certainty, never "0 in 10" above zero: the rounding
    stops at 9 and at the one-in-n form.
    """
    texts = translation(language)
    if probability < 0.01:
        return texts.gettext("less than 1 in 100")
    if probability < 0.5:
        return texts.gettext("about 1 in {n}", n=max(2, round(1 / probability)))
    tenths = 10 if probability >= 1 else min(9, round(10 * probability))
    return texts.gettext("about {n} in 10", n=tenths)


def probability_sentence(probability: float, outcome: str, horizon: str, language: Language) -> str:
    """How many of 100 young people like this one would have the outcome: "about 18", "fewer than 1".

    Never a misleading 0 or 100: below one in a hundred and above 99 (short of
    certainty) say so; the verb agrees with the number.
    """
    texts = translation(language)
    count = round(100 * probability)
    if count < 1:
        return texts.gettext(
            "Of 100 young people with an estimate like this one, fewer than 1 would have {outcome} "
            "{horizon}.",
            outcome=outcome,
            horizon=horizon,
        )
    if count >= 100 and probability < 1:
        return texts.gettext(
            "Of 100 young people with an estimate like this one, more than 99 would have {outcome} "
            "{horizon}.",
            outcome=outcome,
            horizon=horizon,
        )
    return texts.ngettext(
        "Of 100 young people with an estimate like this one, about {count} would have {outcome} {horizon}.",
        "Of 100 young people with an estimate like this one, about {count} would have {outcome} {horizon}.",
        count,
        count=count,
        outcome=outcome,
        horizon=horizon,
    )


def percentile_shown(percentile: float) -> int:
    """A percentile for people: whole, between 1 and 99 (nobody is above all of the 100, or below all)."""
    return min(99, max(1, round(percentile)))


def decimal(value: float, digits: int, language: Language) -> str:
    """A number with the language's decimal mark ("0,005" in Spanish, "0.005" in English)."""
    return translation(language).decimal(value, digits)


def cost_sentence(cost: float, language: Language) -> str:
    """The cost of interpretability in words: which model ranks better, and by how much ROC AUC."""
    texts = translation(language)
    if abs(cost) < 0.0005:
        return texts.gettext(
            "Cost of interpretability: none to speak of (both models have the same ROC AUC, within 0.001)."
        )
    shown = decimal(abs(cost), 3, language)
    if cost > 0:
        return texts.gettext(
            "Cost of interpretability: the unconstrained model ranks slightly better (ROC AUC {cost} "
            "higher).",
            cost=shown,
        )
    return texts.gettext(
        "Cost of interpretability: none; the interpretable model ranks better (ROC AUC {cost} higher than "
        "the unconstrained model's).",
        cost=shown,
    )


def horizon(days: int, language: Language) -> str:
    """The label horizon in words: whole months when it is close to them, else days."""
    texts = translation(language)
    months = round(days / 30.4375)
    if months >= 1 and abs(months * 30.4375 - days) <= 3:
        return texts.ngettext(
            "within the next month", "within the next {months} months", months, months=months
        )
    return texts.ngettext("within the next day", "within the next {days} days", days, days=days)


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
            value=percent(point.probability, language),
        )
        for index, point in enumerate(points)
    ]
    texts = translation(language)
    summary = ", ".join(
        f"{texts.date(point.snapshot.as_of, 'medium')}: {shown.value}"
        for point, shown in zip(points, laid, strict=True)
    )
    return TrendChart(
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        points=laid,
        polyline=" ".join(f"{point.x},{point.y}" for point in laid),
        thresholds=[(tier, y_of(value)) for tier, value in cutoffs if value <= top],
        top_label=percent(top, language),
        top_y=y_of(top),
        baseline_y=y_of(0.0),
        left=CHART_LEFT,
        right=CHART_WIDTH - CHART_RIGHT,
        label=texts.gettext("Estimated probability by snapshot date: {points}", points=summary),
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
    texts = translation(language)
    by_snapshot = {point.snapshot.id: point for point in points}
    now = by_snapshot.get(latest.id)
    if now is None:
        return texts.gettext("Not in the latest snapshot")
    if previous is None:
        return texts.gettext("First snapshot")
    before = by_snapshot.get(previous.id)
    if before is None:
        return texts.gettext("New in the latest snapshot")
    if now.tier != before.tier:
        tiers = {
            "before": label_of("tier", before.tier, language),
            "after": label_of("tier", now.tier, language),
        }
        if TIER_ORDER[now.tier] > TIER_ORDER[before.tier]:
            return texts.gettext("Rose from {before} to {after}", **tiers)
        return texts.gettext("Fell from {before} to {after}", **tiers)
    points_moved = round(100 * (now.probability - before.probability))
    if points_moved == 0:
        return texts.gettext("No change")
    if points_moved > 0:
        return texts.ngettext(
            "Same tier; +{points} point", "Same tier; +{points} points", points_moved, points=points_moved
        )
    return texts.ngettext(
        "Same tier; −{points} point", "Same tier; −{points} points", -points_moved, points=-points_moved
    )


def _nice_ceiling(value: float) -> float:
    """The next multiple of 5 percentage points (10 above one half)."""
    step = 0.05 if value <= 0.5 else 0.1
    return round(step * -(-value // step), 4)
