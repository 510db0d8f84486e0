"""Compressed variants of a trained image or tabular model, each registered with the original as parent.

Methods (``--method``):

- ``prune:S`` global magnitude pruning of every conv and linear weight to sparsity ``S`` in [0, 1)
  (``torch.nn.utils.prune``), then ``fine_tune_epochs`` with the mask held; stored sparse (non-zero
  values plus a bit mask), so the file really shrinks.
- ``channels:S`` structured pruning that removes the fraction ``S`` of conv channels (seed CNN) or hidden
  units (MLP) with the smallest L1 norm and rebuilds a smaller network: fewer FLOPs, not just zeros.
- ``int8`` / ``dynamic_int8``: torchao ``Int8WeightOnlyConfig`` / ``Int8DynamicActivationInt8WeightConfig``
  on the linear layers (torchao has no CPU conv kernels); stored as int8 weights and per-row scales.
- ``fp16`` / ``bf16``: every weight in half precision, inputs cast down and logits back up.
- ``distill[:W]``: a student of the same family at width factor ``W`` (default 0.5) trained on the
  teacher's softened outputs (Hinton et al. 2015; temperature 4, weight 0.7) and the labels.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import ConfigError, FmauditError
from ..lineage import Derivation
from ..models import quantize_int8
from ._registry import (  # noqa: F401  (re-exported)
    COMPRESSION_METHODS,
    CompressionMethod,
    CompressResult,
    _prune,
    _weights,
    parse_method,
    register_method,
)


def _keep(weight: torch.Tensor, fraction: float) -> torch.Tensor:
    """Indices of the output rows/filters to keep: the largest L1 norms, in their original order."""
    n = weight.shape[0]
    k = max(1, int(round(n * (1 - fraction))))
    norms = weight.detach().abs().reshape(n, -1).sum(1)
    return torch.sort(torch.topk(norms, k).indices).values


def _channels(clf, fraction: float):
    """A smaller network with the weakest channels (seed CNN) or hidden units (MLP) removed."""
    from ..models import nets

    arch, kw, old = clf.meta["architecture"], dict(clf.meta["kwargs"]), clf.net
    if arch == "SeedCNN":
        convs = [m for m in old.features if isinstance(m, nn.Conv2d)]
        keeps = [_keep(c.weight, fraction) for c in convs]
        kw["channels"] = [len(k) for k in keeps]
        hidden = _keep(old.classifier[0].weight, fraction)
        kw["hidden"] = len(hidden)
        new = nets.build(arch, kw)
        new_convs = [m for m in new.features if isinstance(m, nn.Conv2d)]
        prev = None
        with torch.no_grad():
            for c_old, c_new, keep in zip(convs, new_convs, keeps, strict=True):
                w = c_old.weight[keep]
                c_new.weight.copy_(w if prev is None else w[:, prev])
                c_new.bias.copy_(c_old.bias[keep])
                prev = keep
            side2 = old.classifier[0].in_features // convs[-1].out_channels
            cols = (prev[:, None] * side2 + torch.arange(side2)[None, :]).reshape(-1)  # flatten is channel-major
            new.classifier[0].weight.copy_(old.classifier[0].weight[hidden][:, cols])
            new.classifier[0].bias.copy_(old.classifier[0].bias[hidden])
            new.classifier[2].weight.copy_(old.classifier[2].weight[:, hidden])
            new.classifier[2].bias.copy_(old.classifier[2].bias)
        return new, kw
    if arch == "MLP":
        linears = [m for m in old.net if isinstance(m, nn.Linear)]
        keeps = [_keep(m.weight, fraction) for m in linears[:-1]]
        kw["hidden"] = [len(k) for k in keeps]
        new = nets.build(arch, kw)
        new_linears = [m for m in new.net if isinstance(m, nn.Linear)]
        prev = None
        with torch.no_grad():
            for i, (l_old, l_new) in enumerate(zip(linears, new_linears, strict=True)):
                rows = keeps[i] if i < len(keeps) else torch.arange(l_old.out_features)
                w = l_old.weight[rows]
                l_new.weight.copy_(w if prev is None else w[:, prev])
                l_new.bias.copy_(l_old.bias[rows])
                prev = rows
        return new, kw
    raise ConfigError(f"Channel pruning is defined for the seed CNN and the MLP, not {arch}.")


def _student(clf, width: float):
    from ..models import nets

    arch, kw = clf.meta["architecture"], dict(clf.meta["kwargs"])
    if arch == "SeedCNN":
        kw["channels"] = [max(1, int(round(c * width))) for c in kw.get("channels", (32, 64, 64))]
        kw["hidden"] = max(1, int(round(kw.get("hidden", 64) * width)))
    elif arch == "MLP":
        kw["hidden"] = [max(1, int(round(h * width))) for h in kw.get("hidden", (64, 32))]
    else:
        raise ConfigError(f"Distillation needs a network with a width to shrink (seed CNN, MLP), not {arch}.")
    return nets.build(arch, kw), kw


def _distill_loss(teacher: nn.Module, temperature: float = 4.0, weight: float = 0.7):
    import torch.nn.functional as F

    teacher.eval()

    def loss(logits, yb, xb):
        with torch.no_grad():
            soft = F.log_softmax(teacher(xb) / temperature, -1)
        kd = F.kl_div(F.log_softmax(logits / temperature, -1), soft, log_target=True, reduction="batchmean")
        return weight * temperature**2 * kd + (1 - weight) * F.cross_entropy(logits, yb)

    return loss


@dataclass
class _Job:
    """What a method's ``make`` works with: the parent classifier, a copy of its network to change, the
    fine-tuning budget, and ``tune(net, epochs, loss_fn=None, lr=None)``."""

    clf: object
    net: nn.Module
    fine_tune_epochs: int | None
    parent_epochs: int
    lr: float
    tune: Callable


@register_method("prune", "Global magnitude pruning to a sparsity S (prune:0.8); stored sparse; optional fine-tuning.",
                 level="sparsity")
def _make_prune(job: _Job, level: float):
    epochs = 1 if job.fine_tune_epochs is None and level >= 0.5 else (job.fine_tune_epochs or 0)
    storage = _prune(job.net, level, lambda n: job.tune(n, epochs))
    return job.net, storage, {"sparsity": storage.pop("sparsity"), "fine_tune_epochs": epochs}, None


@register_method("channels", "Structured pruning: remove a fraction S of channels / hidden units (channels:0.5); a "
                 "smaller, faster network, fine-tuned after.", level="sparsity")
def _make_channels(job: _Job, level: float):
    net, kwargs = _channels(job.clf, level)
    epochs = 1 if job.fine_tune_epochs is None else job.fine_tune_epochs
    job.tune(net, epochs)
    return net, None, {"fraction_removed": level, "fine_tune_epochs": epochs, "kwargs": kwargs}, kwargs


def _make_int8(scheme: str):
    def make(job: _Job, level):  # quantized by compress_many: torchao's modules do not pickle
        return job.net, {"format": "int8", "scheme": scheme}, {}, None
    return make


register_method("int8", "torchao int8 weight-only quantization of linear layers.")(_make_int8("int8"))
register_method("dynamic_int8", "torchao int8 dynamic quantization (int8 weights and activations) of linear "
                "layers.")(_make_int8("dynamic_int8"))


def _make_graph(kind: str):
    def make(job: _Job, level):  # built by compress_many: an onnxruntime session does not pickle
        return job.net, {"format": kind, "runtime": "onnxruntime"}, {}, None
    return make


register_method("onnx", "onnxruntime's optimised graph of the network (constant folding, fused operators): "
                "same weights, run by onnxruntime.")(_make_graph("onnx"))
register_method("onnx_int8", "onnxruntime static int8 quantisation (int8 weights, uint8 activations calibrated on "
                "256 training inputs), run by onnxruntime.")(_make_graph("onnx_int8"))


def _as_graph(net: nn.Module, meta: dict, example: torch.Tensor, calibration: torch.Tensor) -> nn.Module:
    """The variant's network as the onnxruntime graph its storage names (optimised float, or static int8)."""
    from ..models import OnnxNet, int8_graph, optimised_graph

    if meta["storage"]["format"] == "onnx":
        return OnnxNet(optimised_graph(net, example))
    return OnnxNet(int8_graph(net, example, calibration.numpy()))


