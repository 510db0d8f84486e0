"""Explanations that are checked before anyone trusts them: attributions (Captum, SHAP), each with a sanity
check (model-parameter randomisation), faithfulness (deletion curves against a random order) and stability; for
tables, the sensitive-attribute proxies the model leans on."""

from ._attribution import METHODS, attribute, methods_for
from ._audit import DEFAULT_METHOD, explain
from ._checks import deletion_curve, randomised_copy, rank_correlation
from ._recourse import plain_value

__all__ = ["DEFAULT_METHOD", "METHODS", "attribute", "deletion_curve", "explain", "methods_for", "plain_value",
           "randomised_copy", "rank_correlation"]
