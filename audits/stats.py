"""Intervals used by every audit: Wilson for proportions, percentile bootstrap for means and statistics."""

from __future__ import annotations

import numpy as np

from fmcore._intervals import wilson

__all__ = ["bootstrap_interval", "bootstrap_statistic", "wilson"]


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
