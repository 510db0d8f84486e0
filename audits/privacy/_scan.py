"""De-identification check of a dataset: direct identifiers in columns and texts, and k-anonymity.

The detectors (``fmcore.pii``: regular expressions with validation where one exists, a person-name
heuristic) plus column-name hints. Examples are masked before they leave this module: the scan never
shows an identifier in full.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from fmcore.errors import ConfigError
from fmcore.pii import NAME_HINTS, find, mask


def _columns(dataset) -> dict[str, pd.Series]:
    cols: dict[str, pd.Series] = {}
    for split in ("train", "val", "test"):
        part = dataset[split]
        if isinstance(part.X, pd.DataFrame):
            frames = [part.X]
        elif dataset.spec.modality == "text":
            frames = [pd.DataFrame({"text": np.asarray(part.X, dtype=object)})]
        else:
            frames = []
        if part.groups is not None and len(part.groups.columns):
            frames.append(part.groups.reset_index(drop=True).add_prefix("sensitive:"))
        for frame in frames:
            for c in frame.columns:
                cols.setdefault(c, []).append(frame[c].reset_index(drop=True))
    return {c: pd.concat(parts, ignore_index=True) for c, parts in cols.items()}


def scan_dataset(dataset, quasi_identifiers: list[str] | None = None, k: int = 5, **kw) -> dict:
    """Scan a loaded dataset (every split, features and sensitive columns)."""
    rows = int(sum(len(dataset[s]) for s in ("train", "val", "test")))
    return scan_columns(dataset.name, _columns(dataset), rows, quasi_identifiers, k, **kw)


def scan_csv(path, quasi_identifiers: list[str] | None = None, k: int = 5, max_bytes: int = 500 * 2**20,
             **kw) -> dict:
    """Scan a CSV file as it is, every column (also those a model would drop), before or after upload."""
    from pathlib import Path

    path = Path(path)
    if path.stat().st_size > max_bytes:
        raise ConfigError(f"{path.name} is {path.stat().st_size / 2**20:.0f} MB; the scan reads at most "
                          f"{max_bytes / 2**20:.0f} MB.")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding_errors="replace")
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{path.name} could not be read as CSV: {exc}") from None
    columns = {c: frame[c] for c in frame.columns}
    return scan_columns(path.stem, columns, len(frame), quasi_identifiers, k, **kw)


def scan_columns(name: str, columns: dict[str, pd.Series], rows: int, quasi_identifiers: list[str] | None = None,
                 k: int = 5, max_examples: int = 3, max_rows: int | None = 200_000) -> dict:
    """Scan every text-like column for identifiers and measure k-anonymity over ``quasi_identifiers``."""
    started = time.perf_counter()
    findings = []
    # a column named like an identifier whose values are nearly unique per row is a direct identifier
    hints = [c for c, v in columns.items() if NAME_HINTS.search(c.replace("sensitive:", ""))
             and v.nunique() > 0.5 * len(v)]
    for column, series in columns.items():
        values = series if max_rows is None else series.iloc[:max_rows]
        numeric = values.dtype.kind in "biuf" or pd.to_numeric(values, errors="coerce").notna().mean() > 0.99
        if numeric and not NAME_HINTS.search(column):
            continue  # plain numbers: quasi-identifiers at most, judged by k-anonymity below
        counts: dict[str, int] = {}
        examples: dict[str, list[str]] = {}
        rows_with: dict[str, int] = {}
        for text, times in values.dropna().astype(str).value_counts(sort=False).items():
            seen = set()
            for kind, match in find(text):
                counts[kind] = counts.get(kind, 0) + int(times)
                if kind not in seen:
                    rows_with[kind] = rows_with.get(kind, 0) + int(times)
                    seen.add(kind)
                if len(examples.setdefault(kind, [])) < max_examples:
                    examples[kind].append(mask(kind, match))
        for kind, count in sorted(counts.items()):
            findings.append({"column": column, "kind": kind, "count": count, "values_with": rows_with[kind],
                             "examples": examples[kind]})
    result = {"dataset": name, "rows": rows, "columns_scanned": len(columns), "findings": findings,
              "identifier_columns": hints, "total_identifiers": int(sum(f["count"] for f in findings))}
    result["k_anonymity"] = k_anonymity(columns, quasi_identifiers, k) if quasi_identifiers else None
    result["seconds"] = time.perf_counter() - started
    return result


def k_anonymity(columns: dict[str, pd.Series], quasi: list[str], k: int = 5) -> dict:
    """Size of the smallest group of rows sharing all quasi-identifier values, and who is below ``k``."""
    if k < 2:
        raise ConfigError(f"k must be at least 2; got {k}.")
    names = {c.replace("sensitive:", ""): c for c in columns}
    missing = [q for q in quasi if q not in columns and q not in names]
    if missing:
        raise ConfigError(f"Quasi-identifier column(s) {missing} are not in the dataset; columns: "
                          f"{sorted(names)}.")
    frame = pd.DataFrame({q: columns[q if q in columns else names[q]].astype(str) for q in quasi})
    sizes = frame.groupby(quasi, sort=False).size()
    below = sizes[sizes < k]
    smallest = sizes.sort_values().head(10)
    return {"quasi_identifiers": quasi, "k": int(sizes.min()), "threshold": k, "classes": int(len(sizes)),
            "rows_below_threshold": int(below.sum()), "share_below_threshold": float(below.sum() / len(frame)),
            "classes_below_threshold": int(len(below)),
            "size_histogram": {str(s): int(n) for s, n in sizes.value_counts().sort_index().head(20).items()},
            "smallest": [{"values": " | ".join(map(str, (i if isinstance(i, tuple) else (i,)))), "size": int(s)}
                         for i, s in smallest.items()]}


def scan(name: str, store=None, quasi_identifiers: list[str] | None = None, k: int = 5) -> dict:
    """Scan a dataset by name: an uploaded one from its stored CSV (every column, as uploaded), a built-in
    one as loaded."""
    record = store.get_dataset(name) if store is not None else None
    if record:
        result = scan_csv(store.dataset_file(name), quasi_identifiers, k)  # checked: inside the store, unchanged
        result["dataset"] = name
        return result
    from fmcore.data import load_dataset

    return scan_dataset(load_dataset(name, store=store), quasi_identifiers, k)
