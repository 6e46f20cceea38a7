"""Benchmark: a batch snapshot of 100,000 young people, and single-score latency over HTTP.

    python bench/bench_scoring.py [--youth 134000] [--years 3] [--train-youth 5000]
                                  [--requests 500] [--keep DIR]

Trains a glass box on a small synthetic bundle (without MLflow), synthesises a
large one (134,000 young people, of whom about 100,000 are of programme age at
its latest as_of), then times ``previ score``'s library function on its latest as_of
(bundle loading, features, scoring with reasons in both languages, Parquet and
SQLite), and the p50/p95 latency of ``POST /v1/scores`` through a real
``previ serve`` on loopback, with the audit log fsynced per request (the
default) and without. Goals: snapshot < 30 s; p50 well under 10 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--youth", type=int, default=134_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--train-youth", type=int, default=5_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--keep", type=Path, default=None, help="keep (and reuse) bundles and model here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = (args.keep or Path(scratch)).absolute()
        folder.mkdir(parents=True, exist_ok=True)
        run = train_model(folder, args.train_youth)
        bundle = synthesise(folder / f"bundle-{args.youth}", args.youth, args.years)
        snapshot(folder, run, bundle)
        for fsync in (True, False):
            latency(folder, run, requests=args.requests, fsync=fsync)


def train_model(folder: Path, youth: int) -> Path:
    """A glass box trained on a small bundle, written as a run folder (no registry needed)."""
    from previ.config import parse_config
    from training.pipeline import train_and_register, training_set_from_bundle

    run = folder / "run"
    if (run / "scoring_model" / "scoring.json").exists():
        return run
    bundle = synthesise(folder / f"bundle-{youth}", youth, 4)
    started = time.perf_counter()
    config = parse_config(
        {
            "data": {"dir": str(bundle)},
            "training": {"models": ["glassbox"], "resamples": 50},
            "audit": {"resamples": 100},
        }
    )
    train_and_register(training_set_from_bundle(config), config, out_dir=run, register=False)
    print(f"model: glass box trained on {youth:,} young people in {time.perf_counter() - started:.1f} s")
    return run


def synthesise(folder: Path, youth: int, years: int) -> Path:
    from previ.config import SynthConfig
    from synthetic.synth import synthesize

    if not (folder / "manifest.json").exists():
        started = time.perf_counter()
        synthesize(SynthConfig(youth=youth, years=years, seed=7), folder)
        seconds = time.perf_counter() - started
        print(f"bundle: {youth:,} young people x {years} years synthesised in {seconds:.1f} s")
    return folder


def snapshot(folder: Path, run: Path, bundle: Path) -> None:
    from previ.config import parse_config
    from service.batch import write_snapshot

    as_of = dt.date.fromisoformat(json.loads((bundle / "manifest.json").read_text())["as_of"][-1])
    config = parse_config(
        {"service": {"model_path": str(run), "snapshot_dir": str(folder / "snapshots"), "top_reasons": 3}}
    )
    started = time.perf_counter()
    summary = write_snapshot(config, data_dir=bundle, as_of=as_of)
    seconds = time.perf_counter() - started
    steps = ", ".join(f"{step} {value:.1f} s" for step, value in summary.seconds.items())
    print(
        f"snapshot: {summary.rows:,} young people scored with reasons (es+en) at {as_of} in {seconds:.1f} s "
        f"= {summary.rows / seconds:,.0f} rows/s ({steps}); tiers {summary.tiers}"
    )


def latency(folder: Path, run: Path, *, requests: int, fsync: bool) -> None:
    """p50/p95 of POST /v1/scores against `previ serve` in its own process, one keep-alive client."""
    import pandas as pd

    from models.artifact import load_artifact
    from service.database import make_engine
    from service.tokens import TokenStore

    home = folder / f"serve-fsync-{str(fsync).lower()}"
    home.mkdir(exist_ok=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (home / "previ.yaml").write_text(
        f"service:\n  model_path: {run}\n  port: {port}\n  audit_fsync: {str(fsync).lower()}\n"
    )
    _, token = TokenStore(make_engine(f"sqlite:///{home / 'audit.db'}")).add(role="caseworker", name="bench")
    model = load_artifact(run / "scoring_model")
    rows = pd.DataFrame(model.golden["inputs"])
    bodies = []
    for index in range(len(rows)):
        features = {k: None if pd.isna(v) else float(v) for k, v in rows.iloc[index].items()}
        bodies.append(
            {
                "youth_id": f"B{index:05d}",
                "purpose": "referral_planning",
                "features": features,
                "municipality": "Villa Zaragoza",
                "age": int(features.get("age") or 15),
            }
        )
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("previ")), "serve", "--config", "previ.yaml"],
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        timings = []
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
            for index in range(requests + 50):
                started = time.perf_counter()
                response = client.post("/v1/scores", json=bodies[index % len(bodies)])
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, response.text
                if index >= 50:  # warm-up
                    timings.append(elapsed)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
    timings.sort()
    p50 = statistics.median(timings)
    p95 = timings[int(0.95 * len(timings)) - 1]
    print(
        f"latency: POST /v1/scores over HTTP on loopback, audit fsync {'on' if fsync else 'off'}: "
        f"p50 {p50:.2f} ms, p95 {p95:.2f} ms ({len(timings)} requests)"
    )


if __name__ == "__main__":
    main()
