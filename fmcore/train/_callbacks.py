"""Training callbacks: progress, early stopping and cancellation are all callbacks.

The loop only calls ``on_train_begin``, ``on_step_end``, ``on_epoch_end`` and ``on_train_end``
and reads ``state.should_stop``; display and control live here (the HF Trainer pattern).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class TrainState:
    """What callbacks see and may change: position, history and the stop flags."""

    epochs: int
    steps_per_epoch: int
    epoch: int = 0
    step: int = 0
    history: list[dict] = field(default_factory=list)
    should_stop: bool = False
    cancelled: bool = False
    started: float = field(default_factory=time.perf_counter)
    best_state: dict | None = None
    best_epoch: int | None = None
    privacy: dict | None = None  # DP-SGD: the epsilon spent and the mechanism (set when training ends)

    @property
    def total_steps(self) -> int:
        """Optimisation steps in the whole run."""
        return self.epochs * self.steps_per_epoch

    @property
    def fraction(self) -> float:
        """The share of the run done, 0 to 1."""
        return min(1.0, self.step / max(1, self.total_steps))

    def eta_seconds(self) -> float | None:
        """Seconds left at the pace so far, or None before the first step."""
        if self.step == 0:
            return None
        elapsed = time.perf_counter() - self.started
        return elapsed / self.step * (self.total_steps - self.step)


class Callback:
    """Base class; override what you need. ``net`` is the torch module being trained."""

    def on_train_begin(self, state: TrainState, net) -> None:
        """Called once before the first step."""

    def on_step_end(self, state: TrainState, net) -> None:
        """Called after every optimisation step."""

    def on_epoch_end(self, state: TrainState, net) -> None:
        """Called after every epoch, with its metrics in ``state.history``."""

    def on_train_end(self, state: TrainState, net) -> None:
        """Called once after the last step."""


class ProgressCallback(Callback):
    """Calls ``report(event)`` with progress at most every ``interval`` seconds and after each epoch.

    ``event`` has keys ``kind`` ("step" or "epoch"), ``epoch``, ``step``, ``total_steps``,
    ``fraction``, ``eta_s`` and, for epochs, ``metrics`` (that epoch's history row).
    """

    def __init__(self, report: Callable[[dict], None], interval: float = 0.5):
        self.report, self.interval, self._last = report, interval, 0.0

    def _event(self, kind: str, state: TrainState) -> dict:
        return {"kind": kind, "epoch": state.epoch, "step": state.step, "total_steps": state.total_steps,
                "fraction": state.fraction, "eta_s": state.eta_seconds()}

    def on_step_end(self, state, net):
        """Report progress, at most every ``interval`` seconds."""
        now = time.perf_counter()
        if now - self._last >= self.interval:
            self._last = now
            self.report(self._event("step", state))

    def on_epoch_end(self, state, net):
        """Report the finished epoch with its metrics."""
        self.report({**self._event("epoch", state), "metrics": state.history[-1]})


class EarlyStopping(Callback):
    """Stop when validation loss has not improved for ``patience`` epochs; keep the best weights."""

    def __init__(self, patience: int = 2, min_delta: float = 0.0):
        self.patience, self.min_delta = patience, min_delta
        self.best, self.wait = float("inf"), 0

    def on_epoch_end(self, state, net):
        """Keep the best weights; stop after ``patience`` epochs without a better validation loss."""
        loss = state.history[-1].get("val_loss")
        if loss is None:
            return
        if loss < self.best - self.min_delta:
            self.best, self.wait = loss, 0
            state.best_epoch = state.epoch
            state.best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        else:
            self.wait += 1
            if self.wait >= self.patience:
                state.should_stop = True

    def on_train_end(self, state, net):
        """Restore the best epoch's weights."""
        if state.best_state is not None and state.best_epoch != state.epoch:
            net.load_state_dict(state.best_state)


class CancelCallback(Callback):
    """Stops training at the next step once ``is_cancelled()`` returns true."""

    def __init__(self, is_cancelled: Callable[[], bool], every: int = 10):
        self.is_cancelled, self.every = is_cancelled, every

    def on_step_end(self, state, net):
        """Stop training when ``is_cancelled()`` says so."""
        if state.step % self.every == 0 and self.is_cancelled():
            state.should_stop = state.cancelled = True
