"""Plain-torch network definitions.

This file imports nothing but ``torch`` and the standard library on purpose: model export copies
it verbatim next to the weights, so an exported folder loads with plain torch and no fmaudit
installed (see ``load_exported`` at the bottom).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn


class SeedCNN(nn.Module):
    """The seed's Keras CNN for 28x28 grey images.

    Conv 32 3x3 -> MaxPool 2 -> Conv 64 3x3 -> MaxPool 2 -> Conv 64 3x3 -> Flatten -> Dense 64
    -> Dense ``num_classes``; ReLU activations; outputs logits.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, image_size: int = 28,
                 channels: tuple[int, int, int] = (32, 64, 64), hidden: int = 64):
        super().__init__()
        c1, c2, c3 = channels
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c2, c3, 3), nn.ReLU(), nn.Flatten(),
        )
        side = ((image_size - 2) // 2 - 2) // 2 - 2
        self.classifier = nn.Sequential(nn.Linear(c3 * side * side, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of 1x28x28 images."""
        return self.classifier(self.features(x))


class MLP(nn.Module):
    """Multi-layer perceptron for tabular features; outputs logits."""

    def __init__(self, in_features: int, num_classes: int = 2, hidden: tuple[int, ...] = (64, 32),
                 dropout: float = 0.1):
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of encoded feature rows."""
        return self.net(x)


class LogisticRegression(nn.Module):
    """Multinomial logistic regression: one linear layer, softmax in the loss."""

    def __init__(self, in_features: int, num_classes: int = 2):
        super().__init__()
        self.linear = nn.Linear(in_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of inputs, flattened."""
        return self.linear(x.flatten(1))


class LinearMixture(nn.Module):
    """A randomized classifier: a weighted vote of linear rules (fairlearn's ExponentiatedGradient result).

    Rule ``k`` votes positive when ``x @ weight[k] + bias[k] > 0`` (scikit-learn's binary decision);
    the probability of the positive class is the ``mix``-weighted share of positive votes. Returns
    log-probabilities ordered by class index (``positive`` is the positive class's index), so a
    softmax gives the probabilities back. Computed in float64, as scikit-learn does.
    """

    def __init__(self, in_features: int, n_rules: int, positive: int = 1):
        super().__init__()
        self.positive = positive
        self.register_buffer("weight", torch.zeros(n_rules, in_features, dtype=torch.float64))
        self.register_buffer("bias", torch.zeros(n_rules, dtype=torch.float64))
        self.register_buffer("mix", torch.zeros(n_rules, dtype=torch.float64))

    def positive_probability(self, x: torch.Tensor) -> torch.Tensor:
        """The mixture's probability of the positive class."""
        votes = (x.flatten(1).double() @ self.weight.T + self.bias > 0).double()
        return votes @ self.mix

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log-probabilities of the two classes (the mixture's logits)."""
        p = self.positive_probability(x)
        pair = [1 - p, p] if self.positive == 1 else [p, 1 - p]
        return torch.log(torch.stack(pair, -1).clamp_min(1e-12)).float()


ARCHITECTURES = {"SeedCNN": SeedCNN, "MLP": MLP, "LogisticRegression": LogisticRegression,
                 "LinearMixture": LinearMixture}


class ReducedPrecision(nn.Module):
    """Runs ``net`` in float16 or bfloat16: inputs are cast down, logits come back as float32."""

    def __init__(self, net: nn.Module, dtype: str):
        super().__init__()
        self.net, self.dtype = net.to(getattr(torch, dtype)), dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits from the half-precision network, inputs cast down and outputs back to float32."""
        return self.net(x.to(getattr(torch, self.dtype))).float()


def build(architecture: str, kwargs: dict) -> nn.Module:
    """Instantiate ``architecture`` (a class name above) with ``kwargs`` from ``config.json``."""
    kwargs = dict(kwargs)
    for key in ("hidden", "channels"):
        if isinstance(kwargs.get(key), list):
            kwargs[key] = tuple(kwargs[key])
    return ARCHITECTURES[architecture](**kwargs)


def pack_state(state: dict, storage: dict | None) -> dict:
    """A state dict in its stored form (``storage["format"]``): ``dense`` as is; ``sparse`` keeps only the
    non-zero values of pruned tensors plus a bit mask; ``int8`` keeps int8 weights and per-row scales of
    quantized tensors; ``half`` casts every floating tensor to float16/bfloat16."""
    fmt = (storage or {}).get("format", "dense")
    out = {}
    for name, value in state.items():
        if fmt == "int8" and hasattr(value, "qdata"):  # a torchao Int8Tensor: store its parts
            out[f"{name}.qdata"] = value.qdata.contiguous()
            out[f"{name}.scale"] = value.scale.contiguous()
        elif fmt == "sparse" and name in storage["tensors"]:
            flat = value.detach().reshape(-1)
            keep = flat != 0
            out[f"{name}.values"] = flat[keep].contiguous()
            bits = torch.zeros((flat.numel() + 7) // 8 * 8, dtype=torch.uint8)
            bits[: flat.numel()] = keep.to(torch.uint8)
            weights = torch.tensor([128, 64, 32, 16, 8, 4, 2, 1], dtype=torch.uint8)
            out[f"{name}.mask"] = (bits.view(-1, 8) * weights).sum(1).to(torch.uint8)
        elif fmt == "half" and value.is_floating_point():
            out[name] = value.detach().to(getattr(torch, storage["dtype"])).contiguous()
        else:
            out[name] = value.detach().contiguous()
    return out


def unpack_state(tensors: dict, storage: dict | None, shapes: dict | None = None) -> dict:
    """The inverse of ``pack_state``, as float32 tensors a plain module loads (int8 is dequantized)."""
    fmt = (storage or {}).get("format", "dense")
    state = {}
    for key, value in tensors.items():
        if fmt == "int8" and key.endswith(".qdata"):
            name = key[: -len(".qdata")]
            state[name] = value.float() * tensors[f"{name}.scale"].float()
        elif fmt == "sparse" and key.endswith(".values"):
            name = key[: -len(".values")]
            shape = storage["tensors"][name]
            n = 1
            for d in shape:
                n *= d
            mask = tensors[f"{name}.mask"]
            bits = torch.stack([(mask >> (7 - i)) & 1 for i in range(8)], 1).reshape(-1)[:n].bool()
            dense = torch.zeros(n, dtype=value.dtype)
            dense[bits] = value
            state[name] = dense.reshape(shape)
        elif key.endswith((".scale", ".mask")) and fmt in ("int8", "sparse"):
            continue
        else:
            state[key] = value
    return state


def load_exported(folder: str | Path) -> nn.Module:
    """Load an exported fmaudit model folder with plain torch and safetensors.

    ``config.json`` names the architecture and its arguments, and, for compressed models, how the
    weights are stored (``storage``); ``model.safetensors`` holds the weights. Inputs are what
    ``config.json["input"]`` describes (tabular inputs go through ``preprocess.json`` first).
    """
    from safetensors.torch import load_file

    folder = Path(folder)
    return from_stored(json.loads((folder / "config.json").read_text()), load_file(str(folder / "model.safetensors")))


def from_stored(config: dict, stored: dict) -> nn.Module:
    """The eval-mode network that ``config.json`` (as a dict) and the tensors of ``model.safetensors`` describe."""
    storage = config.get("storage")
    model = build(config["architecture"], config["kwargs"])
    state = unpack_state(stored, storage)
    if storage and storage.get("format") == "half":
        model = ReducedPrecision(model, storage["dtype"])
        state = {f"net.{k}": v for k, v in state.items()}
    model.load_state_dict(state)
    return model.eval()


def encode_rows(rows: list[dict], preprocess: dict) -> torch.Tensor:
    """Turn raw tabular rows (dicts of column -> value) into the model's float input.

    ``preprocess`` is ``preprocess.json``: numeric columns are standardised with the training
    mean and scale (missing values take the mean); each categorical column becomes one-hot over
    its training categories (an unseen or missing value is all zeros).
    """
    out = []
    for row in rows:
        vec: list[float] = []
        for col in preprocess["numeric"]:
            value = row.get(col["name"])
            try:
                x = float(value)
            except (TypeError, ValueError):
                x = col["mean"]
            if x != x:  # NaN
                x = col["mean"]
            vec.append((x - col["mean"]) / col["scale"])
        for col in preprocess["categorical"]:
            value = row.get(col["name"])
            vec.extend(1.0 if str(value) == c else 0.0 for c in col["categories"])
        out.append(vec)
    return torch.tensor(out, dtype=torch.float32)
