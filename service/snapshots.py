"""Batch snapshots in SQL: what ``GET /v1/youth/{id}/score`` reads, kept over time for trends.

A snapshot is one ``previ score`` run: every young person of programme age at
one as_of, scored by one model version, with their reasons (both languages)
and the programmes they were in at that date. Earlier snapshots are kept; reads
use the latest. The store also gives the latest snapshot's population as the
percentile reference for live scores by the same model (matched by the
artifact's SHA-256, so a percentile never mixes two models).

Reads on the request path go by primary key, with statements built once: a
young person's row is one look-up of (snapshot id, youth id), and what every
request needs alike (the latest snapshot, the percentile reference) is kept in
memory for as long as the database has not changed. For SQLite that is told by
SQLite's data version, which moves on every commit by any connection
(:class:`service.database.SQLiteChanges`: never by opening and closing the
file, which would drop the process's locks on it); on a server, by this
process's own commits and a one-second period (see :meth:`SnapshotStore.stamp`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from models.reasons import Reason, RowReasons
from service.database import SQLiteChanges, create_schema, make_engine, sqlite_path
from service.referrals import EnrolmentStatus
from service.scoring import PercentileReference
from service.settings import ServiceSettings

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SnapshotMeta", "SnapshotPerson", "SnapshotStore", "snapshot_store"]

metadata = MetaData()
snapshots_table = Table(
    "snapshots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime, nullable=False),
    Column("as_of", Date, nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("model_sha256", String(64), nullable=False, index=True),
    Column("rows", Integer, nullable=False),
    Column("folder", String(500), nullable=False),
    Column("quantiles", Text, nullable=False),
)
scores_table = Table(
    "snapshot_scores",
    metadata,
    Column("snapshot_id", Integer, primary_key=True),
    Column("youth_id", String(64), primary_key=True),
    Column("municipality", String(100)),
    Column("age", Integer),
    Column("probability", Float, nullable=False),
    Column("percentile", Float, nullable=False),
    Column("tier", String(16), nullable=False),
)
reasons_table = Table(
    "snapshot_reasons",
    metadata,
    Column("snapshot_id", Integer, nullable=False),
    Column("youth_id", String(64), nullable=False),
    Column("direction", String(8), nullable=False),
    Column("rank", Integer, nullable=False),
    Column("feature", String(100), nullable=False),
    Column("value", Float),
    Column("contribution", Float, nullable=False),
    Column("factor", String(64)),
    Column("referral_tags", String(200), nullable=False),
    Column("sentence_es", Text, nullable=False),
    Column("sentence_en", Text, nullable=False),
    Index("ix_snapshot_reasons_person", "snapshot_id", "youth_id"),
)
programs_table = Table(
    "snapshot_programs",
    metadata,
    Column("snapshot_id", Integer, nullable=False),
    Column("youth_id", String(64), nullable=False),
    Column("program", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Index("ix_snapshot_programs_person", "snapshot_id", "youth_id"),
)
_INSERT_CHUNK = 50_000
Cached = TypeVar("Cached")
Stamp = tuple[int, int, int]
SERVER_STAMP_SECONDS = 1.0
"""On a database server, how long a cached answer may miss another process's commit."""
_commits: Counter[str] = Counter()  # commits through any SnapshotStore of this process, by URL
_commits_lock = threading.Lock()


def _fresh_lock_after_fork() -> None:
    """A forked child starts with its own lock (a parent's thread may have held it at the fork)."""
    global _commits_lock
    _commits_lock = threading.Lock()


os.register_at_fork(after_in_child=_fresh_lock_after_fork)


def _count_commit(url: str) -> None:
    with _commits_lock:
        _commits[url] += 1


# The request path's statements, built once (SQLAlchemy then reuses their compiled form).
PERSON_SCORE = select(scores_table).where(
    (scores_table.c.snapshot_id == bindparam("snapshot_id"))
    & (scores_table.c.youth_id == bindparam("youth_id"))
)
PERSON_REASONS = (
    select(reasons_table)
    .where(
        (reasons_table.c.snapshot_id == bindparam("snapshot_id"))
        & (reasons_table.c.youth_id == bindparam("youth_id"))
    )
    .order_by(reasons_table.c.direction.desc(), reasons_table.c.rank)
)
PERSON_PROGRAMS = select(programs_table.c.program, programs_table.c.status).where(
    (programs_table.c.snapshot_id == bindparam("snapshot_id"))
    & (programs_table.c.youth_id == bindparam("youth_id"))
)
REFERENCE = (
    select(snapshots_table.c.id, snapshots_table.c.quantiles)
    .where(snapshots_table.c.model_sha256 == bindparam("model_sha256"))
    .order_by(snapshots_table.c.id.desc())
    .limit(1)
)


