"""Attributions through the field's libraries: Captum (integrated gradients, saliency, occlusion) for torch
models, SHAP's GradientExplainer (expected gradients) for tables. Inputs are the encoded tensors the network
takes; ``target`` is the class explained (the predicted one)."""

from __future__ import annotations

import numpy as np
import torch

from fmcore.errors import ConfigError

METHODS = {
    "integrated_gradients": ("Integrated gradients (Captum): gradients averaged along a straight path from a blank "
                             "input to this one, times the difference.", ("image", "tabular")),
    "saliency": ("Saliency (Captum): the absolute gradient of the class score at the input.", ("image", "tabular")),
    "occlusion": ("Occlusion (Captum): how much the class score drops when a 4x4 patch is blanked.", ("image",)),
    "layer_integrated_gradients": ("Layer integrated gradients (Captum) on the word embeddings: each token's share of "
                                   "the class score, from a text of [PAD] tokens to this one.", ("text",)),
    "shap": ("SHAP expected gradients (shap.GradientExplainer) against 100 training rows as the background.",
             ("tabular",)),
}


def methods_for(modality: str) -> list[str]:
    """The attribution methods that apply to models of ``modality``."""
    return [m for m, (_, kinds) in METHODS.items() if modality in kinds]


def attribute(method: str, net, x: torch.Tensor, target: torch.Tensor, background: torch.Tensor | None = None,
              ig_steps: int = 32, seed: int = 0) -> np.ndarray:
    """Attributions of ``method`` for inputs ``x`` (same shape as ``x``) towards class ``target``. SHAP draws its
    background samples from numpy's global generator: it is seeded with ``seed`` for the call (and restored), so
    the same audit gives the same attributions."""
    if method not in METHODS:
        raise ConfigError(f"Unknown explanation method {method!r}; choose one of {', '.join(METHODS)}.")
    net = net.eval()
    x = x.detach().float()
    if method == "shap":
        import shap

        from fmcore.config import numpy_seeded

        explainer = shap.GradientExplainer(net, background.float())
        with numpy_seeded(seed):
            values = explainer.shap_values(x, ranked_outputs=None)
        values = np.stack(values, -1) if isinstance(values, list) else np.asarray(values)  # (n, d, classes)
        return values[np.arange(len(x)), ..., target.numpy()]
    from captum.attr import IntegratedGradients, Occlusion, Saliency

    if method == "integrated_gradients":
        out = IntegratedGradients(net).attribute(x, baselines=torch.zeros_like(x), target=target, n_steps=ig_steps)
    elif method == "saliency":
        out = Saliency(net).attribute(x, target=target, abs=True)
    else:
        window = (x.shape[1], 4, 4)
        out = Occlusion(net).attribute(x, target=target, sliding_window_shapes=window, strides=window, baselines=0.0)
    return out.detach().numpy()
