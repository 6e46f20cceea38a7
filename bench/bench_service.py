"""Benchmark: a real ``previ serve`` under load, against ``mlflow models serve`` of the same model.

    python bench/bench_service.py [--keep DIR] [--duration 10] [--connections 8] [--no-mlflow]
                                  [--databases sqlite,postgresql] [--workers 1,2] [--postgres-url URL]
                                  [--no-detail] [--profile DIR]

Runs ``previ quickstart`` in a scratch folder (or reuses the one in ``--keep``),
then starts ``previ serve`` on loopback and drives it with wrk (Debian's
``wrk``, installed with apt-get when missing and run as root).

First the matrix the service is sized by: ``POST /v1/scores`` (explained,
referred, audit log fsynced) at ``--connections`` connections and at one, with
1 and 2 workers (``--workers``), on SQLite and on PostgreSQL (``--databases``;
PostgreSQL at ``--postgres-url``, default ``PREVI_TEST_POSTGRES_URL`` or the
local test server, in a schema ``previ_bench`` that the bench fills with its own
``previ db upgrade`` and ``previ score``). RSS is per worker process.

Beside each one-client run, ``GET /healthz`` from one client: the floor
that the machine itself puts under a request's latency (the loopback, the
wake-ups of the processes), which a score's p99 cannot go below.

Then, unless ``--no-detail``, one worker on SQLite at ``--connections``
connections for ``--duration`` seconds per endpoint:

* ``POST /v1/scores``: explained (reasons, protective factors, context, data
  gaps), referred and audit-logged, each request a different young person of
  the model's test fold;
* ``GET /v1/youth/{id}/score``: the latest snapshot, for young people on the
  bench caseworker's caseload;
* ``GET /healthz``.

Each with the audit log fsynced per request (``audit_fsync: true``, the
default) and without, so that the cost of durability reads apart from the cost
of the request path; then ``POST /v1/scores`` from one connection, and
``mlflow models serve`` of the same registered version (plain predict,
``/invocations``, one row per request). It prints requests/s, p50, p99 and the
server's RSS (resident memory after the load, and its peak), the modules the
serving process imported, the CPU time per explained score of the in-process
request path (scoring, reasons, referrals, response; no HTTP, no audit write)
and the load average, as the machine may be shared. Any non-2xx answer fails
the run.

``--profile DIR`` also samples the serving process with py-spy (``--gil``: the
thread holding the interpreter, i.e. CPU work) under load, audit fsync off,
writes a flame graph per scoring endpoint (``DIR/post-scores.svg``,
``DIR/get-youth.svg``) and prints the functions that took most of the samples.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

BENCH_CASEWORKER = "bench caseworker"
BENCH_SCHEMA = "previ_bench"
POSTGRES_URL = os.environ.get("PREVI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CASELOAD_SIZE = 500
BODIES = 500
HEAVY_MODULES = ("pandas", "sklearn", "scipy", "shap", "matplotlib", "mlflow", "lightgbm", "pyarrow")
WRK_REPORT = """
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "WRK {\\"requests\\": %d, \\"duration_us\\": %d, \\"p50_us\\": %d, \\"p99_us\\": %d, "
    .. "\\"max_us\\": %d, \\"non_2xx\\": %d, \\"socket_errors\\": %d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
