"""Fairness mitigations with fairlearn: each result is a registered model with the original as parent.

- ``threshold_optimizer`` (post-processing, Hardt et al. 2016): per-group thresholds on the parent's
  scores, fitted on the validation split; stored as JSON rules over the parent
  (``fmcore.models._fair``). Needs the sensitive columns at prediction time.
- ``exponentiated_gradient`` (reductions, Agarwal et al. 2018): a randomized mixture of
  scikit-learn logistic regressions on the parent's input encoding, trained under the constraint;
  stored as a ``LinearMixture`` (safetensors). Does not need the sensitive columns to predict.
- ``reweighing`` (pre-processing, Kamiran & Calders 2012): the parent's architecture retrained on
  a resample of the training split in which label and group are independent.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fmcore.errors import ConfigError, FmauditError, UnknownNameError
from fmcore.lineage import Derivation, DerivedResult

from ._metrics import encode_groups, group_metrics, headline_disparities


@dataclass
class MitigationResult(DerivedResult):
    """A mitigated model: the method, constraint and the disparities before and after."""
    method: str
    constraint: str
    sensitive: list[str]
    tolerance: float | None
    before: dict
    after: dict
    seconds: float


def tradeoff_point(classifier, split, sensitive: list[str], positive: int) -> dict:
    """Accuracy and the disparities of ``classifier`` on ``split`` grouped by ``sensitive`` (combined)."""
    proba = classifier.predict_proba(split.X, groups=split.groups)
    pred = classifier.decide(proba)
    codes, labels = encode_groups({c: split.groups[c].to_numpy() for c in sensitive})
    m = group_metrics((split.y == positive).astype(int), (pred == positive).astype(int), codes, len(labels))
    d = headline_disparities(m)
    return {"accuracy": float((pred == split.y).mean()), "n": int(len(split.y)),
            "selection_rate": {" & ".join(g): float(v) for g, v in zip(labels, m["selection_rate"], strict=True)},
            **{k: d[k] for k in ("demographic_parity_difference", "demographic_parity_ratio",
                                 "equalized_odds_difference", "equal_opportunity_difference")}}


@dataclass
class MitigationJob:
    """What a mitigation's ``make`` works with; returns ``(new classifier, info)``."""

    clf: object
    record: object
    ds: object
    sensitive: list[str]
    constraint: str
    tolerance: float | None
    positive: int
    seed: int
    max_train_samples: int | None
    max_iter: int
    epochs: int | None
    callbacks: tuple
    meta_base: dict


@dataclass(frozen=True)
class MitigationMethod:
    """A mitigation: its name, help, the constraints it supports, whether it takes a tolerance, its label in
    sentences, the suffix of the models it makes, and the function that makes one."""

    name: str
    help: str
    label: str
    suffix: str
    constraints: tuple[str, ...]
    tolerance: bool
    make: Callable


MITIGATIONS: dict[str, MitigationMethod] = {}


def register_mitigation(name: str, help: str, label: str, suffix: str,  # noqa: A002  (the registry's field)
                        constraints: tuple[str, ...], tolerance: bool = True):
    """Decorator: register ``make(job: MitigationJob)`` as mitigation ``name``; adding one touches only it."""
    def deco(make):
        MITIGATIONS[name] = MitigationMethod(name, help, label, suffix, tuple(constraints), tolerance, make)
        return make
    return deco


def _check(method, constraint, sensitive, dataset, classes, tolerance):
    if method not in MITIGATIONS:
        raise UnknownNameError("mitigation method", method, list(MITIGATIONS))
    if constraint not in MITIGATIONS[method].constraints:
        raise ConfigError(f"{method} supports the constraints {list(MITIGATIONS[method].constraints)}, not "
                          f"{constraint!r}.")
    available = list(dataset.spec.sensitive)
    if not available:
        raise FmauditError(f"Dataset {dataset.name!r} declares no sensitive attributes to mitigate for.")
    missing = [c for c in sensitive if c not in available]
    if not sensitive or missing:
        raise ConfigError(f"Sensitive column(s) {missing or sensitive} are not in {dataset.name!r}; available: "
                          f"{available}.")
    if len(classes) != 2:
        raise ConfigError(f"Mitigations need a binary label; {dataset.name!r} has {len(classes)} classes "
                          f"({', '.join(map(str, classes[:5]))}...). Audit it one-vs-rest instead.")
    if tolerance is not None:
        if not 0 <= tolerance < 1:
            raise ConfigError(f"tolerance is a largest allowed disparity in [0, 1); got {tolerance}.")
        if method == "threshold_optimizer" and constraint == "equalized_odds":
            raise ConfigError("fairlearn's ThresholdOptimizer cannot relax equalized odds; leave tolerance "
                              "unset or use demographic_parity.")
        if not MITIGATIONS[method].tolerance:
            raise ConfigError(f"{method} has no tolerance: it removes the label-group dependence in the data.")


