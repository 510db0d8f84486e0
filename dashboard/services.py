"""Cached resources and derived data for the pages. The only module pages get engine objects from."""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st


@st.cache_resource
def _store_at(root: str):
    from fmcore.store import Store

    return Store(root)


STORE_WRITES = ("register_model", "add_audit", "delete_model", "add_dataset", "import_model", "export_model",
                "annotate_metrics", "create_run", "finish_run")
RUNNER_WRITES = ("submit", "cancel")


class ReadOnly:
    """A store or runner as a viewer sees it: reading works, changing raises a clear error."""

    def __init__(self, inner, blocked: tuple[str, ...]):
        self._inner, self._blocked = inner, blocked

    def __getattr__(self, name):
        if name in self._blocked:
            def refuse(*args, **kwargs):
                from fmcore.errors import FmauditError

                raise FmauditError("Your role is viewer: you can read audits and download reports. Running jobs, "
                                   "uploading and deleting need the auditor role.")
            return refuse
        return getattr(self._inner, name)


def can_act() -> bool:
    """True unless the signed-in user is a viewer."""
    return (st.session_state.get("user") or {}).get("role", "auditor") != "viewer"


def get_store():
    """The Store at ``$FMAUDIT_HOME``, one per process (thread-safe: each call opens its own connection);
    read-only for viewers."""
    from fmcore.config import home

    store = _store_at(str(home()))
    return store if can_act() else ReadOnly(store, STORE_WRITES)


@st.cache_resource
def _runner_at(root: str):
    from fmcore.jobs import JobRunner

    # start() marks jobs left running by a dead server as interrupted, then schedules the queue
    return JobRunner(_store_at(root)).start()


def get_runner():
    """The job runner of this server process (workers are separate processes); read-only for viewers."""
    runner = _runner_at(str(get_store().root))
    return runner if can_act() else ReadOnly(runner, RUNNER_WRITES)


def executor_line() -> str:
    """Where the jobs' sweeps run, from the server's environment (the page never connects to Ray itself)."""
    import os

    from fmcore.jobs import executor_from_env

    executor = executor_from_env()
    if executor.name == "local":
        return ("Sweeps run inside each job's worker process, one task after another "
                "(set FMAUDIT_EXECUTOR=ray to fan them out on Ray).")
    where = executor.address or f"a private Ray instance per job ({os.environ.get('FMAUDIT_RAY_CPUS') or 'all'} CPUs)"
    return (f"Sweeps (attack epsilons, compression methods, bootstrap chunks, LiRA reference models) fan out as "
            f"Ray tasks on {where}; results land in this store. Each job's log names the cluster and its CPUs.")


def models_where(keep=lambda record: True) -> list:
    """Registered models, newest first, without the pretrained bases, filtered by ``keep(record)``."""
    return [m for m in reversed(get_store().list_models()) if m.derivation.get("how") != "pretrained" and keep(m)]


def models_or_stop(empty: str, keep=lambda record: True, at_least: int = 1) -> tuple[list, dict]:
    """A page's models (``models_where(keep)``) and their labels by id; with fewer than ``at_least``, the
    page shows ``empty`` (what to do first) and stops there."""
    models = models_where(keep)
    if len(models) < at_least:
        st.info(empty)
        st.stop()
    return models, {m.id: f"{m.name} ({m.id})" for m in models}


def submit_training(dataset: str, model: str, config: dict, name: str | None = None):
    """Queue a training job; returns the job."""
    title = f"Train {model} on {dataset}"
    params = {"dataset": dataset, "model": model, "config": config, "name": name or None}
    return get_runner().submit("fmcore.jobs.tasks:train", params, title=title)


def submit_finetune(dataset: str, config: dict):
    """Queue a fine-tuning job; returns the job."""
    title = f"Fine-tune ({config.get('method', 'lora')}) on {dataset}"
    return get_runner().submit("fmcore.jobs.tasks:finetune", {"dataset": dataset, "config": config}, title=title)