"""


@dataclass(frozen=True)
class Load:
    """What one wrk run measured."""

    label: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    connections: int
    rss_mb: float | None = None
    """The largest resident memory of one worker process after the load (the peak: its high-water mark)."""
    peak_rss_mb: float | None = None
    cpu_ms: float | None = None
    """The server's CPU time (user + system, its child processes included) per request."""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keep", type=Path, default=None, help="keep (and reuse) the quickstart folder here")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per endpoint")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--no-mlflow", action="store_true", help="skip `mlflow models serve`")
    parser.add_argument("--profile", type=Path, default=None, help="flame graphs (py-spy) into this folder")
    parser.add_argument("--databases", default="sqlite,postgresql", help="the matrix's stores (comma list)")
    parser.add_argument("--workers", default="1,2", help="the matrix's worker counts (comma list)")
    parser.add_argument("--postgres-url", default=POSTGRES_URL, help="a PostgreSQL database for the matrix")
    parser.add_argument("--no-detail", action="store_true", help="only the matrix and mlflow")
    parser.add_argument("--in-process", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_process is not None:  # the child run by cpu_per_score: a fresh interpreter
        in_process(args.in_process)
        return
    wrk = find_wrk()
    print(f"machine: {os.cpu_count()} cores; load average at start {_load_average()}")
    with tempfile.TemporaryDirectory() as scratch:
        folder = (args.keep or Path(scratch)).absolute()
        folder.mkdir(parents=True, exist_ok=True)
        prepare(folder)
        databases = [name for name in args.databases.split(",") if name]
        if "postgresql" in databases:
            prepare_postgres(folder, args.postgres_url)
        token = json.loads((folder / "bench.json").read_text())["token"]
        cpu_per_score(folder)
        results: list[Load] = []
        one = argparse.Namespace(**{**vars(args), "connections": 1})
        for database in databases:
            store = _store_env(folder, database, args.postgres_url)
            for workers in [int(count) for count in args.workers.split(",")]:
                with serving(folder, fsync=True, workers=workers, store=store) as (url, pid):
                    label = f"POST /v1/scores, {database}, {workers} worker{'s' * (workers > 1)}"
                    for load_args in (args, one):
                        results.append(
                            run_wrk(wrk, url, "scores", store["token"], load_args, label, folder, pid)
                        )
                    # the floor under one client's latency on this machine: a route that does nothing
                    floor = f"GET /healthz, {database}, {workers} worker{'s' * (workers > 1)}"
                    results.append(run_wrk(wrk, url, "healthz", store["token"], one, floor, folder, pid))
        for fsync in (True, False) if not args.no_detail else ():
            with serving(folder, fsync=fsync) as (url, pid):
                imported = _imported(pid)
                suffix = f"audit_fsync {'on' if fsync else 'off'}"
                results.append(
                    run_wrk(wrk, url, "scores", token, args, f"POST /v1/scores, {suffix}", folder, pid)
                )
                results.append(
                    run_wrk(
                        wrk, url, "youth", token, args, f"GET /v1/youth/{{id}}/score, {suffix}", folder, pid
                    )
                )
                if not fsync:
                    results.append(run_wrk(wrk, url, "healthz", token, args, "GET /healthz", folder, pid))
                    results.append(
                        run_wrk(wrk, url, "scores", token, one, f"POST /v1/scores, {suffix}", folder, pid)
                    )
                    if args.profile is not None:
                        for endpoint, name in (("scores", "post-scores"), ("youth", "get-youth")):
                            profile(wrk, url, endpoint, token, folder, pid, args.profile / name)
        if not args.no_detail:
            print(f"previ serve mapped the compiled modules of: {', '.join(imported) or 'none of them'}")
        if not args.no_mlflow:
            results.append(mlflow_serve(wrk, folder, args))
        report(results)
    print(f"load average at end {_load_average()}")


def find_wrk() -> str:
    """wrk on the PATH, installed from Debian when missing and allowed (root with apt-get)."""
    found = shutil.which("wrk")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk (Debian package)")
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, stdout=subprocess.DEVNULL)
        found = shutil.which("wrk")
    if found is None:
        sys.exit("bench_service: needs wrk (apt-get install wrk)")
    return found


def prepare(folder: Path) -> None:
    """The quickstart's model, snapshot and registry, a bench token, a caseload and request bodies."""
    if not (folder / "bench.json").exists():
        if not (folder / "mlflow.db").exists():
            started = time.perf_counter()
            subprocess.run([_previ(), "quickstart"], cwd=folder, check=True, stdout=subprocess.DEVNULL)
            print(f"quickstart: {time.perf_counter() - started:.0f} s")
        _bench_files(folder)


def prepare_postgres(folder: Path, url: str) -> None:
    """The same service state in PostgreSQL (schema ``previ_bench``): migrated, scored, a token, a caseload.

    Done with the commands a deployment runs (``previ db upgrade``, ``previ score``),
    once per --keep folder; a new folder starts the schema afresh.
    """
    if (folder / "bench-postgresql.json").exists():
        return
    import psycopg
    from sqlalchemy.engine import make_url

    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA IF EXISTS {BENCH_SCHEMA} CASCADE")
        admin.execute(f"CREATE SCHEMA {BENCH_SCHEMA}")
    store = _store_env(folder, "postgresql", url)
    env = {**os.environ, **{key: value for key, value in store.items() if key.startswith("PREVI_")}}
    as_of = sorted((folder / "snapshots").glob("*_v*"))[-1].name.split("_")[0]
    for command in (["db", "upgrade"], ["score", "--data", "data/synthetic", "--as-of", as_of]):
        subprocess.run([_previ(), *command], cwd=folder, env=env, check=True, stdout=subprocess.DEVNULL)
    youth = json.loads((folder / "bench.json").read_text())["youth"]
    token = _token_and_caseload(folder, youth, env)
    (folder / "bench-postgresql.json").write_text(json.dumps({"token": token}))


