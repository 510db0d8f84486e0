"""Fairness: group metrics with intervals, disparities in plain words, intersections, two models side by side."""

import pandas as pd
import streamlit as st

from dashboard import services
from dashboard.components import figures
from dashboard.components.jobs import follow_job

st.title("Fairness")
st.caption("Does the model treat groups of people differently? Metrics follow fairlearn's definitions and are "
           "checked against it; every group gets a 95% interval, and groups too small to judge are flagged, "
           "never hidden.")

store, runner = services.get_store(), services.get_runner()
models = [m for m in reversed(store.list_models())
          if services.dataset_sensitive(m.dataset) and m.derivation.get("how") != "pretrained"]
if not models:
    st.info("No model trained on data with sensitive attributes yet. Train one on census_income, german_credit "
            "or arrests (Train page), or upload a CSV that declares its sensitive columns.")
    st.stop()
labels = {m.id: f"{m.name} ({m.id})" for m in models}
left, right = st.columns(2)
model_id = left.selectbox("Model", [m.id for m in models], format_func=labels.get, key="fair_model")
record = store.get_model(model_id)
available = services.dataset_sensitive(record.dataset)
other = right.selectbox("Compare with (optional)", ["(none)"] + [m.id for m in models if m.id != model_id],
                        format_func=lambda i: labels.get(i, i), key="fair_other")
with st.form("fair_form"):
    c1, c2, c3 = st.columns([2, 1, 1])
    sensitive = c1.multiselect("Sensitive attributes", available, default=available, key="fair_sensitive")
    intersectional = c2.checkbox("Intersections", value=len(available) > 1, key="fair_inter",
                                 help="Also every combination of the chosen attributes, e.g. race x sex.")
    min_group = c3.number_input("Minimum group size", 1, 10_000, 30, help="Smaller groups are flagged as too "
                                "uncertain to judge.")
    run = st.form_submit_button("Run fairness audit", type="primary", icon=":material/play_arrow:",
                                disabled=not sensitive)
if run:
    targets = [model_id] + ([other] if other != "(none)" else [])
    ids = [runner.submit("audits.jobs:fairness", {"model": t, "options": {
        "sensitive": sensitive, "intersectional": bool(intersectional), "min_group_size": int(min_group)}},
        title=f"Fairness of {t}").id for t in targets]
    st.session_state["fair_jobs"] = ids
for i, job_id in enumerate(st.session_state.get("fair_jobs", [])):
    follow_job(runner, job_id, f"fair{i}")


def latest(mid):
    found = [a for a in store.list_audits(mid) if a["name"] == "fairness"]
    return found[0]["result"] if found else None


def summary(result, title):
    m = result["metrics"]
    st.markdown(f"**{title}**")
    a, b, c = st.columns(3)
    a.metric("Demographic parity gap", f"{m['demographic_parity_difference']:.1%}",
             help="Largest difference between groups in how often the model predicts the positive outcome.")
    b.metric("Equalized odds gap", f"{m['equalized_odds_difference']:.1%}",
             help="Largest difference between groups in true- or false-positive rate.")
    c.metric("Four-fifths rule", "violated" if m["four_fifths_rule_violated"] else "met",
             help="Violated when one group's selection rate is below 80% of another's.")
    worst = max(result["tables"]["disparities"], key=lambda d: d["demographic_parity_difference"] or 0)
    rows = [r for r in result["tables"]["groups"] if r["grouping"] == worst["grouping"]]
    hi = max(rows, key=lambda r: r["selection_rate"] or 0)
    lo = min(rows, key=lambda r: r["selection_rate"] or 0)
    st.write(f"In plain words: by **{worst['grouping']}**, the model predicts *{m['positive_class']}* for "
             f"{hi['selection_rate']:.0%} of **{hi['group']}** but {lo['selection_rate']:.0%} of **{lo['group']}** "
             f"(a gap of {worst['demographic_parity_difference']:.1%}, 95% interval "
             f"{worst.get('demographic_parity_difference_ci_low', 0):.1%} to "
             f"{worst.get('demographic_parity_difference_ci_high', 0):.1%}). Accuracy overall: {m['accuracy']:.1%}.")


result = latest(model_id)
if result is None:
    st.caption("No fairness audit of this model yet: run one above.")
    st.stop()
if other != "(none)" and latest(other) is not None:
    col_a, col_b = st.columns(2)
    with col_a:
        summary(result, labels[model_id])
    with col_b:
        summary(latest(other), labels[other])
else:
    summary(result, labels[model_id])
for w in result["warnings"]:
    st.warning(w)
metric = st.radio("Metric by group", ["selection_rate", "accuracy", "tpr", "fpr", "precision", "calibration_error"],
                  horizontal=True, key="fair_metric")
groups = result["tables"]["groups"]
single = [r for r in groups if " x " not in r["grouping"]]
st.plotly_chart(figures.group_bars(single, metric), width="stretch")
for grouping in dict.fromkeys(r["grouping"] for r in groups if " x " in r["grouping"]):
    if grouping.count(" x ") == 1:
        st.plotly_chart(figures.intersection_heatmap(groups, grouping, metric), width="stretch")
st.dataframe(pd.DataFrame(result["tables"]["disparities"]), hide_index=True, width="stretch")
with st.expander("Every group"):
    st.dataframe(pd.DataFrame(groups), hide_index=True, width="stretch")
