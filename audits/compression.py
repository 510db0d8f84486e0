"""The compression audit: every stored compressed variant of a model against the model itself.

Size on disk as saved, latency at batch 1 and 256 (median and interquartile range of repeated runs on a
fixed thread count), accuracy and its per-class change, the examples whose prediction flips, and what
compression did to trust: the fairness gap (tables with sensitive attributes) and robust accuracy under
PGD (images), both with the variant's own gradients and with examples transferred from the parent,
since low precision can hide gradients and flatter robustness.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from fmcore.errors import FmauditError

from ._options import opt
from ._result import AuditResult
from ._spec import register_audit
from .stats import latency_ms


@dataclass
class CompressionOptions:
    """The compression audit's options (its flags, form and settings)."""
    repeats: int = opt(20, "timed runs per latency figure", min=1)
    threads: int = opt(1, "CPU threads while timing (latency depends on it)", min=1)
    eps: float = opt(0.1, "image models: the PGD attack's L-inf budget for robust accuracy", min=0.0)
    pgd_steps: int = opt(10, "image models: PGD steps", min=1)
    robust_samples: int = opt(200, "image models: test images attacked", min=1)
    max_flips: int = opt(12, "flipped predictions kept per variant, to show", min=0, setting=False)
    seed: int = opt(0, "the seed of the attacked sample")


def variants_of(store, model_id: str):
    """The model (or, given a variant, its parent) and its compressed children."""
    record = store.get_model(model_id)
    if record.derivation.get("compression") and record.parent_id:
        record = store.get_model(record.parent_id)
    return record, [c for c in store.children(record.id) if c.derivation.get("compression")]


def _gaps(pred, split, positive: int) -> dict:
    from .fairness import encode_groups, group_metrics, headline_disparities

    out = {}
    for col in split.groups.columns:
        codes, labels = encode_groups({col: split.groups[col].to_numpy()})
        m = group_metrics((split.y == positive).astype(int), (pred == positive).astype(int), codes, len(labels))
        d = headline_disparities(m)
        out[col] = {"demographic_parity_difference": d["demographic_parity_difference"],
                    "equalized_odds_difference": d["equalized_odds_difference"]}
    return out


def _robust(net, x, y, adv_parent, eps: float, steps: int) -> dict:
    from .robustness._torch_pgd import pgd

    with torch.inference_mode():
        transfer = float((net(adv_parent).argmax(-1) == y).float().mean())
    try:
        for p in net.parameters():
            p.requires_grad_(False)
        adv = pgd(net, x, y, eps=eps, steps=steps, clip=(0.0, 1.0))
        with torch.inference_mode():
            own = float((net(adv).argmax(-1) == y).float().mean())
    except (RuntimeError, AttributeError, NotImplementedError, TypeError):
        own = None  # e.g. int8 dynamic quantization: no gradient reaches the input
    return {"robust_accuracy": own, "robust_accuracy_transfer": transfer,
            "gradient_masking_suspected": own is not None and own > transfer + 0.05}


def _parent_attack(base, x, y, eps: float, steps: int, samples: int, seed: int):
    """PGD examples against the parent on a seeded sample: ``(inputs, labels, adversarial inputs, robust accuracy)``;
    every variant is attacked with its own gradients and with these (the transferred attack)."""
    from .robustness._torch_pgd import pgd

    rng = np.random.default_rng(seed)
    idx = torch.from_numpy(np.sort(rng.choice(len(y), min(samples, len(y)), replace=False)))
    xr, yr = x[idx], torch.from_numpy(y[idx.numpy()])
    for p in base.net.parameters():
        p.requires_grad_(False)
    adv = pgd(base.net, xr, yr, eps=eps, steps=steps, clip=(0.0, 1.0))
    with torch.inference_mode():
        robust = float((base.net(adv).argmax(-1) == yr).float().mean())
    return xr, yr, adv, robust


def _per_class(model_id: str, method: str, pred: np.ndarray, y: np.ndarray, classes, per0: np.ndarray) -> list[dict]:
    """A variant's accuracy on each class present in ``y``, and its change from the parent's (``per0``)."""
    rows = []
    for c, name in enumerate(classes):
        mask = y == c
        if mask.any():
            acc_c = float((pred[mask] == c).mean())
            rows.append({"model_id": model_id, "method": method, "class": name, "accuracy": acc_c,
                         "delta": acc_c - float(per0[c])})
    return rows


def _flip(model_id: str, method: str, j: int, test, classes, pred0, pred, modality: str) -> dict:
    """Test example ``j``, whose answer the variant changed: both answers, the truth, and the image or row."""
    item = {"model_id": model_id, "method": method, "index": j, "true": classes[int(test.y[j])],
            "parent_pred": classes[int(pred0[j])], "variant_pred": classes[int(pred[j])]}
    if modality == "image":
        item["image"] = np.round(np.asarray(test.X[j])[0], 2).tolist()
    else:
        item["row"] = {k: (v.item() if hasattr(v, "item") else v) for k, v in test.X.iloc[j].items()}
    return item


