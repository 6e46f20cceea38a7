"""On PostgreSQL the service's role may insert audit rows, never edit or delete them (needs a server)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from typer.testing import CliRunner

from cli.app import app
from previ.errors import PreviError
from service.audit_chain import verify_chain
from service.audit_log import Access, AuditLog, grant_service_role
from service.database import make_engine
from service.pseudonym import Pseudonym
from service.tokens import TokenStore
from tests.databases import postgres_schema

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
KEY = b"k" * 32


@pytest.fixture
def database() -> Iterator[tuple[str, str]]:
    """A fresh database and a login role for the service, dropped afterwards."""
    import psycopg

    with postgres_schema():  # fails (or skips, when opted out) with the reason when no server answers
        pass
    suffix = secrets.token_hex(4)
    name, role = f"previ_issue12_{suffix}", f"previ_issue12_svc_{suffix}"
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
        admin.execute(f"CREATE ROLE {role} LOGIN")
        try:
            yield name, role
        finally:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
            admin.execute(f"DROP ROLE {role}")


def test_the_service_role_may_insert_audit_rows_but_never_edit_them(
    database: tuple[str, str],
) -> None:
    name, role = database
    owner = make_engine(f"{SERVER}/{name}")
    grant_service_role(owner, role)
    log = AuditLog(f"postgresql+psycopg://{role}@127.0.0.1:5432/{name}", key=KEY)
    access = Access(endpoint="/v1/youth/{youth_id}/score", method="GET", outcome="allowed", status=200)
    for index in range(3):
        log.record(access, [Pseudonym(f"p{index}")])
    assert log.writable()
    assert verify_chain(log, KEY).intact and verify_chain(log, KEY).rows == 3
    _, token = TokenStore(owner).add(role="caseworker", name="ana")  # the owner issues tokens ...
    assert TokenStore(log.engine).authenticate(token) is not None  # ... the service only reads them
    with pytest.raises(PreviError, match="cannot be read or written"):
        TokenStore(log.engine).add(role="auditor", name="mallory")
    for statement in (
        "UPDATE audit_log SET outcome = 'refused' WHERE id = 2",
        "DELETE FROM audit_log WHERE id = 2",
    ):
        with pytest.raises(ProgrammingError, match="permission denied"), log.engine.begin() as connection:
            connection.execute(text(statement))
    with owner.begin() as connection:  # the owner can, and verify names the row
        connection.execute(text("UPDATE audit_log SET outcome = 'refused' WHERE id = 2"))
    assert verify_chain(log, KEY).broken_id == 2
    owner.dispose()
    log.engine.dispose()


def test_the_service_role_reads_snapshots_and_marks_offers_but_never_writes_a_score(
    database: tuple[str, str],
) -> None:
    name, role = database
    owner = make_engine(f"{SERVER}/{name}")
    grant_service_role(owner, role, snapshots=owner)
    expected = {
        ("snapshot_scores", "SELECT"): True,
        ("snapshot_scores", "INSERT"): False,
        ("snapshot_scores", "UPDATE"): False,
        ("snapshots", "DELETE"): True,  # the retention purge
        ("snapshot_reasons", "SELECT"): True,
        ("allocations", "SELECT"): True,
        ("allocations", "UPDATE"): True,  # an offer declined or held
        ("allocations", "INSERT"): False,
        ("allocations", "DELETE"): False,
        ("allocation_places", "UPDATE"): True,
        ("feedback", "DELETE"): True,
        ("audit_log", "DELETE"): False,
    }
    with owner.connect() as connection:
        granted = {
            (table, privilege): bool(
                connection.execute(
                    text("SELECT has_table_privilege(:role, :table, :privilege)"),
                    {"role": role, "table": table, "privilege": privilege},
                ).scalar_one()
            )
            for table, privilege in expected
        }
    owner.dispose()
    assert granted == expected


def test_previ_audit_log_grant_grants_the_snapshot_database_too(
    database: tuple[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    name, role = database
    url = f"{SERVER}/{name}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PREVI_AUDIT_URL", url)
    monkeypatch.setenv("PREVI_SNAPSHOT_URL", url)
    granted = CliRunner().invoke(app, ["audit-log", "grant", "--role", role])
    assert granted.exit_code == 0, granted.output
    assert "may read the snapshots and places" in granted.output
    owner = make_engine(url)
    with owner.connect() as connection:
        readable = connection.execute(
            text("SELECT has_table_privilege(:role, 'snapshot_scores', 'SELECT')"), {"role": role}
        ).scalar_one()
    owner.dispose()
    assert readable


def test_previ_audit_log_grant_to_a_role_that_does_not_exist_says_so_in_one_line(
    database: tuple[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    name, _ = database
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PREVI_AUDIT_URL", f"{SERVER}/{name}")
    refused = CliRunner().invoke(app, ["audit-log", "grant", "--role", "previ_nobody_here"])
    assert refused.exit_code == 2, refused.output
    assert "--role previ_nobody_here does not exist" in refused.output and "CREATE ROLE" in refused.output
    assert "Traceback" not in refused.output and len(refused.output.strip().splitlines()) == 1
