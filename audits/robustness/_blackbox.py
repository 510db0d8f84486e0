"""Robustness of models fmaudit cannot differentiate (scikit-learn pipelines, tree ensembles, ONNX graphs): ART's
black-box attacks through the model's own predictions. Images are attacked in pixel space (HopSkipJump or Square);
tables on their raw numeric columns in training standard deviations (HopSkipJump, labels only), with categories,
immutable and sensitive columns held fixed by the attack's mask and every adversarial row written back in the
data's own units (whole numbers stay whole, values inside the training range)."""

from __future__ import annotations

import time

import numpy as np

from fmcore.errors import FmauditError

from .._result import AuditResult
from ..explain import plain_value
from ..stats import wilson

BLACK_BOX_ATTACKS = {"image": ("hopskipjump", "square"), "tabular": ("hopskipjump",)}


class _TableSpace:
    """Raw table rows <-> a float vector: numeric columns standardised (training mean and standard deviation),
    categorical columns as their code in the training categories (never moved: masked)."""

    def __init__(self, train, frozen: set[str]):
        import pandas as pd

        self.columns = list(train.columns)
        self.numeric = [c for c in self.columns if pd.api.types.is_numeric_dtype(train[c])]
        self.stats, self.categories = {}, {}
        for c in self.columns:
            if c in self.numeric:
                v = train[c].astype(float)
                self.stats[c] = (float(v.mean()), float(v.std()) or 1.0, float(v.min()), float(v.max()),
                                 bool(np.all(v.dropna() == np.round(v.dropna()))))
            else:
                self.categories[c] = sorted(map(str, train[c].dropna().unique())) + ["(missing)"]
        self.mask = np.array([c in self.numeric and c not in frozen for c in self.columns], dtype=np.float32)

    def encode(self, frame) -> np.ndarray:
        out = np.zeros((len(frame), len(self.columns)), dtype=np.float32)
        for j, c in enumerate(self.columns):
            if c in self.numeric:
                mean, std = self.stats[c][:2]
                out[:, j] = (frame[c].astype(float).fillna(mean).to_numpy() - mean) / std
            else:
                cats = self.categories[c]
                values = frame[c].astype(object).where(frame[c].notna(), "(missing)").astype(str)
                out[:, j] = [cats.index(v) if v in cats else len(cats) - 1 for v in values]
        return out

    def decode(self, x: np.ndarray):
        import pandas as pd

        cols = {}
        for j, c in enumerate(self.columns):
            if c in self.numeric:
                mean, std, lo, hi, integer = self.stats[c]
                v = np.clip(x[:, j].astype(np.float64) * std + mean, lo, hi)
                cols[c] = np.round(v) if integer else v
            else:
                cats = np.array([*self.categories[c][:-1], np.nan], dtype=object)  # the last one is "(missing)"
                cols[c] = cats[np.clip(np.round(x[:, j]).astype(int), 0, len(cats) - 1)]
        return pd.DataFrame(cols)

    def clip(self) -> tuple[np.ndarray, np.ndarray]:
        lo = np.array([(self.stats[c][2] - self.stats[c][0]) / self.stats[c][1] if c in self.numeric else 0
                       for c in self.columns], dtype=np.float32)
        hi = np.array([(self.stats[c][3] - self.stats[c][0]) / self.stats[c][1] if c in self.numeric
                       else len(self.categories[c]) - 1 for c in self.columns], dtype=np.float32)
        return lo, hi