def _score_column():
    """A prefit scikit-learn estimator whose input is already the score (ThresholdOptimizer's view)."""
    from sklearn.base import BaseEstimator, ClassifierMixin

    class ScoreColumn(ClassifierMixin, BaseEstimator):
        def fit(self, X, y=None):
            self.fitted_ = True
            return self

        def predict_proba(self, X):
            s = np.asarray(X, dtype=np.float64)[:, 0]
            return np.stack([1 - s, s], 1)

    return ScoreColumn().fit(None)


def _threshold_optimizer(clf, ds, sensitive, constraint, tolerance, positive, seed, meta_base, record):
    from fairlearn.postprocessing import ThresholdOptimizer

    from fmcore.models import GroupThresholdClassifier, group_keys, rules_from_fairlearn

    val = ds["val"]
    scores = clf.predict_proba(val.X, groups=val.groups)[:, positive]
    keys = group_keys(val.groups, sensitive)
    opt = ThresholdOptimizer(estimator=_score_column(), constraints=constraint, prefit=True,
                             predict_method="predict_proba", tol=tolerance)
    opt.fit(scores[:, None], (val.y == positive).astype(int), sensitive_features=keys)
    rules = rules_from_fairlearn(opt.interpolated_thresholder_.interpolation_dict)
    meta = {**meta_base, "kind": "group_threshold", "sensitive": sensitive,
            "base_rel": f"../{record.id}", "randomized": {"positive": positive, "seed": seed}}
    return GroupThresholdClassifier(clf, rules, meta), {"fitted_on": "val", "n_fit": len(val)}


