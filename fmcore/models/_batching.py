"""Batching helpers shared by the training loop and inference.

Encoded inputs are a tensor, or a tuple of tensors (text: input ids and attention mask).
"""

from __future__ import annotations

import torch


def take(inputs, idx):
    """Rows ``idx`` (a slice or an index tensor) of encoded inputs."""
    return tuple(t[idx] for t in inputs) if isinstance(inputs, tuple) else inputs[idx]


def forward(net, xb):
    """The network's logits for a batch of inputs of any kind (tensor, encoded text or features)."""
    return net(*xb) if isinstance(xb, tuple) else net(xb)


def length(inputs) -> int:
    """How many examples a batch of inputs holds."""
    return len(inputs[0]) if isinstance(inputs, tuple) else len(inputs)


def batched_logits(net, inputs, n_classes: int, batch_size: int = 512) -> torch.Tensor:
    """Logits of ``net`` on all of ``inputs``, in eval mode and without gradients."""
    net.eval()
    chunks = []
    with torch.inference_mode():
        for i in range(0, length(inputs), batch_size):
            chunks.append(forward(net, take(inputs, slice(i, i + batch_size))))
    return torch.cat(chunks) if chunks else torch.empty(0, n_classes)
