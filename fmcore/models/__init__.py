"""The model zoo: the seed CNN, a tabular MLP, logistic regression and the MiniLM text classifier."""

from ._batching import batched_logits, forward, length, take
from ._external import ExternalClassifier, UntrustedModelError
from ._fair import GroupThresholdClassifier, group_keys, rules_from_fairlearn
from ._gpt import GPT, GPTConfig, generate, train_tokenizer
from ._predictions import PredictionsClassifier  # noqa: F401  (registers the kind)
from ._quantized import quantize_int8, requantize
from ._zoo import (
    MODELS,
    Classifier,
    ModelSpec,
    build_classifier,
    list_models,
    minilm_path,
    model_spec,
    offers_of,
    quiet_transformers,
    text_module,
)

__all__ = ["GPT", "GPTConfig", "generate", "train_tokenizer",
           "MODELS", "Classifier", "ExternalClassifier", "GroupThresholdClassifier", "ModelSpec", "UntrustedModelError",
           "batched_logits", "build_classifier", "forward", "group_keys", "length", "list_models", "minilm_path",
           "model_spec", "offers_of", "quantize_int8", "quiet_transformers", "requantize", "rules_from_fairlearn",
           "take", "text_module"]
