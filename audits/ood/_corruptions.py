"""Corruptions of the MNIST-C / ImageNet-C kind, for images, texts and tables, at five severities.

Every corruption is a registered function ``fn(x, value, rng)`` with its parameter's value at each
severity (1 mild .. 5 severe), so the audit, its report and an independent re-implementation all
read the same numbers (``CORRUPTIONS[name].levels``). Images are ``(n, 1, H, W)`` floats in 0..1;
geometric corruptions of image ``i`` alternate direction with ``i`` so that results do not depend on
a random sign. Randomness comes from the ``numpy`` generator given (seeded per corruption and
severity by the audit).

Geometric conventions (pixel offsets from the image centre, x to the right, y down): an output pixel
at ``(dx, dy)`` takes the input at ``(cos a dx - sin a dy, sin a dx + cos a dy)`` for ``rotate``,
``(dx + k dy, dy)`` for ``shear``, ``(dx, dy) / s`` for ``scale`` and ``(dx - tx, dy - ty)`` for
``translate``; bilinear interpolation, zeros outside (torch ``grid_sample``, ``align_corners=False``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fmcore.errors import ConfigError

SEVERITIES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class CorruptionSpec:
    """A corruption: its name, family, kinds of input, parameter per severity and the function that applies it."""
    name: str
    modality: str
    family: str
    help: str
    parameter: str
    levels: tuple
    apply: Callable

    def value(self, severity: int):
        """The parameter's value at ``severity`` (1 mild to 5 severe)."""
        if severity not in SEVERITIES:
            raise ConfigError(f"Severity {severity} is out of range; use 1 (mild) to 5 (severe).")
        return self.levels[severity - 1]


CORRUPTIONS: dict[str, dict[str, CorruptionSpec]] = {"image": {}, "text": {}, "tabular": {}}


def register_corruption(name: str, modality: str, help: str, parameter: str, levels: tuple, family: str):
    """Decorator: register ``fn(x, value, rng)`` as corruption ``name`` of ``modality``; ``family`` groups
    corruptions of one kind (noise, blur, geometric, ...) for the per-family mean corruption error."""
    def deco(fn):
        CORRUPTIONS[modality][name] = CorruptionSpec(name, modality, family, help, parameter, tuple(levels), fn)
        return fn
    return deco


def corruptions_for(modality: str, names=None) -> list[CorruptionSpec]:
    """The registered corruptions of ``modality`` (all, or those named; unknown names are refused)."""
    known = CORRUPTIONS.get(modality, {})
    if not names:
        return list(known.values())
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"Unknown {modality} corruption(s) {unknown}; available: {', '.join(known)}.")
    return [known[n] for n in names]


