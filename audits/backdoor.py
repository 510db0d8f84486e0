"""The backdoor audit of an image model and the data it was trained on.

- **Trigger reverse-engineering** in the style of Neural Cleanse (Wang et al., 2019): for every class, the smallest
  mask and pattern that turn clean validation images into that class (Adam on the cross-entropy plus an L1 penalty
  on the mask). A backdoored target needs a far smaller mask than the others; the anomaly index (how many median
  absolute deviations a class's mask norm lies below the median) names it when it is above 2.
- **The poisoned rows**: the training rows labelled as the suspected target whose penultimate activations (what the
  classifier head sees) lie closer to those of clean images stamped with the recovered trigger than to those of the
  target's clean validation images.

Where the lineage records the poison (a model trained with ``--poison``), precision and recall of the flagged rows
are measured against it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from fmcore.errors import FmauditError
from fmcore.lineage import DerivedResult

from ._options import opt
from ._poison_defences import penultimate
from ._result import AuditResult
from ._spec import register_audit


def _training_rows(store, record, dataset):
    """The training split exactly as the model saw it: the same subset and, for a poisoned model, the poison; with
    the rows a retraining left out (positions in that split; they were not seen)."""
    from fmcore.train import apply_poison, subset

    train_cfg = (record.config or {}).get("train") or {}
    train = subset(dataset["train"], train_cfg.get("max_train_samples"))
    poison = record.derivation.get("poison")
    excluded = np.asarray(record.derivation.get("excluded_rows") or [], dtype=int)
    return (apply_poison(train, poison) if poison else train), poison, excluded


def reverse_trigger(net, x: torch.Tensor, target: int, steps: int, lam: float, lr: float = 0.1,
                    seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, float]:
    """The smallest (L1) mask and its pattern that send the images ``x`` to class ``target``: (mask, pattern, share
    of ``x`` the pair sends there)."""
    torch.manual_seed(seed)
    h, w = x.shape[-2:]
    m = torch.full((1, 1, h, w), -2.0, requires_grad=True)
    p = torch.zeros((1, x.shape[1], h, w), requires_grad=True)
    opt = torch.optim.Adam([m, p], lr=lr)
    t = torch.full((len(x),), target)
    for _ in range(steps):
        mask, pattern = torch.sigmoid(m), torch.sigmoid(p)
        loss = torch.nn.functional.cross_entropy(net((1 - mask) * x + mask * pattern), t) + lam * mask.abs().sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    mask, pattern = torch.sigmoid(m).detach(), torch.sigmoid(p).detach()
    with torch.no_grad():
        hit = float((net((1 - mask) * x + mask * pattern).argmax(-1) == target).float().mean())
    return mask, pattern, hit


def _trigger_task(shared: dict, task: dict) -> tuple:
    """One class's trigger search (an executor task): (mask, pattern, share of the images it sends there)."""
    net = shared["net"]
    for p in net.parameters():
        p.requires_grad_(False)
    mask, pattern, hit = reverse_trigger(net, shared["x"], task["target"], task["steps"], task["lam"],
                                         seed=task["seed"])
    return mask.numpy(), pattern.numpy(), hit


def anomaly_index(norms: np.ndarray) -> np.ndarray:
    """How many (consistent) median absolute deviations each value lies below the median (Neural Cleanse)."""
    med = np.median(norms)
    mad = 1.4826 * np.median(np.abs(norms - med))
    return (med - norms) / mad if mad > 0 else np.zeros_like(norms)


def _summary(result) -> dict:
    return {}


def _headline(m: dict) -> str:
    if m.get("max_anomaly_index") is None:
        return ""
    found = "a backdoor suspected" if m.get("detected") else "no backdoor found"
    return f"{found}: largest anomaly index {m['max_anomaly_index']:.2f}"


