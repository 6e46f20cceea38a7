"""Evidence at the margin: where places went by rank within capacity, compare just above and just below.

A bundle whose places were allocated by rank carries an allocations table
(``manifest.json`` names it under ``allocation.allocations``): for every
monthly cycle, the young people ranked near the capacity cut-off with their
priority, their rank, the number of places, whether they were offered one and,
within a lottery band, their draw. Two designs read it:

* ``lottery``: within the band, a place was decided by a fair draw, so winners
  and losers are comparable by design; the effect is the difference of their
  outcome rates (a linear probability model with cycle fixed effects, standard
  errors clustered by young person: someone can be in the band more than once).
* ``rd``: a regression discontinuity in the rank, pooled over cycles by
  centring each cycle's ranks on its threshold, estimated by rdrobust (local
  linear, MSE-optimal bandwidth, bias-corrected estimate with its robust 95% CI,
  clustered by young person). Without a lottery it is sharp at the cut-off
  (between rank K, the last place, and rank K + 1). With a lottery band the rank
  no longer decides at the cut-off but at the band's two edges, where the chance
  of a place jumps by a half (1 to 1/2 at the top, 1/2 to 0 at the bottom): a
  fuzzy discontinuity at each edge, the two pooled by inverse variance. A jump
  of a half needs four times the rows of a sharp one, so expect a wide interval.

  The running variable is the rank, not the priority, because the priority is
  a score of records with mass points (on the bench's worlds one value held 5%
  of the rows), and a threshold often falls inside a tie: on the priority, the
  tied young people sit at the threshold on both sides, and a group with
  identical records is no continuum either side of it. The rank is what decided
  the place (rank K or better), and within a tie its order is the allocation's
  tie-break, not the records. On synthetic worlds 1-40 the priority's RD leaned
  +0.038 on the risk difference (truth -0.030) and covered the truth 31 times;
  the rank's leaned +0.000 and covered it 36 times, and 19 of 20 on worlds
  61-80 (``bench/bench_evaluate.py --margin-only``; the README has the figures).

  The relative reduction divides the risk difference and its interval by the
  observed risk of those not offered within the bandwidths, the untreated risk
  near the threshold, taken as known: over the 2,000-2,900 such rows of the
  bench's worlds its relative standard error is 4-5%, which would widen the
  interval by under 1%, and a rescaled interval says what the difference's
  interval and the E-value say (no effect, or one). Dividing by an estimated
  risk of the served at the threshold instead (an intercept of the local fit)
  made the mapping swing, and could even give a negative risk. That untreated
  risk averages the band's losers and those just below it, so it sits a little
  below the band's own (by 0.008 on average, against 0.19, on seeds 1-40).

Both estimate the effect of a place offered in month m on the adverse outcome
within the horizon from the first day of m + 1, among people of priority near
the cut-off: the margin truth of a synthetic bundle (``truth_effects.json``).
Everyone offered took the place in the synthetic world; with refusals these are
effects of the offer (intention to treat).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from rdrobust import rdrobust

from evaluation.estimate import Z_95, Effect, Interval, e_value, e_value_ci, effect_interval
from features._events import as_day
from features._youth import ExitFeatures, age_in_years
from features.build import BundleLike, first_record_date
from features.labels import OutcomeEvents
from previ.config import FeaturesConfig
from previ.errors import PreviError

Design = Literal["rd", "lottery"]
DESIGNS: tuple[Design, ...] = ("rd", "lottery")
MIN_ROWS = 30
NO_BALANCE = pd.DataFrame(columns=["covariate", "smd_before", "smd_after"])
NO_ALLOCATIONS_ERROR = (
    "--design {design}: the bundle has no allocations table (places by rank with a capacity cut-off); "
    "synthesise one with synth.allocation: rank"
)
NO_LOTTERY_ERROR = (
    "--design lottery: no cycle of the allocations table has a lottery band (allocation.lottery_band)"
)


@dataclass(frozen=True)
class MarginRows:
    """One row per cycle and young person ranked near the cut-off, with the outcome after the cycle.

    ``frame`` has cycle, youth_id, priority, rank, places, offered, lottery,
    lottery_draw, outcome (0/1), band_first and band_last (the band's ranks; without a band the
    first rank without a place and the last with one), and the rank distances to the thresholds,
    positive on the better-ranked side: running (to the cut-off, between ranks K and K + 1),
    running_top (between the band's first rank and the one before) and running_bottom (between
    its last rank and the one after).
    """

    frame: pd.DataFrame
    cycles: tuple[str, str]


def read_allocations(data_dir: Path, design: Design) -> pd.DataFrame:
    """The bundle's allocations table; PreviError naming the design when there is none."""
    manifest_path = data_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    name = (manifest.get("allocation") or {}).get("allocations")
    if not name or not (data_dir / name).is_file():
        raise PreviError(NO_ALLOCATIONS_ERROR.format(design=design))
    path = data_dir / name
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


