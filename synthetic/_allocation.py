"""Places by rank with a capacity cut-off, and the lottery band around it: the margin designs' world.

In the default synthetic world programmes take young people by referral, one
person at a time (:data:`synthetic._model.REFERRAL`). With ``allocation:
rank`` each month's places are shared the way ``previ allocate`` shares them:

* everyone followed and not in a programme is ranked by a priority computed
  from their records (the need as the records show it, :mod:`synthetic._observed`,
  the quantity the referral probability rises with);
* the month offers ``K = round(places_share x ranked)`` places: the top K get one;
* with a lottery band of half-width ``w`` (a share of K), the ``m = round(w K)``
  places just above the cut-off go by lottery to the ``2 m`` young people
  ranked ``K - m + 1 .. K + m``: each has an even chance; above the band a place
  is sure, below it there is none.

Every month's ranking near the cut-off is written to the bundle's allocations
table (priority, rank, offered, in the band, the lottery draw) and the
lottery's seed to the manifest: what a regression discontinuity in the rank (at
the cut-off, or at the band's two edges) and a lottery (winners versus losers
within the band) need. Ties in the priority keep the population's order (a
stable sort), as ``previ allocate`` keeps the order of its ids.

The truth's Monte Carlo follows one person at a time, so it cannot re-rank the
population; :class:`RecordedCutoffs` replays the recorded cut-offs instead: a
path whose priority is above the band gets a place, within it one with the
band's chance, below it none. One person moves a cut-off by at most one rank,
so this is the world's own rule for that person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pyarrow as pa

from synthetic._world import BoolArray, FloatArray, IntArray, Month

KEPT_RANKS = 4  # the allocations table keeps ranks up to KEPT_RANKS x K: the neighbourhood of the cut-off


class Allocator(Protocol):
    """Who among the eligible is offered a place this month (replaces the referral draw)."""

    def referred(
        self, month: Month, priority: FloatArray, eligible: BoolArray, uniform: FloatArray
    ) -> BoolArray: ...


@dataclass(frozen=True)
class Cutoff:
    """One month's thresholds on the priority: a place at ``top`` or above, a lottery from ``bottom``."""

    top: float
    bottom: float
    chance: float  # of a place within [bottom, top)


@dataclass
class Ranking:
    """One month's ranking near the cut-off (rows into the population, best first)."""

    month: int
    rows: IntArray
    priority: FloatArray
    offered: BoolArray
    in_band: BoolArray
    draw: FloatArray  # uniform lottery draw, NaN outside the band
    places: int


@dataclass
class CapacityRanking:
    """The recorded world's allocation: rank, capacity, lottery (see the module docstring)."""

    places_share: float
    band: float
    rng: np.random.Generator
    cutoffs: dict[int, Cutoff] = field(default_factory=dict)
    rankings: list[Ranking] = field(default_factory=list)

    def referred(
        self, month: Month, priority: FloatArray, eligible: BoolArray, uniform: FloatArray
    ) -> BoolArray:
        """Who is offered a place this month (``uniform`` is unused: the lottery has its own stream)."""
        candidates = np.flatnonzero(eligible)
        offered = np.zeros(priority.size, dtype=bool)
        places = min(round(self.places_share * candidates.size), candidates.size)
        if places < 1:
            return offered
        order = candidates[np.argsort(-priority[candidates], kind="stable")]
        half = min(round(self.band * places), places, candidates.size - places)
        sure = places - half
        offered[order[:sure]] = True
        band = order[sure : places + half]
        draw = self.rng.random(band.size)
        winners = band[np.argsort(-draw, kind="stable")[:half]]  # the highest draws win, as in previ allocate
        offered[winners] = True
        ranked = np.sort(priority[order])[::-1]
        self.cutoffs[month.index] = _cutoff(ranked, sure, places + half, half)
        kept = order[: min(order.size, KEPT_RANKS * places)]
        draws = np.full(kept.size, np.nan)
        draws[sure : sure + band.size] = draw
        in_band = np.zeros(kept.size, dtype=bool)
        in_band[sure : sure + band.size] = True
        self.rankings.append(
            Ranking(month.index, kept, priority[kept], offered[kept], in_band, draws, places)
        )
        return offered


def _cutoff(ranked: FloatArray, sure: int, band_end: int, half: int) -> Cutoff:
    """Thresholds halfway between the last of a group and the first of the next."""

    def between(rank: int) -> float:
        above = ranked[rank - 1] if rank > 0 else np.inf
        below = ranked[rank] if rank < ranked.size else -np.inf
        return float((above + below) / 2.0) if np.isfinite(above + below) else float(min(above, below))

    top = between(sure)
    bottom = between(band_end) if half > 0 else top
    return Cutoff(top=top, bottom=bottom, chance=0.5 if half > 0 else 0.0)


@dataclass(frozen=True)
class RecordedCutoffs:
    """The truth paths' allocation: each person against the month's recorded cut-off."""

    cutoffs: dict[int, Cutoff]

    def referred(
        self, month: Month, priority: FloatArray, eligible: BoolArray, uniform: FloatArray
    ) -> BoolArray:
        cutoff = self.cutoffs.get(month.index)
        if cutoff is None:
            return np.zeros(priority.size, dtype=bool)
        lottery = (priority >= cutoff.bottom) & (priority < cutoff.top) & (uniform < cutoff.chance)
        return np.asarray(eligible & ((priority >= cutoff.top) | lottery))


def allocation_table(rankings: list[Ranking], calendar: tuple[Month, ...], ids: pa.Array) -> pa.Table:
    """The allocations table: one row per month and young person ranked near the cut-off.

    cycle (the month's first day), youth_id, priority, rank (1 = first), places
    (K), offered, lottery (in the band) and lottery_draw (the uniform draw, null
    outside the band); sorted by cycle and rank.
    """
    rows = np.concatenate([np.zeros(0, np.int64), *(r.rows for r in rankings)])
    count = [r.rows.size for r in rankings]
    cycle = np.repeat([calendar[r.month].start for r in rankings], count).astype(np.int64)
    draw = np.concatenate([np.zeros(0), *(r.draw for r in rankings)])
    return pa.table(
        {
            "cycle": pa.array(cycle.astype("datetime64[D]"), type=pa.date32()),
            "youth_id": ids.take(pa.array(rows)),
            "priority": pa.array(np.concatenate([np.zeros(0), *(r.priority for r in rankings)])),
            "rank": pa.array(np.concatenate([np.zeros(0, np.int64), *(np.arange(1, n + 1) for n in count)])),
            "places": pa.array(np.repeat([r.places for r in rankings], count).astype(np.int64)),
            "offered": pa.array(np.concatenate([np.zeros(0, bool), *(r.offered for r in rankings)])),
            "lottery": pa.array(np.concatenate([np.zeros(0, bool), *(r.in_band for r in rankings)])),
            "lottery_draw": pa.array(draw, mask=np.isnan(draw)),
        }
    )
