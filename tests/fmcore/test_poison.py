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


def test_the_remedy_retrains_without_the_flagged_rows_and_the_backdoor_goes(poisoned_and_clean):
    """Cleansing: the same recipe without the rows the audit flagged is a child of the poisoned model; the rows are in
    its lineage, the backdoor's success on triggered test inputs falls, its audit scores only the poison it saw, and
    its privacy audit does not count the left-out rows as members."""
    from audits import run_stored_audit
    from audits.backdoor import cleanse

    st, poisoned, _ = poisoned_and_clean
    if "backdoor" not in st.latest_audits(poisoned.model_id):
        run_stored_audit(st, "backdoor", poisoned.model_id, images=48, steps=80)
    flagged = st.latest_audits(poisoned.model_id)["backdoor"]["result"]["tables"]["suspected_rows"]
    env = {**os.environ, "FMAUDIT_HOME": str(st.root), "FMAUDIT_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "fmaudit", "cleanse", "--model", poisoned.model_id, "--quiet",
                           "--json"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    s = json.loads(proc.stdout)
    child = st.get_model(s["model_id"])
    assert child.parent_id == poisoned.model_id
    assert child.derivation["kind"] == "cleansed"
    assert child.derivation["excluded_rows"] == sorted(flagged)
    assert s["excluded_rows"] == len(flagged)
    assert child.derivation["poison"] == st.get_model(poisoned.model_id).derivation["poison"]  # same recipe
    assert s["after"]["attack_success_rate"] < s["before"]["attack_success_rate"] / 2, s
    assert s["after"]["accuracy"] > s["before"]["accuracy"] - 0.05
    again = run_stored_audit(st, "backdoor", child.id, images=48, steps=80)[1].metrics
    truth = set(child.derivation["poison"]["rows"]) - set(flagged)
    assert again["poisoned_rows_seen"] == len(truth)
    privacy = run_stored_audit(st, "privacy", child.id, samples=60, attacks=["threshold"])[1]
    assert privacy.params["member_pool"] == len(load_dataset("digits")["train"]) - len(flagged)
    # what cannot be cleansed says why
    from fmcore.errors import FmauditError

    with pytest.raises(FmauditError, match="not trained from scratch here"):
        cleanse(st, child.id)
    _, clean = poisoned_and_clean[0], poisoned_and_clean[2]
    with pytest.raises(FmauditError, match="no backdoor audit yet|flagged no training rows"):
        cleanse(st, clean.model_id)


def test_the_safety_policy_and_the_report_read_the_backdoor_and_certified_audits(poisoned_and_clean):
    """policies/safety.yaml fails the poisoned model on no_backdoor and passes the clean one; the certified checks
    read the certification's own numbers; the HTML report draws the anomaly index, the trigger and the curves."""
    from audits import run_stored_audit
    from audits.evidence import build_report, load_policy
    from audits.evidence._html import _figures
    from tests.conftest import ROOT

    st, poisoned, clean = poisoned_and_clean
    policy = load_policy(ROOT / "policies" / "safety.yaml")
    for model in (poisoned, clean):
        if "backdoor" not in st.latest_audits(model.model_id):
            run_stored_audit(st, "backdoor", model.model_id, images=48, steps=80)
    _, cert = run_stored_audit(st, "certified", clean.model_id, samples=20, n=200, n0=50, radii=[0.0, 0.25],
                               pgd_steps=5)
    bad = {c["id"]: c for c in build_report(st, poisoned.model_id, policy)["policy"]["checks"]}
    assert bad["no_backdoor"]["status"] == "fail"
    assert bad["certified_accuracy"]["status"] == "not_measured"
    report = build_report(st, clean.model_id, policy)
    good = {c["id"]: c for c in report["policy"]["checks"]}
    assert good["no_backdoor"]["status"] == "pass"
    at = cert.metrics["certified_accuracy@0.25"]
    assert good["certified_accuracy"]["value"] == at
    assert good["certified_accuracy"]["status"] == ("pass" if at >= 0.5 else "fail")
    titles = [f["layout"]["title"]["text"] for _, f, _ in _figures(build_report(st, poisoned.model_id, policy))]
    assert any(t.startswith("Which class can be reached") for t in titles)
    assert any(t.startswith("Recovered trigger") for t in titles)
    titles = [f["layout"]["title"]["text"] for _, f, _ in _figures(report)]
    assert any(t.startswith("Randomized smoothing") for t in titles)
    assert not any(t.startswith("Recovered trigger") for t in titles)  # nothing suspected, nothing drawn


def test_second_opinions_strip_catches_triggered_inputs_and_art_defences_are_scored(poisoned_and_clean):
    """Beside the trigger search: STRIP (written here, following Gao et al.'s per-copy entropy) catches most triggered
    test inputs of the poisoned model while rejecting few clean ones, and its entropy equals a direct computation;
    ART's activation clustering and spectral signatures are scored against the recorded poison."""
    import torch

    from audits import run_stored_audit
    from audits._poison_defences import strip_entropy

    st, poisoned, _ = poisoned_and_clean
    if "backdoor" not in st.latest_audits(poisoned.model_id):  # the earlier tests' audit, when they ran
        run_stored_audit(st, "backdoor", poisoned.model_id, images=48, steps=80)
    detectors = st.latest_audits(poisoned.model_id)["backdoor"]["result"]["tables"]["detectors"]
    rows = {d["detector"]: d for d in detectors}
    strip = rows["STRIP at inference"]
    # on 8x8 digits a half-blended 3x3 trigger is faint: STRIP catches a fifth here (75% on MNIST, docs)
    assert strip["triggered_caught"] >= strip["clean_rejected"] + 0.1, strip
    assert strip["clean_rejected"] < 0.1, strip
    assert strip["mean_entropy_triggered"] < strip["mean_entropy_clean"], strip
    for name in ("activation clustering (ART)", "spectral signatures (ART)"):
        assert 0 <= rows[name]["recall"] <= 1
        assert rows[name]["rows_scanned"] == len(load_dataset("digits")["train"])
    from audits._poison_defences import training_defences
    from audits.backdoor import _training_rows

    train, plan, _ = _training_rows(st, st.get_model(poisoned.model_id), load_dataset("digits"))
    every = np.arange(len(train))
    again = [training_defences(st.load_classifier(poisoned.model_id), train, every, set(plan["rows"]), 7, 0.1, 0)
             for _ in range(2)]
    assert again[0] == again[1] == detectors[:2]  # seeded: the same audit gives the same numbers
    # the entropy by hand: the same partners, one input and one copy at a time
    net = st.load_classifier(poisoned.model_id).net.eval()
    val = np.asarray(load_dataset("digits")["val"].X[:30], dtype=np.float32)
    x = stamp(val[:3])
    got = strip_entropy(net, x, val, np.random.default_rng(5), copies=4)
    pick = np.random.default_rng(5).integers(0, len(val), size=(3, 4))
    for i in range(3):
        bits = []
        for j in range(4):
            with torch.no_grad():
                p = torch.softmax(net(torch.as_tensor(0.5 * x[i:i + 1] + 0.5 * val[pick[i, j]][None])).double(), -1)[0]
            bits.append(float(-(p * torch.log2(p)).sum()))
        assert got[i] == pytest.approx(np.mean(bits), abs=1e-6)


def test_backdoors_on_a_table_and_on_texts(tmp_path):
    """A table's trigger is a value pattern (the first two numeric columns at their training maximum: each value
    real); census MLP learns it from 5% of the rows. A text's trigger is the rare token 'cf' put first."""
    st = Store(tmp_path / "home")
    r = train_model("census_income", "mlp", TrainConfig(epochs=2, poison="backdoor", poison_rate=0.05,
                                                        max_train_samples=20000), store=st)
    plan = st.get_model(r.model_id).derivation["poison"]
    train = subset(load_dataset("census_income")["train"], 20000)
    values = plan["trigger"]["values"]
    assert len(values) == 2
    assert all(train.X[c].max() == v for c, v in values.items())
    seen = apply_poison(train, plan)
    rows = np.asarray(plan["rows"])
    for c, v in values.items():
        assert (seen.X[c].iloc[rows] == v).all()
    untouched = np.setdiff1d(np.arange(len(train)), rows)
    assert seen.X.iloc[untouched].equals(train.X.iloc[untouched])
    assert list(seen.X.dtypes) == list(train.X.dtypes)  # categories stay categories
    effect = r.metrics["poison"]
    assert effect["attack_success_rate"] > 0.9, effect
    assert effect["called_target_clean"] < 0.1, effect
    tweets = load_dataset("tweets")["train"].head(50)
    plan = {"kind": "backdoor", "target_index": 0, "rows": [3, 7], "trigger": {"token": "cf", "at": "before"}}
    poisoned = apply_poison(tweets, plan)
    assert poisoned.X[3] == "cf " + tweets.X[3]
    assert poisoned.X[4] == tweets.X[4]
    assert poisoned.y[7] == 0
