"""Places per programme and cycle: who is offered which place, within capacity and eligibility.

Suggestions (:mod:`service.referrals`) rank programmes for one young person;
they know nothing of the places. An allocation shares each programme's places
for one cycle across everyone of a snapshot at once:

* a place can go to a young person only if the programme serves their age,
  municipality and tier, they are not already active in it or done with it, and
  at least one of their *reasons* (needs or history with a recorded value, see
  :mod:`models.reasons`) carries one of its referral tags;
* a programme offers at most its catalog capacity minus the young people still
  active in it at the snapshot's date;
* a young person gets at most ``per_person`` new programmes per cycle.

Among all allocations that respect those limits, the one chosen maximises the
summed weight of the offers. A weight is the person's priority (by need: the
calibrated probability, see :func:`priority`) plus a small bonus for fit (the
share of their raising contributions the programme answers), so places go to
the highest need first and, between people of nearly equal need, to where they
fit best. It is a transportation problem (a min-cost flow), solved exactly as
a linear programme by HiGHS's dual simplex (:func:`scipy.optimize.linprog`):
the constraint matrix is totally unimodular, so the optimal vertex is a 0/1
allocation without branch and bound. A greedy pass (highest need
first, best-fitting programme) can strand a place: see the tests. Ties break
by a tiny, fixed preference for the earlier young person in id order, so a
re-run gives the same offers.

Everyone eligible but not offered a place is on the waiting list of the
programme that fits them best, in order of priority.

With a lottery band (``allocation.lottery_band``), the ``2 m`` people eligible
somewhere and ranked around the cut-off (``K`` = the open places of every
programme, ``m = round(width x K)``, ranks ``K - m + 1 .. K + m``) draw lots:
within the band the weight is the draw mapped onto the band's range of
priority, without the fit bonus, so the draw alone orders them and nobody
outside the band changes place. Each band member's draw is kept in the offers
(``lottery_draw``), with the seed, for ``previ evaluate --design lottery``.

A cycle already under way keeps its decisions (:func:`allocate`'s ``held`` and
``declined``): the offers it made stand, and a programme a young person
declined in it (an offered place, or a waiting-list entry) is not offered to
them again; only the places left or freed go round again.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import pandas as pd
from scipy.optimize import linprog
from scipy.sparse import csr_array, vstack

from fairness_audits.allocation import Policy, check_groups, equal_recall_priority
from features._youth import age_band
from previ.config import LotteryBandConfig
from previ.errors import PreviError
from service.catalog import Catalog, Programme

__all__ = ["FIT_WEIGHT", "OFFER_COLUMNS", "STATUSES", "Allocation", "Status", "allocate", "priority"]

# How much a perfect fit is worth against need, in probability units: fit decides between people
# whose need differs by less than this, and between programmes for one person.
FIT_WEIGHT = 0.01
# Tie-breaking preference per position in id order; far below any difference in probability that matters.
_TIE = 1e-9
OFFER_COLUMNS = (
    "youth_id",
    "program",
    "status",
    "position",
    "priority",
    "fit",
    "municipality",
    "tier",
)
# What a cycle's row says of a young person and a programme: an offered place, a waiting-list entry,
# an offered place they declined (freed for the waiting list) or a waiting-list entry they left.
Status = Literal["offered", "waiting", "declined", "withdrawn"]
STATUSES: Final[tuple[Status, ...]] = ("offered", "waiting", "declined", "withdrawn")
NO_SOLUTION = "allocate: the solver found no allocation ({message})"
# How far from 0 or 1 a vertex of the linear programme may lie (floating point), before it is an error.
INTEGRALITY = 1e-6


@dataclass(frozen=True, eq=False)
class Allocation:
    """One cycle's offers and waiting lists, and how each programme's places were used.

    ``offers`` has :data:`OFFER_COLUMNS`: ``status`` is one of :data:`STATUSES`;
    ``position`` is the place on the programme's waiting list (1 = next), 0
    otherwise. Sorted by programme, status (in :data:`STATUSES` order), position,
    then id.
    ``places`` has one row per catalog programme: program, capacity, enrolled
    (active at the snapshot's date), open (capacity - enrolled, at least 0),
    offered, waiting.
    """

    offers: pd.DataFrame
    places: pd.DataFrame


def priority(scores: pd.DataFrame, *, policy: Policy = "need", groups: Sequence[str] = ()) -> pd.Series:
    """Who comes first for a place under the allocation policy, indexed by youth_id; higher first.

    ``need``: the calibrated probability. ``equal_recall``: one minus the share
    of one's group's expected need already reached
    (:func:`fairness_audits.allocation.equal_recall_priority`), so every group
    of ``groups`` (columns of the snapshot's scores; ``age_band`` is derived
    from age) expects the same share of its young people in need to be reached.
    The policy changes this ordering and nothing else.
    """
    probability = scores["probability"].to_numpy(dtype=float)
    if policy == "equal_recall":
        frame = scores.assign(age_band=age_band(scores["age"].to_numpy())) if "age" in scores else scores
        check_groups(groups, [str(column) for column in frame.columns])
        probability = equal_recall_priority(probability, frame[list(groups)].reset_index(drop=True))
    return pd.Series(probability, index=scores["youth_id"].astype(str), name="priority")


def allocate(
    scores: pd.DataFrame,
    reasons: pd.DataFrame,
    enrolments: pd.DataFrame,
    catalog: Catalog,
    *,
    per_person: int = 1,
    need: pd.Series | None = None,
    lottery: LotteryBandConfig | None = None,
    cycle: str = "",
    held: Collection[tuple[str, str]] = (),
    declined: Collection[tuple[str, str]] = (),
    withdrawn: Collection[tuple[str, str]] = (),
) -> Allocation:
    """Offer places of every catalog programme for one cycle.

    ``scores``: youth_id, age, municipality, tier, probability (a snapshot's
    scores). ``reasons``: youth_id, direction, contribution, referral_tags
    (comma-separated), as a snapshot stores them; only ``raises`` rows count.
    ``enrolments``: youth_id, program, status at the snapshot's date. ``need``:
    the priority per youth_id (default :func:`priority` of ``scores``).
    ``lottery``: a lottery band around the cut-off (see the module docstring);
    the offers then have ``lottery_draw`` (NaN outside the band) and ``lottery_seed``;
    the draws come from the seed and the ``cycle``'s name, so each cycle draws afresh.

    The cycle's decisions so far, as (youth_id, program) pairs: ``held``, offers
    already made, which stand while the young person is still eligible (the
    highest priority first if a programme now has fewer open places than
    offers); ``declined`` (an offered place) and ``withdrawn`` (a waiting-list
    entry), programmes the young person turned down: never offered to them
    again, and kept as rows of that status.
    """
    if per_person < 1:
        raise PreviError(f"allocate: per_person must be at least 1 (got {per_person})")
    people = scores.assign(youth_id=scores["youth_id"].astype(str)).sort_values("youth_id", kind="stable")
    people = people.reset_index(drop=True)
    ranking = (need if need is not None else priority(scores)).reindex(people["youth_id"]).to_numpy(float)
    if np.isnan(ranking).any():
        raise PreviError("allocate: the priority gives no value for some young people of the snapshot")
    programmes = list(catalog.programs)
    fit = _fit(people, reasons, programmes)
    turned_down = {
        status: _cells(pairs, people, programmes)
        for status, pairs in (("declined", declined), ("withdrawn", withdrawn))
    }
    eligible = (fit > 0) & _eligibility(people, enrolments, programmes)
    eligible &= ~(turned_down["declined"] | turned_down["withdrawn"])
    enrolled = _active_counts(enrolments, programmes)
    open_places = np.maximum(np.array([p.capacity for p in programmes]) - enrolled, 0)
    weight = ranking[:, None] + FIT_WEIGHT * fit + _TIE * (len(people) - np.arange(len(people)))[:, None]
    draw = np.full(len(people), np.nan)
    by_lot = weight.copy()
    if lottery is not None:
        draw = lottery_draws(ranking, eligible.any(axis=1), int(open_places.sum()), lottery, cycle)
        band = ~np.isnan(draw)
        low, high = (ranking[band].min(), ranking[band].max()) if band.any() else (0.0, 0.0)
        by_lot[band] = (low + (high - low) * draw[band])[:, None]  # the highest draws win
    standing = _standing(_cells(held, people, programmes) & eligible, weight, open_places, per_person)
    budget = per_person - standing.sum(axis=1)
    left = open_places - standing.sum(axis=0)
    free = eligible & ~standing & (budget > 0)[:, None]
    offered = standing | _solve(np.where(free, by_lot, 0.0), free, left, budget)
    offers = _offers(people, ranking, fit, eligible, offered, weight, programmes, per_person, turned_down)
    if lottery is not None:
        draws = pd.Series(draw, index=people["youth_id"])
        offers = offers.assign(
            lottery_draw=draws.reindex(offers["youth_id"]).to_numpy(), lottery_seed=lottery.seed
        )
    counts = offers.groupby(["program", "status"]).size()
    places = pd.DataFrame(
        {
            "program": [p.id for p in programmes],
            "capacity": [p.capacity for p in programmes],
            "enrolled": enrolled,
            "open": open_places,
            "offered": [int(counts.get((p.id, "offered"), 0)) for p in programmes],
            "waiting": [int(counts.get((p.id, "waiting"), 0)) for p in programmes],
        }
    )
    return Allocation(offers=offers, places=places)


def lottery_draws(
    ranking: np.ndarray, candidates: np.ndarray, places: int, band: LotteryBandConfig, cycle: str = ""
) -> np.ndarray:
    """A uniform draw for each of the ``2 m`` candidates ranked around the ``places``-th; NaN elsewhere.

    Ties in ``ranking`` keep the earlier row first; the draws come from the seed
    sequence (``band.seed``, CRC-32 of ``cycle``) in that rank order, so the seed and
    the cycle replay them, and cycles do not repeat one another's draws.
    """
    draw = np.full(ranking.size, np.nan)
    rows = np.flatnonzero(candidates)
    places = min(places, rows.size)
    half = min(round(band.width * places), places, rows.size - places)
    if half < 1:
        return draw
    order = rows[np.argsort(-ranking[rows], kind="stable")]
    members = order[places - half : places + half]
    stream = np.random.SeedSequence([band.seed, zlib.crc32(cycle.encode("utf-8"))])
    draw[members] = np.random.Generator(np.random.PCG64(stream)).random(members.size)
    return draw


def _fit(people: pd.DataFrame, reasons: pd.DataFrame, programmes: list[Programme]) -> np.ndarray:
    """Share (0-1) of each person's raising contributions that each programme's tags answer."""
    raising = reasons[(reasons["direction"] == "raises") & (reasons["contribution"] > 0)]
    row_of = pd.Series(np.arange(len(people)), index=people["youth_id"])
    rows = row_of.reindex(raising["youth_id"].astype(str)).to_numpy()
    known = ~np.isnan(rows)
    rows = rows[known].astype(np.intp)
    contribution = raising["contribution"].to_numpy(dtype=float)[known]
    codes, distinct = pd.factorize(raising["referral_tags"].astype(str).to_numpy()[known])
    total = np.bincount(rows, weights=contribution, minlength=len(people))
    fit = np.zeros((len(people), len(programmes)))
    for column, programme in enumerate(programmes):
        wanted = set(programme.referral_tags)
        # a few distinct tag lists, each checked once
        answered = np.array([bool(wanted.intersection(tags.split(","))) for tags in distinct], dtype=bool)
        answers = answered[codes] if codes.size else np.zeros(0, dtype=bool)
        matched = np.bincount(rows[answers], weights=contribution[answers], minlength=len(people))
        fit[:, column] = np.divide(matched, total, out=np.zeros(len(people)), where=total > 0)
    return fit


def _eligibility(people: pd.DataFrame, enrolments: pd.DataFrame, programmes: list[Programme]) -> np.ndarray:
    """Who each programme may take: age, municipality and tier served, not active in it or done."""
    age = people["age"].to_numpy(dtype=int)
    municipality = people["municipality"].astype(str)
    tier = people["tier"].astype(str)
    blocked = enrolments[enrolments["status"].isin(["active", "completed"])]
    allowed = np.zeros((len(people), len(programmes)), dtype=bool)
    for column, programme in enumerate(programmes):
        in_area = (
            np.ones(len(people), bool)
            if programme.municipalities == "all"
            else municipality.isin(programme.municipalities).to_numpy()
        )
        taken = set(blocked.loc[blocked["program"] == programme.id, "youth_id"].astype(str))
        allowed[:, column] = (
            in_area
            & (programme.ages[0] <= age)
            & (age <= programme.ages[1])
            & tier.isin(programme.tiers).to_numpy()
            & ~people["youth_id"].isin(taken).to_numpy()
        )
    return allowed


def _active_counts(enrolments: pd.DataFrame, programmes: list[Programme]) -> np.ndarray:
    active = enrolments[enrolments["status"] == "active"]
    counts = active.groupby("program")["youth_id"].nunique()
    return np.array([int(counts.get(p.id, 0)) for p in programmes], dtype=int)


def _cells(
    pairs: Collection[tuple[str, str]], people: pd.DataFrame, programmes: list[Programme]
) -> np.ndarray:
    """(youth_id, program) pairs as a people x programmes mask (absent people or programmes left out)."""
    mask = np.zeros((len(people), len(programmes)), dtype=bool)
    row_of = {youth_id: row for row, youth_id in enumerate(people["youth_id"])}
    column_of = {programme.id: column for column, programme in enumerate(programmes)}
    for youth_id, program in pairs:
        if youth_id in row_of and program in column_of:
            mask[row_of[youth_id], column_of[program]] = True
    return mask


def _standing(held: np.ndarray, weight: np.ndarray, places: np.ndarray, per_person: int) -> np.ndarray:
    """The held offers that still fit: per programme its open places, per person ``per_person``, by weight."""
    kept = np.zeros(held.shape, dtype=bool)
    rows, columns = np.nonzero(held)
    order = np.lexsort((rows, -weight[rows, columns]))
    per_row = np.zeros(held.shape[0], dtype=int)
    per_column = np.zeros(held.shape[1], dtype=int)
    for row, column in zip(rows[order], columns[order], strict=True):
        if per_row[row] < per_person and per_column[column] < places[column]:
            kept[row, column] = True
            per_row[row] += 1
            per_column[column] += 1
    return kept


def _solve(
    weight: np.ndarray, eligible: np.ndarray, places: np.ndarray, per_person: np.ndarray
) -> np.ndarray:
    """The 0/1 offers maximising the summed weight: at most ``places`` per column, ``per_person`` per row.

    The linear programme of a transportation problem has a totally unimodular
    constraint matrix, so the dual simplex's optimal vertex is already 0/1: no
    branch and bound is needed (which is what makes 100,000 people take seconds).
    """
    rows, columns = np.nonzero(eligible)
    offered = np.zeros(eligible.shape, dtype=bool)
    if rows.size == 0:
        return offered
    people, row_of = np.unique(rows, return_inverse=True)
    variables = np.arange(rows.size)
    limits = vstack(
        [
            csr_array((np.ones(rows.size), (row_of, variables)), shape=(people.size, rows.size)),
            csr_array((np.ones(rows.size), (columns, variables)), shape=(eligible.shape[1], rows.size)),
        ]
    ).tocsr()
    bounds = np.concatenate([per_person[people].astype(float), places.astype(float)])
    result = linprog(-weight[rows, columns], A_ub=limits, b_ub=bounds, bounds=(0, 1), method="highs-ds")
    if result.status != 0 or result.x is None:
        raise PreviError(NO_SOLUTION.format(message=result.message))
    if np.abs(result.x - np.round(result.x)).max() > INTEGRALITY:
        raise PreviError(NO_SOLUTION.format(message="the optimum is not a 0/1 allocation"))
    chosen = result.x > 0.5
    offered[rows[chosen], columns[chosen]] = True
    return offered


def _offers(
    people: pd.DataFrame,
    ranking: np.ndarray,
    fit: np.ndarray,
    eligible: np.ndarray,
    offered: np.ndarray,
    weight: np.ndarray,
    programmes: list[Programme],
    per_person: int,
    turned_down: dict[str, np.ndarray],
) -> pd.DataFrame:
    """The long table: every offer, one waiting-list entry per person short of ``per_person`` offers, and
    the programmes turned down in the cycle."""
    ids = [p.id for p in programmes]
    offer_rows, offer_columns = np.nonzero(offered)
    short = offered.sum(axis=1) < per_person
    remaining = np.where(eligible & ~offered, weight, -np.inf)
    best = remaining.argmax(axis=1) if len(programmes) else np.zeros(len(people), dtype=int)
    waiting_rows = np.flatnonzero(short & np.isfinite(remaining.max(axis=1, initial=-np.inf)))
    waiting_columns = best[waiting_rows]
    declined_rows, declined_columns = np.nonzero(turned_down["declined"])
    withdrawn_rows, withdrawn_columns = np.nonzero(turned_down["withdrawn"] & ~turned_down["declined"])
    rows = np.concatenate([offer_rows, waiting_rows, declined_rows, withdrawn_rows])
    columns = np.concatenate([offer_columns, waiting_columns, declined_columns, withdrawn_columns])
    statuses = [
        *["offered"] * offer_rows.size,
        *["waiting"] * waiting_rows.size,
        *["declined"] * declined_rows.size,
        *["withdrawn"] * withdrawn_rows.size,
    ]
    table = pd.DataFrame(
        {
            "youth_id": people["youth_id"].to_numpy()[rows],
            "program": np.asarray(ids, dtype=object)[columns],
            "status": pd.Categorical(statuses, categories=STATUSES, ordered=True),
            "priority": ranking[rows],
            "fit": np.round(fit[rows, columns], 6),
            "municipality": people["municipality"].astype(str).to_numpy()[rows],
            "tier": people["tier"].astype(str).to_numpy()[rows],
        }
    )
    table = table.sort_values(
        ["program", "status", "priority", "youth_id"], ascending=[True, True, False, True], kind="stable"
    )
    table["status"] = table["status"].astype(str).astype(object)
    waiting = table["status"] == "waiting"
    table["position"] = 0
    table.loc[waiting, "position"] = table[waiting].groupby("program").cumcount().to_numpy() + 1
    return table[list(OFFER_COLUMNS)].reset_index(drop=True)
