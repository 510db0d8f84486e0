"""Explanations: fmaudit's attribution call against the library called directly on the same inputs (ratio), and
what the checks (sanity, deletion curves, stability) add on top, for the seed CNN, the census MLP and MiniLM.

    python bench/explain_cost.py [--samples 100] [--texts 100]
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
    ap.add_argument("--texts", type=int, default=100, help="MiniLM texts (about 1 s each per attribution; 0: skip)")
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
    if args.texts:
        bench_minilm(st, args.texts)


def bench_minilm(st, n: int) -> None:
    """MiniLM fine-tuned on tweets: our token attributions against Captum's LayerIntegratedGradients called as its
    documentation shows, on the same texts (one timing each: a call takes a minute at 100 texts)."""
    from captum.attr import LayerIntegratedGradients

    from audits import run_audit
    from audits.explain._text import eligible_tokens, pad_baseline, token_attributions
    from fmcore.data import load_dataset
    from fmcore.train import TrainConfig, train_model

    mid = train_model("tweets", "minilm", TrainConfig(epochs=1, max_train_samples=512, max_eval_samples=100),
                      store=st).model_id
    clf, ds = st.load_classifier(mid), load_dataset("tweets")
    ids, mask = clf.encode(ds["test"].X[:n])
    target = clf.net(ids, mask).argmax(-1)
    baseline = pad_baseline(ids, eligible_tokens(ids, mask, clf.tokenizer), clf.tokenizer)
    hf = clf.net.inner
    lig = LayerIntegratedGradients(lambda i, m: hf(input_ids=i, attention_mask=m).logits, hf.get_input_embeddings())
    direct = timed(lambda: lig.attribute(ids, baselines=baseline, additional_forward_args=(mask,), target=target,
                                         n_steps=32, internal_batch_size=64), repeats=1)
    ours = timed(lambda: token_attributions(clf.net, ids, mask, target, baseline, 32), repeats=1)
    t = time.perf_counter()
    run_audit("explain", clf, ds, mid, samples=n)
    whole = time.perf_counter() - t
    print(f"{'MiniLM':<12} {'layer_integrated_grads':<22} {direct:>10.2f} {ours:>10.2f} {ours / direct:>6.2f} "
          f"{whole:>14.2f}")


if __name__ == "__main__":
    main()
