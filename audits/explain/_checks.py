"""Checks an explanation must pass before it is shown as one: sanity (Adebayo et al., 2018: attributions of the
trained model must differ from those of the same network with re-initialised weights), faithfulness (deleting the
most important features first must hurt the class score faster than deleting them in a random order) and
stability (small input noise must not reshuffle the attributions)."""

from __future__ import annotations

import copy

import numpy as np
import torch


def rank_correlation(a: np.ndarray, b: np.ndarray, absolute: bool = False,
                     mask: np.ndarray | None = None) -> np.ndarray:
    """Spearman rank correlation of ``a`` and ``b`` (of ``|a|`` and ``|b|`` when ``absolute``), row by row (each
    row one example's flattened attributions); with ``mask``, over each row's masked entries only (the real
    tokens of a text)."""
    from scipy.stats import rankdata

    a, b = (np.abs(a), np.abs(b)) if absolute else (a, b)
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    if mask is not None:
        return np.array([rank_correlation(a[i:i + 1, m], b[i:i + 1, m])[0] if m.sum() > 1 else 0.0
                         for i, m in enumerate(mask.reshape(len(a), -1))])
    ra, rb = rankdata(a, axis=1), rankdata(b, axis=1)
    ra, rb = ra - ra.mean(1, keepdims=True), rb - rb.mean(1, keepdims=True)
    denom = np.sqrt((ra ** 2).sum(1) * (rb ** 2).sum(1))
    return np.where(denom > 0, (ra * rb).sum(1) / np.where(denom > 0, denom, 1), 0.0)


def randomised_copy(net: torch.nn.Module, seed: int) -> torch.nn.Module:
    """The same architecture with every layer re-initialised (seeded): the model-parameter randomisation test."""
    clone = copy.deepcopy(net)
    torch.manual_seed(seed)
    for module in clone.modules():
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
    return clone.eval()


def deletion_curve(net, x: torch.Tensor, target: torch.Tensor, order: np.ndarray, groups: np.ndarray | None,
                   baseline: torch.Tensor, steps: int = 10) -> np.ndarray:
    """The class probability as the features are deleted in ``order`` (most important first), in ``steps`` equal
    shares from none to all: one row per example. ``order`` ranks units per example (pixels, or original features
    when ``groups`` maps encoded columns to them); a deleted unit takes the ``baseline`` value."""
    n = len(x)
    flat = x.reshape(n, -1).clone()
    base = baseline.reshape(-1).expand_as(flat) if baseline.numel() == flat.shape[1] else baseline.reshape(n, -1)
    units = order.shape[1]
    curve = np.zeros((n, steps + 1))
    with torch.no_grad():
        for s in range(steps + 1):
            k = int(round(units * s / steps))
            mask = np.zeros((n, units), bool)
            if k:
                mask[np.arange(n)[:, None], order[:, :k]] = True
            cols = mask if groups is None else mask[:, groups]
            m = torch.from_numpy(cols)
            probs = net(torch.where(m, base, flat).reshape(x.shape)).softmax(-1)
            curve[:, s] = probs[torch.arange(n), target].numpy()
    return curve


def curve_area(curve: np.ndarray) -> np.ndarray:
    """The area under each row's curve over the fraction deleted (0 to 1): lower means a more faithful order."""
    fractions = np.linspace(0, 1, curve.shape[1])
    return np.trapezoid(curve, fractions, axis=1)