def margin_rows(bundle: BundleLike, allocations: pd.DataFrame, settings: FeaturesConfig) -> MarginRows:
    """Rows of the cycles with a year of history and a closed outcome window, of programme age,
    still followed on the first day of the month after the cycle."""
    tables = bundle.tables
    frame = allocations.copy()
    frame["cycle"] = pd.to_datetime(frame["cycle"])
    frame["youth_id"] = frame["youth_id"].astype(str)
    first = pd.Timestamp(first_record_date(tables)) + pd.DateOffset(years=1)
    following = frame["cycle"] + pd.DateOffset(months=1)
    extraction_day = as_day(pd.Timestamp(bundle.extraction_date))
    window_closed = np.array([as_day(day) for day in following]) + settings.horizon_days <= extraction_day + 1
    frame = frame[(frame["cycle"] >= first).to_numpy() & window_closed].reset_index(drop=True)
    frame = frame.join(_band_ranks(frame), on="cycle")
    rank = frame["rank"].astype(float)
    frame["running"] = frame["places"] + 0.5 - rank
    frame["running_top"] = frame["band_first"] - 0.5 - rank
    frame["running_bottom"] = frame["band_last"] + 0.5 - rank
    youth_index = pd.Index(tables["youth"]["youth_id"].astype(str))
    outcomes = OutcomeEvents(dict(tables), youth_index, settings.outcome)
    exits = ExitFeatures(tables["school_exits"], youth_index) if "school_exits" in tables else None
    births = tables["youth"].set_index(tables["youth"]["youth_id"].astype(str))["birth_date"]
    keep = np.zeros(len(frame), dtype=bool)
    outcome = np.zeros(len(frame))
    for stamp, rows in frame.groupby("cycle").groups.items():
        cycle = pd.Timestamp(str(stamp))
        index = np.asarray(rows)
        position = youth_index.get_indexer(frame.loc[index, "youth_id"])
        day = as_day(cycle + pd.DateOffset(months=1))
        outcome[index] = outcomes.label(day, settings.horizon_days, extraction_day)[position]
        age = age_in_years(births.reindex(frame.loc[index, "youth_id"]), cycle)
        followed = ~exits.left_population(day)[position] if exits is not None else True
        keep[index] = (age >= settings.min_age) & (age <= settings.max_age) & followed
    frame = frame.assign(outcome=outcome.astype(int))[keep].reset_index(drop=True)
    if frame.empty:
        raise PreviError("evaluate --design: no cycle has a year of history and a closed outcome window")
    span = (frame["cycle"].min().date().isoformat(), frame["cycle"].max().date().isoformat())
    return MarginRows(frame=frame, cycles=span)


