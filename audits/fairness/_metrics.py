"""Group metrics on a vectorised path (numpy bincount), equal to fairlearn's MetricFrame values.

MetricFrame recomputes every metric per group with scikit-learn calls; here each metric is a few
weighted bincounts over integer group codes, so a million rows take milliseconds
(bench/fairness_speed.py; tests/audits/test_fairness.py checks every value against MetricFrame).
"""

from __future__ import annotations

import numpy as np

from ..stats import ratio as _ratio

STANDARD = ("count", "base_rate", "selection_rate", "accuracy", "tpr", "fpr", "fnr", "precision")


def encode_groups(columns: dict[str, np.ndarray]) -> tuple[np.ndarray, list[tuple]]:
    """Integer codes for the combination of the given columns, and the group labels in code order.

    Each column is grouped on its own (``audits.groups.group_codes``: sorted labels, 1, 1.0 and "1" one group) and
    the codes are combined arithmetically; only combinations that occur get a code.
    """
    import pandas as pd

    from ..groups import group_codes

    combined, uniques = None, []
    for values in columns.values():  # grouped by value; a missing value is the group "(missing)", never code -1
        codes, labels = group_codes(values)
        combined = codes if combined is None else combined * len(labels) + codes
        uniques.append(labels)
    if len(columns) == 1:  # the codes are already 0..k-1 in label order
        return combined, [(label,) for label in uniques[0]]
    inverse, present = pd.factorize(combined, sort=True)  # hashing: only the combinations present are sorted
    labels = []
    for key in present:
        parts = []
        for u in reversed(uniques):
            key, r = divmod(int(key), len(u))
            parts.append(u[r])
        labels.append(tuple(reversed(parts)))
    return inverse.astype(np.int64), labels


def group_metrics(y_true: np.ndarray, y_pred: np.ndarray, codes: np.ndarray, n_groups: int,
                  weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per-group count, base rate, selection rate, accuracy, TPR, FPR, FNR and precision (binary 0/1).

    ``weights`` (e.g. bootstrap resampling counts) weight every row; rates undefined for a group
    (no positives, no negatives, no predicted positives) are NaN.
    """
    w = np.ones(len(y_true)) if weights is None else weights
    y, p = y_true.astype(np.float64), y_pred.astype(np.float64)

    def s(v):
        return np.bincount(codes, weights=v * w, minlength=n_groups)

    n = s(np.ones_like(y))
    pos, pred_pos = s(y), s(p)
    tp, fp = s(y * p), s((1 - y) * p)
    correct = s((y == p).astype(np.float64))
    return {"count": n, "base_rate": _ratio(pos, n), "selection_rate": _ratio(pred_pos, n),
            "accuracy": _ratio(correct, n), "tpr": _ratio(tp, pos), "fpr": _ratio(fp, n - pos),
            "fnr": _ratio(pos - tp, pos), "precision": _ratio(tp, pred_pos)}


def calibration_error(y_true: np.ndarray, scores: np.ndarray, codes: np.ndarray, n_groups: int,
                      bins: int = 10) -> np.ndarray:
    """Expected calibration error of the positive class's score per group, over 10 bins: ``audits.stats``'s one
    calibration error (same bin edges as the calibration audit's, which bins the top label's confidence)."""
    from ..stats import calibration_error as binned

    return binned(scores, y_true, bins, codes, n_groups)


def disparities(m: dict[str, np.ndarray], keep: np.ndarray | None = None) -> dict[str, float]:
    """Between-group disparities, as fairlearn defines them (max - min, and min / max).

    ``keep`` (a boolean per group) limits them to the groups large enough to judge.
    """
    if keep is not None:
        m = {k: v[keep] for k, v in m.items()}

    def diff(v):
        v = v[~np.isnan(v)]
        return float(v.max() - v.min()) if len(v) else float("nan")

    def ratio(v):
        v = v[~np.isnan(v)]
        return float(v.min() / v.max()) if len(v) and v.max() > 0 else float("nan")

    def defined(values, pick):  # an undefined part (no group with a positive, say) never wins by its position
        values = [v for v in values if not np.isnan(v)]
        return float(pick(values)) if values else float("nan")

    dp_ratio = ratio(m["selection_rate"])
    return {
        "demographic_parity_difference": diff(m["selection_rate"]),
        "demographic_parity_ratio": dp_ratio,
        "equalized_odds_difference": defined([diff(m["tpr"]), diff(m["fpr"])], max),
        "equalized_odds_ratio": defined([ratio(m["tpr"]), ratio(m["fpr"])], min),
        "equal_opportunity_difference": diff(m["tpr"]),
        "accuracy_difference": diff(m["accuracy"]),
        "four_fifths_rule_violated": bool(dp_ratio < 0.8),
    }


MIN_GROUP = 30  # default minimum group size: smaller groups are shown and flagged, never used for a headline gap


def headline_disparities(m: dict[str, np.ndarray], min_group: int = MIN_GROUP) -> dict[str, float]:
    """``disparities`` between the groups of at least ``min_group`` rows (NaN when fewer than two are)."""
    keep = m["count"] >= min_group
    return disparities(m, keep if keep.sum() >= 2 else np.zeros(len(keep), dtype=bool))
