"""Language models: memorisation (canaries, extraction, membership), its remedies, and generated-harm probes."""

import pandas as pd
import streamlit as st

from audits.probes import sentiment_candidates
from dashboard import services
from dashboard.components import figures
from dashboard.components.fmt import show_table
from dashboard.components.jobs import launch
from dashboard.components.options import option_input

st.title("Language model")
st.caption("The questions put to large generative models, asked of the small GPT fmaudit trained itself: does it "
           "repeat secrets it saw in training, do differential privacy or de-identification stop that and at what "
           "cost, and does what it writes change with the group a prompt names.")

store, runner = services.get_store(), services.get_runner()
models, labels = services.models_or_stop(
    "No language model yet. Train one with canaries (secrets planted to be measured): fmaudit train --dataset "
    "tweets --model gpt --epochs 2 --max-train 10000 --canaries 1,16,128 --canary-digits 9", services.generates,
    fix=None)
model_id = st.selectbox("Language model", [m.id for m in models], format_func=labels.get, key="lm_model")
record = store.get_model(model_id)
latest = store.latest_audits(model_id)
canaries = record.derivation.get("canaries") or []
st.caption(f"Test perplexity {record.metrics['test_perplexity']:.1f} (a unigram model of the same tokens: "
           f"{record.metrics['unigram_perplexity']:.1f}) · {record.derivation.get('how', '')}")

memo_tab, remedy_tab, probe_tab, compress_tab = st.tabs(["Memorisation", "Remedies", "Group probes",
                                                         "Compression"])

with memo_tab:
    st.write("Canaries are random secrets in a fixed format (\"my secret code is ...\") planted in the training texts "
             "a chosen number of times. Exposure ranks the true secret among every possible one by the model's "
             "probability: 0 bits means it is no likelier than a random secret, the maximum means it comes first. "
             "Extraction asks whether greedy decoding continues training texts exactly; membership inference "
             "whether a text's loss gives away that it was trained on.")
    if not canaries:
        st.info("This model was trained without canaries: exposure cannot be measured (extraction and membership "
                "still are). Train with --canaries 1,16,128 to plant some.")
    with st.form("lm_memo"):
        texts = option_input("memorization", "texts", "lm_texts", label="Texts for extraction and membership inference")
        go = st.form_submit_button("Run memorisation audit", type="primary", icon=":material/play_arrow:")
    launch(runner, go, "audits.jobs:audit",
           {"audit": "memorization", "model": model_id, "options": {"texts": int(texts)}},
           f"Memorisation audit of {model_id}", "lm_memo_job")
    r = services.newest_audit(latest, "memorization", model_id)
    if r:
        m = r["metrics"]
        st.info(m["verdict"])
        k1, k2, k3 = st.columns(3)
        k1.metric("Largest exposure", "n/a" if m["max_exposure"] is None else f"{m['max_exposure']:.1f} bits")
        k2.metric("Training texts extracted", f"{m['extraction_rate']:.1%}",
                  help=f"Held-out texts continued exactly: {m['extraction_rate_heldout']:.1%}.")
        k3.metric("Membership AUC (loss)", f"{m['mia_auc_loss']:.3f}",
                  help=f"95% interval {m['mia_auc_loss_ci'][0]:.3f} to {m['mia_auc_loss_ci'][1]:.3f}; 0.5 is chance.")
        if r["tables"]["canaries"]:
            figures.show(figures.canary_exposure(r["tables"]["canaries"]))
            st.dataframe(pd.DataFrame(r["tables"]["canaries"]).drop(columns=["secret"], errors="ignore"),
                         hide_index=True, width="stretch")
        show_table(r["tables"]["mia"])
    else:
        st.info("No memorisation audit of this model yet: run one above.")

with remedy_tab:
    st.write("The same recipe (texts, canaries, sizes, seed) trained again with DP-SGD at each privacy budget, and "
             "once on texts de-identified by fmaudit's own scan (identifiers replaced by their kind, canaries of 9 "
             "or more digits included); each is given the memorisation audit. Each retrained model is registered as "
             "a child of this one.")
    if not canaries:
        st.info("Remedies are measured on canaries: train a model with --canaries first.")
    elif record.parent_id is not None:
        st.info("This model is itself a remedy of another; run the remedies from the model as trained.")
    else:
        with st.form("lm_remedy"):
            c1, c2 = st.columns(2)
            eps = c1.text_input("DP-SGD epsilons", "1,8", key="lm_eps", help="Comma-separated; one retraining each.")
            deid = c2.checkbox("Also retrain on de-identified texts", True, key="lm_deid")
            go_r = st.form_submit_button("Retrain and audit", type="primary", icon=":material/play_arrow:")
        try:
            epsilons = [float(e) for e in eps.split(",") if e.strip()]
        except ValueError:
            epsilons = []
            st.error("Epsilons are numbers separated by commas, e.g. 1,8.")

        def show_remedies(job):
            rows = job.result["rows"]
            figures.show(figures.lm_remedies(rows))
            table = pd.DataFrame([{k: v for k, v in row.items() if k not in ("canaries", "audit_id")} for row in rows])
            show_table(table)

        launch(runner, go_r and bool(epsilons), "audits.jobs:lm_remedies",
               {"model": model_id, "epsilons": epsilons, "deidentify": bool(deid)},
               f"Memorisation remedies of {model_id}", "lm_remedy_job", show_remedies)

        if not st.session_state.get("lm_remedy_job"):
            children = [c for c in store.list_models(record.dataset) if c.parent_id == model_id and
                        services.generates(c)]
            if children:
                st.caption(f"Remedies trained before: {', '.join(c.id for c in children)} (their audits are on "
                           "this page when you select them).")


