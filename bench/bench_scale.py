"""Benchmark: synthesis, features and a scored snapshot of 1,000,000 young people on two Dask workers.

    python bench/bench_scale.py [--youth 1000000] [--years 3] [--partitions 40] [--workers 2]
                                [--memory-limit 6GiB] [--train-youth 5000] [--keep DIR [--reuse]]

On a LocalCluster of --workers processes (one thread, --memory-limit each):

1. ``previ synth --engine dask``'s library function simulates the young people
   bucket by bucket straight into a partitioned bundle;
2. ``previ features --engine dask``'s builds the feature matrix at the bundle's
   as_of dates into a Parquet dataset;
3. ``previ score --engine dask``'s scores everyone of programme age at the last
   of those dates with a glass box (trained first, with the pandas engine, on a
   small bundle of --train-youth young people over 4 years) and writes the
   snapshot (Parquet and SQLite).

Each step prints its wall time, the peak RSS of each worker during the step
(VmHWM, reset before each step through /proc/PID/clear_refs) and the peak RSS
of this process (which gathers the snapshot). With ``--keep DIR --reuse`` a
partitioned bundle already synthesised there is read again instead of being
simulated (its synthesis was measured by the run that wrote it). At the end it prints what Dask
spilled to disk and whether any worker was restarted (a worker that overran
its memory limit would have been), with the machine's load average, because
the reference machine is shared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

MIB = 1024 * 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--youth", type=int, default=1_000_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="6GiB")
    parser.add_argument("--train-youth", type=int, default=5_000)
    parser.add_argument("--keep", type=Path, default=None, help="keep the bundles, features and model here")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --keep: read the partitioned bundle synthesised there before",
    )
    args = parser.parse_args()

    import psutil

    from scale.cluster import ClusterOptions, dask_client

    memory = psutil.virtual_memory()
    print(
        f"machine: {os.cpu_count()} cores, {memory.total / 1024**3:.1f} GiB "
        f"({memory.available / 1024**3:.1f} GiB available); load average {_load()}"
    )
    with tempfile.TemporaryDirectory() as scratch:
        folder = (args.keep or Path(scratch)).absolute()
        folder.mkdir(parents=True, exist_ok=True)
        run = _train_model(folder, args.train_youth)
        options = ClusterOptions(workers=args.workers, memory_limit=args.memory_limit)
        with dask_client(options) as client:
            client.run(_import_previ)
            workers = sorted(client.scheduler_info()["workers"])
            idle = client.run(_rss_mib)
            print(
                f"cluster: {args.workers} workers, 1 thread and {args.memory_limit} each; RSS with previ "
                f"imported: {', '.join(f'{value:,.0f} MiB' for value in idle.values())}"
            )
            parts = folder / f"parts-{args.youth}-{args.partitions}"
            if args.reuse and (parts / "manifest.json").is_file():
                print(f"synthesis: skipped, reusing {parts} (written by an earlier run)")
            else:
                synthesis = _step(client, "synthesis", lambda: _synthesise(client, args, parts))
                print(
                    f"  {synthesis.rows.get('youth', 0):,} young people x {args.years} years in "
                    f"{args.partitions} buckets; rows: "
                    + ", ".join(f"{name} {rows:,}" for name, rows in synthesis.rows.items())
                )
            as_of = [dt.date.fromisoformat(day) for day in _manifest(parts)["as_of"]]
            matrix = _step(client, "features", lambda: _features(client, parts, as_of, folder))
            print(
                f"  {int(matrix.counts['rows'].sum()):,} rows x {len(matrix.features)} features at "
                f"{len(as_of)} as_of dates ({', '.join(map(str, as_of))}); "
                f"{int(matrix.counts['labelled'].sum()):,} labelled"
            )
            snapshot = _step(client, "score", lambda: _score(client, parts, as_of[-1], run, folder))
            steps = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in snapshot.seconds.items())
            print(f"  {snapshot.rows:,} young people of programme age scored at {as_of[-1]} ({steps})")
            _report_memory_events(client, workers)
    print(f"load average at the end: {_load()}")


def _step(client: Any, name: str, work: Callable[[], Any]) -> Any:
    """Run one step; print its wall time and the peak RSS of each worker and of this process."""
    client.run(_reset_peak)
    _reset_peak()
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    peaks = client.run(_peak_rss_mib)
    print(
        f"{name}: {seconds:,.1f} s wall; peak RSS per worker "
        + ", ".join(f"{peak:,.0f} MiB" for _, peak in sorted(peaks.items()))
        + f"; this process {_peak_rss_mib():,.0f} MiB; load average {_load()}"
    )
    return result


def _synthesise(client: Any, args: argparse.Namespace, parts: Path) -> Any:
    from previ.config import SynthConfig
    from scale.synth import synthesize_partitioned

    return synthesize_partitioned(
        client, SynthConfig(youth=args.youth, years=args.years, seed=1), parts, args.partitions
    )


def _features(client: Any, parts: Path, as_of: list[dt.date], folder: Path) -> Any:
    import shutil

    from previ.config import PreviConfig
    from scale.features import write_feature_dataset

    out = folder / "features.parquet"
    shutil.rmtree(out, ignore_errors=True)
    return write_feature_dataset(client, PreviConfig(), data_dir=parts, as_of=as_of, out=out)


def _score(client: Any, parts: Path, as_of: dt.date, run: Path, folder: Path) -> Any:
    import shutil

    from previ.config import parse_config
    from service.batch import write_snapshot
    from service.batch_dask import partitioned_scorer

    snapshots = folder / "snapshots"
    shutil.rmtree(snapshots, ignore_errors=True)
    config = parse_config({"service": {"model_path": str(run), "snapshot_dir": str(snapshots)}})
    return write_snapshot(config, data_dir=parts, as_of=as_of, scorer=partitioned_scorer(client))


def _train_model(folder: Path, youth: int) -> Path:
    """A glass box trained with the pandas engine on a small bundle, as a run folder (no registry)."""
    from previ.config import SynthConfig, parse_config
    from synthetic.synth import synthesize
    from training.pipeline import train_and_register, training_set_from_bundle

    run = folder / "run"
    if (run / "scoring_model" / "scoring.json").exists():
        return run
    bundle = folder / f"train-bundle-{youth}"
    synthesize(SynthConfig(youth=youth, years=4, seed=7), bundle)
    started = time.perf_counter()
    config = parse_config(
        {
            "data": {"dir": str(bundle)},
            "training": {"models": ["glassbox"], "resamples": 50},
            "audit": {"resamples": 100},
        }
    )
    train_and_register(training_set_from_bundle(config), config, out_dir=run, register=False)
    seconds = time.perf_counter() - started
    print(f"model: glass box trained on {youth:,} young people (pandas engine) in {seconds:.1f} s")
    return run


def _report_memory_events(client: Any, workers: list[str]) -> None:
    """What the workers spilled to disk, and whether any of them was replaced (restarted)."""
    now = sorted(client.scheduler_info()["workers"])
    spilled = client.run(_spilled_bytes)
    print(
        "spilled to disk per worker: "
        + ", ".join(f"{value / MIB:,.0f} MiB" for _, value in sorted(spilled.items()))
        + f"; workers restarted during the run: {len(set(workers) - set(now))}"
    )


def _manifest(folder: Path) -> dict[str, Any]:
    content: dict[str, Any] = json.loads((folder / "manifest.json").read_text())
    return content


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def _import_previ() -> None:
    """Import what the tasks import, so that the baseline memory of a worker includes the libraries."""
    import scale.features
    import scale.synth  # noqa: F401
    import service.batch  # noqa: F401


def _rss_mib() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss / MIB)


def _reset_peak() -> None:
    """Reset this process's peak RSS (VmHWM) to its current RSS (Linux: write 5 to clear_refs)."""
    path = Path("/proc/self/clear_refs")
    if path.exists():
        path.write_text("5")


def _peak_rss_mib() -> float:
    """The process's peak RSS since the last reset (VmHWM), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return _rss_mib()


def _spilled_bytes(dask_worker: Any) -> int:
    """Bytes this worker has spilled to disk since it started (distributed's SpillBuffer)."""
    spilled = getattr(dask_worker.data, "spilled_total", None)
    return int(getattr(spilled, "disk", 0) or 0) if spilled is not None else 0


if __name__ == "__main__":
    main()
