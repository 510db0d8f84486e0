"""Plotly figures for result objects. Pure functions: data in, figure out (no streamlit); the dashboard and
the HTML reports draw the same charts."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from fmcore.text import escape, visible

BLUE, ORANGE, GREY = "#2457a6", "#e07b24", "#8a94a6"


def wrap_title(title: str, width: int = 48) -> str:
    """A chart title broken into lines of at most ``width`` characters (plotly never wraps, so a long title is
    cut off on a half-width chart or a narrow screen), each line shown as typed (``fmcore.text``)."""
    import textwrap

    lines = textwrap.wrap(visible(title), width) or [visible(title)]
    return "<br>".join(escape(line, "plotly") for line in lines)


#: trace properties that carry data (labels, categories, names, hover values) rather than markup of ours
DATA_PROPS = ("x", "y", "z", "text", "hovertext", "name", "labels", "theta", "customdata", "ids", "parents",
              "legendgroup")


def _inert(value):
    """Strings in ``value`` (nested lists and arrays too) made inert for plotly: every tag escaped but the line
    breaks our own texts use."""
    if isinstance(value, str):
        return escape(value, "plotly").replace("&lt;br&gt;", "<br>")
    if isinstance(value, np.ndarray):
        return np.array([_inert(v) for v in value.tolist()], dtype=object) if value.dtype.kind in "OUS" else value
    if isinstance(value, list | tuple):
        return [_inert(v) for v in value]
    return value


def fit_axis_titles(fig: go.Figure, width: int = 28, y_width: int | None = None) -> go.Figure:
    """Axis titles longer than ``width`` characters (``y_width`` for a y axis, whose title runs along the plot's
    height, default ``width``) broken into lines, for a small chart: plotly never wraps them, so "epsilon (Linf:
    largest change to any input value)" was cut at the edge of a 240 px chart. A title that holds markup of its own
    is left as it is."""
    def fit(limit: int):
        def fit_one(axis) -> None:
            text = axis.title.text if axis.title else None
            if text and len(text) > limit and "<" not in text and "&" not in text:
                axis.title.text = wrap_title(text, limit)
        return fit_one

    fig.for_each_xaxis(fit(width))
    fig.for_each_yaxis(fit(y_width or width))
    return fig


def inert_figure(fig: go.Figure) -> go.Figure:
    """Every user-supplied string a figure shows (class labels, group values, column and model names in its traces,
    tick labels and annotations) made text: plotly would draw ``<a href>`` as a live link. Applied to every chart by
    ``_layout``."""
    for trace in fig.data:
        for prop in DATA_PROPS:
            current = getattr(trace, prop, None) if prop in trace else None
            if current is not None:
                trace[prop] = _inert(current)
        for sub in ("header", "cells"):
            if sub in trace and trace[sub].values is not None:
                trace[sub].values = _inert(trace[sub].values)
    fig.for_each_xaxis(lambda ax: ax.update(ticktext=_inert(ax.ticktext)) if ax.ticktext is not None else None)
    fig.for_each_yaxis(lambda ax: ax.update(ticktext=_inert(ax.ticktext)) if ax.ticktext is not None else None)
    for ann in fig.layout.annotations or ():
        if ann.text:
            ann.text = _inert(ann.text)
    return fig


def _layout(fig: go.Figure, title: str, height: int = 320) -> go.Figure:
    inert_figure(fig)
    title = wrap_title(title)
    lines = title.count("<br>") + 1
    fig.update_layout(title=title, height=height + 18 * (lines - 1),
                      margin={"l": 40, "r": 20, "t": 32 + 18 * lines, "b": 40},
                      template="plotly_white", legend={"orientation": "h", "y": -0.2})
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def label_balance(classes: list[str], counts: dict[str, list[int]]) -> go.Figure:
    """Grouped bars: examples per class in each split."""
    fig = go.Figure()
    for split, values in counts.items():
        fig.add_bar(name=split, x=list(classes), y=values)
    fig.update_layout(barmode="group", xaxis_title="class", yaxis_title="examples")
    fig.update_xaxes(type="category")  # class names such as "0".."9" are names, not numbers
    return _layout(fig, "Label balance per split")


def group_distribution(attribute: str, rows: list[dict]) -> go.Figure:
    """Group sizes (bars) and each group's positive-label rate (line, right axis)."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    groups = [r["group"] for r in rows]
    fig.add_bar(x=groups, y=[r["count"] for r in rows], name="people", marker_color=BLUE)
    fig.add_scatter(x=groups, y=[r["positive_rate"] for r in rows], name="positive label rate",
                    mode="markers+lines", marker={"size": 10, "color": ORANGE}, secondary_y=True)
    fig.update_xaxes(type="category")
    fig.update_yaxes(title_text="people", secondary_y=False)
    fig.update_yaxes(title_text="positive rate", tickformat=".0%", secondary_y=True, rangemode="tozero")
    return _layout(fig, f"Sensitive attribute: {attribute}")


