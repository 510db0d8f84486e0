"""Cached resources and derived data for the pages. The only module pages get engine objects from."""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st


@st.cache_resource
def _store_at(root: str):
    from fmcore.store import Store

    return Store(root)


def get_store():
    """The Store at ``$FMAUDIT_HOME``, one per process (thread-safe: each call opens its own connection)."""
    from fmcore.config import home

    return _store_at(str(home()))


def get_dataset(name: str, seed: int = 0):
    """A dataset by name (built-ins are cached by the engine; user CSVs come from the store)."""
    return _dataset_at(name, seed, str(get_store().root))


@st.cache_resource(show_spinner="Loading dataset...")
def _dataset_at(name: str, seed: int, root: str):
    from fmcore.data import load_dataset

    return load_dataset(name, seed=seed, store=_store_at(root))


def dataset_overview(name: str) -> dict:
    """Summary, label balance and sensitive-attribute counts of a dataset, JSON-ready."""
    return _overview_at(name, str(get_store().root))


@st.cache_data(show_spinner=False)
def _overview_at(name: str, root: str) -> dict:
    ds = _dataset_at(name, 0, root)
    summary = ds.summary()
    groups = {}
    if ds.spec.sensitive:
        import pandas as pd

        frames = [s.groups.assign(_label=s.y) for s in ds.splits.values()]
        allg = pd.concat(frames, ignore_index=True)
        for col in ds.spec.sensitive:
            table = allg.groupby(col, observed=True)["_label"].agg(["count", "mean"]).reset_index()
            groups[col] = [{"group": str(r[col]), "count": int(r["count"]), "positive_rate": float(r["mean"])}
                           for _, r in table.iterrows()]
    summary["groups"] = groups
    return summary


def forget_datasets() -> None:
    """Drop cached dataset summaries (after an upload changes the list)."""
    _overview_at.clear()


def model_history(record) -> list[dict]:
    path = Path(record.path) / "history.json"
    return json.loads(path.read_text()) if path.exists() else []
