"""The corruption audit: accuracy under every corruption at five severities, and the mean corruption error
(Hendrycks & Dietterich 2019) relative to a reference model."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from fmcore.errors import ConfigError
from fmcore.lineage import Derivation, derivation_kind

from .._options import opt
from .._result import AuditResult
from .._spec import CompareRow, as_is, register_audit
from ..stats import wilson
from ._corruptions import SEVERITIES, corrupt, corruptions_for, describe_levels, table_stats

GALLERY_SEVERITIES = (1, 3, 5)


def default_reference(store, model_id: str) -> str | None:
    """The reference for the mean corruption error: the oldest model of the plain recipe on the same data.

    For images that is the seed CNN; otherwise a model of the audited model's own kind. "Plain" means
    trained from scratch, without augmentation and without DP-SGD. ``None`` when the store has none.
    """
    record = store.get_model(model_id)
    kind = "seed_cnn" if record.model in ("seed_cnn", "logreg") and _is_image(record) else record.model
    for m in store.list_models(record.dataset):
        train = (m.config or {}).get("train") or {}
        if (m.model == kind and m.parent_id is None and derivation_kind(m.derivation) is Derivation.TRAINED
                and not m.derivation.get("augment") and not train.get("augment") and not train.get("dp_epsilon")):
            return m.id
    return None


def _is_image(record) -> bool:
    return ((record.config or {}).get("dataset") or {}).get("modality") == "image"


def sample_rows(split, samples: int | None, seed: int):
    """A seeded sample of a split, in the split's order (the same rows for every model)."""
    n = len(split)
    if not samples or samples >= n:
        return split, np.arange(n)
    idx = np.sort(np.random.default_rng(seed).choice(n, size=int(samples), replace=False))
    return split.take(idx), idx


def _reference(store, model_id, params, dataset):
    ref = params.get("reference")
    if ref in ("none", ""):
        return None, None
    if ref is None or ref == "auto":
        if store is None or model_id is None:
            return None, None
        ref = default_reference(store, model_id)
        if ref is None:
            return None, None
    if store is None:
        raise ConfigError("A reference model needs the store: run the audit through `fmaudit audit corruption`.")
    record = store.get_model(ref)
    if record.dataset != dataset.name:
        raise ConfigError(f"The reference model {ref} was trained on {record.dataset!r}, not {dataset.name!r}: the "
                          "mean corruption error compares two models on the same corrupted inputs.")
    return ref, store.load_classifier(ref)


def _gallery_item(spec, x, original, severity, pred, true, classes, modality):
    item = {"corruption": spec.name, "severity": severity, "true": classes[true], "prediction": classes[pred]}
    if modality == "image":
        item["image"] = np.round(x[0, 0], 2).tolist()
    elif modality == "text":
        item.update(original=str(original), corrupted=str(x))
    else:
        item["changes"] = original
    return item


def _summary(result) -> dict:
    return {"corruptions": result.tables["summary"], "rows": result.tables["corruptions"]}


def _headline(m: dict) -> str:
    from .._format import pct, score

    return f"mean corruption error {score(m.get('mean_corruption_error'))}, accuracy {pct(m.get('mean_accuracy'))}"


def _figures(audit: dict) -> list:
    from .. import figures

    rows = audit["tables"].get("corruptions")
    return [("accuracy per corruption and severity", figures.corruption_heatmap(rows))] if rows else []


@dataclass
class CorruptionOptions:
    """The corruption audit's options (its flags, form and settings)."""
    corruptions: list[str] | None = opt(None, "corruption names (default: all for the model's kind of input)")
    severities: list[int] = opt(list(SEVERITIES), "severities, 1 (mild) to 5")
    samples: int | None = opt(1000, "test examples (0 for all)", min=1, zero_is_none=True)
    seed: int = opt(0, "the seed of every random draw")
    split: str = opt("test", "the split audited", choices=("train", "val", "test"))
    reference: str | None = opt("auto", "the reference model for the mean corruption error: a model id, auto (the "
                                        "oldest same-kind model trained on the data without augmentation) or none")
    batch_size: int = opt(512, "rows per forward pass", min=1, setting=False)


