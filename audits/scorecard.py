"""The Compare scorecard as pure functions: every measured dimension of several models, best and worst marked,
and a radar on absolute axes. The dashboard draws what these return; tests check them without Streamlit.

A model is given as a dict: ``id``, ``metrics`` (its training metrics), ``size_bytes``, ``n_params``,
``baseline`` (majority-class accuracy or None) and ``audits`` (audit name -> newest result dict).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ._spec import CompareRow


@dataclass(frozen=True)
class Dimension:
    """One scorecard row: its name, direction, whether it is a proportion, getter and radar axis."""
    name: str
    higher_is_better: bool | None  # None: context only (never marked best or worst)
    proportion: bool  # shown as a percentage
    get: Callable[[dict], float | None]
    radar: tuple[str, Callable[[float], float]] | None = None  # axis label and map onto [0, 1], 1 perfect
    audit: str | None = None  # the audit it reads: models are ranked only where that audit's settings agree
    interval: Callable[[dict], tuple | None] | None = None  # the value's 95% interval, where the audit gives one
    note: Callable[[dict], str | None] | None = None  # words beside a model's value (``CompareRow.note``)


#: rows about the model itself rather than an audit of it, after the audits' rows
MODEL_ROWS = (
    Dimension("test perplexity (language models)", False, False, lambda m: m["metrics"].get("test_perplexity")),
    Dimension("DP epsilon", False, False, lambda m: (m["metrics"].get("privacy") or {}).get("epsilon")),
    Dimension("size (KiB)", False, False, lambda m: m["size_bytes"] / 1024),
    Dimension("parameters", False, False, lambda m: m["n_params"]),
)


def _rows() -> list[tuple[str, CompareRow]]:
    """Every audit's declared rows with its name, in the audits' ``order``."""
    from ._registry import load_audits
    from ._spec import compare_rows

    specs = sorted(load_audits().values(), key=lambda s: (s.order, s.name))
    return [(spec.name, row) for spec in specs for row in compare_rows(spec)]


def choices(models: list[dict]) -> dict[str, dict]:
    """For each ``at`` row's family of keys (``robust_accuracy``): what its X is (``label``), the values any of
    ``models`` measured (``values``, sorted) and the one to offer first (``default``); only families measured."""
    from ._result import metric_at

    out = {}
    for audit, row in _rows():
        if row.at is None:
            continue
        found = sorted({x for m in models for x in metric_at((m["audits"].get(audit) or {}).get("metrics", {}),
                                                               row.at)})
        if found:
            out[row.at] = {"label": row.at_label or f"{row.label} at", "values": found,
                           "default": row.at_default if row.at_default in found else found[0]}
    return out


def dimensions(at: dict | None = None) -> list[Dimension]:
    """Every dimension, in the scorecard's order: each audit's declared rows (``at`` rows read at ``at[family]``),
    then the model's own."""
    at = at or {}
    dims = []
    for audit, row in _rows():
        x = at.get(row.at) if row.at else None
        name = f"{row.label} @ {x:g}" if x is not None else row.label

        def get(m, audit=audit, row=row, x=x):
            return row.read(m["audits"].get(audit), m, x)

        def interval(m, audit=audit, row=row):
            metrics = (m["audits"].get(audit) or {}).get("metrics", {})
            low, high = (metrics.get(k) for k in row.interval)
            return (low, high) if low is not None and high is not None else None

        def note(m, audit=audit, row=row):
            result = m["audits"].get(audit)
            return row.note(result, m) if result is not None else None

        dims.append(Dimension(name, row.higher_is_better, row.proportion, get, row.radar and (
            f"{row.radar[0]} @ {x:g}" if x is not None else row.radar[0], row.radar[1]), audit,
            interval if row.interval else None, note if row.note else None))
    return [*dims, *MODEL_ROWS]


def settings(models: list[dict], audit: str) -> list[dict | None]:
    """Each model's settings of its newest ``audit`` (``settings_of``; the eps or radii the metric keys name left
    out), None where it has none."""
    from ._registry import audit_settings

    return [audit_settings(audit, m["audits"][audit].get("params"), keyed=False) if audit in m["audits"] else None
            for m in models]


def differing(found: list[dict | None]) -> str | None:
    """In words, the settings on which the measured models differ (``min_group_size 30 / 100``); None if none."""
    found = [s for s in found if s is not None]
    keys = sorted({k for s in found for k in s if len({repr(x.get(k)) for x in found}) > 1})
    if not keys:
        return None
    from ._options import describe_settings

    return "; ".join(describe_settings({k: " / ".join(dict.fromkeys(repr(s.get(k)) for s in found))}) for k in keys)


def scorecard(models: list[dict], at: dict | None = None) -> dict:
    """``rows``: one per dimension some model has, with each model's value and mark (``best``, ``worst`` or
    None), and ``unranked`` (why not) where the models' audits were measured under different settings: those are
    never ranked against each other; ``unmeasured``: dimensions no model has; ``radar``: axes every model has (at
    least three, else none), each model's values on them in [0, 1], and the axes left off because a model lacks
    them or because the settings differ; ``intervals``: dimension -> each model's 95% interval (or None), for the
    rows that declare one. ``at``: for each ``at`` row's family of keys, the X to read it at (``choices``)."""
    dims = dimensions(at)
    values = {d.name: [d.get(m) for m in models] for d in dims}
    found = {a: settings(models, a) for a in {d.audit for d in dims if d.audit}}
    rows, unmeasured, unranked = [], [], {}
    for d in dims:
        vals = values[d.name]
        present = [v for v in vals if v is not None]
        if not present:
            unmeasured.append(d.name)
            continue
        marks = [None] * len(vals)
        why = differing([s for s, v in zip(found[d.audit], vals, strict=True) if v is not None]) if d.audit else None
        if why:
            unranked[d.name] = f"not ranked: the {d.audit} audits differ in {why}"
        elif d.higher_is_better is not None and len(present) >= 2 and max(present) != min(present):
            best = max(present) if d.higher_is_better else min(present)
            worst = min(present) if d.higher_is_better else max(present)
            marks = [None if v is None else "best" if v == best else "worst" if v == worst else None for v in vals]
        rows.append({"dimension": d.name, "proportion": d.proportion, "values": vals, "marks": marks,
                     "unranked": unranked.get(d.name),
                     "intervals": [d.interval(m) for m in models] if d.interval else [None] * len(models),
                     "notes": [d.note(m) if d.note and v is not None else None for m, v in zip(models, vals,
                                                                                             strict=True)]})
    on_radar = [d for d in dims if d.radar and all(v is not None for v in values[d.name]) and d.name not in unranked]
    left_out = [d.name for d in dims if d.radar and d not in on_radar and any(v is not None for v in values[d.name])]
    if len(on_radar) < 3:
        on_radar = []
    radar = {"axes": [d.radar[0] for d in on_radar],
             "series": [[d.radar[1](values[d.name][i]) for d in on_radar] for i in range(len(models))],
             "left_out": left_out}
    return {"rows": rows, "unmeasured": unmeasured, "radar": radar, "values": values, "unranked": unranked,
            "settings": {a: s for a, s in found.items() if any(x is not None for x in s)}}
