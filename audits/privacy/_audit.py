"""The privacy audit: membership-inference attacks on a seeded sample of members and non-members."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from fmcore.errors import ConfigError, FmauditError, UnknownNameError

from .._options import opt
from .._result import AuditResult
from .._spec import CompareRow, from_chance, register_audit
from ._attacks import ATTACKS, DEFAULT_ATTACKS, MEMBERSHIP_ATTACKS, AttackData, per_example_loss
from ._roc import summarize


def _attack_list(requested, modality: str) -> list[str]:
    if isinstance(requested, str):
        requested = [a.strip() for a in requested.split(",") if a.strip()]
    if not requested:
        return ["threshold"] if modality == "text" else list(DEFAULT_ATTACKS)
    for a in requested:
        if a not in ATTACKS:
            raise UnknownNameError("membership-inference attack", a, list(ATTACKS))
    if modality == "text":
        bad = [a for a in requested if not MEMBERSHIP_ATTACKS[a].text]
        if bad:
            raise ConfigError(f"Attack(s) {bad} need numeric inputs or reference models; for text models use "
                              "threshold.")
    return list(dict.fromkeys(requested))


def _content(split, i: int, modality: str):
    if modality == "image":
        return {"image": np.round(np.asarray(split.X[i])[0], 2).tolist()}
    if modality == "text":
        return {"text": str(split.X[i])[:300]}
    return {"row": {k: (v.item() if hasattr(v, "item") else v if isinstance(v, int | float | str) else str(v))
                    for k, v in split.X.iloc[i].items()}}


def _attack_data(classifier, dataset, params, attacks, rng, members_split, others_split, n):
    """``n`` seeded members and ``n`` non-members, each split into the attacker's fit half and the evaluation half
    (encoded as the model takes them), the reference population for LiRA, and where each evaluated row came from."""
    m_idx = np.sort(rng.choice(len(members_split), n, replace=False))
    o_idx = np.sort(rng.choice(len(others_split), n, replace=False))
    fit_m, eval_m = np.zeros(n, bool), np.zeros(n, bool)
    fit_m[rng.permutation(n)[: n // 2]] = True
    eval_m = ~fit_m
    fit_o = np.zeros(n, bool)
    fit_o[rng.permutation(n)[: n // 2]] = True

    def encoded(split, idx):
        part = split.take(idx)
        return classifier.encode(part.X), part.y

    from fmcore.models import take

    def join(a, b):
        return tuple(torch.cat(p) for p in zip(a, b, strict=True)) if isinstance(a, tuple) else torch.cat([a, b])

    xm, ym = encoded(members_split, m_idx)
    xo, yo = encoded(others_split, o_idx)
    import torch

    def rows_of(x, mask):
        return take(x, torch.from_numpy(np.flatnonzero(mask)))

    x_fit = join(rows_of(xm, fit_m), rows_of(xo, fit_o))
    y_fit = np.r_[ym[fit_m], yo[fit_o]]
    member_fit = np.r_[np.ones(fit_m.sum(), bool), np.zeros(fit_o.sum(), bool)]
    x_eval = join(rows_of(xm, eval_m), rows_of(xo, ~fit_o))
    y_eval = np.r_[ym[eval_m], yo[~fit_o]]
    member_eval = np.r_[np.ones(eval_m.sum(), bool), np.zeros((~fit_o).sum(), bool)]
    eval_source = [("train", int(m_idx[i])) for i in np.flatnonzero(eval_m)] + [
        ("test", int(o_idx[i])) for i in np.flatnonzero(~fit_o)]
    population = None
    if "lira" in attacks:  # data the target never trained on (validation) plus the attacker's fit half
        cap = int(params["reference_max_train"]) * 2
        val = dataset["val"].head(max(0, cap - len(y_fit)))
        xv = classifier.encode(val.X)
        population = (join(x_fit, xv), np.r_[y_fit, val.y])
    clip = None
    if any(MEMBERSHIP_ATTACKS[a].needs_art for a in attacks):
        from ..robustness import feature_range

        clip = feature_range(classifier, dataset["train"])
    data = AttackData(classifier, x_fit, y_fit, member_fit, x_eval, y_eval, member_eval, population, clip)
    return data, eval_source


def _exposed(classifier, data, scores, pick, best_attack, eval_source, members_split, limit):
    """The members the strongest attack is surest of, with their label, prediction, loss and content."""
    loss = per_example_loss(classifier, data.inputs_eval, data.y_eval)
    pred = classifier.logits(data.inputs_eval).argmax(-1).numpy()
    order = [j for j in np.argsort(-scores, kind="mergesort") if data.member_eval[pick[j]]][:limit]
    classes = classifier.classes
    exposed = []
    for rank, j in enumerate(order, 1):
        e = pick[j]
        split_name, idx = eval_source[e]
        exposed.append({"rank": rank, "attack": best_attack, "score": float(scores[j]), "split": split_name,
                        "index": idx, "label": classes[int(data.y_eval[e])], "predicted": classes[int(pred[e])],
                        "loss": float(loss[e]), **_content(members_split, idx, classifier.modality)})
    return exposed


def _summary(result) -> dict:
    return {"auc": {r["attack"]: r["auc"] for r in result.tables["attacks"]},
            "attacks": [{k: v for k, v in r.items() if k != "description"} for r in result.tables["attacks"]]}


def _headline(m: dict) -> str:
    from .._format import score

    return f"strongest attack AUC {score(m.get('max_auc'))}"


def _figures(audit: dict) -> list:
    from .. import figures

    roc = audit["tables"].get("roc")
    return [("membership attacks' ROC", figures.roc_curves(roc))] if roc else []


@dataclass
class PrivacyOptions:
    """The privacy audit's options (its flags, form and settings)."""
    attacks: list[str] | None = opt(None, "threshold, blackbox, rulebased, label_only, lira (default: threshold, "
                                          "blackbox, rulebased, lira)")
    samples: int = opt(500, "members and non-members each")
    reference_models: int = opt(4, "LiRA's reference models", min=1)
    reference_max_train: int = opt(5000, "training rows of each reference model at most", min=1)
    label_only_samples: int = opt(50, "examples the label-only attack probes", min=1)
    label_only_iterations: int = opt(5, "the label-only attack's boundary-search iterations", min=1)
    exposed: int = opt(8, "most exposed training records listed", min=0, setting=False)
    seed: int = opt(0, "the seed of every random draw")


