"""The shift audit: the same model on its own test data and on a shifted dataset, with drift per feature and
in the model's outputs, out-of-distribution detection, calibration and fairness on both, and a verdict."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from fmcore.errors import ConfigError

from .._options import opt
from .._result import AuditResult
from .._spec import CompareRow, as_is, register_audit
from ..groups import group_values, largest_gaps
from ..stats import wilson
from ._calibration import expected_calibration_error, logits_of
from ._corruption import sample_rows

#: built-in pairs: the dataset a model is shifted to when the user names none
DEFAULT_SHIFT = {"mnist": "digits", "digits": "mnist", "census_income_94": "census_income_95",
                 "census_income_95": "census_income_94"}
PSI_DRIFT = 0.1  # population stability index at which a shift counts as at least moderate


def psi(reference: np.ndarray, current: np.ndarray, edges: np.ndarray | None = None) -> float:
    """Population stability index over the reference's decile bins (numbers) or over the categories (labels)."""
    eps = 1e-4
    if edges is None:
        cats = sorted(set(reference) | set(current))
        a = np.array([np.mean(reference == c) for c in cats])
        b = np.array([np.mean(current == c) for c in cats])
    else:
        a = np.histogram(reference, edges)[0] / max(1, len(reference))
        b = np.histogram(current, edges)[0] / max(1, len(current))
    a, b = np.clip(a, eps, None), np.clip(b, eps, None)
    return float(np.sum((b - a) * np.log(b / a)))


def _numeric_drift(name: str, a: np.ndarray, b: np.ndarray) -> dict:
    from scipy.stats import ks_2samp

    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if len(a) == 0 or len(b) == 0:
        return {"feature": name, "kind": "numeric", "test": "none", "statistic": None, "p_value": None, "psi": None}
    edges = np.unique(np.quantile(a, np.linspace(0, 1, 11)))
    edges[0], edges[-1] = -np.inf, np.inf
    ks = ks_2samp(a, b)
    return {"feature": name, "kind": "numeric", "test": "Kolmogorov-Smirnov", "statistic": float(ks.statistic),
            "p_value": float(ks.pvalue), "psi": psi(a, b, edges) if len(edges) > 2 else 0.0,
            "in_domain": float(np.mean(a)), "shifted": float(np.mean(b))}


def _categorical_drift(name: str, a: np.ndarray, b: np.ndarray) -> dict:
    from scipy.stats import chi2_contingency

    cats = sorted(set(a) | set(b))
    table = np.array([[np.sum(a == c) for c in cats], [np.sum(b == c) for c in cats]])
    table = table[:, table.sum(0) > 0]
    stat, p = (0.0, 1.0) if table.shape[1] < 2 else chi2_contingency(table)[:2]
    new = sorted(set(b) - set(a))
    top_a = max(cats, key=lambda c: np.sum(a == c))
    return {"feature": name, "kind": "categorical", "test": "chi-square", "statistic": float(stat), "p_value": float(p),
            "psi": psi(a, b), "in_domain": f"{top_a} {np.mean(a == top_a):.1%}",
            "shifted": f"{top_a} {np.mean(b == top_a):.1%}" + (f"; new: {', '.join(new[:3])}" if new else "")}


def image_features(x: np.ndarray) -> dict[str, np.ndarray]:
    """Summary statistics of grey images that drift tests can compare: brightness, ink, position, size."""
    img = x[:, 0].astype(np.float64)
    n, h, w = img.shape
    mass = img.sum((1, 2)) + 1e-8
    ys, xs = np.mgrid[0:h, 0:w]
    cx, cy = (img * xs).sum((1, 2)) / mass, (img * ys).sum((1, 2)) / mass
    spread = np.sqrt((img * ((xs - cx[:, None, None]) ** 2 + (ys - cy[:, None, None]) ** 2)).sum((1, 2)) / mass)
    ink = img > 0.2
    cols, rows = ink.any(1), ink.any(2)
    width = np.where(cols.any(1), w - np.argmax(cols[:, ::-1], 1) - np.argmax(cols, 1), 0)
    height = np.where(rows.any(1), h - np.argmax(rows[:, ::-1], 1) - np.argmax(rows, 1), 0)
    return {"mean brightness": img.mean((1, 2)), "ink share (> 0.5)": (img > 0.5).mean((1, 2)),
            "centre x": cx, "centre y": cy, "ink spread": spread, "width (px)": width.astype(float),
            "height (px)": height.astype(float)}


