"""The explanation audit: attributions for a seeded sample of test examples, each method checked (sanity,
faithfulness, stability) before it is shown; for tables, global importance and sensitive-attribute proxies."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from fmcore.errors import ConfigError, FmauditError

from .._options import opt
from .._result import AuditResult
from .._spec import register_audit
from ..stats import bootstrap_interval
from ._attribution import METHODS, attribute, methods_for
from ._checks import curve_area, deletion_curve, randomised_copy, rank_correlation
from ._recourse import plain_value, recourse
from ._text import (
    eligible_tokens,
    embedding_noise,
    fanned_attributions,
    pad_baseline,
    text_gallery,
    token_deletion_curve,
    token_layer,
)

DEFAULT_METHOD = {"image": "integrated_gradients", "tabular": "shap", "text": "layer_integrated_gradients"}


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


def _proxies(dataset, importance: dict[str, float], threshold: float, min_share: float, max_rows: int,
             seed: int) -> list[dict]:
    """Each feature's association with each sensitive attribute (on the training split, or a seeded sample of
    ``max_rows`` of it), with the model's reliance on it; a proxy is flagged when both are high."""
    from ..groups import group_values

    train = dataset["train"]
    if len(train) > max_rows:
        train = train.take(np.sort(np.random.default_rng(seed).choice(len(train), max_rows, replace=False)))
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


def _group_attributions(part, units: np.ndarray, names: list[str], min_size: int) -> tuple[list[dict], dict]:
    """Mean attribution of each feature per group of each sensitive attribute (in the explained sample), and per
    attribute how strongly the attributions themselves carry group membership (the largest correlation ratio over
    features: 0 when every group is explained alike)."""
    from ..groups import group_values

    rows, strength = [], {}
    for sensitive in part.groups.columns:
        labels = group_values(part.groups[sensitive])
        for g in sorted(set(labels)):
            sel = labels == g
            rows += [{"sensitive": sensitive, "group": g, "n": int(sel.sum()), "feature": f,
                      "mean_attribution": float(units[sel, j].mean()), "small": int(sel.sum()) < min_size}
                     for j, f in enumerate(names)]
        strength[sensitive] = max((_association(units[:, j], labels) for j in range(len(names))), default=0.0)
    return rows, strength


def _table_examples(classifier, part, units, target, rows, names, k: int) -> list[dict]:
    """The first ``k`` explained rows: each feature's value in its original units and its attribution."""
    return [{"index": int(rows[i]), "label": classifier.classes[int(part.y[i])],
             "predicted": classifier.classes[int(target[i])],
             "features": sorted([{"feature": f, "value": plain_value(part.X.iloc[i][f]),
                                  "attribution": float(units[i, j])} for j, f in enumerate(names)],
                                key=lambda r: -abs(r["attribution"]))}
            for i in range(min(k, len(part)))]


