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
    needs : context beyond (model, data, params): ``"store"`` for other models and datasets; ``"family"`` for an audit
        of a model's family in the store (compression: the model and its compressed variants), run with the store and
        the model's id only (its weights and data are not loaded for it, and ``classifier`` and ``dataset`` are None).
    requires : what the model must offer (``CAPABILITIES``).
    partial : capability -> what the audit still does without it.
    tolerance : how far (relative) ``reproduce`` lets a recomputed number be from the claimed one.
    summary : ``summary(result) -> dict``: the tables the CLI's and the job's summary show beside the metrics.
    headline : ``headline(metrics) -> str``: the finding in a few words (tables of audits, the model card).
    figures : ``figures(audit) -> [(caption, plotly figure)]`` from a stored audit (``metrics``, ``tables``,
        ``params``): the dashboard and the HTML report draw the same.
    compare : Compare's rows: ``CompareRow`` each, or ``(label, metric key, higher_is_better, proportion)``.
    order : where its rows come in Compare, lowest first (the built-in audits 10-99; plugins after them by default).
    at_training : its metrics are also recorded when a model is trained (on the test split): a policy that says
        ``accept_model_metrics`` may read them in its place when it has not run (the performance audit).
    policy_keys : metric keys a policy may check (``<name>.<key>``), for the policy editor and docs.
    lines : ``lines(audit_id, result) -> [str]``: the command line's text, where the generic one (headline, scalar
        metrics, tables) would read worse.
    not_reproduced : why ``reproduce`` does not re-run it (its numbers are properties of the machine), "" when it does.
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
    lines: Callable | None = None
    not_reproduced: str = ""
    order: int = 100
    at_training: bool = False
    source: str = ""

    def __post_init__(self):
        if self.options is not None and not self.defaults:
            from dataclasses import asdict

            object.__setattr__(self, "defaults", asdict(self.options()))
        unknown = set(self.requires) - set(CAPABILITIES)
        if unknown:
            raise ValueError(f"Audit {self.name!r} requires unknown capabilities {sorted(unknown)}.")


AUDITS: dict[str, AuditSpec] = {}


@dataclass(frozen=True)
class CompareRow:
    """One of Compare's rows that an audit declares: what it reads from the audit's newest result, which way is
    better, and how it is shown and drawn.

    Parameters
    ----------
    label : the row's name (``at`` rows get `` @ X`` added).
    key : the metric read; or ``get(audit) -> value`` from the stored result (``metrics``, ``tables``, ``params``)
        where one key cannot say (the best of several attacks).
    higher_is_better : True, False, or None for context only (never marked best or worst).
    proportion : shown as a percentage.
    radar : ``(axis label, map of the value onto [0, 1] with 1 the best)`` to draw it on the radar.
    otherwise : ``otherwise(model) -> value`` where the audit has not run (a model's training metrics).
    at : a family of keys ``NAME@X`` (``robust_accuracy@0.1``): read at the X Compare is asked for; ``at_label`` says
        what X is (the page's chooser) and ``at_default`` which X to offer first.
    interval : the metric keys of the value's 95% interval, shown beside it.
    note : ``note(audit, model) -> words or None``: what a reader must know beside this model's value (a mean
        corruption error measured against the model itself: "its own reference").
    """
    label: str
    key: str | None = None
    higher_is_better: bool | None = True
    proportion: bool = False
    get: Callable | None = None
    radar: tuple | None = None
    otherwise: Callable | None = None
    at: str | None = None
    at_label: str = ""
    at_default: float | None = None
    interval: tuple[str, str] | None = None
    note: Callable | None = None

    def read(self, audit: dict | None, model: dict, at: float | None = None):
        """The row's value for ``model`` from its newest stored result of the audit (``audit``, or None), read at
        ``at`` for an ``at`` row; None where it was not measured."""
        value = None
        if audit is not None:
            metrics = audit.get("metrics", {})
            if self.get is not None:
                value = self.get(audit)
            elif self.at is not None:
                value = metrics.get(f"{self.at}@{at:g}") if at is not None else None
            else:
                value = metrics.get(self.key)
        if value is None and self.otherwise is not None:
            value = self.otherwise(model)
        return value


def as_is(value: float) -> float:
    """A radar axis where the value already runs from 0 (worst) to 1 (best): an accuracy."""
    return value


def one_minus(value: float) -> float:
    """A radar axis for a gap or an error: 1 − value."""
    return 1 - value


def from_chance(auc: float) -> float:
    """A radar axis for an attack's AUC: 1 at chance (0.5), 0 at a perfect attack either way (1 − |2·AUC − 1|)."""
    return 1 - abs(2 * auc - 1)


def compare_rows(spec: AuditSpec) -> list[CompareRow]:
    """An audit's Compare rows as ``CompareRow`` (the tuple shorthand read as label, key, higher, proportion)."""
    return [r if isinstance(r, CompareRow) else CompareRow(r[0], r[1], r[2], r[3]) for r in spec.compare]


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