def _figures(audit: dict) -> list:
    from . import figures

    t = audit["tables"]
    if not t.get("classes"):
        return []
    out = []
    if t.get("trigger"):
        out.append(("the recovered trigger", figures.backdoor_rows(t["trigger"], t.get("examples") or [])))
    out.append(("anomaly index per class", figures.backdoor_anomaly(
        t["classes"], float((audit.get("params") or {}).get("threshold", 2.0)))))
    return out


@dataclass
class BackdoorOptions:
    """The backdoor audit's options (its flags, form and settings)."""
    images: int = opt(96, "validation images the triggers are searched on", min=1, flag="samples")
    steps: int = opt(120, "optimisation steps per class's trigger", min=1)
    lam: float = opt(0.01, "weight of the trigger's size in the search", min=0.0)
    threshold: float = opt(2.0, "anomaly index above which a class is flagged", min=0.0)
    max_rows: int = opt(20000, "training rows scanned for the poison", min=1)
    seed: int = opt(0, "the seed of every random draw")
    examples: int = opt(8, "flagged rows shown", min=0, setting=False)
    defences: bool = opt(True, "also the activation-clustering, spectral-signature and STRIP defences")
    expected_poison_share: float = opt(0.1, "the poison share the defences expect", min=0.0, max=1.0)
    strip_inputs: int = opt(100, "inputs STRIP perturbs", min=1)


#: Compare's rows for this audit
_COMPARE = (("backdoor anomaly index (largest)", "max_anomaly_index", False, False),)


@register_audit("backdoor", "Backdoors and poisoned data",
                "Neural Cleanse-style trigger reverse-engineering per class with the anomaly index over classes; for "
                "a suspected target, the training rows whose activations resemble triggered inputs; precision and "
                "recall where the lineage records the poison.",
                options=BackdoorOptions,
                needs=("store",), requires=("gradients", "training_rows", "images"),
                summary=_summary, headline=_headline, figures=_figures, compare=_COMPARE,
                order=30)
def backdoor(classifier, dataset, params: dict, progress=None, store=None, model_id=None) -> AuditResult:
    """The backdoor audit: the anomaly index per class, the suspected target, its trigger and the suspected rows."""
    started = time.perf_counter()
    if classifier.modality != "image":
        raise FmauditError("The backdoor audit reverse-engineers image triggers; tables and texts are not covered "
                           "yet.")
    seed = int(params["seed"])
    net = classifier.net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    val = dataset["val"]
    pick = np.sort(np.random.default_rng(seed).choice(len(val), min(int(params["images"]), len(val)), replace=False))
    x = torch.as_tensor(np.asarray(val.X[pick]), dtype=torch.float32)
    from fmcore.executor import get_executor

    # one task per class: on the sweep executor (Ray, when configured) the classes are searched side by side
    tasks = [{"target": c, "steps": int(params["steps"]), "lam": float(params["lam"]), "seed": seed}
             for c in range(len(classifier.classes))]
    found = [(torch.as_tensor(m), torch.as_tensor(p), hit) for m, p, hit in get_executor().map(
        _trigger_task, tasks, {"net": net, "x": x},
        progress=(lambda f, msg: progress(0.05 + 0.6 * f, msg)) if progress else None,
        label="trigger search per class")]
    norms = np.array([float(m.sum()) for m, _, _ in found])
    index = anomaly_index(norms)
    classes = [{"class": n, "mask_l1": float(norms[c]), "anomaly_index": float(index[c]), "reaches": found[c][2]}
               for c, n in enumerate(classifier.classes)]
    top = int(np.argmax(index))
    detected = bool(index[top] > float(params["threshold"]))
    record = store.get_model(model_id)
    train, poison, excluded = _training_rows(store, record, dataset)
    above = [classifier.classes[c] for c in np.argsort(-index) if index[c] > float(params["threshold"]) and c != top]
    metrics = {"detected": detected, "suspected_target": classifier.classes[top] if detected else None,
               "also_above_threshold": above,
               "max_anomaly_index": float(index[top]), "poison_known": poison is not None,
               "precision": None, "recall": None, "rows_flagged": 0}
    tables = {"classes": classes}
    if detected:
        if progress:
            progress(0.7, "the training rows that carry the trigger")
        mask, pattern, _ = found[top]
        flagged, rows = _suspected_rows(classifier, net, train, val, top, mask, pattern, x, int(params["max_rows"]),
                                        seed, excluded)
        metrics.update(rows_flagged=int(len(flagged)), rows_scanned=int(len(rows)))
        tables["suspected_rows"] = flagged.tolist()
        tables["trigger"] = {"mask": np.round(mask[0, 0].numpy(), 3).tolist(),
                             "pattern": np.round(pattern[0, 0].numpy(), 3).tolist()}
        tables["examples"] = [{"row": int(r), "image": np.round(np.asarray(train.X[r])[0], 2).tolist()}
                              for r in flagged[: int(params["examples"])]]
        if poison is not None:
            truth = set(poison["rows"]) - set(excluded.tolist())  # rows a retraining left out were not seen
            hits = sum(1 for r in flagged if int(r) in truth)
            metrics.update(precision=hits / len(flagged) if len(flagged) else None,
                           recall=hits / len(truth) if truth else None, poisoned_rows=len(truth))
    if poison is not None:
        metrics["true_target"] = poison["target"]
        metrics["poisoned_rows_seen"] = len(set(poison["rows"]) - set(excluded.tolist()))
    if params["defences"]:
        if progress:
            progress(0.85, "second opinions: activation clustering, spectral signatures, STRIP")
        tables["detectors"] = _second_opinions(classifier, train, dataset, poison, excluded,
                                               found[top] if detected else None, top if detected else None, params)
    metrics["verdict"] = _verdict(metrics)
    return AuditResult(audit="backdoor", model_id=None, dataset=dataset.name,
                       params={**params, "val_rows": pick.tolist()}, metrics=metrics, tables=tables,
                       warnings=[metrics["verdict"]] if detected else [], seed=seed,
                       seconds=time.perf_counter() - started)


