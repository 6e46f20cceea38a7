"""Benchmark: training on 100,000 young people at 4 yearly as_of dates.

    python bench/bench_training.py [--youth 100000] [--threads 1]

Synthesises a 5-year bundle (once, reused with --keep), builds features at
four as_of dates one year apart (2022-08-01 .. 2025-08-01, so that rolling
temporal folds exist), then times in separate processes, each with its own
peak memory: the glass box alone (grid, early stopping, calibration, bootstrap
evaluation on the test fold) and the whole grid of five models. Goal on the
2-core reference machine: the glass box alone under 2 minutes.
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
import datetime as dt, json, resource, sys, time
from pathlib import Path
from previ.config import DataConfig, FeaturesConfig, PreviConfig, TrainingConfig
from training.pipeline import training_set_from_bundle
from training.train import run_training
bundle, models, threads = Path(sys.argv[1]), tuple(sys.argv[2].split(",")), int(sys.argv[3])
as_of = tuple(dt.date(year, 8, 1) for year in (2022, 2023, 2024, 2025))
settings = PreviConfig(data=DataConfig(dir=bundle), features=FeaturesConfig(as_of=as_of),
                       training=TrainingConfig(models=models, threads=threads))
start = time.perf_counter()
data = training_set_from_bundle(settings)
features = time.perf_counter()
result = run_training(data, settings.training)
done = time.perf_counter()
print(json.dumps({"rows": len(data.label), "features_seconds": features - start,
                  "train_seconds": done - features,
                  "auc": {name: model.evaluation.values["roc_auc"] for name, model in result.models.items()},
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(bundle: Path, models: str, threads: int) -> dict[str, object]:
    output = subprocess.run(
        [sys.executable, "-c", STEP, str(bundle), models, str(threads)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures: dict[str, object] = json.loads(output.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--youth", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="reuse or keep the bundle in this folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        bundle = args.keep or Path(scratch) / "bundle"
        if not (bundle / "manifest.json").exists():
            from previ.config import SynthConfig
            from synthetic.synth import synthesize

            started = time.perf_counter()
            synthesize(SynthConfig(youth=args.youth, years=5, seed=1), bundle)
            print(
                f"synthesised {args.youth:,} young people x 5 years in {time.perf_counter() - started:.0f} s"
            )
        for label, models in (
            ("glass box alone", "glassbox"),
            ("whole grid", "abc_rule,one_feature,logistic,glassbox,lightgbm"),
        ):
            figures = measure(bundle, models, args.threads)
            aucs = ", ".join(f"{name} {auc:.3f}" for name, auc in figures["auc"].items())  # type: ignore[attr-defined]
            print(
                f"{label}: {figures['train_seconds']:.0f} s training ({figures['rows']:,} rows, "
                f"features {figures['features_seconds']:.0f} s), peak {figures['peak_mib']:.0f} MiB, "
                f"{args.threads} thread(s); test ROC AUC: {aucs}"
            )


if __name__ == "__main__":
    main()