def image_grid(images: np.ndarray, labels: list[str], cols: int = 8, gap: int = 4) -> go.Figure:
    """Grey images tiled into one montage (one heatmap, cheap to draw), each labelled above."""
    n = len(images)
    h, w = images.shape[-2:]
    rows = int(np.ceil(n / cols))
    canvas = np.full((rows * (h + gap), cols * (w + gap)), np.nan, dtype=np.float32)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        canvas[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = img.reshape(h, w)
    fig = go.Figure(go.Heatmap(z=canvas, colorscale="gray_r", showscale=False, hoverinfo="skip"))
    for i, label in enumerate(labels):
        r, c = divmod(i, cols)
        fig.add_annotation(x=c * (w + gap) + w / 2, y=r * (h + gap) - 1, text=str(label), showarrow=False,
                           yanchor="bottom", font={"size": 13})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    return _layout(fig, "Sample images (label above each)", height=150 * rows + 80)


def training_curves(history: list[dict]) -> go.Figure:
    """Loss and accuracy per epoch, train and validation side by side."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"))
    epochs = [h["epoch"] for h in history]
    for key, col, name, color in [("train_loss", 1, "train", BLUE), ("val_loss", 1, "validation", ORANGE),
                                  ("train_accuracy", 2, "train", BLUE), ("val_accuracy", 2, "validation", ORANGE)]:
        if history and key in history[0]:
            fig.add_scatter(x=epochs, y=[h[key] for h in history], name=name, mode="lines+markers",
                            line={"color": color}, showlegend=col == 1, row=1, col=col)
    fig.update_yaxes(tickformat=".0%", col=2)  # accuracy as a percentage, as everywhere else
    # one tick per epoch while they fit; beyond that plotly's own spacing (whole epochs only)
    fig.update_xaxes(title_text="epoch", dtick=1 if len(epochs) <= 15 else None, tickformat="d")
    return _layout(fig, "Training curves")


def confusion_matrix(matrix: list[list[int]], classes: list[str]) -> go.Figure:
    """Confusion matrix as a heatmap, rows true class, columns predicted, counts written in."""
    z = np.asarray(matrix)
    fig = go.Figure(go.Heatmap(z=z, x=list(classes), y=list(classes), colorscale="Blues", text=z,
                               texttemplate="%{text}", hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", title="true class", type="category")
    fig.update_xaxes(title="predicted class", type="category")
    total, off = int(z.sum()), z - np.diag(np.diag(z)) if z.size else z
    if total and off.size:  # its text alternative says what a reader looks for: how much is right, the worst mix-up
        i, j = np.unravel_index(np.argmax(off), off.shape)
        worst = (f"; the most frequent mistake: true {_words(escape(classes[i], 'html'))} predicted as "
                 f"{_words(escape(classes[j], 'html'))} ({int(off[i, j]):,} times)") if off[i, j] else ""
        fig.update_layout(meta={"alt": f"{int(np.trace(z)):,} of {total:,} on the diagonal "
                                       f"({np.trace(z) / total:.1%} right){worst}"})
    return _layout(fig, "Confusion matrix (test)", height=max(320, 36 * len(classes) + 120))


def per_class_accuracy(classes: list[str], values: list[float]) -> go.Figure:
    """Bars: test accuracy (recall) of each class."""
    fig = go.Figure(go.Bar(x=list(classes), y=values, marker_color=BLUE, text=[f"{v:.1%}" for v in values],
                           textposition="outside"))
    fig.update_yaxes(range=[0, 1.08], tickformat=".0%", title="accuracy (recall)")
    fig.update_xaxes(type="category", title="class")
    return _layout(fig, "Per-class accuracy (test)")


def per_class_recall(rows: list[dict]) -> go.Figure:
    """Recall per class with its 95% interval; classes with few examples in grey."""
    fig = go.Figure(go.Bar(
        x=[r["class"] for r in rows], y=[r["recall"] for r in rows],
        marker_color=[GREY if r["support"] < 30 else BLUE for r in rows],
        error_y={"type": "data", "symmetric": False, "array": [r["recall_ci_high"] - r["recall"] for r in rows],
                 "arrayminus": [r["recall"] - r["recall_ci_low"] for r in rows]},
        customdata=[r["support"] for r in rows], hovertemplate="%{x}: recall %{y:.1%} of %{customdata}<extra></extra>"))
    fig.update_yaxes(range=[0, 1.05], tickformat=".0%", title="recall (share of the class found)")
    return _layout(fig, "Recall per class with 95% intervals (grey: under 30 examples)")


def lineage(family: list[tuple], current: str) -> go.Figure:
    """Lineage tree: one node per model (columns by generation), edges from parent to child."""
    by_depth: dict[int, list] = {}
    for record, depth in family:
        by_depth.setdefault(depth, []).append(record)
    pos = {r.id: (d, -i) for d, rs in by_depth.items() for i, r in enumerate(rs)}
    fig = go.Figure()
    for record, _ in family:
        if record.parent_id in pos:
            (x0, y0), (x1, y1) = pos[record.parent_id], pos[record.id]
            fig.add_scatter(x=[x0, x1], y=[y0, y1], mode="lines", line={"color": GREY}, hoverinfo="skip",
                            showlegend=False)
            fig.add_annotation(x=(x0 + x1) / 2, y=(y0 + y1) / 2, text=record.derivation.get("how", ""),
                               showarrow=False, font={"size": 11, "color": GREY}, yshift=10)
    records = [r for r, _ in family]
    fig.add_scatter(
        x=[pos[r.id][0] for r in records], y=[pos[r.id][1] for r in records], mode="markers+text",
        marker={"size": 22, "color": [ORANGE if r.id == current else BLUE for r in records]},
        text=[f"{r.name}<br>acc {r.metrics.get('accuracy', float('nan')):.3f}" for r in records],
        textposition="bottom center", hovertext=[f"{r.id} · {r.model} on {r.dataset}" for r in records],
        hoverinfo="text", showlegend=False)
    fig.update_xaxes(visible=False, range=[-0.5, max(by_depth) + 0.5])
    fig.update_yaxes(visible=False, range=[-max(len(v) for v in by_depth.values()) + 0.3, 0.6])
    return _layout(fig, "Lineage (this model in orange)", height=140 + 90 * max(len(v) for v in by_depth.values()))


METHOD_COLORS = {"lora": BLUE, "ia3": "#6a3d9a", "prompt": "#33a02c", "full": ORANGE, "linear_probe": GREY,
                 "transfer": BLUE, "scratch": ORANGE}


def method_comparison(rows: list[dict]) -> go.Figure:
    """Trainable share (log x) against test macro-F1; marker area grows with total training time."""
    fig = go.Figure()
    longest = max((r["total s"] for r in rows), default=1.0) or 1.0
    for method in dict.fromkeys(r["method"] for r in rows):
        pts = [r for r in rows if r["method"] == method]
        fig.add_scatter(
            x=[max(r["trainable %"], 1e-4) for r in pts], y=[r["macro-F1"] for r in pts], mode="markers+text",
            name=method, text=[method] * len(pts), textposition="top center",
            marker={"size": [14 + 26 * (r["total s"] / longest) ** 0.5 for r in pts],
                    "color": METHOD_COLORS.get(method, GREY), "opacity": 0.8},
            customdata=[[r["id"], r["total s"], r["s/step"]] for r in pts],
            hovertemplate="%{customdata[0]}<br>trainable %{x:.3f}%<br>macro-F1 %{y:.3f}<br>"
                          "%{customdata[1]:.0f} s total, %{customdata[2]:.2f} s/step<extra></extra>")
    fig.update_xaxes(type="log", title="trainable parameters (% of the model, log scale)")
    fig.update_yaxes(title="test macro-F1")
    return _layout(fig, "Methods compared (marker size: training time)", height=420)


PALETTE = [BLUE, ORANGE, "#33a02c", "#6a3d9a", "#e31a1c", "#17becf"]


def robustness_curves(series: list[tuple[str, float, list[dict]]], norm: str = "inf") -> go.Figure:
    """Robust accuracy against epsilon for several models, 95% interval bands, clean accuracy at eps 0."""
    fig = go.Figure()
    for i, (label, clean, rows) in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        xs = [0.0] + [r["eps"] for r in rows]
        lo = [clean] + [r["ci_low"] for r in rows]
        hi = [clean] + [r["ci_high"] for r in rows]
        fig.add_scatter(x=xs + xs[::-1], y=hi + lo[::-1], fill="toself", fillcolor=color, opacity=0.15,
                        line={"width": 0}, hoverinfo="skip", showlegend=False)
        fig.add_scatter(x=xs, y=[clean] + [r["robust_accuracy"] for r in rows], mode="lines+markers", name=label,
                        line={"color": color},
                        hovertemplate="eps %{x}<br>accuracy %{y:.1%}<extra>" + label + "</extra>")
    axis = {"inf": "Linf: largest change to any input value", "2": "L2 norm", "words": "words edited"}[norm]
    fig.update_xaxes(title=f"epsilon ({axis})")
    fig.update_yaxes(title="accuracy under attack", tickformat=".0%", range=[0, 1.02])
    return _layout(fig, "Accuracy as the attack grows (band: 95% interval)", height=420)


def adversarial_gallery(examples: list[dict], cols: int = 6) -> go.Figure:
    """Original, amplified perturbation and adversarial image per example, with labels and confidence."""
    items = [e for e in examples if "original" in e][:cols]
    titles = []
    for row in ("original", "perturbation", "adversarial"):
        for e in items:
            titles.append({"original": f"{e['true']} → {e['clean_pred']} ({e['clean_confidence']:.0%})",
                           "perturbation": "change",  # "change (scaled)" six times ran together at 800 px
                           "adversarial": f"→ {e['adv_pred']} ({e['adv_confidence']:.0%})"}[row])
    fig = make_subplots(rows=3, cols=len(items), subplot_titles=titles, vertical_spacing=0.08,
                        horizontal_spacing=0.02)
    for j, e in enumerate(items):
        orig, adv = np.asarray(e["original"]), np.asarray(e["adversarial"])
        diff = adv - orig
        delta = 0.5 + 0.5 * diff / max(float(np.abs(diff).max()), 1e-6)  # red: darker, blue: lighter
        for r, (img, scale) in enumerate([(orig, "gray_r"), (delta, "RdBu"), (adv, "gray_r")]):
            fig.add_trace(go.Heatmap(z=img, colorscale=scale, zmin=0, zmax=1, showscale=False, hoverinfo="skip"),
                          row=r + 1, col=j + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    fig.update_annotations(font_size=11)
    return title_clear_of_labels(_layout(
        fig, "What the attack did: true → predicted (confidence); each change scaled to be seen", height=520))


def title_clear_of_labels(fig: go.Figure, room: int = 14) -> go.Figure:
    """The title's lines from the top down, with ``room`` px more above the plot, for a chart with labels above its
    plot (subplot titles, ticks on top): plotly centres a title on its first line, so a second line fell on them."""
    return fig.update_layout(title={"y": 1, "yref": "container", "yanchor": "top", "pad": {"t": 10}},
                             margin={"t": fig.layout.margin.t + room})


def before_after(before: dict, after: dict, eps: float) -> go.Figure:
    """Clean and robust accuracy of a model and its adversarially trained child."""
    labels = ["clean accuracy", f"robust accuracy (PGD-20, eps {eps:g})"]
    fig = go.Figure()
    for name, vals, color in (("original", before, GREY), ("hardened", after, BLUE)):
        y = [vals["clean_accuracy"], vals["robust_accuracy"]]
        fig.add_bar(name=name, x=labels, y=y, marker_color=color, text=[f"{v:.1%}" for v in y], textposition="outside")
    fig.update_yaxes(range=[0, 1.1], tickformat=".0%")
    return _layout(fig, "Adversarial training: before and after", height=360)


def group_bars(rows: list[dict], metric: str = "selection_rate", label: str | None = None) -> go.Figure:
    """One bar per group with its 95% interval; groups too small to judge are drawn grey. ``label``: the metric's
    name in words (default: its key's words, as reports draw it)."""
    label = label or metric.replace("_", " ")
    fig = go.Figure()
    for grouping in dict.fromkeys(r["grouping"] for r in rows):
        part = [r for r in rows if r["grouping"] == grouping]
        y = [r[metric] for r in part]
        lo = [r.get(f"{metric}_ci_low") for r in part]
        hi = [r.get(f"{metric}_ci_high") for r in part]
        err = None
        if all(v is not None for v in lo + hi + y):
            err = {"type": "data", "symmetric": False, "array": [h - v for h, v in zip(hi, y, strict=True)],
                   "arrayminus": [v - low for v, low in zip(y, lo, strict=True)]}
        fig.add_bar(name=grouping, x=[f"{grouping}: {r['group']}" for r in part], y=y, error_y=err,
                    marker_color=[GREY if r["too_small"] else BLUE for r in part],
                    hovertemplate="%{x}<br>%{y:.1%}<extra></extra>")
    fig.update_yaxes(tickformat=".0%", title=label, rangemode="tozero")
    fig.update_layout(showlegend=False)
    return _layout(fig, f"{label.capitalize()} by group (95% interval; grey: too few people)", height=380)


def intersection_heatmap(rows: list[dict], grouping: str, metric: str = "selection_rate",
                         label: str | None = None) -> go.Figure:
    """A heatmap of ``metric`` over the two attributes of an intersectional grouping, on the full 0-100% scale. A
    group below the audit's minimum size (``too_small``) is not measured: grey, with its n, never coloured as if its
    rate were known; a combination with no one in it stays empty. ``label``: as in ``group_bars``."""
    part = [r for r in rows if r["grouping"] == grouping]
    a = sorted({r["group"].split(" & ")[0] for r in part})
    b = sorted({r["group"].split(" & ")[1] for r in part})
    z, grey = np.full((len(a), len(b)), np.nan), np.full((len(a), len(b)), np.nan)
    text = [["" for _ in b] for _ in a]
    for r in part:
        i, j = a.index(r["group"].split(" & ")[0]), b.index(r["group"].split(" & ")[1])
        value = r[metric] if r[metric] is not None and not (isinstance(r[metric], float) and np.isnan(r[metric])) \
            else None
        if r.get("too_small"):
            grey[i, j], text[i][j] = 1.0, f"not measured<br>n={r['count']}"
        else:
            z[i, j] = np.nan if value is None else value
            text[i][j] = f"{value:.0%}<br>n={r['count']}" if value is not None else f"undefined<br>n={r['count']}"
    names = grouping.split(" x ")
    label = label or metric.replace("_", " ")
    fig = go.Figure(go.Heatmap(z=z, x=b, y=a, text=text, texttemplate="%{text}", colorscale="Blues", zmin=0, zmax=1,
                               colorbar={"tickformat": ".0%", "title": {"text": label}},
                               hovertemplate=f"%{{y}} & %{{x}}<br>{label} %{{z:.1%}}<extra></extra>"))
    # the grey cells on top, with their own text: written over grey, plotly picks a dark ink (the coloured trace
    # writes a cell it leaves empty in the theme's ink: white on light grey in a dark theme); a decoration, which
    # text_alternative skips (the coloured trace's text says "not measured" for it)
    fig.add_trace(go.Heatmap(z=grey, x=b, y=a, colorscale=[[0, "#d4d4d4"], [1, "#d4d4d4"]], showscale=False,
                             text=[[t if g == 1.0 else "" for t, g in zip(row, grey_row, strict=True)]
                                   for row, grey_row in zip(text, grey, strict=True)],
                             texttemplate="%{text}", hoverinfo="skip"))
    fig.update_xaxes(title=names[1] if len(names) > 1 else "", type="category")
    fig.update_yaxes(title=names[0], type="category")
    return _layout(fig, f"{label.capitalize()} across {grouping}", height=360)


MITIGATION_COLORS = {"original": "#222222", "threshold_optimizer": BLUE, "exponentiated_gradient": ORANGE,
                     "reweighing": "#33a02c"}


def mitigation_tradeoff(rows: list[dict], disparity: str = "demographic_parity_difference") -> go.Figure:
    """Accuracy against a disparity for the original (star) and each mitigation; a sweep of tolerances
    for one method and constraint is joined by a line, so the trade-off curve is visible."""
    from .glossary import describe

    fig = go.Figure()
    nice = describe(disparity)[0]  # "parity gap", as the page's picker and sentence say it
    for row in [r for r in rows if r["role"] == "parent"]:
        fig.add_scatter(x=[row[disparity]], y=[row["accuracy"]], mode="markers+text", name=f"original ({row['name']})",
                        text=["original"], textposition="bottom center",
                        marker={"symbol": "star", "size": 18, "color": MITIGATION_COLORS["original"]},
                        hovertemplate=f"{row['model_id']}<br>{nice} %{{x:.1%}}<br>accuracy %{{y:.1%}}<extra></extra>")
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        if r["role"] != "parent":
            groups.setdefault((r["method"], r["constraint"]), []).append(r)
    symbols = ["circle", "diamond", "square", "triangle-up", "x"]
    for i, ((method, constraint), pts) in enumerate(groups.items()):
        pts = sorted(pts, key=lambda r: -1 if r["tolerance"] is None else r["tolerance"])
        fig.add_scatter(
            x=[r[disparity] for r in pts], y=[r["accuracy"] for r in pts],
            mode="lines+markers" if len(pts) > 1 else "markers",
            name=f"{method.replace('_', ' ')} ({constraint.replace('_', ' ')})",
            marker={"size": 12, "color": MITIGATION_COLORS.get(method, GREY), "symbol": symbols[i % len(symbols)]},
            line={"dash": "dot", "color": MITIGATION_COLORS.get(method, GREY)},
            customdata=[[r["model_id"], "exact" if r["tolerance"] is None else f"{r['tolerance']:g}"] for r in pts],
            hovertemplate="%{customdata[0]}<br>tolerance %{customdata[1]}<br>" + nice
                          + " %{x:.1%}<br>accuracy %{y:.1%}<extra></extra>")
    fig.update_xaxes(title=f"{nice} (lower is fairer)", rangemode="tozero", tickformat=".1%")
    fig.update_yaxes(title="test accuracy", tickformat=".1%")
    return _layout(fig, "What fairness costs: accuracy against disparity, per mitigation", height=440)


def roc_curves(rows: list[dict]) -> go.Figure:
    """Membership-inference ROC per attack on a log false-positive-rate axis (the low-FPR regime matters)."""
    fig = go.Figure()
    floor = 1e-3
    for i, attack in enumerate(dict.fromkeys(r["attack"] for r in rows)):
        pts = [r for r in rows if r["attack"] == attack and r["fpr"] > 0]
        fig.add_scatter(x=[max(r["fpr"], floor) for r in pts], y=[r["tpr"] for r in pts], mode="lines",
                        name=attack, line={"color": PALETTE[i % len(PALETTE)], "width": 2, "shape": "hv"},
                        hovertemplate="FPR %{x:.3%}<br>TPR %{y:.1%}<extra>" + attack + "</extra>")
    grid = np.logspace(-3, 0, 50)
    fig.add_scatter(x=grid, y=grid, mode="lines", name="chance", line={"dash": "dash", "color": GREY},
                    hoverinfo="skip")
    fig.update_xaxes(type="log", title="false-positive rate (non-members called members), log scale",
                     range=[-3, 0], tickvals=[0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1],
                     ticktext=["0.1%", "0.3%", "1%", "3%", "10%", "30%", "100%"])
    fig.update_yaxes(title="true-positive rate (members found)", tickformat=".0%", range=[0, 1.02])
    return _layout(fig, "Membership inference: ROC (above the dashed line = leakage)", height=440)


def privacy_utility(rows: list[dict]) -> go.Figure:
    """DP sweep: accuracy and attack AUC per epsilon (left), empirical epsilon bound vs the accountant's (right)."""
    labels = ["no DP" if r["target_epsilon"] is None else f"ε={r['epsilon']:.2g}" for r in rows]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Accuracy and attack AUC", "Epsilon: accountant vs attack"),
                        horizontal_spacing=0.12)
    fig.add_scatter(x=labels, y=[r["accuracy"] for r in rows], mode="lines+markers", name="test accuracy",
                    line={"color": BLUE}, row=1, col=1)
    fig.add_scatter(x=labels, y=[r["max_auc"] for r in rows], mode="lines+markers", name="strongest attack AUC",
                    line={"color": ORANGE}, row=1, col=1)
    fig.add_hline(y=0.5, line={"dash": "dot", "color": GREY}, row=1, col=1)
    base = next((r.get("baseline_accuracy") for r in rows if r.get("baseline_accuracy") is not None), None)
    if base is not None:  # a model at this line has learned nothing a constant answer would not give
        fig.add_hline(y=base, line={"dash": "dash", "color": BLUE}, row=1, col=1,
                      annotation_text=f"majority baseline {base:.1%}", annotation_position="bottom right")
    dp = [r for r in rows if r["epsilon"] is not None]
    fig.add_bar(x=[f"ε={r['epsilon']:.2g}" for r in dp], y=[r["epsilon"] for r in dp],
                name="accountant epsilon (upper bound)", marker_color=BLUE, opacity=0.5, row=1, col=2)
    fig.add_bar(x=labels, y=[r["empirical_epsilon"] for r in rows], name="attack's epsilon (95% lower bound)",
                marker_color=ORANGE, row=1, col=2)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", row=1, col=1)
    fig.update_yaxes(title="epsilon", row=1, col=2)
    return _layout(fig, "What differential privacy buys and costs", height=420)


def group_sizes(histogram: dict[str, int], k: int) -> go.Figure:
    """k-anonymity: how many equivalence classes have each size; classes below k in orange."""
    sizes = [int(s) for s in histogram]
    fig = go.Figure(go.Bar(x=[str(s) for s in sizes], y=list(histogram.values()),
                           marker_color=[ORANGE if s < k else BLUE for s in sizes],
                           hovertemplate="%{y} groups of %{x} rows<extra></extra>"))
    fig.update_xaxes(title="rows sharing the same quasi-identifier values (smallest sizes)", type="category")
    fig.update_yaxes(title="groups")
    return _layout(fig, f"k-anonymity: group sizes (orange: below k={k})", height=320)


def _frontier(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Pareto front for (cost, accuracy): lower cost and higher accuracy are better."""
    front, best = [], -1.0
    for cost, acc in sorted(points):
        if acc > best:
            front.append((cost, acc))
            best = acc
    return front


def compression_pareto(parent: dict, rows: list[dict]) -> go.Figure:
    """Accuracy against size on disk and against latency (batch 256), the parent marked; dotted: Pareto front."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Size on disk (KiB, log scale)", "Latency, batch 256 (ms)"),
                        horizontal_spacing=0.1)
    for col, key, scale in ((1, "size_bytes", 1 / 1024), (2, "latency_b256_ms", 1.0)):
        pts = [(parent[key] * scale, parent["accuracy"])] + [(r[key] * scale, r["accuracy"]) for r in rows]
        front = _frontier(pts)
        fig.add_scatter(x=[p[0] for p in front], y=[p[1] for p in front], mode="lines", line={"dash": "dot",
                        "color": GREY}, name="Pareto front", showlegend=col == 1, hoverinfo="skip", row=1, col=col)
        fig.add_scatter(x=[parent[key] * scale], y=[parent["accuracy"]], mode="markers+text", text=["original"],
                        textposition="bottom center", marker={"symbol": "star", "size": 18, "color": "#222222"},
                        name="original", showlegend=col == 1, row=1, col=col,
                        hovertemplate="original<br>%{x:.1f}<br>accuracy %{y:.2%}<extra></extra>")
        fig.add_scatter(x=[r[key] * scale for r in rows], y=[r["accuracy"] for r in rows], mode="markers+text",
                        text=[r["method"] for r in rows], textposition="top center", name="variants",
                        marker={"size": 11, "color": [PALETTE[i % len(PALETTE)] for i in range(len(rows))]},
                        showlegend=col == 1, row=1, col=col,
                        hovertemplate="%{text}<br>%{x:.1f}<br>accuracy %{y:.2%}<extra></extra>")
    fig.update_xaxes(type="log", row=1, col=1)
    fig.update_yaxes(tickformat=".1%", title="test accuracy", row=1, col=1)
    fig.update_yaxes(tickformat=".1%", row=1, col=2)
    return _layout(fig, "Compression trade-offs: accuracy against size and speed", height=440)


