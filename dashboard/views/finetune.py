"""Fine-tune: adapt the pretrained MiniLM with PEFT (or fully, or as a probe), or transfer an image model."""

import streamlit as st

from dashboard import services
from dashboard.components import figures
from dashboard.components.fmt import show_table
from dashboard.components.jobs import follow_job
from fmcore.data import dataset_names
from fmcore.finetune import DEFAULT_LR, IMAGE_METHODS, METHOD_HELP, TEXT_METHODS, FinetuneConfig

st.title("Fine-tune")
st.caption("Parameter-efficient fine-tuning promises most of the quality of full fine-tuning while training a "
           "tiny fraction of the weights. Measure that claim on your data: every method is registered with "
           "the pretrained base as its parent, with its cost (trainable share, time per step, memory, size).")

store, runner = services.get_store(), services.get_runner()
helps = FinetuneConfig.help()
names = [n for n in dataset_names(store) if services.dataset_modality(n) in ("text", "image")]
left, right = st.columns(2)
dataset = left.selectbox("Dataset", names, index=names.index("tweets") if "tweets" in names else 0, key="ft_dataset",
                         help="Text datasets fine-tune MiniLM; image datasets transfer a trained CNN.")
modality = services.dataset_modality(dataset)
methods = TEXT_METHODS if modality == "text" else IMAGE_METHODS
method = right.selectbox("Method", methods, key="ft_method")
st.info(METHOD_HELP[method], icon=":material/info:")

with st.form("ft_form"):
    c1, c2, c3, c4 = st.columns(4)
    epochs = c1.number_input("Epochs", 1, 50, 1 if modality == "text" else 10, help=helps["epochs"], key="ft_epochs")
    max_train = c2.number_input("Training examples", 16, 100_000, 2000 if modality == "text" else 200,
                                help=helps["max_train_samples"], key="ft_max_train")
    lr = c3.number_input("Learning rate", 1e-6, 1.0, DEFAULT_LR[method], format="%.5f", help=helps["lr"])
    seed = c4.number_input("Seed", 0, 2**31 - 1, 0, help=helps["seed"])
    extra = {}
    if method == "lora":
        d1, d2, d3 = st.columns(3)
        extra["rank"] = d1.number_input("Rank r", 1, 256, 8, help=helps["rank"])
        extra["alpha"] = d2.number_input("Alpha", 1, 512, 16, help=helps["alpha"])
        extra["targets"] = d3.multiselect("Target modules", ["query", "key", "value", "dense"], ["query", "value"],
                                          help=helps["targets"])
        extra["merge"] = st.checkbox("Merge the adapter into the base before saving", help=helps["merge"])
    elif method == "prompt":
        extra["virtual_tokens"] = st.number_input("Virtual tokens", 1, 100, 20, help=helps["virtual_tokens"])
    elif method == "transfer":
        sources = [r for r in store.list_models() if r.model == "seed_cnn" and r.dataset != dataset]
        if sources:
            extra["parent_id"] = st.selectbox("Transfer from", [r.id for r in reversed(sources)],
                                              format_func=lambda i: services.model_label(store.get_model(i)),
                                              help=helps["parent_id"])
        else:
            st.warning("No trained CNN to transfer from yet: train the seed CNN on MNIST first (Home or Train).")
    max_eval = st.number_input("Validation and test examples", 16, 100_000, 1000 if modality == "text" else 359,
                               help=helps["max_eval_samples"])
    submitted = st.form_submit_button("Start fine-tuning", type="primary", icon=":material/play_arrow:",
                                      disabled=method == "transfer" and "parent_id" not in extra)

if submitted:
    cfg = FinetuneConfig(method=method, epochs=int(epochs), lr=float(lr), seed=int(seed),
                         max_train_samples=int(max_train), max_eval_samples=int(max_eval),
                         **{k: tuple(v) if k == "targets" else v for k, v in extra.items()})
    st.session_state["ft_job"] = services.submit_finetune(dataset, cfg.to_dict()).id

job_id = st.session_state.get("ft_job")
if job_id:

    def show_result(job):
        r = job.result
        st.success(f"Registered `{r['model_id']}` ({r['method']}): test macro-F1 {r['test_macro_f1']:.3f}, "
                   f"{r['trainable_percent']:.3f}% of parameters trained, {r['step_time_s']:.2f} s per step.")

    follow_job(runner, job_id, "ft", show_result)

st.subheader(f"Methods compared on {dataset}")
rows = services.finetune_table(dataset)
if rows:
    figures.show(figures.method_comparison(rows))
    show_table(rows, rates=("test accuracy",), **{
        "macro-F1": st.column_config.NumberColumn(format="%.3f"),
        "trainable %": st.column_config.NumberColumn(format="%.3f"),
        "s/step": st.column_config.NumberColumn(format="%.3f"),
        "total s": st.column_config.NumberColumn(format="%.1f"),
        "peak MB": st.column_config.NumberColumn(format="%.0f", help="Rise in resident memory while training."),
        "saved MB": st.column_config.NumberColumn(format="%.2f", help="Adapter file for PEFT methods, weights "
                                                                      "otherwise.")})
    st.caption("Same training subset and epochs make the rows comparable; each row is a registered model.")
else:
    st.caption("No fine-tuned models on this dataset yet. Run two or three methods to compare them here.")