def compression_audit(store, model_id: str, *, progress=None, **options) -> AuditResult:
    """Compare every compressed variant of ``model_id`` with it; returns one row per variant. ``options``: those of
    ``CompressionOptions``, whose defaults (the spec's) fill in the rest."""
    o = CompressionOptions(**options)
    repeats, threads, eps, pgd_steps, robust_samples, max_flips, seed = (
        o.repeats, o.threads, o.eps, o.pgd_steps, o.robust_samples, o.max_flips, o.seed)
    started = time.perf_counter()
    parent, variants = variants_of(store, model_id)
    if not variants:
        raise FmauditError(f"Model {parent.id} has no compressed variants yet; make some with `fmaudit compress "
                           f"--model {parent.id} --method prune:0.5` (or int8, channels:0.5, fp16, distill).")
    if "generates" in store.offers(parent.id):  # a language model
        from ._lm_compression import lm_compression_audit

        return lm_compression_audit(store, parent, variants, repeats=repeats, threads=threads, seed=seed,
                                    progress=progress)
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        ds = store.load_model_dataset(parent.id)
        test = ds["test"]
        base = store.load_classifier(parent.id)
        x = base.encode(test.X)
        classes = base.classes
        positive = len(classes) - 1
        pred0 = base.logits(x).argmax(-1).numpy()
        acc0 = float((pred0 == test.y).mean())
        per0 = np.array([(pred0[test.y == c] == c).mean() if (test.y == c).any() else np.nan
                         for c in range(len(classes))])
        tabular_groups = base.modality == "tabular" and test.groups is not None and len(test.groups.columns)
        gaps0 = _gaps(pred0, test, positive) if tabular_groups and len(classes) == 2 else None
        xr = yr = adv0 = rob0 = None
        if base.modality == "image":
            xr, yr, adv0, rob0 = _parent_attack(base, x, test.y, eps, pgd_steps, robust_samples, seed)
        lat0 = {b: latency_ms(base.net, x[:b], repeats) for b in (1, 256)}
        rows, flips, per_class = [], [], []
        for i, rec in enumerate(variants):
            if progress:
                progress(i / len(variants), f"{rec.derivation['compression']} ({rec.id})")
            clf = store.load_classifier(rec.id)
            pred = clf.logits(x).argmax(-1).numpy()
            changed = np.flatnonzero(pred != pred0)
            lat = {b: latency_ms(clf.net, x[:b], repeats) for b in (1, 256)}
            row = {"model_id": rec.id, "method": rec.derivation["compression"], "size_bytes": rec.size_bytes,
                   "size_ratio": rec.size_bytes / max(1, parent.size_bytes),
                   "accuracy": float((pred == test.y).mean()), "accuracy_delta": float((pred == test.y).mean()) - acc0,
                   "flipped": int(len(changed)),
                   "flipped_to_wrong": int(((pred0 == test.y) & (pred != test.y)).sum()),
                   "flipped_to_right": int(((pred0 != test.y) & (pred == test.y)).sum()),
                   "latency_b1_ms": lat[1]["median"], "latency_b1_iqr_ms": lat[1]["p75"] - lat[1]["p25"],
                   "latency_b256_ms": lat[256]["median"], "latency_b256_iqr_ms": lat[256]["p75"] - lat[256]["p25"],
                   "latency_b1_ratio": lat[1]["median"] / lat0[1]["median"],
                   "latency_b256_ratio": lat[256]["median"] / lat0[256]["median"]}
            mine = _per_class(rec.id, row["method"], pred, test.y, classes, per0)
            per_class += mine
            worst = min(mine, key=lambda r: r["delta"])
            row["worst_class"], row["worst_class_delta"] = worst["class"], worst["delta"]
            if gaps0 is not None:
                gaps = _gaps(pred, test, positive)
                for col, g in gaps.items():
                    for key, short in (("demographic_parity_difference", "dp"), ("equalized_odds_difference", "eo")):
                        row[f"{short}_gap_delta[{col}]"] = g[key] - gaps0[col][key]
                row["fairness_gap_delta"] = max((row[k] for k in row if k.startswith("dp_gap_delta[")), key=abs)
            if adv0 is not None:
                r = _robust(clf.net, xr, yr, adv0, eps, pgd_steps)
                own = r["robust_accuracy"]
                row.update(r, robust_accuracy_delta=None if own is None else own - rob0)
            rows.append(row)
            flips += [_flip(rec.id, row["method"], int(j), test, classes, pred0, pred, base.modality)
                      for j in changed[:max_flips]]
    finally:
        torch.set_num_threads(old_threads)
    parent_row = {"model_id": parent.id, "method": "original", "size_bytes": parent.size_bytes, "accuracy": acc0,
                  "latency_b1_ms": lat0[1]["median"], "latency_b256_ms": lat0[256]["median"],
                  "robust_accuracy": rob0, "fairness_gaps": gaps0}
    small = [r for r in rows if r["accuracy_delta"] >= -0.01]
    metrics = {"variants": len(rows), "parent_accuracy": acc0, "parent_size_bytes": parent.size_bytes,
               "smallest_size_ratio_within_1pt": min((r["size_ratio"] for r in small), default=None),
               "max_flipped": max(r["flipped"] for r in rows), "threads": threads, "repeats": repeats}
    if rob0 is not None:
        metrics["parent_robust_accuracy"] = rob0
    warnings = [f"{r['method']}: robust accuracy with its own gradients ({r['robust_accuracy']:.1%}) is well above "
                f"the parent's transferred attack ({r['robust_accuracy_transfer']:.1%}): gradients may be masked; "
                "trust the lower number." for r in rows if r.get("gradient_masking_suspected")]
    return AuditResult(audit="compression", model_id=parent.id, dataset=parent.dataset,
                       params={"repeats": repeats, "threads": threads, "eps": eps, "pgd_steps": pgd_steps,
                               "robust_samples": robust_samples, "seed": seed},
                       metrics=metrics, tables={"variants": rows, "parent": [parent_row], "per_class": per_class,
                                                "flips": flips}, warnings=warnings, seed=seed,
                       seconds=time.perf_counter() - started)