def compression_deltas(rows: list[dict], key: str, title: str, axis: str) -> go.Figure:
    """One bar per variant: the change in ``key``, a rate, against the parent (fairness gap, robust accuracy), in
    percentage points as every change of a rate is written ("+12.0 pts", not "+0.120")."""
    vals = [r.get(key) for r in rows]
    words = ["n/a" if v is None else f"{v * 100:+.1f} pts" for v in vals]
    fig = go.Figure(go.Bar(x=[r["method"] for r in rows], y=[v * 100 if v is not None else 0 for v in vals],
                           text=words, textposition="outside", cliponaxis=False,
                           marker_color=[GREY if v is None else ORANGE if v < 0 else BLUE for v in vals]))
    fig.update_yaxes(title=f"{axis} (percentage points)", zeroline=True, tickformat="+.1f", ticksuffix=" pts")
    fig.update_layout(meta={"alt": "; ".join(f"{r['method']}: {w}" for r, w in zip(rows, words, strict=True))})
    return _layout(fig, title, height=340)


def radar(dimensions: list[str], series: list[tuple[str, list[float]]]) -> go.Figure:
    """Scorecard radar on absolute axes: each value on its own fixed scale, 0 at the centre, 1 (perfect) at the
    edge; never rescaled to the models shown, so a small difference looks small."""
    fig = go.Figure()
    for i, (label, values) in enumerate(series):
        vals = [float(v) for v in values]
        fig.add_scatterpolar(r=vals + vals[:1], theta=dimensions + dimensions[:1], fill="toself", name=label,
                             opacity=0.55, line={"color": PALETTE[i % len(PALETTE)]},
                             hovertemplate="%{theta}: %{r:.1%}<extra>" + label + "</extra>")
    # a transparent disc with grey grid lines: readable on the light and the dark theme (no white disc on dark)
    grid = {"gridcolor": "rgba(128,128,128,0.35)", "linecolor": "rgba(128,128,128,0.5)"}
    # the percentages along a line halfway between the first two axes (along an axis they ran into its name)
    fig.update_layout(polar={"bgcolor": "rgba(0,0,0,0)",
                             "radialaxis": {"range": [0, 1], "tickformat": ".0%", "tickvals": [0.25, 0.5, 0.75, 1],
                                            "angle": 180 / max(len(dimensions), 1), "tickfont": {"size": 10},
                                            **grid},
                             "angularaxis": grid})
    return _layout(fig, "Scorecard (absolute axes: the edge is perfect)", height=480)


