"""Membership-inference attacks. Each returns one score per evaluation example: higher = "was trained on".

- ``threshold``: the per-example loss (Yeom et al. 2018); members have lower loss. No training.
- ``blackbox``: ART's ``MembershipInferenceBlackBox`` on the loss, a seeded random forest learned from
  the attacker's known members and non-members (the "fit" half).
- ``rulebased``: ART's ``MembershipInferenceBlackBoxRuleBased``: "member if classified correctly".
- ``label_only``: the decision-boundary attack (Choquette-Choo et al. 2021): the L2 distance ART's
  HopSkipJump needs to flip the label, as ART's ``LabelOnlyDecisionBoundary`` computes it; only the
  predicted label is used. Slow: capped at ``label_only_samples`` examples per side.
- ``lira``: offline LiRA (Carlini et al. 2022): ``reference_models`` models of the same architecture and
  recipe, trained by fmcore on random halves of data the target never saw, give per-example
  statistics of the logit-scaled confidence; the score is how far above them the target sits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from fmcore.errors import ConfigError


@dataclass(frozen=True)
class MembershipAttack:
    """A membership-inference attack: its name, help, whether it runs through ART, whether it works on text,
    and ``run(data, params, progress) -> scores`` (or ``(scores, evaluated indices)``)."""

    name: str
    help: str
    run: Callable
    needs_art: bool = False
    text: bool = False


MEMBERSHIP_ATTACKS: dict[str, MembershipAttack] = {}


def register_membership_attack(name: str, help: str, needs_art: bool = False,  # noqa: A002  (the field)
                               text: bool = False):
    """Decorator: register ``run(data, params, progress)`` as attack ``name``; adding one touches only it."""
    def deco(run):
        MEMBERSHIP_ATTACKS[name] = MembershipAttack(name, help, run, needs_art, text)
        return run
    return deco


DEFAULT_ATTACKS = ("threshold", "blackbox", "rulebased", "lira")


@dataclass
class AttackData:
    """What the attacker has: encoded inputs and labels, split into a fit half and an evaluation half."""

    classifier: object
    inputs_fit: object
    y_fit: np.ndarray
    member_fit: np.ndarray
    inputs_eval: object
    y_eval: np.ndarray
    member_eval: np.ndarray
    population: tuple  # (encoded inputs, labels) the target never trained on, for reference models
    clip: object = None


def per_example_loss(classifier, inputs, y: np.ndarray) -> np.ndarray:
    """The model's cross-entropy loss on each example."""
    logits = classifier.logits(inputs).double()
    return torch.nn.functional.cross_entropy(logits, torch.as_tensor(y), reduction="none").numpy()


def logit_confidence(logits: torch.Tensor, y: np.ndarray) -> np.ndarray:
    """``log p_y - log(1 - p_y)``, computed stably from logits (LiRA's statistic)."""
    logits = logits.double()
    yt = torch.as_tensor(y)
    correct = logits.gather(1, yt[:, None])[:, 0]
    others = logits.clone()
    others.scatter_(1, yt[:, None], float("-inf"))
    return (correct - torch.logsumexp(others, 1)).numpy()


def _numpy(inputs) -> np.ndarray:
    if isinstance(inputs, tuple):
        raise ConfigError("This attack needs numeric inputs; text models support the threshold attack.")
    return inputs.numpy().astype(np.float32)


@register_membership_attack(
    "threshold", "Loss threshold: members of the training set tend to have lower loss. No training; fast.", text=True)
def threshold(data: AttackData, params: dict, progress=None) -> np.ndarray:
    """Membership scores from the loss: lower loss, more likely a member."""
    return -per_example_loss(data.classifier, data.inputs_eval, data.y_eval)


@register_membership_attack(
    "blackbox", "ART black-box: a random forest learns member vs non-member from the loss on known examples.",
    needs_art=True)
def blackbox(data: AttackData, params: dict, progress=None) -> np.ndarray:
    """Membership scores from ART's black-box attack (a random forest on the loss)."""
    from art.attacks.inference.membership_inference import MembershipInferenceBlackBox

    from ..robustness import art_estimator

    est = art_estimator(data.classifier, data.clip)
    # ART builds its forest without a random_state (and rejects a prebuilt sklearn ensemble: it tests the
    # unfitted model's truth value, which calls len()); the forest draws from numpy's global generator,
    # so seeding that makes the attack repeatable.
    np.random.seed(int(params["seed"]))
    attack = MembershipInferenceBlackBox(est, input_type="loss", attack_model_type="rf")
    x, y, m = _numpy(data.inputs_fit), data.y_fit, data.member_fit
    attack.fit(x[m], y[m], x[~m], y[~m])
    out = attack.infer(_numpy(data.inputs_eval), data.y_eval, probabilities=True)
    return np.asarray(out, dtype=np.float64).reshape(len(data.y_eval), -1)[:, -1]


@register_membership_attack(
    "rulebased", "ART rule-based: guesses 'member' whenever the model is right. The baseline any attack must beat.",
    needs_art=True)
def rulebased(data: AttackData, params: dict, progress=None) -> np.ndarray:
    """Membership scores from ART's rule-based attack: 1 where the model is right."""
    from art.attacks.inference.membership_inference import MembershipInferenceBlackBoxRuleBased

    from ..robustness import art_estimator

    attack = MembershipInferenceBlackBoxRuleBased(art_estimator(data.classifier, data.clip))
    return np.asarray(attack.infer(_numpy(data.inputs_eval), data.y_eval), dtype=np.float64).ravel()


