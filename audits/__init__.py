"""Audits: pure functions ``(classifier, dataset, params) -> AuditResult``. No streamlit here.

The audit modules (and torch, ART, fairlearn behind them) load on first use, not on ``import audits``: a page that
only draws charts (``audits.figures``) starts in a fraction of the time.
"""

from ._options import Option, describe_settings, given_options, opt, options_of, shared_flags
from ._registry import (
    AuditSpec,
    NotApplicable,
    applicable_audits,
    audit_settings,
    get_audit,
    load_audits,
    model_offers,
    plugin_specs,
    register_audit,
    run_audit,
    run_stored_audit,
)
from ._result import AuditResult, metric_at, package_versions
from ._spec import CompareRow

__all__ = ["AUDITS", "AuditResult", "AuditSpec", "CompareRow", "NotApplicable", "Option", "applicable_audits",
           "audit_settings", "describe_settings", "get_audit", "given_options", "load_audits", "metric_at",
           "model_offers", "options_of", "opt", "package_versions", "plugin_specs", "register_audit", "run_audit",
           "run_stored_audit", "shared_flags"]


def __getattr__(name: str):
    if name == "AUDITS":  # every audit, registered
        return load_audits()
    raise AttributeError(f"module 'audits' has no attribute {name!r}")
