"""Report: check a model against a policy, generate the HTML, JSON and Markdown reports, verify the trail."""

from pathlib import Path

import pandas as pd
import streamlit as st

from audits.evidence import MAX_POLICY_BYTES, evaluate_policy, file_report, load_policy, parse_policy
from dashboard import services
from fmcore.errors import FmauditError

POLICIES = Path(__file__).resolve().parents[2] / "policies"
STATUS = {"pass": "pass", "fail": "FAIL", "not_measured": "not measured"}

st.title("Report")
st.caption("Check a model against declared thresholds, each tied to the requirement it serves, and file the "
           "evidence: a self-contained HTML report, a JSON record with a content hash, and a Markdown model card.")

store = services.get_store()
models, labels = services.models_or_stop("No model yet. Train one and run its audits first.")
left, right = st.columns(2)
model_id = left.selectbox("Model", [m.id for m in models], format_func=labels.get, key="rep_model")
shipped = sorted(p.name for p in POLICIES.glob("*.yaml"))
choice = right.selectbox("Policy", [*shipped, "upload your own"], key="rep_policy")
policy = None
try:
    if choice == "upload your own":
        upload = right.file_uploader("Policy YAML", type=["yaml", "yml"], key="rep_upload")
        if upload is not None:
            if upload.size > MAX_POLICY_BYTES:
                raise FmauditError("A policy file is at most 1 MB.")
            policy = parse_policy(upload.getvalue().decode("utf-8"), upload.name)
    else:
        policy = load_policy(POLICIES / choice)
except (FmauditError, UnicodeDecodeError) as exc:
    st.error(f"That policy cannot be used: {exc}")
if policy:
    evaluation = evaluate_policy(policy, store, model_id)
    c = evaluation["counts"]
    (st.success if evaluation["passed"] else st.error)(
        f"**{policy['name']}: {'passed' if evaluation['passed'] else 'failed'}** · {c['pass']} pass, {c['fail']} fail, "
        f"{c['not_measured']} not measured")
    check_rows = [{"check": r["id"], "status": STATUS[r["status"]], "requirement": r["requirement"],
                   "rule": f"{r['metric']} {r['op']} {r['threshold']:g}", "value": r["value"],
                   "evidence": r["evidence"].get("audit_id") or r["evidence"].get("reason", "")}
                  for r in evaluation["checks"]]
    st.dataframe(pd.DataFrame(check_rows), hide_index=True, width="stretch")
    from fmcore.security import safe_csv

    st.download_button("Policy checks (CSV)", safe_csv(check_rows), file_name=f"policy-checks-{model_id}.csv",
                       mime="text/csv", icon=":material/table_view:", key="rep_csv",
                       help="Cells that a spreadsheet would run as a formula are escaped with an apostrophe.")
    if evaluation["not_measured"]:
        st.caption("Not measured: run the missing audits (Robustness, Fairness, Privacy pages) and come back.")
if st.button("Generate reports", type="primary", icon=":material/description:", key="rep_go"):
    out = Path(store.root) / "reports" / model_id
    report, paths = file_report(store, model_id, policy, out)
    st.session_state["rep_paths"] = {k: str(v) for k, v in paths.items()}
    st.session_state["rep_hash"] = report["content_sha256"]
paths = st.session_state.get("rep_paths")
if paths and Path(paths["json"]).name.startswith(f"fmaudit-{model_id}"):
    st.write(f"Content sha256 `{st.session_state['rep_hash']}` (check a copy with `fmaudit verify FILE`).")
    cols = st.columns(3)
    for col, (kind, mime, label) in zip(cols, [("html", "text/html", "HTML report"), ("json", "application/json",
                                        "JSON record"), ("md", "text/markdown", "Model card (Markdown)")], strict=True):
        col.download_button(label, Path(paths[kind]).read_bytes(), file_name=Path(paths[kind]).name, mime=mime,
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
