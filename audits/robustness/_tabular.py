"""Valid tabular attacks: adversarial rows that could exist.

Attacks run in the encoded space (standardised numbers, one-hot categories). Left alone they produce
rows that cannot exist: a category at 0.2, an age of 37.4 years, a sensitive attribute changed. Here
the attack may only move mutable features (a mask at every step), and each adversarial row is then
projected back onto real rows: every one-hot group is one category again, integer features are whole
numbers (rounded towards the original, so the change stays within epsilon), values stay in the range
seen in training, and immutable features keep their original values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class TableConstraints:
    """Where each feature lives in the encoded row and what it may do."""

    names: list[str]  # encoded column names
    numeric: list[dict]  # index, name, mean, scale, integer, lo, hi, immutable
    blocks: list[dict]  # start, stop, name, categories, immutable
    immutable: list[str]

    def mask(self, width: int) -> np.ndarray:
        """1 where the attack may change the encoded row, 0 on immutable features."""
        m = np.ones(width, dtype=np.float32)
        for c in self.numeric:
            if c["immutable"]:
                m[c["index"]] = 0
        for b in self.blocks:
            if b["immutable"]:
                m[b["start"]:b["stop"]] = 0
        return m

    def project(self, adv: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Adversarial encoded rows turned into rows that could exist (see the module docstring)."""
        out = adv.astype(np.float64).copy()
        for c in self.numeric:
            j = c["index"]
            if c["immutable"]:
                out[:, j] = x[:, j]
                continue
            before = x[:, j] * c["scale"] + c["mean"]
            after = np.clip(out[:, j] * c["scale"] + c["mean"], c["lo"], c["hi"])
            if c["integer"]:
                after = np.round(before) + np.trunc(after - np.round(before))  # towards the original
            out[:, j] = (after - c["mean"]) / c["scale"]
        for b in self.blocks:
            part = out[:, b["start"]:b["stop"]]
            orig = x[:, b["start"]:b["stop"]]
            if b["immutable"]:
                out[:, b["start"]:b["stop"]] = orig
                continue
            hot = np.zeros_like(part)
            hot[np.arange(len(part)), part.argmax(1)] = 1.0
            known = orig.sum(1) > 0  # a row whose category was not among the encoded ones keeps its zeros
            out[:, b["start"]:b["stop"]] = np.where(known[:, None], hot, orig)
        return out.astype(np.float32)

    def changes(self, x_row: np.ndarray, adv_row: np.ndarray) -> list[dict]:
        """What changed in one row, in the data's own units and categories."""
        out = []
        for c in self.numeric:
            j = c["index"]
            before, after = (float(x_row[j] * c["scale"] + c["mean"]), float(adv_row[j] * c["scale"] + c["mean"]))
            if abs(after - before) > 1e-6 * max(1.0, abs(before)):
                if c["integer"]:
                    before, after = round(before), round(after)
                out.append({"feature": c["name"], "before": before, "after": after, "change": after - before})
        for b in self.blocks:
            o, a = x_row[b["start"]:b["stop"]], adv_row[b["start"]:b["stop"]]
            if not np.array_equal(o, a):
                out.append({"feature": b["name"], "before": b["categories"][int(o.argmax())] if o.sum() else "(other)",
                            "after": b["categories"][int(a.argmax())], "change": None})
        return sorted(out, key=lambda r: -abs(r["change"] or 0))


def table_constraints(classifier, train_frame, immutable=()) -> TableConstraints:
    """The constraints of a tabular classifier's encoding, with integer features and ranges from ``train_frame``."""
    import pandas as pd

    spec = classifier.preprocess.spec
    immutable = [c for c in immutable]
    numeric, blocks, j = [], [], 0
    for c in spec["numeric"]:
        v = pd.to_numeric(train_frame[c["name"]], errors="coerce").dropna().to_numpy(dtype=np.float64)
        numeric.append({"index": j, "name": c["name"], "mean": c["mean"], "scale": c["scale"],
                        "integer": bool(len(v) and np.all(v == np.round(v))),
                        "lo": float(v.min()) if len(v) else -np.inf, "hi": float(v.max()) if len(v) else np.inf,
                        "immutable": c["name"] in immutable})
        j += 1
    for c in spec["categorical"]:
        blocks.append({"start": j, "stop": j + len(c["categories"]), "name": c["name"],
                       "categories": list(c["categories"]), "immutable": c["name"] in immutable})
        j += len(c["categories"])
    return TableConstraints(classifier.preprocess.feature_names, numeric, blocks, immutable)


def is_valid(constraints: TableConstraints, adv: np.ndarray, x: np.ndarray) -> dict:
    """Independent checks of adversarial rows: one category per group, integers, ranges, immutables unchanged."""
    report = {"one_category": True, "integers": True, "in_range": True, "immutable_unchanged": True}
    for b in constraints.blocks:
        part = adv[:, b["start"]:b["stop"]]
        known = x[:, b["start"]:b["stop"]].sum(1) > 0
        ok = np.isin(part, (0.0, 1.0)).all(1) & (part.sum(1) == 1)
        report["one_category"] &= bool(ok[known].all())
        if b["immutable"]:
            report["immutable_unchanged"] &= bool(np.array_equal(part, x[:, b["start"]:b["stop"]]))
    for c in constraints.numeric:
        v = adv[:, c["index"]].astype(np.float64) * c["scale"] + c["mean"]
        if c["integer"]:
            report["integers"] &= bool(np.allclose(v, np.round(v), atol=1e-3))
        report["in_range"] &= bool((v >= c["lo"] - 1e-3).all() and (v <= c["hi"] + 1e-3).all())
        if c["immutable"]:
            report["immutable_unchanged"] &= bool(np.array_equal(adv[:, c["index"]], x[:, c["index"]]))
    return report
