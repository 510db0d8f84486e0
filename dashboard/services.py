"""Cached resources and derived data for the pages. The only module pages get engine objects from."""

from __future__ import annotations

import json
import os
from pathlib import Path

import streamlit as st


@st.cache_resource
def _store_at(root: str):
    from fmcore.store import Store

    return Store(root)


RUNNER_WRITES = ("submit", "cancel")


class RoleGate:
    """A store or runner as the session's user may use it: reading always works; the methods that change something
    check the user's role when they are called (read from the users file then), so a user demoted or removed while
    a page is open (or while a job panel refreshes itself) is refused at once."""

    def __init__(self, inner, blocked: tuple[str, ...]):
        self._inner, self._blocked = inner, blocked

    def allows(self, name: str) -> bool:
        """False for the methods this user may not call now (pages disable their buttons)."""
        return name not in self._blocked or can_act()

    def __getattr__(self, name):
        if name in self._blocked and not can_act():
            def refuse(*args, **kwargs):
                from fmcore.security import RoleRefused

                raise RoleRefused("Your role is viewer: you can read audits, evaluate policies and download reports. "
                                  "Running jobs, uploading, filing reports and deleting need the auditor role.")
            return refuse
        return getattr(self._inner, name)


def can_act() -> bool:
    """True when the session's user may change things now: the role in the users file at this moment (a removed
    user may not); local mode (no users) acts as an auditor."""
    from fmcore.config import home
    from fmcore.security import load_users, may

    user = st.session_state.get("user")
    if not user:
        return True  # local mode; with users, no page runs before sign-in
    users = load_users(home())
    if not users and not user.get("oidc"):
        return True
    default = "viewer" if user.get("oidc") else None
    return may(users.get(user["name"], {}).get("role", default), "write")


def raw_store():
    """The Store at ``$FMAUDIT_HOME`` whatever the role: for the server's own records (sign-in events), never for
    what a user asked."""
    from fmcore.config import home

    return _store_at(str(home()))


def get_store():
    """The Store at ``$FMAUDIT_HOME``, one per process (thread-safe: each call opens its own connection);
    its writes checked against the user's role when called."""
    from fmcore.config import home
    from fmcore.store import Store

    return RoleGate(_store_at(str(home())), Store.WRITES)


@st.cache_resource
def _runner_at(root: str):
    from fmcore.jobs import JobRunner

    # start() marks jobs left running by a dead server as interrupted, then schedules the queue
    return JobRunner(_store_at(root)).start()


def get_runner():
    """The job runner of this server process (workers are separate processes); submit and cancel are checked
    against the user's role when called."""
    return RoleGate(_runner_at(str(get_store().root)), RUNNER_WRITES)


def executor_line() -> str:
    """Where the jobs' sweeps run, from the server's environment (the page never connects to Ray itself)."""
    import os

    from fmcore.executor import executor_from_env

    executor = executor_from_env()
    if executor.name == "local":
        return ("Sweeps run inside each job's worker process, one task after another "
                "(set FMAUDIT_EXECUTOR=ray to fan them out on Ray).")
    where = executor.address or f"a private Ray instance per job ({os.environ.get('FMAUDIT_RAY_CPUS') or 'all'} CPUs)"
    return (f"Sweeps (attack epsilons, compression methods, bootstrap chunks, LiRA reference models) fan out as "
            f"Ray tasks on {where}; results land in this store. Each job's log names the cluster and its CPUs.")


def models_where(keep=lambda record: True) -> list:
    """Registered models, newest first, without the pretrained bases, filtered by ``keep(record)``."""
    from fmcore.lineage import Derivation, derivation_kind

    return [m for m in reversed(get_store().list_models())
            if derivation_kind(m.derivation) is not Derivation.PRETRAINED and keep(m)]


def model_label(record) -> str:
    """What tells two models apart in a picker, even with one name: name and id first (a narrow screen cuts the
    end), architecture and data, test accuracy, when it was made
    (``digits cnn (m-1a2b3c4d) · seed_cnn on digits · 97.2% · 2026-11-29 10:52``)."""
    acc = record.metrics.get("accuracy")
    made = str(record.created_at)[:16].replace("T", " ")
    accuracy = "" if acc is None else f" · {acc:.1%}"
    return f"{record.name} ({record.id}) · {record.model} on {record.dataset}{accuracy} · {made}"


def model_labels(models) -> dict[str, str]:
    """``model_label`` of each model, by id."""
    return {m.id: model_label(m) for m in models}


def short_labels(models) -> dict[str, str]:
    """``name (id)`` of each model, by id: for legends and column headers, where the id tells models apart."""
    return {m.id: f"{m.name} ({m.id})" for m in models}


PILLS = 6  # up to this many choices are offered as buttons; beyond, as a searchable select box


