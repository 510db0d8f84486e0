"""Calibration and uncertainty: expected calibration error with an interval, reliability diagram, per-group
calibration, temperature scaling, and split conformal prediction sets with their coverage per group."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from fmcore.errors import ConfigError

from .._options import opt
from .._result import AuditResult
from .._spec import CompareRow, one_minus, register_audit
from ..groups import MISSING, group_values, largest_gaps
from ..stats import binned_calibration, bootstrap_statistic, calibration_error, wilson


def ece_bins(proba: np.ndarray, y: np.ndarray, bins: int = 15) -> list[dict]:
    """Reliability diagram of the top-label confidence: equal-width bins over (0, 1]."""
    count, conf_sum, acc_sum = (a[0] for a in binned_calibration(proba.max(1), proba.argmax(1) == y, bins))
    edges = np.linspace(0, 1, bins + 1)
    rows = []
    for i in range(bins):
        n = int(count[i])
        rows.append({"bin": i, "low": float(edges[i]), "high": float(edges[i + 1]), "count": n,
                     "confidence": float(conf_sum[i] / n) if n else None,
                     "accuracy": float(acc_sum[i] / n) if n else None,
                     "gap": float(abs(conf_sum[i] - acc_sum[i]) / n) if n else None})
    return rows


def expected_calibration_error(proba: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    """ECE of the top label: the count-weighted mean |accuracy - confidence| over equal-width confidence bins."""
    return float(calibration_error(proba.max(1), proba.argmax(1) == y, bins)[0])


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature T > 0 that minimises the negative log-likelihood of ``softmax(logits / T)``."""
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    logits = logits.astype(np.float64)

    def nll(log_t):
        return -log_softmax(logits / np.exp(log_t), axis=1)[np.arange(len(y)), y].mean()

    res = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded", options={"xatol": 1e-5})
    return float(np.exp(res.x))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def conformal_threshold(proba: np.ndarray, y: np.ndarray, alpha: float) -> float:
    """Split conformal (LAC score 1 - p_true; Angelopoulos & Bates 2021): the k-th smallest calibration score with
    k = ceil((n+1)(1-alpha)), the finite-sample-valid quantile (coverage at least 1 - alpha on exchangeable data).
    (``np.quantile(scores, k/n, method="higher")`` lands one rank above it.)"""
    scores = np.sort(1 - proba[np.arange(len(y)), y])
    n = len(scores)
    k = int(np.ceil((n + 1) * (1 - alpha) - 1e-12))
    if k > n:
        raise ConfigError(f"{n} calibration examples are too few for coverage {1 - alpha:.0%}: need at least "
                          f"{int(np.ceil(1 / alpha)) - 1}.")
    return float(scores[k - 1])


def prediction_sets(proba: np.ndarray, threshold: float) -> np.ndarray:
    """Boolean (n, classes): class k is in the set when 1 - p_k <= threshold."""
    return (1 - proba) <= threshold + 1e-12