def text_features(texts) -> dict[str, np.ndarray]:
    """Simple per-text features (length, word count, share of unknown tokens) for drift tests."""
    t = [str(s) for s in texts]
    chars = np.array([max(1, len(s)) for s in t], dtype=float)
    return {"characters": chars, "words": np.array([len(s.split()) for s in t], dtype=float),
            "upper-case share": np.array([sum(c.isupper() for c in s) for s in t]) / chars,
            "punctuation share": np.array([sum(not c.isalnum() and not c.isspace() for c in s) for s in t]) / chars,
            "digit share": np.array([sum(c.isdigit() for c in s) for s in t]) / chars}


def feature_drift(classifier, a, b) -> list[dict]:
    """One row per input feature (tables) or summary statistic (images, texts), with its drift test and PSI."""
    import pandas as pd

    if classifier.modality == "tabular":
        rows = []
        for col in classifier.meta["input"]["columns"]:
            if pd.api.types.is_numeric_dtype(a[col]) and pd.api.types.is_numeric_dtype(b[col]):
                rows.append(_numeric_drift(col, a[col].astype("float64").to_numpy(),
                                           b[col].astype("float64").to_numpy()))
            else:
                rows.append(_categorical_drift(col, group_values(a[col]), group_values(b[col])))
        return rows
    fa, fb = (image_features(a), image_features(b)) if classifier.modality == "image" else (text_features(a),
                                                                                              text_features(b))
    return [_numeric_drift(k, fa[k], fb[k]) for k in fa]


def _check_compatible(classifier, source, target) -> np.ndarray:
    """Target labels mapped onto the model's classes (by name); refuses data the model cannot take."""
    if target.spec.modality != classifier.modality:
        raise ConfigError(f"{target.name!r} holds {target.spec.modality} data; this model takes {classifier.modality} "
                          "data.")
    unknown = [c for c in target.spec.classes if c not in classifier.classes]
    if unknown:
        raise ConfigError(f"{target.name!r} has classes {unknown} that the model does not know (its classes: "
                          f"{classifier.classes}).")
    split = target["test"]
    if classifier.modality == "image" and tuple(split.X.shape[1:]) != tuple(source["test"].X.shape[1:]):
        raise ConfigError(f"{target.name!r} images are {split.X.shape[1:]}; the model takes "
                          f"{source['test'].X.shape[1:]}.")
    if classifier.modality == "tabular":
        missing = [c for c in classifier.meta["input"]["columns"] if c not in split.X.columns]
        if missing:
            raise ConfigError(f"{target.name!r} lacks the model's input column(s) {missing}: a shift audit needs "
                              "a dataset with the same columns.")
    return np.array([classifier.classes.index(c) for c in target.spec.classes])


def _difference(k1, n1, k2, n2) -> tuple[float, float, float]:
    """p1 - p2 with Newcombe's hybrid score interval (from the two Wilson intervals)."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1)
    l2, u2 = wilson(k2, n2)
    d = p1 - p2
    return d, d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def _auroc(inside: np.ndarray, outside: np.ndarray) -> tuple[float, list[dict]]:
    from sklearn.metrics import roc_auc_score, roc_curve

    labels = np.r_[np.ones(len(inside)), np.zeros(len(outside))]
    scores = np.r_[inside, outside]
    fpr, tpr, _ = roc_curve(labels, scores)
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), 60)).astype(int))
    return float(roc_auc_score(labels, scores)), [{"fpr": float(fpr[i]), "tpr": float(tpr[i])} for i in keep]


def _fairness(classifier, sides: dict, min_group: int) -> tuple[list[dict], dict]:
    """Per group and side: accuracy and selection rate (binary models); the largest DP gap per side."""
    rows, gaps = [], {}
    if len(classifier.classes) != 2:
        return rows, gaps
    for side, (split, pred, y) in sides.items():
        if split.groups is None:
            continue
        for col in split.groups.columns:
            values = group_values(split.groups[col])
            for g in sorted(set(values)):
                m = values == g
                rows.append({"attribute": col, "group": g, "domain": side, "n": int(m.sum()),
                             "accuracy": float((pred[m] == y[m]).mean()),
                             "selection_rate": float((pred[m] == 1).mean()), "too_small": int(m.sum()) < min_group})
        found = largest_gaps([r for r in rows if r["domain"] == side], "selection_rate",
                             judged=lambda r: not r["too_small"])
        if found:
            gaps[side] = max(gap for gap, _, _ in found.values())
    return rows, gaps


def _summary(result) -> dict:
    return {"drifted": [r["feature"] for r in result.tables["features"] if r["drifted"]],
            "features": result.tables["features"]}


def _headline(m: dict) -> str:
    from .._format import pct

    return f"accuracy {pct(m.get('in_domain_accuracy'))} → {pct(m.get('shift_accuracy'))} on {m.get('to')}"


def _figures(audit: dict) -> list:
    from .. import figures

    t = audit["tables"]
    return [("drift per feature", figures.drift_bars(t["features"] + t.get("outputs", [])))] \
        if t.get("features") else []


@dataclass
class ShiftOptions:
    """The shift audit's options (its flags, form and settings)."""
    to: str | None = opt(None, "the shifted dataset (default: the built-in partner, mnist <-> digits, "
                               "census_income_94 <-> census_income_95)")
    samples: int | None = opt(2000, "test examples per side (0 for all)", min=1, zero_is_none=True)
    seed: int = opt(0, "the seed of every random draw")
    split: str = opt("test", "the split audited", choices=("train", "val", "test"))
    min_group_size: int = opt(30, "groups smaller than this are flagged", min=1)
    bins: int = opt(15, "equal-width confidence bins of the calibration error", min=2)
    batch_size: int = opt(512, "rows per forward pass", min=1, setting=False)


