"""Out-of-domain: corruptions, distribution shift, calibration and uncertainty, augmentation as a remedy."""

import pandas as pd
import streamlit as st

from audits.ood import CORRUPTIONS, DEFAULT_SHIFT
from dashboard import services
from dashboard.components import figures
from dashboard.components.fmt import plain, points, show_table
from dashboard.components.jobs import launch as launch_job
from dashboard.components.options import option_input
from fmcore.data import dataset_names
from fmcore.models import list_models

st.title("Out-of-domain")
st.caption("What happens on data unlike the training data: blurrier scans, rotated handwriting, typos, another "
           "population. Each number has a 95% interval; the mean corruption error compares with a reference model "
           "(1.0 = as good as the reference, lower is better).")

store, runner = services.get_store(), services.get_runner()
models, labels = services.models_or_stop("No model yet. Train one on the Train page (for example the seed CNN on "
                                         "digits), then come back to see how it copes with corrupted and shifted data.",
                                         lambda m: services.applies(m, "calibration"))
short = services.short_labels(models)
model_id = st.selectbox("Model", [m.id for m in models], format_func=labels.get, key="ood_model")
record = store.get_model(model_id)
modality = services.dataset_modality(record.dataset)


def launch(pressed: bool, task: str, params: dict, title: str, key: str, on_done=None) -> None:
    """Submit the job when the button was pressed; follow the page's newest job of this kind."""
    launch_job(runner, pressed, task, params, title, key, on_done)


latest = store.latest_audits(model_id)


def newest(name: str) -> dict | None:
    return services.newest_audit(latest, name, model_id)


corruption_tab, shift_tab, calibration_tab, sweep_tab = st.tabs(
    ["Corruptions", "Distribution shift", "Calibration and uncertainty", "Augmentation sweep"])

with corruption_tab:
    if services.offered(record, "corruption"):
        names = list(CORRUPTIONS[modality])
        refs = ["auto"] + [m.id for m in models if m.dataset == record.dataset] + ["none"]
        with st.form("ood_corruption"):
            chosen = st.multiselect("Corruptions", names, default=names, key="ood_corruptions")
            c2, c3 = st.columns([1, 2])
            samples = option_input("corruption", "samples", "ood_corr_samples", where=c2, label="Test samples",
                                   default=500,
                                   help="Examples of the test split, the same for every corruption and model.")
            reference = c3.selectbox("Reference model", refs, key="ood_reference",
                                     format_func=lambda i: {"auto": "automatic: the plain recipe (no augmentation)",
                                                            "none": "none"}.get(i, labels.get(i, i)),
                                     help="The mean corruption error divides this model's errors by the reference's, "
                                          "corruption by corruption (Hendrycks & Dietterich 2019).")
            go = st.form_submit_button("Run corruption audit", type="primary", icon=":material/play_arrow:",
                                       disabled=not chosen)
        launch(go, "audits.jobs:audit", {"audit": "corruption", "model": model_id, "options": {
            "corruptions": chosen, "samples": int(samples), "reference": reference}},
            f"Corruption audit of {model_id}", "ood_corruption_job")
        r = newest("corruption")
        if r:
            m = r["metrics"]
            k1, k2, k3, k4 = st.columns(4)
            k1.metric("Clean accuracy", f"{m['clean_accuracy']:.1%}")
            k2.metric("Mean accuracy under corruption", f"{m['mean_accuracy']:.1%}",
                      points(m["mean_accuracy"] - m["clean_accuracy"]))
            k3.metric("Mean corruption error", "not measured" if m["mean_corruption_error"] is None
                      else f"{m['mean_corruption_error']:.3f}", help=f"Reference: {m['reference_model_id']}")
            k4.metric("Worst corruption", m["worst_corruption"],
                      help=f"Mean accuracy over the severities: {m['worst_corruption_accuracy']:.1%}")
            figures.show(figures.corruption_heatmap(r["tables"]["corruptions"]))
            figures.show(figures.corruption_curves([(short[model_id], r["tables"]["corruptions"])]))
            for w in r["warnings"]:
                st.warning(plain(w))
            gallery = r["tables"]["gallery"]
            if gallery and "image" in gallery[0]:
                figures.show(figures.corruption_gallery(gallery), width="content")
            elif gallery:
                st.subheader("Examples")
                show_table(gallery)
            with st.expander("Every corruption and severity, and the parameters used"):
                show_table(r["tables"]["summary"])
                show_table(r["tables"]["corruptions"], rates=("ci_low", "ci_high", "error"))
                show_table(r["tables"]["parameters"])
        else:
            st.info("No corruption audit of this model yet: run one above.")


