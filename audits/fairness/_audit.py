"""The fairness audit: group metrics with bootstrap intervals, disparities, intersections, warnings."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from fmcore.errors import ConfigError, FmauditError
from fmcore.executor import get_executor

from .._options import opt
from .._result import AuditResult
from .._spec import CompareRow, one_minus, register_audit
from ..groups import MISSING, missing_counts
from ..stats import percentile_interval
from ._metrics import STANDARD, calibration_error, disparities, encode_groups, group_metrics, headline_disparities

CI_METRICS = ("selection_rate", "accuracy", "tpr")
BOOT_CHUNK = 50  # resamples per task: the unit a sweep fans out, fixed so results do not depend on where it runs


def _interval(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return percentile_interval(samples, 0.95, axis=0)


def _bootstrap_task(shared: dict, task: dict) -> dict:
    """``task["n"]`` Poisson-bootstrap resamples: group metrics per resample and the DP difference."""
    rng = np.random.default_rng(task["seed"])
    out = {k: [] for k in (*CI_METRICS, "dp")}
    for _ in range(task["n"]):
        w = rng.poisson(1.0, size=len(shared["y"])).astype(np.float64)
        bm = group_metrics(shared["y"], shared["p"], shared["codes"], shared["groups"], weights=w)
        for k in CI_METRICS:
            out[k].append(bm[k])
        out["dp"].append(disparities(bm, shared.get("keep"))["demographic_parity_difference"])
    return out


def analyse(y01, p01, scores, columns: dict[str, np.ndarray], n_boot: int, seed: int, min_group: int,
            label: str) -> tuple[list[dict], dict, list[str]]:
    """Group table, disparities (with a bootstrap interval on the DP difference) and warnings for one grouping.

    Every group is in the table; the disparities compare only groups of at least ``min_group`` rows (a
    gap driven by four people is not evidence), and say which groups were left out.
    """
    codes, groups = encode_groups(columns)
    g = len(groups)
    m = group_metrics(y01, p01, codes, g)
    m["calibration_error"] = calibration_error(y01, scores, codes, g)
    keep = m["count"] >= min_group
    # Poisson bootstrap in chunks of BOOT_CHUNK resamples, one task each (fanned out on Ray when configured)
    tasks = [{"seed": seed * 1000 + i, "n": min(BOOT_CHUNK, n_boot - start)}
             for i, start in enumerate(range(0, n_boot, BOOT_CHUNK))]
    chunks = get_executor().map(_bootstrap_task, tasks, {"y": y01, "p": p01, "codes": codes, "groups": g,
                                                         "keep": keep}, label="bootstrap chunks")
    boots = {k: [row for c in chunks for row in c[k]] for k in CI_METRICS}
    dp_boot = [v for c in chunks for v in c["dp"]]
    rows, warnings = [], []
    bounds = {k: _interval(np.array(v)) for k, v in boots.items()} if n_boot else {}
    for i, grp in enumerate(groups):
        row = {"grouping": label, "group": " & ".join(grp), **{k: float(m[k][i]) for k in (*STANDARD,
                                                                                            "calibration_error")}}
        row["count"] = int(m["count"][i])
        for k in CI_METRICS:
            if bounds:
                row[f"{k}_ci_low"], row[f"{k}_ci_high"] = float(bounds[k][0][i]), float(bounds[k][1][i])
        row["too_small"] = row["count"] < min_group
        if row["too_small"]:
            warnings.append(f"{label} = {row['group']}: only {row['count']} people (minimum {min_group}); shown, "
                            "but left out of the gaps: its numbers are too uncertain to judge.")
        rows.append(row)
    disp = {"grouping": label, **headline_disparities(m, min_group),
            "groups_compared": int(keep.sum()),
            "left_out": [f"{' & '.join(groups[i])} (n={int(m['count'][i])})" for i in np.flatnonzero(~keep)]}
    for rate, why in (("tpr", "no one with the positive label"), ("fpr", "no one with the negative label")):
        undefined = [" & ".join(groups[i]) for i in np.flatnonzero(keep & np.isnan(m[rate]))]
        if undefined:
            warnings.append(f"{label}: the {rate.upper()} is undefined for {', '.join(undefined)} ({why}); the "
                            "equalized-odds gap compares the groups where it is defined, and uses the other rate "
                            "alone where no group has it.")
    if keep.sum() < 2:
        disp["four_fifths_rule_violated"] = None
        warnings.append(f"{label}: fewer than two groups have at least {min_group} people; its gaps are not "
                        "measured.")
    if n_boot and keep.sum() >= 2:
        lo, hi = _interval(np.array(dp_boot)[:, None])
        disp["demographic_parity_difference_ci_low"], disp["demographic_parity_difference_ci_high"] = (
            float(lo[0]), float(hi[0]))
    return rows, disp, warnings


def _summary(result) -> dict:
    return {"disparities": result.tables["disparities"]}


def _headline(m: dict) -> str:
    from .._format import pct

    return (f"parity gap {pct(m.get('demographic_parity_difference'))}, odds gap "
            f"{pct(m.get('equalized_odds_difference'))}")


def _figures(audit: dict) -> list:
    from .. import figures

    groups = audit["tables"].get("groups")
    return [("selection rate per group", figures.group_bars([r for r in groups if " x " not in r["grouping"]],
                                                            "selection_rate"))] if groups else []


@dataclass
class FairnessOptions:
    """The fairness audit's options (its flags, form and settings)."""
    sensitive: list[str] | None = opt(None, "the sensitive columns (default: all the dataset declares)")
    intersectional: bool = opt(False, "also every combination of the sensitive columns")
    split: str = opt("test", "the split audited", choices=("train", "val", "test"))
    n_boot: int = opt(200, "bootstrap resamples of the intervals (0: none)", min=0)
    seed: int = opt(0, "the seed of every random draw")
    min_group_size: int = opt(30, "groups smaller than this are flagged and left out of the gaps", min=1)
    positive_class: str | None = opt(None, "the favourable class (default: the last class; every class one-vs-rest "
                                           "for multiclass)", cli=False)
    max_samples: int | None = opt(None, "audit only the first rows of the split (default: all)", min=1)


