"""Robustness audit: ART attacks checked against an independent torch PGD, sanity checks, masking
detection, tabular inputs, clear errors, and adversarial training."""

import numpy as np
import pytest
import torch

from audits import run_audit
from audits.robustness import ATTACKS, harden, pgd_batched
from audits.robustness._estimator import attack_inputs
from fmcore.data import load_dataset
from fmcore.errors import FmauditError
from fmcore.models import Classifier


@pytest.fixture(scope="module")
def digits_cnn(tmp_path_factory):
    """A seed CNN trained on digits for 8 epochs (about 0.9 test accuracy): (store, record)."""
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    st = Store(tmp_path_factory.mktemp("robust-home"))
    r = train_model("digits", "seed_cnn", TrainConfig(epochs=8, seed=0), store=st)
    return st, st.get_model(r.model_id)


def test_pgd_matches_an_independent_torch_pgd(digits_cnn):
    st, rec = digits_cnn
    ds = load_dataset("digits")
    result = run_audit("robustness", st.load_classifier(rec.id), ds, rec.id, attack="pgd", eps=[0.05, 0.1],
                       samples=200, steps=10, blackbox_check_samples=0, compare_fgsm=False)
    clf = st.load_classifier(rec.id)
    x, y = attack_inputs(clf, ds["test"], 200, 0)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for row in result.tables["sweep"]:
        adv = pgd_batched(clf.net, xt, yt, eps=row["eps"], steps=10)
        with torch.no_grad():
            mine = (clf.net(adv).argmax(-1) == yt).float().mean().item()
        assert abs(mine - row["robust_accuracy"]) <= 0.02, (row["eps"], mine, row["robust_accuracy"])
    clean = (clf.predict(ds["test"].X[np.sort(np.random.default_rng(0).choice(359, 200, replace=False))]) == y).mean()
    assert result.metrics["clean_accuracy"] == pytest.approx(clean)


def test_sweep_is_monotone_stronger_than_fgsm_with_intervals(digits_cnn):
    st, rec = digits_cnn
    result = run_audit("robustness", st.load_classifier(rec.id), load_dataset("digits"), rec.id, attack="pgd",
                       eps=[0.3, 0.05, 0.1], samples=150, steps=10, blackbox_check_samples=40)
    rows = result.tables["sweep"]
    assert [r["eps"] for r in rows] == [0.05, 0.1, 0.3]
    accs = [r["robust_accuracy"] for r in rows]
    assert accs == sorted(accs, reverse=True)
    assert accs[0] < result.metrics["clean_accuracy"]  # the attack lowers accuracy
    assert accs[-1] <= 0.05
    for r in rows:
        assert r["ci_low"] <= r["robust_accuracy"] <= r["ci_high"]
        assert r["n"] == 150
    names = [c["check"] for c in result.tables["checks"]]
    assert any("FGSM" in n for n in names)
    assert any("Square" in n for n in names)
    assert all(c["passed"] for c in result.tables["checks"]), result.tables["checks"]
    flipped = [e for e in result.tables["examples"] if e["adv_pred"] != e["true"]]
    assert flipped
    assert np.asarray(flipped[0]["adversarial"]).shape == (28, 28)
    delta = np.abs(np.asarray(flipped[0]["adversarial"]) - np.asarray(flipped[0]["original"])).max()
    assert delta <= float(result.artifacts["gallery_eps"]) + 2e-3  # images are stored rounded to 3 decimals
    per_class = result.tables["per_class"]
    assert sum(r["n"] for r in per_class) == 150


class _Quantise(torch.nn.Module):
    """Rounds pixels to 0/1: zero gradients everywhere, a textbook case of gradient masking."""

    def forward(self, x):
        return torch.round(x)


def test_gradient_masking_is_flagged(digits_cnn):
    st, rec = digits_cnn
    base = st.load_classifier(rec.id)
    masked = Classifier("seed_cnn", torch.nn.Sequential(_Quantise(), base.net), base.meta)
    result = run_audit("robustness", masked, load_dataset("digits"), rec.id, attack="pgd", eps=[0.3], samples=60,
                       steps=10, blackbox_check_samples=60)
    assert any("Gradient masking suspected" in w for w in result.warnings), result.warnings
    assert not result.metrics["checks_passed"]


