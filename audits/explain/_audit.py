"""The explanation audit: attributions for a seeded sample of test examples, each method checked (sanity,
faithfulness, stability) before it is shown; for tables, global importance and sensitive-attribute proxies."""

from __future__ import annotations

import time

import numpy as np
import torch

from fmcore.errors import ConfigError, FmauditError

from .._result import AuditResult
from .._spec import register_audit
from ..stats import bootstrap_interval
from ._attribution import METHODS, attribute, methods_for
from ._checks import curve_area, deletion_curve, randomised_copy, rank_correlation

DEFAULT_METHOD = {"image": "integrated_gradients", "tabular": "shap"}


def _feature_groups(classifier) -> tuple[list[str], np.ndarray]:
    """Original feature names, and for each encoded column the index of the feature it belongs to."""
    spec = classifier.preprocess.spec
    names = [c["name"] for c in spec["numeric"]] + [c["name"] for c in spec["categorical"]]
    groups = list(range(len(spec["numeric"])))
    for i, c in enumerate(spec["categorical"]):
        groups += [len(spec["numeric"]) + i] * len(c["categories"])
    return names, np.asarray(groups)


def _units(attr: np.ndarray, groups: np.ndarray | None, n_units: int) -> np.ndarray:
    """Attributions per unit: per pixel for images, summed over each original feature's columns for tables."""
    flat = attr.reshape(len(attr), -1)
    if groups is None:
        return flat
    out = np.zeros((len(attr), n_units))
    np.add.at(out.T, groups, flat.T)
    return out


def _association(feature, group) -> float:
    """How much of a sensitive attribute a feature carries, 0 to 1: Cramér's V for a categorical feature, the
    correlation ratio (eta) for a numeric one."""
    import pandas as pd

    frame = pd.DataFrame({"f": feature, "g": group}).dropna()
    if frame["g"].nunique() < 2 or frame["f"].nunique() < 2:
        return 0.0
    if pd.api.types.is_numeric_dtype(frame["f"]):
        total = ((frame["f"] - frame["f"].mean()) ** 2).sum()
        between = frame.groupby("g", observed=True)["f"].agg(["mean", "count"])
        between = (between["count"] * (between["mean"] - frame["f"].mean()) ** 2).sum()
        return float(np.sqrt(between / total)) if total > 0 else 0.0
    from scipy.stats import chi2_contingency

    table = pd.crosstab(frame["f"].astype(str), frame["g"].astype(str))
    chi2 = chi2_contingency(table, correction=False)[0]
    k = min(table.shape) - 1
    return float(np.sqrt(chi2 / (len(frame) * k))) if k > 0 else 0.0


def _proxies(dataset, importance: dict[str, float], threshold: float, min_share: float) -> list[dict]:
    """Each feature's association with each sensitive attribute (on the training split), with the model's reliance
    on it; a proxy is flagged when the association and the reliance are both high."""
    from ..groups import group_values

    train = dataset["train"]
    rows = []
    for sensitive in dataset.spec.sensitive:
        group = group_values(train.groups[sensitive])
        for feature in train.X.columns:
            strength = _association(train.X[feature], group)
            share = importance.get(feature, 0.0)
            rows.append({"feature": str(feature), "sensitive": sensitive, "strength": round(strength, 4),
                         "importance_share": round(share, 4), "flagged": bool(strength >= threshold
                                                                              and share >= min_share)})
    return sorted(rows, key=lambda r: -r["strength"] * (0.5 + r["importance_share"]))


def _permutation_importance(classifier, X, y, repeats: int, seed: int) -> list[dict]:
    """Accuracy lost when one feature's values are shuffled across the sample, with the range over ``repeats``."""
    base = float((classifier.predict(X) == y).mean())
    rng = np.random.default_rng(seed)
    out = []
    for col in X.columns:
        drops = []
        for _ in range(repeats):
            shuffled = X.copy()
            shuffled[col] = X[col].to_numpy()[rng.permutation(len(X))]
            drops.append(base - float((classifier.predict(shuffled) == y).mean()))
        out.append({"feature": str(col), "permutation_importance": float(np.mean(drops)),
                    "low": float(np.min(drops)), "high": float(np.max(drops))})
    return out


