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

st.subheader("Latest models")
if models:
    rows = [{"id": m.id, "name": m.name, "model": m.model, "dataset": m.dataset,
             "test accuracy": m.metrics.get("accuracy"), "parent": m.parent_id or "", "created": m.created_at}
            for m in reversed(models[-8:])]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={"test accuracy": st.column_config.NumberColumn(format="%.4f")})
else:
    st.info("No models yet. Train the classic CNN on MNIST from a terminal: "
            "`fmaudit train --dataset mnist --model seed_cnn --epochs 3` (about 2 minutes on one core), "
            "or a quick one on the small digits set: `fmaudit train --dataset digits --model seed_cnn --epochs 3`.")

st.subheader("Where to start")
st.page_link("pages/data.py", label="Look at the data: sizes, label balance, sensitive groups, provenance",
             icon=":material/table_chart:")
st.page_link("pages/models.py", label="Browse stored models: metrics, curves, confusion matrix, lineage",
             icon=":material/inventory_2:")
