"""Bearer tokens: shown once, stored as salted hashes in the service database, one role each.

The store tests run on SQLite and on PostgreSQL (the ``store_url`` fixture).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli.app import app
from previ.errors import PreviError
from service import tokens
from service.database import make_engine
from service.tokens import TokenStore, import_token_file, issue_token, tokens_table


def _store(url: str) -> TokenStore:
    return TokenStore(make_engine(url, fsync=False))


def test_a_token_authenticates_as_its_role_and_is_never_stored(store_url: str) -> None:
    store = _store(store_url)
    record, token = store.add(role="caseworker", name="Ana")
    caller = store.authenticate(token)
    assert caller is not None and (caller.role, caller.name, caller.token_id) == (
        "caseworker",
        "Ana",
        record.token_id,
    )
    with store.engine.connect() as connection:
        stored = [dict(row) for row in connection.execute(select(tokens_table)).mappings()]
    secret = token.split("_", 2)[2]
    assert len(stored) == 1 and secret not in str(stored) and token not in str(stored)
    assert stored[0]["sha256"] == record.sha256 != secret


def test_forged_malformed_and_revoked_tokens_are_refused(store_url: str) -> None:
    store = _store(store_url)
    record, token = store.add(role="auditor", name="Luis")
    other, _ = store.add(role="caseworker", name="Eva")
    secret = token.split("_", 2)[2]
    for attempt in (
        token[:-1] + ("A" if token[-1] != "A" else "B"),
        "",
        "previ",
        f"previ_{other.token_id}_{secret}",
        f"bearer_{record.token_id}_{secret}",
        "previ__",
        f"previ_{'x' * 40}_{secret}",
    ):
        assert store.authenticate(attempt) is None
    store.revoke(record.token_id)
    assert store.authenticate(token) is None
    with pytest.raises(PreviError, match=f"no token with id '{record.token_id}'"):
        store.revoke(record.token_id)


def test_the_same_secret_under_two_salts_gives_two_hashes(store_url: str) -> None:
    store = _store(store_url)
    first, _ = store.add(role="auditor", name="a")
    second, _ = store.add(role="auditor", name="b")
    assert first.salt != second.salt and first.sha256 != second.sha256


def test_a_token_added_elsewhere_counts_at_once_and_one_revoked_elsewhere_within_a_second(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1_000.0]
    monkeypatch.setattr(tokens.time, "monotonic", lambda: clock[0])
    running = _store(store_url)  # a worker of the service
    assert running.records() == {}
    record, token = _store(store_url).add(role="data_scientist", name="Sam")  # previ tokens add
    assert running.authenticate(token) is not None
    _store(store_url).revoke(record.token_id)  # previ tokens revoke
    clock[0] += tokens.RECORD_SECONDS / 2
    assert running.authenticate(token) is not None  # the worker's recent record, at most RECORD_SECONDS old
    clock[0] += tokens.RECORD_SECONDS / 2
    assert running.authenticate(token) is None


def test_a_token_revoked_in_the_same_process_stops_at_once(store_url: str) -> None:
    store = _store(store_url)
    record, token = store.add(role="auditor", name="Ari")
    assert store.authenticate(token) is not None
    store.revoke(record.token_id)
    assert store.authenticate(token) is None


def test_unknown_roles_and_unreachable_stores_are_clear_errors(store_url: str, tmp_path: Path) -> None:
    with pytest.raises(PreviError, match="role 'admin' is not one of"):
        _store(store_url).add(role="admin", name="x")
    (tmp_path / "blocked").mkdir()
    unreachable = _store(f"sqlite:///{tmp_path / 'blocked'}")  # a folder where the database should be
    with pytest.raises(PreviError, match="cannot be read or written"):
        unreachable.records()


def test_a_legacy_token_file_moves_into_the_table_once(store_url: str, tmp_path: Path) -> None:
    record, token = issue_token(role="caseworker", name="Ana")
    legacy = tmp_path / "tokens.json"
    legacy.write_text(json.dumps({"format": 1, "tokens": [record.__dict__]}))
    store = _store(store_url)
    assert import_token_file(store, legacy) == 1
    assert not legacy.exists() and (tmp_path / "tokens.json.imported").exists()
    assert store.authenticate(token) is not None
    assert import_token_file(store, legacy) == 0  # nothing left to import: a revoked token stays revoked
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(PreviError, match="not a previ token file"):
        import_token_file(store, tmp_path / "bad.json")


def test_cli_prints_the_token_once_and_lists_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_url: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PREVI_AUDIT_URL", store_url)
    runner = CliRunner()
    added = runner.invoke(app, ["tokens", "add", "--role", "program_manager", "--name", "Rosa"])
    assert added.exit_code == 0, added.output
    token = added.stdout.strip().splitlines()[-1]
    assert token.startswith("previ_") and _store(store_url).authenticate(token) is not None
    listed = runner.invoke(app, ["tokens", "list"])
    assert listed.exit_code == 0 and "Rosa" in listed.output and "program_manager" in listed.output
    assert token.split("_", 2)[2] not in listed.output
    refused = runner.invoke(app, ["tokens", "add", "--role", "police", "--name", "X"])
    assert refused.exit_code == 2 and "role 'police' is not one of" in refused.output
    revoked = runner.invoke(app, ["tokens", "revoke", token.split("_")[1]])
    assert revoked.exit_code == 0 and "0 sessions ended" in revoked.output, revoked.output
    assert _store(store_url).authenticate(token) is None
