"""All standard group metrics for two sensitive features and their intersection on a 1,000,000-row
table: the audit's vectorised path against fairlearn's MetricFrame and a bare pandas groupby.

Targets: at most 1x the groupby, at least 100x faster than MetricFrame (issue 36).

    python bench/fairness_speed.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    import numpy as np
    import pandas as pd
    from fairlearn.metrics import (
        MetricFrame,
        count,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score, precision_score

    from audits.fairness import encode_groups, group_metrics

    rng = np.random.default_rng(0)
    n = args.rows
    race = rng.choice(["White", "Black", "Asian", "Other"], n, p=[0.7, 0.15, 0.1, 0.05])
    sex = rng.choice(["F", "M"], n)
    y = rng.integers(0, 2, n)
    p = np.where(rng.random(n) < 0.8, y, 1 - y)
    groupings = [{"race": race}, {"sex": sex}, {"race": race, "sex": sex}]

    t = time.perf_counter()
    for cols in groupings:
        codes, labels = encode_groups(cols)
        group_metrics(y, p, codes, len(labels))
    ours = time.perf_counter() - t

    t = time.perf_counter()
    for cols in groupings:
        df = pd.DataFrame({**cols, "y": y, "p": p})
        df["tp"], df["fp"], df["ok"] = y * p, (1 - y) * p, (y == p).astype(int)
        agg = df.groupby(list(cols))[["y", "p", "tp", "fp", "ok"]].agg(["sum", "count"])
        s = agg.xs("sum", axis=1, level=1)
        cnt = agg[("y", "count")]
        _ = pd.DataFrame({"base": s["y"] / cnt, "sel": s["p"] / cnt, "acc": s["ok"] / cnt, "tpr": s["tp"] / s["y"],
                          "fpr": s["fp"] / (cnt - s["y"]), "fnr": 1 - s["tp"] / s["y"], "prec": s["tp"] / s["p"]})
    groupby = time.perf_counter() - t

    metrics = {"count": count, "selection_rate": selection_rate, "accuracy": accuracy_score,
               "tpr": true_positive_rate, "fpr": false_positive_rate, "fnr": false_negative_rate,
               "precision": lambda a, b: precision_score(a, b, zero_division=0)}
    t = time.perf_counter()
    for cols in groupings:
        _ = MetricFrame(metrics=metrics, y_true=y, y_pred=p, sensitive_features=pd.DataFrame(cols)).by_group
    mf = time.perf_counter() - t
    print(f"{n:,} rows; race (4 groups), sex (2), race x sex (8); 8 metrics each")
    print(f"  audit (bincount): {ours:7.3f} s")
    print(f"  pandas groupby  : {groupby:7.3f} s   ratio audit/groupby {ours / groupby:.2f}  (target <= 1)")
    print(f"  MetricFrame     : {mf:7.3f} s   speed-up over MetricFrame {mf / ours:.0f}x  (target >= 100x)")


if __name__ == "__main__":
    main()
