"""Privacy: membership-inference attacks, DP-SGD sweeps, and a de-identification scan of datasets."""

from ._attacks import ATTACKS, DEFAULT_ATTACKS, MEMBERSHIP_ATTACKS, MembershipAttack, register_membership_attack
from ._audit import privacy
from ._roc import auc, empirical_epsilon, roc_points, summarize, tpr_at_fpr
from ._scan import find, k_anonymity, mask, scan, scan_columns, scan_csv, scan_dataset
from ._verdict import membership_verdict

__all__ = ["ATTACKS", "DEFAULT_ATTACKS", "MEMBERSHIP_ATTACKS", "MembershipAttack", "register_membership_attack",
           "auc", "empirical_epsilon", "find", "k_anonymity", "mask", "membership_verdict", "privacy", "roc_points",
           "scan", "scan_columns", "scan_csv", "scan_dataset", "summarize", "tpr_at_fpr"]
