"""The robustness audit: accuracy against perturbation size, with intervals, checks and examples."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from fmcore.errors import FmauditError

from .._options import opt
from .._result import AuditResult, metric_at
from .._spec import CompareRow, as_is, register_audit
from ..stats import wilson
from ._attacks import ATTACKS, autoattack_components, check_eps, get_attack
from ._estimator import art_estimator, attack_inputs, attack_rows, feature_range
from ._tabular import is_valid, table_constraints

GALLERY = 8
MASKING_MARGIN = 0.02  # a black-box attack this much stronger than PGD suggests masked gradients


def _norms(delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    flat = delta.reshape(len(delta), -1)
    return np.abs(flat).max(1), np.linalg.norm(flat, axis=1)


def _row(eps, correct_adv, clean_correct, delta) -> dict:
    n, k = len(correct_adv), int(correct_adv.sum())
    lo, hi = wilson(k, n)
    linf, l2 = _norms(delta)
    flipped = clean_correct & ~correct_adv
    return {"eps": eps, "robust_accuracy": k / n, "ci_low": lo, "ci_high": hi,
            "success_rate": float(flipped.sum() / max(1, clean_correct.sum())),
            "mean_linf": float(linf[flipped].mean()) if flipped.any() else 0.0,
            "mean_l2": float(l2[flipped].mean()) if flipped.any() else 0.0, "n": n}


def _predict(estimator, x, batch_size) -> tuple[np.ndarray, np.ndarray]:
    probs = estimator.predict(x, batch_size=batch_size)
    probs = np.exp(probs - probs.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    return probs.argmax(1), probs.max(1)


def _attack_task(shared: dict, task: dict) -> np.ndarray:
    """One sweep task: ``task["attack"]`` at ``task["eps"]`` on the first ``task["n"]`` shared inputs.

    With ``shared["constraints"]`` (valid tabular attacks) immutable features are masked at every step
    where the attack supports a mask, and the result is projected onto rows that could exist.
    """
    estimator = art_estimator(shared["classifier"], shared["clip"])
    n = task.get("n") or len(shared["x"])
    x, y = shared["x"][:n], shared["y"][:n]
    attack = ATTACKS[task["attack"]].build(estimator, task["eps"], task["batch_size"], **task["overrides"])
    constraints = shared.get("constraints")
    if constraints is None:
        return attack.generate(x=x, y=y).astype(np.float32)
    mask = np.broadcast_to(constraints.mask(x.shape[1]), x.shape)
    adv = attack.generate(x=x, y=y, mask=mask) if task["attack"] in MASKABLE else attack.generate(x=x, y=y)
    return constraints.project(adv, x)


MASKABLE = ("fgsm", "pgd", "pgd_l2")  # ART attacks whose generate() takes a perturbation mask


def attack_tasks(spec, eps_list, batch_size: int, overrides: dict, n: int | None = None) -> list[dict]:
    """The tasks of one attack's sweep: one per epsilon (one in all for a minimum-norm attack)."""
    return [{"attack": spec.name, "eps": eps, "batch_size": batch_size, "overrides": overrides, "n": n}
            for eps in (eps_list if spec.uses_eps else [None])]


def sweep_rows(estimator, spec, x, y, clean_pred, eps_list, batch_size, generated: list) -> tuple[list[dict], dict]:
    """Robust accuracy per epsilon from the attacks' outputs; returns the table rows and the inputs per epsilon."""
    clean_correct = clean_pred == y
    rows, advs = [], {}
    if spec.uses_eps:
        for eps, adv in zip(eps_list, generated, strict=True):
            pred, _ = _predict(estimator, adv, batch_size)
            rows.append(_row(eps, pred == y, clean_correct, adv - x))
            advs[eps] = adv
    else:  # minimum-norm attack: robust at eps when the change it needed is larger than eps
        adv = generated[0]
        pred, _ = _predict(estimator, adv, batch_size)
        linf, l2 = _norms(adv - x)
        size = linf if spec.norm == "inf" else l2
        fooled = pred != y
        for eps in eps_list:
            still = clean_correct & ~(fooled & (size <= eps + 1e-6))
            capped = np.where((fooled & (size <= eps + 1e-6))[:, None], (adv - x).reshape(len(x), -1), 0.0)
            rows.append(_row(eps, still, clean_correct, capped.reshape(x.shape)))
            advs[eps] = np.where((fooled & (size <= eps + 1e-6)).reshape(-1, *[1] * (x.ndim - 1)), adv, x)
    return rows, advs


