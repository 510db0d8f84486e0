"""Train: pick data, model and settings; the training runs as a background job with live curves."""

import streamlit as st

from dashboard import services
from dashboard.components import figures
from dashboard.components.fmt import plain
from dashboard.components.jobs import follow_job
from fmcore.data import dataset_names
from fmcore.errors import ConfigError
from fmcore.models import list_models, model_spec
from fmcore.train import TrainConfig, augmentations_for, parse_augment

st.title("Train")
st.caption("Training runs in a separate worker process: you can switch pages or close the tab, and the model is "
           "registered when it finishes. Same settings and seed, same model.")

store, runner = services.get_store(), services.get_runner()
helps = TrainConfig.help()
params = st.query_params  # shareable links such as ?dataset=digits&model=seed_cnn&epochs=2
names = dataset_names(store)
left, right = st.columns(2)
dataset = left.selectbox("Dataset", names, index=names.index(params.get("dataset", "mnist"))
                         if params.get("dataset", "mnist") in names else 0, key="train_dataset")
modality = services.dataset_modality(dataset)
fitting = [m for m in list_models() if modality in m.modalities]
model_names = [m.name for m in fitting]
wanted = params.get("model", model_names[0])
model = right.selectbox("Model", model_names, index=model_names.index(wanted) if wanted in model_names else 0,
                        format_func=lambda n: next(m.title for m in fitting if m.name == n), key="train_model",
                        help="Only models that take this dataset's kind of data are listed.")
st.caption(next(m.description for m in fitting if m.name == model))
defaults = next(m.defaults for m in fitting if m.name == model)
with st.form("train_form"):
    c1, c2, c3, c4 = st.columns(4)
    epochs = c1.number_input("Epochs", 1, 200, int(params.get("epochs", 3)), help=helps["epochs"], key="train_epochs")
    batch = c2.number_input("Batch size", 1, 4096, int(defaults["batch_size"]), help=helps["batch_size"])
    lr = c3.number_input("Learning rate", 1e-6, 1.0, float(defaults["lr"]), format="%.5f", help=helps["lr"])
    seed = c4.number_input("Seed", 0, 2**31 - 1, int(params.get("seed", 0)), help=helps["seed"])
    with st.expander("More settings"):
        d1, d2, d3 = st.columns(3)
        optimizer = d1.selectbox("Optimizer", ["adam", "adamw", "sgd"],
                                 index=["adam", "adamw", "sgd"].index(defaults["optimizer"]), help=helps["optimizer"])
        schedule = d2.selectbox("Learning-rate schedule", ["cosine", "constant"], help=helps["lr_schedule"])
        weight_decay = d3.number_input("Weight decay", 0.0, 1.0, 0.0, format="%.4f", help=helps["weight_decay"])
        e1, e2, e3 = st.columns(3)
        patience = e1.number_input("Early stopping patience (0 = off)", 0, 50, 0, help=helps["early_stopping"])
        max_train = e2.number_input("Max training examples (0 = all)", 0, 10_000_000,
                                    int(params.get("max_train", 0)), help=helps["max_train_samples"])
        choices = augmentations_for(modality)
        augment = e3.text_input(
            "Augmentation", "", key=f"train_augment_{modality}", placeholder=", ".join(a.name for a in choices[:2]),
            help=helps["augment"] + "\n\n" + "\n".join(f"- **{a.name}** ({a.main} {a.params[a.main]:g}): {a.help}"
                                                        for a in choices))
        f1, f2, f3 = st.columns(3)
        poison = f1.selectbox("Poisoning demonstration", ["none", "backdoor", "label_flip"], help=helps["poison"],
                              key="train_poison")
        poison_rate = f2.number_input("Share of rows poisoned", 0.001, 0.49, 0.05, format="%.3f",
                                      help=helps["poison_rate"])
        classes = services.dataset_overview(dataset).get("classes") or []
        poison_target = f3.selectbox("Poison target class", classes, index=len(classes) - 1 if classes else None,
                                     help=helps["poison_target"], key=f"train_poison_target_{dataset}")
        name = st.text_input("Model name (optional)", "", help="Shown in the registry; default model-dataset-id.")
    lm_extra = {}
    if model_spec(model).generates:
        st.markdown("**Language model**: sizes, and secrets planted for the memorisation audit")
        g1, g2, g3, g4, g5 = st.columns(5)
        sizes = {"layers": g1.number_input("Layers", 1, 48, 4, key="train_gpt_layers"),
                 "heads": g2.number_input("Heads", 1, 32, 4, key="train_gpt_heads"),
                 "width": g3.number_input("Width", 8, 2048, 128, step=8, key="train_gpt_width",
                                          help="A multiple of the number of heads."),
                 "context": g4.number_input("Context (tokens)", 8, 1024, 64, key="train_gpt_context"),
                 "vocab": g5.number_input("Vocabulary", 260, 50000, 1024, key="train_gpt_vocab",
                                          help="Byte-level BPE tokens learned from the training texts.")}
        h1, h2, h3 = st.columns(3)
        canaries = h1.text_input("Canaries (repetitions)", "1,16,128", key="train_gpt_canaries",
                                 help="One random secret per number, put into the training texts that many times; "
                                      "empty for none.")
        digits = h2.number_input("Canary digits", 1, 12, 9, key="train_gpt_digits",
                                 help="Up to 5 every possible secret is ranked; 9 or more look like id numbers to "
                                      "the de-identification scan.")
        deidentify = h3.checkbox("De-identify the training texts", False, key="train_gpt_deid",
                                 help="Replace every identifier fmaudit's scan finds by its kind first.")
        lm_extra = {"gpt": {k: int(v) for k, v in sizes.items()}, "canary_text": canaries,
                    "canary_digits": int(digits), "deidentify": bool(deidentify)}
    submitted = st.form_submit_button("Start training", type="primary", icon=":material/play_arrow:")

