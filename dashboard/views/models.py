"""Models: the registry, one model's metrics and curves, its lineage, and deletion."""

import pandas as pd
import streamlit as st

from dashboard import services
from dashboard.components import figures
from dashboard.components.fmt import audit_headline, pct, percent_column, plain, score, show_table, when
from dashboard.components.jobs import follow_job
from fmcore.errors import FmauditError
from fmcore.security import safe_file_name
from fmcore.store import temp_name

st.title("Models")
st.caption("Every trained or derived model, with where it came from. Weights are stored as safetensors with "
           "their sha256, so a model can be shown to be unchanged since it was trained.")

store, runner = services.get_store(), services.get_runner()
def _import_model() -> None:
    import shutil
    import tempfile
    from pathlib import Path

    from fmcore.data import list_datasets
    from fmcore.models import TRUSTED_TYPES, never_trustable, skops_untrusted
    from fmcore.security import load_users, role_of
    from fmcore.store import actor

    st.caption("A scikit-learn model or pipeline saved with skops (`.skops`; LightGBM and XGBoost scikit-learn "
               "models too), an ONNX graph from any framework (`.onnx`), or the files of a model folder: "
               "`config.json` and `model.safetensors` (plus `preprocess.json` for tables, as fmaudit exports write "
               "them), or a Hugging Face folder with safetensors weights and its tokenizer files. Pickle-based files "
               "(.bin, .pt, .pkl, ...) are refused unopened; remote code is never run. The model is tested on the "
               "dataset you name before it is registered.")
    names = [s.name for s in list_datasets()] + [d["name"] for d in store.list_datasets()]
    files = st.file_uploader("Model files", accept_multiple_files=True, key="import_files")
    single = files[0] if files and len(files) == 1 and Path(files[0].name).suffix.lower() == ".skops" else None
    trust: list[str] = []
    if single is not None:  # the types it holds, shown before anything is loaded
        with tempfile.TemporaryDirectory(dir=store.root, prefix=temp_name("skops")) as tmp:
            path = Path(tmp) / "model.skops"
            path.write_bytes(single.getvalue())
            try:
                types = skops_untrusted(path)
            except FmauditError as exc:
                types = None
                st.error(plain(exc))
        if types is not None:
            extra = [t for t in types if t not in TRUSTED_TYPES]
            st.info("Types in this file beyond scikit-learn, numpy and scipy: "
                    + (", ".join(f"`{t}`" for t in types) or "none")
                    + ("." if not extra else f". Not trusted by fmaudit: {', '.join(f'`{t}`' for t in extra)}; "
                       "loading them could run their code."))
            never = [t for t in extra if never_trustable(t)]
            if never:
                st.error(f"This file holds {', '.join(plain(t) for t in never)}, which can run code or reach the "
                         "system: fmaudit never loads it.")
            elif extra:
                approver = not load_users(store.root) or role_of(actor(), store.root) == "approver"
                trust = st.multiselect("Trust these types (an approver's decision, only after checking each one; "
                                       "recorded in the audit trail)", extra, key="import_trust",
                                       disabled=not approver,
                                       help=None if approver else "Trusting a type needs the approver role.")
    with st.form("import_form"):
        c1, c2 = st.columns(2)
        target = c1.selectbox("Dataset it was trained for", names, key="import_dataset")
        new_name = c2.text_input("Name (optional)", key="import_name")
        go = st.form_submit_button("Import", icon=":material/upload:", disabled=not services.can_act())
    if go and files:
        folder = Path(tempfile.mkdtemp(prefix=temp_name("import"), dir=store.root))
        try:
            for f in files:  # keep only the base name: an uploaded name never chooses a path
                (folder / safe_file_name(f.name)).write_bytes(f.getvalue())
            one = [p for p in folder.iterdir() if p.suffix.lower() in (".skops", ".onnx")]
            source = one[0] if len(files) == 1 and one else folder
            # named after the file, or the dataset (never the temporary folder)
            default = f"imported-{safe_file_name(source.stem)}" if source != folder else f"imported-{target}"
            record = store.import_model(source, target, name=new_name or default, trust=tuple(trust),
                                        control="the box 'Trust these types' above")
            st.success(f"Imported {record.id}: test accuracy on {target} {pct(record.metrics['accuracy'])}.")
        except FmauditError as exc:
            st.error(f"Not imported: {plain(exc)}")
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def _import_predictions() -> None:
    import tempfile
    from pathlib import Path

    from fmcore.models import read_predictions

    st.caption("A table a production system exported: one row per person or case, with the true outcome, the "
               "system's decision, optionally the score behind it, and group columns. It becomes a model audited on "
               "all its rows: performance, fairness, calibration (with a score) and the policy checks.")
    up = st.file_uploader("Predictions (CSV or Parquet)", type=["csv", "parquet"], key="pred_file")
    if up is None:
        return
    with tempfile.TemporaryDirectory(dir=store.root, prefix=temp_name("predictions")) as tmp:
        path = Path(tmp) / safe_file_name(up.name)
        path.write_bytes(up.getvalue())
        try:
            frame = read_predictions(path)
        except FmauditError as exc:
            st.error(plain(exc))
            return
        cols = [str(c) for c in frame.columns]
        with st.form("pred_form"):
            c1, c2, c3 = st.columns(3)
            label = c1.selectbox("True outcome", cols, key="pred_label")
            prediction = c2.selectbox("Decision", cols, index=min(1, len(cols) - 1), key="pred_prediction")
            score = c3.selectbox("Score (optional)", ["(none)", *cols], key="pred_score")
            d1, d2, d3 = st.columns(3)
            sensitive = d1.multiselect("Group columns", cols, key="pred_sensitive")
            positive = d2.text_input("Class the score is the probability of", "", key="pred_positive",
                                     help="Default: the last class in sorted order.")
            name = d3.text_input("Name (optional)", "", key="pred_name")
            go = st.form_submit_button("Import predictions", icon=":material/upload:", disabled=not services.can_act())
        if go:
            try:
                record = store.import_predictions(path, label, prediction, None if score == "(none)" else score,
                                                  sensitive, positive or None, name or None)
                st.success(f"Imported {record.id}: {record.metrics['n']} rows, accuracy "
                           f"{pct(record.metrics['accuracy'])}.")
            except FmauditError as exc:
                st.error(f"Not imported: {plain(exc)}")


