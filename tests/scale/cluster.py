"""A real Dask cluster on loopback for the tests: one `dask scheduler` and worker processes.

The scheduler picks a free port and writes its address to a scheduler file,
which the workers read; nothing listens on a fixed port. Each worker runs one
task at a time with a memory limit, as docs/scale.md recommends. Teardown
stops the workers before the scheduler and kills whatever does not stop.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DASK = str(Path(sys.executable).with_name("dask"))
START_TIMEOUT = 120.0


@contextmanager
def loopback_cluster(folder: Path, *, workers: int = 2, memory_limit: str = "1GiB") -> Iterator[str]:
    """Yield the scheduler address once ``workers`` worker processes have joined it."""
    folder.mkdir(parents=True, exist_ok=True)
    scheduler_file = folder / "scheduler.json"
    processes: list[subprocess.Popen[bytes]] = []
    common = {"stdout": subprocess.DEVNULL, "stderr": (folder / "dask.log").open("ab")}
    try:
        processes.append(
            subprocess.Popen(
                [
                    DASK,
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--no-dashboard",
                    "--scheduler-file",
                    str(scheduler_file),
                ],
                **common,
            )
        )
        _wait_for(scheduler_file.exists, "the scheduler file", processes)
        for _ in range(workers):
            processes.append(
                subprocess.Popen(
                    [
                        DASK,
                        "worker",
                        "--scheduler-file",
                        str(scheduler_file),
                        "--host",
                        "127.0.0.1",
                        "--nworkers",
                        "1",
                        "--nthreads",
                        "1",
                        "--memory-limit",
                        memory_limit,
                        "--no-dashboard",
                        "--local-directory",
                        str(folder / "workers"),
                    ],
                    **common,
                )
            )
        address = str(json.loads(scheduler_file.read_text())["address"])
        _wait_for(lambda: _worker_count(address) >= workers, f"{workers} workers", processes)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in reversed(processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        common["stderr"].close()


def _worker_count(address: str) -> int:
    from dask.distributed import Client

    with Client(address, timeout="20s") as client:
        return len(client.scheduler_info()["workers"])


def _wait_for(condition: object, what: str, processes: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes):
            raise RuntimeError(f"a dask process exited while waiting for {what}")
        if callable(condition) and condition():
            return
        time.sleep(0.3)
    raise TimeoutError(f"no {what} after {START_TIMEOUT:.0f}s")