def as_buttons(options: list, buttons: int | None = None, most: int = 1) -> bool:
    """Whether ``pick`` offers ``options`` as buttons: at most ``buttons`` of them (default ``PILLS``), and, where
    several may be chosen, no more than ``most`` (buttons have no limit of their own)."""
    limit = PILLS if buttons is None else buttons
    return len(options) <= (limit if most == 1 else min(limit, most))


def pick(label: str, options: list, key: str, labels: dict | None = None, short: dict | None = None,
         help: str | None = None, buttons: int | None = None, most: int = 1, default: list | None = None):
    """One choice among ``options`` or, with ``most`` above 1, up to ``most`` (``default``: those chosen at first):
    buttons when ``as_buttons`` says so (all in view at once, and drawn without the select box's code, which costs a
    first visit about 0.4 s), else a select box. ``labels`` name each option in the select box, ``short`` on a
    button (buttons wrap on a narrow screen, so they name what tells options apart)."""
    few = as_buttons(options, buttons, most)
    names = (short or labels or {}) if few else (labels or {})

    def name(option) -> str:
        return names.get(option, str(option))

    if most > 1:
        if few:
            return st.pills(label, options, selection_mode="multi", default=default, key=key, help=help,
                            format_func=name, wrap=True)
        return st.multiselect(label, options, default=default, max_selections=most, key=key, help=help,
                              format_func=name)
    if few:
        return st.pills(label, options, default=options[0], required=True, key=key, help=help, format_func=name,
                        wrap=True)
    return st.selectbox(label, options, key=key, help=help, format_func=name)


def empty_state(message: str, fix: tuple[str, str] | None = ("views/train.py", "Train a model")) -> None:
    """An empty state: what is missing, and a link to the page that fixes it (``fix``: page path and label)."""
    st.info(message)
    if fix:
        st.page_link(fix[0], label=fix[1], icon=":material/arrow_forward:")


def models_or_stop(empty: str, keep=lambda record: True, at_least: int = 1,
                   fix: tuple[str, str] | None = ("views/train.py", "Train a model")) -> tuple[list, dict]:
    """A page's models (``models_where(keep)``) and their labels by id; with fewer than ``at_least``, the
    page shows ``empty`` (what to do first) with a link to the page that does it, and stops there."""
    models = models_where(keep)
    if len(models) < at_least:
        empty_state(empty, fix)
        st.stop()
    return models, model_labels(models)


#: a setting's values listed in an audit's caption before the rest are counted (its record and reports keep all)
LISTED = 6


def audit_caption(audit: dict, prefix: str = "", detail: str = "") -> str:
    """The line under an audit's results: which audit, when, and the settings it was measured with (every option
    that can change its numbers or verdict, ``audits.audit_settings``)."""
    from audits import audit_settings, describe_settings
    from dashboard.components.fmt import plain, when

    # a long list (Explain's 50 test rows) as its first values and a count; up to LISTED + 2 values, all of them
    settings = {k: [*v[:LISTED], f"… ({len(v)} in all)"] if isinstance(v, list) and len(v) > LISTED + 2 else v
                for k, v in audit_settings(audit["name"], audit.get("params")).items()}
    return (f"{prefix}Audit `{audit['id']}`{detail}, run {when(audit['created_at'])}."
            + (f" Measured with: {plain(describe_settings(settings))}." if settings else ""))


def latest_audit_or_stop(model_id: str, name: str, empty: str, what=None) -> dict:
    """The newest ``name`` audit of the model, dated on the page (``what(metrics)``, when given, says more about
    it); without one the page says ``empty`` and stops there."""
    found = get_store().latest_audits(model_id).get(name)
    if not found:
        st.caption(empty)
        st.stop()
    detail = f" ({what(found['result']['metrics'])})" if what else ""
    st.caption(audit_caption(found, detail=detail))
    return found


def newest_audit(latest: dict, name: str, model_id: str) -> dict | None:
    """The result of the newest ``name`` audit among ``latest`` (``store.latest_audits(model_id)``), dated on the
    page; ``None`` before the first."""
    audit = latest.get(name)
    if audit is None:
        return None
    st.caption(audit_caption(audit, detail=f" of `{model_id}`"))
    return audit["result"]


def submit_training(dataset: str, model: str, config: dict, name: str | None = None, **extra):
    """Queue a training job; returns the job. ``extra``: a language model's sizes (``gpt``) and canaries."""
    title = f"Train {model} on {dataset}"
    params = {"dataset": dataset, "model": model, "config": config, "name": name or None, **extra}
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


def applies(record, audit: str) -> bool:
    """Whether ``audit`` applies to the stored model ``record`` (what it requires against what the model offers)."""
    return why_not(record, audit) is None


