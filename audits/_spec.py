"""What an audit is, and the table audits register themselves in (this module imports no audit)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class AuditSpec:
    """An audit: its name, title, description, function, default parameters and what context it needs."""
    name: str
    title: str
    description: str
    run: Callable
    defaults: dict
    needs: tuple[str, ...] = ()  # context beyond (model, data, params): "store" for other models and datasets
    requires: tuple[str, ...] = ("predicts", "labels")  # what the model must offer (``fmcore.models.offers_of``)
    partial: dict = field(default_factory=dict)  # capability -> what the audit still does without it
    tolerance: float = 1e-9  # relative: how far ``reproduce`` lets a recomputed number be from the claimed one


AUDITS: dict[str, AuditSpec] = {}


#: what each thing a model may offer means, for the reason an audit does not apply
CAPABILITIES = {
    "predicts": "running on new inputs (a file of predictions has only its own rows)",
    "labels": "predicted labels",
    "scores": "class probabilities",
    "gradients": "gradients (a torch network fmaudit can differentiate; imported scikit-learn and ONNX models are "
                 "black boxes)",
    "weights": "weights fmaudit can change (imported scikit-learn and ONNX models keep their own format)",
    "generates": "a language model that generates text",
    "images": "image inputs (backdoor triggers are searched as pixel patches; tables and texts are not covered yet)",
    "training_rows": "the rows it was trained on (known for models trained here, not for imported or pretrained "
                     "ones)",
}


def register_audit(name: str, title: str, description: str, defaults: dict | None = None,
                   needs: tuple[str, ...] = (), requires: tuple[str, ...] = ("predicts", "labels"),
                   partial: dict | None = None, tolerance: float = 1e-9):
    """Decorator: register ``fn(classifier, dataset, params, progress=None) -> AuditResult`` under ``name``.

    ``progress(fraction, message)``, when given, is called as the audit advances. An audit that
    needs the store (to load a reference model or another dataset) declares ``needs=("store",)`` and
    is called with ``store=`` and ``model_id=`` as well. ``requires`` names what the model must offer
    (``CAPABILITIES``); a model that lacks one is told why the audit does not apply, before it runs.
    ``tolerance`` is how far (relative) ``reproduce`` lets a recomputed number be from the claimed one: an audit
    seeded throughout is deterministic and keeps the default (equal to the last printed digit).
    """
    unknown = set(requires) - set(CAPABILITIES)
    if unknown:
        raise ValueError(f"Audit {name!r} requires unknown capabilities {sorted(unknown)}.")

    def deco(fn):
        AUDITS[name] = AuditSpec(name, title, description, fn, dict(defaults or {}), tuple(needs), tuple(requires),
                                 dict(partial or {}), float(tolerance))
        return fn
    return deco
