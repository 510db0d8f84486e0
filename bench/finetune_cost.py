"""LoRA (r=8, query/value) against full fine-tuning of MiniLM in one run: time per step and peak memory.

Each method runs in its own fresh process (so peak memory is not polluted by the other), on the
same tweets subset, batch size, sequence length and threads. Prints ratios LoRA/full.

    python bench/finetune_cost.py [--train 320] [--batch 32]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

CHILD = """
import json, sys, tempfile
from fmcore.finetune import FinetuneConfig, finetune
from fmcore.store import Store
method, n, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
store = Store(sys.argv[4])
r = finetune("tweets", FinetuneConfig(method=method, max_train_samples=n, max_eval_samples=64, batch_size=batch),
             store=store)
print(json.dumps(r.cost))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", type=int, default=320)
    ap.add_argument("--batch", type=int, default=32)
    args = ap.parse_args()
    home = tempfile.mkdtemp(prefix="fmaudit-bench-ft-")
    results = {}
    for method in ("full", "lora", "ia3", "linear_probe"):
        out = subprocess.run([sys.executable, "-c", CHILD, method, str(args.train), str(args.batch), home],
                             capture_output=True, text=True, check=True)
        results[method] = json.loads(out.stdout.strip().splitlines()[-1])
    full = results["full"]
    print(f"MiniLM on tweets, {args.train} texts, batch {args.batch}, 64 tokens, 1 epoch, one process per method")
    print(f"{'method':13s} {'trainable':>11s} {'%':>8s} {'s/step':>8s} {'peak MB':>8s}  step ratio  memory ratio")
    for method, c in results.items():
        print(f"{method:13s} {c['trainable_params']:11,d} {c['trainable_percent']:8.3f} {c['step_time_s']:8.3f} "
              f"{c['peak_memory_mb']:8.0f}  {c['step_time_s'] / full['step_time_s']:10.2f}  "
              f"{c['peak_memory_mb'] / full['peak_memory_mb']:12.2f}")


if __name__ == "__main__":
    main()
