"""Report: check a model against a policy, generate the HTML, JSON and Markdown reports, verify the trail."""

from pathlib import Path

import pandas as pd
import streamlit as st

from audits.evidence import (
    MAX_POLICY_BYTES,
    OUTCOME_WORDS,
    SHIPPED,
    evaluate_policy,
    file_report,
    load_policy,
    missing_audits,
    parse_policy,
)
from audits.glossary import describe
from dashboard import services
from dashboard.components.fmt import check_words, metric_value, plain, when
from dashboard.components.jobs import follow_job
from fmcore.errors import FmauditError

POLICIES = SHIPPED
STATUS = {"pass": "pass", "fail": "FAIL", "not_measured": "not measured"}

st.title("Report")
st.caption("Check a model against declared thresholds, each tied to the requirement it serves, and file the "
           "evidence: a self-contained HTML report, a JSON record with a content hash, and a Markdown model card.")

store = services.get_store()
models, labels = services.models_or_stop("No model yet. Train one and run its audits first.")
left, right = st.columns(2)
model_id = left.selectbox("Model", [m.id for m in models], format_func=labels.get, key="rep_model")
shipped = sorted(p.name for p in POLICIES.glob("*.yaml"))
NO_POLICY, UPLOAD = "(no policy: evidence only)", "upload your own"
choice = right.selectbox("Policy", [*shipped, UPLOAD, NO_POLICY], key="rep_policy")
policy, blocked = None, False
try:
    if choice == UPLOAD:
        upload = right.file_uploader("Policy YAML", type=["yaml", "yml"], key="rep_upload")
        if upload is not None:
            if upload.size > MAX_POLICY_BYTES:
                raise FmauditError("A policy file is at most 1 MB.")
            policy = parse_policy(upload.getvalue().decode("utf-8"), upload.name)
        blocked = policy is None  # an upload that is missing or refused never files a report without its policy
    elif choice != NO_POLICY:
        policy = load_policy(POLICIES / choice)
except (FmauditError, UnicodeDecodeError) as exc:
    blocked = True
    problems = getattr(exc, "problems", None) or [str(exc)]
    st.error("That policy cannot be used; nothing can be generated with it until it is fixed:\n\n"
             + "\n".join(f"- {p}" for p in problems))
if policy:
    evaluation = evaluate_policy(policy, store, model_id)
    c = evaluation["counts"]
    box = {"pass": st.success, "fail": st.error, "incomplete": st.warning}[evaluation["outcome"]]
    box(f"**{plain(evaluation['policy'])}: {OUTCOME_WORDS[evaluation['outcome']].lower()}** · {c['pass']} pass, "
        f"{c['fail']} fail, "
        f"{c['not_measured']} not measured" + (" (a check that was not measured never passes)"
                                               if evaluation["outcome"] == "incomplete" else ""))
    st.caption((f"Shipped profile `{evaluation['shipped']}`" if evaluation["shipped"] else
                "Custom policy: not one of the shipped profiles") + f" · sha256 `{evaluation['policy_sha256']}`")
    if evaluation["differs"]:
        st.warning("This policy is named like a shipped profile but is not it:\n\n"
                   + "\n".join(f"- {plain(line)}" for line in evaluation["differs"]))
    check_rows = [{"check": r["id"], "status": STATUS[r["status"]], "requirement": r["requirement"],
                   "measures": describe(r["metric"].partition(".")[2])[0],
                   "rule": f"{r['metric']} {r['op']} {r['threshold']:g}", "value": r["value"],
                   "evidence": r["evidence"].get("audit_id") or r["evidence"].get("reason", "")}
                  for r in evaluation["checks"]]
    # on the page: what decides first (at 800 px the last columns are behind a scroll), the rule in words and each
    # number in its kind; the CSV keeps the policy's own terms
    shown = [{"check": row["check"], "status": row["status"],
              "value": metric_value(r["metric"].partition(".")[2], row["value"]),
              "rule": check_words(r["metric"], r["op"], r["threshold"]), "requirement": row["requirement"],
              "policy's rule": row["rule"], "evidence": row["evidence"]}
             for row, r in zip(check_rows, evaluation["checks"], strict=True)]
    st.dataframe(pd.DataFrame(shown), hide_index=True, width="stretch")
    from fmcore.security import safe_csv

    st.download_button("Policy checks (CSV)", safe_csv(check_rows), file_name=f"policy-checks-{model_id}.csv",
                       mime="text/csv", icon=":material/table_view:", key="rep_csv",
                       help="Cells that a spreadsheet would run as a formula are escaped with an apostrophe.")
    missing = missing_audits(policy, store, model_id)
    if missing:
        st.caption(f"Not measured yet: {', '.join(missing)}. Run them here with their default settings, or on their "
                   "own pages with yours.")
        if st.button(f"Run the missing audits ({', '.join(missing)})", icon=":material/play_arrow:", key="rep_missing",
                     disabled=not services.can_act()):
            st.session_state["rep_missing_job"] = services.get_runner().submit(
                "audits.jobs:run_missing", {"model": model_id, "policy": policy},
                title=f"Missing audits of {model_id} for {policy['name']}").id
    if st.session_state.get("rep_missing_job"):
        follow_job(services.get_runner(), st.session_state["rep_missing_job"], "rep_missing")


