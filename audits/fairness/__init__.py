"""Fairness: fairlearn's group metrics and disparities on a vectorised path, with intervals; mitigations."""

from ._audit import analyse, fairness
from ._metrics import (
           MIN_GROUP,
           STANDARD,
           calibration_error,
           disparities,
           encode_groups,
           group_metrics,
           headline_disparities,
)
from ._mitigate import (
    CONSTRAINTS,
    METHODS,
    MITIGATIONS,
    MitigationMethod,
    MitigationResult,
    mitigate,
    mitigation_verdict,
    register_mitigation,
    tradeoff_point,
    tradeoff_table,
)

__all__ = ["CONSTRAINTS", "METHODS", "MITIGATIONS", "MitigationMethod", "register_mitigation", "MIN_GROUP",
           "STANDARD", "MitigationResult", "analyse", "calibration_error", "disparities", "encode_groups",
           "fairness", "group_metrics", "headline_disparities", "mitigate", "mitigation_verdict", "tradeoff_point",
           "tradeoff_table"]
