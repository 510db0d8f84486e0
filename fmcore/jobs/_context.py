"""What a running job sees: progress, epoch history, log lines and the cancel flag, all via the store."""

from __future__ import annotations

import time

from ..errors import FmauditError, JobCancelled  # noqa: F401  (re-exported: jobs raise it)
from ._records import append_log, get_job, update_job


class JobContext:
    """Passed to every job function. Writes are throttled so a fast loop does not hammer SQLite."""

    def __init__(self, store, job_id: str, min_interval: float = 0.5):
        self.store, self.job_id, self.min_interval = store, job_id, min_interval
        self._last_write = 0.0
        self._last_check, self._cancelled = 0.0, False
        self._history: list[dict] = []
        self._started = time.monotonic()

    def progress(self, fraction: float, eta_s: float | None = None, message: str | None = None,
                 force: bool = False) -> None:
        """Record progress (0-1), the time left and a message (throttled unless ``force``). Without an ``eta_s`` of
        its own, the time left is extrapolated from the time so far once the first step is done."""
        now = time.monotonic()
        if eta_s is None and 0 < fraction < 1:
            eta_s = (now - self._started) * (1 - fraction) / fraction
        if force or now - self._last_write >= self.min_interval:
            self._last_write = now
            update_job(self.store, self.job_id, progress=float(min(1.0, max(0.0, fraction))), eta_s=eta_s,
                       message=message)

    def epoch(self, row: dict) -> None:
        """Append one epoch's metrics to the job's history (the live curves)."""
        self._history.append(row)
        update_job(self.store, self.job_id, history=self._history)

    def log(self, line: str) -> None:
        """Append a line to the job's log."""
        append_log(self.store, self.job_id, line)

    def is_cancelled(self) -> bool:
        """True once the user asked to cancel (checked at most every ``min_interval`` s)."""
        now = time.monotonic()
        if not self._cancelled and now - self._last_check >= self.min_interval:
            self._last_check = now
            self._cancelled = get_job(self.store, self.job_id).cancel_requested
        return self._cancelled

    def train_callback(self, total_epochs: int, span: tuple[float, float] = (0.0, 1.0)):
        """A training callback that reports steps as progress (within ``span`` of the job's bar, when training
        is one step of several) and epochs as history and log lines."""
        from ..train import ProgressCallback

        def report(event: dict) -> None:
            eta = event["eta_s"]
            msg = f"epoch {event['epoch']}/{total_epochs}, step {event['step']}/{event['total_steps']}"
            if event["kind"] == "epoch":
                row = event["metrics"]
                self.epoch(row)
                self.log(f"epoch {row['epoch']}: train loss {row['train_loss']:.4f}, train acc "
                         f"{row['train_accuracy']:.4f}, val loss {row.get('val_loss', float('nan')):.4f}, "
                         f"val acc {row.get('val_accuracy', float('nan')):.4f}")
            self.progress(span[0] + (span[1] - span[0]) * event["fraction"], eta, msg, force=event["kind"] == "epoch")

        return ProgressCallback(report, interval=0.0)
