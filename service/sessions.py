"""Web sessions kept server-side, in the service database, so that ending one takes effect at once.

The cookie carries only a random session id (signed, see
:class:`service.pages.session.SessionCodec`); the table keeps a SHA-256 of it,
never the id itself, with the token id, the CSRF token and two times. Logging
out deletes the row, and revoking a token (``previ tokens revoke``) deletes
every row of that token, so a copied cookie stops working on its next request,
in every worker. Expired rows are removed as new sessions start.
"""

from __future__ import annotations

import hashlib
import secrets
import time

from sqlalchemy import Column, Engine, Float, MetaData, String, Table, delete, insert, select, update

from service.database import create_schema, reader

__all__ = ["SessionRecord", "SessionStore"]

metadata = MetaData()
sessions_table = Table(
    "web_sessions",
    metadata,
    Column("sid_sha256", String(64), primary_key=True),
    Column("token_id", String(16), nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("issued", Float, nullable=False),
    Column("seen", Float, nullable=False),
)


class SessionRecord:
    """One signed-in session as the table holds it."""

    __slots__ = ("csrf", "issued", "seen", "token_id")

    def __init__(self, token_id: str, csrf: str, issued: float, seen: float) -> None:
        self.token_id = token_id
        self.csrf = csrf
        self.issued = issued
        self.seen = seen


class SessionStore:
    """The ``web_sessions`` table (from the ``service`` migrations) in the service database."""

    def __init__(self, engine: Engine, url: str, *, max_seconds: float) -> None:
        self.engine = engine
        self.url = url
        self.max_seconds = max_seconds

    def start(self, token_id: str, *, now: float | None = None) -> tuple[str, SessionRecord]:
        """A new session for ``token_id``: its secret id (for the cookie only) and its record."""
        self._ensure_schema()
        moment = time.time() if now is None else now
        sid = secrets.token_urlsafe(32)
        record = SessionRecord(token_id, secrets.token_urlsafe(24), moment, moment)
        with self.engine.begin() as connection:
            connection.execute(
                delete(sessions_table).where(sessions_table.c.issued < moment - self.max_seconds)
            )
            connection.execute(
                insert(sessions_table).values(
                    sid_sha256=_digest(sid),
                    token_id=token_id,
                    csrf=record.csrf,
                    issued=moment,
                    seen=moment,
                )
            )
        return sid, record

    def get(self, sid: str) -> SessionRecord | None:
        """The session of ``sid``, or None once it was ended (logout, revocation) or never existed."""
        self._ensure_schema()
        query = select(sessions_table).where(sessions_table.c.sid_sha256 == _digest(sid))
        with reader(self.engine).connect() as connection:
            row = connection.execute(query).mappings().first()
        if row is None:
            return None
        return SessionRecord(str(row["token_id"]), str(row["csrf"]), float(row["issued"]), float(row["seen"]))

    def touch(self, sid: str, *, now: float | None = None) -> None:
        self._ensure_schema()
        moment = time.time() if now is None else now
        with self.engine.begin() as connection:
            connection.execute(
                update(sessions_table).where(sessions_table.c.sid_sha256 == _digest(sid)).values(seen=moment)
            )

    def end(self, sid: str) -> None:
        self._ensure_schema()
        with self.engine.begin() as connection:
            connection.execute(delete(sessions_table).where(sessions_table.c.sid_sha256 == _digest(sid)))

    def end_token(self, token_id: str) -> int:
        """End every session of ``token_id``; how many there were."""
        self._ensure_schema()
        with self.engine.begin() as connection:
            result = connection.execute(delete(sessions_table).where(sessions_table.c.token_id == token_id))
        return int(result.rowcount)

    def _ensure_schema(self) -> None:
        create_schema(self.engine, "service")


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()
