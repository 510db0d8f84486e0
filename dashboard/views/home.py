"""Home: what fmaudit does, and what is in the store at a glance."""

from pathlib import Path

import pandas as pd
import streamlit as st

from audits import metric_at
from dashboard import services
from dashboard.components.fmt import audit_headline, pct, percent_column, points, show_table
from dashboard.components.jobs import follow_job
from fmcore.data import list_datasets

st.title("fmaudit")
st.markdown(
    "**Decide whether a model is fit to ship, with evidence.** fmaudit trains and fine-tunes models on "
    "real data, then audits them: how accurate they are, how they hold up when someone pushes on the "
    "input, whether they treat groups of people differently, whether they leak who was in the training "
    "data, and what compression does to all of that. Every model keeps its lineage and data provenance, "
    "so the model you audit is provably the one that was trained.")

store = services.get_store()
models = store.list_models()
audits = store.list_audits()
c1, c2, c3 = st.columns(3)
c1.metric("Built-in datasets", len(list_datasets()), help="Shipped inside installed packages; nothing is downloaded.")
c2.metric("Stored models", len(models))
c3.metric("Audits run", len(audits))

st.subheader("Try it")
# ?dataset=digits&epochs=2 makes a quicker demo link (the browser test uses it); the default is MNIST, 3 epochs
demo_data = st.query_params.get("dataset") if st.query_params.get("dataset") in ("mnist", "digits") else "mnist"
try:
    demo_epochs = min(20, max(1, int(st.query_params.get("epochs", 3))))
except ValueError:
    demo_epochs = 3
st.write(f"One click trains the classic CNN on {demo_data.upper() if demo_data == 'mnist' else demo_data} "
         + ("(70,000 handwritten digits; three epochs reach about 99% test accuracy in roughly two minutes on one "
            "CPU core), " if demo_data == "mnist" else f"for {demo_epochs} epochs, ")
         + "then audits it (accuracy with its interval next to the majority-class baseline, and how far a PGD "
         "attack pushes accuracy down) and files its evidence report. It runs in the background; follow it here.")
if st.button(f"Train, audit and report: the seed CNN on {demo_data}", type="primary",
             icon=":material/rocket_launch:", key="demo", disabled=not services.can_act()):
    job = services.get_runner().submit("audits.jobs:demo", {
        "dataset": demo_data, "model": "seed_cnn", "config": {"epochs": demo_epochs, "seed": 0},
        "name": "seed CNN (demo)"}, title=f"Demo: train the seed CNN on {demo_data}, audit it, file its report")
    st.session_state["demo_job"] = job.id


def demo_outcome(job) -> None:
    """What the demo made: the model against its baseline, the attack's effect, and the report it filed."""
    r = job.result
    audits = {a["id"]: a for a in store.list_audits(r["model_id"])}
    perf = audits.get(r["audit_ids"].get("performance"), {}).get("result", {}).get("metrics", {})
    rob = audits.get(r["audit_ids"].get("robustness"), {}).get("result", {}).get("metrics", {})
    st.success(f"Trained `{r['model_id']}`, ran {len(r['audit_ids'])} audits and filed the report "
               f"(content sha256 `{r['content_sha256'][:16]}...`).")
    c1, c2, c3 = st.columns(3)
    if perf:
        c1.metric("Test accuracy", pct(perf["accuracy"]),
                  help=f"95% interval {pct(perf['accuracy_ci_low'])} to {pct(perf['accuracy_ci_high'])}")
        c2.metric("Majority-class baseline", pct(perf.get("majority_baseline_accuracy")),
                  help=f"Always answering {perf.get('majority_class')!r}: what the model must beat.")
    robust = metric_at(rob, "robust_accuracy")
    if robust:
        strongest = max(robust)
        attack = str(rob.get("attack") or "attack").upper()
        c3.metric(f"Accuracy under {attack} at eps {strongest:g}", pct(robust[strongest]),
                  delta=points(robust[strongest] - rob["clean_accuracy"]),
                  help=f"On a seeded sample of test inputs, each moved by at most {strongest:g} in the attack's "
                       "norm (Linf: any one pixel of a 0-1 range, or standardised feature; L2: the whole change).")
    html = Path(r["paths"]["html"])
    if html.is_file():
        st.download_button("Evidence report (HTML)", html.read_bytes(), file_name=html.name, mime="text/html",
                           icon=":material/download:", key=f"demo_report_{job.id}")
    st.page_link("views/models.py", label="The model, its curves and lineage", icon=":material/inventory_2:")
    st.page_link("views/robustness.py", label="The robustness audit in full", icon=":material/shield:")
    st.page_link("views/report.py", label="Check it against a policy and file a signed report",
                 icon=":material/description:")


if st.session_state.get("demo_job"):
    follow_job(services.get_runner(), st.session_state["demo_job"], "demo", on_done=demo_outcome)

st.subheader("Latest models")
if models:
    rows = [{"id": m.id, "name": m.name, "model": m.model, "dataset": m.dataset,
             "test accuracy": m.metrics.get("accuracy"),
             "majority baseline": (services.baseline(m) or {}).get("accuracy"),
             "parent": m.parent_id or "", "created": m.created_at}
            for m in reversed(models[-8:])]
    show_table(rows, rates=("test accuracy", "majority baseline"),
               **{"majority baseline": percent_column("Always answering the most frequent class.")})
else:
    services.empty_state("No models yet. Use the button above, the Train page, or a terminal: "
                         "`fmaudit train --dataset digits --model seed_cnn --epochs 3`.")

st.subheader("Latest audits")
if audits:
    # what was found before when (at 800 px the last column is behind a scroll)
    st.dataframe(pd.DataFrame([{"audit": a["name"], "model": a["model_id"],
                                "finding": audit_headline(a["name"], a["result"].get("metrics", {})),
                                "created": a["created_at"]} for a in audits[:8]]), hide_index=True, width="stretch")
else:
    st.caption("No audits yet.")

st.subheader("Where to start")
st.page_link("views/data.py", label="Look at the data: sizes, label balance, sensitive groups, provenance",
             icon=":material/table_chart:")
st.page_link("views/train.py", label="Train a model as a background job and watch its curves",
             icon=":material/model_training:")
st.page_link("views/models.py", label="Browse stored models: metrics, curves, confusion matrix, lineage",
             icon=":material/inventory_2:")
