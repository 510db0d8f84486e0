"""Compare: two to six models on every dimension measured, best and worst marked, a radar chart, and what
changed between a parent and its child."""

import pandas as pd
import streamlit as st

from dashboard import services
from dashboard.components import figures
from dashboard.components.fmt import pct

st.title("Compare")
st.caption("Every dimension the audits measured, side by side. Values come from each model's newest audit of "
           "that kind; an empty cell means not measured. ▲ best, ▼ worst among the models shown.")

store = services.get_store()
models, labels = services.models_or_stop(
    "Compare needs at least two models. Train, fine-tune, mitigate or compress one first.", at_least=2)
short = services.short_labels(models)
chosen = st.multiselect("Models (2 to 6)", [m.id for m in models], default=[m.id for m in models[:2]],
                        max_selections=6, format_func=labels.get, key="cmp_models")
if len(chosen) < 2:
    st.info("Pick at least two models.")
    st.stop()
records = [store.get_model(i) for i in chosen]
latest = {r.id: {name: a["result"] for name, a in store.latest_audits(r.id).items()} for r in records}
eps_options = sorted({float(k.split("@")[1]) for r in records for k in latest[r.id].get("robustness", {}).get(
    "metrics", {}) if k.startswith("robust_accuracy@")})
eps = st.selectbox("Declared epsilon for robust accuracy", eps_options, index=eps_options.index(0.1)
                   if 0.1 in eps_options else 0, key="cmp_eps") if eps_options else None

def _perf(a: dict, key: str):
    return a.get("performance", {}).get("metrics", {}).get(key)


def _metric(a: dict, audit: str, key: str):
    return a.get(audit, {}).get("metrics", {}).get(key)


# (dimension, higher is better (None: context only), shown as a percentage, getter)
DIMENSIONS = [
    ("accuracy", True, True, lambda r, a: _perf(a, "accuracy") if _perf(a, "accuracy") is not None
     else r.metrics.get("accuracy")),
    ("majority-class baseline", None, True, lambda r, a: (services.baseline(r) or {}).get("accuracy")),
    ("balanced accuracy", True, True, lambda r, a: _perf(a, "balanced_accuracy")),
    ("macro-F1", True, False, lambda r, a: _perf(a, "macro_f1") if _perf(a, "macro_f1") is not None
     else r.metrics.get("macro_f1")),
    (f"robust accuracy @ {eps:g}" if eps is not None else "robust accuracy", True, True,
     lambda r, a: _metric(a, "robustness", f"robust_accuracy@{eps:g}") if eps else None),
    ("demographic parity gap", False, True, lambda r, a: _metric(a, "fairness", "demographic_parity_difference")),
    ("equalized odds gap", False, True, lambda r, a: _metric(a, "fairness", "equalized_odds_difference")),
    ("attack AUC (strongest)", False, False, lambda r, a: _metric(a, "privacy", "max_auc")),
    ("TPR at 1% FPR (best attack)", False, True, lambda r, a: max(
        (v for k, v in a.get("privacy", {}).get("metrics", {}).items() if k.startswith("tpr_at_1%_fpr[")),
        default=None)),
    ("mean corruption error", False, False, lambda r, a: _metric(a, "corruption", "mean_corruption_error")),
    ("accuracy under corruption", True, True, lambda r, a: _metric(a, "corruption", "mean_accuracy")),
    ("accuracy on shifted data", True, True, lambda r, a: _metric(a, "shift", "shift_accuracy")),
    ("calibration error (ECE)", False, False, lambda r, a: _metric(a, "calibration", "ece")),
    ("conformal coverage gap", False, True, lambda r, a: _metric(a, "calibration", "coverage_gap")),
    ("DP epsilon", False, False, lambda r, a: (r.metrics.get("privacy") or {}).get("epsilon")),
    ("size (KiB)", False, False, lambda r, a: r.size_bytes / 1024),
    ("parameters", False, False, lambda r, a: r.n_params),
]
# the radar's axes, each a fixed scale from 0 (worst possible) to 1 (perfect), never rescaled to the models shown
RADAR = {
    "accuracy": ("accuracy", lambda v: v),
    "balanced accuracy": ("balanced accuracy", lambda v: v),
    "macro-F1": ("macro-F1", lambda v: v),
    DIMENSIONS[4][0]: (DIMENSIONS[4][0], lambda v: v),
    "demographic parity gap": ("1 − parity gap", lambda v: 1 - v),
    "equalized odds gap": ("1 − odds gap", lambda v: 1 - v),
    "attack AUC (strongest)": ("privacy: 1 − |2·AUC − 1|", lambda v: 1 - abs(2 * v - 1)),
    "accuracy under corruption": ("accuracy under corruption", lambda v: v),
    "accuracy on shifted data": ("accuracy on shifted data", lambda v: v),
    "calibration error (ECE)": ("1 − ECE", lambda v: 1 - v),
    "conformal coverage gap": ("1 − coverage gap", lambda v: 1 - v),
}
values = {d: [getter(r, latest[r.id]) for r in records] for d, _, _, getter in DIMENSIONS}
rows, unmeasured = [], []
for dim, higher, as_pct, _ in DIMENSIONS:
    vals = values[dim]
    present = [v for v in vals if v is not None]
    if not present:
        unmeasured.append(dim)
        continue
    row = {"dimension": dim}
    for r, v in zip(records, vals, strict=True):
        cell = "" if v is None else pct(v) if as_pct else f"{v:.4g}"
        if higher is not None and len(present) >= 2 and v is not None and max(present) != min(present):
            best = max(present) if higher else min(present)
            worst = min(present) if higher else max(present)
            cell += " ▲" if v == best else " ▼" if v == worst else ""
        row[short[r.id]] = cell
    if dim == "accuracy":
        for r in records:
            p = latest[r.id].get("performance", {}).get("metrics", {})
            if "accuracy_ci_low" in p:
                row[short[r.id]] += f" [{pct(p['accuracy_ci_low'])}, {pct(p['accuracy_ci_high'])}]"
    rows.append(row)
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
st.caption("Accuracy shows its 95% bootstrap interval where a performance audit exists: overlapping intervals mean "
           "the difference may be noise."
           + (f" Not measured for any of these models: {', '.join(unmeasured)}." if unmeasured else ""))