def _store_env(folder: Path, database: str, url: str) -> dict[str, str]:
    """The PREVI_* variables that point ``previ serve`` at ``database``, and the bench token there."""
    if database == "sqlite":
        return {"token": json.loads((folder / "bench.json").read_text())["token"]}
    if database != "postgresql":
        sys.exit(f"bench_service: --databases: '{database}' is not sqlite or postgresql")
    from sqlalchemy.engine import make_url

    schema_url = make_url(url).update_query_dict({"options": f"-csearch_path={BENCH_SCHEMA}"})
    rendered = schema_url.render_as_string(hide_password=False)
    saved = folder / "bench-postgresql.json"
    token = json.loads(saved.read_text())["token"] if saved.exists() else ""
    return {"PREVI_AUDIT_URL": rendered, "PREVI_SNAPSHOT_URL": rendered, "token": token}


def _token_and_caseload(folder: Path, youth: list[str], env: dict[str, str]) -> str:
    """A bench caseworker's token and caseload in the stores ``env`` points at; the token."""
    from previ.config import load_config
    from service.caseload import caseload_store
    from service.settings import service_settings
    from service.tokens import token_store

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        with contextlib.chdir(folder):
            settings = service_settings(load_config(None))
            _, token = token_store(settings).add(role="caseworker", name=BENCH_CASEWORKER)
            caseload = caseload_store(settings)
            for youth_id in youth:
                caseload.add(caseworker=BENCH_CASEWORKER, youth_id=youth_id)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return token


def _bench_files(folder: Path) -> None:
    import pandas as pd

    from previ.config import load_config
    from service.settings import service_settings
    from service.upgrade import upgrade_databases

    with contextlib.chdir(folder):
        settings = service_settings(load_config(None))
        upgrade_databases(settings)
        snapshot = sorted(Path(settings.snapshot_dir).glob("*/scores.parquet"))[-1]
        youth = pd.read_parquet(snapshot, columns=["youth_id"])["youth_id"].head(CASELOAD_SIZE).tolist()
    token = _token_and_caseload(folder, youth, {})
    scoring = json.loads((folder / "runs/latest/scoring_model/scoring.json").read_text())
    rows = pd.read_parquet(folder / "runs/latest/test_fold.parquet", columns=scoring["feature_names"])
    bodies = [_body(index, row) for index, row in enumerate(rows.head(BODIES).to_dict("records"))]
    (folder / "bench.json").write_text(json.dumps({"token": token, "youth": youth, "bodies": bodies}))


def _body(index: int, row: dict[str, float]) -> dict[str, object]:
    features = {name: None if value != value else float(value) for name, value in row.items()}
    age = int(features.pop("age") or 15)
    return {
        "youth_id": f"B{index:06d}",
        "purpose": "referral_planning",
        "features": features,
        "municipality": "Villa Zaragoza",
        "age": age,
    }


