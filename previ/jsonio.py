"""One JSON convention for everything previ writes (metrics, artifacts, cards).

It needs numpy only: a pandas ``Timestamp`` is a ``datetime``, hence a
``date``, so the serving process can write JSON without loading pandas.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np


def json_default(value: Any) -> Any:
    """``json.dumps(default=...)`` hook: numpy scalars and arrays, dates and paths; nothing else."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dt.date):  # datetime and pandas' Timestamp included
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")
