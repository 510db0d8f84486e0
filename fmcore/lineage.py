"""How a model came to be: one enum for the kind of every derivation, stored with each model as
``derivation["kind"]`` beside ``derivation["how"]`` (the sentence the lineage tree shows)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum


@dataclass
class DerivedResult:
    """A model made from another (adversarial training, temperature scaling, a fairness mitigation, cleansing,
    compression, fine-tuning): the new model, its parent, and each kind's own fields (what was done; the numbers
    before and after). ``summary()`` is every field, JSON-ready (``seconds`` rounded), plus what a kind derives from
    them (``derived()``); a field with ``metadata={"summary": False}`` stays out."""
    model_id: str | None
    parent_id: str | None

    def derived(self) -> dict:
        """What a kind computes from its fields for its summary (a ratio, a change); nothing by default."""
        return {}

    def summary(self) -> dict:
        """Every field, JSON-ready, and what the kind derives from them."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.metadata.get("summary", True)}
        if "seconds" in out:
            out["seconds"] = round(out["seconds"], 2)
        return {**out, **self.derived()}


class Derivation(StrEnum):
    """The kind of step that made a model (stored as ``derivation['kind']``)."""
    TRAINED = "trained"
    PRETRAINED = "pretrained"
    FINETUNED = "fine-tuned"
    TRANSFERRED = "transferred"
    SCRATCH_BASELINE = "scratch baseline"
    IMPORTED = "imported"
    COMPRESSED = "compressed"
    HARDENED = "hardened"
    MITIGATED = "mitigated"
    CALIBRATED = "calibrated"
    CLEANSED = "cleansed"
    REGISTERED = "registered"


# records stored before the kind was: their sentence's start says it
_FROM_SENTENCE = (("pretrained", Derivation.PRETRAINED), ("imported", Derivation.IMPORTED),
                  ("trained (scratch baseline)", Derivation.SCRATCH_BASELINE), ("trained", Derivation.TRAINED),
                  ("transfer", Derivation.TRANSFERRED), ("fine-tuned", Derivation.FINETUNED),
                  ("compressed", Derivation.COMPRESSED), ("adversarially trained", Derivation.HARDENED),
                  ("fairness mitigation", Derivation.MITIGATED), ("temperature scaled", Derivation.CALIBRATED),
                  ("retrained without", Derivation.CLEANSED))


def derivation_kind(derivation: dict | None) -> Derivation:
    """The kind of a stored ``derivation``: its ``kind``, or for older records, read from its ``how``."""
    derivation = derivation or {}
    if derivation.get("kind"):
        return Derivation(derivation["kind"])
    how = str(derivation.get("how", ""))
    if how == "trained":
        return Derivation.TRAINED
    for start, kind in _FROM_SENTENCE:
        if how.startswith(start) and start != "trained":
            return kind
    return Derivation.REGISTERED
