"""What a fine-tuning run returns (shared by the classifier and the language-model paths)."""

from __future__ import annotations

from dataclasses import dataclass

from ..lineage import DerivedResult


@dataclass
class FinetuneResult(DerivedResult):
    """What a fine-tuning run made: the method, metrics, cost and history (its summary flattens them)."""
    method: str
    metrics: dict
    cost: dict
    history: list[dict]

    def summary(self) -> dict:
        """The run's headline numbers, JSON-ready."""
        if "test_perplexity" in self.metrics:  # a language model
            return {"model_id": self.model_id, "parent_id": self.parent_id, "method": self.method,
                    **{k: v for k, v in self.metrics.items() if "perplexity" in k}, **self.cost,
                    "history": self.history}
        return {"model_id": self.model_id, "parent_id": self.parent_id, "method": self.method,
                "test_accuracy": self.metrics["accuracy"], "test_macro_f1": self.metrics["macro_f1"],
                **self.cost, "history": self.history}
