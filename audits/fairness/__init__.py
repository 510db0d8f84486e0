"""Fairness: fairlearn's group metrics and disparities on a vectorised path, with intervals."""

from ._audit import analyse, fairness
from ._metrics import STANDARD, calibration_error, disparities, encode_groups, group_metrics

__all__ = ["STANDARD", "analyse", "calibration_error", "disparities", "encode_groups", "fairness", "group_metrics"]
