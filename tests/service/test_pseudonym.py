"""Pseudonyms: a keyed hash, stable under one key, useless without it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from previ.errors import PreviError
from service.pseudonym import Pseudonymizer, load_key


def test_a_pseudonym_is_stable_and_does_not_contain_the_id() -> None:
    pseudonymize = Pseudonymizer(b"k" * 32)
    assert pseudonymize("Y000123") == pseudonymize("Y000123")
    assert pseudonymize("Y000123") != pseudonymize("Y000124")
    assert "Y000123" not in pseudonymize("Y000123") and len(pseudonymize("Y000123")) == 32


def test_another_key_gives_other_pseudonyms() -> None:
    assert Pseudonymizer(b"a" * 32)("Y000123") != Pseudonymizer(b"b" * 32)("Y000123")


def test_the_key_file_is_created_private_and_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "pseudonym.key"
    first = load_key(None, path)
    assert len(first) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(None, path) == first


def test_an_environment_key_wins_and_short_keys_are_refused(tmp_path: Path) -> None:
    assert load_key("s" * 20, tmp_path / "unused.key") == b"s" * 20
    assert not (tmp_path / "unused.key").exists()
    with pytest.raises(PreviError, match="at least 16"):
        load_key("short", tmp_path / "unused.key")


def test_the_key_never_shows_in_a_repr() -> None:
    assert "secret" not in repr(Pseudonymizer(b"secret-key-of-32-bytes-123456789"))
