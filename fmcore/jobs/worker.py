"""A job worker process: ``python -m fmcore.jobs.worker --home HOME JOB_ID``.

Runs one job in its own process, so a crash (or a kill) of the job never takes the dashboard
server down. When its parent (the server) dies, it marks the job interrupted and exits.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import threading
import time
import traceback

from ..executor import ALLOWED_PACKAGES, allowed_packages  # noqa: F401  (ALLOWED_PACKAGES re-exported)
from ..store import Store, now
from ._context import JobCancelled, JobContext
from ._records import CANCELLED, DONE, FAILED, INTERRUPTED, RUNNING, append_log, get_job, update_job


def resolve(target: str):
    """``"package.module:function"`` -> the function, for modules of allowed packages only."""
    module, _, name = target.partition(":")
    if not module.startswith(allowed_packages()) or not name:
        raise ValueError(f"Job target {target!r} is not allowed; use 'fmcore.x:fn' or 'audits.x:fn'.")
    return getattr(importlib.import_module(module), name)


def _watch_parent(store: Store, job_id: str, parent: int, interval: float = 1.0) -> None:
    while True:
        time.sleep(interval)
        if os.getppid() != parent:
            reason = f"the dashboard server (pid {parent}) stopped while this job ran"
            if update_job(store, job_id, only_if_state=(RUNNING,), state=INTERRUPTED, finished_at=now(), error=reason):
                append_log(store, job_id, f"interrupted: {reason}")
            os._exit(3)


def _log_executor(ctx: JobContext) -> None:
    """Say in the job's log where its sweeps run (Ray: which cluster and how many CPUs)."""
    from ..executor import executor_from_env

    executor = executor_from_env()
    if executor.name == "ray":
        d = executor.describe()  # connects now, so a wrong address fails the job before any work
        ctx.log(f"sweeps run on Ray at {d['address']}: {d['nodes']} node(s), {d['cpus']} CPUs")


def run(store: Store, job_id: str) -> str:
    """Run a claimed job to its end; returns the final state."""
    job = get_job(store, job_id)
    ctx = JobContext(store, job_id)
    update_job(store, job_id, pid=os.getpid())
    if job.params.get("actor"):  # the audit trail names who started the job, not the server's OS user
        os.environ["FMAUDIT_USER"] = job.params["actor"]
    from ..executor import JOB_CANCELLED

    JOB_CANCELLED.set(ctx.is_cancelled)  # sweeps stop between tasks when the user cancels
    try:
        from ..security import require
        from ..store import actor

        require(actor(), "write", f"the job {job.params['target']}", store.root)  # a user demoted since submitting
        fn = resolve(job.params["target"])
        _log_executor(ctx)
        result = fn(job.params.get("params", {}), ctx)
    except JobCancelled as exc:
        ctx.log(f"cancelled: {exc}")
        update_job(store, job_id, state=CANCELLED, finished_at=now(), error=str(exc))
        return CANCELLED
    except BaseException as exc:  # noqa: BLE001 - every failure is recorded, then the process ends
        append_log(store, job_id, traceback.format_exc())
        update_job(store, job_id, only_if_state=(RUNNING,), state=FAILED, finished_at=now(),
                   error=f"{type(exc).__name__}: {exc}")
        return FAILED
    update_job(store, job_id, only_if_state=(RUNNING,), state=DONE, finished_at=now(), progress=1.0, eta_s=0.0,
               result=result or {}, message="done")
    return DONE


def main(argv: list[str] | None = None) -> int:
    """Entry point of a worker process: run one job (``python -m fmcore.jobs.worker JOB_ID``)."""
    ap = argparse.ArgumentParser(prog="python -m fmcore.jobs.worker")
    ap.add_argument("--home", required=True)
    ap.add_argument("--watch-parent", type=int, default=None, help="exit when this parent pid goes away")
    ap.add_argument("job_id")
    args = ap.parse_args(argv)
    store = Store(args.home)
    if args.watch_parent:
        threading.Thread(target=_watch_parent, args=(store, args.job_id, args.watch_parent), daemon=True).start()
    return 0 if run(store, args.job_id) == DONE else 1


if __name__ == "__main__":
    sys.exit(main())
