"""``fmaudit train`` and ``fmaudit finetune``: their flags come from ``TrainConfig`` and ``FinetuneConfig``."""

from __future__ import annotations

from ._common import add_option_flags, close_bars, emit, options_from_args, progress, store

TRAIN_FLAGS = {"max_train_samples": "max-train", "max_eval_samples": "max-eval", "dp_max_grad_norm": "dp-clip"}
FINETUNE_FLAGS = {"max_train_samples": "max-train", "max_eval_samples": "max-eval", "parent_id": "parent",
                  "base_path": "base"}


def add_train(p) -> None:
    from fmcore.train import TrainConfig

    p.add_argument("--dataset", required=True, help="dataset name (see `fmaudit datasets`)")
    p.add_argument("--model", required=True, help="seed_cnn, mlp, logreg or minilm")
    p.add_argument("--name", default=None, help="a name for the model (default: model-dataset-id)")
    p.set_defaults(option_dests=add_option_flags(p, TrainConfig, TRAIN_FLAGS, extra={
        "optimizer": {"choices": ["adam", "adamw", "sgd"]}, "augment": {"metavar": "NAME[:VALUE],..."},
        "early_stopping": {"metavar": "PATIENCE"}}))
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_train(args) -> int:
    from fmcore.train import TrainConfig, train_model

    config = options_from_args(TrainConfig, args, args.option_dests)
    callbacks, bars = progress(args, config.epochs)
    result = train_model(args.dataset, args.model, config, store=store(args), name=args.name, callbacks=callbacks)
    close_bars(bars)
    s = result.summary()
    dp = s.get("privacy")
    dp_text = f"; DP-SGD epsilon {dp['epsilon']:.2f} (delta {dp['delta']:.0e})" if dp else ""
    emit(args, s, f"Model {s['model_id']}: test accuracy {s['test_accuracy']:.4f}, macro-F1 "
                  f"{s['test_macro_f1']:.4f} ({s['epochs_run']} epochs, {s['seconds']:.1f} s){dp_text}")
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
    emit(args, s, f"Model {s['model_id']} ({s['method']}, parent {s['parent_id']}): test accuracy "
                  f"{s['test_accuracy']:.4f}, macro-F1 {s['test_macro_f1']:.4f}; trainable "
                  f"{s['trainable_params']:,} ({s['trainable_percent']:.3f}%), {s['step_time_s']:.3f} s/step, "
                  f"{s['total_time_s']:.1f} s, peak +{s['peak_memory_mb']:.0f} MB")
    return 0
