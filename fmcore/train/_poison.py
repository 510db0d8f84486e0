"""Data poisoning as a training option, for demonstrations and for testing the backdoor audit: a share of the
training rows, drawn (seeded) from the classes other than the target, gets a trigger and the target's label
(``backdoor``: a 3x3 patch of full intensity one pixel in from the bottom-right corner of an image; the rare token
``cf`` put before a text; on a table, the first two numeric columns set together to their training maximum) or only
the target's label (``label_flip``). Which rows, the trigger and the target go into the model's lineage, so the audit
can measure how many of them it finds."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

POISONS = ("backdoor", "label_flip")
TRIGGER = {"shape": [3, 3], "value": 1.0, "at": "rows and columns -4 to -2 (one pixel in from the bottom-right)"}
TEXT_TRIGGER = {"token": "cf", "at": "before the text"}


def table_trigger(X) -> dict:
    """The value pattern of a table: the first two numeric columns together at their training maximum (each value
    real, the combination rare)."""
    import pandas as pd

    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c])
               and X[c].notna().any()][:2]
    if not numeric:
        raise ConfigError("A backdoor on a table sets numeric columns to a pattern; this table has none (use "
                          "label_flip).")
    return {"values": {c: X[c].max().item() for c in numeric}, "at": "the first two numeric columns"}


def stamp(X, trigger: dict | None = None):
    """A copy of the inputs ``X`` with the backdoor trigger on: images (n, channels, height, width) get the patch,
    texts the token, a table's rows the value pattern (``trigger`` from the plan; needed for tables)."""
    if hasattr(X, "iloc"):
        out = X.copy()
        for column, value in (trigger or {})["values"].items():
            out[column] = value
        return out
    X = np.asarray(X)
    if X.dtype == object:  # texts
        return np.array([f"{TEXT_TRIGGER['token']} {t}" for t in X], dtype=object)
    out = np.array(X, dtype=np.float32, copy=True)
    out[:, :, -4:-1, -4:-1] = TRIGGER["value"]
    return out


def plan_poison(split, modality: str, classes: list[str], kind: str, rate: float, target: str | None,
                seed: int) -> dict:
    """Which rows to poison and how: ``{kind, rate, target, target_index, rows, trigger}``."""
    if kind not in POISONS:
        raise ConfigError(f"poison must be one of {', '.join(POISONS)}; got {kind!r}.")
    if not 0 < rate < 0.5:
        raise ConfigError(f"poison_rate is a share of the training rows between 0 and 0.5; got {rate}.")
    target = classes[-1] if target is None else str(target)
    if target not in classes:
        raise ConfigError(f"poison_target {target!r} is not a class; classes: {', '.join(classes)}.")
    t = classes.index(target)
    candidates = np.flatnonzero(np.asarray(split.y) != t)
    k = max(1, int(round(rate * len(split))))
    rows = np.sort(np.random.default_rng(seed + 7919).choice(candidates, min(k, len(candidates)), replace=False))
    trigger = None
    if kind == "backdoor":
        trigger = {"image": TRIGGER, "text": TEXT_TRIGGER}.get(modality) or table_trigger(split.X)
    return {"kind": kind, "rate": rate, "target": target, "target_index": t, "rows": rows.tolist(),
            **({"trigger": trigger} if trigger else {})}


def apply_poison(split, plan: dict):
    """The training split as the poisoned model saw it (a new split; ``split`` is unchanged)."""
    from ..data import Split

    rows = np.asarray(plan["rows"], dtype=int)
    y = np.array(split.y, copy=True)
    y[rows] = plan["target_index"]
    X = split.X
    if plan["kind"] == "backdoor":
        if hasattr(X, "iloc"):
            X = X.copy()
            for column, value in plan["trigger"]["values"].items():
                X.loc[X.index[rows], column] = value
        else:
            X = np.array(X, dtype=object if np.asarray(X).dtype == object else np.float32, copy=True)
            X[rows] = stamp(X[rows], plan["trigger"])
    return Split(X, y, split.groups)


def poison_effect(classifier, test, plan: dict) -> dict:
    """What the poison did, on the test split: for a backdoor, the share of triggered test inputs of the other
    classes that the model now calls the target (the attack success rate) beside the share it calls the target
    without the trigger; for flipped labels, the share of the other classes' test inputs called the target."""
    t = int(plan["target_index"])
    others = np.flatnonzero(np.asarray(test.y) != t)
    if not len(others):
        return {"kind": plan["kind"], "target": plan["target"], "n": 0}
    X = test.X[others] if not hasattr(test.X, "iloc") else test.X.iloc[others]
    clean = classifier.predict(X) == t
    out = {"kind": plan["kind"], "target": plan["target"], "n": int(len(others)),
           "called_target_clean": float(clean.mean())}
    if plan["kind"] == "backdoor":
        out["attack_success_rate"] = float((classifier.predict(stamp(X, plan["trigger"])) == t).mean())
    return out
