"""Sweeps that train several models and audit each, built on the audits below them.

- ``augment_sweep``: augmentation as a measured remedy; a baseline and its augmented siblings (same recipe,
  same seed), each audited on clean accuracy, corruption error, shift, calibration, adversarial robustness and
  fairness.
- ``dp_sweep``: the privacy-utility sweep; the same model trained without DP and with DP-SGD at several
  epsilons, each attacked: accuracy, attack AUC and the empirical epsilon bound next to the accountant's.
- ``lm_remedies``: a language model's memorisation remedies; the same recipe (texts, canaries, sizes, seed) retrained
  with DP-SGD at several epsilons and on de-identified texts, each given the memorisation audit: canary exposure,
  extraction and membership inference next to perplexity.
"""

from __future__ import annotations

import time

from fmcore.errors import ConfigError

from ._registry import run_stored_audit
from ._result import metric_at
from .ood import DEFAULT_SHIFT

ROBUSTNESS = {"attack": "pgd", "eps": [0.1], "samples": 200, "steps": 10, "compare_fgsm": False,
              "blackbox_check_samples": 0}


def _label(augment: str | None) -> str:
    return augment or "none"


def augment_sweep(store, dataset: str, model: str, variants: list[str | None], *, epochs: int = 3, seed: int = 0,
                  max_train_samples: int | None = None, samples: int = 500, to: str | None = None,
                  progress=None, is_cancelled=None) -> dict:
    """Train ``model`` on ``dataset`` once per augmentation in ``variants`` (``None``: the baseline, trained first)
    at the same seed, run the out-of-domain, robustness and fairness audits on each, and return one row per model.
    """
    from fmcore.data import dataset_spec
    from fmcore.errors import ConfigError
    from fmcore.train import TrainConfig, TrainingCancelled, parse_augment, train_model

    spec = dataset_spec(dataset, store)
    variants = [None] + [v for v in dict.fromkeys(variants) if v and v != "none"]
    for v in variants:
        parse_augment(v, spec.modality)  # every name checked before the first training
    if len(variants) < 2:
        raise ConfigError("Name at least one augmentation to compare with the baseline, e.g. rotate,translate.")
    audits = ["calibration", "corruption"]
    if to or DEFAULT_SHIFT.get(dataset):
        audits.append("shift")
    if spec.modality != "text":
        audits.append("robustness")
    if spec.sensitive and spec.modality == "tabular":
        audits.append("fairness")
    steps = len(variants) * (1 + len(audits))
    done, rows, baseline = 0, [], None

    def tick(message):
        nonlocal done
        if is_cancelled is not None and is_cancelled():
            raise TrainingCancelled(f"stopped after {done} of {steps} steps")
        if progress:
            progress(done / steps, message)
        done += 1

    for augment in variants:
        tick(f"training {_label(augment)}")
        trained = train_model(dataset, model, TrainConfig(epochs=epochs, seed=seed, augment=augment,
                                                          max_train_samples=max_train_samples),
                              store=store, name=f"{model}-{dataset}-{_label(augment).replace(',', '+')}")
        model_id = trained.model_id
        baseline = baseline or model_id
        options = {"calibration": {}, "corruption": {"reference": baseline, "samples": samples},
                   "shift": {"to": to, "samples": samples} if to else {"samples": samples},
                   "robustness": ROBUSTNESS, "fairness": {"n_boot": 100}}
        results = {}
        for name in audits:
            tick(f"{name} audit of {_label(augment)}")
            results[name] = run_stored_audit(store, name, model_id, **options[name])[1].metrics
        rows.append(_row(augment, model_id, trained.metrics["accuracy"], results))
    if progress:
        progress(1.0, "done")
    return {"baseline": baseline, "rows": rows, "model_ids": [r["model_id"] for r in rows]}


def _row(augment, model_id, accuracy, results) -> dict:
    def get(audit, key):
        return (results.get(audit) or {}).get(key)

    return {"augment": _label(augment), "model_id": model_id, "clean_accuracy": accuracy,
            "mean_corruption_error": get("corruption", "mean_corruption_error"),
            "corrupted_accuracy": get("corruption", "mean_accuracy"),
            **{f"mCE {s}": v for s, v in metric_at(results.get("corruption") or {}, "mean_corruption_error").items()},
            "shift_accuracy": get("shift", "shift_accuracy"),
            "ece": get("calibration", "ece"), "coverage": get("calibration", "coverage"),
            "robust_accuracy@0.1": get("robustness", "robust_accuracy@0.1"),
            "demographic_parity_difference": get("fairness", "demographic_parity_difference")}


