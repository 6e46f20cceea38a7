"""Benchmark audit-log writes: group commit against one commit per request, on SQLite and PostgreSQL.

Run: ``python bench/bench_audit_writes.py [--threads 16] [--seconds 5] [--postgres URL]``.
Each case starts a fresh store and lets ``--threads`` writers (a worker's request
threads) each record one entry after another for ``--seconds``, every write
durable before it returns: SQLite with ``synchronous=FULL`` on the disk of the
working directory (not /tmp, which may live in memory), PostgreSQL with its
default ``synchronous_commit=on`` (a fresh schema, dropped afterwards). Prints,
per case, writes per second, p50 and p99 of one write's latency, and the
transactions it took. Then it checks the chain of every case.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from sqlalchemy.engine import make_url

from service.audit_chain import verify_chain
from service.audit_log import Access, AuditLog
from service.pseudonym import Pseudonym

KEY = b"b" * 32
ACCESS = Access(
    endpoint="/v1/scores",
    method="POST",
    outcome="allowed",
    status=200,
    role="caseworker",
    purpose="case_review",
)


def run_case(url: str, *, group_commit: bool, threads: int, seconds: float) -> dict[str, float]:
    """Writers hammer one log for ``seconds``; writes/s, latency percentiles (ms) and transactions."""
    log = AuditLog(url, key=KEY, fsync=True, group_commit=group_commit)
    log.record(ACCESS)  # the tables, and a warm connection
    latencies: list[list[float]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads + 1)
    deadline = 0.0

    def writer(index: int) -> None:
        start.wait()
        own = latencies[index]
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            log.record(ACCESS, [Pseudonym(f"p{index}")])
            own.append(time.perf_counter() - began)

    workers = [threading.Thread(target=writer, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    batches_before = log.batches
    deadline = time.perf_counter() + seconds
    began = time.perf_counter()
    start.wait()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    every = np.array([value for own in latencies for value in own]) * 1000
    report = verify_chain(log, KEY)
    log.engine.dispose()
    if not report.intact:
        raise SystemExit(f"chain broken in {url}: {report.problem}")
    return {
        "writes": float(len(every)),
        "per_second": len(every) / elapsed,
        "p50": float(np.percentile(every, 50)),
        "p99": float(np.percentile(every, 99)),
        "transactions": float(log.batches - batches_before),
    }


def postgres_schema(server: str) -> tuple[str, str]:
    """A fresh schema on ``server``: (its URL, its name)."""
    name = f"previ_bench_{secrets.token_hex(4)}"
    with _connect(server) as admin:
        admin.execute(f"CREATE SCHEMA {name}")
    url = make_url(server).update_query_dict({"options": f"-csearch_path={name}"})
    return url.render_as_string(hide_password=False), name


def _connect(server: str):  # type: ignore[no-untyped-def]
    import psycopg

    url = make_url(server)
    return psycopg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        dbname=url.database or "test",
        autocommit=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=16, help="concurrent writers (default 16)")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per case (default 5)")
    parser.add_argument(
        "--postgres",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="a PostgreSQL database to write a fresh schema in ('' skips PostgreSQL)",
    )
    arguments = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-audit-", dir=Path.cwd()))
    cases: list[tuple[str, str]] = []
    schemas: list[str] = []
    try:
        for group in (False, True):
            cases.append(("sqlite", f"sqlite:///{folder / f'audit-{group}.db'}"))
            if arguments.postgres:
                url, name = postgres_schema(arguments.postgres)
                schemas.append(name)
                cases.append(("postgresql", url))
        print(f"{arguments.threads} writers, {arguments.seconds:g} s per case, every write durable")
        columns = ("writes/s", "p50 ms", "p99 ms", "writes", "commits")
        print(f"{'store':<11} {'group commit':<13} " + " ".join(f"{name:>9}" for name in columns))
        for index, (store, url) in enumerate(cases):
            group = index >= len(cases) // 2
            figures = run_case(url, group_commit=group, threads=arguments.threads, seconds=arguments.seconds)
            values = (
                f"{figures['per_second']:,.0f}",
                f"{figures['p50']:.1f}",
                f"{figures['p99']:.1f}",
                f"{figures['writes']:,.0f}",
                f"{figures['transactions']:,.0f}",
            )
            print(
                f"{store:<11} {'on' if group else 'off':<13} " + " ".join(f"{value:>9}" for value in values)
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if schemas:
            with _connect(arguments.postgres) as admin:
                for name in schemas:
                    admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


if __name__ == "__main__":
    main()