if submitted:
    try:
        parse_augment(augment, modality)
        if lm_extra:
            text = lm_extra.pop("canary_text")
            lm_extra["canaries"] = [int(v) for v in text.split(",") if v.strip()]
            if any(v < 1 for v in lm_extra["canaries"]):
                raise ConfigError("Canary repetitions are whole numbers of 1 or more, e.g. 1,16,128.")
            if lm_extra["gpt"]["width"] % lm_extra["gpt"]["heads"]:
                raise ConfigError("The width must be a multiple of the number of heads.")
    except ValueError as exc:  # ConfigError, or a canary count that is not a number
        st.error(plain(exc) if isinstance(exc, ConfigError) else "Canary repetitions are numbers separated by commas, "
                 "e.g. 1,16,128.")
        st.stop()
    config = TrainConfig(epochs=int(epochs), batch_size=int(batch), lr=float(lr), optimizer=optimizer,
                         lr_schedule=schedule, weight_decay=float(weight_decay), seed=int(seed),
                         augment=augment.strip() or None,
                         early_stopping=int(patience) or None,
                         max_train_samples=int(max_train) or None,
                         **({"poison": poison, "poison_rate": float(poison_rate),
                             "poison_target": poison_target} if poison != "none" else {}))
    job = services.submit_training(dataset, model, config.to_dict(), name.strip() or None, **lm_extra)
    st.session_state["train_job"] = job.id

job_id = st.session_state.get("train_job")
if not job_id:  # after a refresh or in a second tab: follow the training that is running now, if any
    running = [j for j in runner.jobs(("running", "queued")) if j.kind == "train"]
    job_id = running[-1].id if running else None
if job_id:
    st.divider()

    def show_model(job):
        record = store.get_model(job.result["model_id"])
        m = record.metrics
        if "test_perplexity" in m:  # a language model
            st.success(f"Registered **{plain(record.name)}** (`{record.id}`): test perplexity "
                       f"{m['test_perplexity']:.1f} "
                       f"(a unigram model of the same tokens: {m['unigram_perplexity']:.1f}). Try it on the Generate "
                       "page; audit it on the Language model page.")
            return
        versus = services.vs_baseline(record)
        if versus.startswith("not better"):
            st.error(f"This model is {versus}.")
        st.success(f"Registered **{plain(record.name)}** (`{record.id}`): test accuracy {m['accuracy']:.1%} "
                   f"({versus}), macro-F1 {m['macro_f1']:.3f}. It is on the Models page.")
        classes = record.config["dataset"]["classes"]
        left, right = st.columns(2)
        figures.show(figures.confusion_matrix(m["confusion_matrix"], classes), where=left)
        figures.show(figures.per_class_accuracy(classes, m["per_class_accuracy"]), where=right)

    follow_job(runner, job_id, "train", show_model)
else:
    st.info("Choose a dataset and a model, then start. Progress, an estimate of the time left and the "
            "loss and accuracy curves appear here while it trains.")