def _lines(audit_id: str, result) -> list[str]:
    """The command line's text: the parent, then one line per variant (classifiers and language models differ)."""
    m = result.metrics
    if "parent_test_perplexity" in m:  # a language model
        lines = [f"compression audit {audit_id} of {result.model_id}: parent test perplexity "
                 f"{m['parent_test_perplexity']:.1f}, {m['parent_size_bytes'] / 1024:.0f} KiB"]
        lines += [f"  {r['method']:<13} size {r['size_ratio']:.3f}x  perplexity {r['test_perplexity']:.1f} "
                  f"({r['perplexity_delta']:+.1f})  exposure of the most repeated canary "
                  + ("n/a" if r["exposure_delta"] is None else f"{r['most_repeated_exposure']:.2f} bits "
                     f"({r['exposure_delta']:+.2f}; extrapolated {r['exposure_extrapolated']:.1f}, "
                     f"{r['exposure_extrapolated_delta']:+.1f}; its log-probability {r['secret_logprob']:.1f} nats, "
                     f"{r['secret_logprob_delta']:+.1f})") + f"  latency b1 {r['latency_b1_ratio']:.2f}x"
                  for r in result.tables["variants"]]
    else:
        lines = [f"compression audit {audit_id} of {result.model_id}: parent accuracy {m['parent_accuracy']:.4f}, "
                 f"{m['parent_size_bytes'] / 1024:.0f} KiB"]
        for r in result.tables["variants"]:
            extra = ""
            if "robust_accuracy_transfer" in r:
                own = "n/a" if r["robust_accuracy"] is None else f"{r['robust_accuracy']:.3f}"
                extra += f", robust {own} (transfer {r['robust_accuracy_transfer']:.3f})"
            if "fairness_gap_delta" in r:
                extra += f", DP gap change {r['fairness_gap_delta']:+.4f}"
            lines.append(f"  {r['method']:<13} size {r['size_ratio']:.3f}x  accuracy {r['accuracy_delta']:+.4f}  "
                         f"flipped {r['flipped']}  latency b1 {r['latency_b1_ratio']:.2f}x b256 "
                         f"{r['latency_b256_ratio']:.2f}x{extra}")
    return lines + [f"  warning: {w}" for w in result.warnings]


def _summary(result) -> dict:
    return {"variants": result.tables["variants"], "parent": result.tables["parent"][0]}


def headline(m: dict) -> str:
    """The compression audit's finding in a few words."""
    return f"{m.get('variants')} variants, at most {m.get('max_flipped')} predictions flipped"


def figures(audit: dict) -> list:
    """Size against accuracy of the compressed variants (classifiers; language models have their own page)."""
    from . import figures as draw

    t = audit["tables"]
    if not t.get("variants") or "accuracy" not in t["parent"][0]:
        return []
    return [("size against accuracy", draw.compression_pareto(t["parent"][0], t["variants"]))]


@register_audit("compression", "Compression",
                "Every stored compressed variant of a model (pruned, quantized, distilled) against the model itself: "
                "size, latency, accuracy and the predictions that flip, and what compression did to the fairness gap "
                "and to robust accuracy (its own gradients and the parent's attack transferred).",
                options=CompressionOptions, needs=("family",), requires=("weights",), summary=_summary,
                headline=headline, figures=figures, lines=_lines,
                order=97, not_reproduced="latency is a property of the machine; sizes are re-checked by verify --log")
def compression(classifier, dataset, params: dict, progress=None, store=None, model_id=None) -> AuditResult:
    """The audit as the registry runs it: ``compression_audit`` of the stored family of ``model_id``."""
    return compression_audit(store, model_id, progress=progress, **params)
