"""The model zoo: the seed CNN, a tabular MLP, logistic regression and the MiniLM text classifier."""

from ._batching import batched_logits, forward, length, take
from ._fair import GroupThresholdClassifier, group_keys, rules_from_fairlearn
from ._quantized import quantize_int8, requantize
from ._zoo import (
    MODELS,
    Classifier,
    ModelSpec,
    build_classifier,
    list_models,
    minilm_path,
    model_spec,
    quiet_transformers,
    text_module,
)

__all__ = ["MODELS", "Classifier", "GroupThresholdClassifier", "ModelSpec", "batched_logits", "build_classifier",
           "forward", "group_keys", "length", "list_models", "minilm_path", "model_spec", "quantize_int8",
           "quiet_transformers", "requantize", "rules_from_fairlearn", "take", "text_module"]