#: Compare's rows for this audit
_COMPARE = (
    CompareRow("accuracy on shifted data", "shift_accuracy", True, True, radar=("accuracy on shifted data", as_is)),
)


@register_audit("shift", "Distribution shift",
                "The model on a shifted dataset against its own test data: accuracy, calibration and fairness on "
                "both, drift tests per input feature and in the model's outputs, and how well its confidence tells "
                "the two apart (out-of-distribution detection: maximum softmax and energy scores).",
                options=ShiftOptions, needs=("store",), requires=("predicts", "scores"),
                summary=_summary, headline=_headline, figures=_figures, compare=_COMPARE,
                order=65)
def shift(classifier, dataset, params: dict, progress=None, store=None, model_id=None) -> AuditResult:
    """The shift audit: accuracy and calibration on another dataset, drift per feature and output, OOD detection."""
    from fmcore.data import load_dataset

    started = time.perf_counter()
    to = params.get("to") or DEFAULT_SHIFT.get(dataset.name)
    if not to:
        raise ConfigError(f"Name the shifted dataset (--to NAME): {dataset.name!r} has no built-in partner. Built-in "
                          f"pairs: {', '.join(f'{a} -> {b}' for a, b in DEFAULT_SHIFT.items())}; or upload a CSV with "
                          "the same columns on the Data page.")
    if to == dataset.name:
        raise ConfigError(f"The shifted dataset must differ from the model's own ({dataset.name!r}).")
    target = load_dataset(to, store=store)
    mapping = _check_compatible(classifier, dataset, target)
    seed = int(params["seed"])
    a, _ = sample_rows(dataset[params["split"]], params.get("samples"), seed)
    b, _ = sample_rows(target["test"], params.get("samples"), seed)
    yb = mapping[b.y]
    if progress:
        progress(0.2, f"predicting on {dataset.name} and {to}")
    bs = int(params["batch_size"])
    la, pa = logits_of(classifier, a.X, a.groups, bs)
    lb, pb = logits_of(classifier, b.X, b.groups, bs)
    preda, predb = classifier.decide(pa), classifier.decide(pb)
    ka, kb = int((preda == a.y).sum()), int((predb == yb).sum())
    drop, drop_lo, drop_hi = _difference(ka, len(a), kb, len(b))
    if progress:
        progress(0.5, "drift tests")
    features = feature_drift(classifier, a.X, b.X)
    conf_a, conf_b = pa.max(1), pb.max(1)
    outputs = [_numeric_drift("confidence (max probability)", conf_a, conf_b),
               _categorical_drift("predicted class", np.array(classifier.classes)[preda].astype(str),
                                  np.array(classifier.classes)[predb].astype(str))]
    tests = features + outputs
    cutoff = 0.05 / max(1, len(tests))  # Bonferroni over every test of the audit
    for r in tests:
        r["drifted"] = bool(r["p_value"] is not None and r["p_value"] < cutoff and (r["psi"] or 0) >= PSI_DRIFT)
    from scipy.special import logsumexp

    auroc_msp, roc_msp = _auroc(conf_a, conf_b)
    auroc_energy, roc_energy = _auroc(logsumexp(la, axis=1), logsumexp(lb, axis=1))
    fair_rows, gaps = _fairness(classifier, {"in-domain": (a, preda, a.y), "shifted": (b, predb, yb)},
                                int(params["min_group_size"]))
    bins = int(params["bins"])
    per_class = [{"class": c, "in_domain": float((preda[a.y == k] == k).mean()) if (a.y == k).any() else None,
                  "shifted": float((predb[yb == k] == k).mean()) if (yb == k).any() else None,
                  "n_in_domain": int((a.y == k).sum()), "n_shifted": int((yb == k).sum())}
                 for k, c in enumerate(classifier.classes)]
    metrics = {"to": to, "in_domain_accuracy": ka / len(a), "shift_accuracy": kb / len(b), "accuracy_drop": drop,
               "accuracy_drop_ci_low": drop_lo, "accuracy_drop_ci_high": drop_hi,
               "ece_in_domain": expected_calibration_error(pa, a.y, bins),
               "ece_shifted": expected_calibration_error(pb, yb, bins),
               "confidence_in_domain": float(conf_a.mean()), "confidence_shifted": float(conf_b.mean()),
               "ood_auroc_msp": auroc_msp, "ood_auroc_energy": auroc_energy,
               "drifted_features": sum(r["drifted"] for r in features), "features_tested": len(features),
               "output_drift": bool(any(r["drifted"] for r in outputs)), "n_in_domain": len(a), "n_shifted": len(b)}
    metrics["shift_ci_low"], metrics["shift_ci_high"] = wilson(kb, len(b))
    if gaps:
        metrics["dp_gap_in_domain"], metrics["dp_gap_shifted"] = gaps.get("in-domain"), gaps.get("shifted")
    metrics["verdict"] = _verdict(metrics, dataset.name, features)
    warnings = [f"Only {n} examples on the {side} side: wide intervals." for side, n in
                (("in-domain", len(a)), ("shifted", len(b))) if n < 100]
    if auroc_msp < 0.6:
        warnings.append(f"The model's confidence barely tells {to} apart from its own data (AUROC {auroc_msp:.2f}): "
                        "it would not notice this shift at run time.")
    return AuditResult(
        audit="shift", model_id=None, dataset=dataset.name, params={**params, "to": to}, metrics=metrics,
        tables={"features": features, "outputs": outputs, "per_class": per_class, "fairness": fair_rows,
                "ood_roc": [{"score": "max softmax", **p} for p in roc_msp]
                + [{"score": "energy", **p} for p in roc_energy]},
        warnings=warnings, seed=seed, seconds=time.perf_counter() - started)