# -- images ---------------------------------------------------------------------------------------
def _sample(x: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Resample each image with its 2x3 map from output to input offsets (in pixels about the centre)."""
    import torch
    import torch.nn.functional as F

    n, _, h, w = x.shape
    t = torch.as_tensor(theta, dtype=torch.float32).clone()
    t[:, 0, 2] *= 2 / w  # pixels -> normalised coordinates (square images: the linear part is unchanged)
    t[:, 1, 2] *= 2 / h
    grid = F.affine_grid(t, [n, 1, h, w], align_corners=False)
    out = F.grid_sample(torch.as_tensor(x, dtype=torch.float32), grid, align_corners=False, padding_mode="zeros")
    return out.numpy()


def _signs(n: int) -> np.ndarray:
    return np.where(np.arange(n) % 2 == 0, 1.0, -1.0)


@register_corruption("gaussian_noise", "image", "Additive Gaussian noise, clipped to 0..1.", "std",
                     (0.08, 0.12, 0.18, 0.26, 0.38), family="noise")
def _gaussian_noise(x, std, rng):
    return np.clip(x + rng.normal(0, std, x.shape), 0, 1)


@register_corruption("shot_noise", "image", "Poisson (photon) noise: fewer photons per unit of brightness is noisier.",
                     "photons", (60, 25, 12, 5, 3), family="noise")
def _shot_noise(x, photons, rng):
    return np.clip(rng.poisson(x * photons) / photons, 0, 1)


@register_corruption("impulse_noise", "image", "Salt-and-pepper noise: this share of pixels set to black or white.",
                     "share", (0.03, 0.06, 0.09, 0.17, 0.27), family="noise")
def _impulse_noise(x, share, rng):
    out = x.copy()
    hit = rng.random(x.shape) < share
    out[hit] = (rng.random(x.shape) < 0.5)[hit].astype(x.dtype)
    return out


@register_corruption("gaussian_blur", "image", "Defocus-like Gaussian blur with this sigma in pixels.", "sigma",
                     (0.5, 0.75, 1.0, 1.25, 1.5), family="blur")
def _gaussian_blur(x, sigma, rng):
    import torch

    from fmcore.train import blur

    return blur(torch.as_tensor(x, dtype=torch.float32), sigma).numpy()


@register_corruption("motion_blur", "image", "Horizontal motion blur: the mean over this many pixels in a row.",
                     "pixels", (3, 5, 7, 9, 11), family="blur")
def _motion_blur(x, pixels, rng):
    import torch
    import torch.nn.functional as F

    k = torch.full((1, 1, 1, int(pixels)), 1.0 / pixels)
    return F.conv2d(torch.as_tensor(x, dtype=torch.float32), k, padding=(0, int(pixels) // 2)).numpy()


@register_corruption("rotate", "image", "Rotation by this many degrees (even-numbered images one way, odd ones the "
                     "other).", "degrees", (10, 20, 30, 45, 60), family="geometric")
def _rotate(x, degrees, rng):
    a = np.radians(degrees) * _signs(len(x))
    theta = np.zeros((len(x), 2, 3))
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = np.cos(a), -np.sin(a), np.sin(a), np.cos(a)
    return _sample(x, theta)


@register_corruption("shear", "image", "Horizontal shear by this factor (direction alternates).", "factor",
                     (0.1, 0.2, 0.3, 0.45, 0.6), family="geometric")
def _shear(x, factor, rng):
    theta = np.zeros((len(x), 2, 3))
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, 0, 1] = factor * _signs(len(x))
    return _sample(x, theta)


@register_corruption("translate", "image", "Shift by this many pixels: right, left, down, up in turn.", "pixels",
                     (2, 3, 4, 5, 6), family="geometric")
def _translate(x, pixels, rng):
    direction = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]], dtype=np.float64)[np.arange(len(x)) % 4]
    theta = np.zeros((len(x), 2, 3))
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, :, 2] = -direction * pixels
    return _sample(x, theta)


@register_corruption("scale", "image", "Shrink about the centre to this fraction of the size.", "factor",
                     (0.9, 0.8, 0.7, 0.6, 0.5), family="geometric")
def _scale(x, factor, rng):
    theta = np.zeros((len(x), 2, 3))
    theta[:, 0, 0] = theta[:, 1, 1] = 1 / factor
    return _sample(x, theta)


@register_corruption("contrast", "image", "Contrast scaled to this fraction about each image's mean.", "factor",
                     (0.6, 0.45, 0.3, 0.2, 0.1), family="intensity")
def _contrast(x, factor, rng):
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    return np.clip((x - mean) * factor + mean, 0, 1)


@register_corruption("brightness", "image", "This much added to every pixel, clipped to 0..1.", "shift",
                     (0.1, 0.2, 0.3, 0.4, 0.5), family="intensity")
def _brightness(x, shift, rng):
    return np.clip(x + shift, 0, 1)


@register_corruption("fog", "image", "A smooth random haze (uniform noise blurred with sigma 4 px, scaled to 0..1 per "
                     "image) times this strength, added and clipped.",
                     "strength", (0.2, 0.35, 0.5, 0.65, 0.8), family="clutter")
def _fog(x, strength, rng):
    import torch

    from fmcore.train import blur

    haze = blur(torch.as_tensor(rng.random(x.shape), dtype=torch.float32), 4.0).numpy()
    lo, hi = haze.min(axis=(1, 2, 3), keepdims=True), haze.max(axis=(1, 2, 3), keepdims=True)
    return np.clip(x + strength * (haze - lo) / np.maximum(hi - lo, 1e-8), 0, 1)


@register_corruption("zigzag", "image", "This many white zigzag lines (4 segments between random points, 1 px) drawn "
                     "over the image.", "lines", (1, 2, 3, 4, 5), family="clutter")
def _zigzag(x, lines, rng):
    out = x.copy()
    n, _, h, w = x.shape
    t = np.linspace(0, 1, 4 * max(h, w))
    for i in range(n):
        for _ in range(int(lines)):
            xs = np.linspace(rng.uniform(0, w * 0.25), rng.uniform(w * 0.75, w - 1), 5)
            ys = rng.uniform(0, h - 1, 5)
            for s in range(4):
                px = np.rint(xs[s] + (xs[s + 1] - xs[s]) * t).astype(int).clip(0, w - 1)
                py = np.rint(ys[s] + (ys[s + 1] - ys[s]) * t).astype(int).clip(0, h - 1)
                out[i, 0, py, px] = 1.0
    return out


# -- texts ----------------------------------------------------------------------------------------
_NEIGHBOURS = {}
for _row in ("qwertyuiop", "asdfghjkl", "zxcvbnm"):
    for _i, _c in enumerate(_row):
        _NEIGHBOURS[_c] = _row[max(0, _i - 1):_i] + _row[_i + 1:_i + 2]


def _typo(word: str, rng) -> str:
    i = int(rng.integers(len(word)))
    kind = int(rng.integers(4))
    if kind == 0 and i + 1 < len(word):
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == 1 and len(word) > 1:
        return word[:i] + word[i + 1:]
    if kind == 2:
        return word[:i] + word[i] + word[i:]
    near = _NEIGHBOURS.get(word[i].lower())
    return word[:i] + (near[int(rng.integers(len(near)))] if near else word[i]) + word[i + 1:]


@register_corruption("typos", "text", "Each letter has this chance of a typo: two letters swapped, one dropped, "
                     "doubled, or replaced by a keyboard neighbour.", "rate",
                     (0.02, 0.04, 0.07, 0.1, 0.15), family="spelling")
def _typos(texts, rate, rng):
    out = []
    for text in texts:
        chars = list(str(text))
        i = 0
        while i < len(chars):
            if chars[i].isalpha() and rng.random() < rate:
                chars[i:i + 2] = list(_typo("".join(chars[i:i + 2]), rng)) or [""]
                i += 2
            else:
                i += 1
        out.append("".join(chars))
    return np.asarray(out, dtype=object)


@register_corruption("case", "text", "This share of words written in upper or lower case (at random).", "share",
                     (0.1, 0.25, 0.5, 0.75, 1.0), family="formatting")
def _case(texts, share, rng):
    out = []
    for text in texts:
        words = str(text).split(" ")
        out.append(" ".join((w.upper() if rng.random() < 0.5 else w.lower()) if rng.random() < share else w
                            for w in words))
    return np.asarray(out, dtype=object)


_PUNCT = re.compile(r"[!\"#$%&'()*+,\-./:;<=>?@\[\]^_`{|}~]")


@register_corruption("punctuation", "text", "Each punctuation mark dropped with this chance, and a stray '!', '?', "
                     "'...' or ',' added after a word with half that chance.", "rate",
                     (0.1, 0.25, 0.5, 0.75, 1.0), family="formatting")
def _punctuation(texts, rate, rng):
    marks = ["!", "?", "...", ","]
    out = []
    for text in texts:
        text = _PUNCT.sub(lambda m: "" if rng.random() < rate else m.group(0), str(text))
        words = [w + (marks[int(rng.integers(4))] if rng.random() < rate / 2 else "") for w in text.split(" ")]
        out.append(" ".join(words))
    return np.asarray(out, dtype=object)


# -- tables ---------------------------------------------------------------------------------------
def numeric_columns(frame, columns) -> list[str]:
    """The numeric feature columns of a tabular dataset."""
    import pandas as pd

    return [c for c in columns if pd.api.types.is_numeric_dtype(frame[c])]


@register_corruption("noise", "tabular", "Gaussian noise on each numeric feature, in standard deviations of that "
                     "feature in the training data; integer features stay integers and values stay in the training "
                     "range.", "std", (0.1, 0.2, 0.3, 0.5, 0.8), family="noise")
def _table_noise(frame, std, rng, stats):
    out = frame.copy()
    for col, (sd, lo, hi, integer) in stats.items():
        values = out[col].astype("float64").to_numpy()
        noisy = np.clip(values + rng.normal(0, std * sd, len(values)), lo, hi)
        out[col] = np.rint(noisy) if integer else noisy
    return out


@register_corruption("missing", "tabular", "This share of numeric cells lost (missing, filled as in training).",
                     "share", (0.05, 0.1, 0.2, 0.3, 0.5), family="missing")
def _table_missing(frame, share, rng, stats):
    out = frame.copy()
    for col in stats:
        values = out[col].astype("float64").to_numpy().copy()
        values[rng.random(len(values)) < share] = np.nan
        out[col] = values
    return out


def table_stats(train_frame, columns) -> dict:
    """Per numeric column: training standard deviation, observed range, and whether it holds integers."""
    stats = {}
    for col in numeric_columns(train_frame, columns):
        v = train_frame[col].astype("float64").dropna().to_numpy()
        if len(v) == 0:
            continue
        stats[col] = (float(v.std()) or 1.0, float(v.min()), float(v.max()), bool(np.all(v == np.round(v))))
    return stats


def corrupt(spec: CorruptionSpec, x, severity: int, seed: int, stats: dict | None = None):
    """``x`` corrupted by ``spec`` at ``severity``, with a generator seeded by (seed, corruption, severity)."""
    index = list(CORRUPTIONS[spec.modality]).index(spec.name)
    rng = np.random.default_rng([int(seed), index, int(severity)])
    value = spec.value(severity)
    if spec.modality == "tabular":
        return spec.apply(x, value, rng, stats or {})
    out = spec.apply(x, value, rng)
    return out.astype(np.float32) if spec.modality == "image" else out


def describe_levels(modality: str) -> list[dict]:
    """One row per corruption: its parameter and the value at each severity (what the report shows)."""
    return [{"corruption": c.name, "family": c.family, "parameter": c.parameter,
             **{f"severity {s}": c.levels[s - 1] for s in SEVERITIES},
             "description": c.help} for c in corruptions_for(modality)]

