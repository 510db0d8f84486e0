"""Certified robustness by randomized smoothing (Cohen et al., 2019), through ART's ``PyTorchRandomizedSmoothing``:
the smoothed classifier answers the class the network gives most often under Gaussian noise of standard deviation
sigma, and certifies an L2 radius within which no change can alter that answer (with probability 1 - alpha), or
abstains. Beside it, on the same inputs, the empirical curve: PGD-L2 at each radius against the network, answered by
the smoothed classifier. A certified accuracy above the empirical one at the same radius cannot happen for a sound
certificate; it is counted and flagged."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from fmcore.errors import ConfigError

from .._options import opt
from .._result import AuditResult, metric_at
from .._spec import register_audit
from ..stats import wilson
from ._estimator import _Float32, art_estimator, attack_inputs, feature_range


def max_certifiable_radius(sigma: float, n: int, alpha: float) -> float:
    """The largest radius ``n`` noisy copies can certify: every copy voting for the class gives the Clopper-Pearson
    lower bound ART uses, and the radius sigma * Phi^-1 of it."""
    from scipy.stats import norm
    from statsmodels.stats.proportion import proportion_confint

    return float(sigma * norm.ppf(proportion_confint(n, n, alpha=2 * alpha, method="beta")[0]))


#: the reference grid of radii; the default keeps those n copies can certify (a radius above it is 0 by construction)
RADII = (0.0, 0.25, 0.5, 0.75, 1.0)


def default_radii(sigma: float, n: int, alpha: float) -> list[float]:
    """The reference radii up to the largest certifiable one, and that one (rounded down to 3 decimals)."""
    top = np.floor(max_certifiable_radius(sigma, n, alpha) * 1000) / 1000
    return [r for r in RADII if r <= top] + ([float(top)] if top not in RADII and top > 0 else [])


def smoothed(classifier, sigma: float, n0: int, alpha: float, clip):
    """ART's randomized-smoothing classifier over the model's network."""
    import torch
    from art.estimators.certification.randomized_smoothing import PyTorchRandomizedSmoothing

    net = _Float32(classifier.net).eval()
    shape = tuple(clip[0].shape) if isinstance(clip[0], np.ndarray) else tuple(classifier.meta["input"]["shape"])
    return PyTorchRandomizedSmoothing(model=net, loss=torch.nn.CrossEntropyLoss(), input_shape=shape,
                                      nb_classes=len(classifier.classes), clip_values=clip, sample_size=n0,
                                      scale=sigma, alpha=alpha)


def _summary(result) -> dict:
    return {"rows": result.tables["radii"], "checks": result.tables["checks"]}


def _headline(m: dict) -> str:
    from .._format import pct

    measured = metric_at(m, "certified_accuracy")
    radius = 0.25 if 0.25 in measured else max((r for r in measured if r > 0), default=None)
    return "" if radius is None else (f"certified accuracy {pct(measured[radius])} within L2 radius {radius:g} "
                                      f"(sigma {m.get('sigma')})")


def _figures(audit: dict) -> list:
    from .. import figures

    rows = audit["tables"].get("radii")
    return [("certified accuracy by radius", figures.certified_curves(rows, audit["metrics"].get("sigma", 0)))] \
        if rows else []


@dataclass
class CertifiedOptions:
    """The certified-robustness audit's options (its flags, form and settings)."""
    sigma: float = opt(0.25, "the smoothing noise's standard deviation", min=0.0)
    samples: int = opt(100, "test examples to certify", min=1)
    n: int = opt(1000, "noisy copies per input for the certificate", min=1)
    n0: int = opt(100, "noisy copies per input to pick the class", min=1)
    alpha: float = opt(0.001, "the certificate's failure probability", min=0.0, max=0.5)
    radii: list[float] | None = opt(None, "L2 radii of the certified-accuracy curve (default: 0, 0.25, 0.5, 0.75, 1 "
                                          "up to the largest radius n noisy copies can certify, and that radius)",
                                    min=0.0, keyed=True)
    pgd_steps: int = opt(20, "PGD-L2 steps of the empirical comparison", min=1)
    seed: int = opt(0, "the seed of every random draw")
    split: str = opt("test", "the split audited", choices=("train", "val", "test"))
    batch_size: int = opt(500, "noisy inputs per forward pass", min=1, setting=False)


#: Compare's rows for this audit
_COMPARE = (("certified accuracy @ L2 0.25 (smoothing)", "certified_accuracy@0.25", True, True),)


@register_audit("certified", "Certified robustness",
                "Randomized smoothing (Cohen et al.): certified accuracy against L2 radius with the abstention rate, "
                "next to the empirical accuracy under PGD-L2 on the same inputs; a certificate above the empirical "
                "value is flagged.",
                options=CertifiedOptions, requires=("gradients",),
                summary=_summary, headline=_headline, figures=_figures, compare=_COMPARE,
                order=25)
