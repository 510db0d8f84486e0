"""Safety: backdoors in the model and its training data, with the remedy; certified robustness."""

import pandas as pd
import streamlit as st

from dashboard import services
from dashboard.components import figures
from dashboard.components.fmt import plain, show_table
from dashboard.components.jobs import launch
from dashboard.components.options import option_input

st.title("Safety")
st.caption("Attacks planted before the model ever ships: a trigger hidden in the training data that makes the model "
           "answer what the attacker wants (a backdoor). And the other side: a proof, not a measurement, that no "
           "change within a radius can alter an answer (certified robustness by randomized smoothing).")

store, runner = services.get_store(), services.get_runner()
models, labels = services.models_or_stop(
    "No image model yet. Train the seed CNN on digits on the Train page; under More settings you can plant a "
    "backdoor in a share of its training data to see the audit find it.",
    lambda m: services.applies(m, "backdoor") or services.applies(m, "certified"))
model_id = st.selectbox("Model", [m.id for m in models], format_func=labels.get, key="safety_model")
record = store.get_model(model_id)
latest = store.latest_audits(model_id)
poison = record.derivation.get("poison")
if poison:
    st.warning(f"This model was trained on poisoned data on purpose (a demonstration): {len(poison['rows'])} "
               f"training rows were given {'a trigger and ' if poison['kind'] == 'backdoor' else ''}the label "
               f"{poison['target']!r}. The audit below does not read this; it is used only to score the audit.")


def newest(name: str) -> dict | None:
    return services.newest_audit(latest, name, model_id)


backdoor_tab, certified_tab = st.tabs(["Backdoors and poisoned data", "Certified robustness"])

with backdoor_tab:
    if services.offered(record, "backdoor"):
        st.write("For every class, the audit searches for the smallest patch that sends clean images to that class "
                 "(Neural Cleanse). A class reached by a far smaller patch than the others has a shortcut: a "
                 "backdoor. Its training rows that the model sees like triggered inputs are the suspects.")
        with st.form("safety_backdoor"):
            b1, b2, b3 = st.columns(3)
            images = option_input("backdoor", "images", "bd_images", where=b1, label="Clean images to stamp",
                                  help="Validation images the trigger search must send to each class.")
            steps = option_input("backdoor", "steps", "bd_steps", where=b2, label="Optimisation steps per class")
            threshold = option_input("backdoor", "threshold", "bd_threshold", where=b3, label="Anomaly index threshold",
                                     step=0.5, help="Neural Cleanse flags a class whose trigger size lies more than 2 "
                                                    "median absolute deviations below the median.")
            go = st.form_submit_button("Run backdoor audit", type="primary", icon=":material/play_arrow:")
        launch(runner, go, "audits.jobs:audit", {"audit": "backdoor", "model": model_id, "options": {
            "images": int(images), "steps": int(steps), "threshold": float(threshold)}},
            f"Backdoor audit of {model_id}", "safety_backdoor_job")
        r = newest("backdoor")
        if r:
            m = r["metrics"]
            (st.error if m["detected"] else st.success)(m["verdict"])
            k1, k2, k3, k4 = st.columns(4)
            k1.metric("Largest anomaly index", f"{m['max_anomaly_index']:.2f}", help="Above the threshold: flagged.")
            k2.metric("Suspected target", m["suspected_target"] or "none")
            k3.metric("Training rows flagged", m["rows_flagged"])
            if m.get("precision") is not None:
                k4.metric("Precision / recall", f"{m['precision']:.0%} / {m['recall']:.0%}",
                          help="Of the flagged rows, against the poison recorded at training.")
            figures.show(figures.backdoor_anomaly(r["tables"]["classes"], float(r["params"]["threshold"])))
            if r["tables"].get("trigger"):
                figures.show(figures.backdoor_rows(r["tables"]["trigger"], r["tables"]["examples"]),
                             width="content")
            detectors = r["tables"].get("detectors") or []
            data_side = [d for d in detectors if "strip" not in d["detector"].lower()]
            strip = [d for d in detectors if "strip" in d["detector"].lower()]
            if detectors:
                st.markdown("**Second opinions** on the same model. Over the training rows, ART's activation "
                            "clustering and spectral signatures (each flags rows in every class; the trigger search "
                            "above stays the verdict):")
                show_table(data_side)
            if strip:
                st.markdown("At inference, STRIP: test inputs of other classes blended with clean images; a trigger "
                            "keeps the answer, so low entropy means a triggered input (the recorded trigger where the "
                            "poison is known, else the recovered one):")
                show_table(pd.DataFrame(strip).drop(columns=["detector"]))
            with st.expander("Every class"):
                show_table(r["tables"]["classes"])
            if m["detected"] and m["rows_flagged"]:
                st.subheader("Remedy: retrain without the suspected rows")
                st.write(f"The same recipe (data, architecture, options, seed) trained again without the "
                         f"{m['rows_flagged']} flagged rows, registered as a child of this model. Audit the child "
                         "again: its anomaly index should fall below the threshold.")
                if record.derivation.get("kind") != "trained" or record.parent_id is not None:
                    st.info("Only a model trained from scratch here can be retrained from its recipe.")
                else:
                    def cleaned(job):
                        s = job.result
                        b, a = s["before"], s["after"]
                        text = (f"Registered `{s['model_id']}`: accuracy {b['accuracy']:.1%} -> {a['accuracy']:.1%}")
                        if b.get("attack_success_rate") is not None:
                            text += (f"; backdoor success on triggered test inputs {b['attack_success_rate']:.1%} -> "
                                     f"{a['attack_success_rate']:.1%}")
                        st.success(text + ".")

                    retrain = st.button("Retrain without the suspected rows", icon=":material/cleaning_services:")
                    launch(runner, retrain, "audits.jobs:cleanse", {"model": model_id},
                           f"Retrain {model_id} without suspected rows", "safety_cleanse_job", cleaned)
        else:
            st.info("No backdoor audit of this model yet: run one above.")