def corruption_heatmap(rows: list[dict]) -> go.Figure:
    """Accuracy per corruption (rows) and severity (columns), worst corruptions at the top."""
    names = list(dict.fromkeys(r["corruption"] for r in rows))
    sev = sorted({r["severity"] for r in rows})
    acc = {(r["corruption"], r["severity"]): r for r in rows}
    names.sort(key=lambda c: np.mean([acc[(c, s)]["accuracy"] for s in sev if (c, s) in acc]))
    z = [[acc[(c, s)]["accuracy"] if (c, s) in acc else None for s in sev] for c in names]
    text = [[f"{v:.0%}" if v is not None else "" for v in row] for row in z]
    hover = [[f"{c}, severity {s} ({acc[(c, s)]['parameter']} {acc[(c, s)]['value']:g}): accuracy "
              f"{acc[(c, s)]['accuracy']:.1%} [{acc[(c, s)]['ci_low']:.1%}, {acc[(c, s)]['ci_high']:.1%}]"
              if (c, s) in acc else "" for s in sev] for c in names]
    fig = go.Figure(go.Heatmap(z=z, x=[f"severity {s}" for s in sev], y=names, zmin=0, zmax=1, colorscale="RdYlGn",
                               text=text, texttemplate="%{text}", hovertext=hover, hoverinfo="text",
                               colorbar={"title": "accuracy", "tickformat": ".0%"}))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, "Accuracy under each corruption and severity", height=max(320, 28 * len(names) + 120))


