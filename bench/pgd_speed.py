"""PGD through the audit (ART) against a hand-written batched torch PGD, same model, inputs, threads.

Default: PGD-20, 5 epsilons, the 10,000 MNIST test images, seed CNN (trained here for 1 epoch on
10k images if no model id is given). Prints both times and the ratio (target <= 1.25).

    python bench/pgd_speed.py [--samples 10000] [--model ID --home DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=10000)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--eps", default="0.05,0.1,0.15,0.2,0.3")
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--model", default=None)
    ap.add_argument("--home", default=None)
    args = ap.parse_args()
    os.environ.setdefault("FMAUDIT_THREADS", "1")
    import numpy as np
    import torch

    from audits.robustness import get_attack, pgd_batched
    from audits.robustness._estimator import art_estimator
    from fmcore.config import seed_everything
    from fmcore.data import load_dataset
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    store = Store(args.home or tempfile.mkdtemp(prefix="fmaudit-bench-pgd-"))
    model_id = args.model or train_model("mnist", "seed_cnn", TrainConfig(epochs=1, max_train_samples=10000),
                                         store=store).model_id
    seed_everything(0)
    clf = store.load_classifier(model_id)
    test = load_dataset("mnist")["test"]
    x, y = test.X[:args.samples].astype(np.float32), test.y[:args.samples]
    eps_list = [float(e) for e in args.eps.split(",")]
    spec = get_attack("pgd")
    est = art_estimator(clf, (0.0, 1.0))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    t = time.perf_counter()
    art_acc = []
    for eps in eps_list:
        adv = spec.build(est, eps, args.batch_size, steps=args.steps).generate(x=x, y=y)
        art_acc.append(float((est.predict(adv, batch_size=args.batch_size).argmax(1) == y).mean()))
    art_s = time.perf_counter() - t

    t = time.perf_counter()
    torch_acc = []
    for eps in eps_list:
        adv = pgd_batched(clf.net, xt, yt, batch_size=args.batch_size, eps=eps, steps=args.steps)
        with torch.inference_mode():
            torch_acc.append(float((clf.net(adv).argmax(-1) == yt).float().mean()))
    torch_s = time.perf_counter() - t
    print(f"PGD-{args.steps} on {len(x)} MNIST test images x {len(eps_list)} epsilons, batch {args.batch_size}, "
          f"{torch.get_num_threads()} thread(s)")
    print(f"  hand-written torch PGD: {torch_s:7.1f} s   robust acc {[round(a, 4) for a in torch_acc]}")
    print(f"  audit (ART) PGD       : {art_s:7.1f} s   robust acc {[round(a, 4) for a in art_acc]}")
    print(f"  ratio ART/torch: {art_s / torch_s:.2f}  (target <= 1.25)")


if __name__ == "__main__":
    main()
