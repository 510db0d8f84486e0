"""Jobs: running and past jobs with their progress, results and logs."""

import pandas as pd
import streamlit as st

from dashboard import services
from dashboard.components.jobs import job_status

st.title("Jobs")
st.caption("Every training and audit runs as a job in its own worker process. Jobs survive page changes and "
           "refreshes; a job cut short by a server restart is marked interrupted, with the reason.")

st.caption(services.executor_line())
runner = services.get_runner()
jobs = runner.jobs()
if not jobs:
    services.empty_state("No jobs yet. Start one on the Train page, or with the demo button on Home.")
    st.stop()

active = any(j.active for j in jobs)


@st.fragment(run_every=1.5 if active else None)
def board():
    current = runner.jobs()
    table = pd.DataFrame([{
        "id": j.id, "job": j.title, "state": j.state, "progress": j.progress, "created": j.created_at,
        "finished": j.finished_at or "", "result": ", ".join(f"{k}={v}" for k, v in j.result.items()
                                                             if k.endswith("_id")) or (j.error or ""),
    } for j in current])
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "progress": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="percent")})
    ids = [j.id for j in current]
    chosen = st.selectbox("Job", ids, format_func=lambda i: f"{i} · {next(j.title for j in current if j.id == i)}",
                          key="jobs_selected")
    job = runner.get(chosen)
    job_status(job, runner, key="jobs")
    st.markdown("**Log**")
    st.code(job.log or "(empty)", language=None)
    if active and not any(j.active for j in current):
        st.rerun(scope="app")


board()