def _table_findings(classifier, dataset, part, ev, params, report) -> tuple[dict, dict, list[str]]:
    """For tables: per-prediction attributions, global importance (attribution share, permutation importance),
    sensitive-attribute proxies, attributions per group and recourse; returns (tables, metrics, warnings)."""
    units, names, seed = ev["units"], ev["names"], int(params["seed"])
    share = np.abs(units).mean(0)
    share = share / share.sum() if share.sum() > 0 else share
    importance = dict(zip(names, share.tolist(), strict=True))
    perm = {r["feature"]: r for r in _permutation_importance(classifier, part.X, part.y,
                                                             int(params["permutation_repeats"]), seed)}
    tables = {"importance": sorted([{"feature": f, "mean_abs_attribution_share": importance[f],
                                     **{k: v for k, v in perm.get(f, {}).items() if k != "feature"}}
                                    for f in names], key=lambda r: -r["mean_abs_attribution_share"]),
              "rows": _table_examples(classifier, part, units, ev["target"], params["rows_explained"], names,
                                      int(params["examples"]))}
    metrics, warnings, proxies = {"top_feature": tables["importance"][0]["feature"] if names else None}, [], []
    if dataset.spec.sensitive:
        proxies = _proxies(dataset, importance, float(params["proxy_threshold"]), float(params["proxy_importance"]),
                           int(params["proxy_rows"]), seed)
        tables["proxies"] = proxies
        flagged = [p for p in proxies if p["flagged"]]
        metrics["max_proxy_strength"] = max((p["strength"] for p in proxies), default=0.0)
        metrics["proxies_flagged"] = len(flagged)
        warnings = [f"{p['feature']} carries {p['sensitive']} (association {p['strength']:.2f}) and the model leans "
                    f"on it ({p['importance_share']:.0%} of the attribution): a proxy for {p['sensitive']}."
                    for p in flagged]
        tables["group_attributions"], metrics["attribution_group_association"] = _group_attributions(
            part, units, names, int(params["min_group_size"]))
    if params["recourse"] and len(classifier.classes) >= 2:
        report(0.9, "recourse: the smallest realistic change that turns each refusal")
        strong = [p for p in proxies if p["strength"] >= float(params["proxy_threshold"])]  # held fixed in recourse
        found, more, warned = recourse(classifier, dataset, params, np.random.default_rng(seed), strong)
        tables.update(found)
        metrics.update(more)
        warnings += warned
    return tables, metrics, warnings


def _gallery(classifier, attr, x, y, target, rows, k: int) -> list[dict]:
    """The first ``k`` explained images with their attribution maps (absolute, scaled to 0-1 per image)."""
    k = min(k, len(x))
    heat = np.abs(attr[:k]).sum(1)
    heat = heat / np.maximum(heat.reshape(k, -1).max(1), 1e-12)[:, None, None]
    return [{"index": int(rows[i]), "label": classifier.classes[int(y[i])],
             "predicted": classifier.classes[int(target[i])], "image": np.round(x[i, 0].numpy(), 2).tolist(),
             "attribution": np.round(heat[i], 3).tolist()} for i in range(k)]


#: fewer attributed features than this and a rank correlation cannot tell a model from a random one (with two
#: features it is +1 or -1 whatever the weights)
MIN_RANKED = 4


def _verdict(method: str, m: dict) -> str:
    title = method.replace("_", " ")
    if m.get("sanity_measurable") is False:
        return (f"{title} cannot be checked on this model: it has {m['features_ranked']} features, too few for a rank "
                "correlation to tell its attributions from a randomised model's. Not trustworthy here: read the "
                "model's own coefficients or the permutation importance instead.")
    if not m["sanity_passed"]:
        which = [f"{kind} rank correlation {m[key]:.2f}" for kind, key in (
            ("signed", "sanity_rank_correlation"), ("magnitude", "sanity_rank_correlation_magnitude"))
            if m[key] >= m["sanity_threshold"]]
        return (f"{title} FAILS its sanity check: its attributions barely change when the model's weights are "
                f"replaced by random ones ({' and '.join(which)}, at or above {m['sanity_threshold']:g}), so they "
                "describe the input or the architecture (a digit's strokes, say), not what this model learned. Do "
                "not read them as explanations.")
    faithful = ("deleting the features it ranks highest lowers the model's confidence faster than a random order "
                f"(area {m['deletion_auc']:.3f} against {m['random_deletion_auc']:.3f})" if m["faithful"] else
                "but its ranking is not measurably more faithful than a random order (deletion area "
                f"{m['deletion_auc']:.3f} against {m['random_deletion_auc']:.3f})")
    return (f"{title} passes its sanity check (rank correlation with a randomised model "
            f"{m['sanity_rank_correlation']:.2f} signed, {m['sanity_rank_correlation_magnitude']:.2f} in magnitude); "
            f"{faithful}; stability under small noise "
            f"{m['stability']:.2f} (1 is perfectly stable).")


