"""Training: one loop for image, tabular and text models, with callbacks for progress and control."""

from ._augment import (
    AUGMENTATIONS,
    AugmentationSpec,
    augmentations_for,
    blur,
    describe,
    parse_augment,
    register_augmentation,
)
from ._callbacks import Callback, CancelCallback, EarlyStopping, ProgressCallback, TrainState
from ._config import TrainConfig
from ._lm import LMResult, train_language_model
from ._loop import (
    augment_images,
    beats_baseline,
    classification_metrics,
    evaluate,
    fit,
    majority_baseline,
    make_optimizer,
)
from ._pipeline import TrainingCancelled, TrainResult, subset, train_model
from ._poison import POISONS, apply_poison, plan_poison, poison_effect, stamp
from ._private import make_dp_compatible

__all__ = ["LMResult", "train_language_model",
           "augment_images", "AUGMENTATIONS", "augmentations_for", "AugmentationSpec", "beats_baseline", "blur",
    "Callback", "CancelCallback", "classification_metrics", "describe", "EarlyStopping", "evaluate", "fit",
    "majority_baseline", "make_dp_compatible", "make_optimizer", "parse_augment", "ProgressCallback",
    "register_augmentation", "train_model", "TrainConfig", "TrainingCancelled", "TrainResult", "TrainState", "POISONS",
    "apply_poison", "plan_poison", "poison_effect", "stamp", "subset"]
