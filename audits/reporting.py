"""Flat summaries of audit results for the CLI and for reports (the full result stays in the store)."""

from __future__ import annotations


def audit_summary(result) -> dict:
    """The headline numbers of an ``AuditResult``; robustness adds its per-epsilon sweep."""
    out = {"audit": result.audit, "model_id": result.model_id, "dataset": result.dataset, **result.metrics,
           "warnings": list(result.warnings)}
    if result.audit == "robustness":
        out["sweep"] = result.tables["sweep"]
        out["checks"] = result.tables["checks"]
    if result.audit == "fairness":
        out["disparities"] = result.tables["disparities"]
    if result.audit == "privacy":
        out["auc"] = {r["attack"]: r["auc"] for r in result.tables["attacks"]}
        out["attacks"] = [{k: v for k, v in r.items() if k != "description"} for r in result.tables["attacks"]]
    return out
