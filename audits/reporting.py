"""Flat summaries of audit results for the CLI and for reports (the full result stays in the store)."""

from __future__ import annotations


def _spec(name: str):
    from ._registry import load_audits

    return load_audits().get(name)


def headline(name: str, metrics: dict) -> str:
    """An audit's finding in a few words, from its spec's ``headline`` ("" when it has none)."""
    spec = _spec(name)
    return spec.headline(metrics) if spec is not None and spec.headline else ""


def audit_summary(result) -> dict:
    """The headline numbers of an ``AuditResult`` and the tables its spec's ``summary`` adds (robustness: its
    per-epsilon sweep)."""
    out = {"audit": result.audit, "model_id": result.model_id, "dataset": result.dataset, **result.metrics,
           "warnings": list(result.warnings)}
    spec = _spec(result.audit)
    if spec is not None and spec.summary:
        out.update(spec.summary(result))
    if result.audit == "robustness":
        out["sweep"] = result.tables["sweep"]
        out["checks"] = result.tables["checks"]
    if result.audit == "fairness":
        out["disparities"] = result.tables["disparities"]
    if result.audit == "privacy":
        out["auc"] = {r["attack"]: r["auc"] for r in result.tables["attacks"]}
        out["attacks"] = [{k: v for k, v in r.items() if k != "description"} for r in result.tables["attacks"]]
    if result.audit == "corruption":
        out["corruptions"] = result.tables["summary"]
        out["rows"] = result.tables["corruptions"]
    if result.audit == "calibration":
        by_group: dict = {}
        for r in result.tables["groups"]:
            by_group.setdefault(r["attribute"], {})[r["group"]] = r["coverage"]
        out["coverage_by_group"] = by_group
        out["groups"] = result.tables["groups"]
    if result.audit == "explain":
        out["methods"] = result.tables["methods"]
        for key in ("proxies", "recourse_by_group"):
            if key in result.tables:
                out[key] = result.tables[key]
    if result.audit == "certified":
        out["rows"] = result.tables["radii"]
        out["checks"] = result.tables["checks"]
    if result.audit == "memorization":
        out["canaries"] = result.tables["canaries"]
        out["mia"] = result.tables["mia"]
    if result.audit == "probes":
        out["groups"] = result.tables["groups"]
        out["generations"] = result.tables["generations"]
    if result.audit == "shift":
        out["drifted"] = [r["feature"] for r in result.tables["features"] if r["drifted"]]
        out["features"] = result.tables["features"]
    return out
