"""Recourse for tables: for people the model refuses, the smallest realistic change to their own row that turns
the decision, and for each group the share of refused people who have one and what it costs them.

Realistic means: sensitive and immutable features never change, a categorical feature takes only a category the
model was trained on, a numeric feature only a value inside its training range (integers stay integers). The
search is a beam search over changes to one, then two, then up to ``max_changes`` features, scored in batches by
the model itself; the cost is the sum over changed features of |change| / the feature's interquartile range
(numbers; Wachter et al.'s MAD-scaled distance, robust to long tails) or 1 (a category). Every counterfactual is
checked afterwards, row by row, by code that does not share the search's: it flips the decision and changes
nothing it may not. Unequal recourse between groups is a fairness finding."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from fmcore.errors import ConfigError

from ..groups import group_values, largest_gaps
from ..stats import wilson


def _options(train: pd.DataFrame, classifier, frozen: set[str], tail: float = 0.02) -> dict[str, dict]:
    """Per mutable feature: the values a change may take and the scale of a numeric change. Numbers move on a
    grid of training quantiles between ``tail`` and ``1 - tail``: a change that lands a person where almost nobody
    is (capital gains of 99,999) is valid data but not a realistic recourse."""
    categorical = {c["name"]: list(c["categories"]) for c in classifier.preprocess.spec["categorical"]}
    out = {}
    for col in train.columns:
        if col in frozen:
            continue
        if col in categorical:
            out[col] = {"kind": "category", "values": categorical[col]}
            continue
        values = pd.to_numeric(train[col], errors="coerce").dropna().to_numpy(float)
        if not len(values):
            continue
        grid = np.unique(np.quantile(values, np.linspace(tail, 1 - tail, 21)))
        integer = bool(np.all(values == np.round(values)))
        q1, q3 = np.quantile(values, [0.25, 0.75])
        scale = float(q3 - q1) or float(values.std()) or 1.0
        out[col] = {"kind": "number", "values": np.unique(np.round(grid)) if integer else grid, "scale": scale,
                    "integer": integer, "lo": float(values.min()), "hi": float(values.max())}
    return out


def _step_cost(option: dict, old, new) -> float:
    if option["kind"] == "category":
        return 1.0
    if old is None or pd.isna(old):
        return 1.0
    return abs(float(new) - float(old)) / option["scale"]


def _singles(row: pd.Series, options: dict) -> list[tuple[str, object, float]]:
    """Every one-feature change to ``row``: (feature, new value, cost)."""
    out = []
    for col, opt in options.items():
        old = row[col]
        for v in opt["values"]:
            v = v if opt["kind"] == "category" else (int(v) if opt["integer"] else float(v))
            if opt["kind"] == "category" and str(v) == str(old):
                continue
            if opt["kind"] == "number" and not pd.isna(old) and float(v) == float(old):
                continue
            out.append((col, v, _step_cost(opt, old, v)))
    return out


def _frame(frame: pd.DataFrame, owners: list[int], changes: list[dict]) -> pd.DataFrame:
    """Rows ``frame.iloc[owners]`` with each row's ``changes`` applied."""
    out = frame.iloc[owners].reset_index(drop=True).copy()
    for col in {c for ch in changes for c in ch}:
        mask = np.array([col in ch for ch in changes])
        values = out[col].to_numpy(dtype=object, copy=True)
        values[mask] = [ch[col] for ch in changes if col in ch]
        out[col] = pd.to_numeric(values) if pd.api.types.is_numeric_dtype(out[col]) else values
    return out


