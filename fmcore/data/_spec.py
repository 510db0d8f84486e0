"""Dataset abstractions: what a dataset is, where it came from, and its fixed splits."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MODALITIES = ("image", "tabular", "text")
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Provenance:
    """Where the data came from: the installed package, its version, the file and its sha256."""

    package: str
    version: str
    source: str
    sha256: str
    licence: str
    origin: str = ""

    def to_dict(self) -> dict:
        """The provenance as a plain dict."""
        return asdict(self)


@dataclass(frozen=True)
class Feature:
    """One input feature: ``kind`` is numeric, categorical, image or text."""

    name: str
    kind: str


@dataclass(frozen=True)
class DatasetSpec:
    """What a registered dataset is, known without loading it."""

    name: str
    title: str
    modality: str
    description: str
    label: str
    classes: tuple[str, ...]
    sensitive: tuple[str, ...] = ()
    licence: str = ""
    rows: int | None = None
    immutable: tuple[str, ...] = ()  # features an attack may not change (e.g. age in years, behind the age band)

    def to_dict(self) -> dict:
        """The spec as a plain dict."""
        return asdict(self)


@dataclass
class Split:
    """One split: inputs ``X``, integer labels ``y`` and the sensitive attributes ``groups``.

    ``X`` is a float32 array ``(n, 1, H, W)`` for images, a DataFrame of raw feature columns
    for tabular data, and an object array of strings for text. ``groups`` is a DataFrame with one
    column per sensitive attribute (empty columns when the dataset has none).
    """

    X: Any
    y: np.ndarray
    groups: Any = None

    def __len__(self) -> int:
        return len(self.y)

    def head(self, n: int) -> Split:
        """The first ``n`` rows (splits are already shuffled, so this is a seeded sample)."""
        X = self.X.iloc[:n] if hasattr(self.X, "iloc") else self.X[:n]
        groups = None if self.groups is None else self.groups.iloc[:n]
        return Split(X, self.y[:n], groups)

    def take(self, index) -> Split:
        """The rows at integer positions ``index`` (repeats allowed: resamples)."""
        index = np.asarray(index)
        X = self.X.iloc[index].reset_index(drop=True) if hasattr(self.X, "iloc") else self.X[index]
        groups = None if self.groups is None else self.groups.iloc[index].reset_index(drop=True)
        return Split(X, self.y[index], groups)


@dataclass
class Dataset:
    """A loaded dataset: spec, provenance, feature schema and the train/val/test splits."""

    spec: DatasetSpec
    provenance: Provenance
    features: list[Feature]
    splits: dict[str, Split]
    seed: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The dataset's registered name."""
        return self.spec.name

    @property
    def num_classes(self) -> int:
        """How many classes the label has."""
        return len(self.spec.classes)

    def __getitem__(self, split: str) -> Split:
        return self.splits[split]

    def summary(self) -> dict:
        """JSON-ready description: spec, provenance, schema, split sizes and label balance."""
        return {
            **self.spec.to_dict(),
            "provenance": self.provenance.to_dict(),
            "features": [asdict(f) for f in self.features],
            "seed": self.seed,
            "splits": {k: len(v) for k, v in self.splits.items()},
            "label_balance": {
                k: np.bincount(v.y, minlength=self.num_classes).tolist() for k, v in self.splits.items()
            },
            "notes": list(self.notes),
        }


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def stratified_split(y: np.ndarray, fractions: tuple[float, ...], seed: int) -> list[np.ndarray]:
    """Shuffle indices per class with ``seed`` and cut them into parts of the given fractions.

    Every part keeps the class balance of ``y``; the result does not depend on anything but
    ``y``, ``fractions`` and ``seed``.
    """
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[] for _ in fractions]
    bounds = np.cumsum(fractions)[:-1]
    for cls in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == cls))
        cuts = np.round(bounds * len(idx)).astype(int)
        for i, piece in enumerate(np.split(idx, cuts)):
            parts[i].append(piece)
    return [rng.permutation(np.concatenate(p)) for p in parts]


def age_band(age) -> Any:
    """Age in years -> band label, the grouping used for age as a sensitive attribute."""
    import pandas as pd

    bins = [-np.inf, 24, 44, 64, np.inf]
    labels = ["<25", "25-44", "45-64", "65+"]
    return pd.cut(pd.Series(age, dtype="float64"), bins=bins, labels=labels).astype(str).to_numpy()
