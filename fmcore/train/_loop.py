"""The training loop: one short loop for image, tabular and text models."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError
from ..models import batched_logits, forward, length, take
from ._augment import Augmenter, make_augmenter
from ._callbacks import Callback, TrainState
from ._config import TrainConfig


def make_optimizer(name: str, params, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """The optimizer a config names (adam, adamw or sgd with momentum 0.9) over ``params``."""
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    raise ValueError(f"Unknown optimizer {name!r}; choose adam, adamw or sgd.")


def make_schedule(name: str, opt: torch.optim.Optimizer, total_steps: int):
    """Per-step learning-rate schedule: ``constant`` or ``cosine`` (decays to zero at the last step)."""
    if name == "constant":
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)
    if name == "cosine":
        return torch.optim.lr_scheduler.LambdaLR(
            opt, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / max(1, total_steps))))
    raise ValueError(f"Unknown lr_schedule {name!r}; choose constant or cosine.")


def augment_images(x: torch.Tensor, generator: torch.Generator, max_shift: float = 2.0,
                   max_degrees: float = 10.0) -> torch.Tensor:
    """Random small rotations and shifts of a batch ``(n, c, h, w)``, in torch (no torchvision)."""
    augmenter = Augmenter([{"name": "rotate", "degrees": max_degrees}, {"name": "translate", "pixels": max_shift}],
                          "image")
    return augmenter(x, None, generator)[0]


def classification_metrics(y_true: np.ndarray, logits: torch.Tensor, n_classes: int,
                           y_pred: np.ndarray | None = None) -> dict:
    """Accuracy, macro-F1, mean cross-entropy, confusion matrix and per-class accuracy (recall).

    ``y_pred`` overrides the arg-max decision (randomized models decide by a seeded draw).
    """
    y_true = np.asarray(y_true)
    loss = float(F.cross_entropy(logits, torch.as_tensor(y_true)).item()) if len(y_true) else float("nan")
    y_pred = logits.argmax(-1).numpy() if y_pred is None else np.asarray(y_pred)
    cm = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    tp = np.diag(cm).astype(float)
    support, predicted = cm.sum(1), cm.sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(support > 0, tp / support, 0.0)
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    present = (support + predicted) > 0  # sklearn's macro average covers labels seen in y_true or y_pred
    return {
        "accuracy": float(tp.sum() / max(1, len(y_true))),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "loss": loss,
        "confusion_matrix": cm.tolist(),
        "per_class_accuracy": recall.tolist(),
        "n": int(len(y_true)),
    }


def majority_baseline(train_y: np.ndarray, test_y: np.ndarray) -> dict:
    """The accuracy of always answering the training data's most frequent class: what a model must beat. Without
    training rows (a file of predictions) the class is the tested labels' own majority (``source`` says which)."""
    train_y, test_y = np.asarray(train_y), np.asarray(test_y)
    basis, source = (train_y, "training") if len(train_y) else (test_y, "tested labels")
    k = int(np.bincount(basis).argmax()) if len(basis) else 0
    return {"class_index": k, "accuracy": float((test_y == k).mean()) if len(test_y) else float("nan"),
            "source": source}


def beats_baseline(accuracy: float, baseline: float, n: int) -> bool:
    """True when accuracy is above the baseline by more than chance: the lower end of its 95% Wilson interval."""
    from ..intervals import wilson

    return n > 0 and wilson(round(accuracy * n), n)[0] > baseline


def evaluate(net, inputs, y: np.ndarray, n_classes: int, batch_size: int = 512) -> dict:
    """``classification_metrics`` of ``net`` on encoded ``inputs``, in eval mode, no gradients."""
    return classification_metrics(y, batched_logits(net, inputs, n_classes, batch_size), n_classes)


def _correct(logits, yb) -> tuple:
    """Correct answers in a batch and how many there are: soft labels (mixup), classes, or next tokens."""
    targets = yb.argmax(-1) if yb.is_floating_point() and yb.dim() > 1 else yb
    return (logits.detach().argmax(-1) == targets).sum(), targets.numel()


