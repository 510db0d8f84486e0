"""Job functions used by the job-runner tests (allowed through FMAUDIT_JOB_MODULES=tests)."""

import os
import time

from fmcore.jobs import JobCancelled


def sleep(params, ctx):
    """Counts to ``steps`` in ``step_s`` increments, reporting progress and honouring cancel."""
    steps = int(params.get("steps", 10))
    for i in range(steps):
        if ctx.is_cancelled():
            raise JobCancelled(f"stopped at step {i}")
        time.sleep(float(params.get("step_s", 0.1)))
        ctx.progress((i + 1) / steps, message=f"step {i + 1}/{steps}")
    return {"steps": steps, "pid": os.getpid()}


def crash(params, ctx):
    ctx.log("about to die")
    os._exit(7)


def boom(params, ctx):
    raise ValueError("bad value in job")
