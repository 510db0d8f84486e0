"""Data poisoning as a training option: the rows poisoned are recorded and reproducible, the backdoor is learned
(its attack success rate measured at training), and what cannot be poisoned is refused with the reason."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from fmcore.data import load_dataset
from fmcore.errors import ConfigError
from fmcore.store import Store
from fmcore.train import TrainConfig, apply_poison, stamp, subset, train_model


@pytest.fixture(scope="module")
def poisoned_and_clean(tmp_path_factory):
    """The seed CNN on digits, 30 epochs, with a 3x3 trigger on 15% of the rows (relabelled 7), and without."""
    st = Store(tmp_path_factory.mktemp("poison") / "home")
    cfg = {"epochs": 30, "seed": 0}
    poisoned = train_model("digits", "seed_cnn", TrainConfig(**cfg, poison="backdoor", poison_rate=0.15,
                                                            poison_target="7"), store=st)
    return st, poisoned, train_model("digits", "seed_cnn", TrainConfig(**cfg), store=st)


def test_a_backdoor_is_recorded_reproducible_and_learned(poisoned_and_clean):
    st, poisoned, clean = poisoned_and_clean
    record = st.get_model(poisoned.model_id)
    plan = record.derivation["poison"]
    train = subset(load_dataset("digits")["train"], None)
    rows = np.asarray(plan["rows"])
    assert len(rows) == round(0.15 * len(train))
    assert (train.y[rows] != 7).all()  # drawn from the other classes
    seen = apply_poison(train, plan)  # what the model saw, rebuilt from the lineage alone
    assert (seen.y[rows] == 7).all()
    np.testing.assert_array_equal(seen.X[rows][:, :, -4:-1, -4:-1], 1.0)
    untouched = np.setdiff1d(np.arange(len(train)), rows)
    np.testing.assert_array_equal(seen.X[untouched], train.X[untouched])
    # the backdoor works: triggered inputs of other classes are called 7, the clean model of the recipe does not
    effect = poisoned.metrics["poison"]
    assert effect["attack_success_rate"] > 0.4, effect
    assert effect["attack_success_rate"] > 5 * effect["called_target_clean"]
    test = load_dataset("digits")["test"]
    others = test.y != 7
    assert (clean.classifier.predict(stamp(test.X[others])) == 7).mean() < 0.1
    assert record.derivation["how"].startswith("trained on poisoned data (backdoor")


def test_label_flips_on_a_table_and_what_is_refused(tmp_path):
    st = Store(tmp_path / "home")
    r = train_model("german_credit", "mlp", TrainConfig(epochs=2, poison="label_flip", poison_rate=0.1), store=st)
    plan = st.get_model(r.model_id).derivation["poison"]
    assert plan["target"] == "good"
    assert "called_target_clean" in r.metrics["poison"]
    with pytest.raises(ConfigError, match="Backdoor triggers are built for images"):
        train_model("german_credit", "mlp", TrainConfig(epochs=1, poison="backdoor"), store=st)
    with pytest.raises(ConfigError, match="not a class"):
        train_model("digits", "logreg", TrainConfig(epochs=1, poison="label_flip", poison_target="eleven"), store=st)
    env = {**os.environ, "FMAUDIT_HOME": str(tmp_path / "home"), "FMAUDIT_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "fmaudit", "train", "--dataset", "digits", "--model", "logreg",
                           "--epochs", "1", "--poison", "backdoor", "--poison-rate", "0.05", "--poison-target", "7",
                           "--json"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    mid = json.loads(proc.stdout)["model_id"]
    assert Store(tmp_path / "home").get_model(mid).derivation["poison"]["target"] == "7"


def test_the_backdoor_audit_names_the_target_and_finds_the_poisoned_rows(poisoned_and_clean):
    """The audit names 7 and finds most poisoned rows; the clean model of the same recipe is not flagged."""
    from audits import run_stored_audit

    st, poisoned, clean = poisoned_and_clean
    env = {**os.environ, "FMAUDIT_HOME": str(st.root), "FMAUDIT_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "fmaudit", "audit", "backdoor", "--model", poisoned.model_id,
                           "--samples", "48", "--steps", "80", "--json"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    bad = json.loads(proc.stdout)
    assert bad["detected"]
    assert bad["suspected_target"] == "7"
    assert bad["recall"] > 0.6
    assert bad["precision"] > 0.8
    good = run_stored_audit(st, "backdoor", clean.model_id, images=48, steps=80)[1].metrics
    assert not good["detected"]
    assert good["max_anomaly_index"] < 2
    assert good["suspected_target"] is None