@pytest.mark.parametrize("attack", sorted(a for a, spec in ATTACKS.items() if spec.fits("image")))
def test_every_attack_runs_and_lowers_accuracy(attack, digits_cnn):
    st, rec = digits_cnn
    eps = [0.1, 0.3] if ATTACKS[attack].norm == "inf" else [1.0, 3.0]
    small = {"hopskipjump": {"samples": 12}, "cw": {"samples": 30}, "deepfool": {"samples": 30},
             "square": {"samples": 40}, "autoattack": {"samples": 30}}.get(attack, {"samples": 60})
    result = run_audit("robustness", st.load_classifier(rec.id), load_dataset("digits"), rec.id, attack=attack,
                       eps=eps, blackbox_check_samples=0, compare_fgsm=False, **small)
    assert result.tables["sweep"][-1]["robust_accuracy"] < result.metrics["clean_accuracy"]


def test_tabular_attack_reports_changed_features(trained_german):
    st, rec = trained_german
    result = run_audit("robustness", st.load_classifier(rec.id), load_dataset("german_credit"), rec.id,
                       attack="pgd", eps=[0.25, 1.0], samples=100, steps=10, blackbox_check_samples=0,
                       constraints="none")
    assert result.tables["sweep"][-1]["robust_accuracy"] <= result.metrics["clean_accuracy"]
    assert "Unconstrained attack" in result.warnings[0]
    changes = [c for e in result.tables["examples"] for c in e.get("changes", [])]
    assert changes
    feature_names = st.load_classifier(rec.id).preprocess.feature_names
    assert all(c["feature"] in feature_names for c in changes)
    refused = "'square' does not apply to tabular models; for tabular models use: fgsm, pgd"
    with pytest.raises(FmauditError, match=refused):
        run_audit("robustness", st.load_classifier(rec.id), load_dataset("german_credit"), rec.id, attack="square",
                  eps=[0.5])  # ART's Square draws image patches: refused up front, not an ART crash


def test_bad_inputs_give_clear_errors(digits_cnn):
    st, rec = digits_cnn
    clf, ds = st.load_classifier(rec.id), load_dataset("digits")
    with pytest.raises(FmauditError, match="out of range"):
        run_audit("robustness", clf, ds, rec.id, eps=[0.1, 1.5])
    with pytest.raises(FmauditError, match="must be positive"):
        run_audit("robustness", clf, ds, rec.id, eps=[-0.1])
    with pytest.raises(FmauditError, match="Available: autoattack, charswap, cw, deepfool"):
        run_audit("robustness", clf, ds, rec.id, attack="jsma")
    text = Classifier("minilm", torch.nn.Identity(), {"modality": "text", "classes": ["a", "b"]})
    with pytest.raises(FmauditError, match="does not apply to text models; for text models use: charswap"):
        run_audit("robustness", text, load_dataset("tweets"), None)
    with pytest.raises(FmauditError, match="does not apply to image models"):
        run_audit("robustness", clf, ds, rec.id, attack="charswap", eps=[1, 2])


def test_adversarial_training_raises_robust_accuracy(digits_cnn):
    st, rec = digits_cnn
    result = harden(st, rec.id, eps=0.1, epochs=4, steps=5, eval_samples=359)
    child = st.get_model(result.model_id)
    assert child.parent_id == rec.id
    assert child.derivation["attack"] == "pgd"
    assert result.after["robust_accuracy"] > result.before["robust_accuracy"] + 0.1, (result.before, result.after)
    assert result.after["clean_accuracy"] > result.before["clean_accuracy"] - 0.05
    assert child.metrics["hardening"]["after"] == result.after
    with pytest.raises(FmauditError, match="supports pgd and fgsm"):
        harden(st, rec.id, attack="square")