def fit(net, train: tuple, val: tuple | None, config: TrainConfig, n_classes: int,
        callbacks: list[Callback] = (), batch_transform=None, loss_fn=None,
        augment_context: dict | None = None, evaluate_fn=None) -> TrainState:
    """Train ``net`` in place on encoded ``train = (inputs, y)``; validate on ``val`` each epoch.

    ``batch_transform(net, xb, yb) -> (xb, yb)`` rewrites each training batch after augmentation (adversarial
    training); ``loss_fn(logits, yb, xb)`` replaces the cross-entropy (distillation; a language model's next-token
    loss); ``evaluate_fn(net, inputs, y) -> dict`` the validation (``loss``, ``accuracy``, optionally ``macro_f1``
    and ``perplexity``, recorded as ``val_<name>``).

    ``config.augment`` names the augmentations applied to each training batch; ``augment_context``
    tells them about the encoding (``numeric``: the encoded columns that are numeric features).

    ``config`` must be resolved (batch size, lr and optimizer set). Returns the final state, whose
    ``history`` has one row per epoch: train loss/accuracy (running, over the epoch) and
    validation loss/accuracy/macro-F1.
    """
    inputs, y = train
    y = torch.as_tensor(y)
    n = length(inputs)
    bs = config.batch_size
    generator = torch.Generator().manual_seed(config.seed)
    augmenter = make_augmenter(config.augment, inputs, {"num_classes": n_classes, **(augment_context or {})})
    if augmenter is not None and augmenter.soft_targets and (config.dp_epsilon is not None or loss_fn is not None
                                                              or batch_transform is not None):
        raise ConfigError("mixup blends examples and labels: it cannot be combined with DP-SGD (per-example "
                          "privacy), distillation or adversarial training; drop mixup or the other option.")
    params = [p for p in net.parameters() if p.requires_grad]
    opt = make_optimizer(config.optimizer, params, config.lr, config.weight_decay)
    model, private = net, None
    if config.dp_epsilon is not None:
        from ._private import check_private, make_private

        check_private(net, inputs, config)
        model, opt, loader, engine, delta = make_private(net, opt, inputs, y, config, generator)
        private = (model, opt, engine, delta)
    steps = len(loader) if private else math.ceil(n / bs)
    state = TrainState(epochs=config.epochs, steps_per_epoch=steps)
    schedule = make_schedule(config.lr_schedule, opt, state.total_steps)

    def batches():
        if private:  # Poisson sampling: each example joins each batch independently (the DP analysis needs it)
            yield from (b for b in loader if len(b[1]))
            return
        perm = torch.randperm(n, generator=generator)
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            yield take(inputs, idx), y[idx]

    for cb in callbacks:
        cb.on_train_begin(state, net)
    for epoch in range(1, config.epochs + 1):
        state.epoch = epoch
        net.train()
        loss_sum, correct, seen, counted = torch.zeros(()), torch.zeros((), dtype=torch.long), 0, 0
        for xb, yb in batches():
            if augmenter is not None:
                xb, yb = augmenter(xb, yb, generator)
            if batch_transform is not None:
                xb, yb = batch_transform(net, xb, yb)
                net.train()
            logits = forward(model, xb)
            loss = loss_fn(logits, yb, xb) if loss_fn is not None else F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            if private:
                from ._private import quiet_backward

                quiet_backward(loss)
            else:
                loss.backward()
            opt.step()
            schedule.step()
            loss_sum += loss.detach() * len(yb)
            seen += len(yb)
            hits, n_targets = _correct(logits, yb)
            correct, counted = correct + hits, counted + n_targets
            state.step += 1
            for cb in callbacks:
                cb.on_step_end(state, net)
            if state.should_stop:
                break
        row = {"epoch": epoch, "train_loss": float(loss_sum) / max(1, seen),
               "train_accuracy": float(correct) / max(1, counted)}
        if val is not None:
            m = evaluate_fn(net, val[0], val[1]) if evaluate_fn else evaluate(net, val[0], val[1], n_classes)
            row.update({f"val_{k}": m[k] for k in ("loss", "accuracy", "macro_f1", "perplexity") if k in m})
        state.history.append(row)
        if state.cancelled:
            break
        for cb in callbacks:
            cb.on_epoch_end(state, net)
        if state.should_stop:
            break
    if private:
        from ._private import privacy_spent

        state.privacy = privacy_spent(*private, config)
    for cb in callbacks:
        cb.on_train_end(state, net)
    return state