def _suspected_rows(classifier, net, train, val, target: int, mask, pattern, x, max_rows: int, seed: int,
                    excluded=()):
    """Training rows labelled ``target`` (less ``excluded``, rows the model did not see) whose activations sit nearer
    those of triggered images than those of the target's clean validation images; returns (flagged row numbers,
    rows scanned)."""
    rows = np.setdiff1d(np.flatnonzero(np.asarray(train.y) == target), excluded)
    if len(rows) > max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(rows, max_rows, replace=False))
    triggered = penultimate(net, (1 - mask) * x + mask * pattern)
    clean_target = np.flatnonzero(np.asarray(val.y) == target)
    if not len(clean_target):
        return np.array([], dtype=int), rows
    natural = penultimate(net, torch.as_tensor(np.asarray(val.X[clean_target]), dtype=torch.float32))
    acts = penultimate(net, torch.as_tensor(np.asarray(train.X[rows]), dtype=torch.float32))
    to_trigger = np.linalg.norm(acts - triggered.mean(0), axis=1)
    to_natural = np.linalg.norm(acts - natural.mean(0), axis=1)
    return rows[to_trigger < to_natural], rows


def _second_opinions(classifier, train, dataset, poison, excluded, trigger, target, params) -> list[dict]:
    """ART's activation clustering and spectral signatures over the training rows (a seeded sample of at most
    ``max_rows``), and STRIP on test inputs of the other classes, clean and triggered (with the recorded trigger where
    the poison is known, else the recovered one; no STRIP row without either)."""
    from fmcore.train import stamp

    from ._poison_defences import strip_rates, training_defences

    seed = int(params["seed"])
    rows = np.setdiff1d(np.arange(len(train)), excluded)
    if len(rows) > int(params["max_rows"]):
        rows = np.sort(np.random.default_rng(seed).choice(rows, int(params["max_rows"]), replace=False))
    truth = None if poison is None else set(poison["rows"]) & set(rows.tolist())
    known = None if poison is None else poison["target_index"]
    out = training_defences(classifier, train, rows, truth, target if target is not None else known,
                            float(params["expected_poison_share"]), seed)
    goal = known if known is not None else target
    if goal is None:
        return out
    n, rng = int(params["strip_inputs"]), np.random.default_rng(seed + 1)
    test, val = dataset["test"], dataset["val"]
    others = np.flatnonzero(np.asarray(test.y) != goal)
    clean = np.asarray(test.X[np.sort(rng.choice(others, min(n, len(others)), replace=False))], dtype=np.float32)
    val_x = np.asarray(val.X[np.sort(rng.choice(len(val), min(n, len(val)), replace=False))], dtype=np.float32)
    if poison is not None and poison["kind"] == "backdoor":
        triggered = stamp(clean)
    elif trigger is not None:
        mask, pattern = trigger[0].numpy(), trigger[1].numpy()
        triggered = ((1 - mask) * clean + mask * pattern).astype(np.float32)
    else:
        return out
    out.append(strip_rates(classifier, val_x, clean, triggered, seed))
    return out


