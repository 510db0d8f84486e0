"""How a model came to be: one enum for the kind of every derivation, stored with each model as
``derivation["kind"]`` beside ``derivation["how"]`` (the sentence the lineage tree shows)."""

from __future__ import annotations

from enum import StrEnum


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
