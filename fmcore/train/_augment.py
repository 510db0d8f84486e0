"""Data augmentation as training options: a registry of named transforms per modality.

An augmentation is written ``name`` or ``name:value`` (the value sets its main parameter), several
joined by commas: ``rotate:15,translate,noise:0.05``. Each entry carries its modality, help text and
parameters, so the CLI, the Train page and the lineage all read the same registry. Everything is
torch only (no torchvision) and draws from the training loop's seeded generator, so the same seed
gives the same augmented batches.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import ConfigError


@dataclass(frozen=True)
class AugmentationSpec:
    """One augmentation: what it does, which inputs it fits, its parameters (the first is the main one)."""

    name: str
    modality: str
    help: str
    params: dict
    apply: Callable

    @property
    def main(self) -> str:
        """The main parameter's name (the one ``name:value`` sets)."""
        return next(iter(self.params))


MODALITIES = ("image", "tabular", "text")
#: modality -> name -> spec (a name such as ``noise`` means the fitting thing for each kind of input)
AUGMENTATIONS: dict[str, dict[str, AugmentationSpec]] = {m: {} for m in MODALITIES}


def register_augmentation(name: str, modality: str, help: str, **params):
    """Decorator: register ``fn(batch, generator, context, **params)`` as ``name`` for ``modality``."""
    def deco(fn):
        AUGMENTATIONS[modality][name] = AugmentationSpec(name, modality, help, dict(params), fn)
        return fn
    return deco


def augmentations_for(modality: str) -> list[AugmentationSpec]:
    """The augmentations that apply to ``modality`` (image, tabular or text)."""
    return list(AUGMENTATIONS.get(modality, {}).values())


def parse_augment(text: str | None, modality: str) -> list[dict]:
    """``"rotate:15,noise"`` -> ``[{"name": "rotate", "degrees": 15.0}, {"name": "noise", "std": 0.1}]``.

    Raises
    ------
    ConfigError
        For a name unknown for ``modality`` (the message lists those that fit, and says which kind of
        input a name belongs to), or a value that is not a positive number.
    """
    if not text:
        return []
    out, seen = [], set()
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        name, _, value = part.partition(":")
        name = name.strip().lower()
        if name not in AUGMENTATIONS.get(modality, {}):
            fitting = ", ".join(a.name for a in augmentations_for(modality)) or "none"
            elsewhere = [m for m in MODALITIES if name in AUGMENTATIONS[m]]
            where = f" is for {' and '.join(elsewhere)} data" if elsewhere else " is unknown"
            raise ConfigError(f"Augmentation {name!r}{where}; for {modality} data use: {fitting}.")
        spec = AUGMENTATIONS[modality][name]
        if name in seen:
            raise ConfigError(f"Augmentation {name!r} is given twice in {text!r}.")
        seen.add(name)
        params = dict(spec.params)
        if value.strip():
            try:
                number = float(value)
            except ValueError:
                raise ConfigError(f"{name}:{value} - the value must be a number (its {spec.main}), such as "
                                  f"{name}:{spec.params[spec.main]}.") from None
            if not math.isfinite(number) or number <= 0:
                raise ConfigError(f"{name}:{value} - {spec.main} must be a positive number.")
            params[spec.main] = number
        out.append({"name": name, **params})
    return out


def describe(parsed: list[dict], modality: str) -> str:
    """``[{"name": "rotate", "degrees": 15.0}]`` -> ``"rotate:15"`` (the canonical text form)."""
    return ",".join(f"{p['name']}:{p[AUGMENTATIONS[modality][p['name']].main]:g}" for p in parsed)


def modality_of(inputs) -> str:
    """image, tabular or text, from a training split's inputs."""
    if isinstance(inputs, tuple):
        return "text"
    return "image" if inputs.dim() == 4 else "tabular"


