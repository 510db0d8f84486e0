"""The Compare scorecard as pure functions: every measured dimension of several models, best and worst marked,
and a radar on absolute axes. The dashboard draws what these return; tests check them without Streamlit.

A model is given as a dict: ``id``, ``metrics`` (its training metrics), ``size_bytes``, ``n_params``,
``baseline`` (majority-class accuracy or None) and ``audits`` (audit name -> newest result dict).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ._result import metric_at


@dataclass(frozen=True)
class Dimension:
    """One scorecard row: its name, direction, whether it is a proportion, getter and radar axis."""
    name: str
    higher_is_better: bool | None  # None: context only (never marked best or worst)
    proportion: bool  # shown as a percentage
    get: Callable[[dict], float | None]
    radar: tuple[str, Callable[[float], float]] | None = None  # axis label and map onto [0, 1], 1 perfect
    audit: str | None = None  # the audit it reads: models are ranked only where that audit's settings agree


def _audit(model: dict, audit: str, key: str):
    return (model["audits"].get(audit) or {}).get("metrics", {}).get(key)


def _perf_or_training(key: str) -> Callable[[dict], float | None]:
    def get(model: dict):
        value = _audit(model, "performance", key)
        return value if value is not None else model["metrics"].get(key)
    return get


def _best_tpr(model: dict):
    found = [v for k, v in ((model["audits"].get("privacy") or {}).get("metrics", {})).items()
             if k.startswith("tpr_at_1%_fpr[")]
    return max(found, default=None)


def _top_canary_exposure(model: dict):
    rows = ((model["audits"].get("memorization") or {}).get("tables") or {}).get("canaries") or []
    return max(rows, key=lambda r: r["repetitions"])["exposure"] if rows else None


def _spec_dimensions() -> list[Dimension]:
    """The rows audits declare in their spec (``compare``: label, metric key, higher is better, proportion)."""
    from ._registry import load_audits

    return [Dimension(label, higher, proportion, lambda m, a=spec.name, k=key: _audit(m, a, k), audit=spec.name)
            for spec in load_audits().values() for label, key, higher, proportion in spec.compare]


def robust_epsilons(models: list[dict]) -> list[float]:
    """The perturbation sizes at which any robustness audit of ``models`` measured robust accuracy, sorted."""
    return sorted({e for m in models
                   for e in metric_at((m["audits"].get("robustness") or {}).get("metrics", {}), "robust_accuracy")})


def dimensions(eps: float | None) -> list[Dimension]:
    """Every dimension, in the scorecard's order; robust accuracy is read at ``eps``."""
    same = (lambda v: v)  # noqa: E731
    flip = (lambda v: 1 - v)  # noqa: E731
    robust = f"robust accuracy @ {eps:g}" if eps is not None else "robust accuracy"
    return [
        Dimension("accuracy", True, True, _perf_or_training("accuracy"), ("accuracy", same)),
        Dimension("majority-class baseline", None, True, lambda m: m.get("baseline")),
        Dimension("balanced accuracy", True, True, lambda m: _audit(m, "performance", "balanced_accuracy"),
                  ("balanced accuracy", same), audit="performance"),
        Dimension("macro-F1", True, False, _perf_or_training("macro_f1"), ("macro-F1", same)),
        Dimension(robust, True, True, lambda m: _audit(m, "robustness", f"robust_accuracy@{eps:g}")
                  if eps is not None else None, (robust, same), audit="robustness"),
        Dimension("certified accuracy @ L2 0.25 (smoothing)", True, True,
                  lambda m: _audit(m, "certified", "certified_accuracy@0.25"), audit="certified"),
        Dimension("backdoor anomaly index (largest)", False, False,
                  lambda m: _audit(m, "backdoor", "max_anomaly_index"), audit="backdoor"),
        Dimension("demographic parity gap", False, True,
                  lambda m: _audit(m, "fairness", "demographic_parity_difference"), ("1 − parity gap", flip),
                  audit="fairness"),
        Dimension("equalized odds gap", False, True, lambda m: _audit(m, "fairness", "equalized_odds_difference"),
                  ("1 − odds gap", flip), audit="fairness"),
        Dimension("attack AUC (strongest)", False, False, lambda m: _audit(m, "privacy", "max_auc"),
                  ("privacy: 1 − |2·AUC − 1|", lambda v: 1 - abs(2 * v - 1)), audit="privacy"),
        Dimension("TPR at 1% FPR (best attack)", False, True, _best_tpr, audit="privacy"),
        Dimension("mean corruption error", False, False, lambda m: _audit(m, "corruption", "mean_corruption_error"),
                  audit="corruption"),
        Dimension("accuracy under corruption", True, True, lambda m: _audit(m, "corruption", "mean_accuracy"),
                  ("accuracy under corruption", same), audit="corruption"),
        Dimension("accuracy on shifted data", True, True, lambda m: _audit(m, "shift", "shift_accuracy"),
                  ("accuracy on shifted data", same), audit="shift"),
        Dimension("calibration error (ECE)", False, False, lambda m: _audit(m, "calibration", "ece"),
                  ("1 − ECE", flip), audit="calibration"),
        Dimension("conformal coverage gap", False, True, lambda m: _audit(m, "calibration", "coverage_gap"),
                  ("1 − coverage gap", flip), audit="calibration"),
        Dimension("explanation sanity (rank correlation with a random model)", False, False,
                  lambda m: _audit(m, "explain", "sanity_rank_correlation"), audit="explain"),
        Dimension("sensitive-attribute proxies flagged", False, False,
                  lambda m: _audit(m, "explain", "proxies_flagged"), audit="explain"),
        Dimension("recourse gap between groups", False, True,
                  lambda m: _audit(m, "explain", "max_recourse_share_gap"), audit="explain"),
        Dimension("test perplexity (language models)", False, False, lambda m: m["metrics"].get("test_perplexity")),
        Dimension("canary exposure, most repeated (bits)", False, False, _top_canary_exposure, audit="memorization"),
        Dimension("training texts extracted", False, True, lambda m: _audit(m, "memorization", "extraction_rate"),
                  audit="memorization"),
        Dimension("sequence membership AUC", False, False, lambda m: _audit(m, "memorization", "mia_auc_loss"),
                  ("language privacy: 1 − |2·AUC − 1|", lambda v: 1 - abs(2 * v - 1)), audit="memorization"),
        Dimension("sentiment gap between groups (probes)", False, False,
                  lambda m: _audit(m, "probes", "sentiment_gap"), audit="probes"),
        Dimension("profanity gap between groups (probes)", False, False,
                  lambda m: _audit(m, "probes", "profanity_gap"), audit="probes"),
        *_spec_dimensions(),
        Dimension("DP epsilon", False, False, lambda m: (m["metrics"].get("privacy") or {}).get("epsilon")),
        Dimension("size (KiB)", False, False, lambda m: m["size_bytes"] / 1024),
        Dimension("parameters", False, False, lambda m: m["n_params"]),
    ]


