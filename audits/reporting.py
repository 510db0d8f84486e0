"""Flat summaries of audit results for the CLI and for reports (the full result stays in the store)."""

from __future__ import annotations

from ._format import MISSING, number, pct, score  # noqa: F401  (re-exported)


def _described(name: str, what: str):
    """An audit's ``headline`` or ``figures`` from its spec; None when it has none (or is no longer installed)."""
    from ._registry import installed_audit

    spec = installed_audit(name)
    return getattr(spec, what) if spec is not None else None


def headline(name: str, metrics: dict) -> str:
    """An audit's finding in a few words, from its spec's ``headline``; where that says nothing, the first sentence
    of the audit's verdict (every audit gives a one-line finding); "" when it has neither."""
    found = _described(name, "headline")
    text = found(metrics) if found else ""
    verdict = metrics.get("verdict")
    if not text and isinstance(verdict, str) and verdict:
        text = verdict.split(". ")[0].rstrip(".")
    return text


def audit_figures(audit: dict) -> list:
    """``[(caption, plotly figure)]`` of a stored audit (``name``, ``metrics``, ``tables``, ``params``), from its
    spec's ``figures``, every label made text (``figures.inert_figure``); [] when it draws none."""
    found = _described(audit["name"], "figures")
    if not found:
        return []
    from .figures import inert_figure

    return [(caption, inert_figure(fig)) for caption, fig in found(audit)]


def audit_summary(result) -> dict:
    """The headline numbers of an ``AuditResult`` and the tables its spec's ``summary`` adds (robustness: its
    per-epsilon sweep)."""
    out = {"audit": result.audit, "model_id": result.model_id, "dataset": result.dataset, **result.metrics,
           "warnings": list(result.warnings)}
    from ._registry import installed_audit

    spec = installed_audit(result.audit)
    if spec is not None and spec.summary:
        out.update(spec.summary(result))
    return out
