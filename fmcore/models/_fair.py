"""Group-specific thresholds over a base model: the stored form of fairlearn's ThresholdOptimizer.

The rules are JSON (``rules.json``), never a pickle: for each group, with probability ``p0`` the
rule ``score op0 t0`` decides and with probability ``p1`` the rule ``score op1 t1``, where ``score``
is the base model's probability of the positive class (fairlearn's ``interpolation_dict``). The
base model is the parent's folder, referenced by a relative path (the store refuses to delete a
parent while children name it).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ._zoo import Classifier, register_kind


def group_keys(groups, columns: list[str]) -> np.ndarray:
    """One string per row naming its group over ``columns`` (joined with `` & `` for several)."""
    if groups is None:
        raise ConfigError(f"This model sets a threshold per group: it needs the sensitive column(s) {columns} "
                          "at prediction time.")
    missing = [c for c in columns if c not in groups.columns]
    if missing:
        raise ConfigError(f"Sensitive column(s) {missing} are missing; this model needs {columns} at prediction "
                          f"time (given: {list(groups.columns)}).")
    keys = groups[columns[0]].astype(str)
    for c in columns[1:]:
        keys = keys + " & " + groups[c].astype(str)
    return keys.to_numpy()


def _number(v) -> float:
    return float(v)  # accepts "inf" / "-inf" as written by rules_from_fairlearn


def _apply(op: str, threshold, scores: np.ndarray) -> np.ndarray:
    t = _number(threshold)
    return (scores > t) if op == ">" else (scores < t)


def threshold_pmf(scores: np.ndarray, keys: np.ndarray, rules: dict) -> np.ndarray:
    """Probability of the positive prediction per row (fairlearn's ``_pmf_predict``), from JSON rules."""
    unseen = sorted(set(np.unique(keys)) - set(rules))
    if unseen:
        raise ConfigError(f"Group(s) {unseen[:5]} were not seen when the thresholds were fitted; this model has "
                          f"thresholds for {sorted(rules)} only.")
    out = np.zeros(len(scores), dtype=np.float64)
    for group, r in rules.items():
        m = keys == group
        s = scores[m]
        v = r["p0"] * _apply(r["op0"], r["t0"], s) + r["p1"] * _apply(r["op1"], r["t1"], s)
        if "p_ignore" in r:
            v = r["p_ignore"] * r["constant"] + (1 - r["p_ignore"]) * v
        out[m] = v
    return out


def rules_from_fairlearn(interpolation_dict: dict) -> dict:
    """fairlearn's fitted ``interpolation_dict`` as plain JSON-ready numbers and strings."""
    rules = {}
    for group, b in interpolation_dict.items():
        r = {"p0": float(b.p0), "op0": b.operation0.operator, "t0": repr(float(b.operation0.threshold)),
             "p1": float(b.p1), "op1": b.operation1.operator, "t1": repr(float(b.operation1.threshold))}
        if "p_ignore" in b:
            r.update(p_ignore=float(b.p_ignore), constant=float(b.prediction_constant))
        rules[str(group)] = r
    return rules


@register_kind("group_threshold")
class GroupThresholdClassifier(Classifier):
    """A base classifier whose positive decision uses a (randomized) threshold per sensitive group."""

    needs_groups = True

    def __init__(self, base: Classifier, rules: dict, meta: dict):
        super().__init__(base.model, base.net, meta, base.preprocess, base.tokenizer)
        self.base, self.rules = base, rules

    @property
    def sensitive(self) -> list[str]:
        """The sensitive columns its thresholds are chosen by."""
        return list(self.meta["sensitive"])

    def logits(self, inputs, batch_size: int = 512):
        """The parent's logits (the thresholds act on its scores)."""
        raise ConfigError("A group-threshold model has no logits of its own: use predict_proba(X, groups=...).")

    def predict_proba(self, X, batch_size: int = 512, groups=None) -> np.ndarray:
        """Class probabilities after each group's threshold (needs ``groups``)."""
        keys = group_keys(groups, self.sensitive)
        pos = int(self.meta["randomized"]["positive"])
        base = self.base.predict_proba(X, batch_size, groups=groups)
        p = threshold_pmf(base[:, pos], keys, self.rules)
        out = np.empty((len(p), 2))
        out[:, pos], out[:, 1 - pos] = p, 1 - p
        return out

    def save(self, folder: str | Path) -> None:
        """Write the parent's weights and the per-group rules to ``folder``."""
        folder = Path(folder)
        (folder / "rules.json").write_text(json.dumps(self.rules, indent=2, sort_keys=True))
        (folder / "fmaudit.json").write_text(json.dumps(self.meta, indent=2))

    @staticmethod
    def offers_from(meta: dict) -> frozenset:
        """Labels and scores; thresholds per group have no gradients and no weights of their own."""
        return frozenset({"predicts", "labels", "scores"} | ({"images"} if meta.get("modality") == "image" else set()))

    @classmethod
    def load(cls, folder: Path, meta: dict) -> GroupThresholdClassifier:
        """Load a saved group-threshold classifier from ``folder``."""
        base = Classifier.load((folder / meta["base_rel"]).resolve())
        return cls(base, json.loads((folder / "rules.json").read_text()), meta)
