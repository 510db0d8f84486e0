"""Size on disk and latency of every compressed variant against its parent, in one run, as ratios.

Latency: median of repeated forward passes at batch 1 and batch 256 on a fixed thread count (the
compression audit's own timing), for the seed CNN on MNIST and the census MLP.

    python bench/compression_cost.py [--threads 1] [--repeats 30]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

METHODS = ("prune:0.5", "prune:0.9", "channels:0.5", "int8", "dynamic_int8", "fp16", "bf16", "distill:0.5", "onnx",
           "onnx_int8")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args()
    from audits.compression import compression_audit
    from fmcore.compress import compress
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    store = Store(Path(tempfile.mkdtemp(prefix="bench-compress-")))
    for dataset, model, cfg in (("mnist", "seed_cnn", TrainConfig(epochs=1, seed=0, max_train_samples=20000)),
                                ("census_income", "mlp", TrainConfig(epochs=1, seed=0, max_train_samples=40000))):
        parent = train_model(dataset, model, cfg, store=store)
        for method in METHODS:
            compress(store, parent.model_id, method, max_train_samples=20000)
        audit = compression_audit(store, parent.model_id, repeats=args.repeats, threads=args.threads)
        p = audit.tables["parent"][0]
        print(f"{dataset}/{model}: parent {p['size_bytes'] / 1024:.0f} KiB, accuracy {p['accuracy']:.4f}, "
              f"batch 1 {p['latency_b1_ms']:.3f} ms, batch 256 {p['latency_b256_ms']:.2f} ms ({args.threads} thread)")
        for r in audit.tables["variants"]:
            extra = f"  DP gap {r['fairness_gap_delta']:+.4f}" if "fairness_gap_delta" in r else ""
            if "robust_accuracy_transfer" in r:
                extra = f"  robust (transfer) {r['robust_accuracy_transfer'] - p['robust_accuracy']:+.3f}"
            print(f"  {r['method']:<13} size {r['size_ratio']:.3f}x  latency b1 {r['latency_b1_ratio']:.2f}x  "
                  f"b256 {r['latency_b256_ratio']:.2f}x  accuracy {r['accuracy_delta']:+.4f}  flipped "
                  f"{r['flipped']}{extra}")


if __name__ == "__main__":
    main()
