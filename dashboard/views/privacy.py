"""Privacy: membership-inference attacks, the differential-privacy sweep, and a de-identification scan."""

import numpy as np
import pandas as pd
import streamlit as st

from audits.privacy import ATTACKS, DEFAULT_ATTACKS, MEMBERSHIP_ATTACKS, membership_verdict
from audits.sweeps import dp_sweep_verdict
from dashboard import services
from dashboard.components import figures
from dashboard.components.fmt import plain, show_table
from dashboard.components.jobs import follow_job
from dashboard.components.options import option_input

st.title("Privacy")
st.caption("Can someone tell who was in the training data? Membership-inference attacks answer that on a seeded "
           "sample of training members and unseen people; differential privacy bounds it, at a price in accuracy; "
           "and the data scan looks for identifiers that should not be there at all.")

store, runner = services.get_store(), services.get_runner()
attack_tab, dp_tab, scan_tab = st.tabs(["Membership inference", "Differential privacy", "Data scan"])


def latest(model_id):
    """The newest privacy audit of ``model_id`` (its record: id, date, result), or None."""
    return store.latest_audits(model_id).get("privacy")


def show_exposed(result, modality: str) -> None:
    exposed = result["tables"]["exposed"]
    if not exposed:
        return
    st.markdown(f"**Most exposed training records** (highest {exposed[0]['attack']} score: the attack is most sure "
                "these were trained on)")
    if modality == "image":
        images = np.array([e["image"] for e in exposed], dtype=np.float32)
        figures.show_images(images, [f"#{e['rank']}: {e['label']}" for e in exposed],
                            "Most exposed training images: rank, then label", cols=min(8, len(images)))
    keep = [{k: v for k, v in e.items() if k not in ("image", "row")} | (e.get("row") or {}) for e in exposed]
    show_table(keep)


def membership_tab() -> None:
    models = services.models_where(lambda m: m.derivation.get("method") != "threshold_optimizer"
                                   and services.applies(m, "privacy"))
    if not models:
        services.empty_state("No model yet. Train one on the Train page; a small, long-trained model (german_credit, "
                             "MLP, 100 epochs) shows what leakage looks like.")
        return
    labels = services.model_labels(models)
    model_id = st.selectbox("Model", [m.id for m in models], format_func=labels.get, key="priv_model")
    record = store.get_model(model_id)
    text = services.dataset_modality(record.dataset) == "text"
    offered = [a for a, spec in MEMBERSHIP_ATTACKS.items() if spec.text or not text]
    with st.form("priv_form"):
        chosen = st.multiselect("Attacks", offered, default=[a for a in DEFAULT_ATTACKS if a in offered],
                                key="priv_attacks", help="\n\n".join(f"**{a}**: {ATTACKS[a]}" for a in offered))
        c1, c2 = st.columns(2)
        samples = option_input("privacy", "samples", "priv_samples", where=c1, label="Members and non-members (each)",
                               step=100, help="Half of each trains the learned attacks; all are scored on the other "
                                              "half.")
        refs = option_input("privacy", "reference_models", "priv_refs", where=c2, label="LiRA reference models",
                            help="More models, stronger attack, longer run (each trains like the target).")
        run = st.form_submit_button("Run privacy audit", type="primary", icon=":material/play_arrow:",
                                    disabled=not chosen)
    if run:
        job = runner.submit("audits.jobs:audit", {"audit": "privacy", "model": model_id, "options": {
            "attacks": chosen, "samples": int(samples), "reference_models": int(refs)}},
            title=f"Privacy of {model_id}")
        st.session_state["priv_job"] = job.id
    if st.session_state.get("priv_job"):
        follow_job(runner, st.session_state["priv_job"], "priv")
    found = latest(model_id)
    if found is None:
        st.caption("No privacy audit of this model yet: run one above.")
        return
    result = found["result"]
    st.caption(services.audit_caption(found))
    m = result["metrics"]
    a, b, c, d = st.columns(4)
    a.metric("Strongest attack AUC", f"{m['max_auc']:.3f}",
             help="0.5 is guessing; 1.0 finds every member; below 0.5 the attack's rule points the wrong way."
             + (f" 95% interval {m['max_auc_ci_low']:.3f} to {m['max_auc_ci_high']:.3f} (DeLong)."
                if m.get("max_auc_ci_low") is not None else ""))
    b.metric("Membership advantage", f"{m['max_advantage']:.1%}", help="Largest TPR minus FPR over thresholds.")
    c.metric("Empirical epsilon (lower bound)", f"{m['empirical_epsilon']:.2f}",
             help="The smallest epsilon any DP guarantee for this model could have, given the attack (95%).")
    d.metric("DP epsilon (accountant)", f"{m['dp_epsilon']:.2f}" if m.get("dp_epsilon") else "not DP")
    st.write(f"In plain words: {m.get('verdict') or membership_verdict(m)}")
    for w in result["warnings"]:
        st.warning(plain(w))
    figures.show(figures.roc_curves(result["tables"]["roc"]))
    show_table(pd.DataFrame(result["tables"]["attacks"]).drop(columns=["description"]))
    show_exposed(result, services.dataset_modality(record.dataset))


