"""Data: a card per dataset, and CSV upload with column mapping and validation."""

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import services
from dashboard.components import figures
from dashboard.components.fmt import plain
from fmcore.data import dataset_names, index_like_columns, max_csv_bytes, read_table
from fmcore.errors import FmauditError
from fmcore.security import safe_file_name
from fmcore.store import temp_name

PILLS = 12  # up to this many datasets are offered as buttons, beyond as a searchable list

st.title("Data")
st.caption("Every dataset is read from a file inside an installed package (or your upload) and split with a "
           "fixed seed, so the same name always means the same rows. Provenance gives the file's sha256.")

store = services.get_store()


def _browse() -> None:
    """The chosen dataset: its card, charts, samples and provenance."""
    names = dataset_names(store)
    name = services.pick("Dataset", names, key="data_name", buttons=PILLS)
    info = services.dataset_overview(name)  # from the store's cache when this dataset was shown before
    st.subheader(info["title"])
    st.write(info["description"])
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Rows", f"{sum(info['splits'].values()):,}")
    c2.metric("Features", len(info["features"]) if info["modality"] == "tabular" else info["modality"])
    c3.metric("Classes", len(info["classes"]))
    c4.metric("Sensitive attributes", len(info["sensitive"]) or "none")
    figures.show(figures.label_balance(info["classes"], info["label_balance"]))
    if info["groups"]:
        st.markdown("**Sensitive attributes.** Group sizes and how often each group has the positive label "
                    f"(*{info['classes'][-1]}*). Large gaps in the base rate are worth knowing before any model "
                    "is trained.")
        cols = st.columns(len(info["groups"]))
        for col, (attr, rows) in zip(cols, info["groups"].items(), strict=True):
            figures.show(figures.group_distribution(attr, rows), where=col)
    st.markdown("**Samples** (from the training split)")
    samples = info["samples"]
    if info["modality"] == "image":
        figures.show_images(samples["images"], samples["labels"], "Sample images, each label above its image")
    else:
        st.dataframe(pd.DataFrame(samples["rows"]), hide_index=True, width="stretch")
    with st.expander("Provenance, licence and schema", key="data_provenance", on_change="rerun") as more:
        if more.open:
            prov = info["provenance"]
            st.table(pd.DataFrame({"field": ["package", "version", "source file", "sha256", "licence", "origin"],
                                   "value": [prov["package"], prov["version"], prov["source"], prov["sha256"],
                                             prov["licence"], prov["origin"]]}))
            st.write("Split sizes:", info["splits"], "(seed", info["seed"], ")")
            if info["modality"] == "tabular":
                st.dataframe(pd.DataFrame(info["features"]), hide_index=True)
            for note in info["notes"]:
                st.caption(note)


def _upload() -> None:
    """A CSV upload, its column mapping and validation."""
    st.write("Upload a table with a header row. Say which column is the label and which hold protected "
             "attributes (kept out of the model's inputs, used to compare groups). The file is checked before "
             f"anything is stored; limit {max_csv_bytes() / 2**20:.0f} MB.")
    upload = st.file_uploader("CSV file", type=["csv"], key="csv_upload")
    if upload is not None:
        try:  # the same decoding as the validation (UTF-8, else Latin-1)
            preview = read_table(upload.getvalue(), nrows=200)
        except FmauditError as exc:
            st.error("This file could not be read: " + plain("; ".join(getattr(exc, "problems", None) or [str(exc)])))
            preview = None
        if preview is not None:
            st.dataframe(preview.head(8), hide_index=True)
            columns = list(map(str, preview.columns))
            index_cols = index_like_columns(preview)
            if index_cols:
                st.warning(f"{', '.join(map(repr, index_cols))} only number the rows (an index saved with the file): "
                           "they are ignored unless you give them a role below.")
            with st.form("map_columns"):
                label = st.selectbox("Label (what the model predicts)", columns, index=len(columns) - 1)
                sensitive = st.multiselect("Sensitive attributes", columns)
                text = st.selectbox("Text column (only for a text dataset)", ["(none: tabular)"] + columns)
                drop = st.multiselect("Columns to ignore (identifiers, free text)", columns, default=index_cols)
                name = st.text_input("Dataset name", Path(upload.name).stem)
                min_group = st.number_input("Minimum rows per group", 1, 10_000, 10)
                submitted = st.form_submit_button("Validate and add", type="primary")
            if submitted:
                # inside the store, named so that start-up removes it if this server dies mid-write
                with tempfile.TemporaryDirectory(dir=store.root, prefix=temp_name("upload")) as tmp:
                    path = Path(tmp) / safe_file_name(upload.name)
                    try:
                        path.write_bytes(upload.getvalue())
                        rec = store.add_dataset(path, label, sensitive, name=name or None,
                                                text=None if text.startswith("(none") else text, drop=drop,
                                                min_group_size=int(min_group))
                    except FmauditError as exc:
                        problems = getattr(exc, "problems", [str(exc)])
                        st.error("The file was not added:\n\n" + "\n".join(f"- {p}" for p in problems))
                    except OSError as exc:  # e.g. a full disk while copying the upload: nothing is kept
                        st.error(f"The file was not added: {exc.strerror or exc} while writing it under "
                                 f"{store.root}. Free disk space there and upload it again.")
                    else:
                        services.forget_datasets()
                        st.success(f"Added dataset **{plain(rec['name'])}** ({rec['rows']} rows). It is now in the "
                                   "list above and in `fmaudit datasets`.")
                        for note in rec.get("notes", []):
                            st.warning(note)


# lazy tabs and expander (on_change="rerun"): only what is open runs and is drawn, so a first visit does not wait
# for the code of an uploader, a table and a JSON viewer nobody has opened yet
tab_browse, tab_upload = st.tabs(["Browse datasets", "Upload a CSV"], key="data_tab", on_change="rerun")
with tab_browse:
    if tab_browse.open:
        _browse()
with tab_upload:
    if tab_upload.open:
        _upload()