with shift_tab:
    if services.offered(record, "shift"):
        candidates = [d for d in dataset_names(store) if d != record.dataset
                      and services.dataset_modality(d) == modality]
        if modality == "tabular":  # only datasets with the model's input columns can be shifted to
            needed = set(services.dataset_features(record.dataset))
            lacking = {d: sorted(needed - set(services.dataset_features(d))) for d in candidates}
            candidates = [d for d in candidates if not lacking[d]]
            if any(lacking.values()):
                st.caption("Not offered (they lack the model's columns): " + "; ".join(
                    f"{plain(d)} (no {', '.join(map(plain, cols[:4]))}{'...' if len(cols) > 4 else ''})"
                    for d, cols in lacking.items() if cols))
        default = DEFAULT_SHIFT.get(record.dataset)
        if not candidates:
            st.info(f"No other {modality} dataset to shift to. Upload a CSV with the same columns on the Data page.")
        else:
            with st.form("ood_shift"):
                s1, s2 = st.columns([2, 1])
                to = s1.selectbox("Shifted dataset", candidates, key="ood_to",
                                  index=candidates.index(default) if default in candidates else 0,
                                  help="Built-in pairs: mnist and digits; census_income_94 and census_income_95. Any "
                                       "uploaded dataset with the model's columns and classes works too.")
                shift_samples = option_input("shift", "samples", "ood_shift_samples", where=s2,
                                             label="Examples per side")
                go_shift = st.form_submit_button("Run shift audit", type="primary", icon=":material/play_arrow:")
            launch(go_shift, "audits.jobs:audit",
                   {"audit": "shift", "model": model_id, "options": {"to": to, "samples": int(shift_samples)}},
                   f"Shift audit of {model_id} to {to}", "ood_shift_job")
        r = newest("shift")
        if r:
            m = r["metrics"]
            st.info(plain(m["verdict"]))
            k1, k2, k3, k4 = st.columns(4)
            k1.metric(f"Accuracy on {r['dataset']}", f"{m['in_domain_accuracy']:.1%}")
            k2.metric(f"Accuracy on {m['to']}", f"{m['shift_accuracy']:.1%}", points(-m["accuracy_drop"]))
            k3.metric("Calibration error (ECE)", f"{m['ece_shifted']:.3f}",
                      f"{m['ece_shifted'] - m['ece_in_domain']:+.3f}", delta_color="inverse")
            k4.metric("Drifted features", f"{m['drifted_features']} of {m['features_tested']}")
            left, right = st.columns(2)
            figures.show(figures.drift_bars(r["tables"]["features"] + r["tables"]["outputs"]), where=left)
            figures.show(figures.ood_roc(r["tables"]["ood_roc"], {"max softmax": m["ood_auroc_msp"],
                                                                  "energy": m["ood_auroc_energy"]}), where=right)
            for w in r["warnings"]:
                st.warning(plain(w))
            with st.expander("Drift tests, per-class accuracy and fairness on both sides"):
                st.dataframe(pd.DataFrame(r["tables"]["features"] + r["tables"]["outputs"]), hide_index=True,
                             width="stretch")
                show_table(r["tables"]["per_class"])
                if r["tables"]["fairness"]:
                    show_table(r["tables"]["fairness"])
        elif candidates:
            st.info("No shift audit of this model yet: run one above.")


