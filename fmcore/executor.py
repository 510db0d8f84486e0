"""Where the tasks of a sweep run: in this process (the default) or as Ray tasks on a cluster.

An audit that is a grid (epsilons, compression methods, bootstrap chunks, reference models) hands
its independent tasks to ``get_executor().map(fn, tasks, shared)``:

- ``fn(shared, task)`` is a module-level function of fmcore or audits; ``shared`` holds what every
  task reads (a model, the inputs), put once into Ray's object store; each ``task`` is a small
  dict with its own ``"seed"``.
- Before each task the executor seeds Python, numpy and torch with the task's seed and fixes the
  torch thread count, so a task's result depends on its inputs only: the same sweep gives the same
  numbers in this process, in a local Ray instance or on a cluster. The local executor restores
  the caller's random state and thread count afterwards.

``FMAUDIT_EXECUTOR`` = ``local`` (default) or ``ray``; ``FMAUDIT_RAY_ADDRESS`` = an existing
cluster (``auto``, ``ray://head:10001``, ``127.0.0.1:6379``); without it a private Ray instance
starts on this machine with ``FMAUDIT_RAY_CPUS`` CPUs (default: all). Ray 2.60's servers listen on
every interface even when given a loopback node address (seen with ``ss``); Ray's token authentication,
on by default (the token lives in ``~/.ray/auth_token``), is what keeps others out.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import random

from .errors import ConfigError

EXECUTORS = ("local", "ray")


def run_task(fn, shared, task: dict, threads: int):
    """Run one task with its own seed and ``threads`` torch threads (what every executor does)."""
    from .config import seed_everything

    if "seed" not in task:
        raise ConfigError(f"A sweep task needs its own seed to be repeatable anywhere; {fn.__name__} got {task!r}.")
    seed_everything(int(task["seed"]), threads)
    with use_executor(LocalExecutor()):  # a sweep inside a task runs inside that task, not as nested Ray tasks
        return fn(shared, task)


#: the packages job functions and sweep tasks may come from (a job row can never name other code)
ALLOWED_PACKAGES = ("fmcore.", "audits.")


def allowed_packages() -> tuple[str, ...]:
    """fmcore and audits, plus prefixes listed in ``$FMAUDIT_JOB_MODULES`` (comma-separated)."""
    extra = [p.strip() for p in os.environ.get("FMAUDIT_JOB_MODULES", "").split(",") if p.strip()]
    return ALLOWED_PACKAGES + tuple(p if p.endswith(".") else p + "." for p in extra)


class LocalExecutor:
    """Runs tasks one after another in this process."""

    name = "local"

    def describe(self) -> dict:
        """Where tasks run: this process, with its CPU count."""
        return {"executor": "local", "cpus": 1}

    def map(self, fn, tasks: list[dict], shared=None, *, threads: int | None = None, progress=None,
            is_cancelled=None, label: str = "task") -> list:
        """Run ``fn(shared, task)`` for each task here, in order, each seeded with its own seed."""
        import numpy as np
        import torch

        from .config import default_threads
        from .errors import JobCancelled

        threads = threads or default_threads()
        is_cancelled = is_cancelled or JOB_CANCELLED.get()
        saved = (random.getstate(), np.random.get_state(), torch.get_rng_state(), torch.get_num_threads())
        out = []
        try:
            for i, task in enumerate(tasks):
                if is_cancelled and is_cancelled():
                    raise JobCancelled(f"stopped after {i} of {len(tasks)} tasks ({label})")
                if progress:
                    progress(i / len(tasks), f"{label}: {i + 1} of {len(tasks)}")
                out.append(run_task(fn, shared, task, threads))
        finally:
            random.setstate(saved[0])
            np.random.set_state(saved[1])
            torch.set_rng_state(saved[2])
            torch.set_num_threads(saved[3])
        if progress and tasks:
            progress(1.0, f"{label}: {len(tasks)} of {len(tasks)} done")
        return out


class RayExecutor:
    """Runs tasks as Ray tasks; connects to ``address`` or starts a private local instance."""

    name = "ray"

    def __init__(self, address: str | None = None, cpus: int | None = None, ship_code: bool | None = None):
        self.address = address or None
        self.cpus = cpus
        # a remote cluster may not have this checkout: send fmcore and audits along (Ray's py_modules)
        self.ship_code = bool(self.address) if ship_code is None else ship_code

    def _ray(self):
        try:
            import ray
        except ImportError:  # pragma: no cover - ray is a dependency; a trimmed install may lack it
            raise ConfigError("FMAUDIT_EXECUTOR=ray needs the ray package: pip install 'ray>=2.60'.") from None
        if not ray.is_initialized():
            kwargs = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
            if self.address:
                env = {}
                if self.ship_code:  # the packages job functions may come from (fmcore, audits, extras)
                    import importlib

                    env["py_modules"] = [importlib.import_module(p.rstrip(".")) for p in allowed_packages()]
                ray.init(address=self.address, runtime_env=env or None, **kwargs)
            else:  # a private instance for this process (Ray's token authentication guards its ports)
                ray.init(num_cpus=self.cpus or os.cpu_count(), **kwargs)
        return ray

    def describe(self) -> dict:
        """Where tasks run: the Ray cluster's address, nodes and CPUs (connects if needed)."""
        ray = self._ray()
        res = ray.cluster_resources()
        return {"executor": "ray", "address": self.address or "local instance", "cpus": int(res.get("CPU", 0)),
                "nodes": len([n for n in ray.nodes() if n.get("Alive")])}

    def map(self, fn, tasks: list[dict], shared=None, *, threads: int | None = None, progress=None,
            is_cancelled=None, label: str = "task") -> list:
        """Run ``fn(shared, task)`` for each task as a Ray task (``shared`` put once in the object store), results in
        task order."""
        from .config import default_threads
        from .errors import JobCancelled

        if not tasks:
            return []
        ray = self._ray()
        threads = threads or default_threads()
        is_cancelled = is_cancelled or JOB_CANCELLED.get()
        cpus = max(1, min(threads, int(ray.cluster_resources().get("CPU", 1))))  # never ask more than exists
        remote = ray.remote(num_cpus=cpus, max_retries=1)(run_task)
        shared_ref = ray.put(shared)  # once, however many tasks read it
        futures = [remote.remote(fn, shared_ref, task, threads) for task in tasks]
        pending, done = list(futures), 0
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1, timeout=0.5)
                done += len(ready)
                if ready and progress:
                    progress(done / len(tasks), f"{label}: {done} of {len(tasks)} done on Ray")
                if is_cancelled and is_cancelled():
                    for f in pending:
                        ray.cancel(f, force=True)
                    raise JobCancelled(f"stopped after {done} of {len(tasks)} tasks ({label})")
            return ray.get(futures)
        except ray.exceptions.RayTaskError as exc:  # re-raise the task's own error (a ConfigError stays one)
            raise exc.as_instanceof_cause() from None


