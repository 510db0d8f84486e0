"""Augmentation as a measured remedy: a baseline and its augmented siblings (same recipe, same seed), each
audited on clean accuracy, corruption error, shift, calibration, adversarial robustness and fairness."""

from __future__ import annotations

from .._registry import run_stored_audit
from ._shift import DEFAULT_SHIFT

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
            **{k.replace("mean_corruption_error@", "mCE "): v for k, v in (results.get("corruption") or {}).items()
               if k.startswith("mean_corruption_error@")}, "shift_accuracy": get("shift", "shift_accuracy"),
            "ece": get("calibration", "ece"), "coverage": get("calibration", "coverage"),
            "robust_accuracy@0.1": get("robustness", "robust_accuracy@0.1"),
            "demographic_parity_difference": get("fairness", "demographic_parity_difference")}