def made_from() -> dict:
    """What a report of the current selection is made from: the model, the exact policy, the newest audits."""
    return {"model": model_id, "policy": policy["sha256"][:16] if policy else None,
            "policy_name": policy["label"] if policy else None,
            "audits": sorted(a["id"] for a in store.latest_audits(model_id).values())}


current = made_from()
viewer = not services.can_act()
if viewer:
    st.caption("Your role is viewer: you can evaluate any policy here; filing reports needs the auditor role.")
if st.button("Generate reports", type="primary", icon=":material/description:", key="rep_go",
             disabled=blocked or viewer, help="Choose a policy that loads (or no policy) first." if blocked else None):
    report, paths = file_report(store, model_id, policy, Path(store.root) / "reports" / model_id / current["policy"]
                                if policy else Path(store.root) / "reports" / model_id / "no-policy")
    st.session_state["rep_made"] = {"from": current, "paths": {k: str(v) for k, v in paths.items()},
                                    "hash": report["content_sha256"], "at": report["generated_at"]}
made = st.session_state.get("rep_made")
if made and made["from"] != current:  # another model, another policy, or newer audits: never offer stale files
    st.session_state.pop("rep_made")
    st.info("The reports generated earlier were for a different model, policy or set of audits, so they are no "
            "longer offered here. Generate them again for what is selected now.")
elif made:
    st.write(f"Generated {when(made['at'])} for `{model_id}` with policy "
             f"**{plain(made['from']['policy_name'] or 'none')}** "
             f"from audits {', '.join(f'`{a}`' for a in made['from']['audits']) or '(none)'}. Content sha256 "
             f"`{made['hash']}` (check a copy with `fmaudit verify FILE --public-key signing.pub`; `fmaudit keys init` "
             "gives this store a signing key).")
    files = [("html", "text/html", "HTML report"), ("json", "application/json", "JSON record"),
             ("md", "text/markdown", "Model card (Markdown)"), ("intoto", "application/json", "Signature (in-toto)")]
    files = [f for f in files if f[0] in made["paths"]]
    for col, (kind, mime, label) in zip(st.columns(len(files)), files, strict=True):
        data = Path(made["paths"][kind]).read_bytes()
        col.download_button(label, data, file_name=Path(made["paths"][kind]).name, mime=mime,
                            icon=":material/download:", key=f"rep_dl_{kind}")
st.divider()
st.subheader("Audit trail")
trail = store.verify_trail()
(st.success if trail["ok"] else st.error)(
    f"{trail['events']} events, chain {'intact' if trail['ok'] else 'BROKEN'}; head `{trail['head'][:16]}...`")
for problem in trail["problems"]:
    st.write(f"- {problem}")
events = store.events(200)
if events:
    st.dataframe(pd.DataFrame([{k: e[k] for k in ("seq", "ts", "actor", "action", "subject")} for e in events]),
                 hide_index=True, width="stretch")