def _verdict(m: dict, source: str, features: list[dict]) -> str:
    drifted = sorted((r for r in features if r["drifted"]), key=lambda r: -(r["psi"] or 0))
    worst = f" (most: {drifted[0]['feature']}, PSI {drifted[0]['psi']:.2f})" if drifted else ""
    if m["accuracy_drop_ci_low"] > 0:
        change = (f"loses {m['accuracy_drop']:.1%} of accuracy [{m['accuracy_drop_ci_low']:.1%}, "
                  f"{m['accuracy_drop_ci_high']:.1%}]")
    elif m["accuracy_drop_ci_high"] < 0:
        change = f"does better by {-m['accuracy_drop']:.1%}"
    else:
        change = "keeps its accuracy (the difference is within the 95% interval)"
    conf = ("its confidence falls with it" if m["confidence_shifted"] < m["confidence_in_domain"] - 0.02
            else "yet its confidence does not fall: it is confidently wrong more often"
            if m["shift_accuracy"] < m["in_domain_accuracy"] - 0.02 else "its confidence is about the same")
    return (f"On {m['to']} the model is right {m['shift_accuracy']:.1%} of the time against "
            f"{m['in_domain_accuracy']:.1%} on {source}: it {change}; {conf}. {m['drifted_features']} of "
            f"{m['features_tested']} input features drifted{worst}. A detector on its maximum softmax tells the two "
            f"apart with AUROC {m['ood_auroc_msp']:.2f} (energy score {m['ood_auroc_energy']:.2f}).")
