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


def largest_gaps(rows: list[dict], key: str, column: str = "attribute", judged=None) -> dict:
    """Per attribute (``row[column]``): the gap between the largest and the smallest ``row[key]`` among its groups
    that are ``judged`` (large enough, say) and have a value, as ``(gap, highest row, lowest row)``; attributes with
    fewer than two such groups are left out. The one gap helper of the calibration, shift and recourse figures."""
    out = {}
    for col in dict.fromkeys(r[column] for r in rows):
        kept = [r for r in rows if r[column] == col and r.get(key) is not None and (judged is None or judged(r))]
        if len(kept) >= 2:
            hi, lo = max(kept, key=lambda r: r[key]), min(kept, key=lambda r: r[key])
            out[col] = (hi[key] - lo[key], hi, lo)
    return out
