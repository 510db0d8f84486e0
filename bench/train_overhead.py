"""Engine epoch time against a plain hand-written torch loop (same model, data, batch, threads).

Prints the median of repeated, interleaved runs and the ratio engine/plain. Target: <= 1.10.
Also reports the import time of `fmcore` and of `fmaudit --help`.

    python bench/train_overhead.py [--samples 10000] [--repeats 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def plain_epoch(net, X, y, bs, seed):
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net.train()
    perm = torch.randperm(len(X), generator=g)
    for i in range(0, len(X), bs):
        idx = perm[i:i + bs]
        loss = F.cross_entropy(net(X[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def engine_epoch(net, X, y, bs, seed):
    from fmcore.train import TrainConfig, fit

    fit(net, (X, y), None, TrainConfig(epochs=1, batch_size=bs, lr=1e-3, optimizer="adam", seed=seed), 10)


def timed(cmd: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=10000)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    import torch

    from fmcore.data import load_dataset
    from fmcore.models import nets

    torch.set_num_threads(args.threads)
    ds = load_dataset("mnist")
    X = torch.from_numpy(ds["train"].X[:args.samples])
    y = torch.from_numpy(ds["train"].y[:args.samples])
    results = {"plain": [], "engine": []}
    for r in range(args.repeats):  # interleaved, so drift on a shared machine hits both alike
        for kind, fn in (("plain", plain_epoch), ("engine", engine_epoch)):
            torch.manual_seed(r)
            net = nets.SeedCNN()
            t = time.perf_counter()
            fn(net, X, y, args.batch_size, r)
            results[kind].append(time.perf_counter() - t)
    plain, engine = statistics.median(results["plain"]), statistics.median(results["engine"])
    print(f"seed_cnn, MNIST {args.samples} samples, batch {args.batch_size}, {args.threads} thread(s), "
          f"median of {args.repeats}")
    print(f"  plain torch loop : {plain:7.3f} s/epoch")
    print(f"  fmcore fit()     : {engine:7.3f} s/epoch")
    print(f"  ratio engine/plain: {engine / plain:.3f}  (target <= 1.10)")

    py = sys.executable
    base = timed([py, "-c", "pass"], 5)
    imp = timed([py, "-c", "import fmcore"], 5)
    helpt = timed([py, "-m", "fmaudit", "--help"], 5)
    torch_imp = timed([py, "-c", "import torch"], 5)
    print(f"  python start      : {base * 1000:6.0f} ms")
    print(f"  import fmcore     : {(imp - base) * 1000:6.0f} ms over start")
    print(f"  fmaudit --help    : {(helpt - base) * 1000:6.0f} ms over start")
    print(f"  import torch      : {(torch_imp - base) * 1000:6.0f} ms over start (for scale; fmcore defers it)")


if __name__ == "__main__":
    main()