def corruption_curves(series: list[tuple[str, list[dict]]]) -> go.Figure:
    """Mean accuracy over corruptions against severity, one line per model."""
    fig = go.Figure()
    for i, (label, rows) in enumerate(series):
        sev = sorted({r["severity"] for r in rows})
        ys = [float(np.mean([r["accuracy"] for r in rows if r["severity"] == s])) for s in sev]
        fig.add_scatter(x=sev, y=ys, mode="lines+markers", name=label, line={"color": PALETTE[i % len(PALETTE)]},
                        hovertemplate="severity %{x}<br>mean accuracy %{y:.1%}<extra>" + label + "</extra>")
    fig.update_xaxes(title="severity (1 mild .. 5 severe)", dtick=1)
    fig.update_yaxes(title="mean accuracy over corruptions", tickformat=".0%", range=[0, 1.02])
    return _layout(fig, "Accuracy as corruptions get worse", height=380)


def reliability_diagram(rows: list[dict], ece: float | None = None) -> go.Figure:
    """Accuracy against confidence per bin (bars; bar width = bin), the diagonal of perfect calibration, and how
    many examples fall in each bin."""
    filled = [r for r in rows if r["count"]]
    fig = make_subplots(rows=2, cols=1, row_heights=[0.75, 0.25], shared_xaxes=True, vertical_spacing=0.05)
    fig.add_bar(x=[(r["low"] + r["high"]) / 2 for r in filled], y=[r["accuracy"] for r in filled],
                width=[r["high"] - r["low"] for r in filled], name="accuracy in bin", marker_color=BLUE,
                customdata=[[r["confidence"], r["count"]] for r in filled],
                hovertemplate="confidence %{customdata[0]:.1%}<br>accuracy %{y:.1%}<br>%{customdata[1]} examples"
                              "<extra></extra>", row=1, col=1)
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect calibration",
                    line={"color": GREY, "dash": "dash"}, row=1, col=1)
    fig.add_bar(x=[(r["low"] + r["high"]) / 2 for r in filled], y=[r["count"] for r in filled],
                width=[r["high"] - r["low"] for r in filled], name="examples", marker_color=ORANGE, row=2, col=1)
    fig.update_yaxes(title="accuracy", tickformat=".0%", range=[0, 1.02], row=1, col=1)
    fig.update_yaxes(title="examples", row=2, col=1)
    fig.update_xaxes(title="confidence (top class)", tickformat=".0%", range=[0, 1], row=2, col=1)
    title = "Reliability: is the model right as often as it says?" + (f" (ECE {ece:.3f})" if ece is not None else "")
    return _layout(fig, title, height=460)


def group_coverage(rows: list[dict], target: float) -> go.Figure:
    """Conformal coverage per group with its 95% interval and the target; small groups in grey."""
    fig = go.Figure()
    labels = [f"{r['attribute']}={r['group']} (n={r['n']})" for r in rows]
    fig.add_bar(x=labels, y=[r["coverage"] for r in rows],
                marker_color=[GREY if r["too_small"] else BLUE for r in rows],
                error_y={"type": "data", "symmetric": False,
                         "array": [r["coverage_ci_high"] - r["coverage"] for r in rows],
                         "arrayminus": [r["coverage"] - r["coverage_ci_low"] for r in rows]},
                hovertemplate="%{x}<br>coverage %{y:.1%}<extra></extra>", name="coverage")
    fig.add_hline(y=target, line_dash="dash", line_color=ORANGE, annotation_text=f"target {target:.0%}")
    fig.update_yaxes(title="coverage of the true class", tickformat=".0%", range=[0, 1.05])
    return _layout(fig, "Conformal prediction sets: coverage per group (grey: too small to judge)", height=380)


def drift_bars(rows: list[dict]) -> go.Figure:
    """Population stability index per feature and model output; drifted ones in orange."""
    rows = sorted([r for r in rows if r.get("psi") is not None], key=lambda r: r["psi"])
    fig = go.Figure(go.Bar(x=[r["psi"] for r in rows], y=[r["feature"] for r in rows], orientation="h",
                           marker_color=[ORANGE if r.get("drifted") else BLUE for r in rows],
                           customdata=[[r["test"], r["p_value"] if r["p_value"] is not None else float("nan")]
                                       for r in rows],
                           hovertemplate="%{y}<br>PSI %{x:.3f}<br>%{customdata[0]} p = %{customdata[1]:.2g}"
                                         "<extra></extra>"))
    fig.add_vline(x=0.1, line_dash="dot", line_color=GREY, annotation_text="moderate (0.1)")
    fig.add_vline(x=0.25, line_dash="dash", line_color=GREY, annotation_text="large (0.25)")
    fig.update_xaxes(title="population stability index (orange: drifted)")
    return _layout(fig, "Drift per input feature and model output", height=max(300, 26 * len(rows) + 120))


def ood_roc(rows: list[dict], auroc: dict[str, float]) -> go.Figure:
    """ROC of telling in-domain from shifted inputs by the model's own scores."""
    fig = go.Figure()
    for i, score in enumerate(dict.fromkeys(r["score"] for r in rows)):
        part = [r for r in rows if r["score"] == score]
        fig.add_scatter(x=[r["fpr"] for r in part], y=[r["tpr"] for r in part], mode="lines",
                        name=f"{score} (AUROC {auroc.get(score, float('nan')):.2f})",
                        line={"color": PALETTE[i % len(PALETTE)]})
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", line={"color": GREY, "dash": "dash"})
    fig.update_xaxes(title="shifted inputs accepted as in-domain", tickformat=".0%")
    fig.update_yaxes(title="in-domain inputs accepted", tickformat=".0%")
    return _layout(fig, "Would the model notice? Out-of-distribution detection", height=400)