def blackbox_audit(classifier, dataset, params: dict, spec, eps_list, progress, started) -> AuditResult:
    """The robustness audit of a model known only by its predictions: the attack runs once per sample (it finds
    the smallest change it can), and an input counts as robust at eps when no change of at most eps was found."""
    from art.estimators.classification import BlackBoxClassifier

    modality = classifier.modality
    if spec.name not in BLACK_BOX_ATTACKS.get(modality, ()):
        raise FmauditError(f"This model is a black box to fmaudit (no gradients): use a black-box attack, "
                           f"{' or '.join(BLACK_BOX_ATTACKS.get(modality, ()))}; {spec.title} needs gradients.")
    from fmcore.config import seed_everything

    seed_everything(int(params["seed"]))  # ART's black-box attacks draw from numpy's global generator
    split = dataset[params["split"]]
    rng = np.random.default_rng(int(params["seed"]))
    idx = np.sort(rng.choice(len(split), size=min(int(params["samples"]), len(split)), replace=False))
    X, y = (split.X.iloc[idx].reset_index(drop=True) if hasattr(split.X, "iloc") else split.X[idx]), split.y[idx]
    space = None
    if modality == "tabular":
        frozen = set(dataset.spec.sensitive) | set(dataset.spec.immutable) | set(params.get("immutable") or [])
        space = _TableSpace(dataset["train"].X, frozen)
        x = space.encode(X)
        clip = space.clip()
        predict = lambda z: classifier.predict_proba(space.decode(z))  # noqa: E731
    else:
        x = np.asarray(X, dtype=np.float32)
        clip = (0.0, 1.0)
        predict = lambda z: classifier.predict_proba(z.astype(np.float32))  # noqa: E731
    estimator = BlackBoxClassifier(predict, x.shape[1:], len(classifier.classes), clip_values=clip)
    if progress:
        progress(0.1, f"{spec.title} on {len(x)} inputs, through the model's predictions only")
    overrides = {k: params[k] for k in ("max_iter",) if params.get(k) is not None}
    clean = predict(x).argmax(1)
    if spec.name == "square":
        advs = {e: spec.build(estimator, e, int(params["batch_size"]), **overrides).generate(x) for e in eps_list}
        adv_pred = {e: predict(a).argmax(1) for e, a in advs.items()}
        norms = None
    else:
        attack = spec.build(estimator, None, int(params["batch_size"]), **overrides)
        mask = space.mask if space is not None else None
        init, found = _starting_points(predict, x, clean, clip, mask, rng)
        adv = x.copy()
        if found.any():  # ART draws its own starting points from an unseeded generator: ours are seeded
            kwargs = {"mask": mask} if mask is not None else {}
            adv[found] = attack.generate(x[found], x_adv_init=init[found], **kwargs)
        pred = predict(adv).argmax(1)
        norms = np.abs(adv - x).reshape(len(x), -1).max(1)
        adv_pred = {e: np.where((pred != clean) & (norms <= e + 1e-6), pred, clean) for e in eps_list}
        advs = {e: adv for e in eps_list}
    rows = []
    for e in eps_list:
        ok = (clean == y) & (adv_pred[e] == y)  # an input already misclassified is not robust at any eps
        lo, hi = wilson(int(ok.sum()), len(y))
        flipped = (clean == y) & ~ok
        rows.append({"eps": e, "robust_accuracy": float(ok.mean()), "ci_low": lo, "ci_high": hi,
                     "success_rate": float(flipped.sum() / max(1, (clean == y).sum())), "n": int(len(y))})
    examples = _examples(classifier, space, X, x, y, clean, advs[eps_list[-1]], adv_pred[eps_list[-1]])
    accs = [r["robust_accuracy"] for r in rows]
    monotone = all(b <= a + 1e-9 for a, b in zip(accs, accs[1:], strict=False))
    checks = [{"check": "robust accuracy never rises with eps", "passed": monotone, "detail": str(accs)}]
    unit = "training standard deviations of the numeric columns" if space is not None else "pixel intensity"
    metrics = {"clean_accuracy": float((clean == y).mean()), "attack": spec.name, "access": "black-box",
               "n": int(len(y)), **{f"robust_accuracy@{r['eps']:g}": r["robust_accuracy"] for r in rows},
               "checks_passed": monotone,
               "verdict": f"Black-box attack ({spec.title}): fmaudit saw only this model's predictions, so this is an "
                          f"upper bound on its robust accuracy (a white-box attack could find more). Perturbations in "
                          f"{unit}; at eps {eps_list[-1]:g} accuracy is {accs[-1]:.1%} against "
                          f"{(clean == y).mean():.1%} clean."}
    warnings = [] if len(y) >= 30 else [f"Only {len(y)} inputs attacked: wide intervals."]
    if space is not None:
        moved = [c for c, m in zip(space.columns, space.mask, strict=True) if m]
        warnings.append(f"Only numeric columns were moved ({', '.join(moved) or 'none'}); categories, sensitive and "
                        "immutable columns stayed as they were.")
    params = {**params, "eps": eps_list, "rows": idx.tolist(), "access": "black-box"}
    return AuditResult(audit="robustness", model_id=None, dataset=dataset.name, params=params, metrics=metrics,
                       tables={"sweep": rows, "checks": checks, "examples": examples, "per_class": []},
                       warnings=warnings, artifacts={"gallery_eps": str(eps_list[-1])}, seed=int(params["seed"]),
                       seconds=time.perf_counter() - started)


def _starting_points(predict, x, clean, clip, mask, rng, tries: int = 100):
    """For each input, a seeded random point of the input space (frozen features kept) that the model already answers
    differently: HopSkipJump walks from it towards the input. Returns (points, found)."""
    lo, hi = clip
    init, found = x.copy(), np.zeros(len(x), bool)
    for _ in range(tries):
        todo = np.flatnonzero(~found)
        if not len(todo):
            break
        draw = rng.uniform(lo, hi, size=x[todo].shape).astype(np.float32)
        if mask is not None:
            draw = draw * mask + x[todo] * (1 - mask)
        hit = predict(draw).argmax(1) != clean[todo]
        init[todo[hit]], found[todo[hit]] = draw[hit], True
    return init, found


def _examples(classifier, space, X, x, y, clean, adv, pred, k: int = 8) -> list[dict]:
    """Attacked inputs, flipped ones first: images as pictures, table rows as their changes in the data's units."""
    classes = classifier.classes
    order = np.argsort(~((clean == y) & (pred != y)), kind="stable")[:k]
    out = []
    decoded = space.decode(adv) if space is not None else None
    for i in order:
        item = {"index": int(i), "true": classes[y[i]], "clean_pred": classes[clean[i]], "adv_pred": classes[pred[i]]}
        if space is None:
            item["original"] = np.round(x[i, 0], 3).tolist()
            item["adversarial"] = np.round(adv[i, 0], 3).tolist()
        else:
            pairs = [(c, plain_value(X.iloc[i][c]), plain_value(decoded.iloc[i][c])) for c in space.numeric]
            item["changes"] = [{"feature": c, "from": a, "to": b} for c, a, b in pairs if a != b][:5]
        out.append(item)
    return out

