"""Bearer tokens mapped to roles, kept hashed in a local JSON file.

A token reads ``previ_<id>_<secret>``: the id finds the record, the secret is
checked against ``sha256(salt + secret)``. The secret carries 256 random bits,
so a fast salted hash is as safe as a slow one (slow hashes protect guessable
passwords) and keeps authentication to microseconds per request. The file holds
ids, names, roles and hashes, never a token; ``previ tokens add`` shows the token
once. The store re-reads the file when it changes, so tokens added or revoked
while the service runs take effect on the next request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from previ.atomic import atomic_file
from previ.errors import PreviError

__all__ = ["ROLES", "Caller", "Role", "TokenRecord", "TokenStore", "issue_token"]

Role = Literal["caseworker", "program_manager", "data_scientist", "auditor"]
ROLES: tuple[Role, ...] = get_args(Role)
PREFIX = "previ"
FILE_VERSION = 1
UNKNOWN_ROLE = "tokens: role '{role}' is not one of {roles}"
BAD_NAME = "tokens: --name must be 1-64 printable characters"
BAD_FILE = "tokens: {path} is not a previ token file ({detail})"
NO_SUCH_TOKEN = "tokens: no token with id '{token_id}' in {path}"


@dataclass(frozen=True)
class Caller:
    """Who is asking: the token's id and name (never the token) and its role."""

    token_id: str
    name: str
    role: Role


@dataclass(frozen=True)
class TokenRecord:
    token_id: str
    name: str
    role: Role
    salt: str
    sha256: str
    created: str

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(_digest(self.salt, secret), self.sha256)


class TokenStore:
    """The token file, read on first use and again whenever its modification time changes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._records: dict[str, TokenRecord] = {}

    def authenticate(self, token: str) -> Caller | None:
        """The caller a token belongs to, or None for anything else (malformed, unknown, revoked)."""
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != PREFIX:
            return None
        record = self.records().get(parts[1])
        if record is None or not record.matches(parts[2]):
            return None
        return Caller(token_id=record.token_id, name=record.name, role=record.role)

    def records(self) -> dict[str, TokenRecord]:
        """Records by id, re-read when the file changed (a missing file holds no tokens)."""
        try:
            status = self.path.stat()
            stamp: tuple[int, int] | None = (status.st_mtime_ns, status.st_size)
        except FileNotFoundError:
            stamp = None
        with self._lock:
            if stamp != self._stamp:
                self._records = _read(self.path) if stamp is not None else {}
                self._stamp = stamp
            return self._records

    def add(self, *, role: str, name: str) -> tuple[TokenRecord, str]:
        """Create a token; return its record and the token itself (shown once, never stored)."""
        if role not in ROLES:
            raise PreviError(UNKNOWN_ROLE.format(role=role, roles=", ".join(ROLES)))
        if not 1 <= len(name) <= 64 or not name.isprintable():
            raise PreviError(BAD_NAME)
        records = dict(self.records())
        record, token = issue_token(role=role, name=name, taken=set(records))
        records[record.token_id] = record
        self._write(records)
        return record, token

    def revoke(self, token_id: str) -> TokenRecord:
        records = dict(self.records())
        if token_id not in records:
            raise PreviError(NO_SUCH_TOKEN.format(token_id=token_id, path=self.path))
        removed = records.pop(token_id)
        self._write(records)
        return removed

    def _write(self, records: dict[str, TokenRecord]) -> None:
        payload = {
            "format": FILE_VERSION,
            "tokens": [record.__dict__ for record in sorted(records.values(), key=lambda r: r.created)],
        }
        with atomic_file(self.path) as temporary:
            temporary.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
            temporary.chmod(0o600)


def issue_token(*, role: Role, name: str, taken: Collection[str] = ()) -> tuple[TokenRecord, str]:
    """A new random token and the record that verifies it."""
    token_id = secrets.token_hex(4)
    while token_id in taken:
        token_id = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    record = TokenRecord(
        token_id=token_id,
        name=name,
        role=role,
        salt=salt,
        sha256=_digest(salt, secret),
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    return record, f"{PREFIX}_{token_id}_{secret}"


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode("utf-8")).hexdigest()


def _read(path: Path) -> dict[str, TokenRecord]:
    try:
        payload: Any = json.loads(path.read_text(encoding="utf-8"))
        entries = payload["tokens"] if isinstance(payload, dict) else None
        if not isinstance(entries, list):
            raise ValueError("no 'tokens' list")
        records = [TokenRecord(**entry) for entry in entries]
    except (ValueError, KeyError, TypeError) as error:
        raise PreviError(BAD_FILE.format(path=path, detail=type(error).__name__)) from error
    bad = [record.role for record in records if record.role not in ROLES]
    if bad:
        raise PreviError(BAD_FILE.format(path=path, detail=f"unknown role '{bad[0]}'"))
    return {record.token_id: record for record in records}