def sweep_bars(rows: list[dict], metrics: list[tuple[str, str]]) -> go.Figure:
    """One panel per metric, one bar per model of an augmentation sweep."""
    shown = [(k, t) for k, t in metrics if any(r.get(k) is not None for r in rows)]
    fig = make_subplots(rows=1, cols=max(1, len(shown)), subplot_titles=[t for _, t in shown])
    for j, (key, _) in enumerate(shown):
        fig.add_bar(x=[r["augment"] for r in rows], y=[r.get(key) for r in rows], showlegend=False,
                    marker_color=[GREY if r["augment"] == "none" else PALETTE[i % len(PALETTE)]
                                  for i, r in enumerate(rows)],
                    text=[None if r.get(key) is None else f"{r[key]:.3f}" for r in rows], textposition="outside",
                    row=1, col=j + 1)
    fig.update_annotations(font_size=12)
    return _layout(fig, "Baseline (grey) and augmented siblings, same seed", height=380)


def corruption_gallery(items: list[dict], gap: int = 4, gap_x: int = 18) -> go.Figure:
    """One test image under each corruption (rows) at each severity shown (columns), the model's answer on each."""
    names = list(dict.fromkeys(i["corruption"] for i in items))
    sevs = sorted({i["severity"] for i in items})
    h, w = np.asarray(items[0]["image"]).shape
    canvas = np.full((len(names) * (h + gap), len(sevs) * (w + gap_x)), np.nan, dtype=np.float32)
    fig = go.Figure()
    for item in items:
        r, c = names.index(item["corruption"]), sevs.index(item["severity"])
        canvas[r * (h + gap):r * (h + gap) + h, c * (w + gap_x):c * (w + gap_x) + w] = np.asarray(item["image"])
        wrong = item["prediction"] != item["true"]
        fig.add_annotation(x=c * (w + gap_x) + w + 1, y=r * (h + gap) + h / 2, text=f"→{item['prediction']}",
                           showarrow=False, xanchor="left", font={"size": 12, "color": "#c0392b" if wrong else GREY})
    fig.add_trace(go.Heatmap(z=canvas, colorscale="gray_r", showscale=False, hoverinfo="skip"))
    fig.update_xaxes(tickvals=[c * (w + gap_x) + w / 2 for c in range(len(sevs))],
                     ticktext=[f"severity {s}" for s in sevs], side="top", showgrid=False, zeroline=False)
    fig.update_yaxes(tickvals=[r * (h + gap) + h / 2 for r in range(len(names))], ticktext=names,
                     autorange="reversed", scaleanchor="x", showgrid=False, zeroline=False)
    fig = title_clear_of_labels(_layout(
        fig, f"One test image (true class {items[0]['true']}) under each corruption; red: wrong",
        height=70 * len(names) + 110), room=24)  # the severities are written above the images
    fig.update_layout(width=170 * len(sevs) + 170)
    return fig


def deletion_curves(rows: list[dict], method: str) -> go.Figure:
    """The model's confidence in its answer as features are deleted: the method's order against a random one."""
    fig = go.Figure()
    x = [r["fraction"] for r in rows]
    fig.add_scatter(x=x, y=[r["method"] for r in rows], mode="lines+markers", name=method.replace("_", " "),
                    line={"color": BLUE}, hovertemplate="%{x:.0%} deleted<br>confidence %{y:.1%}<extra></extra>")
    fig.add_scatter(x=x, y=[r["random"] for r in rows], mode="lines+markers", name="random order",
                    line={"color": GREY, "dash": "dash"},
                    hovertemplate="%{x:.0%} deleted<br>confidence %{y:.1%}<extra>random</extra>")
    fig.update_xaxes(title="share of the input deleted, most important first", tickformat=".0%", range=[0, 1])
    fig.update_yaxes(title="confidence in the original answer", tickformat=".0%", range=[0, 1.02])
    return _layout(fig, "Faithfulness: deleting what the explanation ranks first should hurt most", height=360)


def attribution_gallery(examples: list[dict]) -> go.Figure:
    """Each explained image (top) and where the attribution lies (bottom, darker is more)."""
    k = len(examples)
    fig = make_subplots(rows=2, cols=k, horizontal_spacing=0.01, vertical_spacing=0.08,
                        subplot_titles=[f"{e['label']} → {e['predicted']}" for e in examples] + [""] * k)
    for i, e in enumerate(examples, 1):
        fig.add_trace(go.Heatmap(z=e["image"], colorscale="Greys", showscale=False, zmin=0, zmax=1,
                                 hoverinfo="skip"), row=1, col=i)
        fig.add_trace(go.Heatmap(z=e["attribution"], colorscale="Reds", showscale=False, zmin=0, zmax=1,
                                 hovertemplate="attribution %{z:.2f}<extra></extra>"), row=2, col=i)
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", constrain="domain")
    for i in range(1, 2 * k + 1):  # each picture square in its own cell
        fig.layout[f"yaxis{i if i > 1 else ''}"].scaleanchor = f"x{i if i > 1 else ''}"
    fig.update_annotations(font_size=11)
    fig = _layout(fig, "Inputs (label → prediction) and attributions", height=300)
    fig.update_layout(margin={"t": 80})
    return fig


def importance_bars(rows: list[dict], top: int = 15) -> go.Figure:
    """Global importance: each feature's share of the attribution, and the accuracy lost when it is shuffled."""
    rows = rows[:top][::-1]
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.03,
                        subplot_titles=("share of the attribution", "accuracy lost when shuffled"))
    names = [r["feature"] for r in rows]
    fig.add_bar(y=names, x=[r["mean_abs_attribution_share"] for r in rows], orientation="h", marker_color=BLUE,
                showlegend=False, hovertemplate="%{y}: %{x:.1%}<extra></extra>", row=1, col=1)
    if rows and "permutation_importance" in rows[0]:
        fig.add_bar(y=names, x=[r["permutation_importance"] for r in rows], orientation="h", marker_color=ORANGE,
                    showlegend=False, error_x={"type": "data", "symmetric": False,
                                               "array": [r["high"] - r["permutation_importance"] for r in rows],
                                               "arrayminus": [r["permutation_importance"] - r["low"] for r in rows]},
                    hovertemplate="%{y}: %{x:.1%}<extra></extra>", row=1, col=2)
    fig.update_xaxes(tickformat=".0%")
    fig.update_annotations(font_size=12)
    return _layout(fig, "What the model leans on", height=max(320, 24 * len(rows) + 120))


def row_attributions(example: dict, top: int = 12) -> go.Figure:
    """One prediction explained: each feature with its value (original units) and its attribution towards the
    predicted class (orange pushes towards it, blue away)."""
    rows = example["features"][:top][::-1]
    labels = [f"{r['feature']} = {r['value']}" for r in rows]
    fig = go.Figure(go.Bar(y=labels, x=[r["attribution"] for r in rows], orientation="h",
                           marker_color=[ORANGE if r["attribution"] > 0 else BLUE for r in rows],
                           hovertemplate="%{y}<br>attribution %{x:.3f}<extra></extra>"))
    fig.update_xaxes(title=f"← away from {example['predicted']} · towards it →", zeroline=True)
    return _layout(fig, f"Row {example['index']}: label {example['label']}, predicted {example['predicted']}",
                   height=max(300, 24 * len(rows) + 110))


def recourse_by_group(rows: list[dict]) -> go.Figure:
    """For refused people of each group: the share for whom a realistic change turns the decision (95% interval;
    grey: too few refused to judge), with the average cost of that change in the hover."""
    fig = go.Figure()
    x = [f"{r['sensitive']}: {r['group']}" for r in rows]
    y = [r["share"] for r in rows]
    fig.add_bar(x=x, y=y, marker_color=[GREY if r["small"] else BLUE for r in rows],
                error_y={"type": "data", "symmetric": False,
                         "array": [r["share_ci_high"] - r["share"] for r in rows],
                         "arrayminus": [r["share"] - r["share_ci_low"] for r in rows]},
                customdata=[[r["refused"], r["mean_cost"] if r["mean_cost"] is not None else float("nan")]
                            for r in rows],
                hovertemplate="%{x}<br>recourse for %{y:.0%} of %{customdata[0]} refused"
                              "<br>average cost %{customdata[1]:.2f}<extra></extra>")
    fig.update_yaxes(title="refused people with recourse", tickformat=".0%", range=[0, 1.05])
    return _layout(fig, "Recourse by group: who can turn a refusal with a realistic change (grey: too few)",
                   height=360)


