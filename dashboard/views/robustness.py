"""Robustness: attack models across perturbation sizes, see the attacked inputs, harden a model."""

import pandas as pd
import streamlit as st

from audits.robustness import ATTACKS, BLACK_BOX_ATTACKS
from dashboard import services
from dashboard.components import figures
from dashboard.components.fmt import plain, show_table
from dashboard.components.jobs import follow_job
from dashboard.components.options import option_input

st.title("Robustness")
st.caption("How fast does accuracy fall when someone deliberately nudges the input? Attacks come from the "
           "adversarial-robustness-toolbox. Each point is measured on the same seeded test sample, with a 95% "
           "interval; sanity checks flag numbers that should not be trusted.")

store, runner = services.get_store(), services.get_runner()
models, labels = services.models_or_stop(
    "No model yet. Train one on the Train page (for example the seed CNN on digits).",
    lambda m: services.applies(m, "robustness"))
short = services.short_labels(models)
chosen = st.multiselect("Models (several are overlaid)", [m.id for m in models], default=[models[0].id],
                        format_func=labels.get, key="rob_models", max_selections=6)
kinds = {services.dataset_modality(store.get_model(m).dataset) for m in chosen} or {"image"}
if len(kinds) > 1:
    st.error(f"The chosen models take different kinds of input ({', '.join(sorted(kinds))}); attacks are "
             "compared on one kind at a time.")
    st.stop()
kind = kinds.pop()
fitting = [a for a, spec in ATTACKS.items() if spec.fits(kind)]
opaque = [short[m] for m in chosen if "gradients" not in services.offers(store.get_model(m))]
if opaque:  # only what can work is offered: attacks through the model's predictions
    fitting = [a for a in fitting if a in BLACK_BOX_ATTACKS.get(kind, ())]
    st.info(f"{', '.join(map(plain, opaque))}: a black box to fmaudit (no gradients: an imported scikit-learn or "
            "ONNX model), so only attacks through its predictions are offered "
            f"({', '.join(ATTACKS[a].title for a in fitting) or 'none for this kind of input'}). White-box attacks "
            "such as PGD need a network fmaudit can differentiate.")
    if not fitting:
        st.stop()
left, right = st.columns(2)
attack = left.selectbox("Attack", fitting, index=fitting.index("pgd") if "pgd" in fitting else 0,
                        format_func=lambda a: f"{ATTACKS[a].title} ({ATTACKS[a].access})",
                        key="rob_attack")
spec = ATTACKS[attack]
right.caption(spec.description)
default_eps = {"inf": "0.05, 0.1, 0.2, 0.3", "2": "0.5, 1, 2, 3", "words": "1, 2, 3, 5"}[spec.norm]
with st.form("rob_form"):
    c1, c2, c3 = st.columns(3)
    eps_text = c1.text_input("Epsilons", default_eps, key="rob_eps",
                             help="Perturbation sizes, comma-separated. Linf: the most any pixel or standardised "
                                  "feature may change; L2: the length of the whole change.")
    samples = option_input("robustness", "samples", "rob_samples", where=c2, label="Test samples",
                           default=200 if spec.access == "white-box" else 50,
                           help="More samples give narrower intervals and take longer.")
    steps = option_input("robustness", "steps", "rob_steps", where=c3, label="Steps / iterations",
                         placeholder="default")  # short: the box is narrow at 800 px
    free, immutable = False, []
    if kind == "tabular":
        t1, t2 = st.columns(2)
        features = sorted({f for m in chosen for f in services.dataset_features(store.get_model(m).dataset)})
        immutable = t1.multiselect(
            "Also keep fixed", features,
            key="rob_immutable", help="Features an attacker cannot change (besides those the dataset declares, such as "
                                      "age behind an age band). Sensitive attributes are never model inputs.")
        free = t2.checkbox("Unconstrained (rows that cannot exist)", False, key="rob_free",
                           help="Lets the attack move freely in the encoded space: fractions of categories, "
                                "non-whole counts, immutable features changed. Only for comparison: its rows are "
                                "not real inputs.")
    run = st.form_submit_button("Run attack", type="primary", icon=":material/play_arrow:", disabled=not chosen)

if run:
    try:
        eps = [float(v) for v in eps_text.replace(" ", "").split(",") if v]
    except ValueError:
        st.error(f"Epsilons must be numbers separated by commas, such as {default_eps}.")
    else:
        options = {"attack": attack, "eps": eps, "samples": int(samples)}
        if kind == "tabular":
            options.update(constraints="none" if free else "valid", immutable=immutable)
        if steps:
            options["steps"] = int(steps)  # the iterations of any iterative attack
        job = runner.submit("audits.jobs:audit", {"audit": "robustness", "models": chosen, "options": options},
                            title=f"{spec.title} on {len(chosen)} model(s)")
        st.session_state["rob_job"] = job.id

if st.session_state.get("rob_job"):
    follow_job(runner, st.session_state["rob_job"], "rob")