#: Compare's rows for this audit
_COMPARE = (
    CompareRow("demographic parity gap", "demographic_parity_difference", False, True,
               radar=("1 − parity gap", one_minus)),
    CompareRow("equalized odds gap", "equalized_odds_difference", False, True, radar=("1 − odds gap", one_minus)),
)


@register_audit("fairness", "Fairness",
                "Per-group selection rate, accuracy, error rates, precision and calibration with bootstrap "
                "intervals; demographic parity, equalized odds and equal opportunity gaps; intersections; small-"
                "group warnings; one-vs-rest for multiclass (fairlearn's definitions, a vectorised path).",
                options=FairnessOptions, requires=("labels",),
                summary=_summary, headline=_headline, figures=_figures, compare=_COMPARE,
                order=40)
def fairness(classifier, dataset, params: dict, progress=None) -> AuditResult:
    """The fairness audit: group metrics with intervals, disparities, intersections and a verdict."""
    started = time.perf_counter()
    available = list(dataset.spec.sensitive)
    sensitive = list(params["sensitive"] or available)
    if not available:
        raise FmauditError(f"Dataset {dataset.name!r} has no sensitive attributes to audit; upload a CSV that "
                           "declares them (fmaudit add-dataset ... --sensitive col).")
    missing = [c for c in sensitive if c not in available]
    if missing:
        raise ConfigError(f"Sensitive column(s) {missing} are not in {dataset.name!r}; available: {available}.")
    split = dataset[params["split"]]
    if params["max_samples"]:
        split = split.head(int(params["max_samples"]))
    proba = classifier.predict_proba(split.X, groups=split.groups)
    pred = classifier.decide(proba)
    classes = list(classifier.classes)
    if params["positive_class"] is not None and params["positive_class"] not in classes:
        raise ConfigError(f"positive_class {params['positive_class']!r} is not a class; classes: {classes}.")
    if len(classes) == 2:
        targets = [params["positive_class"] or classes[-1]]
    else:  # one-vs-rest: each class in turn is "positive"
        targets = [params["positive_class"]] if params["positive_class"] else classes
    groupings = [(c, {c: split.groups[c].to_numpy()}) for c in sensitive]
    if params["intersectional"] and len(sensitive) > 1:
        from itertools import combinations

        combos = list(combinations(sensitive, 2)) + ([tuple(sensitive)] if len(sensitive) > 2 else [])
        groupings += [(" x ".join(c), {k: split.groups[k].to_numpy() for k in c}) for c in combos]
    rows, disp, warnings = [], [], []
    steps = len(targets) * len(groupings)
    for t_i, target in enumerate(targets):
        c = classes.index(target)
        y01, p01, scores = (split.y == c).astype(int), (pred == c).astype(int), proba[:, c]
        for g_i, (label, cols) in enumerate(groupings):
            if progress:
                progress((t_i * len(groupings) + g_i) / steps, f"{label}, positive class {target}")
            r, d, w = analyse(y01, p01, scores, cols, int(params["n_boot"]), int(params["seed"]),
                              int(params["min_group_size"]), label)
            rows += [{"positive_class": target, **x} for x in r]
            disp.append({"positive_class": target, **d})
            warnings += [x for x in w if x not in warnings]
    worst = {}
    for key in ("demographic_parity_difference", "equalized_odds_difference", "equal_opportunity_difference",
                "accuracy_difference"):
        vals = [d[key] for d in disp if not np.isnan(d[key])]
        worst[key] = max(vals) if vals else float("nan")
    for key in ("demographic_parity_ratio", "equalized_odds_ratio"):
        vals = [d[key] for d in disp if not np.isnan(d[key])]
        worst[key] = min(vals) if vals else float("nan")
    flags = [d["four_fifths_rule_violated"] for d in disp if d["four_fifths_rule_violated"] is not None]
    worst["four_fifths_rule_violated"] = any(flags) if flags else None
    per_attribute = {f"{k}[{d['grouping']}]": d[k] for d in disp if len(targets) == 1
                     for k in ("demographic_parity_difference", "equalized_odds_difference")}
    metrics = {"accuracy": float((pred == split.y).mean()), "n": int(len(split.y)), **worst, **per_attribute,
               "positive_class": targets[0] if len(targets) == 1 else "one-vs-rest",
               "min_group_size": int(params["min_group_size"])}
    metrics["verdict"] = verdict(rows, disp, metrics)
    for col, n in missing_counts(split.groups, sensitive).items():
        warnings.insert(0, f"{col}: {n} of {len(split.y)} rows have no value; they are the group {MISSING!r}.")
    return AuditResult(audit="fairness", model_id=None, dataset=dataset.name,
                       params={**params, "sensitive": sensitive}, metrics=metrics,
                       tables={"groups": rows, "disparities": disp}, warnings=warnings, seed=int(params["seed"]),
                       seconds=time.perf_counter() - started)


