"""Differentially private training (DP-SGD) with opacus: per-example clipping, Gaussian noise, an accountant.

``fit`` calls ``make_private`` when the config sets ``dp_epsilon``: opacus picks the noise multiplier
that spends exactly that epsilon (at ``dp_delta``) over the planned epochs with Poisson-sampled
batches, and the epsilon actually spent is read back from its accountant after training.
"""

from __future__ import annotations

import warnings

import torch

from ..errors import ConfigError


def quiet_backward(loss) -> None:
    """``loss.backward()`` without torch's notice that opacus' per-example hooks fire on the first layer."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Full backward hook is firing")
        loss.backward()


def check_private(net, inputs, config) -> None:
    """Refuse, with the reason, what DP-SGD cannot train here."""
    if isinstance(inputs, tuple):
        raise ConfigError("DP-SGD is supported for image and tabular models and the small GPT here; pretrained "
                          "transformer classifiers need ghost clipping and far more compute than a CPU audit allows.")
    if not config.dp_epsilon > 0:
        raise ConfigError(f"dp_epsilon must be positive; got {config.dp_epsilon}.")
    if config.dp_delta is not None and not 0 < config.dp_delta < 1:
        raise ConfigError(f"dp_delta must be in (0, 1); got {config.dp_delta}.")
    if not config.dp_max_grad_norm > 0:
        raise ConfigError(f"dp_max_grad_norm must be positive; got {config.dp_max_grad_norm}.")
    from opacus.validators import ModuleValidator

    errors = ModuleValidator.validate(net, strict=False)
    if errors:  # e.g. BatchNorm: replace it with make_dp_compatible() before training
        raise ConfigError(f"This network cannot be trained with DP-SGD as is: {errors[0]}. "
                          "fmcore.train.make_dp_compatible(net) swaps in opacus-compatible layers.")


def make_dp_compatible(net: torch.nn.Module) -> torch.nn.Module:
    """opacus' fix: BatchNorm becomes GroupNorm (per-example gradients need no cross-example statistics)."""
    from opacus.validators import ModuleValidator

    return ModuleValidator.fix(net)


def make_private(net, optimizer, inputs, y, config, generator):
    """Wrap model, optimizer and a Poisson-sampled loader; returns ``(module, optimizer, loader, engine, delta)``."""
    from opacus import PrivacyEngine
    from torch.utils.data import DataLoader, TensorDataset

    n = len(y)
    delta = config.dp_delta if config.dp_delta is not None else min(1e-5, 1.0 / (10 * n))
    loader = DataLoader(TensorDataset(inputs, y), batch_size=config.batch_size, generator=generator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # opacus' secure_mode advice (its RNG is seeded instead, for repeatability)
        engine = PrivacyEngine(accountant="rdp")
        module, dp_opt, dp_loader = engine.make_private_with_epsilon(
            module=net, optimizer=optimizer, data_loader=loader, target_epsilon=float(config.dp_epsilon),
            target_delta=delta, epochs=config.epochs, max_grad_norm=float(config.dp_max_grad_norm))
    return module, dp_opt, dp_loader, engine, delta


def privacy_spent(module, dp_opt, engine, delta, config) -> dict:
    """The epsilon the accountant reports, and the mechanism's settings; removes opacus' hooks."""
    module.remove_hooks()
    return {"epsilon": float(engine.get_epsilon(delta)), "delta": float(delta),
            "target_epsilon": float(config.dp_epsilon), "noise_multiplier": float(dp_opt.noise_multiplier),
            "max_grad_norm": float(config.dp_max_grad_norm), "accountant": "rdp", "library": "opacus"}
