"""The model zoo: the seed CNN, a tabular MLP, logistic regression and the MiniLM text classifier."""

from ._zoo import MODELS, Classifier, ModelSpec, build_classifier, list_models, minilm_path, model_spec

__all__ = ["MODELS", "Classifier", "ModelSpec", "build_classifier", "list_models", "minilm_path", "model_spec"]
