"""Fine-tuning: every method on a tiny BERT (fast), adapters reload exactly, merging, image transfer."""

import json

import numpy as np
import pytest
import torch

from fmcore.data import load_dataset
from fmcore.errors import FmauditError
from fmcore.finetune import TEXT_METHODS, FinetuneConfig, finetune


def _cfg(tiny_bert, method, **kw):
    base = {"method": method, "epochs": 1, "max_train_samples": 96, "max_eval_samples": 48, "max_length": 24,
            "base_path": tiny_bert, "batch_size": 16}
    return FinetuneConfig(**{**base, **kw})


@pytest.mark.parametrize("method", TEXT_METHODS)
def test_every_text_method_trains_registers_and_reloads(method, tiny_bert, store):
    r = finetune("tweets", _cfg(tiny_bert, method), store=store)
    rec = store.get_model(r.model_id)
    base = store.get_model(rec.parent_id)
    assert base.derivation["how"] == "pretrained"
    assert rec.derivation["method"] == method
    cost = rec.metrics["finetune"]
    assert 0 < cost["trainable_params"] <= cost["total_params"]
    assert cost["step_time_s"] > 0
    assert cost["steps"] == 6  # 96 examples / 16
    if method == "full":
        assert cost["trainable_percent"] == 100.0
    else:
        assert cost["trainable_percent"] < 50
    # the stored model predicts exactly what the trained one did
    test = load_dataset("tweets")["test"].head(48)
    logits_again = store.load_classifier(rec.id).logits(store.load_classifier(rec.id).encode(test.X))
    acc = float((logits_again.argmax(-1).numpy() == test.y).mean())
    assert acc == pytest.approx(r.metrics["accuracy"])


def test_lora_counts_match_peft_and_the_formula(tiny_bert, store):
    r = finetune("tweets", _cfg(tiny_bert, "lora", rank=4, targets=("query", "value")), store=store)
    cost = store.get_model(r.model_id).metrics["finetune"]
    # 2 layers x 2 modules x (A: 32x4 + B: 4x32) + classifier head 32x3 + 3
    assert cost["trainable_params"] == 2 * 2 * (32 * 4 + 4 * 32) + 32 * 3 + 3
    folder = store.get_model(r.model_id).path
    adapter_cfg = json.load(open(f"{folder}/adapter_config.json"))
    assert adapter_cfg["r"] == 4
    assert sorted(adapter_cfg["target_modules"]) == ["query", "value"]
    assert cost["adapter_bytes"] > 0


def test_adapter_reload_is_identical_and_merge_matches(tiny_bert, store):
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    r = finetune("tweets", _cfg(tiny_bert, "lora", lr=5e-3), store=store)
    rec = store.get_model(r.model_id)
    clf = store.load_classifier(rec.id)
    texts = list(load_dataset("tweets")["test"].X[:20])
    x = clf.encode(texts)
    reloaded = clf.logits(x)
    # peft's own loader on the base folder gives the same logits
    base = AutoModelForSequenceClassification.from_pretrained(store.get_model(rec.parent_id).path)
    peft_model = PeftModel.from_pretrained(base, rec.path).eval()
    with torch.no_grad():
        direct = peft_model(input_ids=x[0], attention_mask=x[1]).logits
    torch.testing.assert_close(reloaded, direct, rtol=0, atol=0)
    merged = peft_model.merge_and_unload()
    with torch.no_grad():
        merged_logits = merged(input_ids=x[0], attention_mask=x[1]).logits
    assert (merged_logits - reloaded).abs().max() < 1e-4
    # and the merge option stores a plain model with the same predictions
    m = finetune("tweets", _cfg(tiny_bert, "lora", lr=5e-3, merge=True), store=store)
    merged_clf = store.load_classifier(m.model_id)
    assert "peft" not in merged_clf.meta
    assert (merged_clf.logits(x) - reloaded).abs().max() < 1e-4


def test_export_of_an_adapter_loads_with_plain_peft(tiny_bert, store, tmp_path):
    r = finetune("tweets", _cfg(tiny_bert, "ia3"), store=store)
    dest = store.export_model(r.model_id, tmp_path / "exp")
    assert (dest / "adapter_config.json").exists()
    assert (dest / "base" / "config.json").exists()
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = PeftModel.from_pretrained(AutoModelForSequenceClassification.from_pretrained(dest / "base"), dest).eval()
    tok = AutoTokenizer.from_pretrained(dest)
    texts = list(load_dataset("tweets")["test"].X[:8])
    batch = tok(texts, padding="max_length", truncation=True, max_length=24, return_tensors="pt")
    with torch.no_grad():
        pred = model(**batch).logits.argmax(-1).numpy()
    np.testing.assert_array_equal(pred, store.load_classifier(r.model_id).predict(texts))


def test_bad_method_and_modality_are_explained(tiny_bert, store):
    with pytest.raises(ValueError, match="use method 'prompt'"):
        FinetuneConfig(method="prefix")
    with pytest.raises(ValueError, match="choose one of"):
        FinetuneConfig(method="adapterx")
    with pytest.raises(FmauditError, match="does not apply to image data"):
        finetune("digits", _cfg(tiny_bert, "lora"), store=store)
    with pytest.raises(FmauditError, match="Train one first"):
        finetune("digits", FinetuneConfig(method="transfer"), store=store)


def test_image_transfer_beats_scratch_on_a_small_budget(store):
    from fmcore.train import TrainConfig, train_model

    # a source model trained on 10k MNIST images, then 100 digits images for the target task
    src = train_model("mnist", "seed_cnn", TrainConfig(epochs=1, max_train_samples=10000, max_eval_samples=1000),
                      store=store)
    small = {"epochs": 15, "max_train_samples": 100, "max_eval_samples": None, "batch_size": 16}
    transfer = finetune("digits", FinetuneConfig(method="transfer", parent_id=src.model_id, **small), store=store)
    scratch = finetune("digits", FinetuneConfig(method="scratch", **small), store=store)
    assert store.get_model(transfer.model_id).parent_id == src.model_id
    assert store.get_model(scratch.model_id).parent_id is None
    assert transfer.cost["trainable_params"] < scratch.cost["trainable_params"]
    assert transfer.metrics["accuracy"] > scratch.metrics["accuracy"] + 0.05, (transfer.metrics["accuracy"],
                                                                               scratch.metrics["accuracy"])
    # the frozen convolutions really did not move
    before, after = store.load_classifier(src.model_id).net, store.load_classifier(transfer.model_id).net
    for a, b in zip(before.features.parameters(), after.features.parameters(), strict=True):
        torch.testing.assert_close(a, b)
