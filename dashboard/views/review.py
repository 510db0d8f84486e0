"""Review: the models awaiting review, findings with filters and their threads, risk acceptance, four-eyes sign-off,
and what changed since another version."""

import datetime as dt

import pandas as pd
import streamlit as st

from audits.evidence import SHIPPED, approve, diff_reports, load_policy, report_or_model, review
from dashboard import services
from dashboard.components.fmt import check_said, check_words, metric_value, plain, when
from fmcore.errors import FmauditError
from fmcore.store import actor

POLICIES = SHIPPED
NO_POLICY = "(none: audit warnings only)"

st.title("Review")
st.caption("The decision about a model version. Every failed or unmeasured check and every audit warning is a "
           "finding with a severity, an owner and a status; a risk can be accepted with a reason until a date; an "
           "approver who did not register the model signs it off, never while a high-severity finding is open. "
           "Every step is written to the audit trail with who took it.")

store = services.get_store()
models, labels = services.models_or_stop("No model yet. Train one and run its audits first.")
shipped = sorted(p.name for p in POLICIES.glob("*.yaml"))
left, right = st.columns(2)
choice = right.selectbox("Policy under review", [*shipped, NO_POLICY], key="rev_policy")
policy = None if choice == NO_POLICY else load_policy(POLICIES / choice)

queue, states = [], {}
for m in models[-30:][::-1]:  # the newest 30
    s = states[m.id] = review.review_state(store, m.id, policy)
    queue.append({"model": labels[m.id], "id": m.id, "registered by": s["author"], "open": s["counts"]["open"],
                  "high open": len(s["blocking"]), "approved": "yes" if s["approved"] else "no"})
with st.expander(f"Queue: {sum(q['approved'] == 'no' for q in queue)} of {len(queue)} newest models await sign-off",
                 expanded=False):
    st.dataframe(pd.DataFrame(queue), hide_index=True, width="stretch")

model_id = left.selectbox("Model version", [m.id for m in models], format_func=labels.get, key="rev_model")
state = states.get(model_id) or review.review_state(store, model_id, policy)
user = actor()
try:
    role = review.role_of(store, user)
except FmauditError:
    role = "viewer"
k1, k2, k3, k4 = st.columns(4)
k1.metric("Open findings", state["counts"]["open"])
k2.metric("High severity, open", len(state["blocking"]))
k3.metric("Risks accepted", state["counts"]["risk_accepted"])
k4.metric("Signed off", "yes" if state["approved"] else "no")
st.caption(f"Weights sha256 `{state['weights_sha256'][:16]}…` · registered by **{state['author']}** · you are "
           f"**{user}** ({role})")

findings = state["findings"]


def finding_words(f: dict) -> str:
    """A finding as a reviewer reads it: a policy check's rule in words with what was measured, in the metric's own
    kind ("accuracy under attack at eps 0.1 ≥ 50.0%; measured 18.7%"; its title keeps the policy's terms, "value
    0.1866"); an audit's warning as the audit wrote it."""
    if f["source"] != "policy check":
        return f["title"]
    return f"{f['check']}: " + check_said(f["metric"], f["op"], f["threshold"], f["value"],
                                          unmeasured="; not measured: no audit measured it")


said = {f["id"]: finding_words(f) for f in findings}  # once per finding: the table and the picker read it

if findings:
    f1, f2 = st.columns(2)
    severities = f1.multiselect("Severity", list(review.SEVERITIES), default=list(review.SEVERITIES), key="rev_sev")
    statuses = f2.multiselect("Status", list(review.STATUSES), default=list(review.STATUSES), key="rev_status",
                              format_func=lambda s: s.replace("_", " "))
    shown = [f for f in findings if f["severity"] in severities and f["status"] in statuses]
    st.dataframe(pd.DataFrame([{"id": f["id"], "severity": f["severity"], "status": f["status"].replace("_", " "),
                                "owner": f["owner"] or "unassigned", "finding": said[f["id"]], "source": f["source"],
                                "accepted until": (f["acceptance"] or {}).get("until") or "",
                                "comments": len(f["comments"])} for f in shown]), hide_index=True, width="stretch")
else:
    st.success("No findings: every check of this policy passes and the newest audits raised no warnings.")
if state["passed"]:
    with st.expander(f"Passed checks ({len(state['passed'])})"):
        st.dataframe(pd.DataFrame([{"check": c["check"], "rule": check_words(c["metric"], c["op"], c["threshold"]),
                                    "measured": metric_value(c["metric"].partition(".")[2], c["value"]),
                                    "requirement": c["requirement"]} for c in state["passed"]]),
                     hide_index=True, width="stretch")