#: Compare's rows for this audit
_COMPARE = (
    CompareRow("attack AUC (strongest)", "max_auc", False, False, radar=("privacy: 1 − |2·AUC − 1|", from_chance)),
    CompareRow("TPR at 1% FPR (best attack)", higher_is_better=False, proportion=True, get=lambda a: max(
        (v for k, v in a.get("metrics", {}).items() if k.startswith("tpr_at_1%_fpr[")), default=None)),
)


@register_audit("privacy", "Privacy",
                "Membership inference: loss threshold, ART black-box and rule-based, label-only decision boundary "
                "and offline LiRA with reference models; ROC, AUC, TPR at 0.1% and 1% FPR, advantage, an "
                "empirical lower bound on epsilon, and the most exposed training records.",
                options=PrivacyOptions,
                requires=("scores", "training_rows"),
                summary=_summary, headline=_headline, figures=_figures, compare=_COMPARE,
                order=50)
def privacy(classifier, dataset, params: dict, progress=None) -> AuditResult:
    """The privacy audit: membership-inference attacks, ROC, TPR at low FPR, epsilon bounds and exposed records."""
    started = time.perf_counter()
    if classifier.needs_groups:
        raise FmauditError("This model adds per-group thresholds to its parent's scores; audit the parent's privacy.")
    attacks = _attack_list(params["attacks"], classifier.modality)
    seed = int(params["seed"])
    rng = np.random.default_rng(seed)
    training = classifier.meta.get("training") or {}
    train_rows = int(training.get("train_rows") or len(dataset["train"]))
    members_split, others_split = dataset["train"].head(train_rows), dataset["test"]
    if training.get("excluded_rows"):  # rows a retraining left out are not members
        members_split = members_split.take(np.setdiff1d(np.arange(train_rows), training["excluded_rows"]))
    n = int(min(int(params["samples"]), len(members_split), len(others_split)))
    if n < 20:
        raise ConfigError(f"Too few examples to attack: {n} (samples={params['samples']}); use at least 20.")
    data, eval_source = _attack_data(classifier, dataset, params, attacks, rng, members_split, others_split, n)
    y_eval, member_eval = data.y_eval, data.member_eval
    rows, rocs, scores_by = [], [], {}
    for i, name in enumerate(attacks):
        t0 = time.perf_counter()

        def sub(fraction, message, i=i):
            if progress:
                progress((i + fraction) / len(attacks), message)

        sub(0.0, f"attack {name}")
        out = MEMBERSHIP_ATTACKS[name].run(data, params, sub)
        scores, pick = out if isinstance(out, tuple) else (out, np.arange(len(y_eval)))
        s = summarize(scores, member_eval[pick])
        rocs += [{"attack": name, "fpr": f, "tpr": t} for f, t in zip(s["roc"]["fpr"], s["roc"]["tpr"], strict=True)]
        rows.append({"attack": name, **{k: v for k, v in s.items() if k != "roc"},
                     "members": int(member_eval[pick].sum()), "non_members": int((~member_eval[pick]).sum()),
                     "seconds": round(time.perf_counter() - t0, 3), "description": ATTACKS[name]})
        scores_by[name] = (scores, pick)
    best = max(rows, key=lambda r: r["auc"])
    scores, pick = scores_by[best["attack"]]
    exposed = _exposed(classifier, data, scores, pick, best["attack"], eval_source, members_split,
                       int(params["exposed"]))
    score_rows = [{"split": src[0], "index": src[1], "member": bool(member_eval[e])}
                  for e, src in enumerate(eval_source)]
    for name, (sc, pk) in scores_by.items():
        for j, e in enumerate(pk):
            score_rows[e][name] = float(sc[j])
    warnings = []
    if n // 2 < 1000:
        warnings.append(f"With {n - n // 2} non-members in the evaluation half, the lowest false-positive rate that "
                        f"can be measured is {1 / max(1, n - n // 2):.2%}: TPR at 0.1% FPR is not resolved (raise "
                        "samples to 2000 or more for it).")
    if "lira" in attacks and int(params["reference_models"]) < 8:
        warnings.append(f"LiRA used {params['reference_models']} reference models; its published strength needs "
                        "dozens. Read its AUC as a lower bound on what a determined attacker achieves.")
    metrics = {"max_auc": best["auc"], "max_auc_ci_low": best["auc_ci_low"], "max_auc_ci_high": best["auc_ci_high"],
               "strongest_attack": best["attack"],
               "max_advantage": max(r["advantage"] for r in rows),
               "empirical_epsilon": max(r["empirical_epsilon"] for r in rows),
               "members": int(member_eval.sum()), "non_members": int((~member_eval).sum())}
    for r in rows:
        for key in ("auc", "tpr_at_0.1%_fpr", "tpr_at_1%_fpr", "advantage"):
            metrics[f"{key}[{r['attack']}]"] = r[key]
    dp = classifier.meta.get("privacy")
    if dp:
        metrics["dp_epsilon"], metrics["dp_delta"] = dp["epsilon"], dp["delta"]
    from ._verdict import membership_verdict

    metrics["verdict"] = membership_verdict(metrics)
    return AuditResult(audit="privacy", model_id=None, dataset=dataset.name, params={**params, "attacks": attacks,
                                                                         "member_pool": int(len(members_split))},
                       metrics=metrics, tables={"attacks": rows, "roc": rocs, "exposed": exposed,
                                                       "scores": score_rows}, warnings=warnings,
                       seed=seed, seconds=time.perf_counter() - started)
