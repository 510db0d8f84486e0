"""``AuditResult``: what every audit returns, rendered by the dashboard and the report writer."""

from __future__ import annotations

import json
import math
import platform
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata

TRACKED_PACKAGES = ("torch", "numpy", "scikit-learn", "fairlearn", "adversarial-robustness-toolbox",
                    "transformers", "peft", "opacus", "torchao")


def metric_at(metrics: dict, name: str) -> dict:
    """The metrics named ``name@X`` (``robust_accuracy@0.1``, ``mean_corruption_error@noise``) as {X: value}, X a
    number where it reads as one: the one parser of such keys."""
    out = {}
    for key, value in metrics.items():
        stem, at, where = key.partition("@")
        if at and stem == name:
            try:
                out[float(where)] = value
            except ValueError:
                out[where] = value
    return out


def package_versions(names=TRACKED_PACKAGES) -> dict[str, str]:
    """Versions of the packages an audit's numbers depend on, for the record."""
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


TIMINGS = ("created_at", "seconds")


def without_timings(value):
    """A result (dict) without when and how long: what must be equal when the same audit runs twice,
    in this process, on Ray or on another day."""
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k not in TIMINGS}
    if isinstance(value, list | tuple):
        return [without_timings(v) for v in value]
    return value


@dataclass
class AuditResult:
    """The outcome of one audit of one model.

    ``metrics`` holds the headline numbers (flat, JSON scalars); ``tables`` holds named tables as
    lists of row dicts (per class, per group, per epsilon); ``warnings`` says where the numbers
    should not be trusted.
    """

    audit: str
    model_id: str | None
    dataset: str
    params: dict
    metrics: dict
    tables: dict[str, list[dict]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    artifacts: dict[str, str] = field(default_factory=dict)
    seed: int = 0
    seconds: float = 0.0
    versions: dict = field(default_factory=package_versions)
    created_at: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))

    def __post_init__(self):
        # NaN and infinities are not JSON: an undefined rate (a group with no positives) becomes None
        self.metrics, self.tables = _finite(self.metrics), _finite(self.tables)

    def to_dict(self) -> dict:
        """The result as a plain, JSON-ready dict."""
        return asdict(self)

    def to_json(self) -> str:
        """The result as JSON text."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict) -> AuditResult:
        """A result from its dict."""
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> AuditResult:
        """A result from its JSON text."""
        return cls.from_dict(json.loads(text))
