"""The Wilson score interval, used by the engine (does a model beat its baseline?) and by every audit
(``audits.stats`` re-exports it): one definition of "above chance" everywhere."""

from __future__ import annotations

import math
from statistics import NormalDist

#: the exact two-sided 95% normal quantile (1.959963984540054), not 1.96: the bounds agree with R's prop.test
#: (without continuity correction) and statsmodels' proportion_confint(method="wilson") to the last digit
Z95 = NormalDist().inv_cdf(0.975)


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """95% Wilson score interval for a proportion k/n (NaN, NaN for n = 0: undefined)."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # at k = 0 and k = n one bound is exactly 0 or 1: no rounding may leave the proportion outside its interval
    return (0.0 if k == 0 else float(max(0.0, centre - half)), 1.0 if k == n else float(min(1.0, centre + half)))
