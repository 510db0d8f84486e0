"""Running audits by name: defaults first, then the caller's overrides; and the one path from a stored model to
a stored result. The audit modules register themselves in ``_spec`` (which imports none of them), so this module
imports them without a cycle."""

from __future__ import annotations

from fmcore.errors import ConfigError, FmauditError, UnknownNameError

from ._options import check_options, settings_of
from ._spec import AUDITS, CAPABILITIES, AuditSpec, DuplicateAudit, register, register_audit  # noqa: F401


class NotApplicable(FmauditError):
    """The model does not offer what the audit needs (exit 2, with the reason)."""


def missing_for(requires, offers) -> str | None:
    """Why a model offering ``offers`` cannot have an audit that ``requires``, in words; None when it can."""
    lacking = [c for c in requires if c not in offers]
    return "it needs " + "; and ".join(CAPABILITIES[c] for c in lacking) if lacking else None


def model_offers(store, record) -> frozenset:
    """What a stored model offers, read from its metadata (nothing is loaded): ``offers_of`` plus
    ``training_rows`` for models trained or derived here (not imported or pretrained ones)."""
    offers = set(store.offers(record.id))
    if record.derivation.get("how") not in ("imported", "pretrained", "predictions"):
        offers.add("training_rows")
    return frozenset(offers)


def applicable_audits(offers) -> list[dict]:
    """Every audit with whether it applies to a model offering ``offers``, and why not where it does not."""
    specs = load_audits()
    rows = [{"audit": s.name, "title": s.title, "requires": list(s.requires)}
            for s in sorted(specs.values(), key=lambda s: (s.order, s.name))]  # the order Compare shows them in
    for row in rows:
        row["reason"] = missing_for(row["requires"], offers)
        row["applicable"] = row["reason"] is None
        row["note"] = "; ".join(v for k, v in specs[row["audit"]].partial.items() if k not in offers) or None
    return rows


ENTRY_POINTS = "fmaudit.audits"
_loaded: list[bool] = []


def plugin_entry_points() -> list:
    """The installed ``fmaudit.audits`` entry points (nothing is imported to list them)."""
    from importlib.metadata import entry_points

    return sorted(entry_points(group=ENTRY_POINTS), key=lambda ep: ep.name)


_PLUGINS: dict[str, tuple[AuditSpec, str]] = {}


def plugin_specs() -> dict[str, tuple[AuditSpec, str]]:
    """Each installed ``fmaudit.audits`` entry point's ``AuditSpec`` with where it comes from (imports the plugins,
    not the built-in audits: cheap enough for ``--help``). A plugin that does not load is named, not a traceback."""
    if not _PLUGINS:
        for ep in plugin_entry_points():
            dist = getattr(ep, "dist", None)
            source = f"entry point {ep.name} = {ep.value}" + (f" (package {dist.name} {dist.version})" if dist else "")
            try:
                spec = ep.load()
            except Exception as exc:  # noqa: BLE001 - a broken plugin is named, never a traceback
                raise ConfigError(f"The audit plugin {source} does not load: {type(exc).__name__}: {exc}") from None
            if not isinstance(spec, AuditSpec) or spec.name != ep.name:
                raise ConfigError(f"The audit plugin {source} must name an AuditSpec called {ep.name!r}.")
            if ep.name in _PLUGINS:
                raise ConfigError(str(DuplicateAudit(ep.name, _PLUGINS[ep.name][1], source)))
            _PLUGINS[ep.name] = (spec, source)
    return _PLUGINS


def load_audits() -> dict[str, AuditSpec]:
    """Every audit by name: the built-in modules (which register themselves) on the first call, then each installed
    entry point of the group ``fmaudit.audits`` (pytest and Jupyter find their plugins this way); an entry point names
    an ``AuditSpec``. A name registered twice is an error naming both sources."""
    from . import (  # noqa: F401
        backdoor,
        compression,
        explain,
        fairness,
        memorization,
        ood,
        performance,
        privacy,
        probes,
        robustness,
    )

    if not _loaded:
        for spec, source in plugin_specs().values():
            try:
                register(spec, source)
            except DuplicateAudit as exc:
                raise ConfigError(str(exc)) from None
        _loaded.append(True)
    return AUDITS


def installed_audit(name: str) -> AuditSpec | None:
    """The audit registered as ``name``, or None for one no longer installed (a stored result outlives its plugin):
    for readers of stored results, which must not fail on it; ``get_audit`` refuses an unknown name."""
    return load_audits().get(name)


def audit_settings(name: str, params: dict | None, keyed: bool = True) -> dict:
    """What an audit named ``name`` was measured with that can change its numbers or verdict (``settings_of``):
    the one lookup behind reports, Compare and the pages' captions; {} for an audit without declared options or one
    no longer installed."""
    spec = installed_audit(name)
    return settings_of(spec, params or {}, keyed) if spec is not None else {}


def get_audit(name: str) -> AuditSpec:
    """The audit registered as ``name`` (an unknown name lists the known ones)."""
    load_audits()
    if name not in AUDITS:
        raise UnknownNameError("audit", name, list(AUDITS))
    return AUDITS[name]


def run_audit(name: str, classifier, dataset, model_id: str | None = None, progress=None, store=None,
              offers=None, **overrides):
    """Run audit ``name`` with its defaults updated by ``overrides``; refused (``NotApplicable``) when the model
    does not offer what the audit requires (``offers``: the model's own, plus ``training_rows``, by default)."""
    spec = get_audit(name)
    unknown = set(overrides) - set(spec.defaults)
    if unknown:
        raise ConfigError(f"Audit {name!r} has no option(s) {sorted(unknown)}; options: {sorted(spec.defaults)}.")
    check_options(spec, {**spec.defaults, **overrides})
    why = missing_for(spec.requires, offers if offers is not None else classifier.offers | {"training_rows"})
    if why:
        raise NotApplicable(f"The {spec.title.lower()} audit does not apply to this model: {why}.")
    context = {"store": store, "model_id": model_id} if {"store", "family"} & set(spec.needs) else {}
    result = spec.run(classifier, dataset, {**spec.defaults, **overrides}, progress=progress, **context)
    if not ("family" in spec.needs and result.model_id):  # a family's audit names the family's head
        result.model_id = model_id
    return result


def run_stored_audit(store, name: str, model_id: str, progress=None, **overrides):
    """Load model ``model_id`` and its dataset from ``store``, run audit ``name`` and store the result.

    The one path the command line, the dashboard's jobs, pipelines and sweeps take; returns
    ``(audit_id, result)``.
    """

    record = store.get_model(model_id)
    offers = model_offers(store, record)
    spec = get_audit(name)
    why = missing_for(spec.requires, offers)
    if why:  # said before the model and its data are loaded
        raise NotApplicable(f"The {spec.title.lower()} audit does not apply to this model: {why}.")
    family = "family" in spec.needs  # the store and the model's id are all it needs
    result = run_audit(name, None if family else store.load_classifier(record.id),
                       None if family else store.load_model_dataset(record.id),
                       record.id, progress=progress, store=store, offers=offers, **overrides)
    audit_id = store.add_audit(result.model_id or record.id, name, result.params, result.to_dict())
    return audit_id, result
