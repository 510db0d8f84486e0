"""Compressing a language model trained here: torchao int8 weights (``int8``) and global magnitude pruning
(``prune:S``) of the decoder's linear layers. The token embedding, which is also the output layer (tied), stays in
float32 and unpruned: quantizing or pruning the output layer would untie it from the embedding. No fine-tuning
after pruning (that would retrain on the canaried training texts and blur what compression alone does to
memorisation). Each variant is registered as a child with its test perplexity on the parent's test texts.
"""

from __future__ import annotations

import copy
import time

from torch import nn

from ..errors import ConfigError

LM_METHODS = ("int8", "prune")


def lm_test_blocks(store, record, tokenizer, context: int):
    """The test blocks a language model's perplexity is measured on: its dataset's test texts, as many as its
    training measured (``max_eval_samples``), encoded with its tokenizer."""
    from ..models import blocks, encode_texts

    ds = store.load_model_dataset(record.id)
    limit = (record.config.get("train") or {}).get("max_eval_samples")
    texts = list(ds["test"].X[:limit] if limit else ds["test"].X)
    return blocks(encode_texts(tokenizer, texts), context)


def _decoder_linears(net) -> list[tuple[nn.Module, str]]:
    return [(m, "weight") for name, m in net.named_modules() if isinstance(m, nn.Linear) and name != "head"]


def compress_language_model(store, parent, methods: list[str], seed: int = 0, progress=None) -> list:
    """One registered variant of the language model ``parent`` (a record) per method; ``CompressResult`` each, with
    test perplexity in place of accuracy."""
    from ..lineage import Derivation
    from ..models import LanguageModel, lm_evaluate, quantize_int8
    from ._registry import CompressResult, _prune, parse_method

    parsed = [parse_method(m) for m in methods]
    for (name, _), method in zip(parsed, methods, strict=True):
        if name not in LM_METHODS:
            raise ConfigError(f"{method} is not offered for language models; use int8 or prune:S (e.g. prune:0.5).")
    lm = store.load_classifier(parent.id)
    test = lm_test_blocks(store, parent, lm.tokenizer, lm.net.config.context)
    parent_ppl = lm_evaluate(lm.net, *test)["perplexity"]
    results = []
    for i, ((name, level), method) in enumerate(zip(parsed, methods, strict=True)):
        if progress:
            progress(i / len(methods), method)
        started = time.perf_counter()
        net = copy.deepcopy(lm.net)
        if name == "prune":
            storage = _prune(net, level, lambda n: None, _decoder_linears(net))
            info = {"sparsity": storage.pop("sparsity"), "fine_tune_epochs": 0}
        else:
            net = quantize_int8(net, "int8", skip=("head",))
            storage, info = {"format": "int8", "scheme": "int8", "skip": ["head"]}, {}
        meta = {**lm.meta, "storage": storage, "compression": {"method": method, "name": name, "level": level, **info}}
        evaluated = lm_evaluate(net.eval(), *test)
        metrics = {**{k: v for k, v in parent.metrics.items() if k not in ("history",)},
                   "test_perplexity": evaluated["perplexity"], "test_loss": evaluated["loss"],
                   "test_next_token_accuracy": evaluated["accuracy"], "compression": meta["compression"]}
        derivation = {"how": f"compressed ({method})", "kind": Derivation.COMPRESSED.value, "compression": method,
                      "seed": seed, **{k: parent.derivation[k] for k in ("canaries", "privacy", "deidentified")
                                       if k in parent.derivation}}
        record = store.register_model(LanguageModel(net.eval(), lm.tokenizer, meta), dataset=parent.dataset,
                                      name=f"{parent.name}-{method.replace(':', '')}", metrics=metrics,
                                      parent_id=parent.id, derivation=derivation,
                                      config={**parent.config, "compression": {"method": method, "seed": seed}})
        results.append(CompressResult(record.id, parent.id, method, record.size_bytes, parent.size_bytes,
                                      accuracy=None, parent_accuracy=None, seconds=time.perf_counter() - started,
                                      perplexity=evaluated["perplexity"], parent_perplexity=parent_ppl))
    return results
