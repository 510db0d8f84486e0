"""Training: one loop for image, tabular and text models, with callbacks for progress and control."""

from ._augment import AUGMENTATIONS, AugmentationSpec, augmentations_for, describe, parse_augment, register_augmentation
from ._callbacks import Callback, CancelCallback, EarlyStopping, ProgressCallback, TrainState
from ._config import TrainConfig
from ._loop import (
    augment_images,
    beats_baseline,
    classification_metrics,
    evaluate,
    fit,
    majority_baseline,
    make_optimizer,
)
from ._pipeline import TrainingCancelled, TrainResult, train_model
from ._private import make_dp_compatible

__all__ = [
    "AUGMENTATIONS", "AugmentationSpec", "augmentations_for", "describe", "parse_augment", "register_augmentation",
    "Callback", "CancelCallback", "EarlyStopping", "ProgressCallback", "TrainConfig", "TrainResult", "TrainState",
    "TrainingCancelled", "augment_images", "beats_baseline", "classification_metrics", "evaluate", "fit",
    "majority_baseline", "make_dp_compatible", "make_optimizer", "train_model",
]
