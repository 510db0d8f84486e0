"""Fine-tuning a language model trained here on a subset of texts (for example one sentiment only): LoRA through
peft on the decoder's attention layers (``qkv``, ``proj`` by default), or every weight (``full``). The LoRA update is
merged into the weights before saving, so the child is a plain GPT; perplexity on the subset's test texts and on all
test texts is measured before and after."""

from __future__ import annotations

import copy
import time

from ..errors import ConfigError

LM_METHODS = ("lora", "full")
LM_TARGETS = ("qkv", "proj")


def _subset_texts(ds, split: str, label: str | None, limit: int | None) -> list[str]:
    part = ds[split]
    texts = [str(t) for t in part.X]
    if label is not None:
        if label not in ds.spec.classes:
            raise ConfigError(f"{label!r} is not a class of {ds.name}; its classes: {', '.join(ds.spec.classes)}.")
        code = list(ds.spec.classes).index(label)
        texts = [t for t, y in zip(texts, part.y, strict=True) if int(y) == code]
    return texts[:limit] if limit else texts


def finetune_language_model(dataset: str, cfg, *, store, callbacks=()):
    """Fine-tune the GPT ``cfg.parent_id`` on ``dataset``'s texts (of class ``cfg.label`` when set) with
    ``cfg.method`` (lora or full); register the merged child; a ``FinetuneResult`` whose metrics hold the perplexity
    before and after, on the subset and on every test text."""
    from ..config import seed_everything
    from ..data import load_dataset
    from ..lineage import Derivation
    from ..models import LanguageModel, blocks, encode_texts, lm_evaluate, lm_loss
    from ..train import fit
    from ._measure import StepTimer
    from ._result import FinetuneResult

    if cfg.method not in LM_METHODS:
        raise ConfigError(f"A language model is fine-tuned with {' or '.join(LM_METHODS)}; got {cfg.method!r}.")
    parent = store.get_model(cfg.parent_id)
    lm = store.load_classifier(parent.id)
    seed_everything(cfg.seed, cfg.threads)
    ds = load_dataset(dataset, store=store)
    context, tok = lm.net.config.context, lm.tokenizer
    evals = cfg.max_eval_samples

    def encoded(texts):
        return blocks(encode_texts(tok, texts), context)

    train = encoded(_subset_texts(ds, "train", cfg.label, cfg.max_train_samples))
    val = encoded(_subset_texts(ds, "val", cfg.label, evals))
    test = encoded(_subset_texts(ds, "test", cfg.label, evals))
    test_all = encoded(_subset_texts(ds, "test", None, evals))
    if len(train[0]) < 2 or len(test[0]) < 1:
        raise ConfigError("Too few texts in the subset for one block of the model's context; use more texts.")
    before, before_all = lm_evaluate(lm.net, *test), lm_evaluate(lm.net, *test_all)
    net = copy.deepcopy(lm.net)
    targets = LM_TARGETS if tuple(cfg.targets) == ("query", "value") else tuple(cfg.targets)  # BERT's default names
    if cfg.method == "lora":
        from peft import LoraConfig, get_peft_model

        unknown = [t for t in targets if not any(n.endswith(t) for n, _ in net.named_modules())]
        if unknown:
            raise ConfigError(f"The GPT has no layers named {unknown}; its linear layers: qkv, proj, mlp.0, mlp.2.")
        net = get_peft_model(net, LoraConfig(r=cfg.rank, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout,
                                             target_modules=list(targets)))
    trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    total = sum(p.numel() for p in lm.net.parameters())
    timer, started = StepTimer(), time.perf_counter()
    tcfg = cfg.train_config()
    state = fit(net, train, val, tcfg, lm.net.config.vocab, [timer, *callbacks], loss_fn=lm_loss,
                evaluate_fn=lm_evaluate)
    merged = (net.merge_and_unload() if cfg.method == "lora" else net).eval()
    after, after_all = lm_evaluate(merged, *test), lm_evaluate(merged, *test_all)
    cost = {"method": cfg.method, "trainable_params": int(trainable), "total_params": int(total),
            "trainable_percent": 100.0 * trainable / total, "step_time_s": timer.mean_step,
            "steps": len(timer.times), "total_time_s": time.perf_counter() - started, "peak_memory_mb": 0.0,
            "label": cfg.label, "targets": list(targets) if cfg.method == "lora" else None}
    metrics = {**{k: v for k, v in parent.metrics.items() if k in ("unigram_perplexity", "gpt", "parameters")},
               "test_perplexity": after_all["perplexity"], "subset_test_perplexity": after["perplexity"],
               "parent_test_perplexity": before_all["perplexity"],
               "parent_subset_test_perplexity": before["perplexity"], "finetune": cost}
    how = f"fine-tuned ({cfg.method}" + (f" on {cfg.label} texts" if cfg.label else "") + ")"
    meta = {**lm.meta, "finetune": cost}
    record = store.register_model(
        LanguageModel(merged, tok, meta), dataset=dataset, name=f"{parent.name}-{cfg.method}"
        + (f"-{cfg.label}" if cfg.label else ""), metrics=metrics, parent_id=parent.id,
        derivation={"how": how, "kind": Derivation.FINETUNED.value, "method": cfg.method, "label": cfg.label,
                    "seed": cfg.seed, **{k: parent.derivation[k] for k in ("canaries",) if k in parent.derivation}},
        config={"model": "gpt", "gpt": parent.config.get("gpt"), "finetune": cfg.to_dict()},
        extra_json={"history.json": state.history})
    return FinetuneResult(record.id, parent.id, cfg.method, metrics, cost, state.history)