def search(classifier, frame: pd.DataFrame, favourable: int, options: dict, max_changes: int,
           beam: int) -> list[dict | None]:
    """For each row of ``frame`` (all refused), the cheapest change found that makes ``favourable`` the most
    probable class: ``{"changes": {feature: value}, "cost": c, "probability": p}``, or None when none is found."""
    singles = [_singles(frame.iloc[i], options) for i in range(len(frame))]
    best: list[dict | None] = [None] * len(frame)
    frontier = [[({}, 0.0)] for _ in range(len(frame))]
    for _ in range(max_changes):
        owners, changes, costs = [], [], []
        for i, states in enumerate(frontier):
            seen = set()
            for state, cost in states:
                for col, v, c in singles[i]:
                    if col in state or (best[i] and cost + c >= best[i]["cost"]):
                        continue
                    new = {**state, col: v}
                    key = tuple(sorted((k, str(x)) for k, x in new.items()))
                    if key not in seen:
                        seen.add(key)
                        owners.append(i)
                        changes.append(new)
                        costs.append(cost + c)
        if not owners:
            break
        proba = classifier.predict_proba(_frame(frame, owners, changes))
        flips = proba.argmax(1) == favourable
        score = proba[:, favourable]
        frontier = [[] for _ in range(len(frame))]
        by_owner: dict[int, list[int]] = {}
        for j, i in enumerate(owners):
            if flips[j]:
                if best[i] is None or costs[j] < best[i]["cost"]:
                    best[i] = {"changes": changes[j], "cost": costs[j], "probability": float(score[j])}
            else:
                by_owner.setdefault(i, []).append(j)
        for i, js in by_owner.items():  # keep the candidates that moved the score furthest per unit of cost
            js = sorted(js, key=lambda j: -(score[j] / (costs[j] + 1e-9)))[:beam]
            frontier[i] = [(changes[j], costs[j]) for j in js]
    return best


def verify(classifier, frame: pd.DataFrame, found: list[dict | None], favourable: int, frozen: set[str],
           options: dict) -> dict:
    """Checks of every counterfactual, independent of the search: its row predicts ``favourable``; no frozen
    (sensitive or immutable) feature changed; categories are known ones; numbers are in the training range and
    integers where the feature is."""
    report = {"flips": True, "frozen_unchanged": True, "valid_values": True}
    rows = [(i, f) for i, f in enumerate(found) if f]
    if not rows:
        return report
    changed = frame.iloc[[i for i, _ in rows]].reset_index(drop=True).copy()
    for col in {c for _, f in rows for c in f["changes"]}:  # written cell by cell, not with the search's _frame
        for k, (_, f) in enumerate(rows):
            if col in f["changes"]:
                if pd.api.types.is_numeric_dtype(changed[col]):
                    changed[col] = changed[col].astype(float)
                else:
                    changed[col] = changed[col].astype(object)
                changed.at[k, col] = f["changes"][col]
    report["flips"] = bool((classifier.predict_proba(changed).argmax(1) == favourable).all())
    original = frame.iloc[[i for i, _ in rows]].reset_index(drop=True)
    for col in frozen & set(frame.columns):
        same = (original[col].astype(str) == changed[col].astype(str)) | (original[col].isna() & changed[col].isna())
        report["frozen_unchanged"] &= bool(same.all())
    for _, f in rows:
        for col, v in f["changes"].items():
            opt = options[col]
            if opt["kind"] == "category":
                report["valid_values"] &= v in opt["values"]
            else:
                report["valid_values"] &= opt["lo"] <= float(v) <= opt["hi"] and (
                    not opt["integer"] or float(v).is_integer())
    return report


def _per_group(refused_groups: pd.DataFrame, found: list[dict | None], min_size: int) -> list[dict]:
    has = np.array([f is not None for f in found])
    cost = np.array([f["cost"] if f else np.nan for f in found])
    out = []
    for sensitive in refused_groups.columns:
        labels = group_values(refused_groups[sensitive])
        for g in sorted(set(labels)):
            sel = labels == g
            n, k = int(sel.sum()), int(has[sel].sum())
            lo, hi = wilson(k, n)
            out.append({"sensitive": sensitive, "group": g, "refused": n, "with_recourse": k, "share": k / n,
                        "share_ci_low": lo, "share_ci_high": hi,
                        "mean_cost": float(np.nanmean(cost[sel])) if k else None, "small": n < min_size})
    return out


#: a feature named like this is a person's age: no one can change it to turn a decision
AGE = re.compile(r"(^|[_\W])age($|[_\W])", re.IGNORECASE)


def held_fixed(dataset, columns, extra: list[str], proxies: list[dict]) -> dict[str, str]:
    """The features recourse may never change, each with why: the sensitive attributes, age, what the dataset or
    the user declares immutable, and the detected proxies of a sensitive attribute (changing an honorific or a
    district is changing who someone is said to be)."""
    held = {c: "a sensitive attribute" for c in dataset.spec.sensitive}
    held.update({c: "age: no one can change it" for c in columns if AGE.search(str(c)) and c not in held})
    held.update({c: "declared immutable by the dataset" for c in dataset.spec.immutable if c not in held})
    held.update({c: "declared immutable by you" for c in extra if c and c not in held})
    for p in proxies:
        if p["feature"] not in held:
            held[p["feature"]] = f"a proxy for {p['sensitive']} (association {p['strength']:.2f})"
    return held


