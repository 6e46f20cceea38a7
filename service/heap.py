"""Keep the garbage collector's full passes off a serving worker's request path.

A loaded worker holds about 150,000 long-lived objects (FastAPI, pydantic,
SQLAlchemy, MLflow's client from the registry load, the model's tables). A full
collection walks all of them: 51 ms, measured on the 2-core machine, a stall that
every request in flight on that worker waits out. Under load the collector runs
one every few seconds, which put the 99th percentile of ``POST /v1/scores`` at
28-43 ms for a median of 6-7 ms.

After start-up and after each model swap, :func:`settle_heap` collects once and
then freezes what survives (``gc.freeze``): frozen objects are left out of
later passes, which then walk only what requests allocate. Unfreezing first
lets the previous model's cycles be collected, so repeated reloads do not pile
up frozen garbage. Only serving processes call it (``service.asgi``): in a test
run the full pass over the test process's objects would cost more than it saves.
"""

from __future__ import annotations

import gc

__all__ = ["settle_heap"]


def settle_heap() -> None:
    """Collect everything once, then exempt the survivors from later collections."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
