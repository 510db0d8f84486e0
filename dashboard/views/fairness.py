"""Fairness: group metrics with intervals, disparities in plain words, intersections, two models side by side."""

import streamlit as st

from audits import fairness
from audits.glossary import describe
from dashboard import services
from dashboard.components import figures
from dashboard.components.fmt import plain, show_table
from dashboard.components.jobs import follow_job
from dashboard.components.options import option_input

st.title("Fairness")
st.caption("Does the model treat groups of people differently? Metrics follow fairlearn's definitions and are "
           "checked against it; every group gets a 95% interval, and groups too small to judge are flagged, "
           "never hidden.")

store, runner = services.get_store(), services.get_runner()
models, labels = services.models_or_stop(
    "No model trained on data with sensitive attributes yet. Train one on census_income, german_credit or arrests "
    "(Train page), or upload a CSV that declares its sensitive columns.",
    lambda m: bool(services.dataset_sensitive(m.dataset)))
short = services.short_labels(models)
left, right = st.columns(2)
model_id = left.selectbox("Model", [m.id for m in models], format_func=labels.get, key="fair_model")
record = store.get_model(model_id)
available = services.dataset_sensitive(record.dataset)
other = right.selectbox("Compare with (optional)", ["(none)"] + [m.id for m in models if m.id != model_id],
                        format_func=lambda i: labels.get(i, i), key="fair_other")
with st.form("fair_form"):
    c1, c3 = st.columns([2, 1])
    sensitive = c1.multiselect("Sensitive attributes", available, default=available, key=f"fair_sensitive_{model_id}")
    intersectional = option_input("fairness", "intersectional", f"fair_inter_{model_id}", label="Intersections",
                                  default=len(available) > 1,
                                  help="Also every combination of the chosen attributes, e.g. race x sex.")
    min_group = option_input("fairness", "min_group_size", f"fair_min_group_{model_id}", where=c3,
                             label="Minimum group size")
    run = st.form_submit_button("Run fairness audit", type="primary", icon=":material/play_arrow:",
                                disabled=not sensitive)
if run:
    targets = [model_id] + ([other] if other != "(none)" else [])
    ids = [runner.submit("audits.jobs:audit", {"audit": "fairness", "model": t, "options": {
        "sensitive": sensitive, "intersectional": bool(intersectional), "min_group_size": int(min_group)}},
        title=f"Fairness of {t}").id for t in targets]
    st.session_state["fair_jobs"] = {"model": model_id, "ids": ids}
jobs = st.session_state.get("fair_jobs")
for i, job_id in enumerate(jobs["ids"] if isinstance(jobs, dict) and jobs["model"] == model_id else []):
    follow_job(runner, job_id, f"fair{i}")  # the panels of the model shown, not of one chosen before


def latest(mid):
    audit = store.latest_audits(mid).get("fairness")
    if audit is None:
        return None
    return {**audit["result"], "_when": services.audit_caption(audit, detail=f" of `{mid}`")}  # with its settings


def pct(value) -> str:
    return "not measured" if value is None else f"{value:.1%}"


def summary(result, title, boxed: bool = False):
    """The audit's gaps and verdict; the groups left out of the gaps in a caption unless ``boxed`` (the page's
    warning box names them with their sizes)."""
    m = result["metrics"]
    st.markdown(f"**{title}**")
    st.caption(result.get("_when", ""))
    a, b, c = st.columns(3)
    a.metric("Parity gap", pct(m["demographic_parity_difference"]),
             help="Demographic parity gap: the largest difference between groups in how often the model predicts "
                  "the positive outcome.")
    b.metric("Odds gap", pct(m["equalized_odds_difference"]),
             help="Equalized odds gap: the largest difference between groups in true- or false-positive "
                  "rate.")
    c.metric("Four-fifths", {True: "violated", False: "met"}.get(m["four_fifths_rule_violated"], "not measured"),
             help="Violated when one group's selection rate is below 80% of another's.")
    if m.get("verdict"):
        st.write(f"In plain words: {plain(m['verdict'])} Accuracy overall: {m['accuracy']:.1%}.")
    else:  # audits stored before the verdict was part of the result
        st.caption(f"Audit made by an earlier version: rerun it for the verdict (gaps here may include groups "
                   f"smaller than {m.get('min_group_size', 30)}).")
    left_out = sorted({g for d in result["tables"]["disparities"] for g in d.get("left_out", [])})
    if not left_out:
        st.caption("No group was left out of the gaps.")
    elif not boxed:
        st.caption(f"Left out of the gaps (below the minimum size): {plain(', '.join(left_out))}.")


