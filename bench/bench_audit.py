"""Benchmark the fairness audit: 100,000 synthetic rows, 3 group columns, 1,000 resamples.

Run: ``python bench/bench_audit.py [--rows N] [--resamples R]``. Prints the
time of :func:`fairness_audits.audit` (every column, pair and the full
intersection, all with bootstrap intervals), of writing the report, and the
peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time

import numpy as np
import pandas as pd

from fairness_audits import Threshold, audit, write_report


def synthetic_table(rows: int, seed: int = 0) -> pd.DataFrame:
    """Calibrated probabilities with a municipality whose needs the score under-rates."""
    rng = np.random.default_rng(seed)
    municipality = rng.choice(
        ["Centro", "Norte", "Oriente", "Poniente", "Sur"], rows, p=[0.4, 0.2, 0.2, 0.1, 0.1]
    )
    sex = rng.choice(["F", "M"], rows)
    age_group = rng.choice(["12-14", "15-17", "18-19"], rows, p=[0.4, 0.4, 0.2])
    probability = rng.beta(2.0, 6.0, rows)
    outcome = rng.random(rows) < np.where(
        municipality == "Oriente", np.minimum(1.0, 1.4 * probability), probability
    )
    return pd.DataFrame(
        {
            "youth_id": [f"Y{i:06d}" for i in range(rows)],
            "municipality": municipality,
            "sex": sex,
            "age_group": age_group,
            "probability": probability,
            "outcome": outcome.astype(int),
        }
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--resamples", type=int, default=1_000)
    options = parser.parse_args(argv)
    frame = synthetic_table(options.rows)
    start, cpu_start = time.perf_counter(), time.process_time()
    result = audit(
        frame,
        label="outcome",
        score="probability",
        groups=["municipality", "sex", "age_group"],
        rule=Threshold(0.3),
        resamples=options.resamples,
        seed=0,
    )
    audit_seconds = time.perf_counter() - start
    audit_cpu = time.process_time() - cpu_start
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        write_report(result, folder, lang="es")
        report_seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    partitions = len({group.column for group in result.groups})
    print(
        f"rows: {options.rows:,}  group columns: 3  partitions audited: {partitions}  "
        f"groups: {len(result.groups)}"
    )
    print(f"resamples: {options.resamples:,}")
    print(
        f"audit (metrics + bootstrap intervals + disparities): {audit_seconds:.2f} s ({audit_cpu:.2f} s CPU)"
    )
    print(f"report (JSON + HTML with figures): {report_seconds:.2f} s")
    print(f"peak memory (ru_maxrss): {peak_mb:.0f} MB")
    print(f"gate: {'passed' if result.gate.passed else 'failed'} ({len(result.gate.flagged)} flagged)")


if __name__ == "__main__":
    main(sys.argv[1:])