def _band_ranks(frame: pd.DataFrame) -> pd.DataFrame:
    """Per cycle, the lottery band's first and last ranks; without a band, K + 1 and K (both edges
    are then the cut-off between the last place and the first person without one)."""
    band = frame[frame["lottery"].astype(bool)].groupby("cycle")["rank"].agg(["min", "max"])
    places = frame.groupby("cycle")["places"].first()
    return pd.DataFrame(
        {
            "band_first": band["min"].reindex(places.index).fillna(places + 1).astype(int),
            "band_last": band["max"].reindex(places.index).fillna(places).astype(int),
        }
    )


def lottery_effect(rows: MarginRows) -> Effect:
    """Winners versus losers of the lottery band (see the module docstring)."""
    band = rows.frame[rows.frame["lottery"].astype(bool)]
    if band.empty:
        raise PreviError(NO_LOTTERY_ERROR)
    won = band["offered"].to_numpy(dtype=bool)
    _check(won, "lottery")
    outcome = band["outcome"].to_numpy(dtype=float)
    cycles = pd.get_dummies(band["cycle"].dt.strftime("%Y-%m"), drop_first=True, dtype=float)
    design = sm.add_constant(np.column_stack([won.astype(float), cycles.to_numpy()]), has_constant="add")
    clusters = pd.factorize(band["youth_id"])[0]
    fit = sm.OLS(outcome, design).fit(cov_type="cluster", cov_kwds={"groups": clusters})
    difference = float(fit.params[1])
    low, high = (float(bound) for bound in fit.conf_int(alpha=0.05)[1])
    balance = _priority_balance(band["priority"].to_numpy(dtype=float), won)
    return _margin_effect(outcome, won, difference, (low, high), balance, "lottery band")


def rd_effect(rows: MarginRows) -> Effect:
    """Regression discontinuity at the cut-off, or at the lottery band's two edges (module docstring)."""
    frame = rows.frame
    if not frame["lottery"].astype(bool).any():
        jumps = [_discontinuity(frame, frame["running"], fuzzy=False)]
    else:
        lower = frame[frame["rank"] >= frame["band_first"]]  # the band and below: offered 1 in 2, then none
        upper = frame[frame["rank"] <= frame["band_last"]]  # sure places and the band: always, then 1 in 2
        jumps = [
            _discontinuity(lower, lower["running_bottom"], fuzzy=True),
            _discontinuity(upper, upper["running_top"], fuzzy=True),
        ]
    weights = np.array([1.0 / jump.se**2 for jump in jumps])
    difference = float(np.sum(weights * [jump.value for jump in jumps]) / weights.sum())
    se = float(1.0 / math.sqrt(weights.sum()))
    ci = (difference - Z_95 * se, difference + Z_95 * se)
    near = np.zeros(len(frame), dtype=bool)
    for jump in jumps:
        near[frame.index.get_indexer(jump.rows)] = True
    outcome, offered = frame["outcome"].to_numpy(dtype=float), frame["offered"].to_numpy(dtype=bool)
    untreated = outcome[near & ~offered]
    risk_untreated = float(untreated.mean()) if untreated.size else math.nan
    effect = _margin_effect(outcome[near], offered[near], difference, ci, NO_BALANCE, "rd")
    return Effect(
        **{
            **effect.__dict__,
            "risk_served": risk_untreated + difference,
            "risk_not_served": risk_untreated,
            "relative_risk_reduction": _relative_to_untreated(difference, ci, risk_untreated),
            "e_value": e_value(risk_untreated + difference, risk_untreated),
            "e_value_ci": _e_value_ci(risk_untreated, ci),
        }
    )


def _relative_to_untreated(difference: float, ci: tuple[float, float], risk: float) -> Interval:
    """-RD / r0 and the RD's interval rescaled alike, r0 the observed untreated risk near the
    threshold (module docstring). A risk cannot fall by more than all of it, so the reduction and its
    bounds stop at 1; NaN when nobody near the threshold had the outcome without an offer."""
    if not risk > 0:
        return Interval(math.nan, (math.nan, math.nan))
    low, high = ci
    return Interval(min(-difference / risk, 1.0), (min(-high / risk, 1.0), min(-low / risk, 1.0)))