@contextlib.contextmanager
def serving(
    folder: Path, *, fsync: bool, workers: int = 1, store: dict[str, str] | None = None
) -> Iterator[tuple[str, int]]:
    """``previ serve`` (``workers`` processes, stores per ``store``) on a free port, ready and warmed up."""
    port = _free_port()
    store = store or _store_env(folder, "sqlite", "")
    env = {
        **os.environ,
        **{key: value for key, value in store.items() if key.startswith("PREVI_")},
        "PREVI_AUDIT_FSYNC": str(fsync).lower(),
        # The bench measures work, not refusals; a per-second window keeps the limiter's lists as short
        # as a per-minute production limit does (a huge per-minute one would hold 60,000 entries per key).
        "PREVI_RATE_LIMIT_API": "1000000/second",
    }
    server = subprocess.Popen(
        [_previ(), "serve", "--port", str(port), "--workers", str(workers)],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, server, workers)
        bench = json.loads((folder / "bench.json").read_text())
        headers = {"Authorization": f"Bearer {store['token']}"}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            for index in range(200 * workers):
                response = client.post("/v1/scores", json=bench["bodies"][index % len(bench["bodies"])])
                response.raise_for_status()
                youth_id = bench["youth"][index % len(bench["youth"])]
                client.get(
                    f"/v1/youth/{youth_id}/score", params={"purpose": "case_review"}
                ).raise_for_status()
        yield url, server.pid
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def run_wrk(
    wrk: str,
    url: str,
    endpoint: str,
    token: str,
    args: argparse.Namespace,
    label: str,
    folder: Path,
    pid: int,
    *,
    rss: bool = True,
) -> Load:
    """One wrk run against the server ``pid``; its Lua script cycles through the bench's bodies or ids.

    Besides wrk's figures, the server's CPU time per request: unlike requests/s,
    it hardly moves when other jobs share the machine.
    """
    bench = json.loads((folder / "bench.json").read_text())
    script = folder / f"wrk-{endpoint}.lua"
    script.write_text(_lua(endpoint, token, bench) + WRK_REPORT)
    path = {"mlflow": "/invocations", "healthz": "/healthz", "scores": "/v1/scores"}.get(endpoint, "/")
    threads = min(2, args.connections)
    cpu_before = _cpu_seconds(pid)
    completed = subprocess.run(
        [
            wrk,
            f"-t{threads}",
            f"-c{args.connections}",
            f"-d{args.duration}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url + path,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    cpu = _cpu_seconds(pid) - cpu_before
    line = next(line for line in completed.stdout.splitlines() if line.startswith("WRK "))
    figures = json.loads(line[4:])
    if figures["non_2xx"] or figures["socket_errors"]:
        sys.exit(
            f"bench_service: {label}: {figures['non_2xx']} non-2xx, {figures['socket_errors']} socket errors"
        )
    resident, peak = _worker_rss_mb(pid) if rss else (None, None)
    load = Load(
        label=label,
        requests_per_second=figures["requests"] / (figures["duration_us"] / 1e6),
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        connections=args.connections,
        rss_mb=resident,
        peak_rss_mb=peak,
        cpu_ms=1000 * cpu / max(figures["requests"], 1),
    )
    print(f"  {_row(load)}", flush=True)
    return load


def profile(wrk: str, url: str, endpoint: str, token: str, folder: Path, pid: int, out: Path) -> None:
    """A flame graph (``out``.svg) and the top costs of ``endpoint`` under load, sampled by py-spy."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        sys.exit("bench_service: --profile needs py-spy (pip install py-spy; it is in previ's dev extras)")
    out.parent.mkdir(parents=True, exist_ok=True)
    script = folder / f"wrk-{endpoint}.lua"
    path = "/v1/scores" if endpoint == "scores" else "/"
    load = subprocess.Popen(
        [wrk, "-t2", "-c8", "-d40s", "-s", str(script), url + path], stdout=subprocess.DEVNULL
    )
    try:
        time.sleep(2)
        record = [
            spy,
            "record",
            "--pid",
            str(pid),
            "--gil",
            "--rate",
            "200",
            "--duration",
            "15",
        ]
        raw = folder / f"{out.name}.collapsed.txt"  # py-spy's stacks, for the top costs below
        for fmt, target in (("flamegraph", out.with_suffix(".svg")), ("raw", raw)):
            subprocess.run(
                [*record, "--nonblocking", "--format", fmt, "--output", str(target)],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
    finally:
        load.terminate()
        load.wait()
    print(f"profile of {endpoint} under load: {out.with_suffix('.svg')}; most samples (inclusive):")
    for share, function in top_costs(raw):
        print(f"  {share:5.1f}%  {function}")


def top_costs(collapsed: Path, count: int = 25) -> list[tuple[float, str]]:
    """The functions of previ and its libraries present in most samples (py-spy's raw stacks).

    The server's own frames (uvicorn, the event loop, threads) are left out: they hold every sample.
    """
    inclusive: dict[str, int] = {}
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        total += int(samples)
        seen = set()
        for frame in stack.split(";"):
            name, _, where = frame.partition(" (")
            module = where.split("site-packages/")[-1].split(":")[0].rstrip(")")
            seen.add(f"{name} ({module.removeprefix(str(Path.cwd()) + '/')})")
        for function in seen:
            inclusive[function] = inclusive.get(function, 0) + int(samples)
    plumbing = ("threading", "asyncio", "anyio", "uvicorn", "typer", "click", "selectors", "<module>")
    ranked = sorted(inclusive.items(), key=lambda item: -item[1])
    shown = [(100 * n / max(total, 1), f) for f, n in ranked if not any(p in f for p in plumbing)]
    return shown[:count]


def _lua(endpoint: str, token: str, bench: dict[str, list[object]]) -> str:
    """A wrk script: the token, and one request after the other from a list (bodies or paths)."""
    common = f'wrk.headers["Authorization"] = "Bearer {token}"\nlocal i = 0\n'
    if endpoint == "healthz":
        return ""
    if endpoint == "youth":
        paths = [f"/v1/youth/{youth_id}/score?purpose=case_review" for youth_id in bench["youth"]]
        return (
            common
            + f"local paths = {_lua_list(paths)}\n"
            + "request = function()\n  i = i + 1\n  return wrk.format('GET', paths[(i % #paths) + 1])\nend\n"
        )
    bodies = [json.dumps(body) for body in bench["bodies"]]
    if endpoint == "mlflow":
        bodies = [json.dumps(_mlflow_body(body)) for body in bench["bodies"]]  # type: ignore[arg-type]
    return (
        common
        + 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        + f"local bodies = {_lua_list(bodies)}\n"
        + "request = function()\n  i = i + 1\n"
        + "  return wrk.format(nil, nil, nil, bodies[(i % #bodies) + 1])\nend\n"
    )


def _lua_list(items: Sequence[str]) -> str:
    return "{" + ",\n".join("[==[" + item + "]==]" for item in items) + "}"


def _mlflow_body(body: dict[str, object]) -> dict[str, object]:
    """The same young person as a one-row ``dataframe_split`` for ``mlflow models serve``."""
    features = dict(body["features"])  # type: ignore[call-overload]
    features["age"] = body["age"]
    return {"dataframe_split": {"columns": list(features), "data": [list(features.values())]}}


def mlflow_serve(wrk: str, folder: Path, args: argparse.Namespace) -> Load:
    """``mlflow models serve`` of the champion, in this environment, one worker, driven alike."""
    port = _free_port()
    bin_dir = Path(sys.executable).parent  # mlflow starts `uvicorn` by name
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}",
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    command = [str(bin_dir / "mlflow"), "models", "serve", "-m", "models:/previ-risk@champion"]
    server = subprocess.Popen(
        [*command, "--env-manager", "local", "--host", "127.0.0.1", "-p", str(port)],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        body = _mlflow_body(json.loads((folder / "bench.json").read_text())["bodies"][0])
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.post(f"{url}/invocations", json=body, timeout=10).status_code == 200:
                    break
            if time.monotonic() > deadline or server.poll() is not None:
                sys.exit("bench_service: mlflow models serve did not answer")
            time.sleep(0.5)
        token = ""
        label = "mlflow models serve, /invocations"
        return run_wrk(wrk, url, "mlflow", token, args, label, folder, server.pid, rss=False)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def cpu_per_score(folder: Path) -> None:
    """The in-process figures, measured in a fresh interpreter (so its imports are the app's alone)."""
    completed = subprocess.run(
        [sys.executable, __file__, "--in-process", str(folder)], check=True, capture_output=True, text=True
    )
    print(completed.stdout, end="")


def in_process(folder: Path, repeats: int = 2000) -> None:
    """CPU time of the request path of one explained score, in process: no HTTP, no audit write.

    Also which heavy libraries the app, its model and that path imported.
    """
    from previ.config import load_config
    from service.main import create_app
    from service.routes.scores import score_people
    from service.schemas import ScoreRequest

    bench = json.loads((folder / "bench.json").read_text())
    with contextlib.chdir(folder):
        app = create_app(load_config(None))
        state = app.state.previ
        state.holder.reload()
        model = state.holder.current
        guard = _quiet_guard(state)
        requests = [ScoreRequest(**body) for body in bench["bodies"]]
        for request in requests[:100]:  # warm-up
            score_people(guard, model, [request], purpose=request.purpose, locations=[("body",)])
        started = time.process_time()
        for index in range(repeats):
            request = requests[index % len(requests)]
            score_people(guard, model, [request], purpose=request.purpose, locations=[("body",)])
        seconds = time.process_time() - started
    print(
        f"in process: {1000 * seconds / repeats:.3f} ms CPU per explained score "
        f"(POST /v1/scores' work without HTTP and the audit write; {repeats} scores)"
    )
    heavy = [name for name in HEAVY_MODULES if name in sys.modules]
    print(
        f"in process: the app, its model and the scoring path imported {', '.join(heavy) or 'none of them'}"
    )


def _quiet_guard(state: object) -> object:
    """A caseworker's Guard whose audit entries go nowhere: the in-process figure leaves the log out."""
    from service.deps import Guard
    from service.tokens import Caller

    class QuietGuard(Guard):
        def log(self, *args: object, **kwargs: object) -> None:
            pass

    caller = Caller(token_id="bench", name=BENCH_CASEWORKER, role="caseworker")
    return QuietGuard(state=state, caller=caller, endpoint="/v1/scores", method="POST", language="es")  # type: ignore[arg-type]


def report(results: list[Load]) -> None:
    print("\n| endpoint | connections | requests/s | p50 | p99 | server CPU per request | RSS after (peak) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for load in results:
        print(f"| {_row(load)} |")
    mlflow = next((load for load in results if load.label.startswith("mlflow")), None)
    previ = next((load for load in results if load.label.startswith("POST /v1/scores, audit_fsync on")), None)
    if mlflow and previ:
        ratio = previ.requests_per_second / mlflow.requests_per_second
        print(f"\nPOST /v1/scores (audit fsync on) / mlflow models serve: {ratio:.1f}x requests/s")
        off = next(load for load in results if load.label.startswith("POST /v1/scores, audit_fsync off"))
        if off.cpu_ms and mlflow.cpu_ms:
            print(
                f"server CPU per request, mlflow models serve / POST /v1/scores (audit fsync off): "
                f"{mlflow.cpu_ms / off.cpu_ms:.1f}x"
            )


def _row(load: Load) -> str:
    rss = f"{load.rss_mb:.0f} MB ({load.peak_rss_mb:.0f} MB)" if load.rss_mb is not None else "-"
    cpu = f"{load.cpu_ms:.2f} ms" if load.cpu_ms is not None else "-"
    return (
        f"{load.label} | {load.connections} | {load.requests_per_second:,.0f} | {load.p50_ms:.2f} ms | "
        f"{load.p99_ms:.2f} ms | {cpu} | {rss}"
    )


def _cpu_seconds(root: int) -> float:
    """User + system CPU seconds of process ``root`` and its descendants, from /proc."""
    ticks: dict[int, int] = {}
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:  # the process ended meanwhile
            continue
        ticks[int(entry.name)] = int(fields[11]) + int(fields[12])  # utime, stime (proc(5): fields 14, 15)
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        total += ticks.get(pid, 0)
        pending += children.get(pid, [])
    return total / os.sysconf("SC_CLK_TCK")


def _worker_rss_mb(pid: int) -> tuple[float, float]:
    """The largest resident and peak resident memory (MB) of one serving process: the server, or its workers.

    With --workers N, uvicorn's parent only supervises; multiprocessing's resource tracker is no worker.
    """
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    workers = [
        int(child)
        for child in children
        if b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes()
    ]
    figures = [_rss_mb(worker) for worker in workers or [pid]]
    return max(resident for resident, _ in figures), max(peak for _, peak in figures)


def _rss_mb(pid: int) -> tuple[float, float]:
    """Resident and peak resident memory of the process (MB), from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _imported(pid: int) -> list[str]:
    """Heavy libraries the serving process has mapped: their compiled modules show in its memory maps.

    Pure-Python ones (mlflow) do not; the in-process figures list every imported one.
    """
    maps = Path(f"/proc/{pid}/maps").read_text()
    return [name for name in HEAVY_MODULES if f"/site-packages/{name}/" in maps]


def _wait_ready(url: str, server: subprocess.Popen[bytes], workers: int = 1) -> None:
    """Every worker ready: ten readiness answers in a row per worker (the socket spreads them)."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("bench_service: previ serve stopped")
        with contextlib.suppress(httpx.HTTPError):
            if all(httpx.get(f"{url}/readyz").status_code == 200 for _ in range(10 * workers)):
                return
        time.sleep(0.2)
    sys.exit("bench_service: previ serve did not become ready")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _previ() -> str:
    return str(Path(sys.executable).with_name("previ"))


def _load_average() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