def _exponentiated_gradient(clf, ds, sensitive, constraint, tolerance, positive, seed, max_train_samples,
                            meta_base, max_iter):
    import torch
    from fairlearn import reductions
    from sklearn.linear_model import LogisticRegression

    from fmcore.models import Classifier, group_keys, nets

    if clf.preprocess is None:
        raise FmauditError("exponentiated_gradient trains scikit-learn models on tabular features; this model "
                           f"takes {clf.modality} input.")
    train = ds["train"].head(max_train_samples) if max_train_samples else ds["train"]
    X = clf.preprocess.transform(train.X).astype(np.float64)
    bound = 0.01 if tolerance is None else tolerance
    moment = {"demographic_parity": reductions.DemographicParity, "equalized_odds": reductions.EqualizedOdds,
              "true_positive_rate_parity": reductions.TruePositiveRateParity,
              "error_rate_parity": reductions.ErrorRateParity}[constraint](difference_bound=bound)
    est = LogisticRegression(solver="liblinear", max_iter=500, random_state=seed)
    eg = reductions.ExponentiatedGradient(est, constraints=moment, max_iter=max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # liblinear convergence chatter on one-hot columns
        eg.fit(X, (train.y == positive).astype(int), sensitive_features=group_keys(train.groups, sensitive))
    used = [i for i, w in enumerate(eg.weights_) if w > 0]
    net = nets.LinearMixture(X.shape[1], len(used), positive=positive)
    with torch.no_grad():
        for k, i in enumerate(used):
            p = eg.predictors_[i]
            # every predictor was fitted on both labels, so classes_ == [0, 1] and decision > 0 means 1
            net.weight[k] = torch.from_numpy(np.asarray(p.coef_[0], dtype=np.float64))
            net.bias[k] = float(p.intercept_[0])
            net.mix[k] = float(eg.weights_.iloc[i] if hasattr(eg.weights_, "iloc") else eg.weights_[i])
    kw = {"in_features": int(X.shape[1]), "n_rules": len(used), "positive": positive}
    meta = {**meta_base, "model": "fair_mixture", "architecture": "LinearMixture", "kwargs": kw,
            "randomized": {"positive": positive, "seed": seed}}
    out = Classifier("fair_mixture", net.eval(), meta, clf.preprocess, None)
    return out, {"fitted_on": "train", "n_fit": len(train), "rules": len(used), "iterations": int(eg.n_oracle_calls_),
                 "estimator": "sklearn LogisticRegression (liblinear)"}, eg


def reweighing_weights(codes: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kamiran & Calders weights ``P(group) P(label) / P(group, label)`` per row (labels 0/1)."""
    y = np.asarray(y).astype(np.int64)
    n = len(y)
    joint = np.bincount(codes * 2 + y, minlength=(int(codes.max()) + 1) * 2).astype(np.float64)
    p_g = np.bincount(codes).astype(np.float64) / n
    p_y = np.bincount(y, minlength=2) / n
    return p_g[codes] * p_y[y] / (joint[codes * 2 + y] / n)


def _reweighing(clf, record, ds, sensitive, positive, seed, max_train_samples, epochs, callbacks):
    from fmcore.models import build_classifier
    from fmcore.train import TrainConfig, fit

    train = ds["train"].head(max_train_samples) if max_train_samples else ds["train"]
    codes, _ = encode_groups({c: train.groups[c].to_numpy() for c in sensitive})
    weight = reweighing_weights(codes, (train.y == positive).astype(int))
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(weight), size=len(weight), replace=True, p=weight / weight.sum()))
    sample = train.take(idx)
    new = build_classifier(record.model, ds, **{k: v for k, v in record.config.get("train", {}).items()
                                                if k in ("hidden", "dropout")})
    tc = dict(record.config.get("train", {}))
    cfg = TrainConfig(epochs=epochs or tc.get("epochs") or 5, batch_size=tc.get("batch_size") or 64,
                      lr=tc.get("lr") or 1e-3, optimizer=tc.get("optimizer") or "adam", seed=seed)
    val = ds["val"]
    fit(new.net, (new.encode(sample.X), sample.y), (new.encode(val.X), val.y), cfg, ds.num_classes, list(callbacks))
    return new, {"fitted_on": "train (reweighed resample)", "n_fit": len(sample), "epochs": cfg.epochs,
                 "weights": {"min": float(weight.min()), "max": float(weight.max())}}


register_mitigation(
    "threshold_optimizer", "Post-processing: a decision threshold per group on the model's scores (fairlearn "
    "ThresholdOptimizer). Needs the sensitive attribute when predicting.", "threshold optimizer", "thresholds",
    ("demographic_parity", "equalized_odds", "true_positive_rate_parity", "false_positive_rate_parity"))(
    lambda j: _threshold_optimizer(j.clf, j.ds, j.sensitive, j.constraint, j.tolerance, j.positive, j.seed,
                                   j.meta_base, j.record))
register_mitigation(
    "exponentiated_gradient", "Reductions: a randomized mixture of logistic regressions trained under the "
    "constraint (fairlearn ExponentiatedGradient); predicts without the attribute.", "exponentiated gradient",
    "expgrad", ("demographic_parity", "equalized_odds", "true_positive_rate_parity", "error_rate_parity"))(
    lambda j: _exponentiated_gradient(j.clf, j.ds, j.sensitive, j.constraint, j.tolerance, j.positive, j.seed,
                                      j.max_train_samples, j.meta_base, j.max_iter)[:2])
register_mitigation(
    "reweighing", "Pre-processing: retrain the same architecture on a resample where outcome and group are "
    "independent (Kamiran & Calders); no constraint choice, predicts without the attribute.", "reweighing",
    "reweighed", ("demographic_parity",), tolerance=False)(
    lambda j: _reweighing(j.clf, j.record, j.ds, j.sensitive, j.positive, j.seed, j.max_train_samples, j.epochs,
                          j.callbacks))

#: name -> help and name -> constraints, for forms and ``--help``
METHODS = {name: spec.help for name, spec in MITIGATIONS.items()}
CONSTRAINTS = {name: spec.constraints for name, spec in MITIGATIONS.items()}


def mitigate(store, model_id: str, *, method: str = "threshold_optimizer", constraint: str = "demographic_parity",
             sensitive: list[str] | str | None = None, tolerance: float | None = None, seed: int = 0,
             max_train_samples: int | None = 20000, max_iter: int = 50, epochs: int | None = None,
             callbacks=()) -> MitigationResult:
    """Mitigate ``model_id`` for ``sensitive`` under ``constraint``; register and return the new model.

    ``tolerance`` relaxes the constraint (the largest disparity allowed: fairlearn's ``tol`` for the
    threshold optimizer, the constraint's ``difference_bound`` for exponentiated gradient); a sweep
    over it traces the accuracy-fairness trade-off. ``before``/``after`` are measured on the test
    split with the same groups.
    """
    from fmcore.config import seed_everything
    from fmcore.train import classification_metrics

    started = time.perf_counter()
    sensitive = [s for s in (sensitive.split(",") if isinstance(sensitive, str) else sensitive or []) if s]
    record = store.get_model(model_id)
    ds = store.load_model_dataset(record.id)
    clf = store.load_classifier(model_id)
    sensitive = sensitive or list(ds.spec.sensitive[:1])
    _check(method, constraint, sensitive, ds, list(ds.spec.classes), tolerance)
    seed_everything(seed)
    positive = len(ds.spec.classes) - 1
    test = ds["test"]
    before = tradeoff_point(clf, test, sensitive, positive)
    meta_base = {k: v for k, v in clf.meta.items() if k not in ("kind", "base_rel", "randomized", "sensitive")}
    meta_base["mitigation"] = {"method": method, "constraint": constraint, "sensitive": sensitive,
                               "tolerance": tolerance, "seed": seed}
    spec = MITIGATIONS[method]
    new, info = spec.make(MitigationJob(clf, record, ds, sensitive, constraint, tolerance, positive, seed,
                                        max_train_samples, max_iter, epochs, tuple(callbacks), meta_base))
    after = tradeoff_point(new, test, sensitive, positive)
    proba = new.predict_proba(test.X, groups=test.groups)
    import torch

    metrics = classification_metrics(test.y, torch.from_numpy(np.log(np.clip(proba, 1e-12, 1))), ds.num_classes,
                                     y_pred=new.decide(proba))
    metrics.update(split="test", mitigation={"method": method, "constraint": constraint, "sensitive": sensitive,
                                             "tolerance": tolerance, "before": before, "after": after, **info})
    how = f"fairness mitigation ({spec.label}, {constraint.replace('_', ' ')} on {' x '.join(sensitive)}" + (
        f", tolerance {tolerance:g})" if tolerance is not None else ")")
    child = store.register_model(
        new, dataset=record.dataset, name=f"{record.name}-{spec.suffix}", metrics=metrics, parent_id=record.id,
        derivation={"how": how, "kind": Derivation.MITIGATED.value, "method": method, "constraint": constraint,
                    "sensitive": sensitive, "tolerance": tolerance, "seed": seed},
        config={**record.config, "mitigation": {"method": method, "constraint": constraint, "sensitive": sensitive,
                                                "tolerance": tolerance, "seed": seed, "max_iter": max_iter,
                                                "max_train_samples": max_train_samples, "epochs": epochs}})
    return MitigationResult(child.id, record.id, method, constraint, sensitive, tolerance, before, after,
                            time.perf_counter() - started)


def tradeoff_table(store, model_id: str) -> list[dict]:
    """The parent (``model_id``'s root of mitigations) and every mitigated child: one point each."""
    record = store.get_model(model_id)
    if record.metrics.get("mitigation"):
        record = store.get_model(record.parent_id)
    rows, parents = [], {}
    for child in store.children(record.id):
        m = child.metrics.get("mitigation")
        if not m:
            continue
        grouping = " x ".join(m["sensitive"])
        if grouping not in parents:  # the parent's point per grouping, from the first child measured on it
            parents[grouping] = {"model_id": record.id, "name": record.name, "method": "original", "constraint": "",
                                 "sensitive": grouping, "tolerance": None, **_flat(m["before"]), "role": "parent"}
        rows.append({"model_id": child.id, "name": child.name, "method": m["method"], "constraint": m["constraint"],
                     "sensitive": grouping, "tolerance": m["tolerance"], **_flat(m["after"]), "role": "mitigated"})
    return [*parents.values(), *rows]


def _flat(point: dict) -> dict:
    return {k: v for k, v in point.items() if k != "selection_rate"}


def mitigation_verdict(rows: list[dict], disparity: str, grouping: str) -> str:
    """In plain words, for one ``grouping`` of ``tradeoff_table`` rows: the mitigation that lowered ``disparity``
    most and its cost in accuracy points, or that none lowered it, or that it is not measured."""
    parent = next(r for r in rows if r["role"] == "parent")
    measured = [r for r in rows if r["role"] != "parent" and r[disparity] is not None]
    best = min(measured, key=lambda r: r[disparity]) if measured else None
    name = disparity.replace("_", " ")
    if best is None or parent[disparity] is None:
        return f"By **{grouping}**, the {name} is not measured (fewer than two groups large enough to judge)."
    if best[disparity] >= parent[disparity]:
        return (f"By **{grouping}**, no mitigation lowered the {name}: the original's is {parent[disparity]:.1%} "
                f"and the lowest among its mitigations is {best[disparity]:.1%} (model `{best['model_id']}`).")
    return (f"By **{grouping}**, the fairest mitigation ({best['method'].replace('_', ' ')}, "
            f"{best['constraint'].replace('_', ' ')}, model `{best['model_id']}`) brings the {name} from "
            f"{parent[disparity]:.1%} to {best[disparity]:.1%} at a cost of "
            f"{(parent['accuracy'] - best['accuracy']) * 100:.2f} accuracy points.")
