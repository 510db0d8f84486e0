"""Explain: attributions for a model's predictions, shown only with the checks that say whether to trust them."""

import pandas as pd
import streamlit as st

from audits.explain import METHODS, methods_for
from dashboard import services
from dashboard.components import figures
from dashboard.components.fmt import percent_column, score
from dashboard.components.jobs import follow_job

st.title("Explain")
st.caption("Why did the model answer as it did? Attributions come from Captum and SHAP; each method is checked "
           "before its pictures are shown: its attributions must change when the model's weights are randomised "
           "(Adebayo et al., 2018), deleting what it ranks first must hurt the model more than a random order, and "
           "small noise must not reshuffle it. For tables: what the model leans on, and proxies for sensitive "
           "attributes.")

store, runner = services.get_store(), services.get_runner()
models, labels = services.models_or_stop(
    "No image or tabular model yet. Train one on the Train page (the seed CNN on digits takes seconds).",
    lambda m: services.dataset_modality(m.dataset) != "text")
model_id = st.selectbox("Model", [m.id for m in models], format_func=labels.get, key="exp_model")
record = store.get_model(model_id)
modality = services.dataset_modality(record.dataset)
offered = methods_for(modality)
with st.form("exp_form"):
    c1, c2 = st.columns([2, 1])
    method = c1.selectbox("Method", offered, key=f"exp_method_{modality}", format_func=lambda m: m.replace("_", " "),
                          help="\n\n".join(f"**{m.replace('_', ' ')}**: {METHODS[m][0]}" for m in offered))
    samples = c2.number_input("Test examples", 10, 2000, 50, key="exp_samples")
    go = st.form_submit_button("Explain and check", type="primary", icon=":material/psychology:")
if go:
    st.session_state["exp_job"] = runner.submit("audits.jobs:explain", {"model": model_id, "options": {
        "method": method, "samples": int(samples)}}, title=f"Explain {model_id} ({method})").id
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
for w in r["warnings"]:
    st.warning(w)
st.plotly_chart(figures.deletion_curves(r["tables"]["curves"], m["method"]), width="stretch")
if not m["sanity_passed"]:
    st.info("The attributions themselves are not shown: the method failed its sanity check, so its pictures would "
            "look convincing and mean nothing. Try another method.")
elif "examples" in r["tables"]:
    st.plotly_chart(figures.attribution_gallery(r["tables"]["examples"]), width="stretch")
elif "importance" in r["tables"]:
    st.plotly_chart(figures.importance_bars(r["tables"]["importance"]), width="stretch")
if r["tables"].get("proxies"):
    st.markdown("**Proxies for sensitive attributes**: how much of each sensitive attribute a feature carries "
                "(Cramér's V or the correlation ratio, on the training data) and how much the model leans on it.")
    st.dataframe(pd.DataFrame(r["tables"]["proxies"]).head(15), hide_index=True, width="stretch", column_config={
        "strength": st.column_config.NumberColumn(format="%.2f", help="0: carries nothing of it; 1: encodes it."),
        "importance_share": percent_column("Share of the model's attribution that goes to this feature.")})