@register_membership_attack(
    "label_only", "Label-only decision boundary: how far an example is from the boundary, using labels alone "
    "(HopSkipJump queries). Slow; capped sample.", needs_art=True)
def label_only(data: AttackData, params: dict, progress=None) -> tuple[np.ndarray, np.ndarray]:
    """Distances for a capped, balanced subset; returns ``(scores, positions in the evaluation set)``."""
    from art.attacks.evasion import HopSkipJump

    from ..robustness import art_estimator

    cap = int(params["label_only_samples"])
    rng = np.random.default_rng(int(params["seed"]))
    members, others = np.flatnonzero(data.member_eval), np.flatnonzero(~data.member_eval)
    pick = np.sort(np.r_[rng.choice(members, min(cap, len(members)), replace=False),
                         rng.choice(others, min(cap, len(others)), replace=False)])
    x, y = _numpy(data.inputs_eval)[pick], data.y_eval[pick]
    est = art_estimator(data.classifier, data.clip)
    hsj = HopSkipJump(classifier=est, targeted=False, norm=2, max_iter=int(params["label_only_iterations"]),
                      max_eval=200, init_eval=20, verbose=False)
    adv = hsj.generate(x=x, y=np.eye(len(data.classifier.classes), dtype=np.float32)[y])
    distance = np.linalg.norm((adv - x).reshape(len(x), -1), ord=2, axis=1)
    wrong = est.predict(x).argmax(1) != y
    distance[wrong] = 0.0  # as ART: a misclassified example is judged a non-member
    return distance, pick


@register_membership_attack(
    "lira", "LiRA (offline): reference models trained without each example calibrate how confident the model "
    "should be on it; the strongest attack here, and the costliest (trains models).")
def lira(data: AttackData, params: dict, progress=None) -> np.ndarray:
    """Offline LiRA with a global variance (Carlini et al. 2022, sec. VI: the variant for few models)."""
    from fmcore.train import TrainConfig

    clf = data.classifier
    if clf.modality == "text":
        raise ConfigError("LiRA trains reference models; for text models that means fine-tuning a transformer per "
                          "reference, beyond a CPU audit. Use threshold or blackbox.")
    k = int(params["reference_models"])
    if k < 2:
        raise ConfigError(f"LiRA needs at least 2 reference models; got {k}.")
    meta = clf.meta
    training = dict(meta.get("training") or {})
    pop_x, pop_y = data.population
    size = int(min(training.get("train_rows") or len(pop_y), len(pop_y) // 2, int(params["reference_max_train"])))
    cfg = TrainConfig(epochs=int(training.get("epochs") or 3), batch_size=int(training.get("batch_size") or 64),
                      lr=float(training.get("lr") or 1e-3), optimizer=training.get("optimizer") or "adam",
                      weight_decay=float(training.get("weight_decay") or 0.0),
                      lr_schedule=training.get("lr_schedule") or "cosine", dp_epsilon=training.get("dp_epsilon"),
                      dp_delta=training.get("dp_delta"), dp_max_grad_norm=float(training.get("dp_max_grad_norm") or 1))
    rng = np.random.default_rng(int(params["seed"]))
    target = logit_confidence(clf.logits(data.inputs_eval), data.y_eval)
    # each reference model is one task (its own training rows and seed): they fan out on Ray when configured
    tasks = [{"seed": int(params["seed"]) * 1000 + i, "index": i,
              "rows": np.sort(rng.choice(len(pop_y), size=size, replace=False))} for i in range(k)]
    shared = {"architecture": meta["architecture"], "kwargs": meta["kwargs"], "config": cfg,
              "population": (pop_x, pop_y), "inputs": data.inputs_eval, "y": data.y_eval, "classes": len(clf.classes)}
    from fmcore.executor import get_executor

    phis = get_executor().map(_reference_task, tasks, shared, label=f"LiRA reference models ({size} examples, "
                              f"{cfg.epochs} epochs)", progress=progress)
    phis = np.stack(phis)  # (k, n_eval): each example's statistic under models that never saw it
    mu = phis.mean(0)
    sigma = float(np.std(phis - mu)) + 1e-6  # global variance: per-example estimates from k < 8 are noise
    return (target - mu) / sigma


def _reference_task(shared: dict, task: dict) -> np.ndarray:
    """Train one LiRA reference model on ``task["rows"]`` of the population; its statistic on the audited examples."""
    from dataclasses import replace

    from fmcore.models import batched_logits, nets
    from fmcore.train import fit

    pop_x, pop_y = shared["population"]
    net = nets.build(shared["architecture"], shared["kwargs"])
    idx = torch.from_numpy(task["rows"])
    cfg = replace(shared["config"], seed=task["index"], threads=torch.get_num_threads())
    fit(net, (pop_x[idx], pop_y[task["rows"]]), None, cfg, shared["classes"])
    return logit_confidence(batched_logits(net, shared["inputs"], shared["classes"]), shared["y"])


#: name -> help, for forms and ``--help``
ATTACKS = {name: spec.help for name, spec in MEMBERSHIP_ATTACKS.items()}
