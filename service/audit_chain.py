"""Verifying the audit log's hash chain: which row, if any, was edited, deleted or inserted.

Every row's ``row_hash`` is the HMAC of its content and of ``prev_hash``, and
``prev_hash`` must equal the ``row_hash`` of the row before it (the first
chained row links to :data:`service.audit_log.GENESIS`). Walking the rows in id
order and recomputing each hash finds the first row that no longer holds: an
edited row fails its own hash, a deleted row breaks the link of the row after
it (and leaves a gap in the ids). Deleting the newest rows leaves a shorter
chain that is consistent; only a head hash anchored outside (a dated letter,
a ticket) shows that, which is why :func:`verify_chain` reports the head and
checks an anchored one when given.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from service.audit_log import GENESIS, AuditLog, AuditUnavailable, audit_table, row_digest

__all__ = ["ChainReport", "verify_chain"]

BATCH = 5_000


@dataclass(frozen=True)
class ChainReport:
    """What a walk of the chain found; ``problem`` is None when every row holds."""

    rows: int
    unchained: int
    head_id: int | None
    head_hash: str
    problem: str | None
    broken_id: int | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None


def verify_chain(log: AuditLog, key: bytes, *, anchor: str | None = None) -> ChainReport:
    """Walk the whole log in id order and name the first row that breaks the chain.

    Rows written before the chain existed (no ``row_hash``, all before the first
    chained row) are counted as ``unchained``. ``anchor`` is a head hash written
    down earlier: it must still be the hash of some row, else rows were removed
    from the end. Raises :class:`service.audit_log.AuditUnavailable` when the log
    cannot be read.
    """
    previous_id: int | None = None
    previous_hash = GENESIS
    chained = unchained = 0
    seen_anchor = anchor is None
    after = 0
    try:
        log._ensure_schema()
        with log.engine.connect() as connection:
            while True:
                batch = (
                    connection.execute(
                        select(audit_table)
                        .where(audit_table.c.id > after)
                        .order_by(audit_table.c.id)
                        .limit(BATCH)
                    )
                    .mappings()
                    .all()
                )
                if not batch:
                    break
                for row in batch:
                    row_id = int(row["id"])
                    after = row_id
                    if row["row_hash"] is None and chained == 0:
                        unchained += 1
                        previous_id = row_id
                        continue
                    problem = _check(
                        row, key, previous_id=previous_id if chained else None, previous_hash=previous_hash
                    )
                    if problem is not None:
                        return ChainReport(
                            chained + unchained, unchained, previous_id, previous_hash, problem, row_id
                        )
                    chained += 1
                    previous_id, previous_hash = row_id, str(row["row_hash"])
                    seen_anchor = seen_anchor or previous_hash == anchor
    except SQLAlchemyError as error:
        raise AuditUnavailable(type(error).__name__) from error
    if not seen_anchor:
        problem = f"the anchored head {anchor} is no longer in the log: rows after it were removed"
        return ChainReport(chained + unchained, unchained, previous_id, previous_hash, problem)
    return ChainReport(chained + unchained, unchained, previous_id, previous_hash, None)


def _check(row: object, key: bytes, *, previous_id: int | None, previous_hash: str) -> str | None:
    values = dict(row)  # type: ignore[call-overload]
    row_id = int(values["id"])
    if values["row_hash"] is None:
        return f"row {row_id} carries no hash (written or edited outside the service)"
    if previous_id is not None and row_id != previous_id + 1:
        missing = f"{previous_id + 1}" if row_id == previous_id + 2 else f"{previous_id + 1}-{row_id - 1}"
        return f"row {missing} missing: row {row_id} follows row {previous_id}"
    if values["prev_hash"] != previous_hash:
        if previous_id is None and previous_hash == GENESIS:
            return f"row {row_id} links to a row that is missing (the log's first rows were removed)"
        return f"row {row_id} does not link to row {previous_id} (a row between them was removed or edited)"
    if row_digest(key, values) != values["row_hash"]:
        return f"row {row_id} was edited: its content no longer matches its hash"
    return None