class Augmenter:
    """Applies parsed augmentations to a training batch: ``(xb, yb) -> (xb, targets)``.

    ``targets`` are class indices, or class probabilities after mixup. ``context`` holds what a
    transform needs to know about the encoding: ``numeric`` (encoded columns that are numeric
    features, for tabular noise) and ``num_classes`` (for mixup).
    """

    def __init__(self, parsed: list[dict], modality: str, context: dict | None = None):
        self.parsed, self.modality, self.context = parsed, modality, dict(context or {})

    @property
    def soft_targets(self) -> bool:
        """True when the augmentation mixes labels (mixup): the loss then takes soft targets."""
        return any(p["name"] == "mixup" for p in self.parsed)

    def __bool__(self) -> bool:
        return bool(self.parsed)

    def __call__(self, xb, yb, generator: torch.Generator):
        if self.modality == "image":
            xb = _affine(xb, generator, {p["name"]: p for p in self.parsed})
        batch = (xb, yb)
        for p in self.parsed:
            spec = AUGMENTATIONS[self.modality][p["name"]]
            if self.modality == "image" and p["name"] in AFFINE:
                continue
            batch = spec.apply(batch, generator, self.context, **{k: v for k, v in p.items() if k != "name"})
        return batch


def make_augmenter(augment: str | None, inputs, context: dict | None = None) -> Augmenter | None:
    """The augmenter for ``augment`` on encoded training ``inputs``; ``None`` when there is nothing to do.

    Without ``context["numeric"]``, tabular noise goes to the encoded columns that are not one-hot
    (any value other than 0 and 1 in the training inputs).
    """
    modality = modality_of(inputs)
    parsed = parse_augment(augment, modality)
    if not parsed:
        return None
    context = dict(context or {})
    if modality == "tabular" and "numeric" not in context:
        context["numeric"] = [j for j in range(inputs.shape[1])
                              if not bool(((inputs[:, j] == 0) | (inputs[:, j] == 1)).all())]
    return Augmenter(parsed, modality, context)


# -- images ---------------------------------------------------------------------------------------
AFFINE = ("rotate", "translate", "scale")


def _uniform(n, generator, *shape) -> torch.Tensor:
    return torch.rand(n, *shape, generator=generator) * 2 - 1


def _affine(x: torch.Tensor, generator: torch.Generator, chosen: dict) -> torch.Tensor:
    """Rotation, translation and scaling drawn per image and applied in one resampling (less blur)."""
    if not any(k in chosen for k in AFFINE):
        return x
    n, _, h, w = x.shape
    angle = _uniform(n, generator) * math.radians(chosen["rotate"]["degrees"]) if "rotate" in chosen \
        else torch.zeros(n)
    shift = _uniform(n, generator, 2) * chosen["translate"]["pixels"] if "translate" in chosen else torch.zeros(n, 2)
    zoom = 1 + _uniform(n, generator) * chosen["scale"]["amount"] if "scale" in chosen else torch.ones(n)
    cos, sin = angle.cos() / zoom, angle.sin() / zoom  # the grid maps output to input: shrink by 1/zoom
    theta = torch.stack([
        torch.stack([cos, -sin, shift[:, 0] * 2 / w], 1),
        torch.stack([sin, cos, shift[:, 1] * 2 / h], 1),
    ], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")


@register_augmentation("rotate", "image", "Random rotation up to this many degrees either way.", degrees=10.0)
def _rotate(batch, generator, context, degrees):  # applied together with translate and scale in _affine
    return batch


@register_augmentation("translate", "image", "Random shift up to this many pixels along each axis.", pixels=2.0)
def _translate(batch, generator, context, pixels):
    return batch


@register_augmentation("scale", "image", "Random zoom by up to this fraction in or out (0.1: 90% to 110%).",
                       amount=0.1)
def _scale(batch, generator, context, amount):
    return batch


def gaussian_kernel(sigma: float) -> torch.Tensor:
    """A normalised 1-D Gaussian kernel of standard deviation ``sigma``."""
    radius = max(1, int(math.ceil(3 * sigma)))
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-t * t / (2 * sigma * sigma))
    return k / k.sum()


def blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of ``(n, c, h, w)`` with zero padding."""
    k = gaussian_kernel(sigma)
    c, r = x.shape[1], len(k) // 2
    x = F.conv2d(x, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), padding=(0, r), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), padding=(r, 0), groups=c)


@register_augmentation("elastic", "image", "Elastic distortion (Simard et al. 2003): a smooth random displacement "
                       "field of this strength in pixels (smoothness sigma 3 px).", alpha=8.0, sigma=3.0)
def _elastic(batch, generator, context, alpha, sigma):
    x, y = batch
    n, _, h, w = x.shape
    field = blur(_uniform(n, generator, 2, h, w), sigma) * alpha  # pixels
    base = F.affine_grid(torch.eye(2, 3).expand(n, 2, 3), list(x.shape), align_corners=False)
    offset = torch.stack([field[:, 0] * 2 / w, field[:, 1] * 2 / h], -1)
    return F.grid_sample(x, base + offset, align_corners=False, padding_mode="zeros"), y


@register_augmentation("noise", "image", "Gaussian pixel noise with this standard deviation (pixels in 0..1), "
                       "clipped to the valid range.", std=0.1)
def _image_noise(batch, generator, context, std):
    x, y = batch
    return (x + torch.randn(x.shape, generator=generator) * std).clamp(0, 1), y


# -- tables ---------------------------------------------------------------------------------------
@register_augmentation("noise", "tabular", "Gaussian noise on the numeric features, in standard deviations "
                       "of each feature (one-hot categories are left alone).", std=0.1)
def _feature_noise(batch, generator, context, std):
    x, y = batch
    cols = context.get("numeric") or []
    if not cols:
        return batch
    x = x.clone()
    idx = torch.as_tensor(cols)
    x[:, idx] += torch.randn(len(x), len(cols), generator=generator) * std
    return x, y


@register_augmentation("mixup", "tabular", "mixup (Zhang et al. 2018): each example is blended with another of the "
                       "batch, labels blended alike; the mixing weight is drawn from Beta(alpha, alpha).", alpha=0.2)
def _mixup(batch, generator, context, alpha):
    x, y = batch
    k = int(context["num_classes"])
    # Beta(a, a) from two Gamma draws, on the loop's generator (torch's Beta sampler takes no generator)
    g1 = torch._standard_gamma(torch.full((len(x),), float(alpha)), generator=generator)
    g2 = torch._standard_gamma(torch.full((len(x),), float(alpha)), generator=generator)
    lam = (g1 / (g1 + g2)).clamp(0, 1)
    partner = torch.randperm(len(x), generator=generator)
    onehot = F.one_hot(y, k).float() if y.dim() == 1 else y
    mixed = lam[:, None] * x + (1 - lam[:, None]) * x[partner]
    return mixed, lam[:, None] * onehot + (1 - lam[:, None]) * onehot[partner]


# -- text -----------------------------------------------------------------------------------------
def _inner_tokens(mask: torch.Tensor) -> torch.Tensor:
    """Positions holding real tokens other than the first ([CLS]) and last real one ([SEP])."""
    lengths = mask.sum(1, keepdim=True)
    pos = torch.arange(mask.shape[1]).expand_as(mask)
    return (pos >= 1) & (pos < lengths - 1) & mask.bool()


@register_augmentation("token_dropout", "text", "Hide each word piece from the model with this probability (its "
                       "attention mask is cleared); [CLS] and [SEP] are kept.", p=0.1)
def _token_dropout(batch, generator, context, p):
    (ids, mask), y = batch
    drop = (torch.rand(mask.shape, generator=generator) < p) & _inner_tokens(mask)
    return (ids, mask.masked_fill(drop, 0)), y


@register_augmentation("token_swap", "text", "Swap neighbouring word pieces: each position starts a swap with this "
                       "probability; [CLS], [SEP] and padding never move.", p=0.1)
def _token_swap(batch, generator, context, p):
    (ids, mask), y = batch
    ids = ids.clone()
    inner = _inner_tokens(mask)
    start = torch.rand(ids.shape, generator=generator) < p
    for i in range(1, ids.shape[1] - 1):  # left to right, so a token moves at most once per step
        swap = start[:, i] & inner[:, i] & inner[:, i + 1]
        if swap.any():
            a, b = ids[swap, i].clone(), ids[swap, i + 1].clone()
            ids[swap, i], ids[swap, i + 1] = b, a
            start[swap, i + 1] = False
    return (ids, mask), y
