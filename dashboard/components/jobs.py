"""Render a job: state, progress with ETA, live curves, log, cancel. Reads the store; never trains."""

from __future__ import annotations

import streamlit as st

from dashboard.components import figures
from dashboard.components.fmt import plain

STATE_ICONS = {"queued": ":material/schedule:", "running": ":material/autorenew:", "done": ":material/check_circle:",
               "failed": ":material/error:", "cancelled": ":material/cancel:", "interrupted": ":material/warning:"}


def format_eta(seconds) -> str:
    if seconds is None:
        return "estimating..."
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def job_status(job, runner, key: str) -> None:
    """Progress bar, message and ETA, live training curves, and a cancel button while active."""
    st.markdown(f"**{plain(job.title)}** &nbsp; `{job.id}` &nbsp; {STATE_ICONS.get(job.state, '')} {job.state}")
    if job.state == "queued":
        st.info("Waiting for a free worker (jobs run one at a time by default; set FMAUDIT_MAX_JOBS for more).")
    elif job.state == "running":
        eta = format_eta(job.eta_s)
        st.progress(job.progress, text=f"{job.progress:.0%} · {plain(job.message or 'starting')} · about {eta} left")
    elif job.state == "done":
        st.progress(1.0, text="finished")
    else:
        st.error(f"{job.state.capitalize()}: {plain(job.error)}")
    if job.history:
        st.plotly_chart(figures.for_page(figures.training_curves(job.history)), width="stretch", key=f"{key}_curves")
    allowed = runner.allows("cancel")  # pages pass services.get_runner(): it checks the role now
    if job.active and st.button("Cancel", key=f"{key}_cancel", icon=":material/stop_circle:", disabled=not allowed,
                                help=None if allowed else "Cancelling a job needs the auditor role."):
        runner.cancel(job.id)
        st.rerun()


def follow_job(runner, job_id: str, key: str, on_done=None) -> None:
    """Show a job and poll it every second while it is active; ``on_done(job)`` renders its result.

    Polling is a fragment, so only this part reruns; when the job ends the whole page reruns once
    and polling stops.
    """
    first = runner.get(job_id)

    @st.fragment(run_every=1.0 if first.active else None)
    def live():
        job = runner.get(job_id)
        job_status(job, runner, key=key)
        if job.state == "done" and on_done is not None:
            on_done(job)
        if first.active and not job.active:
            st.rerun(scope="app")

    live()


def launch(runner, pressed: bool, task: str, params: dict, title: str, key: str, on_done=None) -> None:
    """Submit the job when its button was pressed; follow the page's newest job of this kind (kept under ``key``)."""
    if pressed:
        st.session_state[key] = runner.submit(task, params, title=title).id
    if st.session_state.get(key):
        follow_job(runner, st.session_state[key], key, on_done)
