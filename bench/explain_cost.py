"""Explanations: fmaudit's attribution call against the library called directly on the same inputs (ratio), and
what the checks (sanity, deletion curves, stability) add on top, for the seed CNN and the census MLP.

    python bench/explain_cost.py [--samples 100]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def timed(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=100)
    args = ap.parse_args()
    import shap
    import torch
    from captum.attr import IntegratedGradients

    from audits import run_audit
    from audits.explain import attribute
    from fmcore.config import seed_everything
    from fmcore.data import load_dataset
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    seed_everything(0, 1)
    st = Store(tempfile.mkdtemp(prefix="fmaudit-bench-explain-"))
    n = args.samples
    print(f"{'model':<12} {'method':<22} {'library s':>10} {'fmaudit s':>10} {'ratio':>6} {'whole audit s':>14}")
    cnn = train_model("mnist", "seed_cnn", TrainConfig(epochs=1, max_train_samples=5000), store=st).model_id
    clf, ds = st.load_classifier(cnn), load_dataset("mnist")
    x = clf.encode(ds["test"].X[:n]).float()
    target = clf.net(x).argmax(-1)
    direct = timed(lambda: IntegratedGradients(clf.net).attribute(x, baselines=torch.zeros_like(x), target=target,
                                                                  n_steps=32))
    ours = timed(lambda: attribute("integrated_gradients", clf.net, x, target))
    t = time.perf_counter()
    run_audit("explain", clf, ds, cnn, method="integrated_gradients", samples=n)
    whole = time.perf_counter() - t
    print(f"{'seed CNN':<12} {'integrated_gradients':<22} {direct:>10.2f} {ours:>10.2f} {ours / direct:>6.2f} "
          f"{whole:>14.2f}")
    mlp = train_model("census_income", "mlp", TrainConfig(epochs=1, max_train_samples=20000), store=st).model_id
    clf, ds = st.load_classifier(mlp), load_dataset("census_income")
    x = clf.encode(ds["test"].X.iloc[:n]).float()
    background = clf.encode(ds["train"].X.iloc[:100]).float()
    target = clf.net(x).argmax(-1)
    direct = timed(lambda: shap.GradientExplainer(clf.net, background).shap_values(x))
    ours = timed(lambda: attribute("shap", clf.net, x, target, background))
    t = time.perf_counter()
    run_audit("explain", clf, ds, mlp, method="shap", samples=n)
    whole = time.perf_counter() - t
    print(f"{'census MLP':<12} {'shap':<22} {direct:>10.2f} {ours:>10.2f} {ours / direct:>6.2f} {whole:>14.2f}")


if __name__ == "__main__":
    main()