def _table_findings(classifier, dataset, part, units, names, params, seed) -> tuple[dict, dict, list[str]]:
    """For tables: global importance (attribution share, permutation importance) and sensitive-attribute proxies;
    returns (tables, metrics, warnings) to add to the result."""
    share = np.abs(units).mean(0)
    share = share / share.sum() if share.sum() > 0 else share
    importance = dict(zip(names, share.tolist(), strict=True))
    perm = {r["feature"]: r for r in _permutation_importance(classifier, part.X, part.y,
                                                             int(params["permutation_repeats"]), seed)}
    tables = {"importance": sorted([{"feature": f, "mean_abs_attribution_share": importance[f],
                                     **{k: v for k, v in perm.get(f, {}).items() if k != "feature"}}
                                    for f in names], key=lambda r: -r["mean_abs_attribution_share"])}
    metrics, warnings = {"top_feature": tables["importance"][0]["feature"] if names else None}, []
    if dataset.spec.sensitive:
        proxies = _proxies(dataset, importance, float(params["proxy_threshold"]), float(params["proxy_importance"]))
        tables["proxies"] = proxies
        flagged = [p for p in proxies if p["flagged"]]
        metrics["max_proxy_strength"] = max((p["strength"] for p in proxies), default=0.0)
        metrics["proxies_flagged"] = len(flagged)
        warnings = [f"{p['feature']} carries {p['sensitive']} (association {p['strength']:.2f}) and the model leans "
                    f"on it ({p['importance_share']:.0%} of the attribution): a proxy for {p['sensitive']}."
                    for p in flagged]
    return tables, metrics, warnings


def _gallery(classifier, attr, x, y, target, rows, k: int) -> list[dict]:
    """The first ``k`` explained images with their attribution maps (absolute, scaled to 0-1 per image)."""
    k = min(k, len(x))
    heat = np.abs(attr[:k]).sum(1)
    heat = heat / np.maximum(heat.reshape(k, -1).max(1), 1e-12)[:, None, None]
    return [{"index": int(rows[i]), "label": classifier.classes[int(y[i])],
             "predicted": classifier.classes[int(target[i])], "image": np.round(x[i, 0].numpy(), 2).tolist(),
             "attribution": np.round(heat[i], 3).tolist()} for i in range(k)]


def _verdict(method: str, m: dict) -> str:
    title = method.replace("_", " ")
    if not m["sanity_passed"]:
        return (f"{title} FAILS its sanity check: its attributions barely change when the model's weights are "
                f"replaced by random ones (rank correlation {m['sanity_rank_correlation']:.2f}), so they describe the "
                "input or the architecture, not what this model learned. Do not read them as explanations.")
    faithful = ("deleting the features it ranks highest lowers the model's confidence faster than a random order "
                f"(area {m['deletion_auc']:.3f} against {m['random_deletion_auc']:.3f})" if m["faithful"] else
                "but its ranking is not measurably more faithful than a random order (deletion area "
                f"{m['deletion_auc']:.3f} against {m['random_deletion_auc']:.3f})")
    return (f"{title} passes its sanity check (rank correlation with a randomised model "
            f"{m['sanity_rank_correlation']:.2f}); {faithful}; stability under small noise "
            f"{m['stability']:.2f} (1 is perfectly stable).")


@register_audit("explain", "Explanations",
                "Attributions (Captum integrated gradients, saliency, occlusion; SHAP for tables) for a seeded sample "
                "of test examples, each method checked before it is shown: model-parameter randomisation (sanity), "
                "deletion curves against a random order (faithfulness) and noise (stability); for tables, global "
                "importance, permutation importance and the sensitive-attribute proxies the model leans on.",
                {"method": None, "samples": 50, "seed": 0, "steps": 10, "sanity_threshold": 0.5, "noise": 0.05,
                 "proxy_threshold": 0.5, "proxy_importance": 0.05, "examples": 8, "permutation_repeats": 5,
                 "background": 100, "n_boot": 1000})
