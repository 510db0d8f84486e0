"""Job functions of the engine. A job function is ``fn(params: dict, ctx: JobContext) -> dict``.

Jobs name their function as ``"module:function"``; only modules of the fmcore and audits packages
may be named, so a job row can never make a worker import arbitrary code.
"""

from __future__ import annotations


def train(params: dict, ctx) -> dict:
    """Train ``params["model"]`` on ``params["dataset"]`` with ``params["config"]`` and register it."""
    from ..train import TrainConfig, TrainingCancelled, train_model
    from ._context import JobCancelled

    config = TrainConfig.from_dict(params.get("config", {}))
    ctx.log(f"training {params['model']} on {params['dataset']}: {config.to_dict()}")
    ctx.progress(0.0, None, "loading data and model", force=True)
    from ..models import model_spec

    if model_spec(params["model"]).generates:  # a language model
        return _train_gpt(params, config, ctx)
    try:
        result = train_model(params["dataset"], params["model"], config, store=ctx.store, name=params.get("name"),
                             callbacks=[ctx.train_callback(config.epochs)], is_cancelled=ctx.is_cancelled)
    except TrainingCancelled as exc:
        raise JobCancelled(str(exc)) from None
    ctx.log(f"registered model {result.model_id}: test accuracy {result.metrics['accuracy']:.4f}")
    return {"model_id": result.model_id, "run_id": result.run_id, "test_accuracy": result.metrics["accuracy"],
            "test_macro_f1": result.metrics["macro_f1"]}


def _train_gpt(params: dict, config, ctx) -> dict:
    """A language model: ``params["gpt"]`` sizes, ``canaries``, ``canary_digits``, ``deidentify``."""
    from ..models import GPTConfig
    from ..train import TrainingCancelled, train_language_model
    from ._context import JobCancelled

    try:
        result = train_language_model(params["dataset"], config, GPTConfig(**params.get("gpt", {})),
                                      callbacks=[ctx.train_callback(config.epochs)], store=ctx.store,
                                      name=params.get("name"), canaries=params.get("canaries") or None,
                                      canary_digits=int(params.get("canary_digits", 5)),
                                      deidentify=bool(params.get("deidentify")))
    except TrainingCancelled as exc:
        raise JobCancelled(str(exc)) from None
    ctx.log(f"registered language model {result.model_id}: test perplexity {result.metrics['test_perplexity']:.1f} "
            f"(unigram {result.metrics['unigram_perplexity']:.1f})")
    return {"model_id": result.model_id, "test_perplexity": result.metrics["test_perplexity"],
            "unigram_perplexity": result.metrics["unigram_perplexity"]}


def finetune(params: dict, ctx) -> dict:
    """Fine-tune on ``params["dataset"]`` with ``params["config"]`` (a FinetuneConfig dict)."""
    from ..finetune import FinetuneConfig
    from ..finetune import finetune as run
    from ..train import TrainingCancelled
    from ._context import JobCancelled

    cfg = FinetuneConfig.from_dict(params.get("config", {}))
    ctx.log(f"fine-tuning ({cfg.method}) on {params['dataset']}: {cfg.to_dict()}")
    ctx.progress(0.0, None, "loading data and the base model", force=True)
    try:
        result = run(params["dataset"], cfg, store=ctx.store, callbacks=[ctx.train_callback(cfg.epochs)],
                     is_cancelled=ctx.is_cancelled)
    except TrainingCancelled as exc:
        raise JobCancelled(str(exc)) from None
    summary = result.summary()
    summary.pop("history")
    ctx.log(f"registered model {result.model_id} (parent {result.parent_id}): test macro-F1 "
            f"{result.metrics['macro_f1']:.4f}, trainable {result.cost['trainable_percent']:.3f}%")
    return summary
