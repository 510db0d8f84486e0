"""Overview: one model for a stakeholder in a minute. The policy's verdict and the sign-off first, then one sentence
and one small chart per area, each linking to its page; prints as a clean page."""

import streamlit as st

from audits.evidence import SHIPPED, evaluate_policy, load_policy, review
from audits.reporting import audit_figures, headline
from dashboard import services
from dashboard.components import figures
from dashboard.components.fmt import check_said, plain, when

#: the areas a stakeholder asks about: the audits that answer each (the newest one shown) and the page with the rest
AREAS = [
    ("Performance", ("performance",), "views/models.py", "How often is it right on data it has not seen?"),
    ("Robustness", ("robustness", "certified"), "views/robustness.py", "Does a small, deliberate change fool it?"),
    ("Safety", ("backdoor",), "views/safety.py", "Was a hidden trigger planted in it?"),
    ("Fairness", ("fairness",), "views/fairness.py", "Does it treat groups of people alike?"),
    ("Privacy", ("privacy", "memorization"), "views/privacy.py", "Does it give away whom it was trained on?"),
    ("Explanations", ("explain",), "views/explain.py", "Can its decisions be explained, and are the explanations "
                                                      "checked?"),
    ("Out-of-domain", ("corruption", "shift", "calibration"), "views/ood.py", "Does it hold up on data unlike its "
                                                                             "training data, and know when unsure?"),
    ("Compression", ("compression",), "views/compression.py", "What do smaller versions of it cost?"),
]
NO_POLICY = "(none)"
#: the longest line of a small chart's x and y axis titles, in characters
OVERVIEW_X_TITLE, OVERVIEW_Y_TITLE = 24, 18
WORDS = {"pass": ("PASS", st.success), "fail": ("FAIL", st.error), "incomplete": ("INCOMPLETE", st.warning)}

st.title("Overview")
st.caption("One model at a glance: whether it meets the policy and who signed it off, then one sentence and one "
           "chart per area. Each area links to its page; the browser's print gives a clean page.")

store = services.get_store()
models, labels = services.models_or_stop("No model yet. Train one and run its audits first.")
model_id = services.pick("Model", [m.id for m in models], key="ov_model", labels=labels,
                         short=services.short_labels(models))
shipped = sorted(p.name for p in SHIPPED.glob("*.yaml"))
choice = services.pick("Policy", [*shipped, NO_POLICY], key="ov_policy",
                       short={name: name.removesuffix(".yaml") for name in shipped})
policy = None if choice == NO_POLICY else load_policy(SHIPPED / choice)
record = store.get_model(model_id)
latest = store.latest_audits(model_id)

if policy is None:
    st.info("No policy chosen: the areas below are what was measured, without a verdict.")
else:
    ev = evaluate_policy(policy, store, model_id)
    word, box = WORDS[ev["outcome"]]
    c = ev["counts"]
    # each failed or unmeasured check in words, as a stakeholder reads it: "robustness (accuracy under attack at eps
    # 0.1 ≥ 50.0%; measured 18.7%)", not the check's id alone
    said = {r["id"]: check_said(r["metric"], r["op"], r["threshold"], r["value"]) for r in ev["checks"]}
    box(f"**Policy {plain(ev['policy'])}: {word}** — {c['pass']} checks pass, {c['fail']} fail, "
        f"{c['not_measured']} not measured."
        + (f" Failed: {plain('; '.join(f'{i} ({said[i]})' for i in ev['failed']))}." if ev["failed"] else "")
        + (f" Not measured: {plain('; '.join(f'{i} ({said[i]})' for i in ev['not_measured']))}."
           if ev["not_measured"] else ""))
state = review.review_state(store, model_id, policy)
current = [a for a in state["approvals"] if a["current"]]
if current:
    a = current[-1]
    st.success(f"**Signed off** by {plain(a['actor'])} on {plain(a['ts'][:10])}"
               + (f", accepting {len(state['accepted'])} risk(s)" if state["accepted"] else "") + ".")
elif state["approvals"]:
    st.warning("**Sign-off stale**: it no longer covers this model's files, policy or evidence "
               f"({plain('; '.join(state['approvals'][-1].get('stale') or ['see the Review page']))}).")
else:
    st.info(f"**Not signed off** yet: {state['counts']['open']} open finding(s), {len(state['blocking'])} of high "
            "severity.")
st.page_link("views/review.py", label="The review: findings, risks accepted, sign-off", icon=":material/rate_review:")

st.subheader(f"{plain(record.name)}: area by area")
for area, names, page, question in AREAS:
    found = [latest[n] for n in names if n in latest]
    with st.container(border=True):
        st.markdown(f"**{area}** · {question}")
        if not found:
            st.caption("Not audited yet.")
            st.page_link(page, label=f"Run it on the {area} page", icon=":material/arrow_forward:")
            continue
        audit = max(found, key=lambda a: a["created_at"])
        result = audit["result"]
        sentence = headline(audit["name"], result.get("metrics", {})) or "measured; see its page"
        text, chart = st.columns([2, 3])
        text.markdown(plain(sentence[0].upper() + sentence[1:]) + ".")
        warnings = result.get("warnings") or []
        if warnings:
            text.caption(f"{len(warnings)} warning(s), first: {plain(warnings[0])}")
        text.caption(f"{audit['name']} audit `{audit['id']}`, {when(audit['created_at'][:16])}")
        drawn = audit_figures({"name": audit["name"], "metrics": result.get("metrics", {}),
                               "tables": result.get("tables", {}), "params": audit.get("params") or {}})
        if drawn:
            caption, fig = drawn[0]
            fig.update_layout(height=240, margin={"t": 30, "b": 30, "l": 30, "r": 10}, showlegend=False, title=None)
            # at this height a value written above a full bar ("100.0%") would be cut at the plot's edge
            fig.update_traces(cliponaxis=False, selector={"type": "bar"})
            # a value that would be written smaller than 9 px (ten bars at 800 px) is left to the caption beneath
            fig.update_layout(uniformtext={"minsize": 9, "mode": "hide"})
            # a long axis title in lines, not cut at the chart's edge: a y title runs along a plot about 150 px high
            # (at 800 px "true-positive rate (members" ran off its top), an x title under one about 200 px wide
            figures.fit_axis_titles(fig, width=OVERVIEW_X_TITLE, y_width=OVERVIEW_Y_TITLE)
            chart.plotly_chart(figures.for_page(figures.inert_figure(fig)), width="stretch", key=f"ov_{area}")
            chart.caption(f"{plain(caption)}: {plain(sentence)}")  # the chart's text alternative
        # below both columns, full width: in the sentence's column it was cut off at 800 px
        st.page_link(page, label=f"The {area.lower()} page", icon=":material/arrow_forward:")
