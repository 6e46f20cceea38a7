"""Benchmark: synthesis of 100,000 young people over 3 years, then features at 4 as_of dates.

    python bench/bench_features.py [--youth 100000] [--years 3] [--keep DIR]

Each step runs in its own process so that its peak memory (max RSS) is its own.
Goals on the 2-core reference machine: synthesis < 60 s, features < 30 s, peak < 4 GiB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEP = r"""
import json, resource, sys, time
from pathlib import Path
step, folder, youth, years = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
if step == "synth":
    from synthetic.synth import synthesize
    from previ.config import SynthConfig
    start = time.perf_counter()
    summary = synthesize(SynthConfig(youth=youth, years=years, seed=1), folder / "bundle")
    figures = {"seconds": time.perf_counter() - start, "rows": summary.rows}
else:
    import datetime as dt
    from features.build import build_features
    from features.load import load_bundle
    from previ.config import FeaturesConfig
    start = time.perf_counter()
    bundle = load_bundle(folder / "bundle")
    loaded = time.perf_counter()
    manifest = json.loads((folder / "bundle" / "manifest.json").read_text())
    first = dt.date.fromisoformat(manifest["start"])
    as_of = [dt.date(first.year + 1, 8, 1), dt.date(first.year + 2, 2, 1),
             dt.date(first.year + 2, 5, 1), dt.date(first.year + 2, 8, 1)]
    matrix = build_features(bundle, as_of, FeaturesConfig())
    built = time.perf_counter()
    figures = {"load_seconds": loaded - start, "build_seconds": built - loaded,
               "rows": len(matrix.frame), "features": len(matrix.features)}
figures["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(figures))
"""


def run_step(step: str, folder: Path, youth: int, years: int) -> dict[str, object]:
    started = time.perf_counter()
    output = subprocess.run(
        [sys.executable, "-c", STEP, step, str(folder), str(youth), str(years)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures: dict[str, object] = json.loads(output.strip().splitlines()[-1])
    figures["wall_seconds"] = time.perf_counter() - started
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--youth", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="keep the bundle in this folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        synth = run_step("synth", folder, args.youth, args.years)
        features = run_step("features", folder, args.youth, args.years)
    rows = int(features["rows"])  # type: ignore[call-overload]
    build = float(features["build_seconds"])  # type: ignore[arg-type]
    load = float(features["load_seconds"])  # type: ignore[arg-type]
    print(
        f"synthesis: {args.youth:,} young people x {args.years} years: {synth['seconds']:.1f} s "
        f"(peak {synth['peak_mib']:.0f} MiB); rows {synth['rows']}"
    )
    print(
        f"features: load+validate {load:.1f} s, build {build:.1f} s for {rows:,} rows x "
        f"{features['features']} features at 4 as_of dates = {rows / build:,.0f} rows/s "
        f"({rows / (load + build):,.0f} rows/s with loading); peak {features['peak_mib']:.0f} MiB"
    )


if __name__ == "__main__":
    main()