if findings and services.can_act():
    st.subheader("Act on a finding")
    with st.form("rev_act"):
        target = st.selectbox("Finding", [f["id"] for f in findings], key="rev_target",
                              format_func=lambda i: f"{i}: {said[i]}")
        action = st.radio("Action", ["comment", "fixed", "false_positive", "open", "accept the risk", "assign"],
                          horizontal=True, key="rev_action",
                          format_func=lambda a: a.replace("_", " "))
        text = st.text_area("Comment, or the justification of a risk acceptance", key="rev_text")
        a1, a2 = st.columns(2)
        until = a1.date_input("Accepted until", dt.date.today() + dt.timedelta(days=90), key="rev_until")
        owner = a2.text_input("Owner (a user name)", key="rev_owner")
        go = st.form_submit_button("Record", type="primary", icon=":material/edit_note:")
    if go:
        try:
            if action == "comment":
                review.comment(store, target, text, user, policy)
            elif action == "assign":
                review.assign(store, target, owner.strip(), user, policy)
            elif action == "accept the risk":
                review.set_status(store, target, "risk_accepted", user, reason=text, until=until.isoformat(),
                                  policy=policy)
            else:
                review.set_status(store, target, action, user, reason=text, policy=policy)
            st.rerun()
        except FmauditError as exc:
            st.error(plain(exc))
    for f in findings:
        if f["comments"]:
            with st.expander(f"Thread of {f['id']} ({len(f['comments'])})"):
                for c in f["comments"]:
                    st.text(f"{c['at']} {c['by']}: {c['text']}")  # plain text: never rendered as markdown

st.subheader("Sign-off")
for a in state["approvals"]:
    if a["current"]:
        st.success(f"Approved by **{plain(a['actor'])}** at {when(a['ts'])} under {plain(a['policy'])}: files "
                   f"`{a['manifest_sha256'][:16]}…`, report `{a['report_sha256'][:16]}…`; signature verified; current.")
    else:
        st.warning(f"Sign-off by **{plain(a['actor'])}** at {when(a['ts'])} under {plain(a['policy'] or 'no policy')}: "
                   + ("**stale**: " + plain("; ".join(a["stale"])) if a["verified"] else "signature NOT verified")
                   + ".", icon=":material/history:")
why_not = "; ".join(review.approval_blockers(store, model_id, user, state))
if why_not:
    st.info(f"You cannot sign off this version: {plain(why_not)}.")
if st.button("Approve and sign", type="primary", disabled=bool(why_not), icon=":material/verified:", key="rev_go"):
    try:
        out = approve(store, model_id, user, policy)
        st.success(f"Signed off: report `{out['report_sha256'][:16]}…` (trail event {out['seq']}).")
        st.rerun()
    except FmauditError as exc:
        st.error(plain(exc))

st.subheader("What changed")
others = [m.id for m in models if m.id != model_id]
record = store.get_model(model_id)
if others:
    # the earlier version: the parent; else the newest model made before this one (never a child of it)
    earlier = [m for m in models if m.id in others and m.created_at < record.created_at and m.parent_id != model_id]
    pick = record.parent_id if record.parent_id in others else max(
        earlier, key=lambda m: (m.dataset == record.dataset, m.created_at)).id if earlier else others[0]
    default = others.index(pick)
    base = st.selectbox("Compared with (the earlier version)", others, index=default, format_func=labels.get,
                        key="rev_base")
    wanted = (base, model_id, choice)
    if st.button("Show what changed", icon=":material/difference:", key="rev_diff"):
        st.session_state["rev_diff_for"] = wanted  # two fresh reports (the trail re-hashes weights): on request
    if st.session_state.get("rev_diff_for") != wanted:
        st.stop()
    d = diff_reports(report_or_model(store, base, policy), report_or_model(store, model_id, policy))
    st.caption(f"{d['a']['model_id']} → {d['b']['model_id']} ({d['related']}); beyond its interval: the two 95% "
               "intervals do not overlap.")
    if d["flipped_checks"]:
        st.warning("Checks that flipped: " + ", ".join(f"{c['id']} ({c['a_status']} → {c['b_status']})"
                                                        for c in d["checks"] if c["flipped"]))
    changed = [r for r in d["metrics"] if r["change"]]
    if changed:
        st.dataframe(pd.DataFrame([{"audit": r["audit"], "metric": r["metric"], "a": metric_value(r["metric"], r["a"]),
                                    "b": metric_value(r["metric"], r["b"]),
                                    "change": metric_value(r["metric"], r["change"], change=True),
                                    "beyond_interval": r["beyond_interval"]} for r in changed]),
                     hide_index=True, width="stretch")
    else:
        st.info("No metric both versions measured has changed.")
