"""What an audit is, and the table audits register themselves in (this module imports no audit)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class AuditSpec:
    """An audit, described once: everything else (the CLI's subcommand and flags, the job, the dashboard's options
    form, the report's figures, Compare's rows, the policy keys, how ``reproduce`` compares) is derived from it.

    Parameters
    ----------
    name, title, description : how it is called and shown.
    run : ``run(classifier, dataset, params, progress=None) -> AuditResult``; ``params`` is a dict of every option.
    defaults : the options' defaults; derived from ``options`` when that is given.
    options : a dataclass of the options (each field: type, default, ``metadata={"help": ...}``, optionally
        ``"choices"``): the CLI's flags and the dashboard's form are generated from it.
    needs : context beyond (model, data, params): ``"store"`` for other models and datasets.
    requires : what the model must offer (``CAPABILITIES``).
    partial : capability -> what the audit still does without it.
    tolerance : how far (relative) ``reproduce`` lets a recomputed number be from the claimed one.
    summary : ``summary(result) -> dict``: the tables the CLI's and the job's summary show beside the metrics.
    headline : ``headline(metrics) -> str``: the finding in a few words (tables of audits, the model card).
    figures : ``figures(audit) -> [(caption, plotly figure)]`` from a stored audit (``metrics``, ``tables``,
        ``params``): the dashboard and the HTML report draw the same.
    compare : Compare's rows: ``(label, metric key, higher_is_better, proportion)`` each.
    policy_keys : metric keys a policy may check (``<name>.<key>``), for the policy editor and docs.
    source : where it was registered (a module, or an entry point and its distribution).
    """
    name: str
    title: str
    description: str = ""
    run: Callable | None = None
    defaults: dict = field(default_factory=dict)
    needs: tuple[str, ...] = ()
    requires: tuple[str, ...] = ("predicts", "labels")
    partial: dict = field(default_factory=dict)
    tolerance: float = 1e-9
    options: type | None = None
    summary: Callable | None = None
    headline: Callable | None = None
    figures: Callable | None = None
    compare: tuple = ()
    policy_keys: tuple[str, ...] = ()
    source: str = ""

    def __post_init__(self):
        if self.options is not None and not self.defaults:
            from dataclasses import asdict

            object.__setattr__(self, "defaults", asdict(self.options()))
        unknown = set(self.requires) - set(CAPABILITIES)
        if unknown:
            raise ValueError(f"Audit {self.name!r} requires unknown capabilities {sorted(unknown)}.")


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


class DuplicateAudit(ValueError):
    """Two audits registered under one name: the message names both sources."""

    def __init__(self, name: str, first: str, second: str):
        super().__init__(f"The audit {name!r} is registered twice: by {first} and by {second}. Uninstall one, or give "
                         "one another name.")


def register(spec: AuditSpec, source: str | None = None) -> AuditSpec:
    """Add ``spec`` to the registry (``source``: where it comes from, for messages). A name registered twice from
    two places is an error naming both; the same place registering again (a module reloaded) replaces it."""
    source = source or spec.source or "(unknown)"
    known = AUDITS.get(spec.name)
    if known is not None and known.source != source:
        raise DuplicateAudit(spec.name, known.source, source)
    from dataclasses import replace

    AUDITS[spec.name] = replace(spec, source=source)
    return AUDITS[spec.name]


def register_audit(name: str, title: str, description: str, defaults: dict | None = None,
                   needs: tuple[str, ...] = (), requires: tuple[str, ...] = ("predicts", "labels"),
                   partial: dict | None = None, tolerance: float = 1e-9, **described):
    """Decorator: register ``fn(classifier, dataset, params, progress=None) -> AuditResult`` under ``name``.

    ``progress(fraction, message)``, when given, is called as the audit advances. An audit that
    needs the store (to load a reference model or another dataset) declares ``needs=("store",)`` and
    is called with ``store=`` and ``model_id=`` as well. ``requires`` names what the model must offer
    (``CAPABILITIES``); a model that lacks one is told why the audit does not apply, before it runs.
    ``tolerance`` is how far (relative) ``reproduce`` lets a recomputed number be from the claimed one: an audit
    seeded throughout is deterministic and keeps the default (equal to the last printed digit). ``described``:
    the other ``AuditSpec`` fields (``summary``, ``headline``, ``figures``, ``compare``, ``options``, ...).
    """
    def deco(fn):
        register(AuditSpec(name, title, description, fn, dict(defaults or {}), tuple(needs), tuple(requires),
                           dict(partial or {}), float(tolerance), **described), source=f"module {fn.__module__}")
        return fn
    return deco
