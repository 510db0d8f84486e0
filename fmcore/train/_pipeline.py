"""End to end: load data, build the model, fit, test, and register the result in the store."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, FmauditError
from ..lineage import Derivation
from ._augment import parse_augment
from ._callbacks import Callback, CancelCallback, EarlyStopping
from ._config import TrainConfig
from ._loop import beats_baseline, evaluate, fit, majority_baseline
from ._poison import apply_poison, plan_poison, poison_effect


class TrainingCancelled(FmauditError):
    """Training stopped on request; nothing was registered."""


@dataclass
class TrainResult:
    """What a training produced: the record (when stored), test metrics, history and timings."""

    model_id: str | None
    classifier: object
    metrics: dict
    history: list[dict]
    config: TrainConfig
    seconds: float
    run_id: str | None = None

    def summary(self) -> dict:
        """The run's headline numbers, JSON-ready."""
        keep = ("accuracy", "macro_f1", "loss", "n", "majority_baseline", "beats_baseline")
        extra = {"privacy": self.metrics["privacy"]} if "privacy" in self.metrics else {}
        return {**extra, "model_id": self.model_id, "run_id": self.run_id,
                "test_accuracy": self.metrics["accuracy"], "test_macro_f1": self.metrics["macro_f1"],
                "baseline_accuracy": (self.metrics.get("majority_baseline") or {}).get("accuracy"),
                "test": {k: self.metrics.get(k) for k in keep}, "epochs_run": len(self.history),
                "history": self.history, "seconds": round(self.seconds, 2), "config": self.config.to_dict()}


def subset(split, limit: int | None):
    """The first ``limit`` rows of ``split`` (all of it without a limit): the training rows a model saw."""
    return split if not limit or limit >= len(split) else split.head(limit)


def _classifier_defaults(model: str) -> dict:
    from ..models import model_spec

    spec = model_spec(model)
    if spec.generates:
        raise ConfigError(f"A language model is trained by fmcore.train.train_language_model (fmaudit train --model "
                          f"{model}); train_model trains classifiers.")
    return spec.defaults


