"""Caseloads: which young people are assigned to which caseworker, in the service database.

A caseworker is named as their token is (``previ tokens add --name NAME``). The
caseload is the caseworker's object-level permission: the API and the pages
serve a stored score or record feedback only for young people on the caller's
caseload (:meth:`service.deps.Guard.require_caseload`), and the "my caseload"
page shows the young people assigned to that name and nobody else's.
Assignments live beside the audit log (the ``service.audit_url`` database) and
are managed with ``previ caseload``.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import Column, DateTime, Engine, MetaData, String, Table, delete, insert, select
from sqlalchemy.exc import IntegrityError

from previ.errors import PreviError
from service.database import create_schema, make_engine, reader
from service.settings import ServiceSettings

__all__ = ["BAD_CASEWORKER", "BAD_YOUTH_ID", "CaseloadStore", "caseload_store"]

BAD_CASEWORKER = "caseload: --caseworker must be 1-64 printable characters (the name of a caseworker's token)"
BAD_YOUTH_ID = "caseload: --youth must be a pseudonymous id: letters, digits and . _ : - (at most 64)"
YOUTH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")

metadata = MetaData()
caseload_table = Table(
    "caseload",
    metadata,
    Column("caseworker", String(64), primary_key=True),
    Column("youth_id", String(64), primary_key=True),
    Column("assigned_at", DateTime, nullable=False),
)


class CaseloadStore:
    """Assignments of young people to caseworkers (the table comes from the ``service`` migrations)."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url

    def add(self, *, caseworker: str, youth_id: str) -> bool:
        """Assign; False when the young person was already assigned to this caseworker."""
        _check(caseworker, youth_id)
        self._ensure_schema()
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(caseload_table).values(
                        caseworker=caseworker,
                        youth_id=youth_id,
                        assigned_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
                    )
                )
        except IntegrityError:
            return False
        return True

    def remove(self, *, caseworker: str, youth_id: str) -> bool:
        """Unassign; False when there was no such assignment."""
        _check(caseworker, youth_id)
        self._ensure_schema()
        with self.engine.begin() as connection:
            result = connection.execute(
                delete(caseload_table).where(
                    (caseload_table.c.caseworker == caseworker) & (caseload_table.c.youth_id == youth_id)
                )
            )
        return bool(result.rowcount)

    def youth_of(self, caseworker: str) -> list[str]:
        """The ids assigned to ``caseworker``, sorted (an empty list for an unknown name)."""
        self._ensure_schema()
        query = (
            select(caseload_table.c.youth_id)
            .where(caseload_table.c.caseworker == caseworker)
            .order_by(caseload_table.c.youth_id)
        )
        with reader(self.engine).connect() as connection:
            return [str(youth_id) for youth_id in connection.execute(query).scalars()]

    def holds(self, caseworker: str, youth_id: str) -> bool:
        """Whether ``youth_id`` is on ``caseworker``'s caseload."""
        self._ensure_schema()
        query = select(caseload_table.c.youth_id).where(
            (caseload_table.c.caseworker == caseworker) & (caseload_table.c.youth_id == youth_id)
        )
        with reader(self.engine).connect() as connection:
            return connection.execute(query).first() is not None

    def forget(self, youth_id: str) -> int:
        """Remove ``youth_id`` from every caseload; the number of assignments removed."""
        self._ensure_schema()
        with self.engine.begin() as connection:
            result = connection.execute(delete(caseload_table).where(caseload_table.c.youth_id == youth_id))
        return int(result.rowcount)

    def _ensure_schema(self) -> None:
        create_schema(self.engine, "service")


def caseload_store(settings: ServiceSettings, *, engine: Engine | None = None) -> CaseloadStore:
    """The caseload table in the service database (``engine``: one already open on it)."""
    return CaseloadStore(
        engine or make_engine(settings.audit_url, fsync=settings.audit_fsync), settings.audit_url
    )


def _check(caseworker: str, youth_id: str) -> None:
    if not 1 <= len(caseworker) <= 64 or not caseworker.isprintable():
        raise PreviError(BAD_CASEWORKER)
    if not YOUTH_ID.fullmatch(youth_id):
        raise PreviError(BAD_YOUTH_ID)
