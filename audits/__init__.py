"""Audits: pure functions ``(classifier, dataset, params) -> AuditResult``. No streamlit here.

The audit modules (and torch, ART, fairlearn behind them) load on first use, not on ``import audits``: a page that
only draws charts (``audits.figures``) starts in a fraction of the time.
"""

from ._registry import (
    BUILTIN,
    AuditSpec,
    NotApplicable,
    applicable_audits,
    audit_names,
    get_audit,
    load_audits,
    model_offers,
    plugin_specs,
    register_audit,
    run_audit,
    run_stored_audit,
)
from ._result import AuditResult, package_versions

__all__ = ["AUDITS", "BUILTIN", "AuditResult", "AuditSpec", "NotApplicable", "applicable_audits", "audit_names",
           "get_audit", "load_audits", "model_offers", "package_versions", "plugin_specs", "register_audit",
           "run_audit", "run_stored_audit"]


def __getattr__(name: str):
    if name == "AUDITS":  # every audit, registered
        return load_audits()
    raise AttributeError(f"module 'audits' has no attribute {name!r}")
