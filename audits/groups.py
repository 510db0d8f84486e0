"""Group labels for sensitive attributes: a missing value is a group of its own, never merged into another.

pandas 3 gives a missing value the code -1 in ``factorize`` (also after ``astype(str)``), and anything
indexed with those codes puts the missing rows on another group; every audit turns values into labels here.
"""

from __future__ import annotations

import numpy as np

MISSING = "(missing)"


def group_values(values) -> np.ndarray:
    """Group labels as strings; missing values (None, NaN, pandas NA) become ``"(missing)"``."""
    import pandas as pd

    s = pd.Series(values).astype(object)
    return s.where(s.notna(), MISSING).astype(str).to_numpy()


def missing_counts(frame, columns) -> dict[str, int]:
    """Missing values per column, for the columns that have any."""
    out = {c: int(frame[c].isna().sum()) for c in columns}
    return {c: n for c, n in out.items() if n}
