"""Audits: pure functions ``(classifier, dataset, params) -> AuditResult``. No streamlit here."""

from . import fairness, ood, performance, privacy, robustness  # noqa: F401  (register the audits)
from ._registry import AUDITS, AuditSpec, get_audit, register_audit, run_audit, run_stored_audit
from ._result import AuditResult, package_versions

__all__ = ["AUDITS", "AuditResult", "AuditSpec", "get_audit", "package_versions", "register_audit", "run_audit",
           "run_stored_audit"]
