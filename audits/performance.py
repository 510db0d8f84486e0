"""Performance audit: accuracy and macro-F1 with bootstrap intervals, per-class accuracy, confusion."""

from __future__ import annotations

import time

import numpy as np

from ._registry import register_audit
from ._result import AuditResult
from .stats import bootstrap_interval


@register_audit("performance", "Performance",
                "Accuracy and macro-F1 on held-out data with 95% bootstrap intervals, per-class accuracy "
                "and the confusion matrix.", {"split": "test", "max_samples": None, "n_boot": 1000, "seed": 0})
def performance(classifier, dataset, params: dict, progress=None) -> AuditResult:
    import torch

    from fmcore.train import classification_metrics

    started = time.perf_counter()
    split = dataset[params["split"]]
    if params["max_samples"]:
        split = split.head(int(params["max_samples"]))
    proba = classifier.predict_proba(split.X, groups=split.groups)
    pred = classifier.decide(proba)  # arg-max, or fairlearn's seeded draw for randomized mitigations
    m = classification_metrics(split.y, torch.from_numpy(np.log(np.clip(proba, 1e-12, 1))), dataset.num_classes,
                               y_pred=pred)
    correct = (pred == split.y).astype(np.float64)
    lo, hi = bootstrap_interval(correct, int(params["n_boot"]), int(params["seed"]))
    classes = dataset.spec.classes
    support = np.bincount(split.y, minlength=len(classes))
    per_class = [{"class": c, "support": int(support[i]), "accuracy": m["per_class_accuracy"][i]}
                 for i, c in enumerate(classes)]
    warnings = [f"class {r['class']!r} has only {r['support']} test examples" for r in per_class
                if 0 < r["support"] < 30]
    return AuditResult(
        audit="performance", model_id=None, dataset=dataset.name, params=params,
        metrics={"accuracy": m["accuracy"], "accuracy_ci_low": lo, "accuracy_ci_high": hi,
                 "macro_f1": m["macro_f1"], "loss": m["loss"], "n": m["n"]},
        tables={"per_class": per_class,
                "confusion_matrix": [{"true": classes[i], **{classes[j]: v for j, v in enumerate(row)}}
                                     for i, row in enumerate(m["confusion_matrix"])]},
        warnings=warnings, seed=int(params["seed"]), seconds=time.perf_counter() - started)