def _checks(spec, rows, advs, fgsm_rows, square_adv, estimator, x, y, eps_list, batch_size, params,
            modality: str) -> tuple[list[dict], list[str]]:
    checks, warnings = [], []
    accs = [r["robust_accuracy"] for r in rows]
    rises = [(rows[i]["eps"], rows[i + 1]["eps"]) for i in range(len(accs) - 1) if accs[i + 1] > accs[i] + 1e-9]
    checks.append({"check": "robust accuracy never rises with epsilon", "passed": not rises,
                   "detail": f"rises between {rises}" if rises else "monotone"})
    if rises:
        warnings.append(f"Robust accuracy rises with epsilon ({rises}): the attack is not converging; do not trust "
                        "these numbers (increase steps or check for gradient masking).")
    if fgsm_rows is not None:
        frows = fgsm_rows
        strong, weak = ("AutoAttack", "PGD") if spec.name == "autoattack" else ("PGD", "FGSM")
        weaker = [(r["eps"], r["robust_accuracy"], f["robust_accuracy"]) for r, f in zip(rows, frows, strict=True)
                  if r["robust_accuracy"] > f["robust_accuracy"] + 1e-9]
        checks.append({"check": f"{strong} at least as strong as {weak} at every epsilon", "passed": not weaker,
                       "detail": "; ".join(f"eps {e}: {strong} {a:.3f} > {weak} {b:.3f}" for e, a, b in weaker)
                       or ", ".join(f"eps {r['eps']}: {strong} {r['robust_accuracy']:.3f} <= {weak} "
                                    f"{f['robust_accuracy']:.3f}" for r, f in zip(rows, frows, strict=True))})
        if weaker:
            warnings.append(f"{strong} is weaker than {weak} somewhere: a sign of gradient masking or too few "
                            "steps.")
    if _blackbox_check(spec, params) and not ATTACKS["square"].fits(modality):
        checks.append({"check": "black-box Square attack cross-check", "passed": True,
                       "detail": f"not applicable to {modality} inputs (Square perturbs image patches); the PGD vs "
                                 "FGSM check above is the masking check here"})
    elif square_adv is not None:
        m = len(square_adv)
        eps = eps_list[-1]
        sq_acc = float((_predict(estimator, square_adv, batch_size)[0] == y[:m]).mean())
        wb_adv = advs[eps][:m]  # the sweep already attacked these inputs at this epsilon
        wb_acc = float((_predict(estimator, wb_adv.astype(np.float32), batch_size)[0] == y[:m]).mean())
        masked = sq_acc < wb_acc - MASKING_MARGIN
        checks.append({"check": f"black-box Square attack not stronger than {spec.title} (eps {eps}, {m} samples)",
                       "passed": not masked, "detail": f"Square {sq_acc:.3f} vs {spec.title} {wb_acc:.3f}"})
        if masked:
            warnings.append(f"Gradient masking suspected: the black-box Square attack ({sq_acc:.1%}) beats the "
                            f"white-box {spec.title} ({wb_acc:.1%}) at eps {eps}; gradient-based numbers "
                            "overstate robustness.")
    return checks, warnings


def _task_groups(spec, eps_list, bs, overrides, ref, components, params, modality: str, n: int) -> dict:
    """The audit's attack tasks by group: the sweep, the weaker attack for comparison, AutoAttack's components each
    alone, and the black-box Square cross-check."""
    groups = {"sweep": attack_tasks(spec, eps_list, bs, overrides)}
    if ref:
        groups["fgsm"] = attack_tasks(ATTACKS[ref], eps_list, bs, {})
    for name in components:  # each component alone on the same inputs, for the per-component table
        groups[f"component:{name}"] = attack_tasks(spec, eps_list, bs, {**overrides, "component": name})
    if _blackbox_check(spec, params) and ATTACKS["square"].fits(modality):
        groups["square"] = [{**attack_tasks(ATTACKS["square"], eps_list[-1:], bs, {})[0],
                             "n": min(n, int(params["blackbox_check_samples"]))}]
    return groups