#: Compare's rows for this audit
_COMPARE = (
    # a model measured against itself has a mean corruption error of 1 by definition: say so beside the 1
    CompareRow("mean corruption error", "mean_corruption_error", False, False,
               note=lambda audit, model: "its own reference"
               if (audit.get("metrics") or {}).get("reference_model_id") == model["id"] else None),
    CompareRow("accuracy under corruption", "mean_accuracy", True, True, radar=("accuracy under corruption", as_is)),
)


@register_audit("corruption", "Corruption robustness",
                "Accuracy under natural corruptions of the MNIST-C / ImageNet-C kind (noise, blur, geometry, "
                "contrast, weather; typos and case for text; noise and missing values for tables) at five "
                "severities, with 95% intervals, and the mean corruption error relative to a reference model.",
                options=CorruptionOptions, needs=("store",), requires=("predicts", "labels"),
                summary=_summary, headline=_headline, figures=_figures, compare=_COMPARE,
                order=60)
def corruption(classifier, dataset, params: dict, progress=None, store=None, model_id=None) -> AuditResult:
    """The corruption audit: accuracy per corruption and severity, and the mean corruption error."""
    started = time.perf_counter()
    modality = classifier.modality
    specs = corruptions_for(modality, params.get("corruptions"))
    severities = [int(s) for s in params["severities"]]
    for s in severities:
        specs[0].value(s)  # range check
    seed = int(params["seed"])
    split, idx = sample_rows(dataset[params["split"]], params.get("samples"), seed)
    ref_id, ref_clf = _reference(store, model_id, params, dataset)
    stats = table_stats(dataset["train"].X, list(split.X.columns)) if modality == "tabular" else None
    if modality == "tabular" and not stats:
        raise ConfigError("This table has no numeric features to corrupt.")
    bs = int(params["batch_size"])

    def predict(clf, X):
        return clf.predict(X, batch_size=bs, groups=split.groups)

    y, classes = split.y, classifier.classes
    clean = predict(classifier, split.X)
    ref_clean = None if ref_clf is None else clean if ref_id == model_id else predict(ref_clf, split.X)
    shown = int(np.flatnonzero(clean == y)[0]) if (clean == y).any() else 0
    rows, gallery, warnings = [], [], []
    total = len(specs) * len(severities)
    for ci, spec in enumerate(specs):
        for si, severity in enumerate(severities):
            if progress:
                progress((ci * len(severities) + si) / total, f"{spec.name} severity {severity}")
            X = corrupt(spec, split.X, severity, seed, stats)
            pred = predict(classifier, X)
            k, n = int((pred == y).sum()), len(y)
            lo, hi = wilson(k, n)
            row = {"corruption": spec.name, "severity": severity, "parameter": spec.parameter,
                   "value": spec.value(severity), "accuracy": k / n, "ci_low": lo, "ci_high": hi, "error": 1 - k / n,
                   "n": n}
            if ref_clf is not None:  # a model that is its own reference is not asked twice
                ref_pred = pred if ref_id == model_id else predict(ref_clf, X)
                row["reference_error"] = float((ref_pred != y).mean())
            rows.append(row)
            if severity in GALLERY_SEVERITIES:
                gallery.append(_gallery_item(
                    spec, *_shown(X, split.X, shown, modality, stats), severity, int(pred[shown]), int(y[shown]),
                    classes, modality))
    clean_acc = float((clean == y).mean())
    summary = _summaries(specs, rows, clean_acc, None if ref_clean is None else float((ref_clean != y).mean()),
                         warnings)
    metrics = {"clean_accuracy": clean_acc, "n": len(y), "mean_accuracy": float(np.mean([r["accuracy"] for r in rows])),
               "mean_error": float(np.mean([r["error"] for r in rows])), "reference_model_id": ref_id,
               "mean_corruption_error": None, "relative_mean_corruption_error": None}
    metrics["clean_ci_low"], metrics["clean_ci_high"] = wilson(int((clean == y).sum()), len(y))
    if ref_clf is not None:
        ces = [s["corruption_error"] for s in summary if s["corruption_error"] is not None]
        rel = [s["relative_corruption_error"] for s in summary if s["relative_corruption_error"] is not None]
        metrics["mean_corruption_error"] = float(np.mean(ces)) if ces else None
        metrics["relative_mean_corruption_error"] = float(np.mean(rel)) if rel else None
        metrics["reference_clean_accuracy"] = float((ref_clean == y).mean())
        for family in dict.fromkeys(s["family"] for s in summary):  # e.g. geometric vs noise: remedies differ
            part = [s["corruption_error"] for s in summary
                    if s["family"] == family and s["corruption_error"] is not None]
            metrics[f"mean_corruption_error@{family}"] = float(np.mean(part)) if part else None
        if ref_id == model_id:
            warnings.append("This model is its own reference, so its mean corruption error is 1 by definition; "
                            "audit other models against it.")
    else:
        warnings.append("No reference model (train the plain recipe, e.g. the seed CNN without augmentation, or "
                        "pass a reference): the mean corruption error is not measured; mean_error is the "
                        "unnormalised error over all corruptions and severities.")
    worst = min(summary, key=lambda s: s["mean_accuracy"])
    metrics.update(worst_corruption=worst["corruption"], worst_corruption_accuracy=worst["mean_accuracy"])
    metrics.update({f"accuracy@{s['corruption']}": s["mean_accuracy"] for s in summary})
    if len(y) < 100:
        warnings.append(f"Only {len(y)} test examples: wide intervals.")
    return AuditResult(
        audit="corruption", model_id=None, dataset=dataset.name, params={**params, "reference": ref_id or "none"},
        metrics=metrics, tables={"corruptions": rows, "summary": summary, "gallery": gallery,
                                 "parameters": describe_levels(modality)},
        warnings=warnings, artifacts={"sample_rows": f"{len(idx)} rows of the {params['split']} split, seed {seed}"},
        seed=seed, seconds=time.perf_counter() - started)


