"""Compare: two to six models on every dimension measured, best and worst marked, a radar chart, and what
changed between a parent and its child."""

import pandas as pd
import streamlit as st

from dashboard import services
from dashboard.components import figures

st.title("Compare")
st.caption("Every dimension the audits measured, side by side. Values come from each model's newest audit of "
           "that kind; an empty cell means not measured. ▲ best, ▼ worst among the models shown.")

store = services.get_store()
models, labels = services.models_or_stop(
    "Compare needs at least two models. Train, fine-tune, mitigate or compress one first.", at_least=2)
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

# (dimension, higher is better, getter)
DIMENSIONS = [
    ("accuracy", True, lambda r, a: a.get("performance", {}).get("metrics", {}).get("accuracy", r.metrics.get(
        "accuracy"))),
    ("majority-class baseline", None, lambda r, a: (services.baseline(r) or {}).get("accuracy")),
    ("balanced accuracy", True, lambda r, a: a.get("performance", {}).get("metrics", {}).get("balanced_accuracy")),
    ("macro-F1", True, lambda r, a: a.get("performance", {}).get("metrics", {}).get("macro_f1", r.metrics.get(
        "macro_f1"))),
    (f"robust accuracy @ {eps:g}" if eps is not None else "robust accuracy", True,
     lambda r, a: a.get("robustness", {}).get("metrics", {}).get(f"robust_accuracy@{eps:g}") if eps else None),
    ("demographic parity gap", False,
     lambda r, a: a.get("fairness", {}).get("metrics", {}).get("demographic_parity_difference")),
    ("equalized odds gap", False, lambda r, a: a.get("fairness", {}).get("metrics", {}).get(
        "equalized_odds_difference")),
    ("attack AUC (strongest)", False, lambda r, a: a.get("privacy", {}).get("metrics", {}).get("max_auc")),
    ("TPR at 1% FPR (best attack)", False, lambda r, a: max(
        (v for k, v in a.get("privacy", {}).get("metrics", {}).items() if k.startswith("tpr_at_1%_fpr[")),
        default=None)),
    ("mean corruption error", False, lambda r, a: a.get("corruption", {}).get("metrics", {}).get(
        "mean_corruption_error")),
    ("accuracy under corruption", True, lambda r, a: a.get("corruption", {}).get("metrics", {}).get("mean_accuracy")),
    ("accuracy on shifted data", True, lambda r, a: a.get("shift", {}).get("metrics", {}).get("shift_accuracy")),
    ("calibration error (ECE)", False, lambda r, a: a.get("calibration", {}).get("metrics", {}).get("ece")),
    ("conformal coverage gap", False, lambda r, a: a.get("calibration", {}).get("metrics", {}).get("coverage_gap")),
    ("DP epsilon", False, lambda r, a: (r.metrics.get("privacy") or {}).get("epsilon")),
    ("size (KiB)", False, lambda r, a: r.size_bytes / 1024),
    ("parameters", False, lambda r, a: r.n_params),
]
values = {d: [getter(r, latest[r.id]) for r in records] for d, _, getter in DIMENSIONS}
rows, marks = [], []
for dim, higher, _ in DIMENSIONS:
    vals = values[dim]
    present = [v for v in vals if v is not None]
    row = {"dimension": dim}
    for r, v in zip(records, vals, strict=True):
        cell = "" if v is None else f"{v:.4g}"
        if higher is not None and len(present) >= 2 and v is not None and max(present) != min(present):
            best = max(present) if higher else min(present)
            worst = min(present) if higher else max(present)
            cell += " ▲" if v == best else " ▼" if v == worst else ""
        row[labels[r.id]] = cell
    perf = [latest[r.id].get("performance", {}).get("metrics", {}) for r in records]
    if dim == "accuracy" and any("accuracy_ci_low" in p for p in perf):
        for r, p in zip(records, perf, strict=True):
            if "accuracy_ci_low" in p:
                row[labels[r.id]] += f" [{p['accuracy_ci_low']:.3f}, {p['accuracy_ci_high']:.3f}]"
    rows.append(row)
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
st.caption("Accuracy shows its 95% bootstrap interval where a performance audit exists: overlapping intervals mean "
           "the difference may be noise.")
measured = [d for d, higher, _ in DIMENSIONS if higher is not None and sum(v is not None for v in values[d]) >= 2]
if measured:
    series = []
    for i, r in enumerate(records):
        scaled = []
        for dim, higher, _ in DIMENSIONS:
            if dim not in measured or higher is None:
                continue
            present = [v for v in values[dim] if v is not None]
            v, lo, hi = values[dim][i], min(present), max(present)
            scaled.append(None if v is None else 1.0 if hi == lo else ((v - lo) / (hi - lo) if higher
                                                                       else (hi - v) / (hi - lo)))
        series.append((labels[r.id], scaled))
    st.plotly_chart(figures.radar(measured, series), width="stretch")
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
              for d, _, _ in DIMENSIONS]
    deltas = [{**x, "change": x["child"] - x["parent"]} for x in deltas
              if x["parent"] is not None and x["child"] is not None]
    st.dataframe(pd.DataFrame(deltas), hide_index=True, width="stretch")
