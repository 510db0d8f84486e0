"""Evasion attacks from adversarial-robustness-toolbox, by name, with defaults and explanations."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fmcore.errors import ConfigError, UnknownNameError


@dataclass(frozen=True)
class AttackSpec:
    """An attack users can pick. ``uses_eps``: False for minimum-norm attacks (CW, DeepFool, HSJ)."""

    name: str
    title: str
    description: str
    access: str  # "white-box" (gradients or scores) or "black-box" (predictions / labels only)
    norm: str  # "inf" or "2": how perturbation size is measured; "words" for the text attack
    uses_eps: bool
    defaults: dict = field(default_factory=dict)
    modalities: tuple[str, ...] = ("image", "tabular")  # the kinds of model input the attack applies to

    def fits(self, modality: str) -> bool:
        """True when the attack applies to models of ``modality``."""
        return modality in self.modalities

    def build(self, estimator, eps: float | None, batch_size: int, **overrides):
        """The ART attack object for ``estimator`` at ``eps`` (ignored by minimum-norm attacks)."""
        from art.attacks import evasion as ev

        p = {**self.defaults, **overrides}
        norm = np.inf if self.norm == "inf" else 2
        if self.name == "fgsm":
            return ev.FastGradientMethod(estimator, norm=norm, eps=eps, batch_size=batch_size)
        if self.name in ("pgd", "pgd_l2"):
            steps = int(p["steps"])
            return ev.ProjectedGradientDescent(estimator, norm=norm, eps=eps, eps_step=p["step_ratio"] * eps / steps,
                                               max_iter=steps, num_random_init=int(p["random_init"]),
                                               batch_size=batch_size, verbose=False)
        if self.name == "cw":
            return ev.CarliniL2Method(estimator, confidence=0.0, max_iter=int(p["max_iter"]),
                                     binary_search_steps=int(p["binary_search_steps"]), learning_rate=p["lr"],
                                     initial_const=p["initial_const"], batch_size=batch_size, verbose=False)
        if self.name == "deepfool":
            return ev.DeepFool(estimator, max_iter=int(p["max_iter"]), epsilon=p["overshoot"], batch_size=batch_size,
                               verbose=False)
        if self.name == "hopskipjump":
            return ev.HopSkipJump(estimator, norm=norm, max_iter=int(p["max_iter"]), max_eval=int(p["max_eval"]),
                                  init_eval=int(p["init_eval"]), batch_size=batch_size, verbose=False)
        if self.name == "autoattack":
            return _autoattack(estimator, norm, eps, batch_size, p)
        if self.name == "square":
            return ev.SquareAttack(estimator, norm=norm, eps=eps, max_iter=int(p["max_iter"]),
                                   nb_restarts=int(p["restarts"]), batch_size=batch_size, verbose=False)
        raise UnknownNameError("attack", self.name, list(ATTACKS))


def autoattack_components(nb_classes: int, input_dims: int) -> list[str]:
    """The standard AutoAttack components that apply (Croce and Hein, 2020): APGD on the cross-entropy, APGD on the
    difference-of-logits ratio (three classes or more) and, for images, the black-box Square attack."""
    return ["apgd-ce"] + (["apgd-dlr"] if nb_classes > 2 else []) + (["square"] if input_dims == 3 else [])


def _autoattack(estimator, norm, eps: float, batch_size: int, p: dict):
    """ART's AutoAttack with the standard components; an input is robust only if it survives every one. With
    ``p["component"]``, that component alone (for the per-component table)."""
    from art.attacks import evasion as ev

    step = eps / 4

    def part(name):
        if name == "square":
            return ev.SquareAttack(estimator, norm=norm, eps=eps, max_iter=int(p["square_max_iter"]), nb_restarts=1,
                                   batch_size=batch_size, verbose=False)
        return ev.AutoProjectedGradientDescent(
            estimator, norm=norm, eps=eps, eps_step=step, max_iter=int(p["max_iter"]), nb_random_init=1,
            batch_size=batch_size, loss_type={"apgd-ce": "cross_entropy", "apgd-dlr": "difference_logits_ratio"}[name],
            verbose=False)

    if p.get("component"):
        return part(p["component"])
    parts = [part(n) for n in autoattack_components(estimator.nb_classes, len(estimator.input_shape))]
    return ev.AutoAttack(estimator, norm=norm, eps=eps, eps_step=step, attacks=parts, batch_size=batch_size)


ATTACKS: dict[str, AttackSpec] = {a.name: a for a in [
    AttackSpec("fgsm", "FGSM", "Fast Gradient Sign Method: one step of size eps along the sign of the loss "
               "gradient. Quick, and a weak baseline.", "white-box", "inf", True),
    AttackSpec("pgd", "PGD (Linf)", "Projected Gradient Descent: many small gradient-sign steps kept within eps "
               "of the input (Madry et al.). The standard strong first-order attack.", "white-box", "inf", True,
               {"steps": 40, "step_ratio": 2.5, "random_init": 0}),
    AttackSpec("pgd_l2", "PGD (L2)", "PGD with the perturbation measured by its Euclidean (L2) length: spread-out "
               "changes rather than a bound on every pixel.", "white-box", "2", True,
               {"steps": 40, "step_ratio": 2.5, "random_init": 0}),
    AttackSpec("cw", "Carlini-Wagner L2", "Optimises for the smallest L2 change that flips the prediction; the "
               "curve counts an input as robust at eps when the change it needed exceeds eps.", "white-box", "2",
               False, {"max_iter": 10, "binary_search_steps": 5, "lr": 0.05, "initial_const": 0.1}),
    AttackSpec("deepfool", "DeepFool", "Walks to the nearest decision boundary by linearising the model; a "
               "minimum-L2 attack.", "white-box", "2", False, {"max_iter": 50, "overshoot": 0.02}),
    AttackSpec("hopskipjump", "HopSkipJump", "Uses only the predicted labels: walks along the decision boundary "
               "to shrink the change (minimum-Linf). Slow: keep samples small.", "black-box", "inf", False,
               {"max_iter": 10, "max_eval": 500, "init_eval": 50}),
    AttackSpec("charswap", "Character edits (text)", "For text models: misspells the words the model relies on "
               "most (swaps, deletions, look-alike characters) until the prediction flips. Epsilon is the number "
               "of words edited.", "white-box", "words", True, {}, ("text",)),
    AttackSpec("autoattack", "AutoAttack", "The standard robustness evaluation (Croce and Hein, 2020): APGD on two "
               "losses and the black-box Square attack (images); an input counts as robust only if it survives all "
               "of them. Compare its numbers with published ones.", "white-box", "inf", True,
               {"max_iter": 50, "square_max_iter": 300}),
    AttackSpec("square", "Square attack", "Uses only predicted scores: random square-shaped changes within eps, "
               "kept when they lower the true class's margin (images only: it draws square patches).", "black-box",
               "inf", True, {"max_iter": 200, "restarts": 1}, ("image",)),
]}


def get_attack(name: str) -> AttackSpec:
    """The attack registered as ``name`` (an unknown name lists the known ones)."""
    if name not in ATTACKS:
        raise UnknownNameError("attack", name, list(ATTACKS))
    return ATTACKS[name]


def check_fit(spec: AttackSpec, modality: str) -> None:
    """Refuse an attack that does not fit the model's kind of input."""
    if not spec.fits(modality):
        fitting = [a.name for a in ATTACKS.values() if a.fits(modality)]
        raise ConfigError(f"Attack {spec.name!r} does not apply to {modality} models; for {modality} models use: "
                          f"{', '.join(fitting)}.")


def check_eps(spec: AttackSpec, eps: list[float], modality: str) -> list[float]:
    """Validate an epsilon list: positive, and at most 1 for Linf on images in [0, 1]."""
    check_fit(spec, modality)
    if not eps:
        raise ConfigError("Give at least one epsilon, e.g. --eps 0.05,0.1,0.2,0.3.")
    bad = [e for e in eps if not np.isfinite(e) or e <= 0]
    if bad:
        raise ConfigError(f"Epsilon must be positive; got {bad}.")
    if spec.norm == "inf" and modality == "image" and max(eps) > 1:
        raise ConfigError(f"Linf epsilon {max(eps)} is out of range: image pixels lie in [0, 1], so an "
                          "epsilon above 1 allows any image. Use values such as 0.05-0.3.")
    if spec.norm == "words" and any(e != int(e) for e in eps):
        raise ConfigError(f"For the text attack epsilon counts edited words: use whole numbers, not {eps}.")
    return sorted(float(e) for e in eps)
