"""Benchmark: the Dask engine's cost per bucket, and what it projects for a state and a country.

    python bench/bench_dask.py [--youth 40000] [--years 3] [--partitions 8] [--workers 2]
                               [--memory-limit 6GiB] [--bundle DIR] [--keep DIR]

Synthesises a bundle (or reads --bundle), partitions it by young person, then
builds features at 4 as_of dates on a LocalCluster of --workers processes with
one thread and --memory-limit each. It prints the time of each step, the
compute seconds of each bucket (from Dask's task stream), the peak RSS of each
worker, and a projection to 3 and 22 million young people: wall time and memory
per worker against the number of workers, assuming the cost per young person
measured here and buckets of the size measured here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import tempfile
import time
from pathlib import Path

POPULATIONS = {"Estado de México": 3_000_000, "México": 22_000_000}
WORKER_COUNTS = (2, 8, 32, 128)


def _peak_rss_mib() -> float:
    """The process's peak resident set (VmHWM on Linux; ru_maxrss elsewhere), in MiB."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _import_previ() -> None:
    """Import what a task imports, so that the baseline memory of a worker includes the libraries."""
    import scale.features  # noqa: F401
    import service.batch  # noqa: F401


def _as_of_dates(bundle: Path) -> list[dt.date]:
    manifest = json.loads((bundle / "manifest.json").read_text())
    first = dt.date.fromisoformat(manifest["start"])
    return [
        dt.date(first.year + 1, 8, 1),
        dt.date(first.year + 2, 2, 1),
        dt.date(first.year + 2, 5, 1),
        dt.date(first.year + 2, 8, 1),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--youth", type=int, default=40_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="6GiB")
    parser.add_argument("--bundle", type=Path, default=None, help="an existing bundle (skips synthesis)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the bundles in this folder")
    args = parser.parse_args()

    from dask.distributed import get_task_stream

    from previ.config import PreviConfig, SynthConfig
    from scale.cluster import ClusterOptions, dask_client
    from scale.features import write_feature_dataset
    from scale.partition import partition_bundle

    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        bundle = args.bundle
        if bundle is None:
            from synthetic.synth import synthesize

            bundle = folder / "bundle"
            started = time.perf_counter()
            synthesize(SynthConfig(youth=args.youth, years=args.years, seed=1), bundle)
            seconds = time.perf_counter() - started
            print(f"synthesis: {args.youth:,} young people x {args.years} years: {seconds:.1f} s")
        youth = len(__import__("pandas").read_parquet(bundle / "youth.parquet", columns=["youth_id"]))

        started = time.perf_counter()
        summary = partition_bundle(bundle, folder / "parts", args.partitions)
        print(
            f"partition: {args.partitions} buckets of {min(summary.youth_per_partition):,}-"
            f"{max(summary.youth_per_partition):,} young people: {time.perf_counter() - started:.1f} s"
        )

        options = ClusterOptions(workers=args.workers, memory_limit=args.memory_limit)
        with dask_client(options) as client:
            client.run(_import_previ)
            baseline = client.run(_peak_rss_mib)
            started = time.perf_counter()
            with get_task_stream(client) as stream:
                matrix = write_feature_dataset(
                    client,
                    PreviConfig(),
                    data_dir=folder / "parts",
                    as_of=_as_of_dates(bundle),
                    out=folder / "f.parquet",
                )
            wall = time.perf_counter() - started
            peaks = client.run(_peak_rss_mib)
        rows = int(matrix.counts["rows"].sum())
        tasks = [
            sum(part["stop"] - part["start"] for part in task["startstops"] if part["action"] == "compute")
            for task in stream.data
            if str(task["key"]).startswith("_build_bucket")
        ]
    per_bucket = youth / args.partitions
    print(
        f"features on {args.workers} workers ({args.memory_limit} each, 1 thread): {wall:.1f} s wall for "
        f"{rows:,} rows x {len(matrix.features)} features at 4 as_of dates"
    )
    print(
        f"per bucket (~{per_bucket:,.0f} young people): compute {min(tasks):.1f}-{max(tasks):.1f} s, "
        f"mean {sum(tasks) / len(tasks):.1f} s = {1000 * sum(tasks) / youth:.2f} s per 1,000 young people"
    )
    for address, peak in sorted(peaks.items()):
        print(
            f"worker {address}: peak RSS {peak:,.0f} MiB "
            f"(with previ imported, before any bucket: {baseline[address]:,.0f} MiB)"
        )
    idle = max(baseline.values())
    per_youth_mib = (max(peaks.values()) - idle) / per_bucket
    seconds_per_youth = sum(tasks) / youth
    print(
        f"projection (same cost per young person, buckets of {per_bucket:,.0f}, one task per worker at a "
        f"time; memory per worker = {idle:,.0f} MiB + {per_youth_mib * 1000:,.1f} MiB per 1,000 in a bucket):"
    )
    for name, population in POPULATIONS.items():
        buckets = max(1, round(population / per_bucket))
        line = ", ".join(
            f"{workers} workers {seconds_per_youth * population / workers / 60:,.1f} min"
            for workers in WORKER_COUNTS
        )
        print(
            f"  {name} ({population:,}; {buckets:,} buckets): {line}; "
            f"memory per worker {(idle + per_youth_mib * per_bucket) / 1024:.1f} GiB"
        )


if __name__ == "__main__":
    main()
