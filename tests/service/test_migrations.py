"""Alembic migrations of every store and `previ db upgrade`, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import multiprocessing
import threading
from pathlib import Path

import pytest
import yaml
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, func, inspect, select, text
from typer.testing import CliRunner

from cli.app import app
from service import (
    allocation_store,
    audit_log,
    caseload,
    rate_store,
    served_model,
    sessions,
    snapshots,
    tokens,
)
from service.audit_chain import verify_chain
from service.audit_log import Access, AuditLog
from service.database import make_engine
from service.migrations import STORES, revisions, upgrade
from service.tokens import issue_token

DECLARED = (audit_log, caseload, sessions, tokens, served_model, snapshots, allocation_store, rate_store)
KEY = b"k" * 32


def _declared() -> MetaData:
    """Every table the code declares, in one MetaData (what the migrations must build)."""
    together = MetaData()
    for module in DECLARED:
        for table in module.metadata.tables.values():
            if table.name not in together.tables:
                table.to_metadata(together)
    return together


def test_the_migrations_build_exactly_the_tables_the_code_declares(store_url: str) -> None:
    engine = make_engine(store_url, fsync=False)
    for store in STORES:
        assert upgrade(engine, store)  # applied something on an empty database ...
        assert upgrade(engine, store) == []  # ... and nothing the second time
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), _declared())
    assert differences == []
    assert all(revisions(engine).values())
    engine.dispose()


def test_a_log_made_before_the_migrations_is_adopted_with_its_rows(store_url: str) -> None:
    """A database of an earlier previ (tables made by create_all, an audit log before the chain)."""
    engine = make_engine(store_url, fsync=False)
    kind = "SERIAL" if engine.dialect.name == "postgresql" else "INTEGER"
    with engine.begin() as connection:
        connection.execute(
            text(
                f"CREATE TABLE audit_log (id {kind} PRIMARY KEY, at TIMESTAMP NOT NULL, "
                "token_id VARCHAR(16), role VARCHAR(32), purpose VARCHAR(64), youth_pseudonym VARCHAR(64), "
                "model_version VARCHAR(64), endpoint VARCHAR(128) NOT NULL, method VARCHAR(8) NOT NULL, "
                "outcome VARCHAR(8) NOT NULL, status INTEGER NOT NULL, detail VARCHAR(200))"
            )
        )
        connection.execute(
            text(
                "INSERT INTO audit_log (id, at, endpoint, method, outcome, status) "
                "VALUES (1, '2024-01-01 00:00:00', '/v1/scores', 'POST', 'allowed', 200)"
            )
        )
    assert upgrade(engine, "service") == ["service_0003"]
    columns = {column["name"] for column in inspect(engine).get_columns("audit_log")}
    assert {"prev_hash", "row_hash", "justification", "count"} <= columns
    log = AuditLog(store_url, key=KEY, fsync=False)
    log.record(Access(endpoint="/v1/scores", method="POST", outcome="allowed", status=200))
    report = verify_chain(log, KEY)
    assert report.intact and (report.rows, report.unchained) == (2, 1)
    log.engine.dispose()
    engine.dispose()


def _upgrade_all(url: str) -> None:
    engine = make_engine(url, fsync=False)
    for store in STORES:
        upgrade(engine, store)
    engine.dispose()


def test_workers_upgrading_together_do_not_race(store_url: str) -> None:
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_upgrade_all, args=(store_url,)) for _ in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [process.exitcode for process in processes] == [0, 0, 0]
    engine = make_engine(store_url, fsync=False)
    with engine.connect() as connection:
        versions = connection.execute(select(func.count()).select_from(text("alembic_version"))).scalar_one()
    assert versions == len(STORES)
    engine.dispose()


def _config(folder: Path, url: str, **service: str) -> Path:
    path = folder / "previ.yaml"
    section = {"audit_url": url, "snapshot_url": url, "tokens_file": str(folder / "tokens.json"), **service}
    path.write_text(yaml.safe_dump({"service": section}))
    return path


def test_previ_db_upgrade_migrates_every_store_and_moves_old_tokens_in(
    tmp_path: Path, store_url: str
) -> None:
    record, token = issue_token(role="auditor", name="Luz")
    (tmp_path / "tokens.json").write_text(json.dumps({"format": 1, "tokens": [record.__dict__]}))
    config = _config(tmp_path, store_url)
    runner = CliRunner()
    first = runner.invoke(app, ["db", "upgrade", "--config", str(config)])
    assert first.exit_code == 0, first.output
    assert "service:" in first.output and "upgraded to service_0003" in first.output
    assert "snapshots:" in first.output and "rates:" in first.output
    assert "tokens: 1 moved" in first.output and (tmp_path / "tokens.json.imported").exists()
    second = runner.invoke(app, ["db", "upgrade", "--config", str(config)])
    assert second.exit_code == 0 and second.output.count("already current") == 3, second.output
    engine = make_engine(store_url, fsync=False)
    assert tokens.TokenStore(engine).authenticate(token) is not None
    engine.dispose()


def test_previ_db_upgrade_names_a_database_it_cannot_reach(tmp_path: Path) -> None:
    url = "postgresql+psycopg://nobody:secret@127.0.0.1:1/none?connect_timeout=2"
    result = CliRunner().invoke(app, ["db", "upgrade", "--config", str(_config(tmp_path, url))])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "db: cannot upgrade service at postgresql+psycopg://nobody:***@127.0.0.1:1/none" in result.output
    assert "secret" not in result.output


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_fresh_sqlite_store_is_created_private_by_the_migrations(tmp_path: Path, store_url: str) -> None:
    caseload.CaseloadStore(make_engine(store_url), store_url).add(caseworker="ana", youth_id="Y1")
    path = Path(store_url.removeprefix("sqlite:///"))
    assert path.stat().st_mode & 0o077 == 0
    engine = make_engine(store_url)
    assert revisions(engine)["service"] == "service_0003"
    engine.dispose()


def test_a_child_forked_while_a_thread_upgrades_does_not_inherit_the_held_lock(tmp_path: Path) -> None:
    """The process-wide upgrade lock, held by a parent's thread at the fork, must not block the child."""
    from service import migrations

    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with migrations._current_lock:
            holding.set()
            release.wait(60)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    holding.wait(10)
    try:
        child = multiprocessing.get_context("fork").Process(
            target=_upgrade_all, args=(f"sqlite:///{tmp_path / 'child.db'}",)
        )
        child.start()
        child.join(60)
        assert child.exitcode == 0
    finally:
        release.set()
        holder.join(10)
