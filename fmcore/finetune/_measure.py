"""Cost measurements during fine-tuning: time per step and peak resident memory."""

from __future__ import annotations

import threading
import time

from ..train import Callback


class StepTimer(Callback):
    """Wall time of every optimisation step (the first step, which warms allocators, is kept apart)."""

    def __init__(self):
        self.times: list[float] = []
        self._last = None

    def on_train_begin(self, state, net):
        """Start timing."""
        self._last = time.perf_counter()

    def on_step_end(self, state, net):
        """Record the time of one optimisation step."""
        now = time.perf_counter()
        self.times.append(now - self._last)
        self._last = now

    def on_epoch_end(self, state, net):
        """Exclude the evaluation between epochs from the step times."""
        self._last = time.perf_counter()  # validation time is not step time

    @property
    def mean_step(self) -> float:
        """Mean seconds per step, the first (warm-up) step left out when there are others."""
        steady = self.times[1:] or self.times
        return sum(steady) / max(1, len(steady))


class PeakMemory:
    """Samples this process's resident memory in a thread; ``peak_mb`` is the rise above the start."""

    def __init__(self, interval: float = 0.02):
        import psutil

        self.process, self.interval = psutil.Process(), interval
        self.start_rss = self.peak_rss = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)
            time.sleep(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)

    @property
    def peak_mb(self) -> float:
        """The largest rise in resident memory seen, in MB."""
        return (self.peak_rss - self.start_rss) / 2**20