with certified_tab:
    if services.offered(record, "certified"):
        st.write("The smoothed model answers the class the network gives most often under Gaussian noise; for each "
                 "input it proves a radius within which no change can alter that answer, or abstains. PGD-L2 at the "
                 "same radius on the same inputs gives an upper bound: a certificate above it is a bug and is "
                 "flagged. Training with noise of the same sigma (augmentation noise on the Train page) is the "
                 "matching remedy.")
        with st.form("safety_certified"):
            c1, c2, c3, c4 = st.columns(4)
            sigma = option_input("certified", "sigma", "cert_sigma", where=c1, label="Noise sigma", step=0.05,
                                 help="Larger sigma certifies larger radii but blurs the model's answers.")
            samples = option_input("certified", "samples", "cert_samples", where=c2, label="Test inputs")
            n = option_input("certified", "n", "cert_n", where=c3, label="Noisy copies per input", step=100,
                             help="More copies give larger, surer certificates and take longer.")
            radii_text = c4.text_input("Radii", "", key="cert_radii", placeholder="default",
                                       help="L2 radii, comma-separated. Default: 0, 0.25, 0.5, 0.75 and 1 up to the "
                                            "largest radius the noisy copies can certify, and that radius.")
            go_cert = st.form_submit_button("Certify", type="primary", icon=":material/verified:")
        if go_cert:
            try:
                radii = [float(v) for v in radii_text.replace(" ", "").split(",") if v]
            except ValueError:
                st.error("Radii must be numbers separated by commas, such as 0, 0.25, 0.5.")
                go_cert = False
        launch(runner, go_cert, "audits.jobs:audit", {"audit": "certified", "model": model_id, "options": {
            "sigma": float(sigma), "samples": int(samples), "n": int(n),
            "radii": (radii or None) if go_cert else None}}, f"Certified robustness of {model_id}",
            "safety_certified_job")
        r = newest("certified")
        if r:
            m = r["metrics"]
            st.info(m["verdict"])
            k1, k2, k3 = st.columns(3)
            k1.metric("Smoothed accuracy (no attack)", f"{m['clean_smoothed_accuracy']:.1%}")
            k2.metric("Abstained", f"{m['abstain_rate']:.1%}")
            k3.metric("Median certified radius", f"{m['median_certified_radius']:.3f}",
                      help="Over all inputs, counting 0 for those the smoothed model gets wrong or abstains on.")
            figures.show(figures.certified_curves(r["tables"]["radii"], m["sigma"]))
            for w in r["warnings"]:
                st.warning(plain(w))
            show_table(r["tables"]["radii"])
            with st.expander("Sanity check"):
                show_table(r["tables"]["checks"])
        else:
            st.info("No certification of this model yet: run one above.")