def show_audit(result) -> None:
    if other != "(none)" and latest(other) is not None:
        col_a, col_b = st.columns(2)
        with col_a:
            summary(result, short[model_id], boxed=True)
        with col_b:
            summary(latest(other), short[other])
    else:
        summary(result, short[model_id], boxed=True)
    groups = result["tables"]["groups"]
    # one box for the groups too small to judge (one each made a wall of them), then the audit's other warnings
    small = [r for r in groups if r.get("too_small")]
    said = tuple(f"{r['grouping']} = {r['group']}: only " for r in small)
    if small:
        st.warning(f"{len(small)} group(s) below the minimum size, shown but left out of the gaps (their numbers are "
                   "too uncertain to judge): " + plain(", ".join(f"{r['grouping']} = {r['group']} ({r['count']})"
                                                                  for r in small)) + ".")
    for w in result["warnings"]:
        if not (said and w.startswith(said)):
            st.warning(plain(w))
    metric = st.radio("Metric by group", ["selection_rate", "accuracy", "tpr", "fpr", "precision",
                                         "calibration_error"], horizontal=True, key="fair_metric",
                      format_func=lambda k: describe(k)[0], help="The value each group's bar shows.")
    single = [r for r in groups if " x " not in r["grouping"]]
    words = describe(metric)[0]  # "true-positive rate", not "tpr", on the charts as on the picker
    figures.show(figures.group_bars(single, metric, words))
    for grouping in dict.fromkeys(r["grouping"] for r in groups if " x " in r["grouping"]):
        if grouping.count(" x ") == 1:
            figures.show(figures.intersection_heatmap(groups, grouping, metric, words))
    show_table(result["tables"]["disparities"])
    with st.expander("Every group"):
        show_table(groups)


result = latest(model_id)
if result is None:
    st.caption("No fairness audit of this model yet: run one above.")
else:
    show_audit(result)

st.divider()
st.subheader("Mitigate")
st.caption("Each mitigation trains or fits a new model with this one as parent (see Models for the lineage), "
           "measured on the test split with the same groups. A sweep of tolerances gives one model per value "
           "and draws the trade-off curve.")
if len(record.metrics.get("confusion_matrix", [[0, 0]])) != 2:
    st.info("Mitigations need a binary label; this model has more classes.")
    st.stop()
m1, m2 = st.columns(2)
method = m1.selectbox("Method", list(fairness.METHODS), key="mit_method",
                      format_func=lambda k: k.replace("_", " "), help="\n\n".join(
                          f"**{k.replace('_', ' ')}**: {v}" for k, v in fairness.METHODS.items()))
constraint = m2.selectbox("Constraint", fairness.CONSTRAINTS[method], key="mit_constraint",
                          format_func=lambda k: k.replace("_", " "))
st.caption(fairness.METHODS[method])
with st.form("mit_form"):
    f1, f2 = st.columns(2)
    mit_sensitive = f1.multiselect("Sensitive attribute(s)", available, default=available[:1], key="mit_sensitive")
    sweep = f2.text_input("Tolerances (optional)", "", key="mit_sweep",
                          disabled=method == "reweighing",
                          help="Comma-separated largest disparities to allow, e.g. 0.01,0.02,0.05: one model "
                               "each. Empty: the exact constraint.")
    launch = st.form_submit_button("Mitigate", type="primary", icon=":material/balance:", disabled=not mit_sensitive)
if launch:
    try:
        tolerances = [float(v) for v in sweep.split(",") if v.strip()] if sweep else []
    except ValueError:
        st.error(f"Tolerances must be numbers separated by commas, e.g. 0.01,0.05; got {sweep!r}.")
    else:
        job = runner.submit("audits.jobs:mitigate", {
            "model": model_id, "tolerances": tolerances or None,
            "options": {"method": method, "constraint": constraint, "sensitive": mit_sensitive}},
            title=f"Mitigate {model_id} ({method})")
        st.session_state["mit_job"] = job.id
if st.session_state.get("mit_job"):
    follow_job(runner, st.session_state["mit_job"], "mit")
rows = fairness.tradeoff_table(store, model_id)
if len(rows) < 2:
    st.caption("No mitigations of this model yet.")
    st.stop()
disparity = st.radio("Disparity", ["demographic_parity_difference", "equalized_odds_difference",
                                   "equal_opportunity_difference"], horizontal=True, key="mit_disparity",
                     format_func=lambda k: describe(k)[0])
for grouping in dict.fromkeys(r["sensitive"] for r in rows):
    part = [r for r in rows if r["sensitive"] == grouping]
    fig = figures.mitigation_tradeoff(part, disparity)
    fig.update_layout(title=f"What fairness costs, by {grouping}: accuracy against {describe(disparity)[0]}")
    figures.show(fig)
    st.write(fairness.mitigation_verdict(part, disparity, grouping))
show_table(rows)