def _component_rows(estimator, components, outputs, rows, advs, x, y, eps_list, batch_size, checks) -> list[dict]:
    """AutoAttack per component: each one's robust accuracy run alone on the same inputs, the ensemble's, and the
    worst case (an input counts as robust only if it survives the ensemble and every component alone). The ensemble
    should come within two points (or one input) of the worst case; more says its components' random starts matter
    (run more)."""
    out, apart = [], []
    for i, eps in enumerate(eps_list):
        survived = _predict(estimator, advs[eps], batch_size)[0] == y
        for name in components:
            ok = _predict(estimator, outputs[f"component:{name}"][i], batch_size)[0] == y
            survived &= ok
            out.append({"eps": eps, "component": name, "robust_accuracy": float(ok.mean()), "n": int(len(y))})
        out.append({"eps": eps, "component": "AutoAttack (ensemble)", "robust_accuracy": rows[i]["robust_accuracy"],
                    "n": int(len(y))})
        lo, hi = wilson(int(survived.sum()), len(y))
        out.append({"eps": eps, "component": "worst case", "robust_accuracy": float(survived.mean()),
                    "ci_low": lo, "ci_high": hi, "n": int(len(y))})
        if rows[i]["robust_accuracy"] > survived.mean() + max(0.02, 1 / len(y)) + 1e-9:  # two points, one input
            apart.append(f"eps {eps:g}: ensemble {rows[i]['robust_accuracy']:.3f}, worst case {survived.mean():.3f}")
    checks.append({"check": "AutoAttack ensemble within 2 points (or one input) of the worst case over its components",
                   "passed": not apart, "detail": "; ".join(apart) or f"components: {', '.join(components)}"})
    return out


#: the weaker attack each strong one is checked against, on the same inputs and epsilons
WEAKER = {"pgd": "fgsm", "autoattack": "pgd"}


def _blackbox_check(spec, params) -> bool:
    return bool(spec.access == "white-box" and spec.uses_eps and params["blackbox_check_samples"]
                and spec.norm == "inf")


def _gallery(classifier, estimator, x, y, clean: tuple, adv, batch_size, feature_names,
             constraints=None) -> list[dict]:
    """The attacked examples to show, flipped ones first; ``clean`` is ``_predict`` on ``x``."""
    pred, conf = _predict(estimator, adv, batch_size)
    clean, clean_conf = clean
    order = np.argsort(~((clean == y) & (pred != y)), kind="stable")[:GALLERY]  # flipped ones first
    classes = classifier.classes
    out = []
    for i in order:
        item = {"index": int(i), "true": classes[y[i]], "clean_pred": classes[clean[i]],
                "clean_confidence": float(clean_conf[i]), "adv_pred": classes[pred[i]],
                "adv_confidence": float(conf[i])}
        if classifier.modality == "image":
            item["original"] = np.round(x[i, 0], 3).tolist()
            item["adversarial"] = np.round(adv[i, 0], 3).tolist()
        elif constraints is not None:  # in the data's own units and categories
            item["changes"] = constraints.changes(x[i], adv[i])[:5]
        else:
            delta = adv[i] - x[i]
            top = np.argsort(-np.abs(delta))[:5]
            item["changes"] = [{"feature": feature_names[j], "before": float(x[i, j]), "after": float(adv[i, j]),
                                "delta": float(delta[j])} for j in top if abs(delta[j]) > 1e-6]
        out.append(item)
    return out


def _table_verdict(rows, gallery, constraints, spec) -> str:
    worst = rows[-1]
    kind = ("rows that could exist (categories, whole numbers and ranges kept; immutable: "
            f"{', '.join(constraints.immutable) or 'none'})" if constraints is not None
            else "free moves in the encoded space (rows that may not exist)")
    moved = {}
    for e in gallery:
        for c in e.get("changes", []):
            moved[c["feature"]] = moved.get(c["feature"], 0) + 1
    top = ", ".join(f for f, _ in sorted(moved.items(), key=lambda kv: -kv[1])[:3])
    return (f"{spec.title} with {kind}: at eps {worst['eps']:g} (standard deviations of each numeric feature) "
            f"{worst['success_rate']:.1%} of correctly classified rows flip and accuracy falls to "
            f"{worst['robust_accuracy']:.1%}" + (f"; the features the attack moved most: {top}." if top else "."))