def _make_half(dtype: str):
    def make(job: _Job, level):
        from ..models.nets import ReducedPrecision

        return ReducedPrecision(job.net, dtype).eval(), {"format": "half", "dtype": dtype}, {}, None
    return make


register_method("fp16", "All weights in float16.")(_make_half("float16"))
register_method("bf16", "All weights in bfloat16.")(_make_half("bfloat16"))


@register_method("distill", "Knowledge distillation into a narrower student (distill:0.5 = half the width).",
                 level="width", default_level=0.5)
def _make_distill(job: _Job, level: float):
    net, kwargs = _student(job.clf, level)
    epochs = job.fine_tune_epochs or job.parent_epochs
    job.tune(net, epochs, loss_fn=_distill_loss(job.clf.net), lr=job.lr * 3)
    return net, None, {"width": level, "fine_tune_epochs": epochs, "kwargs": kwargs, "temperature": 4.0}, kwargs


#: method name -> help, for forms and ``--help``
METHODS = {name: spec.help for name, spec in COMPRESSION_METHODS.items()}


def _variant_task(shared: dict, task: dict) -> tuple[nn.Module, dict, float]:
    """Make one variant's network and metadata (a sweep task), and the seconds it took. torchao's quantized
    modules do not pickle, so int8 variants come back as the float network and are quantized by ``compress_many``."""
    from ..train import TrainConfig, fit

    started = time.perf_counter()
    clf, method = shared["classifier"], task["method"]
    name, level = parse_method(method)
    base_cfg = TrainConfig(**{**shared["config"], "threads": torch.get_num_threads()})

    def tune(net, epochs, loss_fn=None, lr=None):
        if epochs:
            cfg = TrainConfig(**{**base_cfg.to_dict(), "epochs": epochs, "lr": lr or base_cfg.lr})
            fit(net, shared["train"], shared["val"], cfg, shared["num_classes"], loss_fn=loss_fn)
        return net.eval()

    meta = {k: v for k, v in clf.meta.items() if k not in ("storage",)}
    job = _Job(clf, copy.deepcopy(clf.net), shared["fine_tune_epochs"], shared["parent_epochs"], base_cfg.lr, tune)
    net, storage, info, kwargs = COMPRESSION_METHODS[name].make(job, level)
    if kwargs is not None:
        meta["kwargs"] = kwargs
    if storage:
        meta["storage"] = storage
    meta["compression"] = {"method": method, "name": name, "level": level, **info}
    return net.eval(), meta, time.perf_counter() - started


