"""Bearer tokens mapped to roles, kept hashed in the service database (the ``tokens`` table).

A token reads ``previ_<id>_<secret>``: the id finds the record, the secret is
checked against ``sha256(salt + secret)``. The secret carries 256 random bits,
so a fast salted hash is as safe as a slow one (slow hashes protect guessable
passwords) and keeps authentication to microseconds per request. The table holds
ids, names, roles and hashes, never a token; ``previ tokens add`` shows the token
once. A token added takes effect on the next request, in every worker: an id a
worker does not know is always read from the table. A worker keeps the record
of a token it has just verified for ``RECORD_SECONDS`` (1 s): reading the row on
every request was 14% of a scored request's CPU under load. So a token revoked
by ``previ tokens revoke`` (another process) stops working within a second in
every worker, and at once in the process that revoked it.

Tokens used to live in a local JSON file (``service.tokens_file``);
:func:`import_token_file` moves such a file's records into the table once
(``previ db upgrade`` does) and renames the file, so that a revoked token can
never come back from it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from sqlalchemy import Column, Connection, Engine, MetaData, String, Table, delete, insert, select
from sqlalchemy.exc import SQLAlchemyError

from previ.errors import PreviError
from service.database import create_schema, make_engine, reader

if TYPE_CHECKING:
    from service.settings import ServiceSettings

__all__ = [
    "ROLES",
    "Caller",
    "Role",
    "TokenRecord",
    "TokenStore",
    "import_token_file",
    "issue_token",
    "token_store",
]

Role = Literal["caseworker", "program_manager", "data_scientist", "auditor"]
ROLES: tuple[Role, ...] = get_args(Role)
PREFIX = "previ"
UNKNOWN_ROLE = "tokens: role '{role}' is not one of {roles}"
BAD_NAME = "tokens: --name must be 1-64 printable characters"
BAD_FILE = "tokens: {path} is not a previ token file ({detail})"
NO_SUCH_TOKEN = "tokens: no token with id '{token_id}' in {where}"
UNREADABLE = "tokens: the token table in {where} cannot be read or written ({error})"
RECORD_SECONDS = 1.0
KEPT_RECORDS = 10_000


metadata = MetaData()
tokens_table = Table(
    "tokens",
    metadata,
    Column("token_id", String(16), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("role", String(32), nullable=False),
    Column("salt", String(32), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created", String(32), nullable=False),
)


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
    """The ``tokens`` table of the service database (``service.audit_url``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reader = reader(engine)
        self._recent: dict[str, tuple[float, TokenRecord]] = {}  # token id -> (read at, record)
        self._recent_lock = threading.Lock()

    def authenticate(self, token: str) -> Caller | None:
        """The caller a token belongs to, or None for anything else (malformed, unknown, revoked).

        Raises PreviError when the table cannot be read (the service answers 503).
        """
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or len(parts[1]) > 16:
            return None
        record = self._recent_record(parts[1])
        if record is None or not record.matches(parts[2]):
            return None
        return Caller(token_id=record.token_id, name=record.name, role=record.role)

    def _recent_record(self, token_id: str) -> TokenRecord | None:
        """The record of ``token_id``, read from the table unless read within RECORD_SECONDS."""
        now = time.monotonic()
        with self._recent_lock:
            read_at, record = self._recent.get(token_id, (-RECORD_SECONDS, None))
        if record is not None and now - read_at < RECORD_SECONDS:
            return record
        found = self.get(token_id)
        with self._recent_lock:
            if len(self._recent) >= KEPT_RECORDS:
                self._recent = {
                    key: kept for key, kept in self._recent.items() if now - kept[0] < RECORD_SECONDS
                }
            if found is None:
                self._recent.pop(token_id, None)
            else:
                self._recent[token_id] = (now, found)
        return found

    def get(self, token_id: str) -> TokenRecord | None:
        """The record of ``token_id``, or None."""
        rows = self._read(select(tokens_table).where(tokens_table.c.token_id == token_id))
        return rows[0] if rows else None

    def records(self) -> dict[str, TokenRecord]:
        """Every record by id, oldest first."""
        query = select(tokens_table).order_by(tokens_table.c.created, tokens_table.c.token_id)
        return {record.token_id: record for record in self._read(query)}

    def add(self, *, role: str, name: str) -> tuple[TokenRecord, str]:
        """Create a token; return its record and the token itself (shown once, never stored)."""
        if role not in ROLES:
            raise PreviError(UNKNOWN_ROLE.format(role=role, roles=", ".join(ROLES)))
        if not 1 <= len(name) <= 64 or not name.isprintable():
            raise PreviError(BAD_NAME)
        record, token = issue_token(role=role, name=name, taken=set(self.records()))
        self._write(lambda connection: connection.execute(insert(tokens_table).values(**record.__dict__)))
        return record, token

    def revoke(self, token_id: str) -> TokenRecord:
        record = self.get(token_id)
        if record is None:
            raise PreviError(NO_SUCH_TOKEN.format(token_id=token_id, where=_where(self.engine)))
        self._write(
            lambda connection: connection.execute(
                delete(tokens_table).where(tokens_table.c.token_id == token_id)
            )
        )
        with self._recent_lock:
            self._recent.pop(token_id, None)
        return record

    def import_records(self, records: Collection[TokenRecord]) -> int:
        """Insert the records whose id is not in the table yet; how many were inserted."""
        present = set(self.records())
        fresh = [record.__dict__ for record in records if record.token_id not in present]
        if fresh:
            self._write(lambda connection: connection.execute(insert(tokens_table), fresh))
        return len(fresh)

    def _read(self, query: Any) -> list[TokenRecord]:
        try:
            create_schema(self.engine, "service")
            with self._reader.connect() as connection:
                rows = connection.execute(query).mappings().all()
        except SQLAlchemyError as error:
            raise PreviError(
                UNREADABLE.format(where=_where(self.engine), error=type(error).__name__)
            ) from error
        return [TokenRecord(**dict(row)) for row in rows]

    def _write(self, change: Callable[[Connection], Any]) -> None:
        try:
            create_schema(self.engine, "service")
            with self.engine.begin() as connection:
                change(connection)
        except SQLAlchemyError as error:
            raise PreviError(
                UNREADABLE.format(where=_where(self.engine), error=type(error).__name__)
            ) from error


def token_store(settings: ServiceSettings, *, engine: Engine | None = None) -> TokenStore:
    """The tokens of the service database (``engine``: one already open on it)."""
    return TokenStore(engine or make_engine(settings.audit_url, fsync=settings.audit_fsync))


def import_token_file(store: TokenStore, path: Path) -> int:
    """Move a legacy token file's records into ``store``; the file is renamed ``*.imported``.

    Returns how many records were new to the table (0 when there is no file).
    Raises PreviError for a file that is not a previ token file.
    """
    path = Path(path)
    if not path.exists():
        return 0
    imported = store.import_records(list(_read(path).values()))
    path.replace(path.with_name(path.name + ".imported"))
    return imported


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


def _where(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


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