with probe_tab:
    st.write("Prompts that differ only in a group word (\"The woman worked as\" / \"The man worked as\") are continued "
             "with the same seeds; each continuation (not the prompt) is scored for sentiment by a tweets classifier "
             "fmaudit fine-tuned and for profanity by alt-profanity-check. The gap is the largest group mean minus "
             "the smallest, with a 95% interval over the paired prompts; every continuation is kept.")
    scorers = sentiment_candidates(store)
    if not scorers:
        st.info("No sentiment classifier yet: fine-tune one on tweets on the Fine-tune page (LoRA on MiniLM, about "
                "a minute), then come back.")
    else:
        with st.form("lm_probe"):
            c1, c2 = st.columns(2)
            groups = option_input("probes", "groups", "lm_groups", where=c1, label="Group words") or []
            samples = option_input("probes", "samples", "lm_samples", where=c2, label="Continuations per prompt")
            scorer = st.selectbox("Sentiment classifier", [m.id for m in scorers][::-1], key="lm_scorer",
                                  format_func=lambda i: f"{i} ({store.get_model(i).name})")
            go_p = st.form_submit_button("Run probes", type="primary", icon=":material/play_arrow:")
        launch(runner, go_p, "audits.jobs:audit", {"audit": "probes", "model": model_id, "options": {
            "groups": groups, "samples": int(samples),
            "sentiment_model": scorer}}, f"Group probes of {model_id}", "lm_probe_job")
    r = services.newest_audit(latest, "probes", model_id)
    if r:
        m = r["metrics"]
        st.info(m["verdict"])
        k1, k2, k3 = st.columns(3)
        k1.metric("Sentiment gap", f"{m['sentiment_gap']:.3f}",
                  help=f"95% interval {m['sentiment_gap_ci'][0]:.3f} to {m['sentiment_gap_ci'][1]:.3f}")
        k2.metric("Profanity gap", f"{m['profanity_gap']:.3f}",
                  help=f"95% interval {m['profanity_gap_ci'][0]:.3f} to {m['profanity_gap_ci'][1]:.3f}")
        k3.metric("Continuations with identifiers", f"{m['continuations_with_identifiers']} of {m['continuations']}")
        figures.show(figures.probe_groups(r["tables"]["groups"], r["tables"]["generations"]))
        with st.expander("Every continuation with its scores"):
            show_table(r["tables"]["generations"])


with compress_tab:
    st.write("int8 weights (torchao) and magnitude pruning of the decoder's linear layers, each registered as a "
             "child; the audit compares test perplexity, size, latency and the exposure of the most repeated canary "
             "with the original. The embedding (also the output layer) stays in float32.")
    if record.derivation.get("compression"):
        st.info("This model is itself compressed; select the original to compress it.")
    else:
        with st.form("lm_compress"):
            chosen = st.multiselect("Methods", ["int8", "prune:0.5", "prune:0.8"], default=["int8", "prune:0.5"],
                                    key="lm_methods", accept_new_options=True)
            go_c = st.form_submit_button("Compress and audit", type="primary", icon=":material/compress:",
                                         disabled=not chosen)
        launch(runner, go_c, "audits.jobs:compression", {"model": model_id, "methods": chosen},
               f"Compress {model_id}", "lm_compress_job")
        r = services.newest_audit(latest, "compression", model_id)
        if r and "parent_test_perplexity" in r["metrics"]:
            parent, rows = r["tables"]["parent"][0], r["tables"]["variants"]
            points = [{"variant": "as trained", **parent}] + [{"variant": row["method"], **row} for row in rows]
            figures.show(figures.lm_remedies(points, "Compression: perplexity and what stays memorised"))
            show_table(pd.DataFrame(rows).drop(columns=["model_id"]))
