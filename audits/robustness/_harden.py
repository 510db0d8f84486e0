"""Adversarial training (Madry-style PGD) as a defence: a new registered model with the original as parent."""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from fmcore.errors import FmauditError
from fmcore.lineage import Derivation, DerivedResult

from ._attacks import check_eps, get_attack
from ._estimator import attack_inputs
from ._torch_pgd import pgd, pgd_batched


@dataclass
class HardenResult(DerivedResult):
    """An adversarially trained model: clean and robust accuracy before and after, the training history."""
    before: dict
    after: dict
    history: list[dict]
    seconds: float


def clean_and_robust(classifier, dataset, eps: float, samples: int, steps: int, seed: int, clip=None) -> dict:
    """Clean and PGD-``steps`` robust accuracy on a seeded test sample (torch PGD, Linf).

    ``clip``: the (low, high) input range when the caller has it already (see ``_clip``).
    """
    x, y = attack_inputs(classifier, dataset["test"], samples, seed)
    lo, hi = clip if clip is not None else _clip(classifier, dataset)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    adv = pgd_batched(classifier.net, xt, yt, eps=eps, steps=steps, clip=(lo, hi))
    with torch.inference_mode():
        clean = (classifier.net(xt).argmax(-1) == yt).float().mean().item()
        robust = (classifier.net(adv).argmax(-1) == yt).float().mean().item()
    return {"eps": eps, "clean_accuracy": clean, "robust_accuracy": robust, "n": int(len(y)), "pgd_steps": steps}


def _clip(classifier, dataset):
    if classifier.modality == "image":
        return 0.0, 1.0
    enc = classifier.encode(dataset["train"].X)
    return enc.min(0).values, enc.max(0).values


def harden(store, model_id: str, *, attack: str = "pgd", eps: float = 0.1, epochs: int = 1, steps: int = 5,
           adversarial_share: float = 0.5, lr: float = 5e-4, batch_size: int = 64, max_train_samples=None,
           eval_samples: int = 1000, seed: int = 0, threads=None, callbacks=(), is_cancelled=None) -> HardenResult:
    """Fine-tune a model on PGD adversarial examples and register it with the original as parent.

    Each batch keeps ``1 - adversarial_share`` clean examples and replaces the rest by PGD-``steps``
    examples at ``eps`` (mixing keeps clean accuracy). Clean and PGD-20 robust accuracy are measured
    before and after on the same test sample.
    """
    from fmcore.config import seed_everything
    from fmcore.train import CancelCallback, TrainConfig, TrainingCancelled, evaluate, fit

    spec = get_attack(attack)
    if spec.name not in ("pgd", "fgsm"):
        raise FmauditError(f"Adversarial training supports pgd and fgsm examples, not {attack!r}.")
    (eps,) = check_eps(spec, [eps], "image")
    if not 0 < adversarial_share <= 1:
        raise FmauditError(f"adversarial_share must be in (0, 1]; got {adversarial_share}.")
    seed_everything(seed, threads)
    started = time.perf_counter()
    parent = store.get_model(model_id)
    clf = store.load_classifier(model_id)
    if clf.modality == "text":
        raise FmauditError("Adversarial training here perturbs pixels or features; text models are not supported.")
    ds = store.load_model_dataset(parent.id)
    lo, hi = _clip(clf, ds)  # encodes the whole training split for tables: once, not per measurement
    before = clean_and_robust(clf, ds, eps, eval_samples, 20, seed, clip=(lo, hi))
    k = 1 if spec.name == "fgsm" else steps

    def adversarial_batch(net, xb, yb):
        net.eval()
        cut = int(round(len(xb) * (1 - adversarial_share)))
        adv = pgd(net, xb[cut:], yb[cut:], eps=eps, steps=k, step_size=eps if k == 1 else None, clip=(lo, hi))
        return torch.cat([xb[:cut], adv]), yb

    train = ds["train"].head(max_train_samples) if max_train_samples else ds["train"]
    val = ds["val"].head(2000)
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, optimizer="adam", seed=seed, threads=threads)
    cbs = list(callbacks) + ([CancelCallback(is_cancelled)] if is_cancelled else [])
    for p in clf.net.parameters():
        p.requires_grad = True
    state = fit(clf.net, (clf.encode(train.X), train.y), (clf.encode(val.X), val.y), cfg, ds.num_classes, cbs,
                batch_transform=adversarial_batch)
    if state.cancelled:
        raise TrainingCancelled("Adversarial training was cancelled.")
    after = clean_and_robust(clf, ds, eps, eval_samples, 20, seed, clip=(lo, hi))
    test = ds["test"]
    metrics = evaluate(clf.net, clf.encode(test.X), test.y, ds.num_classes)
    how = f"adversarially trained ({spec.name} eps {eps:g}, {k} steps, {adversarial_share:.0%} adversarial)"
    metrics["hardening"] = {"before": before, "after": after}
    record = store.register_model(
        clf, dataset=parent.dataset, name=f"{parent.name}-hardened", metrics=metrics, parent_id=parent.id,
        derivation={"how": how, "kind": Derivation.HARDENED.value, "attack": spec.name, "eps": eps, "steps": k,
                    "adversarial_share": adversarial_share, "epochs": epochs, "seed": seed},
        config={**parent.config, "harden": {"attack": spec.name, "eps": eps, "steps": k, "epochs": epochs,
                                            "lr": lr, "batch_size": batch_size}},
        extra_json={"history.json": state.history})
    return HardenResult(record.id, parent.id, before, after, state.history, time.perf_counter() - started)



