"""Experiment: does the promotion gate pass a perfect score and fail a biased one?

    python bench/bench_gate.py [--seeds 20] [--rows 20000] [--resamples 1000] [--halve 11-13]

The world of issue #10: three age bands of equal size with base rates 4%, 12%
and 10% (the logit of each young person's need is the band's intercept plus a
standard normal term). For each seed, the gate of :func:`fairness_audits.audit`
(the programme's capacity, top 10%) is computed twice per scenario:

* the oracle: the true probability is the score. Calibration holds in every
  band, so the gate should pass, although recall at capacity differs between
  bands (it must: their base rates differ);
* a biased score: one band's odds are halved (its logit minus log 2), so the
  score under-rates that band's needs. The gate should fail and name it.

Prints one line per seed, then how often the oracle passes and how often each
biased score fails with the halved band named (the done-when of issue #10:
19 of 20 or better for both).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import numpy as np
import pandas as pd
from scipy import optimize, special

from fairness_audits import AuditResult, TopK, audit

BASE_RATES = {"11-13": 0.04, "14-15": 0.12, "16-17": 0.10}
"""Age band -> share of young people with a support need (issue #10's oracle world)."""
CAPACITY = 0.1
_QUADRATURE_POINTS = 80


def intercept(base_rate: float) -> float:
    """The intercept ``a`` with E[expit(a + x)] = ``base_rate`` for x ~ N(0, 1).

    The expectation is a Gauss-Hermite sum, so the intercept is exact and the
    same on every run (a Monte Carlo mean would move with the seed).
    """
    nodes, weights = np.polynomial.hermite_e.hermegauss(_QUADRATURE_POINTS)
    weights = weights / weights.sum()
    return float(
        optimize.brentq(lambda a: float(weights @ special.expit(a + nodes)) - base_rate, -15.0, 15.0)
    )


def world(rows: int, seed: int, intercepts: dict[str, float], *, halved: str | None = None) -> pd.DataFrame:
    """Young people with their band, true probability, outcome and score.

    The score is the true probability, except in the ``halved`` band, where
    the odds are halved: the score says half the odds the outcome follows.
    """
    rng = np.random.default_rng(seed)
    bands = np.array(list(intercepts))
    age_band = bands[rng.integers(0, len(bands), rows)]
    logit = np.array([intercepts[band] for band in bands])[np.searchsorted(bands, age_band)]
    logit = logit + rng.standard_normal(rows)
    probability = special.expit(logit)
    outcome = rng.random(rows) < probability
    score = (
        probability
        if halved is None
        else np.where(age_band == halved, special.expit(logit - np.log(2)), probability)
    )
    return pd.DataFrame(
        {"age_band": age_band, "probability": probability, "score": score, "outcome": outcome.astype(int)}
    )


def gate_of(frame: pd.DataFrame, *, resamples: int, seed: int) -> AuditResult:
    return audit(
        frame,
        label="outcome",
        score="score",
        groups=["age_band"],
        rule=TopK(CAPACITY),
        resamples=resamples,
        seed=seed,
    )


def flag_names(result: AuditResult) -> list[str]:
    """``band:check`` of every flagged gate check, sorted."""
    return sorted(f"{finding.value}:{finding.check.check}" for finding in result.gate.flagged)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--resamples", type=int, default=1_000, help="as audit()'s default")
    parser.add_argument(
        "--halve",
        choices=sorted(BASE_RATES),
        action="append",
        help="the band whose odds are halved (repeatable; default: each band in turn)",
    )
    args = parser.parse_args()
    intercepts = {band: intercept(rate) for band, rate in BASE_RATES.items()}
    halved_bands = args.halve or list(BASE_RATES)
    oracle_passed = 0
    failed: Counter[str] = Counter()
    named: Counter[str] = Counter()
    named_others: Counter[str] = Counter()
    observed: dict[str, list[float]] = {band: [] for band in BASE_RATES}
    started = time.perf_counter()
    for seed in range(args.seeds):
        frame = world(args.rows, seed, intercepts)
        for band, rows in frame.groupby("age_band"):
            observed[str(band)].append(float(rows["outcome"].mean()))
        oracle = gate_of(frame, resamples=args.resamples, seed=seed)
        oracle_passed += oracle.gate.passed
        verdict = "passed" if oracle.gate.passed else f"FAILED {flag_names(oracle)}"
        line = [f"seed {seed:2d}: oracle {verdict}"]
        for band in halved_bands:
            biased = gate_of(
                world(args.rows, seed, intercepts, halved=band), resamples=args.resamples, seed=seed
            )
            values = {finding.value for finding in biased.gate.flagged}
            failed[band] += not biased.gate.passed
            named[band] += band in values
            named_others[band] += bool(values - {band})
            line.append(
                f"{band} halved: {'failed' if not biased.gate.passed else 'PASSED'} {flag_names(biased)}"
            )
        print("; ".join(line), flush=True)
    elapsed = time.perf_counter() - started
    rates = " / ".join(f"{band} {100 * rate:.0f}%" for band, rate in BASE_RATES.items())
    seen = " / ".join(f"{100 * np.mean(values):.1f}%" for values in observed.values())
    print(
        f"world: {args.rows:,} rows per seed, base rates {rates} (observed mean {seen}); "
        f"rule: top {100 * CAPACITY:.0f}%; {args.resamples:,} resamples; {elapsed:.0f} s"
    )
    print(f"oracle (true probability as the score): gate passed in {oracle_passed}/{args.seeds}")
    for band in halved_bands:
        print(
            f"odds of {band} halved: gate failed in {failed[band]}/{args.seeds} "
            f"and named {band} in {named[band]}/{args.seeds} "
            f"(another band also named in {named_others[band]}/{args.seeds})"
        )


if __name__ == "__main__":
    main()
