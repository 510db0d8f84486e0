"""Bring a user's model into the store: safetensors + JSON only, never a pickle, never remote code.

Accepted folders: an fmaudit / plain-torch export (``config.json`` naming one of ``nets.ARCHITECTURES``,
``model.safetensors``, and ``preprocess.json`` for tables), or a Hugging Face sequence-classification
folder with safetensors weights (loaded with ``trust_remote_code=False``, local files only). The model
is bound to a dataset whose classes it must match, tested on it, and registered as ``imported``.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from ..config import read_json
from ..errors import ConfigError, FmauditError
from ..lineage import Derivation
from ..security import safe_file_name

PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".h5", ".msgpack"}


def max_model_bytes() -> int:
    """The largest model folder import accepts (``FMAUDIT_MAX_MODEL_MB``)."""
    return int(float(os.environ.get("FMAUDIT_MAX_MODEL_MB", "2000")) * 2**20)


DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
               "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}
MAX_HEADER_BYTES = 100_000_000  # safetensors' own limit


def check_safetensors(path: Path) -> dict:
    """Check a ``.safetensors`` file's header before any library reads it: its length fits the file, it is a JSON
    object, and every tensor has a known dtype, a shape of non-negative integers and byte offsets inside the file
    that match its shape. Returns the header; a malformed file is a ``FmauditError`` naming the problem."""
    import struct

    size = path.stat().st_size
    bad = f"{path.name} is not a valid safetensors file"
    if size < 8:
        raise FmauditError(f"{bad}: {size} bytes, shorter than its header length field.")
    with open(path, "rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        if n > min(MAX_HEADER_BYTES, size - 8):
            raise FmauditError(f"{bad}: its header claims {n} bytes, the file holds {size - 8} after the length.")
        raw = fh.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FmauditError(f"{bad}: its header is not JSON ({str(exc)[:120]}).") from None
    if not isinstance(header, dict):
        raise FmauditError(f"{bad}: its header is not a JSON object.")
    data, spans = size - 8 - n, []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        where = f"{bad}: tensor {str(name)[:60]!r}"
        if not isinstance(info, dict) or info.get("dtype") not in DTYPE_BYTES:
            raise FmauditError(f"{where} has no known dtype.")
        shape, offsets = info.get("shape"), info.get("data_offsets")
        if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2**40
                                                  for d in shape) or len(shape) > 16:
            raise FmauditError(f"{where} has a malformed shape {str(shape)[:60]}.")
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
                or not 0 <= offsets[0] <= offsets[1] <= data):
            raise FmauditError(f"{where} has byte offsets {str(offsets)[:60]} outside the file's {data} data bytes.")
        count = math.prod(shape)
        if offsets[1] - offsets[0] != count * DTYPE_BYTES[info["dtype"]]:
            raise FmauditError(f"{where}: its shape {shape} needs {count * DTYPE_BYTES[info['dtype']]} bytes, its "
                               f"offsets give {offsets[1] - offsets[0]}.")
        spans.append(tuple(offsets))
    end = 0
    for start, stop in sorted(spans):  # the tensors tile the data exactly: no gap, no overlap, nothing after
        if start != end:
            raise FmauditError(f"{bad}: its tensors leave a gap or overlap at byte {min(start, end)}.")
        end = stop
    if end != data:
        raise FmauditError(f"{bad}: {data - end} bytes after the last tensor belong to none.")
    return header


def check_model_folder(folder: Path) -> dict:
    """Refuse pickles, oversize folders, links out of the folder and unreadable configs; returns config.json."""
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder; a model is a folder with config.json and model.safetensors.")
    files = [p for p in folder.rglob("*") if p.is_file() or p.is_symlink()]
    outside = [p.name for p in files if p.is_symlink() and folder.resolve() not in p.resolve().parents]
    if outside:
        raise FmauditError(f"Refused: {', '.join(outside)} link outside the model folder.")
    pickles = sorted(p.name for p in files if p.suffix.lower() in PICKLE_SUFFIXES)
    if pickles:
        raise FmauditError(f"Refused: {', '.join(pickles)} can hold pickled code, which fmaudit never loads. Save the "
                           "weights as safetensors (model.save_pretrained(..., safe_serialization=True), or "
                           "safetensors.torch.save_file(model.state_dict(), 'model.safetensors')).")
    size = sum(p.stat().st_size for p in files if p.is_file())
    if size > max_model_bytes():
        raise FmauditError(f"The model folder holds {size / 2**20:.0f} MB, over the {max_model_bytes() / 2**20:.0f} MB "
                           "limit (FMAUDIT_MAX_MODEL_MB).")
    if not any(p.suffix == ".safetensors" for p in files):
        raise FmauditError("No .safetensors weights in the folder.")
    for p in files:
        if p.suffix == ".safetensors" and p.is_file():
            check_safetensors(p)
    if not (folder / "config.json").is_file():
        raise FmauditError("The folder has no config.json.")
    config = read_json(folder / "config.json")
    if not isinstance(config, dict):
        raise FmauditError("config.json must hold a JSON object.")
    for key, kind in (("architecture", str), ("model_type", str), ("kwargs", dict), ("input", dict),
                      ("storage", dict)):
        if key in config and not isinstance(config[key], kind):
            raise FmauditError(f"config.json: {key} must be a JSON {'string' if kind is str else 'object'}, got "
                               f"{type(config[key]).__name__}.")
    return config


def import_model(store, folder: str | Path, dataset: str, name: str | None = None, trust: tuple[str, ...] = (),
                 control: str = "--trust TYPE"):
    """Validate, load, test and register the model in ``folder`` (or a ``.skops`` / ``.onnx`` file) for
    ``dataset``; returns the record."""
    import hashlib

    from ..data import TabularPreprocessor, load_dataset
    from ..models import Classifier, nets
    from ..train import evaluate

    folder = Path(folder)
    if folder.is_file():
        return import_model_file(store, folder, dataset, name, trust, control)
    config = check_model_folder(folder)
    ds = load_dataset(dataset, store=store)
    classes = list(ds.spec.classes)
    meta = {"modality": ds.spec.modality, "classes": classes, "dataset": ds.name, "format": "fmaudit/1"}
    if "architecture" in config:
        arch = config["architecture"]
        if arch not in nets.ARCHITECTURES or arch == "LinearMixture":
            known = ", ".join(sorted(nets.ARCHITECTURES))
            raise FmauditError(f"Unknown architecture {arch!r}; fmaudit builds {known}.")
        takes = "image" if arch == "SeedCNN" else None
        saved = folder / "fmaudit.json"
        if saved.exists():
            saved_meta = read_json(saved)
            takes = saved_meta.get("modality", takes) if isinstance(saved_meta, dict) else takes
        if ds.spec.modality == "text" or (takes and takes != ds.spec.modality):
            raise FmauditError(f"This {arch} takes {takes or 'numeric'} input; {dataset} is {ds.spec.modality} data.")
        try:
            net = nets.load_exported(folder)
        except (RuntimeError, TypeError, KeyError, ValueError) as exc:
            raise FmauditError(f"The weights do not fit {arch}({config.get('kwargs')}): {exc}") from None
        preprocess = None
        if ds.spec.modality == "tabular":
            spec_path = folder / "preprocess.json"
            if not spec_path.exists():
                raise FmauditError("A tabular model needs preprocess.json (how raw columns become its inputs), as "
                                   "fmaudit exports write it.")
            try:
                preprocess = TabularPreprocessor(read_json(spec_path))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise FmauditError(f"preprocess.json does not describe a preprocessing step: {exc!r}") from None
        model = {"SeedCNN": "seed_cnn", "MLP": "mlp"}.get(arch, "logreg")
        meta.update(model=model, architecture=arch, kwargs=config["kwargs"], input=config.get("input", {}))
        if config.get("storage"):
            meta["storage"] = config["storage"]
        clf = Classifier(model, net.eval(), meta, preprocess, None)
    elif "model_type" in config:
        if ds.spec.modality != "text":
            raise FmauditError(f"A Hugging Face transformer takes text; {dataset} is {ds.spec.modality}.")
        from ..models import quiet_transformers, text_module

        quiet_transformers()
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        try:
            hf, info = AutoModelForSequenceClassification.from_pretrained(
                folder, local_files_only=True, trust_remote_code=False, use_safetensors=True, output_loading_info=True)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError, AttributeError) as exc:
            raise FmauditError(f"transformers cannot load this folder: {str(exc)[:300]}") from None
        fresh = sorted(info.get("missing_keys") or [])
        if fresh:  # transformers would fill them with random numbers: a classifier head nobody trained
            raise FmauditError(f"Refused: the folder has no weights for {', '.join(fresh[:4])}"
                               f"{'...' if len(fresh) > 4 else ''}; transformers would start them at random, so the "
                               "model would be a different one at every import. Save the fine-tuned classifier "
                               "(model.save_pretrained) with its head.")
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
        except Exception as exc:  # noqa: BLE001 - tokenizers raises its own types for a malformed tokenizer.json
            raise FmauditError(f"The tokenizer files cannot be loaded: {str(exc)[:300]}") from None
        meta.update(model="minilm", architecture=type(hf).__name__, max_length=64,
                    input={"kind": "text", "tokenizer": "saved alongside", "max_length": 64})
        clf = Classifier("minilm", text_module(hf).eval(), meta, None, tokenizer)
    else:
        raise FmauditError("config.json names neither an fmaudit architecture nor a Hugging Face model_type.")
    test = ds["test"]
    logits = clf.logits(clf.encode(test.X[:2] if not hasattr(test.X, "iloc") else test.X.iloc[:2]))
    if logits.shape[-1] != len(classes):
        raise FmauditError(f"The model has {logits.shape[-1]} outputs; {dataset} has {len(classes)} classes "
                           f"({', '.join(map(str, classes[:6]))}).")
    metrics = evaluate(clf.net, clf.encode(test.X), test.y, ds.num_classes)
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(folder.rglob("*.safetensors")))).hexdigest()
    name = name or f"imported-{safe_file_name(folder.name)}"
    return store.register_model(clf, dataset=ds.name, name=name, metrics=metrics,
                                derivation={"how": "imported",
                                            "kind": Derivation.IMPORTED.value, "source": str(folder.resolve()),
                                            "source_sha256": digest},
                                config={"imported_from": str(folder.resolve())})


def _check_trust(store, path: Path, trust: tuple[str, ...]) -> tuple[str, ...]:
    """Trusting types beyond fmaudit's list is an approver's decision when the store has users (the one local user's
    in single-user mode); types that run code are never trusted (``never_trustable``)."""
    from ..models import TRUSTED_TYPES, never_trustable
    from ..security import require
    from ._trail import actor

    extra = tuple(sorted({t.strip() for t in trust if t.strip()} - set(TRUSTED_TYPES)))
    dangerous = [t for t in extra if never_trustable(t)]
    if dangerous:
        raise FmauditError(f"Refused: {', '.join(dangerous)} can run code or reach the system; fmaudit never trusts "
                           "such types, whoever asks.")
    if extra:
        from ..security import load_users

        if load_users(store.root):
            require(actor(), "trust", f"trusting {', '.join(extra)} in {path.name}", store.root)
    return extra


def import_model_file(store, path: Path, dataset: str, name: str | None, trust: tuple[str, ...] = (),
                      control: str = "--trust TYPE"):
    """A scikit-learn model saved with skops or an ONNX graph, bound to ``dataset`` (its raw columns or images),
    tested on its test split and registered as imported with the file's sha256, format and trusted types. Types
    trusted beyond fmaudit's list need an approver and are recorded in the trail (``model.trust``)."""
    import hashlib

    from ..data import load_dataset
    from ..models import (
        ExternalClassifier,
        class_order,
        load_skops,
        log_probabilities,
        onnx_feeds,
        onnx_proba,
        onnx_session,
    )
    from ..train import classification_metrics

    kind = {".skops": "sklearn", ".onnx": "onnx"}.get(path.suffix.lower())
    if kind is None:
        raise ConfigError(f"{path.name}: fmaudit imports .skops and .onnx files, or a folder (safetensors + JSON, or a "
                          "Hugging Face folder); never a pickle.")
    if path.stat().st_size > max_model_bytes():
        raise FmauditError(f"{path.name} is {path.stat().st_size / 2**20:.0f} MB, over the "
                           f"{max_model_bytes() / 2**20:.0f} MB limit (FMAUDIT_MAX_MODEL_MB).")
    ds = load_dataset(dataset, store=store)
    classes, modality = list(ds.spec.classes), ds.spec.modality
    if modality == "text":
        raise FmauditError("Text models come in as a Hugging Face folder; .skops and .onnx files are audited on image "
                           "or tabular data.")
    test = ds["test"]
    probe = test.X.iloc[:4] if hasattr(test.X, "iloc") else test.X[:4]
    meta = {"model": kind, "kind": kind, "modality": modality, "classes": classes, "dataset": ds.name,
            "format": {"sklearn": "skops", "onnx": "onnx"}[kind]}
    if kind == "sklearn":
        trust = _check_trust(store, path, trust)
        runtime, trusted = load_skops(path, trust, control)
        from ._trail import actor

        if used := sorted(set(trust) & set(trusted)):
            store.log_event("model.trust", path.name, {"types": used, "file": path.name, "by": actor(),
                                                       "sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
        if not hasattr(runtime, "predict_proba"):
            raise FmauditError(f"{type(runtime).__name__} has no predict_proba: fmaudit audits classifiers with "
                               "class probabilities.")
        meta.update(trusted_types=trusted, estimator=type(runtime).__name__,
                    class_order=class_order(getattr(runtime, "classes_", range(len(classes))), classes))
        columns = getattr(runtime, "feature_names_in_", None)
        if modality == "tabular" and columns is not None:
            missing = [c for c in columns if c not in test.X.columns]
            if missing:
                raise FmauditError(f"The model was fitted on columns {dataset} does not have: {', '.join(missing)}.")
            meta["columns"] = [str(c) for c in columns]
    else:
        runtime = onnx_session(path)
        import onnx

        graph = onnx.load(str(path), load_external_data=False).graph
        meta["n_params"] = int(sum(np.prod(t.dims) for t in graph.initializer))
        try:
            outputs = runtime.run(None, onnx_feeds(runtime, probe, modality))
        except FmauditError:
            raise
        except Exception as exc:  # noqa: BLE001 - onnxruntime's own types: out of memory, a bad node, a shape
            raise FmauditError(f"{path.name} failed when run on {dataset}'s rows: {str(exc)[:300]}") from None
        zipmap = next((o for o in outputs if isinstance(o, list) and o and isinstance(o[0], dict)), None)
        meta["class_order"] = class_order(list(zipmap[0]), classes) if zipmap else list(range(len(classes)))
        onnx_proba(runtime, probe, modality, len(classes))  # refuses a graph without class scores, with the reason
    clf = ExternalClassifier(runtime, meta, path.read_bytes())
    proba = clf.predict_proba(test.X)
    metrics = classification_metrics(test.y, log_probabilities(proba), len(classes))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    name = name or f"imported-{safe_file_name(path.stem)}"
    return store.register_model(clf, dataset=ds.name, name=name, metrics=metrics,
                                derivation={"how": "imported", "kind": Derivation.IMPORTED.value,
                                            "format": meta["format"], "source": str(path.resolve()),
                                            "source_sha256": digest, "trusted_types": meta.get("trusted_types", [])},
                                config={"imported_from": str(path.resolve())})



def import_predictions(store, path: Path, label: str, prediction: str, score: str | None, sensitive: tuple[str, ...],
                       positive: str | None, name: str | None):
    """Check a predictions file and register it as a model (kind ``predictions``) whose data is the file itself."""
    import hashlib

    from ..models import PredictionsClassifier, log_probabilities, prepare, read_predictions
    from ..train import classification_metrics

    if not path.is_file():
        raise ConfigError(f"{path} is not a file.")
    if path.stat().st_size > max_model_bytes():
        raise FmauditError(f"{path.name} is over the {max_model_bytes() / 2**20:.0f} MB limit (FMAUDIT_MAX_MODEL_MB).")
    table, meta = prepare(read_predictions(path), label, prediction, score, sensitive, positive)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    meta["source"] = path.name
    clf = PredictionsClassifier(table, meta, table.to_csv(index=False).encode())
    dataset_name = name or f"predictions-{safe_file_name(path.stem)}"
    ds = clf.dataset(dataset_name)
    proba = clf.predict_proba(ds["test"].X)
    metrics = classification_metrics(ds["test"].y, log_probabilities(proba),
                                     len(meta["classes"]), y_pred=clf.decide(proba))
    from ..train import beats_baseline, majority_baseline

    baseline = majority_baseline(ds["train"].y, ds["test"].y)  # no training rows: the file's own majority
    metrics["majority_baseline"] = {**baseline, "class": meta["classes"][baseline["class_index"]]}
    metrics["beats_baseline"] = beats_baseline(metrics["accuracy"], baseline["accuracy"], metrics["n"])
    return store.register_model(clf, dataset=dataset_name, name=dataset_name, metrics=metrics,
                                derivation={"how": "predictions", "kind": Derivation.IMPORTED.value,
                                            "format": "predictions", "source": str(path.resolve()),
                                            "source_sha256": digest, "columns": meta["columns"],
                                            "sensitive": list(sensitive)},
                                config={"imported_from": str(path.resolve())})
