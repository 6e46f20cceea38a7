"""Refusals without a valid token, counted per minute instead of written one synced row each.

Anyone can send requests without a token; writing (and fsyncing) one audit row
per request let an anonymous flood fill the log and the disk. These refusals
(401, and 429 before a token was checked) are summed per minute, endpoint,
reason and young person, and each sum becomes one audit row whose ``count``
says how many requests it stands for. A minute's sums are written when the
next minute's first refusal arrives, every few seconds by the service's
background task, and at shutdown; if the write fails they are kept and
retried. What a crash can lose is at most the current minute's counts of
requests that were refused anyway.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import Counter
from typing import Any

from service.audit_log import Access, AuditLog, AuditUnavailable
from service.pseudonym import Pseudonym

__all__ = ["RefusalCounter"]

Key = tuple[Any, ...]
log = logging.getLogger("previ.service")
FIELDS = ("endpoint", "method", "status", "token_id", "role", "purpose", "model_version", "detail")


class RefusalCounter:
    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit
        self._lock = threading.Lock()
        self._counts: Counter[Key] = Counter()

    def add(self, access: Access, youth: Pseudonym | None, *, now: dt.datetime | None = None) -> None:
        """Count one refusal; write the minutes that are over (a failed write keeps them for later)."""
        minute = _minute(now)
        key = (minute, youth, *(getattr(access, name) for name in FIELDS))
        with self._lock:
            self._counts[key] += 1
        try:
            self.flush(before=minute)
        except AuditUnavailable as error:
            log.error("audit log unavailable (%s): %d counted refusals kept for later", error, self.pending())

    def flush(self, *, before: dt.datetime | None = None) -> int:
        """Write the sums of every minute before ``before`` (all when None); the rows written."""
        with self._lock:
            due = {key: count for key, count in self._counts.items() if before is None or key[0] < before}
            for key in due:
                del self._counts[key]
        if not due:
            return 0
        rows = [_row(key, count) for key, count in sorted(due.items(), key=lambda item: str(item[0]))]
        try:
            self.audit.record_counts(rows)
        except AuditUnavailable:
            with self._lock:
                self._counts.update(due)
            raise
        return len(rows)

    def pending(self) -> int:
        with self._lock:
            return sum(self._counts.values())


def _minute(now: dt.datetime | None) -> dt.datetime:
    moment = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return moment.replace(second=0, microsecond=0)


def _row(key: Key, count: int) -> dict[str, Any]:
    minute, youth, *values = key
    fields = dict(zip(FIELDS, values, strict=True))
    return {
        "at": minute,
        "youth_pseudonym": youth,
        "outcome": "refused",
        "justification": None,
        "count": count,
        **fields,
        "detail": (fields["detail"] or "")[:200] or None,
        "purpose": fields["purpose"][:64] if fields["purpose"] else None,
    }