on_radar = [d for d in RADAR if all(v is not None for v in values[d])]
if len(on_radar) >= 3:
    series = [(short[r.id], [RADAR[d][1](values[d][i]) for d in on_radar]) for i, r in enumerate(records)]
    st.plotly_chart(figures.radar([RADAR[d][0] for d in on_radar], series), width="stretch")
    left_out = [d for d in RADAR if d not in on_radar and any(v is not None for v in values[d])]
    st.caption("Every axis is absolute: the centre is 0, the edge is perfect (100% accuracy, no gap, no leakage, "
               "no calibration error); gaps and errors are drawn as 1 − value."
               + (f" Left off because not every model has it: {', '.join(left_out)}." if left_out else ""))
else:
    st.caption("The scorecard radar needs three dimensions measured for every model shown; run their audits first.")
pairs = [(p, c) for p in records for c in records if c.parent_id == p.id]
for parent, child in pairs:
    st.subheader(f"What changed: {parent.id} → {child.id}")
    st.write(f"**How:** {child.derivation.get('how', 'derived')}.")
    changed = {k: v for k, v in child.config.items() if parent.config.get(k) != v}
    if child.derivation.get("augment") or parent.derivation.get("augment"):
        changed["augment"] = child.derivation.get("augment")
    if changed:
        st.json(changed, expanded=False)
    deltas = [{"dimension": d, "parent": values[d][records.index(parent)], "child": values[d][records.index(child)]}
              for d, _, _, _ in DIMENSIONS]
    deltas = [{**x, "change": x["child"] - x["parent"]} for x in deltas
              if x["parent"] is not None and x["child"] is not None]
    st.dataframe(pd.DataFrame(deltas), hide_index=True, width="stretch")