def compress(store, model_id: str, method: str, **kwargs) -> CompressResult:
    """Make and register one compressed variant of ``model_id`` (see the module docstring for methods)."""
    return compress_many(store, model_id, [method], **kwargs)[0]


def compress_many(store, model_id: str, methods: list[str], *, fine_tune_epochs: int | None = None, seed: int = 0,
                  max_train_samples: int | None = None, threads: int | None = None, progress=None,
                  is_cancelled=None) -> list[CompressResult]:
    """Make and register one variant of ``model_id`` per method. Each variant is one task of the executor
    (``fmcore.executor.get_executor``), seeded with ``seed`` as a lone ``compress`` is, so a grid gives the same
    variants here, on a local Ray instance or on a cluster; registration happens here, in the caller's store."""
    from ..executor import get_executor
    from ..models import Classifier
    from ..train import TrainConfig, evaluate

    for method in methods:
        parse_method(method)
    parent = store.get_model(model_id)
    if "generates" in store.offers(parent.id) and not parent.derivation.get("compression"):  # a language model
        from ._lm import compress_language_model

        return compress_language_model(store, parent, methods, seed=seed, progress=progress)
    clf = store.load_classifier(model_id)
    if clf.modality == "text" or clf.needs_groups or clf.meta.get("storage") or clf.meta.get("randomized"):
        what = "a text transformer" if clf.modality == "text" else "a mitigated or already compressed model"
        raise FmauditError(f"{methods[0]} compresses plain image and tabular networks; model {model_id} is {what}. "
                           "Compress the original model instead.")
    ds = store.load_model_dataset(parent.id)
    train = ds["train"].head(max_train_samples) if max_train_samples else ds["train"]
    val, test = ds["val"].head(2000), ds["test"]
    tc = dict(parent.config.get("train") or {})
    config = TrainConfig(epochs=1, batch_size=tc.get("batch_size") or 64, lr=(tc.get("lr") or 1e-3) / 3,
                         optimizer=tc.get("optimizer") or "adam", seed=seed).to_dict()
    shared = {"classifier": clf, "train": (clf.encode(train.X), train.y), "val": (clf.encode(val.X), val.y),
              "num_classes": ds.num_classes, "config": config, "fine_tune_epochs": fine_tune_epochs,
              "parent_epochs": int(tc.get("epochs") or 3)}
    made = get_executor().map(_variant_task, [{"method": m, "seed": seed} for m in methods], shared,
                              threads=threads, progress=progress, is_cancelled=is_cancelled, label="variants")
    x_test = clf.encode(test.X)
    parent_acc = parent.metrics.get("accuracy")
    if parent_acc is None or parent.metrics.get("n") != len(test):
        parent_acc = evaluate(clf.net, x_test, test.y, ds.num_classes)["accuracy"]
    results = []
    for method, (net, meta, seconds) in zip(methods, made, strict=True):
        started = time.perf_counter()  # the variant's own time: its task, then quantizing, testing and saving here
        if meta.get("storage", {}).get("format") == "int8":
            net = quantize_int8(net, meta["storage"]["scheme"])
        elif str(meta.get("storage", {}).get("format", "")).startswith("onnx"):
            calibration = shared["train"][0][torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[
                :256]]
            net = _as_graph(net, meta, x_test[:1], calibration)
            meta["n_params"] = clf.n_params()
        variant = Classifier(clf.model, net.eval(), meta, clf.preprocess, None)
        metrics = evaluate(variant.net, x_test, test.y, ds.num_classes)
        metrics["compression"] = meta["compression"]
        record = store.register_model(
            variant, dataset=parent.dataset, name=f"{parent.name}-{method.replace(':', '')}", metrics=metrics,
            parent_id=parent.id, derivation={"how": f"compressed ({method})",
                                             "kind": Derivation.COMPRESSED.value, "compression": method, "seed": seed},
            config={**parent.config, "compression": {"method": method, "fine_tune_epochs": fine_tune_epochs,
                                                     "seed": seed}})
        results.append(CompressResult(record.id, parent.id, method, record.size_bytes, parent.size_bytes,
                                      metrics["accuracy"], parent_acc, seconds + time.perf_counter() - started))
    return results
