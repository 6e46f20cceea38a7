"""Alembic migrations of the service's stores, and the one call that brings a database up to date.

Three stores, three branches of one migration history, each tracked in the
database's ``alembic_version`` table (one database may hold several):

| branch | tables | database |
| --- | --- | --- |
| ``service`` | audit_log, feedback, caseload, web_sessions, tokens, served_model | ``service.audit_url`` |
| ``snapshots`` | snapshots and their scores, reasons and programmes; allocations | ``service.snapshot_url`` |
| ``rates`` | rate_limits (request counts) | the service database on PostgreSQL, a file beside it on SQLite |

``previ db upgrade`` (and ``previ serve`` before it starts its workers, and the
quickstart) runs :func:`upgrade` on each. The stores also call
:func:`ensure_schema` on first use, so a fresh SQLite file (a test, a first run)
is created by the same migrations, never by ``create_all``. An upgrade runs in
one transaction under a lock that every process takes (an advisory lock on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so workers starting together do not
race; when the database is already at the head it only reads the version table,
which a service role without DDL rights may do.

The first revision of ``service`` and of ``snapshots`` adopts databases made
before the migrations existed: it creates only the tables that are missing.
"""

from __future__ import annotations

import os
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from sqlalchemy import Connection, Engine

from service.database import lock_in_schema, private_file, sqlite_path

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["STORES", "Store", "ensure_schema", "revisions", "upgrade"]

Store = Literal["service", "snapshots", "rates"]
STORES: tuple[Store, ...] = get_args(Store)
FOLDER = Path(__file__).parent

_current: set[tuple[str, Store]] = set()
_rendered: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()
# Alembic's `op` and `context` are module-level proxies, one per process: two upgrades running at once
# in two threads (a store's first use while `previ audit-log grant` upgrades) unset each other's
# (seen: "'NoneType' object has no attribute 'create_table'"). Every upgrade of the process takes it.
_current_lock = threading.RLock()


def _fresh_lock_after_fork() -> None:
    """A forked child starts with its own lock: a parent's thread may have held it at the fork, forever."""
    global _current_lock
    _current_lock = threading.RLock()


os.register_at_fork(after_in_child=_fresh_lock_after_fork)


def ensure_schema(engine: Engine, store: Store) -> None:
    """Upgrade ``engine``'s database to the head of ``store`` once per process (then a set lookup)."""
    key = (_rendered_url(engine), store)
    if key in _current:
        return
    with _current_lock:
        if key not in _current:
            upgrade(engine, store)
            _current.add(key)


def schema_is_current(engine: Engine, store: Store) -> bool:
    """Whether :func:`ensure_schema` already brought ``store`` up to date in this process (no I/O)."""
    return (_rendered_url(engine), store) in _current


def _rendered_url(engine: Engine) -> str:
    """The engine's URL as text, rendered once per engine: every store access asks (0.1 ms a render)."""
    rendered = _rendered.get(engine)
    if rendered is None:
        rendered = _rendered[engine] = engine.url.render_as_string(hide_password=False)
    return rendered


def forget_schemas() -> None:
    """Make the next :func:`ensure_schema` check the database again (after it was dropped or replaced)."""
    with _current_lock:
        _current.clear()


def upgrade(engine: Engine, store: Store) -> list[str]:
    """Bring ``store``'s tables in ``engine``'s database to the newest revision; the new head, if it moved.

    A SQLite file (and its folder) is created private first. Raises
    SQLAlchemyError when the database cannot be reached or changed.
    """
    from alembic import command

    path = sqlite_path(engine.url.render_as_string(hide_password=False))
    if path is not None:
        private_file(path)
    with _current_lock, engine.connect() as connection:
        connection = connection.execution_options(immediate=True)
        with connection.begin():
            if connection.dialect.name == "postgresql":
                lock_in_schema(connection, "migrations")
            before = _heads(connection, store)
            config = _config(connection)
            command.upgrade(config, f"{store}@head")
            after = _heads(connection, store)
    return sorted(after - before)


def revisions(engine: Engine) -> dict[Store, str | None]:
    """The revision each store is at in ``engine``'s database (None: not created there)."""
    with engine.connect() as connection:
        return {store: next(iter(sorted(_heads(connection, store))), None) for store in STORES}


def _heads(connection: Connection, store: Store) -> set[str]:
    """The revisions of ``store`` recorded in the database's version table (empty: not created)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(FOLDER))
    current = MigrationContext.configure(connection).get_current_heads()
    return {head for head in current if store in script.get_revision(head).branch_labels}


def _config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(FOLDER))
    config.attributes["connection"] = connection
    return config