def test_text_attack_flips_predictions_with_few_edits(tiny_bert, store, tmp_path):
    from fmcore.finetune import FinetuneConfig, finetune
    from tests.conftest import write_csv

    # a text task whose label hangs on one word, so a model that learned it can be fooled by misspelling it
    rng = np.random.default_rng(0)
    good, bad = ["great", "lovely", "excellent"], ["awful", "broken", "terrible"]
    rows = []
    for i in range(400):
        positive = i % 2 == 0
        word = (good if positive else bad)[rng.integers(3)]
        rows.append({"text": f"the {['phone', 'film', 'meal', 'hotel'][rng.integers(4)]} was really {word} today",
                     "label": "pos" if positive else "neg"})
    store.add_dataset(write_csv(tmp_path / "reviews.csv", rows), "label", text="text", name="reviews")
    r = finetune("reviews", FinetuneConfig(method="full", lr=2e-3, epochs=4, max_train_samples=None,
                                           max_eval_samples=None, max_length=16, base_path=tiny_bert, batch_size=16),
                 store=store)
    assert r.metrics["accuracy"] > 0.9
    clf = store.load_classifier(r.model_id)
    result = run_audit("robustness", clf, load_dataset("reviews", store=store), r.model_id, attack="charswap",
                       eps=[1, 3], samples=30)
    rows = result.tables["sweep"]
    assert [row["eps"] for row in rows] == [1.0, 3.0]
    assert rows[1]["robust_accuracy"] <= rows[0]["robust_accuracy"] < result.metrics["clean_accuracy"]
    assert result.metrics["flip_rate"] > 0.3
    edited = [e for e in result.tables["examples"] if e["flipped"]]
    assert edited
    for e in edited:
        assert e["edited"] != e["original"]
        assert e["adv_pred"] != e["true"]
        assert 1 <= e["edits"] <= 3
        # the edited text really gets the reported prediction
        assert clf.classes[clf.predict([e["edited"]])[0]] == e["adv_pred"]
    with pytest.raises(FmauditError, match="whole numbers"):
        run_audit("robustness", clf, load_dataset("reviews", store=store), r.model_id, attack="charswap", eps=[1.5])


def test_char_edits_are_deterministic_misspellings():
    from audits.robustness._text import char_edits

    edits = char_edits("good")
    assert edits == char_edits("good")
    assert "godo" in edits
    assert "g0od" in edits
    assert "good" not in edits


def test_census_attack_keeps_rows_that_could_exist(tmp_path):
    """Independently of the audit's own check: every adversarial row decodes to one category per group, whole
    numbers where the training data has them, values in the training range, and age (behind the age band)
    unchanged; sensitive attributes are not model inputs at all."""
    import numpy as np

    from audits.robustness._sweep import _attack_task
    from audits.robustness._tabular import table_constraints
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    st = Store(tmp_path / "h")
    model = train_model("census_income", "mlp", TrainConfig(epochs=1, max_train_samples=20000), store=st).model_id
    clf, ds = st.load_classifier(model), load_dataset("census_income")
    result = run_audit("robustness", clf, ds, model, attack="pgd", eps=[0.1, 0.3], samples=200, steps=20,
                       blackbox_check_samples=0)
    assert result.metrics["constraints"] == "valid"
    assert result.params["immutable"] == ["age_years"]
    valid = next(c for c in result.tables["checks"] if c["check"].startswith("adversarial rows could exist"))
    assert valid["passed"], valid
    free = run_audit("robustness", clf, ds, model, attack="pgd", eps=[0.3], samples=200, steps=20,
                     blackbox_check_samples=0, constraints="none")
    assert free.metrics["robust_accuracy@0.3"] <= result.metrics["robust_accuracy@0.3"]  # impossible rows help it
    changed = {c["feature"] for e in result.tables["examples"] for c in e.get("changes", [])}
    assert not changed & {"age_years", "race", "sex", "age"}
    # the same attack by hand, then our own decoding of every adversarial row
    from audits.robustness._estimator import attack_inputs, feature_range

    x, y = attack_inputs(clf, ds["test"], 200, 0)
    constraints = table_constraints(clf, ds["train"].X, ["age_years"])
    adv = _attack_task({"classifier": clf, "clip": feature_range(clf, ds["train"]), "x": x, "y": y,
                        "constraints": constraints},
                       {"attack": "pgd", "eps": 0.3, "batch_size": 200, "overrides": {"steps": 20}, "seed": 0})
    spec = clf.preprocess.spec
    assert not {"race", "sex", "age"} & {c["name"] for c in spec["numeric"] + spec["categorical"]}
    j = 0
    train = ds["train"].X
    for c in spec["numeric"]:
        before = x[:, j] * c["scale"] + c["mean"]
        after = adv[:, j].astype(np.float64) * c["scale"] + c["mean"]
        values = train[c["name"]].dropna().to_numpy(dtype=float)
        assert after.min() >= values.min() - 1e-3
        assert after.max() <= values.max() + 1e-3
        if np.all(values == np.round(values)):
            assert np.allclose(after, np.round(after), atol=1e-3), c["name"]
        if c["name"] == "age_years":
            assert np.array_equal(adv[:, j], x[:, j])
        assert np.all(np.abs(after - before) <= 0.3 * c["scale"] + 1e-3)  # still within eps
        j += 1
    for c in spec["categorical"]:
        block = adv[:, j:j + len(c["categories"])]
        known = x[:, j:j + len(c["categories"])].sum(1) > 0
        assert np.isin(block, (0.0, 1.0)).all(), c["name"]
        assert (block[known].sum(1) == 1).all(), c["name"]
        j += len(c["categories"])


