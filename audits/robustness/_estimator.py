"""Wrap an fmcore Classifier as an ART estimator (images in [0, 1]; tables in encoded feature space)."""

from __future__ import annotations

import numpy as np
import torch

from fmcore.errors import FmauditError


class _Float32(torch.nn.Module):
    """Some ART attacks (HopSkipJump) feed float64: cast before the network."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x.float())


def attack_rows(total: int, n: int, seed: int) -> np.ndarray:
    """The positions (in the split) of the seeded sample ``attack_inputs`` draws: recorded with every result."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(total, size=min(n, total), replace=False))


def attack_inputs(classifier, split, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded sample of ``n`` encoded inputs and labels from ``split`` (float32 arrays)."""
    if classifier.modality == "text":
        raise FmauditError("Pixel- and feature-space attacks do not apply to text models; use the text attack "
                           "(attack 'charswap') instead.")
    idx = attack_rows(len(split), n, seed)
    X = split.X.iloc[idx] if hasattr(split.X, "iloc") else split.X[idx]
    x = classifier.encode(X).numpy().astype(np.float32)
    return x, split.y[idx]


def feature_range(classifier, train) -> tuple[np.ndarray, np.ndarray] | tuple[float, float]:
    """Clip range for attacks: [0, 1] for images; per-feature min/max of the encoded training data."""
    if classifier.modality == "image":
        return (0.0, 1.0)
    enc = classifier.encode(train.X).numpy()
    return (enc.min(0).astype(np.float32), enc.max(0).astype(np.float32))


def art_estimator(classifier, clip_values):
    """An ART ``PyTorchClassifier`` over the classifier's network, in eval mode, weights frozen.

    Freezes the classifier's parameters in place: use a loaded copy, not a model being trained.
    """
    from art.estimators.classification import PyTorchClassifier

    net = _Float32(classifier.net).eval()
    # Attacks need gradients for the input only. With the weights frozen, backward skips the weight
    # gradients: about a quarter of ART's PGD time on the seed CNN (bench/pgd_speed.py).
    for p in net.parameters():
        p.requires_grad_(False)
    shape = tuple(clip_values[0].shape) if isinstance(clip_values[0], np.ndarray) else None
    if shape is None:
        shape = tuple(classifier.meta["input"]["shape"])
    return PyTorchClassifier(model=net, loss=torch.nn.CrossEntropyLoss(), input_shape=shape,
                             nb_classes=len(classifier.classes), clip_values=clip_values, device_type="cpu")