def finetune_table(dataset: str) -> list[dict]:
    """One row per fine-tuned (or transferred / scratch-baseline) model of ``dataset``."""
    rows = []
    for r in get_store().list_models(dataset):
        cost = r.metrics.get("finetune")
        if not cost:
            continue
        rows.append({"id": r.id, "method": cost["method"], "test accuracy": r.metrics["accuracy"],
                     "macro-F1": r.metrics["macro_f1"], "trainable %": cost["trainable_percent"],
                     "trainable": cost["trainable_params"], "s/step": cost["step_time_s"],
                     "total s": cost["total_time_s"], "peak MB": cost["peak_memory_mb"],
                     "saved MB": (cost.get("adapter_bytes") or cost.get("weights_bytes") or 0) / 2**20,
                     "train examples": cost["train_examples"], "parent": r.parent_id or "", "created": r.created_at})
    return rows


def get_dataset(name: str, seed: int = 0):
    """A dataset by name (built-ins are cached by the engine; user CSVs come from the store)."""
    return _dataset_at(name, seed, str(get_store().root))


@st.cache_resource(show_spinner="Loading dataset...")
def _dataset_at(name: str, seed: int, root: str):
    from fmcore.data import load_dataset

    return load_dataset(name, seed=seed, store=_store_at(root))


def dataset_modality(name: str) -> str:
    """image, tabular or text, without loading a built-in dataset."""
    from fmcore.data import list_datasets

    builtin = {s.name: s.modality for s in list_datasets()}
    if name in builtin:
        return builtin[name]
    record = get_store().get_dataset(name)
    return "text" if record and record["text"] else "tabular"


def dataset_sensitive(name: str) -> list[str]:
    """The sensitive attributes a dataset declares, without loading a built-in one."""
    from fmcore.data import list_datasets

    builtin = {s.name: list(s.sensitive) for s in list_datasets()}
    if name in builtin:
        return builtin[name]
    record = get_store().get_dataset(name)
    return list(record["sensitive"]) if record else []


def dataset_features(name: str) -> list[str]:
    """The model input columns of a tabular dataset."""
    return [f.name for f in get_dataset(name).features]


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

        from audits._groups import group_values

        frames = [s.groups.assign(_label=s.y) for s in ds.splits.values()]
        allg = pd.concat(frames, ignore_index=True)
        for col in ds.spec.sensitive:
            allg[col] = group_values(allg[col])  # missing values are a group of their own
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


def baseline(record) -> dict | None:
    """The majority-class baseline of a model's test data (``accuracy``, ``class``): stored at training time,
    or worked out from its dataset for models made before that."""
    stored = record.metrics.get("majority_baseline")
    if stored:
        return stored
    split_seed = int(((record.config or {}).get("train") or {}).get("split_seed") or 0)
    try:
        return _baseline_at(record.dataset, split_seed, str(get_store().root))
    except Exception:  # noqa: BLE001  (a dataset that no longer loads: no baseline rather than no page)
        return None


@st.cache_data(show_spinner=False)
def _baseline_at(name: str, seed: int, root: str) -> dict:
    from fmcore.train import majority_baseline

    ds = _dataset_at(name, seed, root)
    b = majority_baseline(ds["train"].y, ds["test"].y)
    return {**b, "class": ds.spec.classes[b["class_index"]]}


def vs_baseline(record) -> str:
    """``"+1.4 points over always 'good' (70.0%)"``, or a flag when the model does not beat it."""
    b, acc = baseline(record), record.metrics.get("accuracy")
    if not b or acc is None:
        return ""
    gap = (acc - b["accuracy"]) * 100
    if record.metrics.get("beats_baseline") is False or gap <= 0:
        return f"not better than always answering '{b['class']}' ({b['accuracy']:.1%})"
    return f"{gap:+.1f} points over always answering '{b['class']}' ({b['accuracy']:.1%})"
