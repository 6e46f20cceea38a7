"""The databases the store tests run on: a SQLite file, and a fresh schema of a real PostgreSQL.

PostgreSQL is reached at ``PREVI_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``: the server that
``scripts/test`` installs and starts when none answers). Each test gets a
schema of its own (``previ_t_<random>``, dropped afterwards), so tests and
pytest-xdist workers never see each other's rows. When the server does not
answer, the PostgreSQL tests fail with the reason; they are skipped only when
``PREVI_TEST_NO_POSTGRES=1`` says so explicitly.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from sqlalchemy.engine import make_url

__all__ = ["BACKENDS", "Backend", "database_url", "postgres_schema"]

Backend = Literal["sqlite", "postgresql"]
BACKENDS: tuple[Backend, ...] = ("sqlite", "postgresql")
POSTGRES_URL = os.environ.get("PREVI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
OPT_OUT = "PREVI_TEST_NO_POSTGRES"


@contextlib.contextmanager
def database_url(backend: Backend, sqlite_file: Path) -> Iterator[str]:
    """A URL of an empty database: ``sqlite_file``, or a fresh PostgreSQL schema (dropped on exit)."""
    if backend == "sqlite":
        yield f"sqlite:///{sqlite_file}"
        return
    with postgres_schema() as url:
        yield url


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema in the test database, as a URL whose connections use it; dropped (cascade) on exit."""
    import psycopg

    _require_postgres()
    name = f"previ_t_{secrets.token_hex(6)}"
    with _admin() as admin:
        admin.execute(f"CREATE SCHEMA {name}")
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={name}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        from service.migrations import forget_schemas

        forget_schemas()
        with contextlib.suppress(psycopg.Error), _admin() as admin:
            admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def _admin() -> contextlib.AbstractContextManager[object]:
    import psycopg

    url = make_url(POSTGRES_URL)
    return psycopg.connect(  # type: ignore[return-value]
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        dbname=url.database or "test",
        autocommit=True,
        connect_timeout=5,
    )


@functools.cache
def _unreachable() -> str | None:
    """Why the test server cannot be used (None: it can)."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -e '.[dev]')"
    try:
        with _admin():
            return None
    except psycopg.Error as error:
        shown = make_url(POSTGRES_URL).render_as_string(hide_password=True)
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return f"no PostgreSQL at {shown} ({first})"


def _require_postgres() -> None:
    reason = _unreachable()
    if reason is None:
        return
    if os.environ.get(OPT_OUT) == "1":
        pytest.skip(f"{reason}; skipped because {OPT_OUT}=1")
    pytest.fail(
        f"{reason}. Start one (scripts/test installs and starts Debian's postgresql as root), point "
        f"PREVI_TEST_POSTGRES_URL at one, or set {OPT_OUT}=1 to skip the PostgreSQL tests.",
        pytrace=False,
    )