# lazy expanders (on_change="rerun"): their content runs and is drawn only once opened, so a first visit does not
# wait for the code of uploaders, select boxes and a JSON viewer before the charts
with st.expander("Import a model", icon=":material/upload:", key="import_open", on_change="rerun") as box:
    if box.open:
        model_tab, predictions_tab = st.tabs(["A model", "A file of predictions"])
        with model_tab:
            _import_model()
        with predictions_tab:
            _import_predictions()
models = store.list_models()
if not models:
    services.empty_state("No models yet. Train one on the Train page, or from a terminal: "
                         "`fmaudit train --dataset digits --model seed_cnn --epochs 3`.")
    st.stop()

ids = [m.id for m in reversed(models)]
labels = services.model_labels(models)
selected = services.pick("Model", ids, key="model_id", labels=labels, short=services.short_labels(models))
record = store.get_model(selected)
if services.as_buttons(ids):  # the button names it; the rest of what the select box would say
    st.caption(labels[selected].split(" · ", 1)[1])
m = record.metrics
c1, c2, c3, c4 = st.columns(4)
if "test_perplexity" in m:  # a language model: how well it predicts held-out text, against a unigram model
    c1.metric("Test perplexity", f"{m['test_perplexity']:.1f}",
              help="exp of the mean next-token loss on the test texts: lower is better.")
    c2.metric("Unigram perplexity", f"{m['unigram_perplexity']:.1f}",
              help="A model of token frequencies alone (same tokenizer): what a language model must beat.")
else:
    c1.metric("Test accuracy", pct(m.get("accuracy")))
    versus = services.vs_baseline(record)
    if versus.startswith("not better"):
        st.error(f"This model is {plain(versus)}: it has learned nothing a constant answer would not give.")
    elif versus:
        c1.caption(versus)
    c2.metric("Macro-F1", score(m.get("macro_f1")), help="F1 averaged over classes: low when a class is neglected.")
c3.metric("Parameters", f"{record.n_params:,}")
c4.metric("Weights", f"{record.size_bytes / 1024:.1f} KiB")

history = services.model_history(record)
if history:
    figures.show(figures.training_curves(history))


def _classes() -> None:
    classes = (record.config.get("dataset") or {}).get("classes") or [
        str(i) for i in range(len(m.get("per_class_accuracy", [])))]
    left, right = st.columns(2)
    figures.show(figures.confusion_matrix(m["confusion_matrix"], classes), where=left)
    figures.show(figures.per_class_accuracy(classes, m["per_class_accuracy"]), where=right)


