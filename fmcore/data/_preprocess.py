"""Tabular preprocessing: standardise numeric columns, one-hot encode categorical ones.

Fitted on the training split only, saved as ``preprocess.json`` next to the model, and mirrored
row by row by ``fmcore.models.nets.encode_rows`` for exported models (a test checks they agree).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._spec import Feature

MAX_CATEGORIES = 30


@dataclass
class TabularPreprocessor:
    """Column-wise encoder; ``spec`` is the JSON-ready description saved with a model."""

    spec: dict

    @classmethod
    def fit(cls, frame, features: list[Feature], max_categories: int = MAX_CATEGORIES) -> TabularPreprocessor:
        """Learn scaling and one-hot categories from the training frame; returns self."""
        numeric, categorical = [], []
        for f in features:
            col = frame[f.name]
            if f.kind == "numeric":
                values = col.astype("float64")
                mean = float(values.mean()) if values.notna().any() else 0.0
                scale = float(values.std(ddof=0)) if values.notna().sum() > 1 else 1.0
                numeric.append({"name": f.name, "mean": mean, "scale": scale if scale > 0 else 1.0})
            else:
                counts = col.dropna().astype(str).value_counts(sort=True)
                # value_counts breaks ties by first appearance; sort ties by name for determinism
                top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:max_categories]
                categorical.append({"name": f.name, "categories": [k for k, _ in top]})
        return cls({"numeric": numeric, "categorical": categorical})

    @property
    def n_features(self) -> int:
        """Width of the encoded rows."""
        return len(self.spec["numeric"]) + sum(len(c["categories"]) for c in self.spec["categorical"])

    @property
    def feature_names(self) -> list[str]:
        """Names of the encoded columns (one per one-hot category)."""
        names = [c["name"] for c in self.spec["numeric"]]
        for c in self.spec["categorical"]:
            names += [f"{c['name']}={v}" for v in c["categories"]]
        return names

    def transform(self, frame) -> np.ndarray:
        """Encode a DataFrame of raw feature columns into a float32 matrix."""
        import pandas as pd

        n = len(frame)
        out = np.zeros((n, self.n_features), dtype=np.float32)
        j = 0
        for c in self.spec["numeric"]:
            values = pd.to_numeric(frame[c["name"]], errors="coerce").astype("float64").to_numpy()
            values = np.where(np.isnan(values), c["mean"], values)
            out[:, j] = (values - c["mean"]) / c["scale"]
            j += 1
        rows = np.arange(n)
        for c in self.spec["categorical"]:
            col = frame[c["name"]]
            codes = _category_codes(col, c["categories"])
            hit = codes >= 0
            out[rows[hit], j + codes[hit].astype(np.int64)] = 1.0
            j += len(c["categories"])
        return out


def _category_codes(col, categories: list[str]) -> np.ndarray:
    """Index of each value's ``str()`` in ``categories`` (-1 for missing or unknown values). Values are factorised
    first, so ``str`` runs once per distinct value; an object column holding other things than strings (1 and True
    are equal keys to a hash table, "1" and "True" are not) takes the slower value-by-value path."""
    import pandas as pd

    lookup = pd.Index(categories, dtype=object)
    if col.dtype == object and pd.api.types.infer_dtype(col, skipna=True) not in ("string", "empty"):
        as_str = col.astype(object).astype("string").to_numpy(dtype=object, na_value=None)
        return lookup.get_indexer(as_str)
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    mapped = lookup.get_indexer([str(v) for v in uniques])
    return np.where(codes >= 0, mapped[np.maximum(codes, 0)] if len(mapped) else -1, -1)