def _select_rows(classifier, test, params: dict, rng: np.random.Generator) -> np.ndarray:
    """The test rows to explain: given ``rows``, else ``samples`` of them chosen by ``select``: a seeded random
    sample, the misclassified ones, or the least confident (smallest margin between the two top classes)."""
    n = min(int(params["samples"]), len(test))
    if params.get("rows"):
        rows = np.unique(np.asarray(params["rows"], dtype=int))
        if rows.min() < 0 or rows.max() >= len(test):
            raise ConfigError(f"Test rows go from 0 to {len(test) - 1}; got {rows.min()} to {rows.max()}.")
        return rows
    select = params.get("select") or "random"
    if select not in SELECTIONS:
        raise ConfigError(f"select must be one of {', '.join(SELECTIONS)}; got {select!r}.")
    if select == "random":
        return np.sort(rng.choice(len(test), n, replace=False))
    proba = classifier.predict_proba(test.X, groups=test.groups)
    if select == "misclassified":
        wrong = np.flatnonzero(proba.argmax(1) != test.y)
        if not len(wrong):
            raise FmauditError("The model gets every test example right: there is no misclassified one to explain.")
        return np.sort(wrong[np.argsort(-proba[wrong].max(1), kind="stable")][:n])  # the most confident errors
    top2 = np.sort(proba, axis=1)[:, -2:]
    return np.sort(np.argsort(top2[:, 1] - top2[:, 0], kind="stable")[:n])


SELECTIONS = ("random", "misclassified", "least_confident")


def _dense_evidence(classifier, dataset, part, method: str, params: dict, rng, report) -> dict:
    """Attributions of images or tables with the arrays the checks read (trained, randomised, noisy; curves)."""
    seed, modality = int(params["seed"]), classifier.modality
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
    report(0.05, f"{method} on {len(x)} test examples")
    attr = attribute(method, net, x, target, background, seed=seed)
    units = _units(attr, groups, n_units)
    report(0.35, "sanity check: the same method on a randomised copy of the network")
    rand = attribute(method, randomised_copy(net, seed), x, target, background, seed=seed)
    rand_units = _units(rand, groups, n_units)
    report(0.55, "faithfulness: deletion curves, the method's order against a random one")
    baseline = background.mean(0) if background is not None else torch.zeros(x.shape[1:])
    order = np.argsort(-units, axis=1, kind="stable")
    random_order = np.stack([rng.permutation(n_units) for _ in range(len(x))])
    steps = int(params["steps"])
    curve = deletion_curve(net, x, target, order, groups, baseline, steps)
    random_curve = deletion_curve(net, x, target, random_order, groups, baseline, steps)
    report(0.7, "stability under small input noise")
    noise = torch.from_numpy(rng.normal(0, float(params["noise"]), size=tuple(x.shape)).astype(np.float32))
    if modality == "image":
        noisy = (x + noise).clamp(0, 1)
    else:
        numeric = torch.zeros(x.shape[1], dtype=torch.bool)
        numeric[: len(classifier.preprocess.spec["numeric"])] = True
        noisy = torch.where(numeric, x + noise, x)
    noisy_units = _units(attribute(method, net, noisy, target, background, seed=seed), groups, n_units)
    return {"attr": attr, "units": units, "rand_units": rand_units, "noisy_units": noisy_units, "mask": None,
            "curve": curve, "random_curve": random_curve, "target": target, "x": x, "names": names}