_CURRENT: contextvars.ContextVar = contextvars.ContextVar("fmaudit_executor", default=None)
#: the running job's cancel flag (set by the job worker): every sweep of a job stops between tasks
JOB_CANCELLED: contextvars.ContextVar = contextvars.ContextVar("fmaudit_job_cancelled", default=None)
_FROM_ENV: dict = {}


def executor_from_env() -> LocalExecutor | RayExecutor:
    """The executor that ``$FMAUDIT_EXECUTOR``, ``$FMAUDIT_RAY_ADDRESS`` and ``$FMAUDIT_RAY_CPUS`` name (one each)."""
    name = os.environ.get("FMAUDIT_EXECUTOR", "local").strip().lower() or "local"
    if name not in EXECUTORS:
        raise ConfigError(f"FMAUDIT_EXECUTOR must be one of {', '.join(EXECUTORS)}; got {name!r}.")
    address = os.environ.get("FMAUDIT_RAY_ADDRESS") or None
    cpus = os.environ.get("FMAUDIT_RAY_CPUS")
    key = (name, address, cpus)
    if key not in _FROM_ENV:
        _FROM_ENV[key] = LocalExecutor() if name == "local" else RayExecutor(address, int(cpus) if cpus else None)
    return _FROM_ENV[key]


def get_executor() -> LocalExecutor | RayExecutor:
    """The executor in use: the one set by ``use_executor``, else the environment's."""
    return _CURRENT.get() or executor_from_env()


@contextlib.contextmanager
def use_executor(executor):
    """Run the sweeps inside the ``with`` block on ``executor`` (tests, benchmarks, the CLI flag)."""
    token = _CURRENT.set(executor)
    try:
        yield executor
    finally:
        _CURRENT.reset(token)