def explain(classifier, dataset, params: dict, progress=None) -> AuditResult:
    """The explanation audit: attributions with their sanity, faithfulness and stability checks, and proxies."""
    started = time.perf_counter()
    modality = classifier.modality
    if modality == "text":
        raise ConfigError("Explanations of text models (token attributions) are not built yet; explain an image or "
                          "tabular model.")
    if classifier.needs_groups:
        raise FmauditError("This model adds per-group thresholds to its parent's scores; explain the parent.")
    method = params["method"] or DEFAULT_METHOD[modality]
    if method not in methods_for(modality):
        raise ConfigError(f"{method} does not apply to {modality} models; choose one of "
                          f"{', '.join(methods_for(modality))}.")
    seed = int(params["seed"])
    rng = np.random.default_rng(seed)
    test = dataset["test"]
    rows = np.sort(rng.choice(len(test), min(int(params["samples"]), len(test)), replace=False))
    part = test.take(rows)
    x = classifier.encode(part.X).float()
    net = classifier.net.eval()
    with torch.no_grad():
        target = net(x).argmax(-1)
    background = None
    names, groups = (None, None)
    if modality == "tabular":
        names, groups = _feature_groups(classifier)
        train = dataset["train"]
        pick = rng.choice(len(train), min(int(params["background"]), len(train)), replace=False)
        background = classifier.encode(train.take(np.sort(pick)).X).float()
    n_units = len(names) if names else int(np.prod(x.shape[1:]))

    def report(fraction, message):
        if progress:
            progress(fraction, message)

    report(0.05, f"{method} on {len(x)} test examples")
    attr = attribute(method, net, x, target, background)
    units = _units(attr, groups, n_units)
    report(0.35, "sanity check: the same method on a randomised copy of the network")
    rand_units = _units(attribute(method, randomised_copy(net, seed), x, target, background), groups, n_units)
    # signed methods are compared signed (their sign is part of the claim); saliency is a magnitude by definition.
    # The magnitude-only correlation is reported beside it: an input-times-gradient method keeps the input's shape
    # whatever the weights (Adebayo et al., 2018), which that number shows.
    sanity = rank_correlation(units, rand_units, absolute=method == "saliency")
    sanity_abs = rank_correlation(units, rand_units, absolute=True)
    report(0.55, "faithfulness: deletion curves, the method's order against a random one")
    baseline = background.mean(0) if background is not None else torch.zeros(x.shape[1:])
    order = np.argsort(-units, axis=1, kind="stable")
    random_order = np.stack([rng.permutation(n_units) for _ in range(len(x))])
    steps = int(params["steps"])
    curve = deletion_curve(net, x, target, order, groups, baseline, steps)
    random_curve = deletion_curve(net, x, target, random_order, groups, baseline, steps)
    aucs, random_aucs = curve_area(curve), curve_area(random_curve)
    n_boot = int(params["n_boot"])
    d_lo, d_hi = bootstrap_interval(aucs, n_boot, seed)
    r_lo, r_hi = bootstrap_interval(random_aucs, n_boot, seed)
    gain_lo, _ = bootstrap_interval(random_aucs - aucs, n_boot, seed)
    report(0.7, "stability under small input noise")
    noise = torch.from_numpy(rng.normal(0, float(params["noise"]), size=tuple(x.shape)).astype(np.float32))
    if modality == "image":
        noisy = (x + noise).clamp(0, 1)
    else:
        numeric = torch.zeros(x.shape[1], dtype=torch.bool)
        numeric[: len(classifier.preprocess.spec["numeric"])] = True
        noisy = torch.where(numeric, x + noise, x)
    stability = rank_correlation(units, _units(attribute(method, net, noisy, target, background), groups, n_units),
                                 absolute=method == "saliency")
    metrics = {"method": method, "n": int(len(x)), "sanity_rank_correlation": float(np.mean(sanity)),
               "sanity_rank_correlation_magnitude": float(np.mean(sanity_abs)),
               "sanity_passed": bool(np.mean(sanity) < float(params["sanity_threshold"])),
               "deletion_auc": float(aucs.mean()), "deletion_auc_ci_low": d_lo, "deletion_auc_ci_high": d_hi,
               "random_deletion_auc": float(random_aucs.mean()), "random_deletion_auc_ci_low": r_lo,
               "random_deletion_auc_ci_high": r_hi, "faithful": bool(gain_lo > 0),
               "stability": float(np.mean(stability))}
    fractions = np.linspace(0, 1, steps + 1)
    tables = {"curves": [{"fraction": float(f), "method": float(a), "random": float(b)}
                         for f, a, b in zip(fractions, curve.mean(0), random_curve.mean(0), strict=True)],
              "methods": [{"method": method, "description": METHODS[method][0], **{k: metrics[k] for k in (
                  "sanity_rank_correlation", "sanity_rank_correlation_magnitude", "sanity_passed", "deletion_auc",
                  "random_deletion_auc", "faithful", "stability")}}]}
    warnings = []
    if modality == "tabular":
        report(0.8, "global importance, permutation importance and proxies")
        found, more, warned = _table_findings(classifier, dataset, part, units, names, params, seed)
        tables.update(found)
        metrics.update(more)
        warnings += warned
    else:
        tables["examples"] = _gallery(classifier, attr, x, part.y, target, rows, int(params["examples"]))
    if not metrics["sanity_passed"]:
        warnings.insert(0, f"{method} failed its sanity check: do not read its attributions as explanations.")
    metrics["verdict"] = _verdict(method, metrics)
    return AuditResult(audit="explain", model_id=None, dataset=dataset.name,
                       params={**params, "method": method, "rows": rows.tolist()}, metrics=metrics, tables=tables,
                       warnings=warnings, seed=seed, seconds=time.perf_counter() - started)
