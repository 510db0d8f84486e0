"""A batched PGD written directly in torch: the engine of adversarial training, and the independent
reference the ART-based audit is checked against (tests/audits/test_robustness.py)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pgd(net, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int, step_size: float | None = None,
        norm: str = "inf", clip: tuple | None = (0.0, 1.0), random_init: bool = False,
        generator: torch.Generator | None = None) -> torch.Tensor:
    """Untargeted PGD maximising cross-entropy within an ``eps`` ball (Linf or L2) around ``x``.

    ``clip`` is (low, high), scalars or tensors broadcastable to ``x``; None for no clipping.
    The network is used as is (call ``net.eval()`` first for an audit).
    """
    step_size = step_size if step_size is not None else 2.5 * eps / steps
    lo, hi = clip if clip is not None else (None, None)
    x = x.detach()
    adv = x.clone()
    if random_init:
        adv = adv + (torch.rand(x.shape, generator=generator) * 2 - 1) * eps
    for _ in range(steps):
        adv.requires_grad_(True)
        loss = F.cross_entropy(net(adv), y)
        (grad,) = torch.autograd.grad(loss, adv)
        with torch.no_grad():
            if norm == "inf":
                adv = adv + step_size * grad.sign()
                adv = torch.max(torch.min(adv, x + eps), x - eps)
            else:
                flat = grad.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *[1] * (x.dim() - 1))
                adv = adv + step_size * grad / flat
                delta = adv - x
                dn = delta.flatten(1).norm(dim=1).view(-1, *[1] * (x.dim() - 1))
                adv = x + delta * torch.clamp(eps / dn.clamp_min(1e-12), max=1.0)
            if lo is not None:
                adv = torch.max(torch.min(adv, torch.as_tensor(hi)), torch.as_tensor(lo))
        adv = adv.detach()
    return adv


def pgd_batched(net, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000, **kw) -> torch.Tensor:
    """``pgd`` over ``x`` in batches (bounded memory), in eval mode."""
    net.eval()
    return torch.cat([pgd(net, x[i:i + batch_size], y[i:i + batch_size], **kw) for i in range(0, len(x), batch_size)])