def _shown(X, clean_X, i, modality, stats):
    """The example shown in the gallery, as the item builder wants it: (input, original)."""
    if modality == "image":
        return X[i:i + 1], None
    if modality == "text":
        return X[i], clean_X[i]
    before, after = clean_X.iloc[i], X.iloc[i]
    changes = [{"feature": c, "before": None if before[c] != before[c] else float(before[c]),
                "after": None if after[c] != after[c] else float(after[c])} for c in stats
               if not (before[c] == after[c] or (before[c] != before[c] and after[c] != after[c]))]
    return changes, changes


def _summaries(specs, rows, clean_acc, ref_clean_err, warnings) -> list[dict]:
    """Per corruption: mean accuracy over severities, corruption error CE = sum E / sum E_ref, and the relative
    CE = sum (E - E_clean) / sum (E_ref - E_ref_clean)."""
    out = []
    for spec in specs:
        part = [r for r in rows if r["corruption"] == spec.name]
        err = sum(r["error"] for r in part)
        row = {"corruption": spec.name, "family": spec.family,
               "mean_accuracy": float(np.mean([r["accuracy"] for r in part])),
               "corruption_error": None, "relative_corruption_error": None}
        if ref_clean_err is not None:
            ref = sum(r["reference_error"] for r in part)
            if ref > 0:
                row["corruption_error"] = err / ref
            else:
                warnings.append(f"The reference makes no errors under {spec.name}: its corruption error is undefined.")
            ref_rel = ref - len(part) * ref_clean_err
            if ref_rel > 1e-9:
                row["relative_corruption_error"] = (err - len(part) * (1 - clean_acc)) / ref_rel
        out.append(row)
    return out