def verdict(rows: list[dict], disp: list[dict], metrics: dict) -> str:
    """The largest demographic parity gap in plain words, between groups large enough to judge, with their n."""
    measured = [d for d in disp if d["demographic_parity_difference"] == d["demographic_parity_difference"]
                and d["groups_compared"] >= 2]
    if not measured:
        return (f"No gap is measured: no sensitive attribute has two groups of at least {metrics['min_group_size']} "
                "people in the audited rows.")
    worst = max(measured, key=lambda d: d["demographic_parity_difference"])
    part = [r for r in rows if r["grouping"] == worst["grouping"] and not r["too_small"]
            and r.get("positive_class", worst.get("positive_class")) == worst.get("positive_class")]
    hi = max(part, key=lambda r: r["selection_rate"])
    lo = min(part, key=lambda r: r["selection_rate"])
    ci = (f", 95% interval {worst['demographic_parity_difference_ci_low']:.1%} to "
          f"{worst['demographic_parity_difference_ci_high']:.1%}" if "demographic_parity_difference_ci_low" in worst
          else "")
    left = f" Left out as too small: {', '.join(worst['left_out'])}." if worst["left_out"] else ""
    return (f"By {worst['grouping']}, the model predicts {worst.get('positive_class', metrics['positive_class'])} for "
            f"{hi['selection_rate']:.1%} of {hi['group']} (n={hi['count']}) but {lo['selection_rate']:.1%} of "
            f"{lo['group']} (n={lo['count']}): a gap of {worst['demographic_parity_difference']:.1%}{ci}.{left}")
