"""Time of the full privacy audit (every attack) on the seed CNN (MNIST) and the census MLP, with each
attack's share, and LiRA's cost as a function of the number of reference models.

The baseline inside the run is the cheapest attack (the loss threshold): every other attack is
reported as a multiple of it, and LiRA's time per reference model as a multiple of the target's own
training time per example seen.

    python bench/privacy_cost.py [--samples 500] [--refs 2,4,8]
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
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--refs", default="2,4,8")
    args = ap.parse_args()
    os.environ.setdefault("FMAUDIT_THREADS", "1")
    from audits import run_audit
    from fmcore.data import load_dataset
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    store = Store(Path(tempfile.mkdtemp(prefix="bench-privacy-")))
    cases = [("mnist", "seed_cnn", TrainConfig(epochs=1, seed=0, max_train_samples=10000)),
             ("census_income", "mlp", TrainConfig(epochs=2, seed=0, max_train_samples=40000))]
    for dataset, model, cfg in cases:
        t0 = time.perf_counter()
        trained = train_model(dataset, model, cfg, store=store)
        train_s = time.perf_counter() - t0
        ds = load_dataset(dataset)
        clf = store.load_classifier(trained.model_id)
        result = run_audit("privacy", clf, ds, trained.model_id, samples=args.samples,
                           attacks=["threshold", "blackbox", "rulebased", "label_only", "lira"])
        total = result.seconds
        base = next(r["seconds"] for r in result.tables["attacks"] if r["attack"] == "threshold") or 1e-3
        print(f"{dataset}/{model}: target trained in {train_s:.1f} s; full privacy audit {total:.1f} s "
              f"({args.samples} members + {args.samples} non-members)")
        for r in result.tables["attacks"]:
            print(f"  {r['attack']:<11} {r['seconds']:7.2f} s  {r['seconds'] / total:6.1%} of the audit  "
                  f"{r['seconds'] / base:8.1f}x threshold   AUC {r['auc']:.3f}")
        for k in [int(v) for v in args.refs.split(",")]:
            lira = run_audit("privacy", clf, ds, trained.model_id, samples=args.samples, attacks=["lira"],
                             reference_models=k)
            s = lira.tables["attacks"][0]["seconds"]
            print(f"  LiRA with {k:>2} reference models: {s:6.1f} s ({s / k:.2f} s per model, "
                  f"{s / train_s:.2f}x the target's training), AUC {lira.metrics['max_auc']:.3f}")


if __name__ == "__main__":
    main()
