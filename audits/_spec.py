"""What an audit is, and the table audits register themselves in (this module imports no audit)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class AuditSpec:
    """An audit: its name, title, description, function, default parameters and what context it needs."""
    name: str
    title: str
    description: str
    run: Callable
    defaults: dict
    needs: tuple[str, ...] = ()  # context beyond (model, data, params): "store" for other models and datasets


AUDITS: dict[str, AuditSpec] = {}


def register_audit(name: str, title: str, description: str, defaults: dict | None = None,
                   needs: tuple[str, ...] = ()):
    """Decorator: register ``fn(classifier, dataset, params, progress=None) -> AuditResult`` under ``name``.

    ``progress(fraction, message)``, when given, is called as the audit advances. An audit that
    needs the store (to load a reference model or another dataset) declares ``needs=("store",)`` and
    is called with ``store=`` and ``model_id=`` as well.
    """
    def deco(fn):
        AUDITS[name] = AuditSpec(name, title, description, fn, dict(defaults or {}), tuple(needs))
        return fn
    return deco
