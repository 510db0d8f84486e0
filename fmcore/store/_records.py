"""Records kept in the store: plain dataclasses that round-trip through JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


def decode_row(row, **json_defaults) -> dict:
    """A SQLite row as a dict, with the named JSON columns decoded (empty -> the given default)."""
    data = dict(row)
    for key, default in json_defaults.items():
        data[key] = json.loads(data[key]) if data[key] else default
    return data


@dataclass
class ModelRecord:
    """A registered model. ``parent_id`` and ``derivation`` make lineage data, not prose."""

    id: str
    name: str
    model: str
    dataset: str
    created_at: str
    path: str
    sha256: str
    size_bytes: int
    n_params: int
    parent_id: str | None = None
    derivation: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    run_id: str | None = None
    #: every file of the model's folder with its sha256 (its identity: ``manifest_sha256``); empty for models
    #: registered before manifests, whose weights alone are covered
    manifest: dict = field(default_factory=dict)
    manifest_sha256: str | None = None

    def to_dict(self) -> dict:
        """The record as a plain dict."""
        return asdict(self)

    @classmethod
    def from_row(cls, row) -> ModelRecord:
        """A record from its SQLite row."""
        return cls(**decode_row(row, derivation={}, config={}, metrics={}, manifest={}))


@dataclass
class RunRecord:
    """One training (or other) run: its config, per-epoch history and outcome."""

    id: str
    kind: str
    status: str
    created_at: str
    config: dict = field(default_factory=dict)
    history: list = field(default_factory=list)
    model_id: str | None = None
    finished_at: str | None = None
    error: str | None = None

    def to_dict(self) -> dict:
        """The record as a plain dict."""
        return asdict(self)

    @classmethod
    def from_row(cls, row) -> RunRecord:
        """A record from its SQLite row."""
        return cls(**decode_row(row, config={}, history=[]))
