"""The job runner: a queue in the store, worker processes, a concurrency limit, cancel and recovery."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

from ..store import now
from ._records import (
    CANCELLED,
    FAILED,
    INTERRUPTED,
    QUEUED,
    RUNNING,
    Job,
    append_log,
    claim_next,
    create_job,
    get_job,
    list_jobs,
    update_job,
)

CANCEL_GRACE_SECONDS = 10.0


def default_max_jobs() -> int:
    """Concurrent jobs: ``$FMAUDIT_MAX_JOBS``, default 1 (training uses the cores a job is given)."""
    return max(1, int(os.environ.get("FMAUDIT_MAX_JOBS", "1")))


def pid_alive(pid: int | None) -> bool:
    """True while a process with ``pid`` exists."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child has exited: it is not running anything
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


class JobRunner:
    """Runs queued jobs in worker processes, at most ``max_concurrent`` at a time.

    The queue lives in the store, so every browser tab and every page sees the same jobs. One
    runner per server process; ``start()`` first marks jobs left running by a dead server as
    interrupted, then starts a scheduler thread.
    """

    def __init__(self, store, max_concurrent: int | None = None, poll_seconds: float = 0.25):
        self.store = store
        self.max_concurrent = max_concurrent or default_max_jobs()
        self.poll_seconds = poll_seconds
        self._procs: dict[str, subprocess.Popen] = {}
        self._cancel_at: dict[str, float] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- public --------------------------------------------------------------------------------
    def start(self) -> JobRunner:
        """Mark jobs left running by a dead server interrupted, start the scheduler thread; returns self."""
        self.recover()
        self._thread = threading.Thread(target=self._loop, name="fmaudit-jobs", daemon=True)
        self._thread.start()
        return self

    def submit(self, target: str, params: dict, title: str | None = None) -> Job:
        """Queue ``target`` ("module:function" in fmcore or audits) with ``params``; returns the job."""
        from ..store import actor

        kind = target.rpartition(":")[2]
        job = create_job(self.store, kind, {"target": target, "params": params, "actor": actor()}, title,
                         owner_pid=os.getpid())
        self._wake.set()
        return job

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued job at once; ask a running one to stop (killed after a grace period)."""
        if update_job(self.store, job_id, only_if_state=(QUEUED,), state=CANCELLED, finished_at=now(),
                      error="cancelled before it started"):
            return get_job(self.store, job_id)
        if update_job(self.store, job_id, only_if_state=(RUNNING,), cancel_requested=1):
            append_log(self.store, job_id, "cancel requested")
            with self._lock:
                self._cancel_at[job_id] = time.monotonic() + CANCEL_GRACE_SECONDS
        self._wake.set()
        return get_job(self.store, job_id)

    def jobs(self, states=None, limit: int = 200) -> list[Job]:
        """Jobs, newest first, optionally only those in ``states``."""
        return list_jobs(self.store, states, limit)

    def get(self, job_id: str) -> Job:
        """One job by id."""
        return get_job(self.store, job_id)

    def wait(self, job_id: str, timeout: float = 600) -> Job:
        """Block until a job has finished (for scripts and tests)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            job = get_job(self.store, job_id)
            if not job.active:
                return job
            time.sleep(0.1)
        raise TimeoutError(f"job {job_id} still {job.state} after {timeout} s")

    def recover(self) -> list[str]:
        """Mark running jobs whose server or worker is gone as interrupted; return their ids."""
        marked = []
        for job in list_jobs(self.store, (RUNNING,)):
            owner_alive = pid_alive(job.owner_pid) and job.owner_pid != os.getpid()
            if owner_alive and pid_alive(job.pid):
                continue  # another live server owns it
            if pid_alive(job.pid) and not owner_alive:
                try:
                    os.kill(job.pid, 9)
                except OSError:
                    pass
            reason = (f"the server that ran it (pid {job.owner_pid}) stopped before it finished"
                      if not owner_alive else f"its worker process (pid {job.pid}) is gone")
            if update_job(self.store, job.id, only_if_state=(RUNNING,), state=INTERRUPTED, finished_at=now(),
                          error=reason):
                append_log(self.store, job.id, f"interrupted: {reason}")
                marked.append(job.id)
        return marked

    def shutdown(self, kill: bool = True) -> None:
        """Stop the scheduler; with ``kill`` terminate workers and mark their jobs interrupted."""
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=5)
        with self._lock:
            procs = dict(self._procs)
        for job_id, proc in procs.items():
            if kill and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
                update_job(self.store, job_id, only_if_state=(RUNNING,), state=INTERRUPTED, finished_at=now(),
                           error="the server shut down while this job ran")

    # -- scheduler -----------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception as exc:  # noqa: BLE001 - the scheduler must survive a bad row or a busy DB
                print(f"fmaudit job scheduler: {exc!r}", file=sys.stderr)
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def _tick(self) -> None:
        with self._lock:
            for job_id, proc in list(self._procs.items()):
                code = proc.poll()
                if code is None:
                    deadline = self._cancel_at.get(job_id)
                    if deadline and time.monotonic() > deadline:
                        proc.kill()
                    continue
                del self._procs[job_id]
                cancelled = self._cancel_at.pop(job_id, None) is not None
                # the worker records its own outcome; this covers a worker that died without doing so
                state, error = ((CANCELLED, "cancelled; the worker was stopped") if cancelled
                                else (FAILED, f"the worker process exited with code {code} before finishing"))
                update_job(self.store, job_id, only_if_state=(RUNNING,), state=state, finished_at=now(), error=error)
            while len(self._procs) < self.max_concurrent:
                job = claim_next(self.store, os.getpid())
                if job is None:
                    break
                self._procs[job.id] = self._spawn(job)

    def _spawn(self, job: Job) -> subprocess.Popen:
        logs = self.store.root / "logs"
        logs.mkdir(exist_ok=True)
        with open(logs / f"{job.id}.log", "ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "fmcore.jobs.worker", "--home", str(self.store.root),
                 "--watch-parent", str(os.getpid()), job.id],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=os.environ.copy())
