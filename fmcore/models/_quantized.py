"""Int8 models as stored: quantize with torchao, and rebuild a stored int8 network bit for bit when it loads.

Lives with the models (not with compression) because loading a stored model needs it.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def _quiet_torchao() -> None:
    """torchao logs a warning for each optional GPU kernel library it cannot load on a CPU machine."""
    import logging

    for name in ("torchao", "torch.utils._pytree"):
        logging.getLogger(name).setLevel(logging.ERROR)


def quantize_int8(net: nn.Module, name: str, skip: tuple[str, ...] = ()) -> nn.Module:
    """A copy of ``net`` quantized by torchao: ``int8`` (weights only) or ``dynamic_int8`` (weights and
    activations), every linear layer but those named in ``skip`` (e.g. an output layer tied to an embedding)."""
    _quiet_torchao()
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, Int8WeightOnlyConfig, quantize_

    net = copy.deepcopy(net)
    quantize_(net, Int8WeightOnlyConfig() if name == "int8" else Int8DynamicActivationInt8WeightConfig(),
              filter_fn=lambda module, fqn: isinstance(module, nn.Linear) and fqn not in skip)
    return net


def requantize(net: nn.Module, stored: dict, storage: dict) -> nn.Module:
    """Rebuild the torchao-quantized network from the stored int8 weights and scales (the tensors of
    ``model.safetensors``), bit for bit.

    torchao's quantization is not idempotent (re-quantizing dequantized weights gives other scales),
    so the stored int8 tensors and scales are copied into the freshly quantized structure.
    """
    qnet = quantize_int8(net, storage["scheme"], tuple(storage.get("skip", ())))
    with torch.no_grad():
        for name, value in qnet.state_dict().items():
            if hasattr(value, "qdata"):
                value.qdata.copy_(stored[f"{name}.qdata"])
                value.scale.copy_(stored[f"{name}.scale"])
    return qnet
