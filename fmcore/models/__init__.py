"""The model zoo: the seed CNN, a tabular MLP, logistic regression and the MiniLM text classifier."""

from ._batching import batched_logits, forward, length, take
from ._external import (
    TRUSTED_TYPES,
    ExternalClassifier,
    UntrustedModelError,
    class_order,
    load_skops,
    never_trustable,
    onnx_feeds,
    onnx_proba,
    onnx_session,
    skops_untrusted,
)
from ._fair import GroupThresholdClassifier, group_keys, rules_from_fairlearn
from ._gpt import (
    END,
    GPT,
    GPTConfig,
    LanguageModel,
    blocks,
    encode_texts,
    exposure,
    generate,
    insert_canaries,
    lm_evaluate,
    lm_loss,
    plan_canaries,
    sequence_logprobs,
    train_tokenizer,
    unigram_logprobs,
    unigram_perplexity,
)
from ._onnx import OnnxNet, export_onnx, int8_graph, optimised_graph
from ._predictions import PredictionsClassifier, prepare, read_predictions
from ._quantized import quantize_int8, requantize
from ._zoo import (
    MODELS,
    Classifier,
    ModelSpec,
    build_classifier,
    list_models,
    log_probabilities,
    minilm_path,
    model_spec,
    offers_of,
    quiet_transformers,
    text_module,
)

__all__ = ["Classifier", "END", "ExternalClassifier", "GPT", "GPTConfig", "GroupThresholdClassifier",
           "LanguageModel", "MODELS", "ModelSpec", "OnnxNet", "PredictionsClassifier", "TRUSTED_TYPES",
           "UntrustedModelError", "batched_logits", "blocks", "build_classifier", "class_order", "encode_texts",
           "export_onnx", "exposure", "forward", "generate", "group_keys", "insert_canaries", "int8_graph", "length",
           "list_models", "lm_evaluate", "lm_loss", "load_skops", "log_probabilities", "minilm_path", "model_spec",
           "never_trustable", "offers_of", "onnx_feeds", "onnx_proba", "onnx_session", "optimised_graph",
           "plan_canaries", "prepare", "quantize_int8", "quiet_transformers", "read_predictions", "requantize",
           "rules_from_fairlearn", "sequence_logprobs", "skops_untrusted", "take", "text_module", "train_tokenizer",
           "unigram_logprobs", "unigram_perplexity"]