def logits_of(classifier, X, groups, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """(logits, probabilities) of raw ``X``: models that decide per group (or draw at random) have probabilities
    but no logits of their own, so their log-probabilities stand in."""
    if classifier.needs_groups or classifier.meta.get("randomized"):
        proba = classifier.predict_proba(X, batch_size, groups=groups)
        return np.log(np.clip(proba, 1e-12, 1)), proba
    logits = classifier.logits(classifier.encode(X), batch_size)  # one forward pass: predict_proba is its softmax
    return logits.numpy().astype(np.float64), logits.softmax(-1).numpy()


def _per_group(proba, y, sets, groups, sensitive, bins, min_group) -> tuple[list[dict], list[str]]:
    rows, warnings = [], []
    for col in sensitive:
        values = group_values(groups[col])
        for g in sorted(set(values)):
            m = values == g
            n = int(m.sum())
            cov = sets[m, y[m]] if n else np.array([])
            lo, hi = wilson(int(cov.sum()), n)
            rows.append({"attribute": col, "group": g, "n": n, "accuracy": float((proba[m].argmax(1) == y[m]).mean()),
                         "confidence": float(proba[m].max(1).mean()),
                         "ece": expected_calibration_error(proba[m], y[m], bins), "coverage": float(cov.mean()),
                         "coverage_ci_low": lo, "coverage_ci_high": hi, "mean_set_size": float(sets[m].sum(1).mean()),
                         "too_small": n < min_group})
            if g == MISSING:
                warnings.append(f"{col}: {n} rows have no value; they form the group {MISSING!r}.")
    return rows, warnings


def _gap(rows: list[dict], key: str, min_group: int) -> tuple[float | None, str]:
    """Largest difference of ``key`` between groups of the same attribute that are large enough to judge."""
    gaps = largest_gaps(rows, key, judged=lambda r: r["n"] >= min_group)
    if not gaps:
        return None, ""
    col, (gap, hi, lo) = max(gaps.items(), key=lambda kv: kv[1][0])
    return gap, f"{col}: {hi['group']} {hi[key]:.1%} vs {lo['group']} {lo[key]:.1%}"


def _summary(result) -> dict:
    by_group: dict = {}
    for r in result.tables["groups"]:
        by_group.setdefault(r["attribute"], {})[r["group"]] = r["coverage"]
    return {"coverage_by_group": by_group, "groups": result.tables["groups"]}


def _headline(m: dict) -> str:
    from .._format import pct, score

    return f"ECE {score(m.get('ece'))}, conformal coverage {pct(m.get('coverage'))}"


def _figures(audit: dict) -> list:
    from .. import figures

    rows = audit["tables"].get("reliability")
    return [("reliability diagram", figures.reliability_diagram(rows, audit["metrics"].get("ece")))] if rows else []


@dataclass
class CalibrationOptions:
    """The calibration audit's options (its flags, form and settings)."""
    split: str = opt("test", "the split audited", choices=("train", "val", "test"))
    calibration_split: str = opt("val", "the split the temperature and the conformal threshold are fitted on",
                                 choices=("train", "val", "test"))
    bins: int = opt(15, "equal-width confidence bins of the calibration error", min=2)
    alpha: float = opt(0.1, "conformal miscoverage (0.1: 90% sets)", min=0.001, max=0.5)
    n_boot: int = opt(500, "bootstrap resamples of the intervals", min=10)
    seed: int = opt(0, "the seed of every random draw")
    sensitive: list[str] | None = opt(None, "the sensitive columns for calibration per group (default: all the "
                                            "dataset declares; an empty value for none)")
    min_group_size: int = opt(30, "groups smaller than this are flagged", min=1)
    max_samples: int | None = opt(None, "audit only the first rows of each split (default: all)", min=1)


#: Compare's rows for this audit
_COMPARE = (
    CompareRow("calibration error (ECE)", "ece", False, False, radar=("1 − ECE", one_minus)),
    CompareRow("conformal coverage gap", "coverage_gap", False, True, radar=("1 − coverage gap", one_minus)),
)


@register_audit("calibration", "Calibration and uncertainty",
                "Whether confidence can be taken at its word: expected calibration error with a bootstrap interval, "
                "reliability diagram, calibration per group, the temperature that would fix it (fitted on the "
                "validation split), and split conformal prediction sets with their coverage overall and per group.",
                options=CalibrationOptions, requires=("scores",),
                summary=_summary, headline=_headline, figures=_figures, compare=_COMPARE,
                order=70)
def calibration(classifier, dataset, params: dict, progress=None) -> AuditResult:
    """The calibration audit: ECE with its interval, temperature scaling, conformal coverage per group."""
    started = time.perf_counter()
    bins, alpha, seed = int(params["bins"]), float(params["alpha"]), int(params["seed"])
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha is the miscoverage allowed, between 0 and 1 (0.1 for 90% sets); got {alpha}.")
    test, cal = dataset[params["split"]], dataset[params["calibration_split"]]
    if params.get("max_samples"):
        test, cal = test.head(int(params["max_samples"])), cal.head(int(params["max_samples"]))
    if progress:
        progress(0.1, "predicting")
    logits, proba = logits_of(classifier, test.X, test.groups)
    cal_logits, cal_proba = logits_of(classifier, cal.X, cal.groups)
    y, yc = test.y, cal.y
    ece = expected_calibration_error(proba, y, bins)
    if progress:
        progress(0.4, "bootstrap interval of the ECE")
    lo, hi = bootstrap_statistic(lambda i: expected_calibration_error(proba[i], y[i], bins), len(y),
                                 int(params["n_boot"]), seed)
    n_all, groups_frame, proba_all, y_all = len(y), test.groups, proba, y
    if len(yc) == 0:  # no calibration split (a predictions file): fit on a seeded half, measure on the other
        order = np.random.default_rng(seed).permutation(len(y))
        fit_rows, eval_rows = np.sort(order[: len(y) // 2]), np.sort(order[len(y) // 2:])
        cal_logits, cal_proba, yc = logits[fit_rows], proba[fit_rows], y[fit_rows]
        logits, proba, y = logits[eval_rows], proba[eval_rows], y[eval_rows]
        groups_frame = None if test.groups is None else test.groups.iloc[eval_rows].reset_index(drop=True)
    temperature = fit_temperature(cal_logits, yc)
    scaled = _softmax(logits / temperature)
    nll = float(-np.log(np.clip(proba[np.arange(len(y)), y], 1e-12, 1)).mean())  # beside nll_t: the same rows
    nll_t = float(-np.log(np.clip(scaled[np.arange(len(y)), y], 1e-12, 1)).mean())
    onehot = np.eye(proba.shape[1])[y_all]
    threshold = conformal_threshold(cal_proba, yc, alpha)
    sets = prediction_sets(proba, threshold)
    covered = sets[np.arange(len(y)), y]
    cov_lo, cov_hi = wilson(int(covered.sum()), len(y))
    reliability = ece_bins(proba_all, y_all, bins)
    sensitive = params.get("sensitive")
    if sensitive is None:
        sensitive = list(dataset.spec.sensitive)
    missing = [c for c in sensitive if test.groups is None or c not in test.groups.columns]
    if missing:
        raise ConfigError(f"Sensitive column(s) {missing} are not in {dataset.name!r}; it has "
                          f"{list(dataset.spec.sensitive) or 'none'}.")
    min_group = int(params["min_group_size"])
    groups, warnings = _per_group(proba, y, sets, groups_frame, sensitive, bins, min_group) if sensitive else ([], [])
    if n_all != len(y):
        warnings.append(f"No calibration split: the temperature and the conformal threshold were fitted on a seeded "
                        f"half of the {n_all} rows ({len(yc)}) and measured, with the per-group figures, on the other "
                        f"half ({len(y)}); the ECE and its interval are on all rows.")
    coverage_gap, gap_where = _gap(groups, "coverage", min_group)
    ece_gap, ece_where = _gap(groups, "ece", min_group)
    per_class = [{"class": c, "n": int((y == k).sum()), "coverage": float(covered[y == k].mean()) if (y == k).any()
                  else None} for k, c in enumerate(classifier.classes)]
    if len(yc) < 1 / alpha * 5:
        warnings.append(f"Only {len(yc)} calibration examples: conformal coverage varies from run to run.")
    if ece_gap is not None and ece_gap > 0.05:
        warnings.append(f"Confidence means different things for different groups ({ece_where}).")
    if coverage_gap is not None and coverage_gap > 0.05:
        warnings.append(f"Conformal sets cover the true class unequally across groups ({gap_where}): a fairness "
                        "finding; group-conditional (Mondrian) conformal prediction would equalise it.")
    metrics = {"ece": ece, "ece_ci_low": lo, "ece_ci_high": hi,
               "mce": max((r["gap"] for r in reliability if r["count"]), default=None),
               "brier": float(((proba_all - onehot) ** 2).sum(1).mean()), "nll": nll,
               "accuracy": float((proba_all.argmax(1) == y_all).mean()),
               "mean_confidence": float(proba_all.max(1).mean()), "temperature": temperature,
               "ece_after_temperature": expected_calibration_error(scaled, y, bins), "nll_after_temperature": nll_t,
               "coverage": float(covered.mean()), "coverage_ci_low": cov_lo, "coverage_ci_high": cov_hi,
               "coverage_target": 1 - alpha, "mean_set_size": float(sets.sum(1).mean()),
               "empty_set_rate": float((sets.sum(1) == 0).mean()), "coverage_gap": coverage_gap,
               "ece_gap": ece_gap, "n": n_all, "n_calibration": len(yc),
               "n_conformal_evaluation": len(y)}
    metrics["verdict"] = _verdict(metrics)
    return AuditResult(
        audit="calibration", model_id=None, dataset=dataset.name, params={**params, "sensitive": sensitive},
        metrics=metrics, tables={"reliability": reliability, "groups": groups, "per_class": per_class,
                                 "conformal": [{"threshold": threshold, "alpha": alpha, "score": "1 - p(true class)",
                                                "calibration_split": params["calibration_split"]}]},
        warnings=warnings, seed=seed, seconds=time.perf_counter() - started)


def _verdict(m: dict) -> str:
    if m["mean_confidence"] > m["accuracy"] + 0.02:
        lean = f"The model is overconfident: it claims {m['mean_confidence']:.1%} on average and is right " \
               f"{m['accuracy']:.1%} of the time"
    elif m["mean_confidence"] < m["accuracy"] - 0.02:
        lean = f"The model is underconfident: it claims {m['mean_confidence']:.1%} on average and is right " \
               f"{m['accuracy']:.1%} of the time"
    else:
        lean = (f"The model's confidence matches its accuracy on average ({m['mean_confidence']:.1%} claimed, "
                f"{m['accuracy']:.1%} right)")
    fix = (f"temperature scaling (T = {m['temperature']:.2f}) would bring the ECE from {m['ece']:.3f} to "
           f"{m['ece_after_temperature']:.3f}" if m["ece_after_temperature"] < m["ece"] - 0.002
           else "temperature scaling would not help")
    cov = (f"Prediction sets of on average {m['mean_set_size']:.2f} classes cover the true class "
           f"{m['coverage']:.1%} of the time (target {m['coverage_target']:.0%})")
    return f"{lean}; ECE {m['ece']:.3f} [{m['ece_ci_low']:.3f}, {m['ece_ci_high']:.3f}]; {fix}. {cov}."
