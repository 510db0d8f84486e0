"""The privacy-utility sweep: the same model trained without DP and with DP-SGD at several epsilons, each
attacked; accuracy, attack AUC and the empirical epsilon bound next to the accountant's epsilon."""

from __future__ import annotations

import time

from fmcore.errors import ConfigError


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

    from .. import run_audit

    eps_list = list(epsilons)
    for e in eps_list:
        if e is not None and not e > 0:
            raise ConfigError(f"Each epsilon must be positive (or None for no DP); got {e}.")
    rows = []
    ds = load_dataset(dataset, store=store)
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
        result = run_audit("privacy", store.load_classifier(trained.model_id), ds, trained.model_id,
                           attacks=list(attacks), samples=samples, reference_models=reference_models, seed=seed)
        audit_id = store.add_audit(trained.model_id, "privacy", result.params, result.to_dict())
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
