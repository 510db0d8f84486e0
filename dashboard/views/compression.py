"""Compression: make pruned, quantized, half-precision and distilled variants; compare size, speed, accuracy,
fairness and robustness with the original."""

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import services
from dashboard.components import figures
from dashboard.components.fmt import number, pct, plain, show_table
from dashboard.components.jobs import follow_job
from fmcore.compress import METHODS

PRESETS = ["prune:0.5", "prune:0.8", "prune:0.9", "channels:0.5", "int8", "dynamic_int8", "fp16", "bf16",
           "distill:0.5", "onnx", "onnx_int8"]

st.title("Compression")
st.caption("Smaller, faster models can keep their headline accuracy while failing different people (Hooker et al., "
           "2020). Each variant is a registered model with the original as parent; the audit compares size on disk, "
           "latency, accuracy, the examples whose answer flips, and the change in fairness gap and robustness.")

store, runner = services.get_store(), services.get_runner()
models, labels = services.models_or_stop(
    "No image or tabular model yet. Train one on the Train page (the seed CNN on digits takes seconds).",
    lambda m: services.dataset_modality(m.dataset) != "text" and not m.derivation.get("compression")
    and not m.derivation.get("method") and services.applies(m, "compression"))
model_id = st.selectbox("Model to compress", [m.id for m in models], format_func=labels.get, key="comp_model")
with st.form("comp_form"):
    chosen = st.multiselect("Methods and levels", PRESETS, default=["prune:0.8", "channels:0.5", "int8", "fp16"],
                            key="comp_methods", accept_new_options=True,
                            help="\n\n".join(f"**{k}**: {v}" for k, v in METHODS.items())
                            + "\n\nType your own level, e.g. prune:0.7.")
    c1, c2 = st.columns(2)
    epochs = c1.number_input("Fine-tuning epochs (pruning, distillation)", 0, 50, 1, key="comp_epochs")
    max_train = c2.number_input("Fine-tuning rows (0: all)", 0, 1_000_000, 10000, step=1000, key="comp_rows")
    go = st.form_submit_button("Compress and audit", type="primary", icon=":material/compress:", disabled=not chosen)
if go:
    from fmcore.compress import parse_method
    from fmcore.errors import FmauditError

    try:
        for m in chosen:
            parse_method(m)
    except FmauditError as exc:
        st.error(plain(exc))
    else:
        job = runner.submit("audits.jobs:compression", {
            "model": model_id, "methods": chosen,
            "options": {"fine_tune_epochs": int(epochs), "max_train_samples": int(max_train) or None}},
            title=f"Compress {model_id}")
        st.session_state["comp_job"] = job.id
if st.session_state.get("comp_job"):
    follow_job(runner, st.session_state["comp_job"], "comp")

result = services.latest_audit_or_stop(model_id, "compression",
                                      "No compression audit of this model yet: choose methods above.")["result"]
rows, parent = result["tables"]["variants"], result["tables"]["parent"][0]
m = result["metrics"]
a, b, c = st.columns(3)
a.metric("Variants", m["variants"])
best = m.get("smallest_size_ratio_within_1pt")
b.metric("Smallest within 1 point of accuracy", "none" if best is None else f"{best:.0%} of the size")
c.metric("Most flipped predictions", m["max_flipped"], help="Test examples whose predicted class changed.")
for w in result["warnings"]:
    st.warning(plain(w))
pareto = figures.compression_pareto(parent, rows)
# its numbers beneath, each with its unit: the panels' titles name the x axes, which the generic reading cannot tell
pareto.update_layout(meta={"alt": "; ".join(
    f"{r.get('method', 'original')}: {number(r['size_bytes'] / 1024)} KiB, {number(r['latency_b256_ms'])} ms a batch "
    f"of 256, accuracy {pct(r['accuracy'])}" for r in [parent, *rows])})
figures.show(pareto)
keep = ["method", "size_ratio", "accuracy", "accuracy_delta", "flipped", "flipped_to_wrong", "worst_class",
        "worst_class_delta", "latency_b1_ms", "latency_b1_ratio", "latency_b256_ms", "latency_b256_ratio"]
keep += [k for k in ("fairness_gap_delta", "robust_accuracy", "robust_accuracy_transfer", "robust_accuracy_delta")
         if any(k in r for r in rows)]
show_table(pd.DataFrame(rows)[keep])
charts = []
if any("fairness_gap_delta" in r for r in rows):
    charts.append(figures.compression_deltas(rows, "fairness_gap_delta", "Change in demographic parity gap",
                                             "gap change (positive: less fair)"))
if any("robust_accuracy_transfer" in r for r in rows):
    for r in rows:
        r["robust_transfer_delta"] = r["robust_accuracy_transfer"] - parent["robust_accuracy"]
    charts.append(figures.compression_deltas(rows, "robust_transfer_delta", "Change in robust accuracy (PGD from "
                                             "the parent)", "robust accuracy change"))
for column, fig in zip(st.columns(len(charts)) if charts else [], charts, strict=True):
    figures.show(fig, where=column)
flips = result["tables"]["flips"]
if flips:
    st.markdown("**Examples whose prediction flipped** (parent's answer, then the variant's)")
    method = st.selectbox("Variant", list(dict.fromkeys(f["method"] for f in flips)), key="comp_flip_method")
    part = [f for f in flips if f["method"] == method]
    if part and "image" in part[0]:
        images = np.array([f["image"] for f in part], dtype=np.float32)
        figures.show_images(images, [f"{f['parent_pred']}->{f['variant_pred']} ({f['true']})" for f in part],
                            "Flipped test images: parent -> variant (true label)", cols=min(6, len(part)))
    st.dataframe(pd.DataFrame([{k: v for k, v in f.items() if k not in ("image", "row")} | (f.get("row") or {})
                               for f in part]), hide_index=True, width="stretch")
with st.expander("Per-class accuracy change"):
    show_table(result["tables"]["per_class"])
