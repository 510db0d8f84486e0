"""Script-rerun latency of the Train page, idle and while a training job runs (AppTest, same process).

Target: p95 under 300 ms while a job trains. Prints p50/p95 for both and their ratio.

    python bench/dashboard_rerun.py [--reruns 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def measure(at, n: int) -> list[float]:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - t) * 1000)
        assert not at.exception, at.exception
    return times


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reruns", type=int, default=30)
    args = ap.parse_args()
    os.environ["FMAUDIT_HOME"] = tempfile.mkdtemp(prefix="fmaudit-bench-")
    os.environ.setdefault("FMAUDIT_THREADS", "1")
    from streamlit.testing.v1 import AppTest

    from dashboard import services

    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=60)
    at.switch_page("views/train.py")
    at.run()
    measure(at, 3)  # warm caches
    idle = measure(at, args.reruns)
    runner = services._runner_at(os.environ["FMAUDIT_HOME"])
    job = services.submit_training("mnist", "seed_cnn", {"epochs": 3})
    while runner.get(job.id).progress == 0:  # until the worker is really training
        time.sleep(0.2)
    at.session_state["train_job"] = job.id
    busy = measure(at, args.reruns)
    state = runner.get(job.id)
    runner.cancel(job.id)
    runner.wait(job.id, 60)
    runner.shutdown()
    print(f"Train page script rerun, {args.reruns} reruns each (AppTest; job: seed_cnn on MNIST, "
          f"{state.progress:.1%} done when measured)")
    print(f"  idle        p50 {statistics.median(idle):6.1f} ms   p95 {pct(idle, 0.95):6.1f} ms")
    print(f"  job running p50 {statistics.median(busy):6.1f} ms   p95 {pct(busy, 0.95):6.1f} ms  (target p95 < 300)")
    print(f"  ratio running/idle p95: {pct(busy, 0.95) / pct(idle, 0.95):.2f}")


if __name__ == "__main__":
    main()
