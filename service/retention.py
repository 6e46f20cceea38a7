"""Deleting personal data: one young person on request (``previ forget``), and all of it past retention.

Minors' data is kept no longer than it serves, and a young person (or their
guardian) may ask for it to be cancelled (Mexico's LGPDPPSO, rights of
cancellation; LGDNNA art. 76). :func:`forget` deletes a young person's rows
from every snapshot (the SQL tables and the Parquet copies), from every
caseload and from the feedback; :func:`purge_expired` deletes snapshots and
feedback older than ``service.retention_days``. Audit rows stay: they hold a
keyed pseudonym, not the id, and they are the record of who read what. Each
deletion is itself written to the audit log (as the ``cli`` endpoint).
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select

from previ.errors import PreviError
from service.audit_log import Access, AuditLog, feedback_table
from service.caseload import YOUTH_ID, caseload_store
from service.database import create_schema, sqlite_path
from service.pseudonym import Pseudonymizer
from service.settings import ServiceSettings
from service.snapshots import (
    SnapshotStore,
    programs_table,
    reasons_table,
    scores_table,
    snapshot_store,
    snapshots_table,
)

__all__ = ["ForgetReport", "PurgeReport", "forget", "purge_expired"]

BAD_ID = "forget: YOUTH_ID must be a pseudonymous id: letters, digits and . _ : - (at most 64)"
PERSON_TABLES = (scores_table, reasons_table, programs_table)


@dataclass(frozen=True)
class ForgetReport:
    snapshot_rows: int
    caseload_rows: int
    feedback_rows: int


@dataclass(frozen=True)
class PurgeReport:
    snapshots: int
    feedback_rows: int


def forget(settings: ServiceSettings, youth_id: str) -> ForgetReport:
    """Delete ``youth_id``'s rows from snapshots (SQL and Parquet), caseloads and feedback; log it."""
    if not YOUTH_ID.fullmatch(youth_id):
        raise PreviError(BAD_ID)
    audit = AuditLog(settings.audit_url, key=settings.key("audit"), fsync=settings.audit_fsync)
    pseudonym = Pseudonymizer(settings.key("pseudonym"))(youth_id)
    snapshots = snapshot_store(settings)
    snapshot_rows = 0
    if _exists(snapshots):
        with snapshots.engine.begin() as connection:
            for table in PERSON_TABLES:
                snapshot_rows += connection.execute(
                    delete(table).where(table.c.youth_id == youth_id)
                ).rowcount
            folders = connection.execute(select(snapshots_table.c.folder)).scalars().all()
        for folder in folders:
            _drop_from_parquet(Path(folder), youth_id)
    caseload_rows = caseload_store(settings, engine=audit.engine).forget(youth_id)
    audit._ensure_schema()
    with audit.engine.begin() as connection:
        feedback_rows = connection.execute(
            delete(feedback_table).where(feedback_table.c.youth_pseudonym == pseudonym)
        ).rowcount
    detail = (
        f"forget: {snapshot_rows} snapshot, {caseload_rows} caseload, {feedback_rows} feedback rows deleted"
    )
    audit.record(_cli_access(detail), [pseudonym])
    return ForgetReport(snapshot_rows, caseload_rows, feedback_rows)


def purge_expired(settings: ServiceSettings, *, now: dt.datetime | None = None) -> PurgeReport:
    """Delete snapshots (SQL and Parquet) and feedback older than ``service.retention_days``; log it."""
    days = settings.retention_days
    if days is None:
        return PurgeReport(0, 0)
    cutoff = (now or dt.datetime.now(dt.UTC)).replace(tzinfo=None) - dt.timedelta(days=days)
    audit = AuditLog(settings.audit_url, key=settings.key("audit"), fsync=settings.audit_fsync)
    snapshots = snapshot_store(settings)
    expired: list[tuple[int, str]] = []
    if _exists(snapshots):
        with snapshots.engine.begin() as connection:
            expired = [
                (int(row[0]), str(row[1]))
                for row in connection.execute(
                    select(snapshots_table.c.id, snapshots_table.c.folder).where(
                        snapshots_table.c.created_at < cutoff
                    )
                )
            ]
            ids = [snapshot_id for snapshot_id, _ in expired]
            for table in PERSON_TABLES:
                connection.execute(delete(table).where(table.c.snapshot_id.in_(ids)))
            connection.execute(delete(snapshots_table).where(snapshots_table.c.id.in_(ids)))
        for _, folder in expired:
            shutil.rmtree(folder, ignore_errors=True)
    audit._ensure_schema()
    with audit.engine.begin() as connection:
        feedback_rows = connection.execute(
            delete(feedback_table).where(feedback_table.c.at < cutoff)
        ).rowcount
    detail = f"retention {days} days: {len(expired)} snapshots, {feedback_rows} feedback rows deleted"
    audit.record(_cli_access(detail))
    return PurgeReport(len(expired), feedback_rows)


def _cli_access(detail: str) -> Access:
    return Access(endpoint="cli", method="CLI", outcome="allowed", status=200, role="operator", detail=detail)


def _exists(store: SnapshotStore) -> bool:
    """Whether the snapshot database exists (then with its tables); a missing SQLite file is not made."""
    path = sqlite_path(store.url)
    if path is not None and not path.exists():
        return False
    create_schema(store.engine, "snapshots")
    return True


def _drop_from_parquet(folder: Path, youth_id: str) -> None:
    """Rewrite each Parquet table of a snapshot folder without ``youth_id``'s rows."""
    import pandas as pd  # only when forgetting someone: the serving process never loads it

    for path in sorted(folder.glob("*.parquet")):
        frame = pd.read_parquet(path)
        if "youth_id" not in frame.columns or not (frame["youth_id"] == youth_id).any():
            continue
        temporary = path.with_suffix(".parquet.tmp")
        frame[frame["youth_id"] != youth_id].to_parquet(temporary, index=False)
        temporary.replace(path)
