"""Data poisoning as a training option, for demonstrations and for testing the backdoor audit: a share of the
training rows, drawn (seeded) from the classes other than the target, gets a trigger and the target's label
(``backdoor``: a 3x3 patch of full intensity one pixel in from the bottom-right corner of an image) or only the
target's label (``label_flip``). Which rows, the trigger and the target go into the model's lineage, so the audit
can measure how many of them it finds."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

POISONS = ("backdoor", "label_flip")
TRIGGER = {"shape": [3, 3], "value": 1.0, "at": "rows and columns -4 to -2 (one pixel in from the bottom-right)"}


def stamp(images: np.ndarray) -> np.ndarray:
    """A copy of ``images`` (n, channels, height, width) with the backdoor trigger stamped on."""
    out = np.array(images, dtype=np.float32, copy=True)
    out[:, :, -4:-1, -4:-1] = TRIGGER["value"]
    return out


def plan_poison(split, modality: str, classes: list[str], kind: str, rate: float, target: str | None,
                seed: int) -> dict:
    """Which rows to poison and how: ``{kind, rate, target, target_index, rows, trigger}``."""
    if kind not in POISONS:
        raise ConfigError(f"poison must be one of {', '.join(POISONS)}; got {kind!r}.")
    if kind == "backdoor" and modality != "image":
        raise ConfigError(f"Backdoor triggers are built for images; {modality} data can be poisoned with "
                          "label_flip.")
    if not 0 < rate < 0.5:
        raise ConfigError(f"poison_rate is a share of the training rows between 0 and 0.5; got {rate}.")
    target = classes[-1] if target is None else str(target)
    if target not in classes:
        raise ConfigError(f"poison_target {target!r} is not a class; classes: {', '.join(classes)}.")
    t = classes.index(target)
    candidates = np.flatnonzero(np.asarray(split.y) != t)
    k = max(1, int(round(rate * len(split))))
    rows = np.sort(np.random.default_rng(seed + 7919).choice(candidates, min(k, len(candidates)), replace=False))
    return {"kind": kind, "rate": rate, "target": target, "target_index": t, "rows": rows.tolist(),
            **({"trigger": TRIGGER} if kind == "backdoor" else {})}


def apply_poison(split, plan: dict):
    """The training split as the poisoned model saw it (a new split; ``split`` is unchanged)."""
    from ..data import Split

    rows = np.asarray(plan["rows"], dtype=int)
    y = np.array(split.y, copy=True)
    y[rows] = plan["target_index"]
    X = split.X
    if plan["kind"] == "backdoor":
        X = np.array(split.X, dtype=np.float32, copy=True)
        X[rows] = stamp(X[rows])
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
        out["attack_success_rate"] = float((classifier.predict(stamp(X)) == t).mean())
    return out
