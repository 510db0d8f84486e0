"""Background jobs: queued in the store, run in worker processes, polled by the dashboard."""

from ..executor import EXECUTORS, LocalExecutor, RayExecutor, executor_from_env, get_executor, use_executor
from ._context import JobCancelled, JobContext
from ._records import ACTIVE, CANCELLED, DONE, FAILED, FINISHED, INTERRUPTED, QUEUED, RUNNING, Job, get_job, list_jobs
from ._runner import JobRunner, default_max_jobs, pid_alive

__all__ = [
    "EXECUTORS", "LocalExecutor", "RayExecutor", "executor_from_env", "get_executor", "use_executor",
    "ACTIVE", "CANCELLED", "DONE", "FAILED", "FINISHED", "INTERRUPTED", "QUEUED", "RUNNING", "Job", "JobCancelled",
    "JobContext", "JobRunner", "default_max_jobs", "get_job", "list_jobs", "pid_alive",
]