def _text_audit(classifier, dataset, params, eps_list, progress, started) -> AuditResult:
    from ._text import text_sweep

    split = dataset[params["split"]]
    rng = np.random.default_rng(int(params["seed"]))
    idx = np.sort(rng.choice(len(split), size=min(int(params["samples"]), len(split)), replace=False))
    texts, labels = split.X[idx], split.y[idx]
    rows, results = text_sweep(classifier, texts, labels, [int(e) for e in eps_list], progress)
    classes = classifier.classes
    clean = float(np.mean([r["clean_pred"] == r["true"] for r in results]))
    shown = [r for r in sorted(results, key=lambda r: not r["flipped"]) if r["edits"]][:GALLERY * 2]
    examples = [{"true": classes[r["true"]], "clean_pred": classes[r["clean_pred"]],
                 "clean_confidence": r["clean_conf"], "adv_pred": classes[r["adv_pred"]],
                 "adv_confidence": r["adv_conf"], "original": r["original"], "edited": r["edited"],
                 "edits": r["edits"], "flipped": r["flipped"]} for r in shown]
    accs = [r["robust_accuracy"] for r in rows]
    monotone = all(b <= a + 1e-9 for a, b in zip(accs, accs[1:], strict=False))
    checks = [{"check": "robust accuracy never rises with the edit budget", "passed": monotone, "detail": str(accs)}]
    metrics = {"clean_accuracy": clean, "attack": "charswap", "n": len(results),
               **{f"robust_accuracy@{r['eps']:g}": r["robust_accuracy"] for r in rows},
               "flip_rate": rows[-1]["success_rate"], "checks_passed": monotone}
    return AuditResult(audit="robustness", model_id=None, dataset=dataset.name, params={**params, "eps": eps_list},
                       metrics=metrics, tables={"sweep": rows, "checks": checks, "examples": examples, "per_class": []},
                       warnings=[] if len(results) >= 30 else [f"Only {len(results)} texts attacked: wide intervals."],
                       artifacts={"gallery_eps": str(eps_list[-1])}, seed=int(params["seed"]),
                       seconds=time.perf_counter() - started)


def _constraints(classifier, dataset, params: dict):
    """What a valid adversarial row of a table must keep (None for the labelled unconstrained attack): one category
    per group, whole numbers, training ranges, and the immutable features (the user's and the dataset's)."""
    if params.get("constraints", "valid") not in ("valid", "none"):
        raise FmauditError(f"constraints must be 'valid' (rows that could exist) or 'none' (free moves in the "
                           f"encoded space); got {params.get('constraints')!r}.")
    immutable = list(dict.fromkeys([*(params.get("immutable") or []), *dataset.spec.immutable]))
    unknown = [c for c in immutable if c not in [f.name for f in dataset.features]]
    if unknown:
        raise FmauditError(f"Immutable feature(s) {unknown} are not features of {dataset.name!r}; features: "
                           f"{[f.name for f in dataset.features]}.")
    if params.get("constraints", "valid") == "valid":
        return table_constraints(classifier, dataset["train"].X, immutable)
    return None


def _summary(result) -> dict:
    return {"sweep": result.tables["sweep"], "checks": result.tables["checks"]}


def _headline(m: dict) -> str:
    from .._format import pct

    found = metric_at(m, "robust_accuracy")
    if not found:
        return ""
    e = max(found)
    return f"accuracy {pct(m.get('clean_accuracy'))} → {pct(found[e])} under attack at eps {e:g}"


def _figures(audit: dict) -> list:
    from .. import figures
    from ._attacks import ATTACKS

    t, m = audit["tables"], audit["metrics"]
    if not t.get("sweep"):
        return []
    spec = ATTACKS.get(m.get("attack"))  # the attack's own norm (DeepFool and CW are L2, charswap counts words)
    return [("accuracy under attack", figures.robustness_curves(
        [(m.get("attack", "attack"), m.get("clean_accuracy", 0), t["sweep"])], spec.norm if spec else "inf"))]


def _iterations(spec, params: dict) -> dict:
    """``steps`` names an iterative attack's iterations whatever the attack calls them: for an attack that counts
    ``max_iter`` (C&W, DeepFool, HopSkipJump, Square) it is that, unless ``max_iter`` is given too."""
    if params.get("steps") is not None and "steps" not in spec.defaults and "max_iter" in spec.defaults:
        return {**params, "steps": None, "max_iter": params.get("max_iter") or params["steps"]}
    return params


