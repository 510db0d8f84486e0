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


def load_audits() -> dict[str, AuditSpec]:
    """Every audit by name, importing the audit modules (which register themselves) on the first call."""
    from . import fairness, ood, performance, privacy, robustness  # noqa: F401

    return AUDITS


def get_audit(name: str) -> AuditSpec:
    load_audits()
    if name not in AUDITS:
        raise UnknownNameError("audit", name, list(AUDITS))
    return AUDITS[name]


def run_audit(name: str, classifier, dataset, model_id: str | None = None, progress=None, store=None,
              **overrides):
    """Run audit ``name`` with its defaults updated by ``overrides``."""
    spec = get_audit(name)
    unknown = set(overrides) - set(spec.defaults)
    if unknown:
        raise ValueError(f"Audit {name!r} has no option(s) {sorted(unknown)}; options: {sorted(spec.defaults)}.")
    context = {"store": store, "model_id": model_id} if "store" in spec.needs else {}
    result = spec.run(classifier, dataset, {**spec.defaults, **overrides}, progress=progress, **context)
    result.model_id = model_id
    return result


def run_stored_audit(store, name: str, model_id: str, progress=None, **overrides):
    """Load model ``model_id`` and its dataset from ``store``, run audit ``name`` and store the result.

    The one path the command line and the dashboard's jobs take; returns ``(audit_id, result)``.
    """
    from fmcore.data import load_dataset

    record = store.get_model(model_id)
    result = run_audit(name, store.load_classifier(record.id), load_dataset(record.dataset, store=store), record.id,
                       progress=progress, store=store, **overrides)
    audit_id = store.add_audit(record.id, name, result.params, result.to_dict())
    return audit_id, result
