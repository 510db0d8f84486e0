"""Running audits by name: defaults first, then the caller's overrides; and the one path from a stored model to
a stored result. The audit modules register themselves in ``_spec`` (which imports none of them), so this module
imports them without a cycle."""

from __future__ import annotations

from fmcore.errors import UnknownNameError

from ._spec import AUDITS, AuditSpec, register_audit  # noqa: F401  (re-exported)


def load_audits() -> dict[str, AuditSpec]:
    """Every audit by name, importing the audit modules (which register themselves) on the first call."""
    from . import explain, fairness, ood, performance, privacy, robustness  # noqa: F401

    return AUDITS


def get_audit(name: str) -> AuditSpec:
    """The audit registered as ``name`` (an unknown name lists the known ones)."""
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

    The one path the command line, the dashboard's jobs, pipelines and sweeps take; returns
    ``(audit_id, result)``. ``compression`` compares the model with its stored compressed variants.
    """

    record = store.get_model(model_id)
    if name == "compression":  # a family of stored models, not one model on its data
        from .compression import compression_audit

        result = compression_audit(store, record.id, progress=progress, **overrides)
    else:
        result = run_audit(name, store.load_classifier(record.id), store.load_model_dataset(record.id),
                           record.id, progress=progress, store=store, **overrides)
    audit_id = store.add_audit(result.model_id or record.id, name, result.params, result.to_dict())
    return audit_id, result
