"""The training loop: learning, metrics, determinism, callbacks, early stopping, cancellation."""

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, roc_auc_score

from fmcore.data import load_dataset
from fmcore.train import (
    Callback,
    ProgressCallback,
    TrainConfig,
    TrainingCancelled,
    augment_images,
    classification_metrics,
    train_model,
)


def test_metrics_equal_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 500)
    logits = torch.tensor(rng.normal(size=(500, 4)), dtype=torch.float32)
    logits[np.arange(250), y[:250]] += 3  # half right by construction
    m = classification_metrics(y, logits, 4)
    pred = logits.argmax(-1).numpy()
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert m["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert m["confusion_matrix"] == confusion_matrix(y, pred, labels=range(4)).tolist()
    expected_loss = torch.nn.functional.cross_entropy(logits, torch.tensor(y)).item()
    assert m["loss"] == pytest.approx(expected_loss)


def test_cnn_learns_digits_and_reports_history(store):
    events = []
    result = train_model("digits", "seed_cnn", TrainConfig(epochs=3), store=store,
                         callbacks=[ProgressCallback(events.append, interval=0.0)])
    assert result.metrics["accuracy"] > 0.75  # chance is 0.10
    assert [h["epoch"] for h in result.history] == [1, 2, 3]
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    fractions = [e["fraction"] for e in events]
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0
    assert sum(e["kind"] == "epoch" for e in events) == 3
    assert events[-1]["metrics"]["val_accuracy"] == result.history[-1]["val_accuracy"]


def test_same_seed_same_model_other_seed_other_model(store):
    cfg = TrainConfig(epochs=2, seed=7)
    a = train_model("digits", "seed_cnn", cfg, store=store)
    b = train_model("digits", "seed_cnn", cfg, store=store)
    c = train_model("digits", "seed_cnn", TrainConfig(epochs=2, seed=8), store=store)
    assert a.metrics["accuracy"] == b.metrics["accuracy"]
    assert a.history == b.history
    assert store.get_model(a.model_id).sha256 == store.get_model(b.model_id).sha256
    assert store.get_model(a.model_id).sha256 != store.get_model(c.model_id).sha256


def test_tabular_models_beat_the_majority_class(store):
    for model in ("mlp", "logreg"):
        r = train_model("arrests", model, TrainConfig(epochs=5), store=store)
        majority = 2600 / 3135
        assert r.metrics["accuracy"] >= majority - 0.01, model
        # ranking signal, not just the majority class: AUC of P(released) on the test split
        test = load_dataset("arrests")["test"]
        auc = roc_auc_score(test.y, r.classifier.predict_proba(test.X)[:, 1])
        assert auc > 0.65, (model, auc)


def test_early_stopping_keeps_best_epoch(store):
    # a large learning rate makes validation loss rise quickly
    r = train_model("german_credit", "mlp", TrainConfig(epochs=30, lr=0.05, early_stopping=2), store=store)
    assert len(r.history) < 30
    best = min(range(len(r.history)), key=lambda i: r.history[i]["val_loss"]) + 1
    assert r.metrics["best_epoch"] == best


def test_cancellation_registers_nothing(store):
    calls = {"n": 0}

    def cancelled():
        calls["n"] += 1
        return calls["n"] > 1

    with pytest.raises(TrainingCancelled):
        train_model("digits", "seed_cnn", TrainConfig(epochs=5), store=store, is_cancelled=cancelled)
    assert store.list_models() == []
    assert [r.status for r in store.list_runs()] == ["cancelled"]


def test_a_callback_can_stop_training(store):
    class StopAfterOneEpoch(Callback):
        def on_epoch_end(self, state, net):
            state.should_stop = True

    r = train_model("digits", "logreg", TrainConfig(epochs=5), store=store, callbacks=[StopAfterOneEpoch()])
    assert len(r.history) == 1
    assert r.model_id is not None


def test_augmentation_moves_pixels_but_keeps_shape_and_range():
    x = torch.zeros(8, 1, 28, 28)
    x[:, :, 10:18, 12:16] = 1.0
    g = torch.Generator().manual_seed(0)
    out = augment_images(x, g)
    assert out.shape == x.shape
    assert out.min() >= 0
    assert out.max() <= 1.0001
    assert not torch.allclose(out, x)
    assert abs(out.sum() - x.sum()) / x.sum() < 0.2  # shifted and rotated, not erased


def test_augmented_training_runs(store):
    r = train_model("digits", "seed_cnn", TrainConfig(epochs=1, augment=True, max_train_samples=300), store=store)
    assert r.config.augment
    assert r.metrics["n"] == 359


def test_bad_config_is_refused(store):
    with pytest.raises(Exception, match="epochs and batch_size"):
        train_model("digits", "seed_cnn", TrainConfig(epochs=0), store=store)
    with pytest.raises(ValueError, match="Unknown training option"):
        TrainConfig.from_dict({"epochz": 3})
    assert TrainConfig.from_dict(TrainConfig(epochs=4).to_dict()) == TrainConfig(epochs=4)
    assert set(TrainConfig.help()) == set(TrainConfig().to_dict())
