"""The audit log's hash chain: `previ audit-log verify` names the first edited or missing row.

Every test runs on SQLite and on PostgreSQL (the ``store_url`` fixture).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from typer.testing import CliRunner

from cli.app import app
from service.audit_chain import verify_chain
from service.audit_log import Access, AuditLog
from service.pseudonym import Pseudonym
from service.refusals import RefusalCounter
from tests.databases import Backend, database_url

KEY = b"k" * 32


def _log(url: str, rows: int) -> AuditLog:
    log = AuditLog(url, key=KEY, fsync=False)
    for index in range(rows):
        access = Access(endpoint="/v1/youth/{youth_id}/score", method="GET", outcome="allowed", status=200)
        log.record(access, [Pseudonym(f"p{index}")])
    return log


def _config(folder: Path, url: str) -> Path:
    (folder / "audit.key").write_bytes(KEY.hex().encode() + b"\n")
    (folder / "audit.key").chmod(0o600)
    path = folder / "previ.yaml"
    section = {"audit_url": url, "audit_key_file": str(folder / "audit.key")}
    path.write_text(yaml.safe_dump({"service": section}))
    return path


def _verify(folder: Path, url: str, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["audit-log", "verify", "--config", str(_config(folder, url)), *extra])
    return result.exit_code, result.output


def _sql(log: AuditLog, statement: str) -> None:
    with log.engine.begin() as connection:
        connection.execute(text(statement))


def test_an_intact_log_verifies_and_prints_its_head(tmp_path: Path, store_url: str) -> None:
    log = _log(store_url, 5)
    code, output = _verify(tmp_path, store_url)
    head = verify_chain(log, KEY).head_hash
    assert code == 0, output
    assert "5 rows" in output and f"head: row 5 {head}" in output


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        ("UPDATE audit_log SET outcome='refused' WHERE id=3", "row 3 was edited"),
        ("DELETE FROM audit_log WHERE id=4", "row 4 missing"),
        ("DELETE FROM audit_log WHERE id=1", "row 2 links to a row that is missing"),
        ("UPDATE audit_log SET row_hash=NULL WHERE id=2", "row 2 carries no hash"),
    ],
)
def test_an_edited_or_deleted_row_is_named_with_exit_code_2(
    tmp_path: Path, store_url: str, statement: str, named: str
) -> None:
    log = _log(store_url, 6)
    _sql(log, statement)
    code, output = _verify(tmp_path, store_url)
    assert code == 2 and named in output, output
    assert "Traceback" not in output


def test_rows_removed_from_the_end_are_found_with_the_anchored_head(tmp_path: Path, store_url: str) -> None:
    log = _log(store_url, 6)
    anchored = verify_chain(log, KEY).head_hash
    _sql(log, "DELETE FROM audit_log WHERE id=6")
    assert _verify(tmp_path, store_url)[0] == 0  # a shorter chain is consistent in itself ...
    code, output = _verify(tmp_path, store_url, "--anchor", anchored)
    assert code == 2 and "no longer in the log" in output  # ... but the anchored head is gone


def test_another_key_cannot_forge_a_row(store_url: str) -> None:
    log = _log(store_url, 3)
    forged = AuditLog(store_url, key=b"x" * 32, fsync=False)
    forged.record(Access(endpoint="/v1/x", method="GET", outcome="allowed", status=200))
    report = verify_chain(log, KEY)
    assert report.broken_id == 4 and "edited" in (report.problem or "")


def test_counted_refusals_are_chained_rows_with_their_count(store_url: str) -> None:
    log = _log(store_url, 1)
    counter = RefusalCounter(log)
    access = Access(
        endpoint="/v1/model", method="GET", outcome="refused", status=401, detail="no_valid_token"
    )
    for _ in range(7):
        counter.add(access, None)
    assert counter.flush() == 1 and counter.pending() == 0
    assert log.entries(limit=1)[0]["count"] == 7
    assert verify_chain(log, KEY).intact


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.integers(min_value=2, max_value=12), data=st.data())
def test_any_single_edit_is_named_at_its_row(
    tmp_path_factory: pytest.TempPathFactory, backend: Backend, rows: int, data: st.DataObject
) -> None:
    with database_url(backend, tmp_path_factory.mktemp("chain") / "audit.db") as url:
        _edit_one_row(url, rows, data)


def _edit_one_row(url: str, rows: int, data: st.DataObject) -> None:
    log = _log(url, rows)
    target = data.draw(st.integers(min_value=1, max_value=rows))
    column = data.draw(st.sampled_from(["status", "purpose", "youth_pseudonym", "detail", "at"]))
    value = {"status": "'418'", "purpose": "'other'", "youth_pseudonym": "'pX'", "detail": "'x'"}.get(
        column, "'2020-01-01 00:00:00.000000'"
    )
    _sql(log, f"UPDATE audit_log SET {column}={value} WHERE id={target}")
    assert verify_chain(log, KEY).broken_id == target
    log.engine.dispose()
