"""The ``slices`` audit: the data slices (a category, a numeric range cut at quantiles, and pairs of them) where a
tabular model's accuracy is lowest, with sizes, Wilson intervals and Benjamini-Hochberg control of the false
discovery rate. Everything fmaudit shows of it comes from ``SPEC``; this package's only other tie to fmaudit is the
entry point in its pyproject.toml."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np

from audits import AuditResult, AuditSpec
from audits.stats import wilson
from fmcore.errors import FmauditError

__all__ = ["SPEC", "SlicesOptions", "slice_table"]


@dataclass(frozen=True)
class SlicesOptions:
    """The options of the slices audit (the CLI's flags and the dashboard's form are made from these fields)."""
    min_slice: int = field(default=30, metadata={"help": "smallest slice tested (rows)", "min": 1})
    bins: int = field(default=4, metadata={"help": "numeric columns are cut at this many quantile ranges", "min": 2})
    pairs: bool = field(default=True, metadata={"help": "also the intersections of two slices of different columns"})
    alpha: float = field(default=0.05, metadata={"help": "false discovery rate (Benjamini-Hochberg)", "min": 0.0,
                                                 "max": 1.0})
    top: int = field(default=10, metadata={"help": "how many of the worst slices to list", "min": 1})
    max_categories: int = field(default=20, metadata={"help": "the most frequent values of a categorical column "
                                                              "that become slices", "min": 1})
    split: str = field(default="test", metadata={"help": "the split to slice", "choices": ["test", "val"]})


def _column_slices(name: str, values, bins: int, max_categories: int) -> list[tuple[str, np.ndarray]]:
    """(description, mask) for each slice of one column."""
    import pandas as pd

    col = pd.Series(values).reset_index(drop=True)
    missing = col.isna().to_numpy()
    out = []
    numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
    if numeric and col.nunique(dropna=True) > bins:
        cuts = pd.qcut(col, q=bins, duplicates="drop")
        for interval in cuts.cat.categories:
            out.append((f"{name} in [{interval.left:.4g}, {interval.right:.4g}]", (cuts == interval).to_numpy()))
    else:
        for value in col[~missing].astype(str).value_counts().index[:max_categories]:
            out.append((f"{name} = {value}", (col.astype(str) == value).to_numpy() & ~missing))
    if missing.any():
        out.append((f"{name} missing", missing))
    return out


def slice_table(frame, correct: np.ndarray, options: SlicesOptions) -> tuple[list[dict], float]:
    """Every slice of ``frame`` (a DataFrame of raw columns) with at least ``min_slice`` rows: its description,
    columns, size, accuracy of ``correct`` on it, Wilson interval, gap to the overall accuracy, one-sided exact
    binomial p-value and Benjamini-Hochberg q-value, worst first. Returns (rows, overall accuracy)."""
    from scipy.stats import binomtest, false_discovery_control

    correct = np.asarray(correct, dtype=bool)
    overall = float(correct.mean())
    singles = {c: [s for s in _column_slices(str(c), frame[c].to_numpy(), options.bins, options.max_categories)
                   if s[1].sum() >= options.min_slice] for c in frame.columns}
    candidates = [((c,), text, mask) for c, found in singles.items() for text, mask in found]
    if options.pairs:
        for a, b in itertools.combinations(singles, 2):
            for (ta, ma), (tb, mb) in itertools.product(singles[a], singles[b]):
                candidates.append(((a, b), f"{ta} and {tb}", ma & mb))
    rows = []
    for columns, text, mask in candidates:
        n = int(mask.sum())
        if n < options.min_slice:
            continue
        k = int(correct[mask].sum())
        low, high = wilson(k, n)
        rows.append({"slice": text, "columns": [str(c) for c in columns], "n": n, "accuracy": k / n,
                     "ci_low": low, "ci_high": high, "gap": k / n - overall,
                     "p_value": float(binomtest(k, n, overall, alternative="less").pvalue)})
    if rows:
        q = false_discovery_control([r["p_value"] for r in rows], method="bh")
        for r, qv in zip(rows, q, strict=True):
            r["q_value"] = float(qv)
            r["significant"] = bool(qv <= options.alpha)
    rows.sort(key=lambda r: (r["accuracy"], -r["n"], r["slice"]))
    return rows, overall


def run(classifier, dataset, params: dict, progress=None) -> AuditResult:
    """The slices audit of a tabular model on ``params["split"]``."""
    import pandas as pd

    options = SlicesOptions(**params)
    started = time.perf_counter()
    if dataset.spec.modality != "tabular" or not hasattr(dataset[options.split].X, "columns"):
        raise FmauditError("The slices audit slices tables (columns of a dataset); this model's data is "
                           f"{dataset.spec.modality}.")
    part = dataset[options.split]
    frame = part.X.reset_index(drop=True)
    if part.groups is not None:  # sensitive columns held apart from the inputs are slices too
        extra = part.groups.reset_index(drop=True)
        frame = pd.concat([frame, extra[[c for c in extra.columns if c not in frame.columns]]], axis=1)
    if progress:
        progress(0.1, f"predicting {len(part)} rows")
    proba = classifier.predict_proba(part.X, groups=part.groups)
    correct = proba.argmax(1) == np.asarray(part.y)
    if progress:
        progress(0.5, f"slicing {frame.shape[1]} columns")
    rows, overall = slice_table(frame, correct, options)
    worst = rows[0] if rows else None
    significant = [r for r in rows if r["significant"]]
    metrics = {"accuracy": overall, "n": int(len(correct)), "slices_tested": len(rows),
               "slices_significant": len(significant),
               "worst_slice": worst["slice"] if worst else None,
               "worst_slice_accuracy": worst["accuracy"] if worst else None,
               "worst_slice_gap": worst["gap"] if worst else None, "worst_slice_n": worst["n"] if worst else None,
               "min_slice": options.min_slice}
    warnings = []
    if not rows:
        warnings.append(f"No slice has {options.min_slice} rows or more: lower min_slice to test smaller ones.")
    elif not significant:
        warnings.append(f"No slice is significantly less accurate than the model overall (false discovery rate "
                        f"{options.alpha:g}, {len(rows)} slices tested).")
    return AuditResult("slices", None, dataset.name, dict(params), metrics,
                       {"worst": rows[:options.top], "slices": rows}, warnings,
                       seconds=time.perf_counter() - started)


def headline(m: dict) -> str:
    """The finding in a few words."""
    if m.get("worst_slice") is None:
        return "no slice large enough to test"
    return (f"worst slice {m['worst_slice']}: accuracy {m['worst_slice_accuracy']:.1%} against "
            f"{m['accuracy']:.1%} overall (n={m['worst_slice_n']}); {m['slices_significant']} of "
            f"{m['slices_tested']} slices significantly worse")


def figures(audit: dict) -> list:
    """The worst slices' accuracy with 95% intervals, against the overall accuracy."""
    import plotly.graph_objects as go

    rows = (audit.get("tables") or {}).get("worst") or []
    if not rows:
        return []
    overall = audit["metrics"]["accuracy"]
    rows = rows[::-1]  # worst at the top
    fig = go.Figure(go.Bar(
        x=[r["accuracy"] for r in rows], y=[f"{r['slice']} (n={r['n']})" for r in rows], orientation="h",
        marker_color=["#e07b24" if r["significant"] else "#8a94a6" for r in rows],
        error_x={"type": "data", "symmetric": False, "array": [r["ci_high"] - r["accuracy"] for r in rows],
                 "arrayminus": [r["accuracy"] - r["ci_low"] for r in rows]},
        hovertemplate="%{y}: accuracy %{x:.1%}<extra></extra>"))
    fig.add_vline(x=overall, line_dash="dash", annotation_text=f"overall {overall:.1%}")
    fig.update_layout(title="Where the model is least accurate (orange: significantly worse)",
                      xaxis={"tickformat": ".0%", "range": [0, 1]}, height=120 + 28 * len(rows),
                      margin={"l": 40, "r": 20, "t": 50, "b": 40}, template="plotly_white")
    fig.update_yaxes(automargin=True)
    return [(f"slices: the {len(rows)} least accurate", fig)]


def summary(result) -> dict:
    """The worst slices, beside the metrics, for the CLI and the job's log."""
    return {"worst": result.tables["worst"]}


SPEC = AuditSpec(
    name="slices", title="Worst slices",
    description="The data slices (a category, a numeric range cut at quantiles, and pairs of them) where the "
                "model's accuracy is lowest, with sizes, 95% Wilson intervals and a one-sided exact binomial test "
                "against the overall accuracy, controlled for the number of slices (Benjamini-Hochberg).",
    run=run, options=SlicesOptions, requires=("predicts", "labels"), headline=headline, figures=figures,
    summary=summary,
    compare=(("worst slice accuracy", "worst_slice_accuracy", True, True),
             ("slices significantly worse", "slices_significant", False, False)),
    policy_keys=("worst_slice_accuracy", "worst_slice_gap", "slices_significant", "accuracy"))
