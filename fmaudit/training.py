"""``fmaudit train`` and ``fmaudit finetune``: their flags come from ``TrainConfig`` and ``FinetuneConfig``."""

from __future__ import annotations

from ._common import add_option_flags, close_bars, emit, options_from_args, progress, store

TRAIN_FLAGS = {"max_train_samples": "max-train", "max_eval_samples": "max-eval", "dp_max_grad_norm": "dp-clip"}
FINETUNE_FLAGS = {"max_train_samples": "max-train", "max_eval_samples": "max-eval", "parent_id": "parent",
                  "base_path": "base"}


def add_train(p) -> None:
    from fmcore.train import TrainConfig

    p.add_argument("--dataset", required=True, help="dataset name (see `fmaudit datasets`)")
    p.add_argument("--model", required=True, help="seed_cnn, mlp, logreg, minilm, or gpt (a small language model "
                                                  "trained on a text dataset's texts)")
    p.add_argument("--name", default=None, help="a name for the model (default: model-dataset-id)")
    p.set_defaults(option_dests=add_option_flags(p, TrainConfig, TRAIN_FLAGS, extra={
        "optimizer": {"choices": ["adam", "adamw", "sgd"]}, "augment": {"metavar": "NAME[:VALUE],..."},
        "early_stopping": {"metavar": "PATIENCE"}}))
    gpt = p.add_argument_group("gpt sizes (--model gpt)")
    gpt.add_argument("--layers", type=int, default=4)
    gpt.add_argument("--heads", type=int, default=4)
    gpt.add_argument("--width", type=int, default=128)
    gpt.add_argument("--context", type=int, default=64, help="tokens the model sees at once")
    gpt.add_argument("--vocab", type=int, default=1024, help="byte-level BPE vocabulary trained on the texts")
    gpt.add_argument("--canaries", default=None, metavar="REPS,...",
                     help="plant one random secret per count, repeated that many times (e.g. 1,4,16,64), for the "
                          "memorisation audit")
    gpt.add_argument("--canary-digits", type=int, default=5,
                     help="digits of each secret: up to 5 every possible secret is ranked; 9 or more look like an id "
                          "number to the de-identification scan")
    gpt.add_argument("--deidentify", action="store_true",
                     help="replace every identifier fmaudit's scan finds in the training texts by its kind first")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_train(args) -> int:
    from fmcore.train import TrainConfig, train_model

    config = options_from_args(TrainConfig, args, args.option_dests)
    callbacks, bars = progress(args, config.epochs)
    from fmcore.models import model_spec

    if model_spec(args.model).generates:  # a language model
        return _train_gpt(args, config, callbacks, bars)
    result = train_model(args.dataset, args.model, config, store=store(args), name=args.name, callbacks=callbacks)
    close_bars(bars)
    s = result.summary()
    dp = s.get("privacy")
    dp_text = f"; DP-SGD epsilon {dp['epsilon']:.2f} (delta {dp['delta']:.0e})" if dp else ""
    emit(args, s, f"Model {s['model_id']}: test accuracy {s['test_accuracy']:.4f}, macro-F1 "
                  f"{s['test_macro_f1']:.4f} ({s['epochs_run']} epochs, {s['seconds']:.1f} s){dp_text}")
    return 0


def _train_gpt(args, config, callbacks, bars) -> int:
    from fmcore.models import GPTConfig
    from fmcore.train import train_language_model

    gpt = GPTConfig(vocab=args.vocab, context=args.context, layers=args.layers, heads=args.heads, width=args.width)
    canaries = [int(v) for v in args.canaries.split(",") if v.strip()] if args.canaries else None
    result = train_language_model(args.dataset, config, gpt, callbacks=callbacks, store=store(args), name=args.name,
                                  canaries=canaries, canary_digits=args.canary_digits, deidentify=args.deidentify)
    close_bars(bars)
    s = result.summary()
    dp = s.get("privacy")
    emit(args, s, f"Model {s['model_id']}: test perplexity {s['test_perplexity']:.1f} (a unigram model of the same "
                  f"tokens: {s['unigram_perplexity']:.1f}); {s['parameters']:,} parameters, {s['epochs_run']} epochs, "
                  f"{s['seconds']:.1f} s" + (f"; DP-SGD epsilon {dp['epsilon']:.2f} (delta {dp['delta']:.0e})"
                                             if dp else ""))
    return 0


