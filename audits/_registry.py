"""A registry of audits by name: defaults first, then the caller's overrides."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fmcore.errors import UnknownNameError


@dataclass(frozen=True)
class AuditSpec:
    name: str
    title: str
    description: str
    run: Callable
    defaults: dict


AUDITS: dict[str, AuditSpec] = {}


def register_audit(name: str, title: str, description: str, defaults: dict | None = None):
    """Decorator: register ``fn(classifier, dataset, params, progress=None) -> AuditResult`` under ``name``.

    ``progress(fraction, message)``, when given, is called as the audit advances.
    """
    def deco(fn):
        AUDITS[name] = AuditSpec(name, title, description, fn, dict(defaults or {}))
        return fn
    return deco


def get_audit(name: str) -> AuditSpec:
    if name not in AUDITS:
        raise UnknownNameError("audit", name, list(AUDITS))
    return AUDITS[name]


def run_audit(name: str, classifier, dataset, model_id: str | None = None, progress=None, **overrides):
    """Run audit ``name`` with its defaults updated by ``overrides``."""
    spec = get_audit(name)
    unknown = set(overrides) - set(spec.defaults)
    if unknown:
        raise ValueError(f"Audit {name!r} has no option(s) {sorted(unknown)}; options: {sorted(spec.defaults)}.")
    result = spec.run(classifier, dataset, {**spec.defaults, **overrides}, progress=progress)
    result.model_id = model_id
    return result