def _text_evidence(classifier, part, params: dict, rng, report) -> dict:
    """Token attributions of texts (layer integrated gradients) with the arrays the checks read."""
    seed, steps, ig_steps = int(params["seed"]), int(params["steps"]), int(params["ig_steps"])
    ids, mask = classifier.encode(part.X)
    net, tok = classifier.net.eval(), classifier.tokenizer
    with torch.no_grad():
        target = net(ids, mask).argmax(-1)
    eligible = eligible_tokens(ids, mask, tok)
    baseline = pad_baseline(ids, eligible, tok)
    noise = embedding_noise(net, (*ids.shape, token_layer(net).weight.shape[1]), float(params["noise"]), rng)
    found = fanned_attributions(net, randomised_copy(net, seed), ids, mask, target, baseline, noise, ig_steps, seed,
                                progress=lambda f, msg: report(0.05 + 0.5 * f, f"{msg} (trained, randomised for the "
                                                                               "sanity check, noisy for stability)"))
    units, rand_units = found["trained"], found["randomised"]
    report(0.55, "faithfulness: deleting tokens, the method's order against a random one")
    keep = eligible.numpy()
    order = np.argsort(-np.where(keep, units, -np.inf), axis=1, kind="stable")
    random_order = np.stack([rng.permutation(ids.shape[1]) for _ in range(len(ids))])
    curve = token_deletion_curve(net, ids, mask, target, order, keep, tok.pad_token_id, steps)
    random_curve = token_deletion_curve(net, ids, mask, target, random_order, keep, tok.pad_token_id, steps)
    return {"attr": units, "units": units, "rand_units": rand_units, "noisy_units": found["noisy"], "mask": keep,
            "curve": curve, "random_curve": random_curve, "target": target, "ids": ids, "names": None}


def _checked(method: str, ev: dict, params: dict) -> tuple[dict, dict]:
    """The checks' metrics and tables from the evidence: sanity, faithfulness (with intervals), stability."""
    seed, magnitude = int(params["seed"]), method == "saliency"
    # signed methods are compared signed (their sign is part of the claim) and in magnitude; saliency is a magnitude
    # by definition. The check fails when either stays high: an input-times-gradient method keeps the input's shape
    # whatever the weights (Adebayo et al., 2018), which only the magnitude shows.
    sanity = rank_correlation(ev["units"], ev["rand_units"], absolute=magnitude, mask=ev["mask"])
    sanity_abs = rank_correlation(ev["units"], ev["rand_units"], absolute=True, mask=ev["mask"])
    stability = rank_correlation(ev["units"], ev["noisy_units"], absolute=magnitude, mask=ev["mask"])
    aucs, random_aucs = curve_area(ev["curve"]), curve_area(ev["random_curve"])
    n_boot = int(params["n_boot"])
    d_lo, d_hi = bootstrap_interval(aucs, n_boot, seed)
    r_lo, r_hi = bootstrap_interval(random_aucs, n_boot, seed)
    gain_lo, _ = bootstrap_interval(random_aucs - aucs, n_boot, seed)
    threshold = float(params["sanity_threshold"])
    ranked = int(np.median(ev["mask"].reshape(len(aucs), -1).sum(1))) if ev["mask"] is not None else \
        int(np.prod(ev["units"].shape[1:]))  # the features (pixels, columns; a text's real tokens) one row ranks
    measurable = ranked >= MIN_RANKED
    metrics = {"method": method, "n": int(len(aucs)), "sanity_rank_correlation": float(np.mean(sanity)),
               "sanity_rank_correlation_magnitude": float(np.mean(sanity_abs)), "sanity_threshold": threshold,
               "features_ranked": ranked, "sanity_measurable": measurable,
               "sanity_passed": bool(measurable and np.mean(sanity) < threshold and np.mean(sanity_abs) < threshold),
               "deletion_auc": float(aucs.mean()), "deletion_auc_ci_low": d_lo, "deletion_auc_ci_high": d_hi,
               "random_deletion_auc": float(random_aucs.mean()), "random_deletion_auc_ci_low": r_lo,
               "random_deletion_auc_ci_high": r_hi, "faithful": bool(gain_lo > 0),
               "stability": float(np.mean(stability))}
    fractions = np.linspace(0, 1, ev["curve"].shape[1])
    tables = {"curves": [{"fraction": float(f), "method": float(a), "random": float(b)} for f, a, b in
                         zip(fractions, ev["curve"].mean(0), ev["random_curve"].mean(0), strict=True)],
              "methods": [{"method": method, "description": METHODS[method][0], **{k: metrics[k] for k in (
                  "sanity_rank_correlation", "sanity_rank_correlation_magnitude", "sanity_passed", "deletion_auc",
                  "random_deletion_auc", "faithful", "stability")}}]}
    return metrics, tables


