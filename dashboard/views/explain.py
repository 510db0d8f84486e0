"""Explain: attributions for a model's predictions, shown only with the checks that say whether to trust them."""

import pandas as pd
import streamlit as st

from audits.explain import DEFAULT_METHOD, METHODS, methods_for
from dashboard import services
from dashboard.components import figures
from dashboard.components.fmt import pct, plain, score, show_table
from dashboard.components.jobs import follow_job
from dashboard.components.options import option_input

st.title("Explain")
st.caption("Why did the model answer as it did? Attributions come from Captum and SHAP; each method is checked "
           "before its pictures are shown: its attributions must change when the model's weights are randomised "
           "(Adebayo et al., 2018), deleting what it ranks first must hurt the model more than a random order, and "
           "small noise must not reshuffle it. For tables: what the model leans on, proxies for sensitive "
           "attributes, and recourse: what a refused person could change to be accepted.")

store, runner = services.get_store(), services.get_runner()
models, labels = services.models_or_stop(
    "No model yet. Train one on the Train page (the seed CNN on digits takes seconds).",
    lambda m: services.applies(m, "explain"))
model_id = st.selectbox("Model", [m.id for m in models], format_func=labels.get, key="exp_model")
record = store.get_model(model_id)
modality = services.dataset_modality(record.dataset)
offered = methods_for(modality)
which_options = {"random": "a seeded random sample", "misclassified": "the misclassified (most confident first)",
         "least_confident": "the least confident", "rows": "test rows I name"}
rob = store.latest_audits(model_id).get("robustness") if modality != "text" else None
attacked = []
if rob and rob["result"]["params"].get("split", "test") == "test" and rob["result"]["params"].get("rows"):
    attacked_rows = rob["result"]["params"]["rows"]
    attacked = sorted({attacked_rows[e["index"]] for e in rob["result"]["tables"].get("examples", [])
                       if e.get("adv_pred") != e.get("clean_pred")})
if attacked:
    attack_name = rob["result"]["metrics"].get("attack", "")
    which_options["attacked"] = f"those the latest {attack_name} attack flipped ({len(attacked)})"
with st.form("exp_form"):
    c1, c2, c3 = st.columns([2, 2, 1])
    method = c1.selectbox("Method", offered, index=offered.index(DEFAULT_METHOD[modality]),
                          key=f"exp_method_{modality}", format_func=lambda m: m.replace("_", " "),
                          help="\n\n".join(f"**{m.replace('_', ' ')}**: {METHODS[m][0]}" for m in offered))
    which = c2.selectbox("Which test examples", list(which_options), format_func=which_options.get, key="exp_which")
    samples = option_input("explain", "samples", f"exp_samples_{modality}", where=c3, label="How many",
                           default=20 if modality == "text" else None,  # texts are slow: fewer
                           help="Texts take about a second each on two cores (three attributions per text).")
    rows_text = st.text_input("Test rows (for 'test rows I name')", "", key="exp_rows", placeholder="e.g. 3, 17, 42")
    favourable = immutable = None
    if modality == "tabular":
        d1, d2 = st.columns(2)
        favourable = d1.text_input("Favourable class (recourse)", "", key="exp_fav",
                                   help="Recourse is searched for people refused this class. Default: the last "
                                        "class of the dataset.") or None
        immutable = d2.text_input("Also immutable (recourse)", "", key="exp_immutable",
                                  help="Features a counterfactual may not change, besides sensitive ones and those "
                                       "the dataset declares (comma-separated).") or None
    go = st.form_submit_button("Explain and check", type="primary", icon=":material/psychology:")
if go:
    options = {"method": method, "samples": int(samples),
               "select": "random" if which in ("rows", "attacked") else which}
    if which == "attacked":
        options["rows"] = attacked
    if which == "rows":
        try:
            options["rows"] = [int(v) for v in rows_text.replace(",", " ").split()]
        except ValueError:
            options["rows"] = None
        if not options["rows"]:
            st.error("Name the test rows as numbers separated by commas, e.g. 3, 17, 42.")
            st.stop()
    if favourable:
        options["favourable"] = favourable
    if immutable:
        options["immutable"] = [c.strip() for c in immutable.split(",") if c.strip()]
    st.session_state["exp_job"] = runner.submit("audits.jobs:audit",
                                                {"audit": "explain", "model": model_id, "options": options},
                                                title=f"Explain {model_id} ({method})").id
if st.session_state.get("exp_job"):
    follow_job(runner, st.session_state["exp_job"], "exp")