def _e_value_ci(risk_untreated: float, ci: tuple[float, float]) -> float:
    """E-value of the bound nearest to no effect, its risks anchored on the untreated risk as the
    relative reduction is (1 when the interval holds 0)."""
    low, high = ci
    if low <= 0 <= high:
        return 1.0
    nearest = high if high < 0 else low
    return e_value(risk_untreated + nearest, risk_untreated)


@dataclass(frozen=True)
class _Jump:
    """One discontinuity: the effect (bias-corrected), its robust standard error and the rows
    within the bandwidth."""

    value: float
    se: float
    rows: pd.Index


def _discontinuity(frame: pd.DataFrame, running: pd.Series, *, fuzzy: bool) -> _Jump:
    """rdrobust at 0 of ``running`` (positive: the better-ranked side), clustered by young person.

    Sharp at the cut-off without a band; fuzzy at a band edge, where the chance of a
    place jumps by a half (the Wald ratio of the outcome's jump to the offers' jump).
    """
    offered = frame["offered"].to_numpy(dtype=float)
    _check(offered.astype(bool), "rd")
    outcome = frame["outcome"].to_numpy(dtype=float)
    x = running.to_numpy(dtype=float)
    clusters = pd.factorize(frame["youth_id"])[0]
    try:
        # rdrobust prints "Mass points detected" to stdout: a rank repeats once per cycle, by design,
        # and its default masspoints="adjust" handles that, so the line would only alarm the reader
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            fit = rdrobust(outcome, x, c=0.0, fuzzy=offered if fuzzy else None, cluster=clusters)
    except Exception as error:  # rdrobust raises bare Exceptions for designs it cannot fit
        raise PreviError(f"--design rd: rdrobust could not fit the discontinuity ({error})") from error
    value = float(np.ravel(fit.coef)[1])  # bias-corrected
    se = float(np.ravel(fit.se)[2])  # robust
    bandwidth = float(np.ravel(fit.bws)[0])
    return _Jump(value, se, frame.index[np.abs(x) <= bandwidth])


def _check(treated: np.ndarray, design: str) -> None:
    if treated.sum() < MIN_ROWS or (~treated).sum() < MIN_ROWS:
        raise PreviError(
            f"--design {design}: {int(treated.sum())} offered and {int((~treated).sum())} not offered "
            f"rows; at least {MIN_ROWS} of each needed"
        )


def _priority_balance(priority: np.ndarray, won: np.ndarray) -> pd.DataFrame:
    """The randomisation check: winners' and losers' priority should not differ."""
    spread = math.sqrt((priority[won].var() + priority[~won].var()) / 2.0) or 1.0
    smd = float((priority[won].mean() - priority[~won].mean()) / spread)
    return pd.DataFrame([{"covariate": "priority", "smd_before": smd, "smd_after": smd}])


def _margin_effect(
    outcome: np.ndarray,
    treated: np.ndarray,
    difference: float,
    ci: tuple[float, float],
    balance: pd.DataFrame,
    kind: str,
) -> Effect:
    """An :class:`Effect` of the margin: nothing trimmed, naive = the raw difference of the rows."""
    risk_served = float(outcome[treated].mean())
    risk_others = float(outcome[~treated].mean())
    return Effect(
        n_served=int(treated.sum()),
        n_comparison=int((~treated).sum()),
        risk_served=risk_served,
        risk_not_served=risk_served - difference,
        relative_risk_reduction=effect_interval(risk_served, difference, ci),
        risk_difference=Interval(difference, ci),
        naive_relative_risk_reduction=1.0 - risk_served / risk_others if risk_others > 0 else math.nan,
        naive_risk_difference=risk_served - risk_others,
        e_value=e_value(risk_served, risk_served - difference),
        e_value_ci=e_value_ci(risk_served, *ci),
        balance=balance,
        overlap={"trimmed_share": 0.0, "trimmed_served_share": 0.0, "design": kind},
    )