def train_model(dataset: str, model: str, config: TrainConfig | None = None, *, store=None,
                name: str | None = None, callbacks: list[Callback] = (), is_cancelled=None,
                exclude_rows=(), parent_id: str | None = None) -> TrainResult:
    """Train ``model`` on ``dataset`` and, when ``store`` is given, register it with its run.

    Parameters
    ----------
    dataset, model : registered names (see ``fmcore.data.dataset_names`` and ``fmcore.models.MODELS``).
    config : training settings; ``None`` fields take the model's defaults.
    store : a ``Store``; without one nothing is written.
    callbacks : extra callbacks (progress display, logging).
    is_cancelled : a function polled during training; when it returns true the run stops and
        ``TrainingCancelled`` is raised (nothing is registered).
    exclude_rows : training rows (positions in the training split the config selects, after any poison) left
        out, recorded in the lineage and the model's metadata (a remedy: retraining without suspected rows).
    parent_id : the model this one is derived from (a retraining of it), recorded in the registry.
    """
    from ..config import seed_everything
    from ..data import load_dataset, split_fingerprint
    from ..models import build_classifier

    config = (config or TrainConfig()).resolved(_classifier_defaults(model))
    if config.epochs < 1 or config.batch_size < 1 or config.lr <= 0:
        raise FmauditError(f"epochs and batch_size must be at least 1 and lr positive (got {config.epochs}, "
                           f"{config.batch_size}, {config.lr}).")
    seed_everything(config.seed, config.threads)
    started = time.perf_counter()
    ds = load_dataset(dataset, seed=config.split_seed, store=store)
    augment = parse_augment(config.augment, ds.spec.modality)  # a wrong name fails before any work
    clf = build_classifier(model, ds, max_length=config.max_length)
    context = {"numeric": list(range(len(clf.preprocess.spec["numeric"])))} if clf.preprocess is not None else {}
    train, val, test = (subset(ds["train"], config.max_train_samples),
                        subset(ds["val"], config.max_eval_samples), subset(ds["test"], config.max_eval_samples))
    poison = plan_poison(train, ds.spec.modality, list(ds.spec.classes), config.poison, config.poison_rate,
                         config.poison_target, config.seed) if config.poison else None
    train = apply_poison(train, poison) if poison else train
    seen_rows = len(train)
    excluded = np.unique(np.asarray(exclude_rows, dtype=int))
    if len(excluded):
        if excluded[0] < 0 or excluded[-1] >= seen_rows:
            raise ConfigError(f"exclude_rows must be positions in the {seen_rows} training rows.")
        train = train.take(np.setdiff1d(np.arange(seen_rows), excluded))
    cbs = list(callbacks)
    if config.early_stopping:
        cbs.append(EarlyStopping(config.early_stopping))
    if is_cancelled is not None:
        cbs.append(CancelCallback(is_cancelled))
    run_id = store.create_run("train", {"dataset": dataset, "model": model, **config.to_dict()}) if store else None
    try:
        state = fit(clf.net, (clf.encode(train.X), train.y), (clf.encode(val.X), val.y), config,
                    ds.num_classes, cbs, augment_context=context)
        if state.cancelled:
            raise TrainingCancelled(f"Training of {model} on {dataset} was cancelled after {state.step} steps.")
        metrics = evaluate(clf.net, clf.encode(test.X), test.y, ds.num_classes)
        metrics.update(split="test", val=state.history[-1] if state.history else {},
                       best_epoch=state.best_epoch or len(state.history))
        baseline = majority_baseline(train.y, test.y)
        metrics["majority_baseline"] = {**baseline, "class": ds.spec.classes[baseline["class_index"]]}
        metrics["beats_baseline"] = beats_baseline(metrics["accuracy"], baseline["accuracy"], metrics["n"])
        if state.privacy:
            metrics["privacy"] = state.privacy
        if poison:
            metrics["poison"] = poison_effect(clf, test, poison)
        seconds = time.perf_counter() - started
        model_id = None
        # who the model saw: the privacy audit draws its members from these rows
        clf.meta["training"] = {"train_rows": seen_rows, "split": "train", **config.to_dict(),
                                **({"excluded_rows": excluded.tolist()} if len(excluded) else {})}
        if state.privacy:
            clf.meta["privacy"] = state.privacy
        if store is not None:
            derivation = {"how": "trained",
                          "kind": Derivation.TRAINED.value, "dataset": dataset, "dataset_sha256": ds.provenance.sha256,
                          "seed": config.seed, "split_seed": config.split_seed,
                          "test_sha256": split_fingerprint(ds["test"])}
            if augment:
                derivation["augment"] = augment  # each augmentation with all its parameters
            if poison:
                derivation.update(poison=poison, how=f"trained on poisoned data ({poison['kind']}, "
                                                     f"{len(poison['rows'])} rows -> {poison['target']})")
            if len(excluded):
                derivation.update(excluded_rows=excluded.tolist(), kind=Derivation.CLEANSED.value,
                                  how=f"retrained without {len(excluded)} suspected training rows")
            if state.privacy:
                derivation.update(how=f"trained with DP-SGD (epsilon {state.privacy['epsilon']:.2f}, delta "
                                      f"{state.privacy['delta']:.0e})", privacy=state.privacy)
            record = store.register_model(
                clf, dataset=dataset, name=name, metrics=metrics, run_id=run_id, derivation=derivation,
                parent_id=parent_id,
                config={"model": model, "train": config.to_dict(), "dataset": ds.summary()},
                extra_json={"history.json": state.history})
            model_id = record.id
            store.finish_run(run_id, "done", state.history, model_id)
    except BaseException as exc:
        if store is not None:
            status = "cancelled" if isinstance(exc, TrainingCancelled) else "failed"
            store.finish_run(run_id, status, [], error=str(exc) or type(exc).__name__)
        raise
    return TrainResult(model_id, clf, metrics, state.history, config, seconds, run_id)