with calibration_tab:
    with st.form("ood_calibration"):
        a1, a2 = st.columns(2)
        alpha = a1.select_slider("Conformal coverage target", [0.8, 0.85, 0.9, 0.95, 0.99], 0.9, key="ood_alpha",
                                 help="Prediction sets are built to contain the true class this often.")
        sensitive = a2.multiselect("Groups", services.dataset_sensitive(record.dataset),
                                   default=services.dataset_sensitive(record.dataset), key=f"ood_sens_{model_id}")
        go_cal = st.form_submit_button("Run calibration audit", type="primary", icon=":material/play_arrow:")
    launch(go_cal, "audits.jobs:audit", {"audit": "calibration", "model": model_id, "options": {
        "alpha": round(1 - float(alpha), 4), "sensitive": sensitive}}, f"Calibration audit of {model_id}",
        "ood_calibration_job")
    r = newest("calibration")
    if r:
        m = r["metrics"]
        st.info(m["verdict"])
        k1, k2, k3, k4 = st.columns(4)
        k1.metric("ECE", f"{m['ece']:.3f}", help=f"95% interval [{m['ece_ci_low']:.3f}, {m['ece_ci_high']:.3f}]")
        k2.metric("After temperature scaling", f"{m['ece_after_temperature']:.3f}", f"T = {m['temperature']:.2f}",
                  delta_color="off")
        k3.metric("Conformal coverage", f"{m['coverage']:.1%}", f"target {m['coverage_target']:.0%}",
                  delta_color="off")
        k4.metric("Coverage gap between groups", "-" if m["coverage_gap"] is None else f"{m['coverage_gap']:.1%}")
        left, right = st.columns(2)
        figures.show(figures.reliability_diagram(r["tables"]["reliability"], m["ece"]), where=left)
        if r["tables"]["groups"]:
            figures.show(figures.group_coverage(r["tables"]["groups"], m["coverage_target"]), where=right)
            show_table(r["tables"]["groups"])
        for w in r["warnings"]:
            st.warning(plain(w))
    else:
        st.info("No calibration audit of this model yet: run one above.")
    st.subheader("Remedy: temperature scaling")
    st.write("Divides the model's logits by one temperature fitted on the validation split. Decisions stay the same; "
             "confidence becomes honest. The result is a new model with this one as parent.")
    def show_calibrated(job):
        r = job.result
        st.success(f"Registered `{r['model_id']}` (parent `{r['parent_id']}`): T = {r['temperature']:.3f}, "
                   f"test ECE {r['before']['ece']:.3f} → {r['after']['ece']:.3f}.")

    launch(st.button("Calibrate this model", icon=":material/thermostat:", key="ood_calibrate"),
           "audits.jobs:calibrate", {"model": model_id}, f"Temperature scaling of {model_id}", "ood_calibrate_job",
           show_calibrated)

with sweep_tab:
    st.write("Train the same recipe with and without augmentation (same seed) and audit each: clean accuracy, "
             "corruption error, shift, calibration, adversarial robustness and fairness side by side.")
    datasets = [d for d in dataset_names(store) if services.dataset_modality(d) == modality] or [record.dataset]
    with st.form("ood_sweep"):
        w1, w2 = st.columns(2)
        sweep_data = w1.selectbox("Dataset", datasets, index=datasets.index(record.dataset)
                                  if record.dataset in datasets else 0, key="ood_sweep_data")
        kinds = [m.name for m in list_models() if modality in m.modalities]
        sweep_model = w2.selectbox("Model", kinds, key="ood_sweep_model")
        w3, w4 = st.columns(2)
        sweep_epochs = w3.number_input("Epochs", 1, 100, 3, key="ood_sweep_epochs")
        sweep_max = w4.number_input("Max training examples (0 = all)", 0, 10_000_000, 0, key="ood_sweep_max")
        variants = st.text_input("Augmented variants (';' between variants)",
                                 {"image": "rotate,translate;noise"}.get(modality, "noise" if modality == "tabular"
                                                                          else "token_dropout"),
                                 key=f"ood_variants_{modality}", help="Each variant is trained next to the baseline.")
        go_sweep = st.form_submit_button("Run sweep", type="primary", icon=":material/play_arrow:")
    def show_sweep(job):
        rows = job.result["rows"]
        figures.show(figures.sweep_bars(rows, [
            ("clean_accuracy", "clean accuracy ↑"), ("mean_corruption_error", "mean corruption error ↓"),
            ("shift_accuracy", "shift accuracy ↑"), ("ece", "ECE ↓"), ("robust_accuracy@0.1", "PGD eps 0.1 ↑"),
            ("demographic_parity_difference", "DP gap ↓")]))
        show_table(rows)
        st.caption("The models are on the Models page; pick two on the Compare page for every dimension.")

    launch(go_sweep, "audits.jobs:augment_sweep", {
        "dataset": sweep_data, "model": sweep_model, "variants": [v for v in variants.split(";") if v.strip()],
        "options": {"epochs": int(sweep_epochs), "max_train_samples": int(sweep_max) or None}},
        f"Augmentation sweep: {sweep_model} on {sweep_data}", "ood_sweep_job", show_sweep)