def dp_sweep(store, dataset: str, model: str, epsilons=(1.0, 3.0, 8.0, None), *, epochs: int = 30,
             max_train_samples: int | None = None, lr: float | None = None, dp_lr: float = 5e-3,
             attacks=("threshold", "blackbox", "lira"), samples: int = 500, reference_models: int = 4, seed: int = 0,
             progress=None, is_cancelled=None) -> list[dict]:
    """Train ``model`` on ``dataset`` once per epsilon (``None``: no DP), audit each, return one row each.

    Every model and audit is registered in ``store``. DP runs use ``dp_lr`` (DP-SGD's clipped, noisy
    steps want a larger step than plain Adam's default).
    """
    from fmcore.data import load_dataset
    from fmcore.train import TrainConfig, train_model


    eps_list = list(epsilons)
    for e in eps_list:
        if e is not None and not e > 0:
            raise ConfigError(f"Each epsilon must be positive (or None for no DP); got {e}.")
    rows = []
    load_dataset(dataset, store=store)  # an unknown dataset stops here, before any training
    for i, eps in enumerate(eps_list):
        if is_cancelled and is_cancelled():
            break
        label = "no DP" if eps is None else f"epsilon {eps:g}"
        if progress:
            progress(i / len(eps_list), f"training ({label})")
        started = time.perf_counter()
        cfg = TrainConfig(epochs=epochs, seed=seed, max_train_samples=max_train_samples, dp_epsilon=eps,
                          lr=dp_lr if eps is not None else lr)
        trained = train_model(dataset, model, cfg, store=store, name=f"{model}-{dataset}-{label.replace(' ', '')}")
        train_s = time.perf_counter() - started
        if progress:
            progress((i + 0.5) / len(eps_list), f"attacking ({label})")
        audit_id, result = run_stored_audit(store, "privacy", trained.model_id, attacks=list(attacks),
                                            samples=samples, reference_models=reference_models, seed=seed)
        privacy = trained.metrics.get("privacy") or {}
        rows.append({"target_epsilon": eps, "epsilon": privacy.get("epsilon"), "delta": privacy.get("delta"),
                     "noise_multiplier": privacy.get("noise_multiplier"), "accuracy": trained.metrics["accuracy"],
                     "baseline_accuracy": (trained.metrics.get("majority_baseline") or {}).get("accuracy"),
                     "beats_baseline": trained.metrics.get("beats_baseline"),
                     "max_auc": result.metrics["max_auc"], "strongest_attack": result.metrics["strongest_attack"],
                     "empirical_epsilon": result.metrics["empirical_epsilon"], "model_id": trained.model_id,
                     "audit_id": audit_id, "train_seconds": round(train_s, 2),
                     "audit_seconds": round(result.seconds, 2)})
    return rows


def dp_sweep_verdict(rows: list[dict]) -> list[str]:
    """In plain words, from ``dp_sweep`` rows: the strictest budget's attack AUC and accuracy against the model
    without DP, and a warning naming the models that do not beat the majority-class baseline (whose privacy is
    free because they learned nothing)."""
    out = []
    base = next((r for r in rows if r["target_epsilon"] is None), None)
    strict = min((r for r in rows if r["epsilon"] is not None), key=lambda r: r["epsilon"], default=None)
    if base and strict:
        out.append(f"At epsilon {strict['epsilon']:.2f} the attack AUC is {strict['max_auc']:.3f} (without DP "
                   f"{base['max_auc']:.3f}) and accuracy is {strict['accuracy']:.1%} (without DP "
                   f"{base['accuracy']:.1%}).")
    useless = [r for r in rows if r.get("beats_baseline") is False]
    if useless and rows[0].get("baseline_accuracy") is not None:
        out.append("Not better than always answering the most frequent class "
                   f"({rows[0]['baseline_accuracy']:.1%}): " + ", ".join(
                       "no DP" if r["target_epsilon"] is None else f"epsilon {r['epsilon']:.2f}" for r in useless)
                   + ". Their privacy costs nothing because they have learned nothing; a DP cost read off these "
                     "models would be wrong.")
    return out


