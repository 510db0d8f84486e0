"""Out-of-domain data: corruption and shift audits, calibration and uncertainty, augmentation as a remedy."""

from ..groups import group_values
from ._calibration import calibration, conformal_threshold, expected_calibration_error, fit_temperature
from ._corruption import corruption, default_reference
from ._corruptions import CORRUPTIONS, SEVERITIES, CorruptionSpec, corrupt, corruptions_for, register_corruption
from ._shift import DEFAULT_SHIFT, psi, shift
from ._temperature import CalibrateResult, calibrate

__all__ = ["CORRUPTIONS", "DEFAULT_SHIFT", "SEVERITIES", "CalibrateResult", "CorruptionSpec", "calibrate",
           "calibration", "conformal_threshold", "corrupt", "corruption", "corruptions_for", "default_reference",
           "expected_calibration_error", "fit_temperature", "group_values", "psi", "register_corruption", "shift"]
