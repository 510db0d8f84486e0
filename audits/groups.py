"""Group labels for sensitive attributes: a missing value is a group of its own, never merged into another.

pandas 3 gives a missing value the code -1 in ``factorize`` (also after ``astype(str)``), and anything
indexed with those codes puts the missing rows on another group; every audit turns values into labels here.
"""

from __future__ import annotations

import numpy as np

MISSING = "(missing)"


def group_codes(values) -> tuple[np.ndarray, list[str]]:
    """Integer codes 0..k-1 and the group labels in sorted order: values grouped by value with their type
    normalised (1, 1.0, numpy's 1 and "1" are one group "1"); missing values (None, NaN, pandas NA) the group
    ``"(missing)"``, and a real value "(missing)" a group of its own ("'(missing)'"). Only the distinct values are
    turned into labels, so a million rows cost one factorisation."""
    import pandas as pd

    values = values.to_numpy() if isinstance(values, pd.Series | pd.Index) else values
    codes, uniques = pd.factorize(values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object),
                                  use_na_sentinel=True)
    labels = [_label(u) for u in uniques]
    if (codes < 0).any():
        codes = np.where(codes < 0, len(labels), codes)
        labels.append(MISSING)
    order = sorted(set(labels))
    index = {label: i for i, label in enumerate(order)}
    remap = np.array([index[label] for label in labels], dtype=np.int64)
    return (remap[codes] if len(codes) else codes.astype(np.int64)), order


def _label(value) -> str:
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    text = str(value)
    return f"'{MISSING}'" if text == MISSING else text


def group_values(values) -> np.ndarray:
    """Group labels as strings (``group_codes``' labels, one per row)."""
    codes, labels = group_codes(values)
    return np.asarray(labels, dtype=object)[codes].astype(str) if len(codes) else np.asarray([], dtype=str)


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