def certified(classifier, dataset, params: dict, progress=None) -> AuditResult:
    """The certified-robustness audit: rows ``{radius, certified_accuracy, empirical_accuracy, abstain_rate}``."""
    from fmcore.config import seed_everything

    from ._attacks import ATTACKS

    started = time.perf_counter()
    seed = int(params["seed"])
    seed_everything(seed)  # ART draws the smoothing noise from numpy's and torch's generators
    sigma = float(params["sigma"])
    radii = sorted(float(r) for r in (params["radii"] if params.get("radii") is not None else
                                      default_radii(sigma, int(params["n"]), float(params["alpha"]))))
    if not radii:
        raise ConfigError("Give at least one radius (or none, for the default radii).")
    x, y = attack_inputs(classifier, dataset[params["split"]], int(params["samples"]), seed)
    clip = feature_range(classifier, dataset["train"])
    rs = smoothed(classifier, sigma, int(params["n0"]), float(params["alpha"]), clip)
    if progress:
        progress(0.1, f"certifying {len(x)} inputs ({params['n']} noisy copies each)")
    pred, radius = rs.certify(x, n=int(params["n"]), batch_size=int(params["batch_size"]))
    estimator = art_estimator(classifier, clip)
    rows, violations = [], 0
    for i, r in enumerate(radii):
        if progress:
            progress(0.5 + 0.5 * i / len(radii), f"PGD-L2 at radius {r:g}")
        cert = (pred == y) & (radius >= r)
        adv = x if r == 0 else ATTACKS["pgd_l2"].build(estimator, r, int(params["batch_size"]),
                                                       steps=int(params["pgd_steps"])).generate(x=x, y=y)
        adv_pred, _ = rs.certify(adv.astype(np.float32), n=int(params["n"]), batch_size=int(params["batch_size"]))
        emp = adv_pred == y  # an abstention counts as wrong, as it does for the certificate
        violations += int((cert & (adv_pred >= 0) & (adv_pred != y)).sum())  # confidently another class
        lo, hi = wilson(int(cert.sum()), len(y))
        rows.append({"radius": r, "certified_accuracy": float(cert.mean()), "certified_ci_low": lo,
                     "certified_ci_high": hi, "empirical_accuracy": float(emp.mean()),
                     "abstain_rate": float((pred == -1).mean()), "n": int(len(y))})
    checks = [{"check": "no certified input is confidently classified otherwise after PGD-L2 within its radius",
               "passed": violations == 0,
               "detail": f"{violations} input-radius pairs certified but confidently moved to another class by PGD-L2"
               if violations else "no certified input was moved to another class at its radius"}]
    warnings = [] if not violations else [
        f"{violations} certified inputs were broken at their radius: the certificate or the Monte Carlo answer is "
        "wrong; do not rely on these certificates (raise n, lower alpha)."]
    metrics = {"sigma": sigma, "n": int(len(y)), "clean_smoothed_accuracy": float((pred == y).mean()),
               "abstain_rate": float((pred == -1).mean()), "checks_passed": violations == 0,
               **{f"certified_accuracy@{r:g}": row["certified_accuracy"] for r, row in zip(radii, rows, strict=True)},
               "median_certified_radius": float(np.median(np.where(pred == y, radius, 0.0))),
               "max_certifiable_radius": max_certifiable_radius(sigma, int(params["n"]), float(params["alpha"]))}
    metrics["verdict"] = (f"With noise sigma {sigma:g}, {rows[-1]['certified_accuracy']:.1%} of the inputs are "
                          f"provably classified correctly within L2 radius {radii[-1]:g} "
                          f"({metrics['abstain_rate']:.1%} abstained); PGD-L2 leaves "
                          f"{rows[-1]['empirical_accuracy']:.1%} correct at that radius, an upper bound the "
                          "certificate must stay under. The median certified radius, "
                          f"{metrics['median_certified_radius']:.3f}, is over all {len(y)} inputs, counting 0 for "
                          "those the smoothed model gets wrong or abstains on.")
    if radii[-1] > metrics["max_certifiable_radius"]:
        metrics["verdict"] += (f" With {params['n']} noisy copies no radius above "
                               f"{metrics['max_certifiable_radius']:.3f} can be certified: raise n for larger radii.")
    return AuditResult(audit="certified", model_id=None, dataset=dataset.name, params={**params, "radii": radii},
                       metrics=metrics, tables={"radii": rows, "checks": checks}, warnings=warnings, seed=seed,
                       seconds=time.perf_counter() - started)