def settings(models: list[dict], audit: str) -> list[dict | None]:
    """Each model's settings of its newest ``audit`` (``settings_of``; the eps or radii the metric keys name left
    out), None where it has none."""
    from ._registry import audit_settings

    return [audit_settings(audit, m["audits"][audit].get("params"), keyed=False) if audit in m["audits"] else None
            for m in models]


def differing(found: list[dict | None]) -> str | None:
    """In words, the settings on which the measured models differ (``min_group_size 30 / 100``); None if none."""
    found = [s for s in found if s is not None]
    keys = sorted({k for s in found for k in s if len({repr(x.get(k)) for x in found}) > 1})
    if not keys:
        return None
    from ._options import describe_settings

    return "; ".join(describe_settings({k: " / ".join(dict.fromkeys(repr(s.get(k)) for s in found))}) for k in keys)


def scorecard(models: list[dict], eps: float | None = None) -> dict:
    """``rows``: one per dimension some model has, with each model's value and mark (``best``, ``worst`` or
    None), and ``unranked`` (why not) where the models' audits were measured under different settings: those are
    never ranked against each other; ``unmeasured``: dimensions no model has; ``radar``: axes every model has (at
    least three, else none), each model's values on them in [0, 1], and the axes left off because a model lacks
    them or because the settings differ."""
    dims = dimensions(eps)
    values = {d.name: [d.get(m) for m in models] for d in dims}
    found = {a: settings(models, a) for a in {d.audit for d in dims if d.audit}}
    rows, unmeasured, unranked = [], [], {}
    for d in dims:
        vals = values[d.name]
        present = [v for v in vals if v is not None]
        if not present:
            unmeasured.append(d.name)
            continue
        marks = [None] * len(vals)
        why = differing([s for s, v in zip(found[d.audit], vals, strict=True) if v is not None]) if d.audit else None
        if why:
            unranked[d.name] = f"not ranked: the {d.audit} audits differ in {why}"
        elif d.higher_is_better is not None and len(present) >= 2 and max(present) != min(present):
            best = max(present) if d.higher_is_better else min(present)
            worst = min(present) if d.higher_is_better else max(present)
            marks = [None if v is None else "best" if v == best else "worst" if v == worst else None for v in vals]
        rows.append({"dimension": d.name, "proportion": d.proportion, "values": vals, "marks": marks,
                     "unranked": unranked.get(d.name)})
    on_radar = [d for d in dims if d.radar and all(v is not None for v in values[d.name]) and d.name not in unranked]
    left_out = [d.name for d in dims if d.radar and d not in on_radar and any(v is not None for v in values[d.name])]
    if len(on_radar) < 3:
        on_radar = []
    radar = {"axes": [d.radar[0] for d in on_radar],
             "series": [[d.radar[1](values[d.name][i]) for d in on_radar] for i in range(len(models))],
             "left_out": left_out}
    return {"rows": rows, "unmeasured": unmeasured, "radar": radar, "values": values, "unranked": unranked,
            "settings": {a: s for a, s in found.items() if any(x is not None for x in s)}}
