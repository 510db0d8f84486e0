"""Home: what fmaudit does, and what is in the store at a glance."""

import pandas as pd
import streamlit as st

from dashboard import services
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
st.write("Train the classic CNN on MNIST (70,000 handwritten digits): three epochs reach about 99% test accuracy "
         "in roughly two minutes on one CPU core. It runs in the background; you can watch it on the Train page.")
if st.button("Train the seed CNN on MNIST", type="primary", icon=":material/rocket_launch:", key="demo"):
    job = services.submit_training("mnist", "seed_cnn", {"epochs": 3, "seed": 0}, name="seed CNN (demo)")
    st.session_state["train_job"] = job.id
    st.switch_page("views/train.py")

st.subheader("Latest models")
if models:
    rows = [{"id": m.id, "name": m.name, "model": m.model, "dataset": m.dataset,
             "test accuracy": m.metrics.get("accuracy"),
             "majority baseline": (services.baseline(m) or {}).get("accuracy"),
             "parent": m.parent_id or "", "created": m.created_at}
            for m in reversed(models[-8:])]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={"test accuracy": st.column_config.NumberColumn(format="%.4f"),
                                "majority baseline": st.column_config.NumberColumn(
                                    format="%.4f", help="Always answering the most frequent class.")})
else:
    st.info("No models yet. Use the button above, the Train page, or a terminal: "
            "`fmaudit train --dataset digits --model seed_cnn --epochs 3`.")

st.subheader("Latest audits")
if audits:
    st.dataframe(pd.DataFrame([{"audit": a["name"], "model": a["model_id"], "created": a["created_at"],
                                **{k: v for k, v in a["result"].get("metrics", {}).items()
                                   if isinstance(v, int | float)}} for a in audits[:8]]),
                 hide_index=True, width="stretch")
else:
    st.caption("No audits yet.")

st.subheader("Where to start")
st.page_link("views/data.py", label="Look at the data: sizes, label balance, sensitive groups, provenance",
             icon=":material/table_chart:")
st.page_link("views/train.py", label="Train a model as a background job and watch its curves",
             icon=":material/model_training:")
st.page_link("views/models.py", label="Browse stored models: metrics, curves, confusion matrix, lineage",
             icon=":material/inventory_2:")