def offers(record) -> frozenset:
    """What the stored model ``record`` offers (``audits.CAPABILITIES``), read from its metadata."""
    from audits import model_offers

    return model_offers(get_store(), record)


def generates(record) -> bool:
    """True for a language model (it offers ``generates``), read from its metadata."""
    return "generates" in offers(record)


def language_model(model_id: str):
    """The stored language model, loaded once per server process (its weights' hash is part of the key)."""
    record = get_store().get_model(model_id)
    return _language_model_at(str(get_store().root), model_id, record.sha256)


@st.cache_resource(max_entries=4)
def _language_model_at(root: str, model_id: str, sha256: str):
    return _store_at(root).load_classifier(model_id)


def spec_audits() -> dict:
    """The audits installed as plugins (entry points of ``fmaudit.audits``), by name: each described by its spec
    alone (options dataclass, figures), without a page of its own."""
    from audits import load_audits, plugin_specs

    specs = load_audits()
    return {n: specs[n] for n in sorted(plugin_specs())}


def applicable_for(record) -> list[dict]:
    """Every audit with whether it applies to the stored model ``record`` and why not."""
    from audits import applicable_audits, model_offers

    return applicable_audits(model_offers(get_store(), record))


def offered(record, audit: str) -> bool:
    """True when ``audit`` applies to the model; otherwise the page says why not and this is False."""
    if applies(record, audit):
        return True
    st.info(f"Not for this model: {why_not(record, audit)}.")
    return False


def why_not(record, audit: str) -> str | None:
    """Why ``audit`` does not apply to ``record``, in words; None when it does."""
    return {r["audit"]: r for r in applicable_for(record)}[audit]["reason"]


def dataset_sensitive(name: str) -> list[str]:
    """The sensitive attributes a dataset declares, without loading a built-in one."""
    from fmcore.data import list_datasets

    builtin = {s.name: list(s.sensitive) for s in list_datasets()}
    if name in builtin:
        return builtin[name]
    record = get_store().get_dataset(name)
    if record:
        return list(record["sensitive"])
    files = [m for m in get_store().list_models() if m.dataset == name and m.derivation.get("how") == "predictions"]
    return list(files[0].derivation.get("sensitive", [])) if files else []


def dataset_features(name: str) -> list[str]:
    """The model input columns of a tabular dataset."""
    return [f.name for f in get_dataset(name).features]


def dataset_overview(name: str) -> dict:
    """Summary, label balance, sensitive-attribute counts and a few sample rows or images of a dataset, JSON-ready.

    Kept on disk under the store (``cache/overview/``), keyed by the dataset's fingerprint, so a freshly started
    server shows the Data page without decoding the dataset; a new data package or a changed upload is a new key,
    never a stale page."""
    from fmcore.data import dataset_fingerprint

    store = get_store()
    return _overview_at(name, str(store.root), dataset_fingerprint(name, store=store))


@st.cache_data(show_spinner=False)
def _overview_at(name: str, root: str, fingerprint: str) -> dict:
    path = Path(root) / "cache" / "overview" / f"{name}-{fingerprint[:24]}.json"
    if path.is_file():
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass  # unreadable: work it out again below
    overview = _work_out_overview(_dataset_at(name, 0, root))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(overview), encoding="utf-8")
    tmp.replace(path)
    return overview


def _work_out_overview(ds) -> dict:
    summary = ds.summary()
    groups = {}
    if ds.spec.sensitive:
        import pandas as pd

        from audits.groups import group_values

        frames = [s.groups.assign(_label=s.y) for s in ds.splits.values()]
        allg = pd.concat(frames, ignore_index=True)
        for col in ds.spec.sensitive:
            allg[col] = group_values(allg[col])  # missing values are a group of their own
            table = allg.groupby(col, observed=True)["_label"].agg(["count", "mean"]).reset_index()
            groups[col] = [{"group": str(r[col]), "count": int(r["count"]), "positive_rate": float(r["mean"])}
                           for _, r in table.iterrows()]
    summary["groups"] = groups
    train, classes = ds["train"], ds.spec.classes
    if summary["modality"] == "image":
        summary["samples"] = {"images": train.X[:16].tolist(), "labels": [classes[i] for i in train.y[:16]]}
    elif summary["modality"] == "tabular":
        sample = train.X.head(10).copy()
        for col in ds.spec.sensitive:
            sample.insert(0, col, train.groups[col].head(10).to_numpy())
        sample.insert(0, summary["label"], [classes[i] for i in train.y[:10]])
        summary["samples"] = {"rows": json.loads(sample.to_json(orient="records"))}
    else:
        summary["samples"] = {"rows": [{summary["label"]: classes[i], "text": str(t)}
                                       for i, t in zip(train.y[:10], train.X[:10], strict=True)]}
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