def recourse(classifier, dataset, params: dict, rng: np.random.Generator,
             proxies: list[dict] = ()) -> tuple[dict, dict, list[str]]:
    """Counterfactuals for a seeded sample of refused test rows, their checks, and recourse per group, every
    feature of ``held_fixed`` unchanged (``proxies``: features strongly associated with a sensitive attribute):
    returns (tables, metrics, warnings) to add to the explanation audit's result."""
    classes = classifier.classes
    favourable = params["favourable"] if params["favourable"] is not None else classes[-1]
    if favourable not in classes:
        raise ConfigError(f"favourable {favourable!r} is not a class; classes: {classes}.")
    fav = classes.index(favourable)
    extra = params["immutable"] or []
    extra = [c.strip() for c in extra.split(",")] if isinstance(extra, str) else list(extra)
    train, test = dataset["train"], dataset["test"]
    held = held_fixed(dataset, list(test.X.columns), extra, list(proxies))
    frozen, held_rows = set(held), [{"feature": c, "why": why} for c, why in held.items()]
    unknown = [c for c in extra if c and c not in test.X.columns]
    if unknown:
        raise ConfigError(f"immutable: no such feature {', '.join(unknown)}; features: {', '.join(test.X.columns)}.")
    refused = np.flatnonzero(classifier.predict_proba(test.X).argmax(1) != fav)
    if not len(refused):
        return {"recourse_held_fixed": held_rows}, {"recourse_refused": 0, "frozen_features": sorted(frozen)}, []
    pick = np.sort(rng.permutation(refused)[: int(params["recourse_samples"])])
    frame = test.X.iloc[pick].reset_index(drop=True)
    options = _options(train.X, classifier, frozen, float(params["recourse_tail"]))
    found = search(classifier, frame, fav, options, int(params["recourse_max_changes"]), int(params["recourse_beam"]))
    checks = verify(classifier, frame, found, fav, frozen, options)
    groups = test.groups.iloc[pick].reset_index(drop=True) if test.groups is not None else pd.DataFrame()
    per_group = _per_group(groups, found, int(params["min_group_size"])) if len(groups.columns) else []
    examples = [{"index": int(pick[i]), "cost": round(f["cost"], 4), "probability": round(f["probability"], 4),
                 **{f"group:{c}": str(groups.iloc[i][c]) for c in groups.columns},
                 "changes": [{"feature": c, "from": plain_value(frame.iloc[i][c]), "to": plain_value(v)}
                             for c, v in f["changes"].items()]} if f else
                {"index": int(pick[i]), "cost": None, "changes": []} for i, f in enumerate(found)]
    has = [f is not None for f in found]
    metrics = {"recourse_favourable": favourable, "recourse_refused": len(pick), "recourse_share": float(np.mean(has)),
               "recourse_mean_cost": float(np.mean([f["cost"] for f in found if f])) if any(has) else None,
               "recourse_checked": all(checks.values()), "recourse_checks": checks, "frozen_features": sorted(frozen)}
    warnings = []
    for sensitive, (gap, hi, lo) in largest_gaps(per_group, "share", "sensitive", lambda r: not r["small"]).items():
        metrics.setdefault("recourse_share_gap", {})[sensitive] = gap
        if gap >= float(params["recourse_gap"]):
            warnings.append(f"Unequal recourse by {sensitive}: {hi['share']:.0%} of refused {hi['group']} can turn "
                            f"the decision with a realistic change, {lo['share']:.0%} of refused {lo['group']}.")
    metrics["max_recourse_share_gap"] = max(metrics.get("recourse_share_gap", {}).values(), default=None)
    if not metrics["recourse_checked"]:
        warnings.append(f"A counterfactual failed its independent check ({checks}); recourse figures are not "
                        "trustworthy: report this.")
    return {"recourse": examples, "recourse_by_group": per_group, "recourse_held_fixed": held_rows}, metrics, warnings


def plain_value(value):
    """A value as JSON can hold it (numpy scalars to Python, missing to None)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value