latest = {}
for model_id in chosen:
    found = [a for a in store.list_audits(model_id) if a["name"] == "robustness"
             and a["result"]["params"]["attack"] == attack]
    if found:
        latest[model_id] = found[0]["result"]
        st.caption(services.audit_caption(found[0], prefix=f"{plain(short[model_id])}: {spec.title}. "))
if latest:
    series = [(short[m], r["metrics"]["clean_accuracy"], r["tables"]["sweep"]) for m, r in latest.items()]
    figures.show(figures.robustness_curves(series, spec.norm))
    rows = [{"model": short[m], **row} for m, r in latest.items() for row in r["tables"]["sweep"]]
    show_table(rows, rates=("ci_low", "ci_high"))
    first = next(iter(latest.values()))
    components = [{"model": short[m], **row} for m, r in latest.items() for row in r["tables"].get("components", [])]
    if components:
        st.subheader("AutoAttack, component by component")
        st.caption("Each component run alone on the same inputs, the ensemble, and the worst case (robust only if an "
                   "input survives all of them): the number to compare with published robust accuracies.")
        table = pd.DataFrame(components).pivot_table(index=["model", "component"], columns="eps",
                                                     values="robust_accuracy", sort=False)
        table.columns = [f"eps {c:g}" for c in table.columns]
        show_table(table.reset_index(), rates=tuple(table.columns))
    for w in [w for r in latest.values() for w in r["warnings"]]:
        st.warning(plain(w))
    with st.expander("Sanity checks", expanded=not all(c["passed"] for r in latest.values()
                                                        for c in r["tables"]["checks"])):
        checks = [{"model": short[m], **c} for m, r in latest.items() for c in r["tables"]["checks"]]
        show_table(checks)
    examples = first["tables"]["examples"]
    st.subheader(f"Attacked examples (eps {first['artifacts'].get('gallery_eps')}, {short[next(iter(latest))]})")
    if examples and "edited" in examples[0]:
        st.dataframe(pd.DataFrame([{k: e[k] for k in ("true", "adv_pred", "edits", "original", "edited")}
                                   for e in examples]), hide_index=True, width="stretch")
    elif examples and "original" in examples[0]:
        gallery = figures.adversarial_gallery(examples)
        # beneath it, each example in words (read from its panels' titles it was "... change, change, change")
        gallery.update_layout(meta={"alt": "; ".join([
            f"true {e['true']}: {e['clean_pred']} ({e['clean_confidence']:.0%}) before the attack, {e['adv_pred']} "
            f"({e['adv_confidence']:.0%}) after" for e in examples if "original" in e][:6])})
        figures.show(gallery)
    elif examples and first["metrics"].get("constraints") == "valid":
        st.caption("What the attack changed, in the data's own units and categories (every adversarial row is one "
                   "that could exist).")
        if first["metrics"].get("verdict"):
            st.info(first["metrics"]["verdict"])
        st.dataframe(pd.DataFrame([{"true": e["true"], "prediction after": e["adv_pred"], **c}
                                   for e in examples for c in e.get("changes", [])]), hide_index=True)
    elif examples:
        st.caption("UNCONSTRAINED attack: largest changes to the encoded features (numeric features in standard "
                   "deviations, categories as fractions): these rows may not exist.")
        st.dataframe(pd.DataFrame([{"true": e["true"], "prediction after": e["adv_pred"], **c}
                                   for e in examples for c in e.get("changes", [])]), hide_index=True)
    with st.expander("Per-class accuracy under attack"):
        show_table(first["tables"]["per_class"])
else:
    st.caption(f"No {spec.title} results for the chosen models yet: run the attack above.")

st.subheader("Defence: adversarial training")
st.write("Fine-tunes a model on PGD-attacked versions of its training data (Madry et al.). The result is a new "
         "model whose parent is the original, so both can be compared here and on the Models page.")
with st.form("harden_form"):
    hardenable = [m.id for m in models if services.dataset_modality(m.dataset) != "text"]
    attacked = next((m for m in chosen if m in hardenable), None)  # default: the model just attacked
    target = st.selectbox("Model", hardenable, format_func=labels.get, key=f"harden_model_{attacked}",
                          index=hardenable.index(attacked) if attacked else 0)
    h2, h3, h4 = st.columns(3)
    h_eps = h2.number_input("Epsilon", 0.01, 1.0, 0.1, step=0.01, key="harden_eps")
    h_epochs = h3.number_input("Epochs", 1, 20, 1, key="harden_epochs")
    h_steps = h4.number_input("PGD steps per batch", 1, 40, 5)
    start = st.form_submit_button("Harden", icon=":material/shield:", disabled=not hardenable)
if start:
    job = runner.submit("audits.jobs:harden", {"model": target, "options": {
        "eps": float(h_eps), "epochs": int(h_epochs), "steps": int(h_steps)}}, title=f"Harden {target}")
    st.session_state["harden_job"] = job.id
if st.session_state.get("harden_job"):
    def show(job):
        r = job.result
        st.success(f"Registered `{r['model_id']}` (parent `{r['parent_id']}`).")
        figures.show(figures.before_after(r["before"], r["after"], r["after"]["eps"]))

    follow_job(runner, st.session_state["harden_job"], "harden", show)