def _summary(result) -> dict:
    out = {"methods": result.tables["methods"]}
    for key in ("proxies", "recourse_by_group"):
        if key in result.tables:
            out[key] = result.tables[key]
    return out


def _headline(m: dict) -> str:
    return m.get("verdict") or ""


def _figures(audit: dict) -> list:
    """The explanation's pictures, shown only when its method passed the sanity check; recourse always; then the
    deletion curves."""
    from .. import figures

    t, m = audit["tables"], audit["metrics"]
    if not t.get("curves"):
        return []
    out = []
    if m.get("sanity_passed"):
        if t.get("examples"):
            out.append(("attributions", figures.attribution_gallery(t["examples"][:6])))
        if t.get("texts"):
            out.append(("attributions", figures.token_highlights(t["texts"][:4])))
        if t.get("importance"):
            out.append(("importance", figures.importance_bars(t["importance"])))
    if t.get("recourse_by_group"):
        out.append(("recourse per group", figures.recourse_by_group(t["recourse_by_group"])))
    out.append(("deletion curves", figures.deletion_curves(t["curves"], m.get("method", "method"))))
    return out


@dataclass
class ExplainOptions:
    """The explanation audit's options (its flags, form and settings)."""
    method: str | None = opt(None, "integrated_gradients, saliency, occlusion (images), shap (tables; default), "
                                   "integrated_gradients or saliency (tables), layer_integrated_gradients (texts)",
                             choices=tuple(METHODS))
    samples: int = opt(50, "test examples explained", min=1)
    select: str = opt("random", "which test examples: a seeded random sample, the misclassified or the least "
                                "confident", choices=("random", "misclassified", "least_confident"))
    rows: list[int] | None = opt(None, "these test rows (indices) instead")
    seed: int = opt(0, "the seed of every random draw")
    steps: int = opt(10, "steps of the deletion curves", min=1)
    ig_steps: int = opt(32, "integration steps of integrated gradients", min=1)
    sanity_threshold: float = opt(0.5, "rank correlation with the randomised model above which a method fails the "
                                       "sanity check", min=-1.0, max=1.0)
    noise: float = opt(0.05, "the stability check's input noise", min=0.0)
    proxy_threshold: float = opt(0.5, "tables: how well a feature must predict a sensitive column to be a proxy",
                                 min=0.0, max=1.0)
    proxy_importance: float = opt(0.05, "tables: the importance share above which a proxy counts", min=0.0)
    examples: int = opt(8, "examples drawn", min=0, setting=False)
    permutation_repeats: int = opt(5, "tables: shuffles per feature of the permutation importance", min=1)
    background: int = opt(100, "tables: SHAP's background rows", min=1)
    n_boot: int = opt(1000, "bootstrap resamples of the intervals", min=10)
    proxy_rows: int = opt(20000, "tables: rows the proxy models are fitted on", min=1)
    recourse: bool = opt(True, "tables: search recourse for refused people")
    recourse_samples: int = opt(100, "tables: refused people searched", min=1)
    recourse_max_changes: int = opt(3, "tables: features one recourse may change", min=1)
    recourse_tail: float = opt(0.02, "tables: the quantile tails a recourse value may not pass", min=0.0, max=0.5)
    recourse_beam: int = opt(8, "tables: the recourse search's beam width", min=1)
    favourable: str | None = opt(None, "tables: the favourable class for recourse (default: the last class)")
    immutable: list[str] | None = opt(None, "tables: features recourse may not change, besides those the dataset "
                                            "declares")
    min_group_size: int = opt(30, "groups smaller than this are flagged", min=1)
    recourse_gap: float = opt(0.1, "tables: the gap in recourse rates between groups that is flagged", min=0.0)


