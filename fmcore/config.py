"""Process-wide settings: where the store lives, how many threads torch uses, seeding."""

from __future__ import annotations

import contextlib
import os
import random
from pathlib import Path


def home() -> Path:
    """The fmaudit home folder (``$FMAUDIT_HOME``, default ``~/.fmaudit``), created on demand."""
    path = Path(os.environ.get("FMAUDIT_HOME", Path.home() / ".fmaudit")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_threads() -> int:
    """Torch threads when none are given: ``$FMAUDIT_THREADS``, else half the cores (at least 1).

    On small shared machines torch's default (all cores) collapses 10-100x as soon as another
    process takes a core, so we stay below the core count unless told otherwise.
    """
    env = os.environ.get("FMAUDIT_THREADS")
    if env:
        return max(1, int(env))
    return max(1, (os.cpu_count() or 2) // 2)


@contextlib.contextmanager
def numpy_seeded(seed: int):
    """numpy's global generator seeded with ``seed`` inside the block (for libraries that draw from it: SHAP,
    scikit-learn's KMeans in ART's activation clustering) and restored after it."""
    import numpy as np

    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def seed_everything(seed: int, threads: int | None = None) -> None:
    """Seed Python, numpy and torch, and fix torch's thread count, for repeatable runs."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    torch.set_num_threads(threads or default_threads())
