"""Benchmark: one allocation cycle for a city's snapshot, solved exactly.

    python bench/bench_allocate.py [--youth 100000] [--capacity-scale 10] [--per-person 1] [--seed 7]

Builds a snapshot-shaped population (probabilities, ages, six municipalities,
tiers at the 5% / 20% cut-offs, one to three raising reasons each with the
registry's referral tags, a few enrolments) and times
:func:`service.allocation.allocate` with the default catalog's capacities
multiplied by ``--capacity-scale`` (a city runs more places than the demo).
Prints the time, the offers and the share of places used. Goal: under 10 s for
100,000 young people.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

from service.allocation import allocate
from service.catalog import Catalog, load_catalog

TAGS = (
    "school_reengagement,family_support",
    "tutoring",
    "restorative_mediation,mentoring",
    "substance_prevention,family_support",
    "restorative_mediation,mentoring,family_support",
    "mentoring",
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--youth", type=int, default=100_000)
    parser.add_argument("--capacity-scale", type=int, default=10)
    parser.add_argument("--per-person", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    options = parser.parse_args()
    rng = np.random.default_rng(options.seed)
    n = options.youth
    probability = rng.beta(1.2, 10, n)
    cut = np.quantile(probability, [0.8, 0.95])
    scores = pd.DataFrame(
        {
            "youth_id": [f"Y{index:07d}" for index in range(n)],
            "age": rng.integers(11, 20, n),
            "municipality": rng.choice(["A", "B", "C", "D", "E", "F"], n),
            "tier": np.where(
                probability >= cut[1], "indicated", np.where(probability >= cut[0], "selective", "universal")
            ),
            "probability": probability,
        }
    )
    count = rng.integers(1, 4, n)
    rows = np.repeat(np.arange(n), count)
    reasons = pd.DataFrame(
        {
            "youth_id": scores["youth_id"].to_numpy()[rows],
            "direction": "raises",
            "contribution": rng.gamma(2.0, 0.15, rows.size),
            "referral_tags": rng.choice(TAGS, rows.size),
        }
    )
    base = load_catalog()
    catalog = Catalog.model_validate(
        {
            "version": base.version,
            "programs": [
                {**programme.model_dump(), "capacity": programme.capacity * options.capacity_scale}
                for programme in base.programs
            ],
        }
    )
    enrolled = rng.choice(n, n // 50, replace=False)
    enrolments = pd.DataFrame(
        {
            "youth_id": scores["youth_id"].to_numpy()[enrolled],
            "program": rng.choice([programme.id for programme in catalog.programs], enrolled.size),
            "status": rng.choice(["active", "completed", "dropped"], enrolled.size),
        }
    )
    start = time.perf_counter()
    result = allocate(scores, reasons, enrolments, catalog, per_person=options.per_person)
    seconds = time.perf_counter() - start
    places = result.places
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"young people: {n:,}; eligible tiers: {int((scores['tier'] != 'universal').sum()):,}")
    print(f"allocate: {seconds:.2f} s; peak memory {peak:.0f} MiB")
    print(
        f"offers: {int(places['offered'].sum()):,} of {int(places['open'].sum()):,} open places; "
        f"waiting: {int(places['waiting'].sum()):,}"
    )
    print(places.to_string(index=False))


if __name__ == "__main__":
    main()