def add_generate(p) -> None:
    p.add_argument("--model", required=True, help="a language model (fmaudit train --model gpt)")
    p.add_argument("--prompt", default="", help="the text to continue")
    p.add_argument("--seed", type=int, default=0, help="same seed, same text")
    p.add_argument("--temperature", type=float, default=1.0, help="0: always the likeliest token")
    p.add_argument("--top-k", type=int, default=50, help="sample among the k likeliest tokens; 0 for all")
    p.add_argument("--max-tokens", type=int, default=40)
    p.add_argument("--samples", type=int, default=1, help="continuations, with seeds seed, seed+1, ...")


def cmd_generate(args) -> int:
    from fmcore.errors import FmauditError

    st = store(args)
    lm = st.load_classifier(args.model)
    if "generates" not in lm.offers:
        raise FmauditError(f"Model {args.model} is a classifier; generate needs a language model (fmaudit train "
                           "--dataset tweets --model gpt).")
    outs = [lm.generate(args.prompt, max_new_tokens=args.max_tokens, temperature=args.temperature,
                        top_k=args.top_k or None, seed=args.seed + i) for i in range(args.samples)]
    for o in outs:
        o.pop("ids")
        o["logprob"] = sum(o["logprobs"])
    emit(args, {"model_id": args.model, "text": outs[0]["text"], "generations": outs},
         "\n".join(f"[seed {o['seed']}, log-probability {o['logprob']:.1f}] {args.prompt}{o['text']}" for o in outs))
    return 0


def add_finetune(p) -> None:
    from fmcore.finetune import FinetuneConfig

    p.add_argument("--dataset", required=True, help="a text dataset (tweets, a text CSV) or an image dataset")
    p.set_defaults(option_dests=add_option_flags(p, FinetuneConfig, FINETUNE_FLAGS, extra={
        "method": {"required": True, "default": None},
        "max_train_samples": {"help": "training subset size; 0 for all"},
        "max_eval_samples": {"help": "validation/test subset size; 0 for all"}}))
    p.add_argument("--quiet", action="store_true")


def cmd_finetune(args) -> int:
    from fmcore.finetune import FinetuneConfig, finetune

    cfg = options_from_args(FinetuneConfig, args, args.option_dests,
                            zero_is_none=("max_train_samples", "max_eval_samples"))
    callbacks, bars = progress(args, cfg.epochs)
    result = finetune(args.dataset, cfg, store=store(args), callbacks=callbacks)
    close_bars(bars)
    s = result.summary()
    if "test_perplexity" in s:
        emit(args, s, f"Model {s['model_id']} ({s['method']}, parent {s['parent_id']}): perplexity on the "
                      f"{s['label'] or 'all'} test texts {s['parent_subset_test_perplexity']:.1f} -> "
                      f"{s['subset_test_perplexity']:.1f}, on all {s['parent_test_perplexity']:.1f} -> "
                      f"{s['test_perplexity']:.1f}; trainable {s['trainable_params']:,} "
                      f"({s['trainable_percent']:.2f}%), {s['total_time_s']:.1f} s")
        return 0
    emit(args, s, f"Model {s['model_id']} ({s['method']}, parent {s['parent_id']}): test accuracy "
                  f"{s['test_accuracy']:.4f}, macro-F1 {s['test_macro_f1']:.4f}; trainable "
                  f"{s['trainable_params']:,} ({s['trainable_percent']:.3f}%), {s['step_time_s']:.3f} s/step, "
                  f"{s['total_time_s']:.1f} s, peak +{s['peak_memory_mb']:.0f} MB")
    return 0
