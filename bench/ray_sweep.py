"""A 4-task sweep run locally (one task after another) and as Ray tasks, in one run, same inputs.

The sweep: the robustness audit's PGD-20 at 4 epsilons on 1,000 MNIST test images (seed CNN trained
here for 1 epoch on 10,000 images), with the FGSM comparison and the Square cross-check switched
off so it is exactly 4 tasks of equal size. Prints the wall time of each, Ray's start-up separately,
the ratio local / Ray, and whether the two audits are identical. One torch thread per task.

    python bench/ray_sweep.py [--cpus 2] [--samples 1000] [--address ADDR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _noop(shared, task) -> int:
    return 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cpus", type=int, default=2, help="CPUs of the private Ray instance")
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--address", default=None, help="an existing cluster instead of a private instance")
    args = ap.parse_args()
    os.environ.setdefault("FMAUDIT_THREADS", "1")
    import ray

    from audits import run_audit
    from audits._result import without_timings
    from fmcore.data import load_dataset
    from fmcore.jobs import LocalExecutor, RayExecutor, use_executor
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    store = Store(tempfile.mkdtemp(prefix="fmaudit-bench-"))
    model_id = train_model("mnist", "seed_cnn", TrainConfig(epochs=1, seed=0, max_train_samples=10000),
                           store=store).model_id
    clf, ds = store.load_classifier(model_id), load_dataset("mnist")
    options = {"attack": "pgd", "eps": [0.05, 0.1, 0.2, 0.3], "samples": args.samples, "steps": args.steps,
               "compare_fgsm": False, "blackbox_check_samples": 0}

    def audit(executor):
        with use_executor(executor):
            t0 = time.perf_counter()
            result = run_audit("robustness", clf, ds, model_id, **options).to_dict()
            return result, time.perf_counter() - t0

    local, t_local = audit(LocalExecutor())
    t0 = time.perf_counter()
    executor = RayExecutor(args.address, args.cpus)
    info = executor.describe()  # starts or connects
    t_start = time.perf_counter() - t0
    executor.map(_noop, [{"seed": i} for i in range(args.cpus)], None)  # start the worker processes first
    t_warm = time.perf_counter() - t0 - t_start
    remote, t_ray = audit(executor)
    ray.shutdown()
    same = json.dumps(without_timings(local), sort_keys=True) == json.dumps(without_timings(remote), sort_keys=True)
    print(f"4-task PGD-{args.steps} sweep, {args.samples} MNIST images, 1 torch thread per task, "
          f"{os.cpu_count()} cores here; Ray: {info['cpus']} CPUs on {info['nodes']} node(s)")
    print(f"  local (one task after another): {t_local:7.1f} s")
    print(f"  Ray tasks:                      {t_ray:7.1f} s   (start-up {t_start:.1f} s and worker start "
          f"{t_warm:.1f} s, not included)")
    print(f"  speed-up local / Ray: {t_local / t_ray:.2f}x; with start-up and worker start: "
          f"{t_local / (t_ray + t_start + t_warm):.2f}x")
    print(f"  identical results: {same}; robust accuracy per eps: "
          + ", ".join(f"{r['eps']}: {r['robust_accuracy']:.3f}" for r in local["tables"]["sweep"]))
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