def _verdict(m: dict) -> str:
    if not m["detected"]:
        return (f"No class can be reached with an unusually small trigger (largest anomaly index "
                f"{m['max_anomaly_index']:.2f}, threshold 2): no backdoor suspected.")
    text = (f"Backdoor suspected: class {m['suspected_target']!r} is reached by a trigger far smaller than any other "
            f"class needs (anomaly index {m['max_anomaly_index']:.1f}); {m['rows_flagged']} of its training rows look "
            "like triggered inputs. Do not deploy this model before they are looked at.")
    if m.get("also_above_threshold"):
        text += (f" Also above the threshold, less clearly: {', '.join(repr(c) for c in m['also_above_threshold'])}"
                 " (a second target, or a class that is easy to reach).")
    if m["poison_known"] and m["recall"] is not None:
        text += (f" Against the recorded poison: recall {m['recall']:.0%}, precision {m['precision'] or 0:.0%} "
                 f"(true target {m['true_target']!r}).")
    return text


@dataclass
class CleanseResult(DerivedResult):
    """A model retrained without the training rows its backdoor audit flagged: the audit it acted on, the rows left
    out, and the before and after."""
    audit_id: str
    excluded_rows: int
    before: dict
    after: dict


def _effect(metrics: dict) -> dict:
    poison = metrics.get("poison") or {}
    return {"accuracy": metrics.get("accuracy"), "attack_success_rate": poison.get("attack_success_rate")}


def cleanse(store, model_id: str, callbacks=(), is_cancelled=None) -> CleanseResult:
    """The remedy for a suspected backdoor: the same recipe (dataset, architecture, training options, seed, and the
    recorded poison where there is one) trained again without the rows the model's latest backdoor audit flagged;
    registered as a child. Before and after: test accuracy and, where the poison is known, its attack success rate
    (the share of triggered test inputs of other classes sent to the target)."""
    from fmcore.train import TrainConfig, train_model

    record = store.get_model(model_id)
    cfg = (record.config or {}).get("train")
    if cfg is None or record.derivation.get("kind") != "trained" or record.parent_id is not None:
        raise FmauditError(f"Model {model_id} was not trained from scratch here, so its recipe cannot be run again "
                           "without the suspected rows.")
    audit = store.latest_audits(model_id).get("backdoor")
    if audit is None:
        raise FmauditError(f"Model {model_id} has no backdoor audit yet: run one first (fmaudit audit backdoor).")
    flagged = audit["result"]["tables"].get("suspected_rows") or []
    if not flagged:
        raise FmauditError(f"The latest backdoor audit of {model_id} ({audit['id']}) flagged no training rows; "
                           "there is nothing to remove.")
    result = train_model(record.dataset, record.config["model"], TrainConfig.from_dict(cfg), store=store,
                         name=f"{record.name}-cleansed", callbacks=callbacks, is_cancelled=is_cancelled,
                         exclude_rows=flagged, parent_id=model_id)
    return CleanseResult(result.model_id, model_id, audit["id"], len(flagged), _effect(record.metrics),
                         _effect(result.metrics))
