"""fmcore: the fmaudit engine (datasets, models, training, store). Knows no audit and no UI.

Heavy libraries (torch, pandas, transformers) are imported lazily, on first use of the names
below, so ``import fmcore`` stays fast.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "Store": "fmcore.store", "ModelRecord": "fmcore.store",
    "TrainConfig": "fmcore.train", "train_model": "fmcore.train",
    "load_dataset": "fmcore.data", "list_datasets": "fmcore.data", "load_csv": "fmcore.data",
    "list_models": "fmcore.models", "build_classifier": "fmcore.models", "Classifier": "fmcore.models",
    "FmauditError": "fmcore.errors", "UnknownNameError": "fmcore.errors",
    "DataValidationError": "fmcore.errors",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'fmcore' has no attribute {name!r}")
