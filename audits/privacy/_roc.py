"""ROC curves of membership scores, TPR at low FPR, advantage and an empirical lower bound on epsilon.

Scores are "higher means more likely a member". Ties are handled as scikit-learn does (one ROC point
per distinct score), so the AUC equals ``sklearn.metrics.roc_auc_score`` (tests check it).
"""

from __future__ import annotations

import numpy as np


def roc_points(scores: np.ndarray, member: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(fpr, tpr, thresholds)`` from the strictest threshold to the loosest, starting at (0, 0)."""
    scores = np.asarray(scores, dtype=np.float64)
    member = np.asarray(member).astype(bool)
    order = np.argsort(-scores, kind="mergesort")
    s, m = scores[order], member[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # the last index of each distinct score
    tp = np.cumsum(m)[last]
    fp = np.cumsum(~m)[last]
    pos, neg = max(1, int(m.sum())), max(1, int((~m).sum()))
    return np.r_[0.0, fp / neg], np.r_[0.0, tp / pos], np.r_[np.inf, s[last]]


def auc(fpr: np.ndarray, tpr: np.ndarray) -> float:
    """The area under a ROC curve given by its points."""
    return float(np.trapezoid(tpr, fpr))


def tpr_at_fpr(fpr: np.ndarray, tpr: np.ndarray, target: float) -> float:
    """The best true-positive rate among thresholds whose false-positive rate is at most ``target``."""
    ok = fpr <= target + 1e-12
    return float(tpr[ok].max()) if ok.any() else 0.0


def empirical_epsilon(scores: np.ndarray, member: np.ndarray, delta: float = 0.0, level: float = 0.95) -> dict:
    """Lower bounds on epsilon implied by the attack (Jagielski et al. 2020; Nasr et al. 2021).

    Any (epsilon, delta)-DP mechanism satisfies ``TPR <= e^eps FPR + delta`` and
    ``1 - FPR <= e^eps (1 - TPR) + delta`` at every threshold. ``point`` uses the measured rates;
    ``lower`` uses Clopper-Pearson bounds (TPR low, FPR high, each at ``level``) so that it is a
    statistically sound lower bound; both take the best threshold.
    """
    from ..stats import clopper_pearson_lower, clopper_pearson_upper

    fpr, tpr, _ = roc_points(scores, member)
    member = np.asarray(member).astype(bool)
    n1, n0 = int(member.sum()), int((~member).sum())
    tp, fp = np.rint(tpr * n1), np.rint(fpr * n0)
    tpr_lo, fpr_hi = clopper_pearson_lower(tp, n1, level), clopper_pearson_upper(fp, n0, level)
    with np.errstate(divide="ignore", invalid="ignore"):

        def bound(t, f):
            first = np.log(np.maximum(t - delta, 0) / f)
            second = np.log(np.maximum(1 - f - delta, 0) / (1 - t))
            both = np.concatenate([first, second])
            both = both[np.isfinite(both)]
            return float(max(0.0, both.max())) if len(both) else 0.0

        return {"point": bound(tpr, fpr), "lower": bound(tpr_lo, fpr_hi), "level": level, "delta": delta}


def summarize(scores: np.ndarray, member: np.ndarray, max_points: int = 200) -> dict:
    """AUC with its 95% DeLong interval, TPR at 0.1% and 1% FPR, advantage, epsilon bounds, and a thinned ROC for
    plotting."""
    fpr, tpr, _ = roc_points(scores, member)
    keep = np.unique(np.r_[0, np.linspace(0, len(fpr) - 1, min(len(fpr), max_points)).astype(int), len(fpr) - 1])
    # keep the low-FPR corner in full: that is where a log-scale chart looks
    low = np.flatnonzero(fpr <= 0.02)[:max_points]
    keep = np.unique(np.r_[keep, low])
    eps = empirical_epsilon(scores, member)
    n0 = int((~np.asarray(member).astype(bool)).sum())
    from ..stats import auc_interval

    _, low, high = auc_interval(scores, member)
    return {"auc": auc(fpr, tpr), "auc_ci_low": low, "auc_ci_high": high,
            "tpr_at_0.1%_fpr": tpr_at_fpr(fpr, tpr, 0.001),
            "tpr_at_1%_fpr": tpr_at_fpr(fpr, tpr, 0.01), "advantage": float((tpr - fpr).max()),
            "empirical_epsilon": eps["lower"], "empirical_epsilon_point": eps["point"],
            "lowest_measurable_fpr": 1.0 / max(1, n0),
            "roc": {"fpr": fpr[keep].round(6).tolist(), "tpr": tpr[keep].round(6).tolist()}}