@dataclass
class RobustnessOptions:
    """The robustness audit's options (its flags, form and settings)."""
    attack: str = opt("pgd", f"the attack: {', '.join(ATTACKS)}")
    eps: list[float] = opt([0.05, 0.1, 0.2, 0.3], "perturbation sizes (the attack's norm: Linf or L2 in the input's "
                                                  "range, words for text)", keyed=True)
    samples: int = opt(500, "test examples to attack", min=1)
    seed: int = opt(0, "the seed of every random draw")
    split: str = opt("test", "the split audited", choices=("train", "val", "test"))
    batch_size: int = opt(500, "inputs per attack batch", min=1, setting=False)
    compare_fgsm: bool = opt(True, "also run the weaker attack (FGSM for PGD) as a sanity check")
    blackbox_check_samples: int = opt(100, "inputs of the black-box (Square) cross-check against gradient masking",
                                      min=0)
    steps: int | None = opt(None, "PGD steps, or the iterations of another iterative attack (default: the "
                                  "attack's own)", min=1)
    max_iter: int | None = opt(None, "iterations of C&W, DeepFool, HopSkipJump or Square (default: the attack's "
                                     "own)", min=1)
    constraints: str = opt("valid", "tables: valid keeps adversarial rows real (categories whole, immutable "
                                    "features fixed); none attacks the encoded space freely",
                           choices=("valid", "none"),
                           switch=("unconstrained", "none", "tables: constraints none (rows that cannot exist; for "
                                                           "comparison only)"))
    immutable: list[str] | None = opt(None, "tables: features that may not change, besides those the dataset "
                                            "declares")


#: Compare's rows for this audit
_COMPARE = (
    CompareRow("robust accuracy", at="robust_accuracy", proportion=True, radar=("robust accuracy", as_is),
               at_label="Declared epsilon for robust accuracy", at_default=0.1),
)


@register_audit("robustness", "Adversarial robustness",
                "Accuracy under evasion attacks (adversarial-robustness-toolbox) across perturbation sizes, with "
                "95% intervals, attack success, perturbation norms, per-class robust accuracy, sanity checks "
                "against weak or masked attacks, and example attacked inputs.",
                options=RobustnessOptions,
                requires=("predicts", "scores"),
                partial={"gradients": "black-box attacks only (HopSkipJump; Square for images), through the model's "
                                      "predictions"},
                summary=_summary, headline=_headline, figures=_figures, compare=_COMPARE,
                order=20)
