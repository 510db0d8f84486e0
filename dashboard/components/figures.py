"""Plotly figures for result objects. Pure functions: data in, figure out (no streamlit)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

BLUE, ORANGE, GREY = "#2457a6", "#e07b24", "#8a94a6"


def _layout(fig: go.Figure, title: str, height: int = 320) -> go.Figure:
    fig.update_layout(title=title, height=height, margin={"l": 40, "r": 20, "t": 50, "b": 40},
                      template="plotly_white", legend={"orientation": "h", "y": -0.2})
    return fig


def label_balance(classes: list[str], counts: dict[str, list[int]]) -> go.Figure:
    """Grouped bars: examples per class in each split."""
    fig = go.Figure()
    for split, values in counts.items():
        fig.add_bar(name=split, x=list(classes), y=values)
    fig.update_layout(barmode="group", xaxis_title="class", yaxis_title="examples")
    return _layout(fig, "Label balance per split")


def group_distribution(attribute: str, rows: list[dict]) -> go.Figure:
    """Group sizes (bars) and each group's positive-label rate (line, right axis)."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    groups = [r["group"] for r in rows]
    fig.add_bar(x=groups, y=[r["count"] for r in rows], name="people", marker_color=BLUE)
    fig.add_scatter(x=groups, y=[r["positive_rate"] for r in rows], name="positive label rate",
                    mode="markers+lines", marker={"size": 10, "color": ORANGE}, secondary_y=True)
    fig.update_yaxes(title_text="people", secondary_y=False)
    fig.update_yaxes(title_text="positive rate", tickformat=".0%", secondary_y=True, rangemode="tozero")
    return _layout(fig, f"Sensitive attribute: {attribute}")


def image_grid(images: np.ndarray, labels: list[str], cols: int = 8) -> go.Figure:
    """A grid of grey images with their labels."""
    n = len(images)
    rows = int(np.ceil(n / cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=labels, horizontal_spacing=0.01, vertical_spacing=0.08)
    for i, img in enumerate(images):
        fig.add_trace(go.Heatmap(z=img.reshape(img.shape[-2:])[::-1], colorscale="gray_r", showscale=False,
                                 hoverinfo="skip"), row=i // cols + 1, col=i % cols + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    return _layout(fig, "Sample images", height=130 * rows + 60)


def training_curves(history: list[dict]) -> go.Figure:
    """Loss and accuracy per epoch, train and validation side by side."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"))
    epochs = [h["epoch"] for h in history]
    for key, col, name, color in [("train_loss", 1, "train", BLUE), ("val_loss", 1, "validation", ORANGE),
                                  ("train_accuracy", 2, "train", BLUE), ("val_accuracy", 2, "validation", ORANGE)]:
        if history and key in history[0]:
            fig.add_scatter(x=epochs, y=[h[key] for h in history], name=name, mode="lines+markers",
                            line={"color": color}, showlegend=col == 1, row=1, col=col)
    fig.update_xaxes(title_text="epoch", dtick=1)
    return _layout(fig, "Training curves")


def confusion_matrix(matrix: list[list[int]], classes: list[str]) -> go.Figure:
    """Confusion matrix as a heatmap, rows true class, columns predicted, counts written in."""
    z = np.asarray(matrix)
    fig = go.Figure(go.Heatmap(z=z, x=list(classes), y=list(classes), colorscale="Blues", text=z,
                               texttemplate="%{text}", hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", title="true class", type="category")
    fig.update_xaxes(title="predicted class", type="category")
    return _layout(fig, "Confusion matrix (test)", height=max(320, 36 * len(classes) + 120))


def per_class_accuracy(classes: list[str], values: list[float]) -> go.Figure:
    fig = go.Figure(go.Bar(x=list(classes), y=values, marker_color=BLUE, text=[f"{v:.1%}" for v in values],
                           textposition="outside"))
    fig.update_yaxes(range=[0, 1.08], tickformat=".0%", title="accuracy (recall)")
    fig.update_xaxes(type="category", title="class")
    return _layout(fig, "Per-class accuracy (test)")
