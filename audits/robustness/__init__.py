"""Adversarial robustness: evasion attacks (ART), epsilon sweeps with checks, adversarial training."""

from ._attacks import ATTACKS, AttackSpec, check_eps, get_attack
from ._certified import certified
from ._estimator import art_estimator, feature_range
from ._harden import HardenResult, clean_and_robust, harden
from ._sweep import robustness, wilson
from ._torch_pgd import pgd, pgd_batched

__all__ = ["art_estimator", "ATTACKS", "AttackSpec", "certified", "check_eps", "clean_and_robust", "feature_range",
    "get_attack",
    "harden", "HardenResult", "pgd", "pgd_batched", "robustness", "wilson"]
