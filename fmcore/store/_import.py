"""Bring a user's model into the store: safetensors + JSON only, never a pickle, never remote code.

Accepted folders: an fmaudit / plain-torch export (``config.json`` naming one of ``nets.ARCHITECTURES``,
``model.safetensors``, and ``preprocess.json`` for tables), or a Hugging Face sequence-classification
folder with safetensors weights (loaded with ``trust_remote_code=False``, local files only). The model
is bound to a dataset whose classes it must match, tested on it, and registered as ``imported``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import ConfigError, FmauditError
from ..lineage import Derivation

PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".h5", ".msgpack"}


def max_model_bytes() -> int:
    """The largest model folder import accepts (``FMAUDIT_MAX_MODEL_MB``)."""
    return int(float(os.environ.get("FMAUDIT_MAX_MODEL_MB", "2000")) * 2**20)


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
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FmauditError("The folder has no config.json.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FmauditError(f"config.json is not valid JSON: {exc}") from None
    if not isinstance(config, dict):
        raise FmauditError("config.json must hold a JSON object.")
    return config


def import_model(store, folder: str | Path, dataset: str, name: str | None = None):
    """Validate, load, test and register the model in ``folder`` for ``dataset``; returns the record."""
    import hashlib

    from ..data import TabularPreprocessor, load_dataset
    from ..models import Classifier, nets
    from ..train import evaluate

    folder = Path(folder)
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
            takes = json.loads(saved.read_text()).get("modality", takes)
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
            preprocess = TabularPreprocessor(json.loads(spec_path.read_text()))
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

        hf = AutoModelForSequenceClassification.from_pretrained(folder, local_files_only=True, trust_remote_code=False,
                                                                use_safetensors=True)
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
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
    return store.register_model(clf, dataset=ds.name, name=name or f"imported-{folder.name}", metrics=metrics,
                                derivation={"how": "imported",
                                            "kind": Derivation.IMPORTED.value, "source": str(folder.resolve()),
                                            "source_sha256": digest},
                                config={"imported_from": str(folder.resolve())})