#: Compare's rows for this audit
_COMPARE = (
    ("explanation sanity (rank correlation with a random model)", "sanity_rank_correlation", False, False),
    ("sensitive-attribute proxies flagged", "proxies_flagged", False, False),
    ("recourse gap between groups", "max_recourse_share_gap", False, True),
)


@register_audit("explain", "Explanations",
                "Attributions (Captum integrated gradients, saliency, occlusion; SHAP for tables; layer integrated "
                "gradients on the word embeddings for texts) for test examples (a seeded sample, the misclassified or "
                "the least confident), each method checked before it is shown: model-parameter randomisation "
                "(sanity), deletion curves against a random order (faithfulness) and noise (stability); for tables, "
                "per-prediction attributions in the original units, global and permutation importance, the "
                "sensitive-attribute proxies the model leans on, and recourse for refused people per group.",
                options=ExplainOptions, requires=("gradients",),
                summary=_summary, headline=_headline, figures=_figures, compare=_COMPARE,
                order=80)
def explain(classifier, dataset, params: dict, progress=None) -> AuditResult:
    """The explanation audit: attributions with their sanity, faithfulness and stability checks, and proxies."""
    started = time.perf_counter()
    modality = classifier.modality
    if classifier.needs_groups:
        raise FmauditError("This model adds per-group thresholds to its parent's scores; explain the parent.")
    method = params["method"] or DEFAULT_METHOD[modality]
    if method not in methods_for(modality):
        raise ConfigError(f"{method} does not apply to {modality} models; choose one of "
                          f"{', '.join(methods_for(modality))}.")
    rng = np.random.default_rng(int(params["seed"]))

    def report(fraction, message):
        if progress:
            progress(fraction, message)

    test = dataset["test"]
    rows = _select_rows(classifier, test, params, rng)
    part = test.take(rows)
    # the checks draw from a stream of their own: replaying the audit with its recorded rows (which skips the row
    # draw) must give the same background, random order and noise, so the same numbers
    checks_rng = np.random.default_rng([int(params["seed"]), 1])
    ev = (_text_evidence(classifier, part, params, checks_rng, report) if modality == "text"
          else _dense_evidence(classifier, dataset, part, method, params, checks_rng, report))
    metrics, tables = _checked(method, ev, params)
    warnings = []
    k = int(params["examples"])
    if modality == "tabular":
        report(0.8, "global importance, permutation importance and proxies")
        found, more, warned = _table_findings(classifier, dataset, part, ev, {**params, "rows_explained": rows},
                                              report)
        tables.update(found)
        metrics.update(more)
        warnings += warned
    elif modality == "text":
        tables["texts"] = text_gallery(classifier, ev["ids"], ev["mask"], ev["units"], part.y, ev["target"], rows, k)
    else:
        tables["examples"] = _gallery(classifier, ev["attr"], ev["x"], part.y, ev["target"], rows, k)
    if not metrics["sanity_passed"]:
        warnings.insert(0, f"{method} failed its sanity check: do not read its attributions as explanations."
                        if metrics["sanity_measurable"] else f"{method} cannot be sanity-checked with "
                        f"{metrics['features_ranked']} features: do not read its attributions as explanations.")
    metrics["verdict"] = _verdict(method, metrics)
    return AuditResult(audit="explain", model_id=None, dataset=dataset.name,
                       params={**params, "method": method, "rows": rows.tolist()}, metrics=metrics, tables=tables,
                       warnings=warnings, seed=int(params["seed"]), seconds=time.perf_counter() - started)
