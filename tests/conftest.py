"""Shared fixtures: an isolated store per test, one torch thread, small fixed data."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Set before anything imports fmcore: tests never touch the user's ~/.fmaudit, and use one thread.
os.environ["FMAUDIT_HOME"] = tempfile.mkdtemp(prefix="fmaudit-test-home-")
os.environ.setdefault("FMAUDIT_THREADS", "1")
os.environ["HF_HUB_OFFLINE"] = "1"

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture
def store(tmp_path):
    from fmcore.store import Store

    return Store(tmp_path / "home")


@pytest.fixture(scope="session")
def trained_digits(tmp_path_factory):
    """A seed CNN trained briefly on digits, in a session-wide store: (store, record)."""
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    st = Store(tmp_path_factory.mktemp("shared-home"))
    result = train_model("digits", "seed_cnn", TrainConfig(epochs=2, seed=0), store=st)
    return st, st.get_model(result.model_id)


@pytest.fixture(scope="session")
def trained_gpt(tmp_path_factory):
    """A small GPT (2 layers x 64) trained 6 epochs on 3,000 tweets (20 s) with 9-digit canaries (id numbers to the
    de-identification scan) repeated 1 and 128 times, in a session-wide store: (store, record)."""
    from fmcore.models import GPTConfig
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_language_model

    st = Store(tmp_path_factory.mktemp("gpt-home"))
    result = train_language_model("tweets", TrainConfig(epochs=6, seed=0, max_train_samples=3000,
                                                        max_eval_samples=500, lr=3e-3),
                                  GPTConfig(vocab=512, layers=2, width=64, heads=4), store=st, canaries=[1, 128],
                                  canary_digits=9)
    return st, st.get_model(result.model_id)


@pytest.fixture(scope="session")
def gpt_scorer(trained_gpt, tiny_bert):
    """A tweets sentiment classifier fine-tuned from the tiny BERT (200 texts) in ``trained_gpt``'s store, for the
    generated-harm probes: its id."""
    from fmcore.finetune import FinetuneConfig, finetune

    st, _ = trained_gpt
    return finetune("tweets", FinetuneConfig(method="full", epochs=1, max_train_samples=200, max_eval_samples=48,
                                             max_length=24, base_path=tiny_bert, batch_size=16), store=st).model_id


@pytest.fixture(scope="session")
def trained_german(tmp_path_factory):
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    st = Store(tmp_path_factory.mktemp("shared-german"))
    result = train_model("german_credit", "mlp", TrainConfig(epochs=5, seed=0), store=st)
    return st, st.get_model(result.model_id)


def write_csv(path: Path, rows: list[dict]) -> Path:
    import pandas as pd

    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture
def three_classes(tmp_path, store):
    """A logistic regression trained on a small uploaded CSV with three classes and a sensitive column."""
    import numpy as np

    from fmcore.train import TrainConfig, train_model

    rng = np.random.default_rng(0)
    rows = [{"x": float(rng.normal()), "grp": "a" if i % 2 else "b", "y": ["lo", "mid", "hi"][i % 3]}
            for i in range(300)]
    store.add_dataset(write_csv(tmp_path / "m.csv", rows), "y", ["grp"], name="three")
    return train_model("three", "logreg", TrainConfig(epochs=2), store=store).model_id


@pytest.fixture
def good_rows():
    import numpy as np

    rng = np.random.default_rng(0)
    rows = []
    for i in range(120):
        sex = "female" if i % 2 else "male"
        income = float(rng.normal(50 + (5 if sex == "male" else 0), 10))
        rows.append({"income": round(income, 2), "city": ["a", "b", "c"][i % 3], "sex": sex,
                     "approved": "yes" if income + rng.normal(0, 5) > 52 else "no"})
    return rows


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    """A 2-layer, 32-wide BERT with MiniLM's tokenizer, saved as a Hugging Face folder."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from fmcore.models import minilm_path

    folder = tmp_path_factory.mktemp("tiny-bert")
    tok = AutoTokenizer.from_pretrained(minilm_path())
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(
        vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128, num_labels=2))
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return str(folder)
