"""Training configuration: a frozen dataclass whose every field has a default and a help text."""

from __future__ import annotations

from dataclasses import dataclass, replace

from .._options import Options, option

_f = option


@dataclass(frozen=True)
class TrainConfig(Options):
    """How to train. ``None`` means "the model's default" (see ``ModelSpec.defaults``)."""

    _kind = "training option"

    epochs: int = _f(3, "Full passes over the training data.")
    batch_size: int | None = _f(None, "Examples per optimisation step; smaller steps are noisier but more frequent.")
    lr: float | None = _f(None, "Learning rate: how far each step moves the weights.")
    optimizer: str | None = _f(None, "adam, adamw or sgd (with momentum 0.9).")
    lr_schedule: str = _f("cosine", "constant, or cosine: the learning rate falls smoothly to zero by the last step.")
    weight_decay: float = _f(0.0, "L2 penalty pulling weights towards zero; a guard against overfitting.")
    seed: int = _f(0, "Seeds weight initialisation, shuffling and dropout: same seed, same model.")
    split_seed: int = _f(0, "Seeds the train/validation/test split of datasets that are not pre-split.")
    threads: int | None = _f(None, "Torch CPU threads (default: $FMAUDIT_THREADS or half the cores).")
    augment: str | None = _f(
        None, "Data augmentation, comma-separated name[:value]: images rotate, translate, scale, elastic, noise; "
              "tables noise, mixup; text token_dropout, token_swap (e.g. rotate:15,translate).")
    early_stopping: int | None = _f(
        None, "Stop after this many epochs without a better validation loss, and keep the best epoch's weights.")
    max_train_samples: int | None = _f(None, "Train on at most this many examples (a seeded subset) for quick runs.")
    max_eval_samples: int | None = _f(None, "Validate and test on at most this many examples.")
    max_length: int | None = _f(None, "Text only: tokens kept per text (default 64).")
    dp_epsilon: float | None = _f(
        None, "Train with DP-SGD (opacus) to this privacy budget epsilon: lower is more private and less accurate.")
    dp_delta: float | None = _f(None, "DP-SGD delta: the chance the guarantee fails (default min(1e-5, 1/(10 n))).")
    dp_max_grad_norm: float = _f(1.0, "DP-SGD: each example's gradient is clipped to this L2 norm before noise.")
    poison: str | None = _f(
        None, "A demonstration of data poisoning: backdoor (a trigger, and the row relabelled as the target: on images "
              "a 3x3 white patch near the bottom-right corner, on texts the rare token 'cf' first, on tables the "
              "first two numeric columns at their training maximum) or label_flip (labels changed to the target), "
              "recorded in the lineage.")
    poison_rate: float = _f(0.05, "Poisoning: the share of training rows poisoned (drawn from the other classes).")
    poison_target: str | None = _f(None, "Poisoning: the class poisoned rows are labelled as (default: the last).")

    def __post_init__(self):
        # configs stored before augmentations had names said True for "small shifts and rotations"
        if isinstance(self.augment, bool):
            object.__setattr__(self, "augment", "rotate,translate" if self.augment else None)
        elif self.augment is not None:
            object.__setattr__(self, "augment", str(self.augment).strip() or None)

    def resolved(self, defaults: dict) -> TrainConfig:
        """A copy with the model's defaults filled in where this config says ``None``."""
        fill = {k: defaults[k] for k in ("batch_size", "lr", "optimizer", "max_length")
                if getattr(self, k) is None and k in defaults}
        return replace(self, **fill)
