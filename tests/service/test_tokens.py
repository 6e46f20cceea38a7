"""Bearer tokens: shown once, stored as salted hashes, mapped to one role each."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app
from previ.errors import PreviError
from service.tokens import TokenStore


def test_a_token_authenticates_as_its_role_and_is_never_stored(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    record, token = store.add(role="caseworker", name="Ana")
    caller = store.authenticate(token)
    assert caller is not None and (caller.role, caller.name, caller.token_id) == (
        "caseworker",
        "Ana",
        record.token_id,
    )
    text = (tmp_path / "tokens.json").read_text()
    secret = token.split("_", 2)[2]
    assert secret not in text and token not in text
    assert json.loads(text)["tokens"][0]["sha256"] != secret
    assert stat.S_IMODE((tmp_path / "tokens.json").stat().st_mode) == 0o600


def test_forged_malformed_and_revoked_tokens_are_refused(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
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
    ):
        assert store.authenticate(attempt) is None
    store.revoke(record.token_id)
    assert store.authenticate(token) is None


def test_the_same_secret_under_two_salts_gives_two_hashes(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    first, _ = store.add(role="auditor", name="a")
    second, _ = store.add(role="auditor", name="b")
    assert first.salt != second.salt and first.sha256 != second.sha256


def test_a_running_store_sees_tokens_added_by_another_process(tmp_path: Path) -> None:
    running = TokenStore(tmp_path / "tokens.json")
    assert running.records() == {}
    _, token = TokenStore(tmp_path / "tokens.json").add(role="data_scientist", name="Sam")
    assert running.authenticate(token) is not None


def test_unknown_roles_and_bad_files_are_clear_errors(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    with pytest.raises(PreviError, match="role 'admin' is not one of"):
        store.add(role="admin", name="x")
    (tmp_path / "tokens.json").write_text("{not json")
    with pytest.raises(PreviError, match="not a previ token file"):
        store.records()


def test_cli_prints_the_token_once_and_lists_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    added = runner.invoke(app, ["tokens", "add", "--role", "program_manager", "--name", "Rosa"])
    assert added.exit_code == 0, added.output
    token = added.stdout.strip().splitlines()[-1]
    assert token.startswith("previ_") and TokenStore(tmp_path / "tokens.json").authenticate(token) is not None
    listed = runner.invoke(app, ["tokens", "list"])
    assert listed.exit_code == 0 and "Rosa" in listed.output and "program_manager" in listed.output
    assert token.split("_", 2)[2] not in listed.output
    refused = runner.invoke(app, ["tokens", "add", "--role", "police", "--name", "X"])
    assert refused.exit_code == 2 and "role 'police' is not one of" in refused.output