def test_autoattack_is_at_most_pgd_on_the_same_inputs(digits_cnn):
    """The standard preset: robust accuracy under AutoAttack never exceeds PGD's at the same epsilon and inputs."""
    st, rec = digits_cnn
    clf, ds = st.load_classifier(rec.id), load_dataset("digits")
    auto = run_audit("robustness", clf, ds, rec.id, attack="autoattack", eps=[0.05, 0.1], samples=30,
                     blackbox_check_samples=0)
    pgd = run_audit("robustness", st.load_classifier(rec.id), ds, rec.id, attack="pgd", eps=[0.05, 0.1], samples=30,
                    blackbox_check_samples=0, compare_fgsm=False)
    assert auto.params["rows"] == pgd.params["rows"]
    for a, p in zip(auto.tables["sweep"], pgd.tables["sweep"], strict=True):
        assert a["robust_accuracy"] <= p["robust_accuracy"] + 1e-9
    check = next(c for c in auto.tables["checks"] if c["check"].startswith("AutoAttack at least as strong as PGD"))
    assert check["passed"]
    assert auto.metrics["attack"] == "autoattack"
    # per component: APGD-CE, APGD-DLR (ten classes) and Square (images), each alone; the worst case is at most each
    parts = auto.tables["components"]
    assert [r["component"] for r in parts if r["eps"] == 0.1][:3] == ["apgd-ce", "apgd-dlr", "square"]
    for eps in (0.05, 0.1):
        at = {r["component"]: r["robust_accuracy"] for r in parts if r["eps"] == eps}
        assert at["worst case"] <= min(at["apgd-ce"], at["apgd-dlr"], at["square"], at["AutoAttack (ensemble)"])
        assert at["AutoAttack (ensemble)"] == auto.metrics[f"robust_accuracy@{eps:g}"]
        assert auto.metrics[f"worst_case_accuracy@{eps:g}"] == at["worst case"]
    assert next(c for c in auto.tables["checks"] if c["check"].startswith("AutoAttack ensemble within"))["passed"]


def test_certified_robustness_by_randomized_smoothing(digits_cnn, tmp_path):
    """Cohen et al.'s certificate through ART: certified accuracy falls with the radius, never certifies an input
    that PGD-L2 then confidently moves to another class, and the CLI prints the contracted rows."""
    import json
    import os
    import subprocess
    import sys

    st, rec = digits_cnn
    result = run_audit("certified", st.load_classifier(rec.id), load_dataset("digits"), rec.id, sigma=0.25,
                       samples=40, n=100, n0=30, radii=[0.0, 0.2, 0.4])
    rows = result.tables["radii"]
    certified = [r["certified_accuracy"] for r in rows]
    assert certified == sorted(certified, reverse=True)
    assert certified[0] > 0.5  # the smoothed digit CNN still classifies
    assert all(0 <= r["abstain_rate"] <= 1 for r in rows)
    assert result.tables["checks"][0]["passed"]
    # the largest radius n=100 samples can certify at alpha 0.001: sigma * Phi^-1(alpha^(1/n))
    from scipy.stats import norm

    largest = 0.25 * norm.ppf(0.001 ** (1 / 100))  # about 0.375
    assert all(r["certified_accuracy"] == 0 for r in rows if r["radius"] > largest)
    assert result.metrics["max_certifiable_radius"] == pytest.approx(largest, rel=1e-6)
    assert "no radius above 0.375 can be certified" in result.metrics["verdict"]
    env = {**os.environ, "FMAUDIT_HOME": str(st.root), "FMAUDIT_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "fmaudit", "audit", "certified", "--model", rec.id, "--sigma", "0.25",
                           "--samples", "10", "--radii", "0,0.25", "--json"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert {"radius", "certified_accuracy", "empirical_accuracy", "abstain_rate"} <= set(out["rows"][0])
