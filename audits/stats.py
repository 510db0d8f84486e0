"""Every interval the audits report, in one place: Wilson for proportions, Clopper-Pearson one-sided bounds,
percentile bootstrap for means, statistics and resampled arrays, DeLong for the area under a ROC curve."""

from __future__ import annotations

import numpy as np

from fmcore.intervals import wilson

__all__ = ["auc_interval", "bootstrap_interval", "bootstrap_statistic", "clopper_pearson_lower",
           "clopper_pearson_upper", "percentile_interval", "ratio", "wilson"]


def confidence_bins(conf: np.ndarray, bins: int) -> np.ndarray:
    """Each confidence's equal-width bin: bin i holds (i/bins, (i+1)/bins], and 0 falls in the first. The one rule
    every calibration error here uses (the calibration audit's, the shift audit's, the fairness audit's per group)."""
    return np.clip(np.ceil(np.asarray(conf, dtype=np.float64) * bins).astype(np.int64) - 1, 0, bins - 1)


def binned_calibration(conf: np.ndarray, outcome: np.ndarray, bins: int, codes: np.ndarray | None = None,
                       n_groups: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group (``codes``, 0 .. n_groups-1) and bin: the count, the summed confidence and the summed outcome
    (1 when the predicted event happened), each of shape (n_groups, bins)."""
    codes = np.zeros(len(conf), dtype=np.int64) if codes is None else np.asarray(codes, dtype=np.int64)
    key = codes * bins + confidence_bins(conf, bins)
    size = n_groups * bins
    sums = [np.bincount(key, weights=w, minlength=size).reshape(n_groups, bins)
            for w in (None, np.asarray(conf, dtype=np.float64), np.asarray(outcome, dtype=np.float64))]
    return sums[0].astype(np.int64), sums[1], sums[2]


def calibration_error(conf: np.ndarray, outcome: np.ndarray, bins: int, codes: np.ndarray | None = None,
                      n_groups: int = 1) -> np.ndarray:
    """Expected calibration error per group: the count-weighted mean |mean confidence - outcome rate| over the
    equal-width bins of ``confidence_bins`` (Guo et al. 2017); NaN for an empty group."""
    count, conf_sum, out_sum = binned_calibration(conf, outcome, bins, codes, n_groups)
    return ratio(np.abs(conf_sum - out_sum).sum(1), count.sum(1))


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` elementwise, NaN where ``den`` is 0 (a rate of an empty group is undefined, not 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def clopper_pearson_lower(k, n, level: float = 0.95):
    """One-sided exact (Clopper-Pearson) lower bound on a proportion from ``k`` of ``n``; 0 where ``k`` is 0.
    Works elementwise on arrays."""
    from scipy.stats import beta

    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(k > 0, beta.ppf(1 - level, k, n - k + 1), 0.0)


def clopper_pearson_upper(k, n, level: float = 0.95):
    """One-sided exact (Clopper-Pearson) upper bound on a proportion from ``k`` of ``n``; 1 where ``k`` is ``n``.
    Works elementwise on arrays."""
    from scipy.stats import beta

    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(k < n, beta.ppf(level, k + 1, n - k), 1.0)


def percentile_interval(samples: np.ndarray, level: float = 0.95, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The percentile interval of bootstrap ``samples`` along ``axis``, ignoring NaN (a resample without a group)."""
    tail = (1 - level) / 2 * 100
    with np.errstate(all="ignore"):
        return np.nanpercentile(samples, tail, axis=axis), np.nanpercentile(samples, 100 - tail, axis=axis)


def bootstrap_interval(correct: np.ndarray, n_boot: int, seed: int, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of a 0/1 vector."""
    rng = np.random.default_rng(seed)
    n = len(correct)
    if n == 0:
        return (float("nan"), float("nan"))
    means = correct[rng.integers(0, n, size=(n_boot, n))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def bootstrap_statistic(statistic, n: int, n_boot: int, seed: int, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic(index)`` over ``n_boot`` resamples of ``range(n)``."""
    if n == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    values = np.array([statistic(rng.integers(0, n, size=n)) for _ in range(n_boot)])
    lo, hi = np.quantile(values, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def auc_interval(scores: np.ndarray, positive: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """``(auc, low, high)``: the ROC AUC of ``scores`` for the ``positive`` examples (ties count one half, as
    scikit-learn's) with DeLong's normal interval (DeLong, DeLong & Clarke-Pearson, 1988), clipped to [0, 1].

    DeLong's variance comes from the structural components of the Mann-Whitney statistic, worked out with
    midranks in O(n log n) (Sun & Xu, 2014). Undefined where the references (pROC) say so: with fewer than two
    positives or two negatives the variance does not exist (the AUC does: ``(auc, nan, nan)``); a NaN score makes
    the ranking itself undefined (``(nan, nan, nan)``), never a silent number."""
    from scipy.stats import norm, rankdata

    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive).astype(bool)
    x, y = scores[positive], scores[~positive]
    m, n = len(x), len(y)
    if m == 0 or n == 0 or np.isnan(scores).any():
        return (float("nan"), float("nan"), float("nan"))
    tz = rankdata(np.r_[x, y])
    tx, ty = rankdata(x), rankdata(y)
    auc = (tz[:m].sum() - m * (m + 1) / 2) / (m * n)
    v10 = (tz[:m] - tx) / n  # per positive: the share of negatives it outranks
    v01 = 1 - (tz[m:] - ty) / m  # per negative: the share of positives that outrank it
    if m < 2 or n < 2:
        return float(auc), float("nan"), float("nan")
    var = v10.var(ddof=1) / m + v01.var(ddof=1) / n
    half = float(norm.ppf(1 - (1 - level) / 2)) * float(np.sqrt(var))
    return float(auc), max(0.0, float(auc) - half), min(1.0, float(auc) + half)


def latency_ms(net, inputs, repeats: int) -> dict:
    """Median and quartiles (ms) of ``repeats`` timed forward passes after 3 warm-ups, no gradients."""
    import time

    import torch

    net.eval()
    times = []
    with torch.inference_mode():
        for i in range(repeats + 3):
            t0 = time.perf_counter()
            net(inputs)
            if i >= 3:
                times.append((time.perf_counter() - t0) * 1000)
    q1, med, q3 = np.percentile(times, [25, 50, 75])
    return {"median": float(med), "p25": float(q1), "p75": float(q3)}