def token_highlights(texts: list[dict], per_line: int = 12) -> go.Figure:
    """Texts as highlighted tokens: orange pushes towards the predicted class, blue away; stronger is darker."""
    xs, ys, labels, weights, titles = [], [], [], [], []
    line = 0
    for t in texts:
        titles.append((line, f"label {t['label']} → {t['predicted']} (row {t['index']})"))
        xs.append(0)  # an empty cell on the title's row keeps every row the same height
        ys.append(line)
        labels.append("")
        weights.append(None)
        for j, (tok, w) in enumerate(zip(t["tokens"], t["attribution"], strict=True)):
            xs.append(j % per_line)
            ys.append(line + 1 + j // per_line)
            labels.append(tok)
            weights.append(w)
        line += 2 + (max(len(t["tokens"]), 1) - 1) // per_line
    fig = go.Figure(go.Heatmap(x=xs, y=ys, z=weights, colorscale=[[0, BLUE], [0.5, "#ffffff"], [1, ORANGE]],
                               zmin=-1, zmax=1, showscale=False, xgap=2, ygap=4, text=labels,
                               texttemplate="%{text}", hovertemplate="%{text}: %{z:.2f}<extra></extra>"))
    for y, title in titles:
        fig.add_annotation(x=-0.5, y=y, text=f"<b>{title}</b>", showarrow=False, xanchor="left", font_size=11)
    fig.update_xaxes(visible=False, range=[-0.6, per_line - 0.4])
    fig.update_yaxes(visible=False, autorange="reversed")
    return _layout(fig, "Token attributions (orange: towards the prediction; blue: against)",
                   height=max(260, 26 * line + 80))


def backdoor_anomaly(rows: list[dict], threshold: float = 2.0) -> go.Figure:
    """The anomaly index per class (how unusually small a trigger reaches it), the threshold as a line."""
    names = [str(r["class"]) for r in rows]
    values = [r["anomaly_index"] for r in rows]
    fig = go.Figure(go.Bar(x=names, y=values, marker_color=[ORANGE if v > threshold else BLUE for v in values],
                           customdata=[[r["mask_l1"], r["reaches"]] for r in rows],
                           hovertemplate="class %{x}<br>anomaly index %{y:.2f}<br>trigger size (L1) "
                                         "%{customdata[0]:.1f}<br>reaches %{customdata[1]:.0%} of inputs"
                                         "<extra></extra>"))
    fig.add_hline(y=threshold, line_dash="dash", line_color=GREY, annotation_text=f"threshold {threshold:g}")
    fig.update_xaxes(type="category", title="target class")
    fig.update_yaxes(title="anomaly index")
    return _layout(fig, "Which class can be reached with an unusually small trigger?", height=360)


def backdoor_rows(trigger: dict, examples: list[dict], cols: int = 9) -> go.Figure:
    """The recovered trigger (mask times pattern) beside the training images the audit suspects."""
    first = np.asarray(trigger["mask"], dtype=np.float32) * np.asarray(trigger["pattern"], dtype=np.float32)
    images = np.stack([first] + [np.asarray(e["image"], dtype=np.float32) for e in examples])
    fig = image_grid(images, ["trigger"] + [f"row {e['row']}" for e in examples], cols=cols)
    return _layout(fig, "Recovered trigger and suspected training rows", height=150 * int(np.ceil(len(images) / cols))
                   + 80)


def certified_curves(rows: list[dict], sigma: float) -> go.Figure:
    """Certified accuracy (band: 95% interval) and empirical accuracy under PGD-L2 against the L2 radius."""
    xs = [r["radius"] for r in rows]
    fig = go.Figure()
    fig.add_scatter(x=xs + xs[::-1], y=[r["certified_ci_high"] for r in rows] + [r["certified_ci_low"]
                                                                                   for r in rows][::-1],
                    fill="toself", fillcolor=BLUE, opacity=0.15, line={"width": 0}, hoverinfo="skip",
                    showlegend=False)
    fig.add_scatter(x=xs, y=[r["certified_accuracy"] for r in rows], mode="lines+markers", name="certified (proven)",
                    line={"color": BLUE}, hovertemplate="radius %{x}<br>certified %{y:.1%}<extra></extra>")
    fig.add_scatter(x=xs, y=[r["empirical_accuracy"] for r in rows], mode="lines+markers",
                    name="empirical under PGD-L2 (an upper bound)", line={"color": ORANGE, "dash": "dash"},
                    hovertemplate="radius %{x}<br>after PGD-L2 %{y:.1%}<extra></extra>")
    fig.add_scatter(x=xs, y=[r["abstain_rate"] for r in rows], mode="lines", name="abstained",
                    line={"color": GREY, "dash": "dot"}, hovertemplate="abstained %{y:.1%}<extra></extra>")
    fig.update_xaxes(title="L2 radius")
    fig.update_yaxes(title="share of inputs", tickformat=".0%", range=[0, 1.02])
    return _layout(fig, f"Randomized smoothing (sigma {sigma:g}): proven against attacked accuracy", height=400)


def canary_exposure(rows: list[dict]) -> go.Figure:
    """Canary exposure (bits) against how often the canary was in the training texts; the possible maximum as a
    line (log2 of the number of secrets; a sampled estimate tops out lower)."""
    rows = sorted(rows, key=lambda r: r["repetitions"])
    fig = go.Figure(go.Scatter(
        x=[r["repetitions"] for r in rows], y=[r["exposure"] for r in rows], mode="lines+markers", name="exposure",
        line={"color": BLUE}, customdata=[[r["rank"], r.get("method", "exact")] for r in rows],
        hovertemplate="repeated %{x} times<br>exposure %{y:.2f} bits<br>rank %{customdata[0]:,}"
                      "<br>%{customdata[1]}<extra></extra>"))
    top = max(np.log2(r["space"]) for r in rows)
    fig.add_hline(y=top, line_dash="dash", line_color=GREY, annotation_text=f"every secret ranked below it "
                                                                            f"({top:.1f} bits)")
    fig.add_hline(y=1.44, line_dash="dot", line_color=GREY, annotation_text="a secret never seen (1.44 bits on "
                                                                            "average)", annotation_position="top left")
    fig.update_xaxes(type="log", title="times the canary is in the training texts")
    fig.update_yaxes(title="exposure (bits)", rangemode="tozero")
    return _layout(fig, "Does the model memorise what it saw more often?", height=380)


def lm_remedies(rows: list[dict], title: str = "Each remedy: privacy gained, perplexity paid") -> go.Figure:
    """Each variant's exposure of the most repeated canary against its test perplexity (lower left is better); rows
    name themselves in ``variant``."""
    fig = go.Figure(go.Scatter(
        x=[r["test_perplexity"] for r in rows], y=[r["most_repeated_exposure"] for r in rows], mode="markers+text",
        text=[r["variant"] for r in rows], textposition="top center",
        marker={"size": 12, "color": [ORANGE if r["variant"] == "as trained" else BLUE for r in rows]},
        hovertemplate="%{text}<br>perplexity %{x:.1f}<br>exposure %{y:.2f} bits<extra></extra>"))
    fig.update_xaxes(title="test perplexity (lower: a better language model)")
    fig.update_yaxes(title="exposure of the most repeated canary (bits)", rangemode="tozero")
    return _layout(fig, title, height=400)


def probe_groups(rows: list[dict], generations: list[dict]) -> go.Figure:
    """Mean sentiment and profanity of the continuations per group word, with each continuation as a point."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=["sentiment (P(positive) - P(negative))",
                                                        "profanity (probability)"])
    for col, name in ((1, "sentiment"), (2, "profanity")):
        fig.add_bar(x=[r["group"] for r in rows], y=[r[name] for r in rows], marker_color=BLUE, name=f"mean {name}",
                    showlegend=False, hovertemplate="%{x}: mean %{y:.3f}<extra></extra>", row=1, col=col)
        fig.add_scatter(x=[g["group"] for g in generations], y=[g[name] for g in generations], mode="markers",
                        marker={"color": GREY, "size": 5, "opacity": 0.5}, showlegend=False,
                        text=[g["continuation"] for g in generations],
                        hovertemplate="%{x}: %{y:.3f}<br>%{text}<extra></extra>", row=1, col=col)
    return _layout(fig, "Continuations by group word", height=380)


def _reads(value, percent: bool) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "none"
    if isinstance(value, str):
        return value
    from ._format import number, pct

    return pct(float(value)) if percent else number(value)


def _words(text) -> str:
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", " ", str(text))).replace("  ", " ").strip()  # markup out, then text


def text_alternative(fig: go.Figure, limit: int = 6, traces: int = 4,  # noqa: C901 - one branch per kind
                     read_labels: bool = False) -> str:
    """What a chart shows in words and numbers, for a reader who cannot see it: its title, then for each series its
    points (``label value``; a long series as its count, range, first and last), a heatmap's size, range and highest
    cell; numbers read as the axis shows them (percentages on a percent axis). The first ``limit`` points of the first
    ``traces`` series, then how many more. A builder may say it better itself, in the layout's ``meta["alt"]``
    (the confusion matrix: how much is right and the most frequent mistake). ``read_labels``: numbers along the other
    axis read as it shows them too (on a percent axis "false-positive 0.6%", not "0.005556"; else "0.0864", not
    "0.08639705882352944"); pages ask for it, a report reads as it was written (its HTML is verified by rendering its
    record again)."""
    layout = fig.layout
    title = _words(layout.title.text) if layout.title and layout.title.text else "Chart"
    if isinstance(layout.meta, dict) and layout.meta.get("alt"):  # the chart's builder says what matters in it
        return f"{title}. {layout.meta['alt']}."
    parts = []
    panels = list(dict.fromkeys(t.xaxis or "x" for t in fig.data if "xaxis" in t))  # subplots, with their titles
    titles = [a.text for a in layout.annotations or ()] if 1 < len(panels) <= len(layout.annotations or ()) else []
    shown = [t for t in fig.data if (t.type != "scatter" or t.fill in (None, "none"))  # not a band
             and t.hoverinfo != "skip"]  # nor a decoration (the grey of groups not measured)
    for trace in shown[:traces]:
        kind = trace.type
        name = _words(trace.name) if getattr(trace, "name", None) else ""
        horizontal = getattr(trace, "orientation", None) == "h"
        if kind in ("bar", "scatter", "scattergl"):
            axis = (trace.xaxis if horizontal else trace.yaxis) or ("x" if horizontal else "y")
            value_axis = layout[f"{axis[0]}axis{axis[1:]}"]
            fmt = value_axis.tickformat or ""
            what = value_axis.title.text if value_axis.title and value_axis.title.text else (
                titles[panels.index(trace.xaxis or "x")] if titles else None)
            if what and len(fig.data) > 1:
                name = f"{name} ({_words(what)})" if name else _words(what)
            labels, values = (trace.y, trace.x) if horizontal else (trace.x, trace.y)
            if values is None:
                continue
            labels = list(labels) if labels is not None else list(range(1, len(values) + 1))
            label_axis = layout["yaxis" if horizontal else "xaxis"]
            axis_words = _words(label_axis.title.text) if label_axis.title and label_axis.title.text else ""
            # "epoch 3", "epsilon 0.1", "class 7": the axis's first word (a bar's only when that is all it says)
            unit = axis_words.split(" ")[0] + " " if axis_words and (kind != "bar" or " " not in axis_words) else ""
            as_percent = "%" in (label_axis.tickformat or "") or any("%" in str(t) for t in label_axis.ticktext or ())
            pairs = [(_reads(float(lab), as_percent) if read_labels and isinstance(lab, int | float | np.number)
                      and not isinstance(lab, bool) else _words(lab), _reads(v, "%" in fmt))
                     for lab, v in zip(labels, values, strict=False)]
            if len(pairs) > limit and kind != "bar":
                numbers = [float(v) for v in values if v is not None and v == v]
                text = (f"{len(pairs)} points from {unit}{pairs[0][0]} ({pairs[0][1]}) to {unit}{pairs[-1][0]} "
                        f"({pairs[-1][1]})"
                        + (f", between {_reads(min(numbers), '%' in fmt)} and {_reads(max(numbers), '%' in fmt)}"
                           if numbers else ""))
            else:
                text = "; ".join(f"{unit}{lab.removeprefix(name + ': ')}: {v}" for lab, v in pairs[:limit])
                text += f" and {len(pairs) - limit} more" if len(pairs) > limit else ""
        elif kind == "heatmap" and trace.z is not None:
            z = np.asarray([np.nan if v is None else v for v in np.ravel(np.asarray(trace.z, dtype=object))],
                           dtype=float).reshape(np.shape(trace.z))
            if z.size == 0 or np.isnan(z).all():
                continue
            if z.ndim == 1:  # cells placed by x and y (token highlights): the strongest cell's own text
                k = int(np.nanargmax(z))
                cell = trace.text[k] if trace.text is not None else f"{trace.x[k]}, {trace.y[k]}"
                parts.append(f"{z.size} cells from {_reads(np.nanmin(z), False)} to {_reads(np.nanmax(z), False)}, "
                             f"highest at {_words(cell)}")
                continue
            percent = "%" in ((trace.colorbar.tickformat or "") if trace.colorbar else "")
            xt, yt = ((_words(a.title.text) + " ") if a.title and a.title.text else "" for a in (layout.xaxis,
                                                                                               layout.yaxis))
            if trace.text is not None and z.size <= 2 * limit:  # a small grid: every cell as it is labelled
                parts.append("; ".join(f"{yt}{_words(y)} & {xt}{_words(x)}: {_words(trace.text[i][j])}"
                                       for i, y in enumerate(trace.y) for j, x in enumerate(trace.x)
                                       if _words(trace.text[i][j])))
                continue
            i, j = np.unravel_index(np.nanargmax(z), z.shape)
            xs = list(trace.x) if trace.x is not None else list(range(z.shape[1]))
            ys = list(trace.y) if trace.y is not None else list(range(z.shape[0]))
            text = (f"a {z.shape[0]} × {z.shape[1]} grid from {_reads(np.nanmin(z), percent)} to "
                    f"{_reads(np.nanmax(z), percent)}, highest at {yt}{_words(ys[i])}, {xt}{_words(xs[j])}")
        elif kind == "scatterpolar" and trace.r is not None:
            pairs = list(zip(trace.theta, trace.r, strict=False))
            pairs = pairs[:-1] if len(pairs) > 1 and pairs[-1][0] == pairs[0][0] else pairs  # the closing point
            percent = "%" in (layout.polar.radialaxis.tickformat or "")  # the radar's axis reads in percent
            text = "; ".join(f"{_words(t)}: {_reads(r, percent)}" for t, r in pairs)
        elif kind == "image":
            text = "an image"
        else:
            continue
        parts.append(f"{name}: {text}" if name else text)
    more = len(shown) - traces
    if not parts and layout.annotations:  # pictures (a grid of images): what their labels say
        notes = [_words(a.text) for a in layout.annotations if a.text]
        parts = [f"labelled {', '.join(notes[:2 * limit])}" + (f" and {len(notes) - 2 * limit} more"
                                                             if len(notes) > 2 * limit else "")]
    return (f"{title}. " + ". ".join(parts) + (f". And {more} more series" if more > 0 else "")
            + ("." if parts else "")).strip()