def robustness(classifier, dataset, params: dict, progress=None) -> AuditResult:
    """The robustness audit: accuracy under attack at each epsilon with intervals, checks and attacked examples."""
    started = time.perf_counter()
    if classifier.needs_groups:
        raise FmauditError("This model decides with a threshold per sensitive group (a fairness mitigation); attack "
                           "its parent instead: the thresholds do not change the scores an attacker moves.")
    spec = get_attack(params["attack"])
    params = _iterations(spec, params)
    eps_list = check_eps(spec, list(params["eps"]), classifier.modality)
    if "gradients" not in classifier.offers:  # a scikit-learn, tree or ONNX model: its predictions only
        from ._blackbox import blackbox_audit

        return blackbox_audit(classifier, dataset, params, spec, eps_list, progress, started)
    if spec.norm == "words":
        return _text_audit(classifier, dataset, params, eps_list, progress, started)
    attack_params = {k: params[k] for k in ("steps", "max_iter") if params.get(k) is not None and k in spec.defaults}
    x, y = attack_inputs(classifier, dataset[params["split"]], int(params["samples"]), int(params["seed"]))
    clip = feature_range(classifier, dataset["train"])
    constraints = _constraints(classifier, dataset, params) if classifier.modality == "tabular" else None
    estimator = art_estimator(classifier, clip)
    bs = int(params["batch_size"])
    params = {**params, **attack_params}
    overrides = {k: v for k, v in params.items() if k in spec.defaults and v is not None}
    # every attack of the audit is one task: the sweep, FGSM for comparison, the Square cross-check
    ref = WEAKER.get(spec.name) if params["compare_fgsm"] else None  # FGSM for PGD, PGD for AutoAttack
    components = autoattack_components(len(classifier.classes), x.ndim - 1) if spec.name == "autoattack" else []
    groups = _task_groups(spec, eps_list, bs, overrides, ref, components, params, classifier.modality, len(x))
    tasks = [t for g in groups.values() for t in g]
    for i, task in enumerate(tasks):
        task["seed"] = int(params["seed"]) * 1000 + i

    def sub(lo, hi):  # map a stage's own 0..1 onto part of the overall progress
        return (lambda f, msg: progress(lo + (hi - lo) * f, msg)) if progress else None

    from fmcore.executor import get_executor

    shared = {"classifier": classifier, "clip": clip, "x": x, "y": y, "constraints": constraints}
    generated = iter(get_executor().map(_attack_task, tasks, shared, progress=sub(0.0, 0.8),
                                        label=f"{spec.title} sweep"))
    outputs = {name: [next(generated) for _ in g] for name, g in groups.items()}
    if progress:
        progress(0.8, "sanity checks (FGSM comparison, black-box Square attack)")
    clean = _predict(estimator, x, bs)  # (labels, confidences) on the clean inputs, for every table below
    clean_pred = clean[0]
    rows, advs = sweep_rows(estimator, spec, x, y, clean_pred, eps_list, bs, outputs["sweep"])
    fgsm_rows = (sweep_rows(estimator, ATTACKS[ref], x, y, clean_pred, eps_list, bs, outputs["fgsm"])[0]
                 if "fgsm" in outputs else None)
    checks, warnings = _checks(spec, rows, advs, fgsm_rows, outputs.get("square", [None])[0], estimator, x, y,
                               eps_list, bs, params, classifier.modality)
    if constraints is not None:  # the projection's promise, checked on every adversarial row the sweep made
        found = [is_valid(constraints, adv, x) for adv in outputs["sweep"]]
        broken = sorted({k for f in found for k, ok in f.items() if not ok})
        checks.append({"check": "adversarial rows could exist (one category per group, whole numbers, training "
                                "ranges, immutable features unchanged)", "passed": not broken,
                       "detail": f"violated: {broken}" if broken else f"{len(found) * len(x)} rows checked"})
    tables = {"components": _component_rows(estimator, components, outputs, rows, advs, x, y, eps_list, bs, checks)
              } if components else {}
    per_class = []
    for c, name in enumerate(classifier.classes):
        mask = y == c
        if mask.any():
            entry = {"class": name, "n": int(mask.sum()), "clean": float((clean_pred[mask] == c).mean())}
            for eps, adv in advs.items():
                entry[f"eps={eps:g}"] = float((_predict(estimator, adv[mask], bs)[0] == c).mean())
            per_class.append(entry)
    names = classifier.preprocess.feature_names if classifier.preprocess is not None else []
    gallery_eps = eps_list[len(eps_list) // 2]
    gallery = _gallery(classifier, estimator, x, y, clean, advs[gallery_eps], bs, names, constraints)
    small = [r["class"] for r in per_class if r["n"] < 20]
    if small:
        warnings.append(f"Classes with under 20 attacked samples ({', '.join(small)}): per-class numbers are noisy.")
    clean_acc = float((clean_pred == y).mean())
    metrics = {"clean_accuracy": clean_acc, "attack": spec.name, "n": int(len(y)),
               **{f"robust_accuracy@{r['eps']:g}": r["robust_accuracy"] for r in rows},
               **{f"worst_case_accuracy@{r['eps']:g}": r["robust_accuracy"] for r in tables.get("components", [])
                  if r["component"] == "worst case"},
               "checks_passed": all(c["passed"] for c in checks)}
    if classifier.modality == "tabular":
        metrics["constraints"] = "valid" if constraints is not None else "none"
        params = {**params, "immutable": constraints.immutable if constraints is not None else
                  list(params.get("immutable") or [])}
        if constraints is None:
            warnings.insert(0, "Unconstrained attack in the encoded feature space: adversarial rows may hold "
                               "fractions of categories, non-whole counts and changed immutable features - rows "
                               "that cannot exist. Use constraints 'valid' for evidence about real inputs.")
        metrics["verdict"] = _table_verdict(rows, gallery, constraints, spec)
    used = {**spec.defaults, **overrides}  # every parameter the attack ran with, defaults resolved
    if "steps" in used and "step_ratio" in used:
        used["eps_step"] = {f"{e:g}": used["step_ratio"] * e / int(used["steps"]) for e in eps_list}
    params = {**params, **{k: used[k] for k in ("steps", "max_iter") if k in used},
              "attack_parameters": used,
              "rows": attack_rows(len(dataset[params["split"]]), int(params["samples"]), int(params["seed"])).tolist()}
    return AuditResult(
        audit="robustness", model_id=None, dataset=dataset.name, params={**params, "eps": eps_list},
        metrics=metrics, tables={"sweep": rows, "per_class": per_class, "checks": checks, "examples": gallery,
                                 **tables},
        warnings=warnings, artifacts={"gallery_eps": str(gallery_eps)}, seed=int(params["seed"]),
        seconds=time.perf_counter() - started)