def lm_remedies(store, model_id: str, epsilons=(1.0, 8.0), *, deidentify: bool = True, dp_lr: float | None = None,
                texts: int = 100, exposure_samples: int = 20_000, progress=None, is_cancelled=None) -> dict:
    """Retrain the language model ``model_id``'s recipe once per epsilon (DP-SGD) and once on de-identified texts
    (when ``deidentify``), as its children; audit it and each for memorisation; one row per model, the model as
    trained first. ``dp_lr``: the DP runs' learning rate (default: the recipe's); ``exposure_samples``: secrets
    scored per canary where the space is too large to rank them all."""
    from fmcore.models import GPTConfig
    from fmcore.train import TrainConfig, TrainingCancelled, train_language_model

    rec = store.get_model(model_id)
    if "generates" not in store.offers(rec.id):
        raise ConfigError(f"Model {model_id} is not a language model trained here (fmaudit train --model gpt).")
    if not (rec.derivation.get("canaries")):
        raise ConfigError(f"Model {model_id} was trained without canaries: retrain it with --canaries (e.g. 1,64) so "
                          "exposure can be measured.")
    eps_list = [float(e) for e in epsilons]
    if any(not e > 0 for e in eps_list):
        raise ConfigError(f"Each epsilon must be positive; got {eps_list}.")
    base = TrainConfig.from_dict(rec.config["train"])
    gpt = GPTConfig(**rec.config["gpt"])
    canaries = rec.derivation["canaries"]
    variants = [(f"DP-SGD epsilon {e:g}", {"dp_epsilon": e, **({"lr": dp_lr} if dp_lr else {})}, False)
                for e in eps_list] + ([("de-identified", {}, True)] if deidentify else [])
    steps, rows = 1 + len(variants), []

    def audit(label, mid, metrics, i):
        if is_cancelled is not None and is_cancelled():
            raise TrainingCancelled(f"stopped after {len(rows)} of {steps} models")
        if progress:
            progress((i + 0.5) / steps, f"memorisation audit ({label})")
        audit_id, result = run_stored_audit(store, "memorization", mid, texts=texts, seed=base.seed,
                                            exposure_samples=exposure_samples)
        rows.append(_lm_row(label, mid, metrics, result, audit_id))

    audit("as trained", model_id, rec.metrics, 0)
    for i, (label, change, deid) in enumerate(variants, start=1):
        if progress:
            progress(i / steps, f"training ({label})")
        cfg = TrainConfig.from_dict({**base.to_dict(), **change})
        trained = train_language_model(rec.dataset, cfg, gpt, store=store, name=f"{rec.name}-{label.replace(' ', '')}",
                                       canaries=[c["repetitions"] for c in canaries],
                                       canary_digits=canaries[0]["digits"], deidentify=deid, parent_id=model_id)
        audit(label, trained.model_id, trained.metrics, i)
    if progress:
        progress(1.0, "done")
    return {"model_id": model_id, "rows": rows}


def _lm_row(label: str, model_id: str, metrics: dict, result, audit_id: str) -> dict:
    privacy = metrics.get("privacy") or {}
    canaries = [{"repetitions": r["repetitions"], "exposure": r["exposure"], "extracted": r["extracted"]}
                for r in result.tables["canaries"]]
    top = max(canaries, key=lambda r: r["repetitions"])
    return {"variant": label, "model_id": model_id, "target_epsilon": privacy.get("target_epsilon"),
            "epsilon": privacy.get("epsilon"), "test_perplexity": metrics["test_perplexity"],
            "unigram_perplexity": metrics.get("unigram_perplexity"), "canaries": canaries,
            "most_repeated": top["repetitions"], "most_repeated_exposure": top["exposure"],
            "extraction_rate": result.metrics["extraction_rate"], "mia_auc_loss": result.metrics["mia_auc_loss"],
            "identifiers_replaced": sum(((metrics.get("deidentified") or {}).get("identifiers") or {}).values()),
            "audit_id": audit_id}
