"""previ evaluate against the synthetic truth: coverage over seeds, the margin designs, and speed.

For each seed it synthesises three worlds of ``--youth`` young people over five
years: one with the default programme effects, one with none, and one whose
places go by rank within capacity with a lottery band around the cut-off
(``synth.allocation: rank``, ``allocation.lottery_band`` width 0.25). It
estimates with the library functions behind ``previ evaluate`` and prints, per
seed and in total:

* whether the 95% CI of the served effect covers the truth of truth_effects.json
  (Done when: >= 18 of 20 seeds) and whether the naive estimate misses it;
* with no effects, whether the CI covers 0 (>= 18 of 20);
* per programme with >= 300 served, whether its CI covers its truth (>= 17 of 20);
* in the lottery world, whether ``--design lottery`` and ``--design rd`` cover the
  truth at the margin;
* with ``--speed N``, the wall and CPU time of ``previ evaluate`` on N young
  people (target: < 2 min) and the load average around it.

Each seed's figures are also appended to ``--log`` (JSON lines) as soon as they
are known, so a run cut short still leaves its figures; ``--keep`` keeps the
bundles between runs.

    nice .venv/bin/python bench/bench_evaluate.py --seeds 20 --youth 20000 --keep /tmp/bench-evaluate
    # or split over the cores, then summarise the logs together:
    nice .venv/bin/python bench/bench_evaluate.py --seeds 10 --log a.jsonl &
    nice .venv/bin/python bench/bench_evaluate.py --seeds 10 --first-seed 11 --log b.jsonl
    .venv/bin/python bench/bench_evaluate.py --summarise a.jsonl b.jsonl
    .venv/bin/python bench/bench_evaluate.py --seeds 0 --speed 100000 --keep /tmp/bench-evaluate
    # only the lottery world and the margin designs (about 25 s a seed instead of 2 minutes):
    nice .venv/bin/python bench/bench_evaluate.py --margin-only --seeds 30 --log m.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from evaluation.evaluate import SERVED, evaluate_bundle, evaluate_margin
from previ.config import LotteryBandConfig, PreviConfig, SynthConfig
from synthetic.synth import synthesize

MIN_PROGRAM = 300
BAND = LotteryBandConfig(width=0.25, seed=7)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--youth", type=int, default=20_000)
    parser.add_argument("--speed", type=int, default=0, help="also time evaluate on this many youth")
    parser.add_argument("--keep", type=Path, default=None, help="keep bundles here between runs")
    parser.add_argument("--log", type=Path, default=None, help="append each seed's figures (JSON lines)")
    parser.add_argument(
        "--margin-only", action="store_true", help="only the lottery world: the margin designs' coverage"
    )
    parser.add_argument(
        "--summarise",
        type=Path,
        nargs="+",
        default=None,
        help="only summarise these --log files (runs split by seed)",
    )
    args = parser.parse_args()
    if args.summarise:
        logged = [json.loads(line) for log in args.summarise for line in log.read_text().splitlines() if line]
        # a seed's full run has its margin figures too, so it wins over a --margin-only run of that seed
        by_seed: dict[int, dict[str, Any]] = {}
        for result in logged:
            if "served" in result or "served" not in by_seed.get(result["seed"], {}):
                by_seed[result["seed"]] = result
        summarise([by_seed[seed] for seed in sorted(by_seed)])
        return
    with tempfile.TemporaryDirectory() as scratch:
        root = args.keep or Path(scratch)
        if args.seeds:
            seeds = range(args.first_seed, args.first_seed + args.seeds)
            figures = _margin if args.margin_only else _seed
            results = [_log(figures(root, seed, args.youth), args.log) for seed in seeds]
            summarise(results)
        if args.speed:
            speed(root, args.speed)


def _seed(root: Path, seed: int, youth: int) -> dict[str, Any]:
    """Every figure of one seed (printed as it comes)."""
    started = time.perf_counter()
    world = _bundle(root, seed, youth, "default")
    truth = json.loads((world / "truth_effects.json").read_text())
    found = evaluate_bundle(PreviConfig(), data_dir=world, seed=seed).as_dict()
    true_served = truth[SERVED]["relative_risk_reduction"]
    result: dict[str, Any] = {
        "seed": seed,
        "served": {
            "truth": true_served,
            "estimate": found[SERVED]["relative_risk_reduction"],
            "covers": _covers(found[SERVED], true_served),
            "naive": found[SERVED]["naive_relative_risk_reduction"],
            "naive_misses": abs(found[SERVED]["naive_relative_risk_reduction"] - true_served)
            > _half_width(found[SERVED]),
        },
        "programs": {},
    }
    for name, effect in found["programs"].items():
        true_effect = truth["programs"][name]
        if true_effect["n_served"] >= MIN_PROGRAM:
            result["programs"][name] = {
                "n": effect["n_served"],
                "truth": true_effect["relative_risk_reduction"],
                "estimate": effect["relative_risk_reduction"],
                "covers": _covers(effect, true_effect["relative_risk_reduction"]),
            }
    null = evaluate_bundle(PreviConfig(), data_dir=_bundle(root, seed, youth, "none"), programs=[], seed=seed)
    null_served = null.as_dict()[SERVED]
    result["none"] = {
        "estimate": null_served["relative_risk_reduction"],
        "covers_0": _covers(null_served, 0.0),
    }
    result["margin"] = _margin(root, seed, youth)["margin"]
    result["seconds"] = round(time.perf_counter() - started, 1)
    _print_seed(result)
    return result


def _margin(root: Path, seed: int, youth: int) -> dict[str, Any]:
    """The lottery world's figures: each margin design's estimate against the truth at the margin."""
    lottery_world = _bundle(root, seed, youth, "lottery")
    truth = json.loads((lottery_world / "truth_effects.json").read_text())["margin"]
    found: dict[str, Any] = {"truth": truth["relative_risk_reduction"]}
    for design in ("lottery", "rd"):
        effect = evaluate_margin(PreviConfig(), data_dir=lottery_world, design=design).as_dict()[SERVED]
        found[design] = {
            "estimate": effect["relative_risk_reduction"],
            "covers": _covers(effect, found["truth"]),
        }
    return {"seed": seed, "margin": found}


def _log(result: dict[str, Any], log: Path | None) -> dict[str, Any]:
    if "served" not in result:
        _print_margin(result)
    if log is not None:
        with log.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(result) + "\n")
    return result


def _print_seed(result: dict[str, Any]) -> None:
    served, null, margin = result["served"], result["none"], result["margin"]
    lines = [
        f"seed {result['seed']} ({result['seconds']:.0f} s): served truth {served['truth']:.3f} estimate "
        f"{_show(served['estimate'])} {'covers' if served['covers'] else 'MISSES'}; "
        f"naive {served['naive']:.3f}"
    ]
    for name, effect in result["programs"].items():
        lines.append(
            f"  {name} (n={effect['n']}) truth {effect['truth']:.3f} estimate {_show(effect['estimate'])} "
            f"{'covers' if effect['covers'] else 'MISSES'}"
        )
    lines.append(
        f"  no effects: estimate {_show(null['estimate'])} {'covers 0' if null['covers_0'] else 'MISSES 0'}"
    )
    print("\n".join([*lines, *_margin_lines(margin)]), flush=True)


def _print_margin(result: dict[str, Any]) -> None:
    print("\n".join([f"seed {result['seed']}:", *_margin_lines(result["margin"])]), flush=True)


def _margin_lines(margin: dict[str, Any]) -> list[str]:
    return [
        f"  margin truth {margin['truth']:.3f}, {design}: {_show(margin[design]['estimate'])} "
        f"{'covers' if margin[design]['covers'] else 'MISSES'}"
        for design in ("lottery", "rd")
    ]


def summarise(results: list[dict[str, Any]]) -> None:
    total = len(results)
    print(f"seeds: {total} ({', '.join(str(result['seed']) for result in results)})")
    full = [result for result in results if "served" in result]
    if full and len(full) < total:
        seeds = ", ".join(str(result["seed"]) for result in full)
        print(f"effects of the served: only the {len(full)} seeds run with every world ({seeds})")
    if full:
        _summarise_effects(full)
    for design in ("lottery", "rd"):
        hits = sum(result["margin"][design]["covers"] for result in results)
        print(f"margin, {design}: CI covers the truth at the margin {hits}/{total}")
    _print_spread(results)


def _summarise_effects(results: list[dict[str, Any]]) -> None:
    total = len(results)
    print(f"served CI covers the truth: {sum(r['served']['covers'] for r in results)}/{total} (goal >= 90%)")
    print(f"naive estimate misses the truth: {sum(r['served']['naive_misses'] for r in results)}/{total}")
    print(f"no effects, CI covers 0: {sum(r['none']['covers_0'] for r in results)}/{total} (goal >= 90%)")
    programs: dict[str, list[bool]] = {}
    for result in results:
        for name, effect in result["programs"].items():
            programs.setdefault(name, []).append(effect["covers"])
    for name, hits in sorted(programs.items()):
        print(f"{name} (>= {MIN_PROGRAM} served): CI covers its truth {sum(hits)}/{len(hits)} (goal >= 85%)")


def _print_spread(results: list[dict[str, Any]]) -> None:
    """Whether the intervals are as wide as the estimates' spread: the standard deviation over seeds of
    estimate - truth (relative reductions) against the mean standard error the interval implies
    (half-width / 1.96; intervals with an unbounded end left out). Near 1 when the widths are honest."""
    found: dict[str, list[tuple[float, float]]] = {}
    for result in results:
        margin = result["margin"]
        effects = [(f"margin, {d}", {**margin[d], "truth": margin["truth"]}) for d in ("lottery", "rd")]
        if "served" in result:
            effects = [("served", result["served"]), *result["programs"].items(), *effects]
        for name, effect in effects:
            low, high = effect["estimate"]["ci"]
            value = effect["estimate"]["value"]
            if all(x is not None and math.isfinite(x) for x in (low, high, value)):
                found.setdefault(name, []).append((value - effect["truth"], (high - low) / 2 / 1.96))
    for name, rows in found.items():
        if len(rows) < 3:
            continue
        errors = [error for error, _ in rows]
        mean = sum(errors) / len(errors)
        spread = math.sqrt(sum((error - mean) ** 2 for error in errors) / (len(errors) - 1))
        standard_error = sum(se for _, se in rows) / len(rows)
        print(
            f"{name}: estimate - truth mean {mean:+.3f}, spread {spread:.3f} over {len(rows)} seeds; "
            f"mean standard error {standard_error:.3f}; spread / standard error {spread / standard_error:.2f}"
        )


def speed(root: Path, youth: int) -> None:
    world = _bundle(root, 1, youth, "default")
    load_before = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    found = evaluate_bundle(PreviConfig(), data_dir=world, seed=1)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"evaluate on {youth:,} young people ({found.served.n_served:,} served, "
        f"{found.served.n_comparison:,} comparisons, {len(found.programs)} programmes): "
        f"{seconds:.1f} s wall, "
        f"{cpu_seconds:.1f} s CPU (load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, "
        f"{os.cpu_count()} cores)"
    )


def _bundle(root: Path, seed: int, youth: int, world: str) -> Path:
    folder = root / f"{world}-{youth}-{seed}"
    if not (folder / "manifest.json").exists():
        if world == "lottery":
            config = SynthConfig(youth=youth, years=5, seed=seed, allocation="rank")
            synthesize(config, folder, lottery=BAND)
        else:
            synthesize(SynthConfig(youth=youth, years=5, seed=seed, program_effects=world), folder)
    return folder


def _covers(effect: dict[str, Any], truth: float) -> bool:
    """Whether the relative reduction's CI holds ``truth``; an unbounded lower end (-inf, or null as
    evaluation.json writes it, beside a finite upper end) holds every value below the upper end."""
    low, high = effect["relative_risk_reduction"]["ci"]
    if high is None or math.isnan(high):
        return False
    unbounded = low is None or low == -math.inf
    return bool(truth <= high and (unbounded or low <= truth))


def _half_width(effect: dict[str, Any]) -> float:
    low, high = effect["relative_risk_reduction"]["ci"]
    return float(high - low) / 2.0


def _show(value: dict[str, Any]) -> str:
    low, high = value["ci"]
    if value["value"] is None or low is None or high is None:
        return "n/a"
    return f"{value['value']:.3f} [{low:.3f}, {high:.3f}]"


if __name__ == "__main__":
    main()
