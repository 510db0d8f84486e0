"""Performance audit: accuracy and macro-F1 with bootstrap intervals, per-class accuracy, confusion."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ._format import pct
from ._options import opt
from ._result import AuditResult
from ._spec import CompareRow, as_is, register_audit
from .stats import bootstrap_interval, wilson


@dataclass
class PerformanceOptions:
    """The performance audit's options (its flags, form and settings)."""
    split: str = opt("test", "the split audited", choices=("train", "val", "test"))
    max_samples: int | None = opt(None, "audit only the first rows of the split (default: all)", min=1)
    n_boot: int = opt(1000, "bootstrap resamples of the intervals", min=10)
    seed: int = opt(0, "the seed of every random draw")


def _summary(result) -> dict:
    return {}


def _headline(m: dict) -> str:
    return (f"accuracy {pct(m.get('accuracy'))} [{pct(m.get('accuracy_ci_low'))}, {pct(m.get('accuracy_ci_high'))}]")


def _figures(audit: dict) -> list:
    from . import figures

    rows = audit["tables"].get("per_class")
    return [("accuracy per class", figures.per_class_accuracy([r["class"] for r in rows],
                                                              [r["accuracy"] for r in rows]))] if rows else []


#: Compare's rows for this audit
_COMPARE = (
    CompareRow("accuracy", "accuracy", True, True, radar=("accuracy", as_is),
               otherwise=lambda m: m["metrics"].get("accuracy"), interval=("accuracy_ci_low", "accuracy_ci_high")),
    CompareRow("majority-class baseline", "majority_baseline_accuracy", None, True,
               otherwise=lambda m: m.get("baseline")),
    CompareRow("balanced accuracy", "balanced_accuracy", True, True, radar=("balanced accuracy", as_is)),
    CompareRow("macro-F1", "macro_f1", True, False, radar=("macro-F1", as_is),
               otherwise=lambda m: m["metrics"].get("macro_f1")),
)


@register_audit("performance", "Performance",
                "Accuracy and macro-F1 on held-out data with 95% bootstrap intervals, balanced accuracy, per-class "
                "recall with Wilson intervals, the confusion matrix, and the majority-class baseline the model must "
                "beat.", options=PerformanceOptions, requires=("labels",),
                summary=_summary, headline=_headline, figures=_figures, compare=_COMPARE,
                order=10, at_training=True)
def performance(classifier, dataset, params: dict, progress=None) -> AuditResult:
    """Accuracy and macro-F1 with bootstrap intervals, balanced accuracy, recall per class and the majority baseline."""
    import torch

    from fmcore.train import classification_metrics, majority_baseline

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
    per_class = []
    for i, c in enumerate(classes):
        hit = int(((pred == i) & (split.y == i)).sum())
        r_lo, r_hi = wilson(hit, int(support[i]))
        per_class.append({"class": c, "support": int(support[i]), "accuracy": m["per_class_accuracy"][i],
                          "recall": m["per_class_accuracy"][i], "recall_ci_low": r_lo, "recall_ci_high": r_hi})
    warnings = [f"class {r['class']!r} has only {r['support']} test examples" for r in per_class
                if 0 < r["support"] < 30]
    base = majority_baseline(dataset["train"].y, split.y)
    base_class = classes[base["class_index"]]
    present = support > 0
    balanced = float(np.mean(np.array(m["per_class_accuracy"])[present])) if present.any() else float("nan")
    beats = lo > base["accuracy"]
    if not beats:
        warnings.insert(0, f"Not better than the majority-class baseline: always answering {base_class!r} scores "
                           f"{base['accuracy']:.1%}; this model scores {m['accuracy']:.1%} (95% interval "
                           f"{lo:.1%} to {hi:.1%}).")
    weak = [r for r in per_class if r["support"] >= 30 and r["recall"] < 0.5]
    for r in weak:
        warnings.append(f"class {r['class']!r}: only {r['recall']:.1%} of its {r['support']} examples are found "
                        f"(recall {r['recall_ci_low']:.1%} to {r['recall_ci_high']:.1%}).")
    return AuditResult(
        audit="performance", model_id=None, dataset=dataset.name, params=params,
        metrics={"accuracy": m["accuracy"], "accuracy_ci_low": lo, "accuracy_ci_high": hi,
                 "macro_f1": m["macro_f1"], "balanced_accuracy": balanced, "loss": m["loss"], "n": m["n"],
                 "majority_baseline_accuracy": base["accuracy"], "majority_class": base_class,
                 "beats_baseline": bool(beats),
                 **{f"recall[{r['class']}]": r["recall"] for r in per_class}},
        tables={"per_class": per_class,
                "confusion_matrix": [{"true": classes[i], **{classes[j]: v for j, v in enumerate(row)}}
                                     for i, row in enumerate(m["confusion_matrix"])]},
        warnings=warnings, seed=int(params["seed"]), seconds=time.perf_counter() - started)