def _performance() -> None:
    st.caption("Accuracy and macro-F1 with 95% intervals, balanced accuracy, recall per class with intervals, and the "
               "majority-class baseline; reports and the EU profile's accuracy checks read it.")
    if st.button("Run performance audit", icon=":material/speed:", key="perf_go"):
        st.session_state["perf_job"] = runner.submit("audits.jobs:audit", {"audit": "performance", "model": record.id},
                                                     title=f"Performance audit of {record.id}").id
    if st.session_state.get("perf_job"):
        follow_job(runner, st.session_state["perf_job"], "perf")
    perf = store.latest_audits(record.id).get("performance")
    if perf:
        pm = perf["result"]["metrics"]
        st.caption(f"Audit `{perf['id']}`, run {when(perf['created_at'])}.")
        p1, p2, p3, p4 = st.columns(4)
        p1.metric("Accuracy", pct(pm["accuracy"]), help=f"95% interval {pct(pm['accuracy_ci_low'])} to "
                                                         f"{pct(pm['accuracy_ci_high'])}")
        p2.metric("Balanced accuracy", pct(pm.get("balanced_accuracy")),
                  help="Mean recall over classes: what accuracy would be if every class were equally common.")
        p3.metric("Macro-F1", score(pm["macro_f1"]))
        p4.metric("Majority baseline", pct(pm.get("majority_baseline_accuracy")),
                  help=f"Always answering {pm.get('majority_class')!r}.")
        for w in perf["result"]["warnings"]:
            st.warning(plain(w))
        rows = perf["result"]["tables"]["per_class"]
        if rows and "recall_ci_low" in rows[0]:
            figures.show(figures.per_class_recall(rows))


def _lineage() -> None:
    st.caption("Where this model came from and what was derived from it (fine-tuned, hardened, private, compressed or "
               "mitigated variants). Edges say how each child was made.")
    chain = store.lineage(record.id)
    st.write(" <- ".join(f"`{r.id}` {r.name} ({r.derivation.get('how', 'trained')})" for r in chain))
    figures.show(figures.lineage(store.family(record.id), record.id))


def _audits() -> None:
    audits = store.list_audits(record.id)
    if not audits:
        st.info("No audit of this model yet: each audit's page runs one, and the Performance audit tab here.")
    else:
        show_table(pd.DataFrame([{"audit": a["name"], "finding": audit_headline(a["name"], a["result"]["metrics"]),
                                  "id": a["id"], "created": a["created_at"],
                                  **{k: v for k, v in a["result"]["metrics"].items()
                                     if isinstance(v, int | float) and not isinstance(v, bool)}} for a in audits]))
    st.markdown("**Which audits apply to this model**")
    st.dataframe(pd.DataFrame([{"audit": a["title"], "applies": a["applicable"], "why not": a["reason"] or ""}
                               for a in services.applicable_for(record)]), hide_index=True, width="stretch")


def _all_models() -> None:
    table = pd.DataFrame([{
        "id": m.id, "name": m.name, "model": m.model, "dataset": m.dataset, "parameters": m.n_params,
        "size (KiB)": round(m.size_bytes / 1024, 1), "test accuracy": m.metrics.get("accuracy"),
        "majority baseline": (services.baseline(m) or {}).get("accuracy"),
        "macro-F1": m.metrics.get("macro_f1"), "parent": m.parent_id or "", "created": m.created_at,
    } for m in reversed(models)])
    show_table(table, rates=("test accuracy", "majority baseline"), **{
        "majority baseline": percent_column("Accuracy of always answering the most frequent class: what a model must "
                                            "beat.")})


# lazy tabs (on_change="rerun"): only the open one runs and is drawn, so a first visit draws the model's curves
# without waiting for the code of tables nobody opened (a table's code loads before the charts' on 2 cores), nor for
# more charts (plotly draws the charts that arrive together in one go: the first appears when the last is drawn)
sections = {"Performance audit": _performance} if services.applies(record, "performance") else {}
if "confusion_matrix" in m:
    sections["Classes"] = _classes
sections |= {"Lineage": _lineage, "Audits": _audits, "All models": _all_models}
for tab, show in zip(st.tabs(list(sections), key="models_tab", on_change="rerun"), sections.values(), strict=True):
    with tab:
        if tab.open:
            show()

file_problems = store.weight_problems(record.id, cached=True)  # hashed again once a file changes (ctime)
if file_problems:
    st.error("This model's files are not the ones it was registered with, so no audit, report or sign-off uses it: "
             + "; ".join(plain(p) for p in file_problems), icon=":material/gpp_bad:")
with st.expander("Provenance and configuration", key="models_provenance", on_change="rerun") as box:
    if box.open:
        st.json({"sha256": record.sha256, "manifest_sha256": record.manifest_sha256, "files": record.manifest,
                 "files_verified": not file_problems, "path": record.path,
                 "derivation": record.derivation, "train": record.config.get("train"),
                 "dataset_provenance": (record.config.get("dataset") or {}).get("provenance")}, expanded=False)

with st.expander("Delete this model", key="models_delete", on_change="rerun") as box:
    if box.open:
        st.warning("Deleting removes the weights and the model's audits. This cannot be undone.")
        confirm = st.text_input("Type the model id to confirm", key="delete_confirm")
        if st.button("Delete", type="secondary", disabled=confirm != record.id):
            try:
                store.delete_model(record.id)
            except FmauditError as exc:
                st.error(plain(exc))
            else:
                st.success(f"Deleted {record.id}.")
                st.rerun()
