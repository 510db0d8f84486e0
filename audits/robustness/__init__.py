"""Adversarial robustness: evasion attacks (ART), epsilon sweeps with checks, adversarial training."""

from ._attacks import ATTACKS, AttackSpec, check_eps, get_attack
from ._blackbox import BLACK_BOX_ATTACKS
from ._certified import certified
from ._estimator import art_estimator, feature_range
from ._harden import HardenResult, clean_and_robust, harden
from ._sweep import robustness, wilson
from ._torch_pgd import pgd, pgd_batched

__all__ = ["ATTACKS", "BLACK_BOX_ATTACKS", "AttackSpec", "HardenResult", "art_estimator", "certified", "check_eps",
           "clean_and_robust", "feature_range", "get_attack", "harden", "pgd", "pgd_batched", "robustness", "wilson"]
