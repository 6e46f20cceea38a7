"""previ evaluate against the synthetic truth: coverage over seeds, and speed.

For each seed it synthesises two worlds of ``--youth`` young people over five
years, one with the default programme effects and one with none, and
estimates the effect on the served (and, in the default world, of each
programme) with the library function behind ``previ evaluate``. It prints,
per seed and in total:

* whether the 95% CI of the served effect covers the truth of truth_effects.json
  (Done when: >= 18 of 20 seeds) and whether the naive estimate misses it;
* with no effects, whether the CI covers 0 (>= 18 of 20);
* per programme with >= 300 served, whether its CI covers its truth (>= 17 of 20);
* with ``--speed N``, the wall time of ``previ evaluate`` on N young people (target: < 2 min).

    .venv/bin/python bench/bench_evaluate.py --seeds 20 --youth 20000 --keep /tmp/bench-evaluate
    .venv/bin/python bench/bench_evaluate.py --seeds 0 --speed 100000
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from evaluation.evaluate import SERVED, evaluate_bundle
from previ.config import PreviConfig, SynthConfig
from synthetic.synth import synthesize

MIN_PROGRAM = 300


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--youth", type=int, default=20_000)
    parser.add_argument("--speed", type=int, default=0, help="also time evaluate on this many youth")
    parser.add_argument("--keep", type=Path, default=None, help="keep bundles here between runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = args.keep or Path(scratch)
        if args.seeds:
            coverage(root, range(args.first_seed, args.first_seed + args.seeds), args.youth)
        if args.speed:
            speed(root, args.speed)


def coverage(root: Path, seeds: range, youth: int) -> None:
    served_hits = naive_misses = null_hits = 0
    programs: dict[str, list[bool]] = {}
    for seed in seeds:
        world = _bundle(root, seed, youth, "default")
        truth = json.loads((world / "truth_effects.json").read_text())
        found = evaluate_bundle(PreviConfig(), data_dir=world, seed=seed).as_dict()
        true_served = truth[SERVED]["relative_risk_reduction"]
        hit = _covers(found[SERVED], true_served)
        naive_miss = abs(found[SERVED]["naive_relative_risk_reduction"] - true_served) > _half_width(
            found[SERVED]
        )
        served_hits += hit
        naive_misses += naive_miss
        line = [
            f"seed {seed}: served truth {true_served:.3f} estimate {_show(found[SERVED])} "
            f"{'covers' if hit else 'MISSES'}; naive {found[SERVED]['naive_relative_risk_reduction']:.3f}"
        ]
        for name, effect in found["programs"].items():
            true_effect = truth["programs"][name]
            if true_effect["n_served"] >= MIN_PROGRAM:
                covered = _covers(effect, true_effect["relative_risk_reduction"])
                programs.setdefault(name, []).append(covered)
                line.append(
                    f"  {name} (n={effect['n_served']}) truth {true_effect['relative_risk_reduction']:.3f} "
                    f"estimate {_show(effect)} {'covers' if covered else 'MISSES'}"
                )
        null_world = _bundle(root, seed, youth, "none")
        null = evaluate_bundle(PreviConfig(), data_dir=null_world, programs=[], seed=seed).as_dict()
        null_hit = _covers(null[SERVED], 0.0)
        null_hits += null_hit
        line.append(f"  no effects: estimate {_show(null[SERVED])} {'covers 0' if null_hit else 'MISSES 0'}")
        print("\n".join(line), flush=True)
    total = len(seeds)
    print(f"served CI covers the truth: {served_hits}/{total} (goal >= 90%)")
    print(f"naive estimate misses the truth: {naive_misses}/{total}")
    print(f"no effects, CI covers 0: {null_hits}/{total} (goal >= 90%)")
    for name, hits in sorted(programs.items()):
        print(f"{name}: CI covers its truth {sum(hits)}/{len(hits)} (goal >= 85%)")


def speed(root: Path, youth: int) -> None:
    world = _bundle(root, 1, youth, "default")
    started = time.perf_counter()
    found = evaluate_bundle(PreviConfig(), data_dir=world, seed=1)
    seconds = time.perf_counter() - started
    print(
        f"evaluate on {youth:,} young people ({found.served.n_served:,} served, "
        f"{found.served.n_comparison:,} comparisons, {len(found.programs)} programmes): {seconds:.1f} s"
    )


def _bundle(root: Path, seed: int, youth: int, effects: str) -> Path:
    folder = root / f"{effects}-{youth}-{seed}"
    if not (folder / "manifest.json").exists():
        synthesize(SynthConfig(youth=youth, years=5, seed=seed, program_effects=effects), folder)
    return folder


def _covers(effect: dict[str, Any], truth: float) -> bool:
    low, high = effect["relative_risk_reduction"]["ci"]
    return bool(low <= truth <= high)


def _half_width(effect: dict[str, Any]) -> float:
    low, high = effect["relative_risk_reduction"]["ci"]
    return float(high - low) / 2.0


def _show(effect: dict[str, Any]) -> str:
    value = effect["relative_risk_reduction"]
    return f"{value['value']:.3f} [{value['ci'][0]:.3f}, {value['ci'][1]:.3f}]"


if __name__ == "__main__":
    main()
