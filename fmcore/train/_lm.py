"""Training the small GPT on a text dataset's texts, through the one training loop (``fit`` with the next-token loss
and a perplexity validation). The tokenizer is trained on the training split only; validation and test perplexity
are measured on their own splits, beside a unigram model of the same tokens (the floor to beat)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..errors import ConfigError
from ._callbacks import Callback
from ._config import TrainConfig
from ._loop import fit


@dataclass
class LMResult:
    """A trained language model with its tokenizer, metrics and per-epoch history."""

    net: object
    tokenizer: object
    gpt: object
    metrics: dict
    history: list = field(default_factory=list)
    seconds: float = 0.0
    model_id: str | None = None
    canaries: list = field(default_factory=list)

    def summary(self) -> dict:
        """What the command line prints: the id, the metrics, the sizes and the history."""
        return {"model_id": self.model_id, **{k: v for k, v in self.metrics.items() if k != "gpt"},
                "gpt": self.metrics["gpt"], "epochs_run": len(self.history), "history": self.history,
                "seconds": round(self.seconds, 2)}


def train_language_model(dataset: str = "tweets", config: TrainConfig | None = None, gpt=None,
                         callbacks: list[Callback] = (), texts=None, store=None, name: str | None = None,
                         canaries=None, canary_digits: int = 5, deidentify: bool = False,
                         parent_id: str | None = None) -> LMResult:
    """Train a GPT (``gpt``: a ``GPTConfig``; the vocabulary size is the tokenizer's) on ``dataset``'s texts, or on
    ``texts`` (``{"train": [...], "val": [...], "test": [...]}``) when given. ``config``: epochs, batch size,
    learning rate, seed, ``max_train_samples`` (texts). With ``store`` (and a dataset, not ``texts``), the model is
    registered with its lineage and history. ``canaries``: repetition counts, one random secret of
    ``canary_digits`` digits each put into the training texts that many times (recorded, for the memorisation
    audit). ``deidentify``: every identifier fmaudit's scan finds in the training texts (canaries included) is
    replaced by its kind (``[PHONE]``) before the tokenizer and the model see them. ``config.dp_epsilon``: DP-SGD
    (opacus), each block of ``context`` tokens one example; the epsilon spent is in ``metrics["privacy"]``.
    ``parent_id``: the registered model this one retrains (a remedy of it), recorded in its lineage."""
    from ..config import seed_everything
    from ..data import load_dataset
    from ..models import (
        GPT,
        GPTConfig,
        blocks,
        encode_texts,
        insert_canaries,
        lm_evaluate,
        lm_loss,
        plan_canaries,
        train_tokenizer,
        unigram_perplexity,
    )

    config = (config or TrainConfig(epochs=2)).resolved({"batch_size": 32, "lr": 1e-3, "optimizer": "adamw"})
    unused = [n for n in ("augment", "poison") if getattr(config, n)]
    if unused:
        raise ConfigError(f"{', '.join(unused)} is not offered for language models; leave it empty.")
    gpt = gpt or GPTConfig()
    seed_everything(config.seed, config.threads)
    started = time.perf_counter()
    ds = None
    if texts is None:
        ds = load_dataset(dataset, seed=config.split_seed, store=store)
        if ds.spec.modality != "text":
            raise ConfigError(f"A language model is trained on texts; {dataset!r} holds {ds.spec.modality} data.")
        texts = {k: list(ds[k].X) for k in ("train", "val", "test")}
    train_texts = texts["train"][: config.max_train_samples] if config.max_train_samples else texts["train"]
    eval_texts = {k: texts[k][: config.max_eval_samples] if config.max_eval_samples else texts[k]
                  for k in ("val", "test")}
    planted = plan_canaries(canaries, canary_digits, config.seed) if canaries else []
    train_texts = insert_canaries(train_texts, planted, config.seed) if planted else train_texts
    redacted = None
    if deidentify:
        train_texts, redacted = _deidentify(train_texts)
    tokenizer = train_tokenizer(train_texts, gpt.vocab)
    gpt = GPTConfig(**{**gpt.to_dict(), "vocab": tokenizer.get_vocab_size()})
    streams = {"train": encode_texts(tokenizer, train_texts),
               **{k: encode_texts(tokenizer, v) for k, v in eval_texts.items()}}
    data = {k: blocks(v, gpt.context) for k, v in streams.items()}
    if len(data["train"][0]) < 1 or len(data["val"][0]) < 1:
        raise ConfigError("Too little text for one block of the context length; use more texts or a shorter "
                          "context.")
    net = GPT(gpt, seed=config.seed)
    state = fit(net, data["train"], data["val"], config, gpt.vocab, list(callbacks), loss_fn=lm_loss,
                evaluate_fn=lm_evaluate)
    test = lm_evaluate(net, *data["test"])
    metrics = {"test_perplexity": test["perplexity"], "test_loss": test["loss"],
               "test_next_token_accuracy": test["accuracy"], "test_tokens": test["tokens"],
               "unigram_perplexity": unigram_perplexity(streams["train"], data["test"][1].reshape(-1).numpy(),
                                                        gpt.vocab),
               "train_tokens": int(len(streams["train"])), "parameters": sum(p.numel() for p in net.parameters()),
               "gpt": gpt.to_dict()}
    if state.privacy:
        metrics["privacy"] = state.privacy
    if redacted is not None:
        metrics["deidentified"] = redacted
    result = LMResult(net, tokenizer, gpt, metrics, state.history, time.perf_counter() - started, canaries=planted)
    if store is not None and ds is not None:
        result.model_id = _register(store, ds, dataset, result, config, name, parent_id)
    return result


def _deidentify(texts: list) -> tuple[list, dict]:
    """The texts with their identifiers replaced by their kinds, and how many of each kind (and texts) changed."""
    from ..pii import redact

    out, counts, changed = [], {}, 0
    for t in texts:
        clean, kinds = redact(str(t))
        out.append(clean)
        changed += bool(kinds)
        for k in kinds:
            counts[k] = counts.get(k, 0) + 1
    return out, {"texts_changed": changed, "identifiers": counts}


def _register(store, ds, dataset: str, result: LMResult, config: TrainConfig, name: str | None,
              parent_id: str | None = None) -> str:
    from ..data import split_fingerprint
    from ..lineage import Derivation
    from ..models import LanguageModel

    meta = {"kind": "gpt", "model": "gpt", "modality": "text", "classes": [], "gpt": result.gpt.to_dict(),
            "training": {"train_texts": config.max_train_samples or len(ds["train"]), "split": "train",
                         **config.to_dict()}, "canaries": result.canaries}
    derivation = {"how": "trained (language model)", "kind": Derivation.TRAINED.value, "dataset": dataset,
                  "dataset_sha256": ds.provenance.sha256, "seed": config.seed, "split_seed": config.split_seed,
                  "test_sha256": split_fingerprint(ds["test"])}
    notes = []
    if result.canaries:
        derivation["canaries"] = result.canaries
        notes.append(f"{len(result.canaries)} canaries repeated {[c['repetitions'] for c in result.canaries]}")
    if "privacy" in result.metrics:
        p = result.metrics["privacy"]
        derivation["privacy"] = meta["privacy"] = p
        notes.append(f"DP-SGD epsilon {p['epsilon']:.2f}, delta {p['delta']:.0e}")
    if "deidentified" in result.metrics:
        derivation["deidentified"] = meta["deidentified"] = result.metrics["deidentified"]
        notes.append(f"de-identified: {sum(result.metrics['deidentified']['identifiers'].values())} identifiers "
                     "replaced")
    if notes:
        derivation["how"] = f"trained (language model, {'; '.join(notes)})"
    record = store.register_model(LanguageModel(result.net, result.tokenizer, meta), dataset=dataset, name=name,
                                  metrics=result.metrics, derivation=derivation, parent_id=parent_id,
                                  config={"model": "gpt", "train": config.to_dict(), "gpt": result.gpt.to_dict()},
                                  extra_json={"history.json": result.history})
    return record.id
