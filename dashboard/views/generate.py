"""Generate: continue a prompt with a language model trained here, with each token's log-probability."""

import pandas as pd
import streamlit as st

from dashboard import services

st.title("Generate")
st.caption("Continuations from a small GPT that fmaudit trained itself on shipped text (nothing is downloaded). "
           "Sampling uses its own seed: the same prompt, settings and seed give the same text, so a continuation "
           "can be reproduced and cited.")

models, labels = services.models_or_stop(
    "No language model yet. Train one from a terminal: fmaudit train --dataset tweets --model gpt --epochs 1 "
    "--max-train 10000 (about half a minute).", services.generates, fix=None)
model_id = st.selectbox("Language model", [m.id for m in models], format_func=labels.get, key="gen_model")
record = services.get_store().get_model(model_id)
m = record.metrics
st.caption(f"Test perplexity {m['test_perplexity']:.1f} (a unigram model of the same tokens: "
           f"{m['unigram_perplexity']:.1f}); {record.n_params:,} parameters.")
with st.form("gen_form"):
    prompt = st.text_area("Prompt", "@united my flight", key="gen_prompt", max_chars=2000)
    c1, c2, c3, c4, c5 = st.columns(5)
    temperature = c1.number_input("Temperature", 0.0, 5.0, 1.0, step=0.1, key="gen_temperature",
                                  help="0: always the likeliest token (the seed then does not matter).")
    top_k = c2.number_input("Top-k (0 = all)", 0, 5000, 50, key="gen_top_k")
    seed = c3.number_input("Seed", 0, 2**31 - 1, 0, key="gen_seed")
    samples = c4.number_input("Continuations", 1, 10, 3, key="gen_samples", help="Seeds seed, seed+1, ...")
    length = c5.number_input("Max tokens", 1, 200, 40, key="gen_length")
    go = st.form_submit_button("Generate", type="primary", icon=":material/auto_awesome:")
if go:
    lm = services.language_model(model_id)
    outs = [lm.generate(prompt, max_new_tokens=int(length), temperature=float(temperature), top_k=int(top_k) or None,
                        seed=int(seed) + i) for i in range(int(samples))]
    for o in outs:
        with st.container(border=True):
            st.text(prompt + o["text"])  # plain text: generated text is never rendered as markdown
            st.caption(f"seed {o['seed']} · {len(o['tokens'])} tokens · log-probability {sum(o['logprobs']):.1f}")
            with st.expander("Tokens and their log-probabilities"):
                st.dataframe(pd.DataFrame({"token": o["tokens"], "log-probability": o["logprobs"]}),
                             hide_index=True, width="stretch")