@dataclass(frozen=True)
class SnapshotMeta:
    id: int
    created_at: dt.datetime
    as_of: dt.date
    model_version: str
    model_sha256: str
    rows: int
    folder: str


@dataclass(frozen=True)
class SnapshotPerson:
    """One young person's row of a snapshot, with reasons worded in both languages."""

    snapshot: SnapshotMeta
    youth_id: str
    municipality: str
    age: int
    probability: float
    percentile: float
    tier: str
    reasons: dict[str, RowReasons]
    enrolments: dict[str, EnrolmentStatus]


class SnapshotStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._path = sqlite_path(url)
        self._changes = SQLiteChanges(self._path) if self._path is not None else None
        self._cache: dict[str, tuple[Stamp, Any]] = {}
        self._server = self.engine.dialect.name != "sqlite"
        if self._server:
            event.listen(self.engine, "commit", lambda _connection: _count_commit(url))

    def write(
        self,
        *,
        as_of: dt.date,
        model_version: str,
        model_sha256: str,
        folder: str,
        quantiles: np.ndarray,
        scores: pd.DataFrame,
        reasons: pd.DataFrame,
        programs: pd.DataFrame,
        before_commit: Callable[[int], None] | None = None,
    ) -> int:
        """Insert a snapshot in one transaction and return its id.

        ``before_commit(snapshot_id)`` runs inside the transaction (the batch job
        writes its Parquet files there), so a failure leaves no half snapshot.
        """
        create_schema(self.engine, "snapshots")
        with self.engine.begin() as connection:
            inserted = connection.execute(
                insert(snapshots_table).values(
                    created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
                    as_of=as_of,
                    model_version=model_version,
                    model_sha256=model_sha256,
                    rows=len(scores),
                    folder=folder,
                    quantiles=json.dumps(np.round(quantiles, 12).tolist()),
                )
            ).inserted_primary_key
            snapshot_id = int(inserted[0]) if inserted else 0
            for table, frame in (
                (scores_table, scores),
                (reasons_table, reasons),
                (programs_table, programs),
            ):
                _insert_frame(connection, table, frame.assign(snapshot_id=snapshot_id))
            if before_commit is not None:
                before_commit(snapshot_id)
        return snapshot_id

    def latest(self) -> SnapshotMeta | None:
        """The newest snapshot, or None when there is none (or no snapshot database yet)."""
        return self.cached("latest", lambda: self.for_date(None))

    def stamp(self) -> Stamp | None:
        """What changes whenever the database does: on SQLite, its file and data version.

        The data version moves on every commit (:class:`service.database.SQLiteChanges`,
        which reads it without ever closing a descriptor of the database file);
        the inode and modification time tell a file deleted and made again apart
        from the old one. ``(0, 0, 0)`` when the SQLite file does not exist (yet);
        None when it cannot be told (an in-memory, unreadable or empty file):
        then nothing is cached.

        A server (PostgreSQL) has no such counter that the audit log's writes,
        one per request, would not move too, and recomputing the percentile
        reference and the allocation cycle on every request was 20% of a scored
        request's CPU there. Its stamp is this process's count of commits to the
        store (so its own writes count at once) and the current period of
        ``SERVER_STAMP_SECONDS``: a snapshot or allocation written by another
        process (``previ score``, ``previ allocate``, another worker's declined
        offer) is seen within a second.
        """
        if self._server:
            return (-1, int(time.monotonic() // SERVER_STAMP_SECONDS), _commits[self.url])
        return self._changes.stamp() if self._changes is not None else None

    def cached(self, key: str, compute: Callable[[], Cached]) -> Cached:
        """``compute()``, kept under ``key`` until the database changes (see :meth:`stamp`).

        The stamp is read before computing, so a commit that lands meanwhile
        makes the next call compute again: an answer is never older than the
        database was when the request came.
        """
        stamp = self.stamp()
        if stamp is not None:
            hit = self._cache.get(key)
            if hit is not None and hit[0] == stamp:
                value: Cached = hit[1]
                return value
        value = compute()
        if stamp is not None:
            self._cache[key] = (stamp, value)
        return value

    def for_date(self, as_of: dt.date | None) -> SnapshotMeta | None:
        """The newest snapshot of ``as_of`` (None: the newest of any date); None when there is none."""
        if not self._exists():
            return None
        query = select(snapshots_table).order_by(snapshots_table.c.id.desc()).limit(1)
        if as_of is not None:
            query = query.where(snapshots_table.c.as_of == as_of)
        try:
            with self.engine.connect() as connection:
                row = connection.execute(query).mappings().first()
        except SQLAlchemyError:
            return None
        return _meta(row) if row is not None else None

    def tier_counts(self, snapshot_id: int) -> dict[str, int]:
        """How many young people of a snapshot are in each tier."""
        query = (
            select(scores_table.c.tier, func.count())
            .where(scores_table.c.snapshot_id == snapshot_id)
            .group_by(scores_table.c.tier)
        )
        with self.engine.connect() as connection:
            return {str(tier): int(count) for tier, count in connection.execute(query)}

    def tables(self, snapshot_id: int) -> dict[str, pd.DataFrame]:
        """A snapshot's scores, reasons and programmes tables, as ``previ score`` wrote them."""
        import pandas as pd

        with self.engine.connect() as connection:
            return {
                name: pd.read_sql(select(table).where(table.c.snapshot_id == snapshot_id), connection).drop(
                    columns="snapshot_id"
                )
                for name, table in (
                    ("scores", scores_table),
                    ("reasons", reasons_table),
                    ("programs", programs_table),
                )
            }

    def person(self, youth_id: str) -> tuple[SnapshotMeta | None, SnapshotPerson | None]:
        """The latest snapshot and this young person's row in it (None when absent): primary-key reads."""
        snapshot = self.latest()
        if snapshot is None:
            return None, None
        key = {"snapshot_id": snapshot.id, "youth_id": youth_id}
        with self.engine.connect() as connection:
            score = connection.execute(PERSON_SCORE, key).mappings().first()
            if score is None:
                return snapshot, None
            reasons = connection.execute(PERSON_REASONS, key).mappings().all()
            programs = connection.execute(PERSON_PROGRAMS, key).all()
        return snapshot, SnapshotPerson(
            snapshot=snapshot,
            youth_id=youth_id,
            municipality=str(score["municipality"]),
            age=int(score["age"]),
            probability=float(score["probability"]),
            percentile=float(score["percentile"]),
            tier=str(score["tier"]),
            reasons={language: _row_reasons(reasons, language) for language in ("es", "en")},
            enrolments={str(program): status for program, status in programs},
        )

    def reference_for(self, model_sha256: str) -> PercentileReference | None:
        """The population of the latest snapshot scored by this model, for live percentiles."""
        return self.cached(f"reference {model_sha256}", lambda: self._reference_for(model_sha256))

    def _reference_for(self, model_sha256: str) -> PercentileReference | None:
        if not self._exists():
            return None
        try:
            with self.engine.connect() as connection:
                row = connection.execute(REFERENCE, {"model_sha256": model_sha256}).first()
        except SQLAlchemyError:
            return None
        if row is None:
            return None
        return PercentileReference(np.asarray(json.loads(row.quantiles), dtype=float), "snapshot")

    def _exists(self) -> bool:
        path = sqlite_path(self.url)
        return path is None or path.exists()


def snapshot_store(settings: ServiceSettings) -> SnapshotStore:
    """The snapshot tables: ``service.snapshot_url``, else SQLite inside ``service.snapshot_dir``."""
    url = settings.snapshot_url or f"sqlite:///{(settings.snapshot_dir / 'snapshots.db').absolute()}"
    return SnapshotStore(url)


def _insert_frame(connection: Connection, table: Table, frame: pd.DataFrame) -> None:
    """Bulk insert in chunks (executemany); NaN becomes NULL.

    Each chunk is turned into Python objects on its own, so a population-wide
    snapshot (the Dask engine's millions of reason rows) never exists as objects at once.
    """
    columns = [column.name for column in table.columns]
    selected = frame[columns]
    for start in range(0, len(selected), _INSERT_CHUNK):
        values = selected.iloc[start : start + _INSERT_CHUNK]
        chunk = values.astype(object).where(values.notna(), None)
        records = [
            dict(zip(columns, values, strict=True)) for values in chunk.itertuples(index=False, name=None)
        ]
        if records:
            connection.execute(insert(table), records)


def _meta(row: Any) -> SnapshotMeta:
    return SnapshotMeta(
        id=int(row["id"]),
        created_at=row["created_at"].replace(tzinfo=dt.UTC),
        as_of=row["as_of"],
        model_version=str(row["model_version"]),
        model_sha256=str(row["model_sha256"]),
        rows=int(row["rows"]),
        folder=str(row["folder"]),
    )


def _row_reasons(rows: Any, language: str) -> RowReasons:
    reasons = [
        Reason(
            feature=str(row["feature"]),
            value=None if row["value"] is None else float(row["value"]),
            contribution=float(row["contribution"]),
            direction=row["direction"],
            sentence=str(row[f"sentence_{language}"]),
            factor=row["factor"],
            referral_tags=tuple(tag for tag in str(row["referral_tags"]).split(",") if tag),
        )
        for row in rows
    ]
    return RowReasons.of(reasons)