r = services.latest_audit_or_stop(model_id, "explain", "No explanation audit of this model yet: run one above.",
                                  lambda m: f"{m['method'].replace('_', ' ')}, {m['n']} test examples")["result"]
m = r["metrics"]
(st.success if m["sanity_passed"] and m["faithful"] else st.error if not m["sanity_passed"] else st.warning)(
    m["verdict"])
k1, k2, k3, k4 = st.columns(4)
k1.metric("Sanity (rank correlation)", score(m["sanity_rank_correlation"], 2),
          help="With a randomised copy of the network: near 0 means the attributions depend on what the model "
               f"learned. Magnitudes only: {m.get('sanity_rank_correlation_magnitude', float('nan')):.2f}.")
k2.metric("Deletion area", score(m["deletion_auc"]), help=f"95% interval {m['deletion_auc_ci_low']:.3f} to "
          f"{m['deletion_auc_ci_high']:.3f}; lower is more faithful.")
k3.metric("Random order", score(m["random_deletion_auc"]), help=f"95% interval {m['random_deletion_auc_ci_low']:.3f} "
          f"to {m['random_deletion_auc_ci_high']:.3f}.")
k4.metric("Stability", score(m["stability"], 2), help="Rank correlation with the attributions of slightly noisy "
          "inputs: 1 is perfectly stable.")
# a failed sanity check is the audit's first warning (audits/explain/_audit.py): the verdict's box above says it
for w in r["warnings"][0 if m["sanity_passed"] else 1:]:
    st.warning(plain(w))
tables = r["tables"]
figures.show(figures.deletion_curves(tables["curves"], m["method"]))
if not m["sanity_passed"]:
    st.info("The attributions themselves are not shown: the method failed its sanity check, so its pictures would "
            "look convincing and mean nothing. Try another method.")
elif "examples" in tables:
    figures.show(figures.attribution_gallery(tables["examples"]))
elif "texts" in tables:
    figures.show(figures.token_highlights(tables["texts"]))
elif "importance" in tables:
    figures.show(figures.importance_bars(tables["importance"]))
    if tables.get("rows"):
        pick = st.selectbox("One prediction", range(len(tables["rows"])), key="exp_row",
                               format_func=lambda i: f"test row {tables['rows'][i]['index']}: "
                                                     f"{tables['rows'][i]['label']} → {tables['rows'][i]['predicted']}")
        figures.show(figures.row_attributions(tables["rows"][pick]))
if tables.get("proxies"):
    st.markdown("**Proxies for sensitive attributes**: how much of each sensitive attribute a feature carries "
                "(Cramér's V or the correlation ratio, on the training data) and how much the model leans on it.")
    show_table(pd.DataFrame(tables["proxies"]).head(15),
               strength=st.column_config.NumberColumn(format="%.2f", help="0: carries nothing of it; 1: encodes it."))
if "recourse_refused" in m:
    st.subheader("Recourse")
    if not m["recourse_refused"]:
        st.info(f"The model refuses nobody in the test split ({m.get('recourse_favourable', 'favourable class')} "
                "for everyone): there is no recourse to measure.")
    else:
        st.caption(f"For {m['recourse_refused']} people the model refuses {plain(repr(m['recourse_favourable']))}: the "
                   "smallest realistic change to their own row that turns the decision, never touching the features "
                   "held fixed below; the shares per group are measured under the same constraints. Cost: the sum "
                   "of changes in interquartile ranges (numbers) plus 1 per changed category. Every counterfactual "
                   f"was re-checked: {'all pass' if m['recourse_checked'] else 'SOME FAIL'}.")
        held = tables.get("recourse_held_fixed") or [{"feature": f, "why": ""} for f in m["frozen_features"]]
        st.markdown("**Held fixed:** " + ("; ".join(f"{plain(h['feature'])}" + (f" ({plain(h['why'])})" if h["why"]
                                                                                  else "") for h in held)
                                          or "nothing"))
        c1, c2 = st.columns(2)
        c1.metric("Refused people with recourse", pct(m["recourse_share"]))
        c2.metric("Average cost", score(m["recourse_mean_cost"], 2) if m["recourse_mean_cost"] is not None else "—")
        if tables.get("recourse_by_group"):
            figures.show(figures.recourse_by_group(tables["recourse_by_group"]))
        found = [e for e in tables.get("recourse", []) if e["changes"]][:20]
        if found:
            st.dataframe(pd.DataFrame([{"test row": e["index"], "cost": e["cost"], "change": "; ".join(
                f"{c['feature']}: {c['from']} → {c['to']}" for c in e["changes"])} for e in found]),
                hide_index=True, width="stretch")