def dp_tab_body() -> None:
    st.caption("Trains the same model without DP and with DP-SGD (opacus) at each epsilon, attacks every one, and "
               "sets the attack's empirical epsilon (a lower bound) next to the accountant's (an upper bound).")
    choices = ["german_credit", "census_income", "arrests", "digits", "mnist"]
    with st.form("dp_form"):
        c1, c2, c3 = st.columns(3)
        dataset = c1.selectbox("Dataset", choices, key="dp_dataset")
        model = c2.selectbox("Model", ["mlp", "logreg", "seed_cnn"], key="dp_model",
                             help="seed_cnn for image datasets; mlp or logreg for tables.")
        epochs = c3.number_input("Epochs", 1, 500, 30, key="dp_epochs")
        c4, c5 = st.columns(2)
        eps_text = c4.text_input("Epsilons", "1, 3, 8", key="dp_eps", help="DP budgets; a model without DP is "
                                 "always added for comparison.")
        max_train = c5.number_input("Training rows (0: all)", 0, 1_000_000, 0, step=500, key="dp_rows")
        go = st.form_submit_button("Run the sweep", type="primary", icon=":material/play_arrow:")
    if go:
        try:
            eps = [float(e) for e in eps_text.split(",") if e.strip()]
            if not eps or min(eps) <= 0:
                raise ValueError
        except ValueError:
            st.error(f"Epsilons must be positive numbers separated by commas, e.g. 1, 3, 8; got {eps_text!r}.")
        else:
            job = runner.submit("audits.jobs:dp_sweep", {
                "dataset": dataset, "model": model, "epsilons": [*eps, None],
                "options": {"epochs": int(epochs), "max_train_samples": int(max_train) or None}},
                title=f"DP sweep on {dataset} ({model})")
            st.session_state["dp_job"] = job.id
    job_id = st.session_state.get("dp_job")
    if job_id:
        follow_job(runner, job_id, "dp")
    done = [j for j in runner.jobs(states=("done",)) if j.kind == "dp_sweep"]
    if not done:
        st.caption("No sweep yet.")
        return
    job = next((j for j in done if j.id == job_id), done[0])
    rows = job.result["rows"]
    figures.show(figures.privacy_utility(rows))
    for i, line in enumerate(dp_sweep_verdict(rows)):  # the plain-words finding, then any baseline warning
        (st.warning if line.startswith("Not better") else st.write)(("In plain words: " if i == 0 and not
                                                                     line.startswith("Not better") else "") + line)
    show_table(rows)


@st.cache_data(show_spinner="Scanning...")
def _scan(name: str, quasi: tuple, k: int, root: str) -> dict:
    from audits.privacy import scan

    return scan(name, services._store_at(root), list(quasi) or None, k=k)


def scan_tab_body() -> None:
    from fmcore.data import list_datasets

    names = [s.name for s in list_datasets() if s.modality != "image"] + [d["name"] for d in store.list_datasets()]
    name = st.selectbox("Dataset", names, key="scan_dataset",
                        index=names.index("german_credit") if "german_credit" in names else 0)
    sensitive = services.dataset_sensitive(name)
    with st.form("scan_form"):
        c2, c3 = st.columns([3, 1])
        uploaded = store.get_dataset(name)
        if uploaded:  # every column of the file as uploaded, also those a model does not use
            columns = list(pd.read_csv(uploaded["path"], nrows=0).columns)
        else:
            ds = services.get_dataset(name)
            columns = list(ds["train"].X.columns) if hasattr(ds["train"].X, "columns") else []
        quasi = c2.multiselect("Quasi-identifiers (for k-anonymity)", list(dict.fromkeys([*sensitive, *columns])),
                               default=sensitive, key="scan_quasi", help="Columns that together could single a "
                               "person out: age, sex, postcode, ...")
        k = c3.number_input("k", 2, 1000, 5, key="scan_k")
        scan = st.form_submit_button("Scan dataset", type="primary", icon=":material/search:")
    if scan:
        st.session_state["scan"] = (name, tuple(quasi), int(k))
    if st.session_state.get("scan", (None,))[0] != name:
        st.caption("Looks for emails, phone numbers, ID-like numbers, card numbers, IP addresses and person names in "
                   "every text column, and measures k-anonymity of the quasi-identifiers you choose.")
        return
    result = _scan(*st.session_state["scan"], str(store.root))
    a, b, c = st.columns(3)
    a.metric("Identifiers found", result["total_identifiers"])
    b.metric("Identifier-like columns", len(result["identifier_columns"]))
    kan = result["k_anonymity"]
    c.metric("k-anonymity", kan["k"] if kan else "-", help="Smallest group of rows sharing every quasi-identifier.")
    if result["findings"]:
        st.dataframe(pd.DataFrame([{**f, "examples": ", ".join(f["examples"])} for f in result["findings"]]),
                     hide_index=True, width="stretch")
        st.caption("Examples are masked. Person names are found by a heuristic (a common first name followed by a "
                   "capitalised word, or a title): expect some false positives.")
    else:
        st.success(f"No direct identifiers found in {result['columns_scanned']} columns.")
    for col in result["identifier_columns"]:
        st.warning(f"Column {col!r} is named like an identifier and its values are nearly unique per row.")
    if kan:
        if kan["rows_below_threshold"]:
            st.warning(f"{kan['rows_below_threshold']} rows ({kan['share_below_threshold']:.2%}) sit in "
                       f"{kan['classes_below_threshold']} groups smaller than {kan['threshold']}: they can be singled "
                       "out by these columns. Generalise (e.g. age bands) or suppress them.")
        figures.show(figures.group_sizes(kan["size_histogram"], kan["threshold"]))
        show_table(kan["smallest"])


with attack_tab:
    membership_tab()
with dp_tab:
    dp_tab_body()
with scan_tab:
    scan_tab_body()
