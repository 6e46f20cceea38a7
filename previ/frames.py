"""Type checks for pandas objects that do not import pandas.

The serving process scores numpy arrays and single rows and must not load
pandas (about 40 MB and half a second per worker). Code that accepts either a
DataFrame or an array asks :func:`is_frame`: when pandas has never been
imported, nothing can be a DataFrame, so the answer costs a dict look-up.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TypeGuard

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["is_frame"]


def is_frame(value: object) -> TypeGuard[pd.DataFrame]:
    """True when ``value`` is a pandas DataFrame (without importing pandas)."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame)
