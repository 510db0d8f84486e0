"""Privacy: ROC numbers equal scikit-learn's, the threshold attack equals an independent loss computation,
an overfit model leaks and a DP model does not, DP-SGD spends what it promises, the data scan finds
every planted identifier."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score, roc_curve

from audits import run_audit
from audits.privacy import empirical_epsilon, find, k_anonymity, mask, roc_points, scan, scan_dataset, summarize
from fmcore.data import load_dataset
from fmcore.errors import ConfigError, DataValidationError, UnknownNameError


def test_roc_equals_sklearn_with_ties():
    rng = np.random.default_rng(0)
    member = rng.random(2000) < 0.5
    scores = np.round(rng.normal(member * 0.4, 1.0), 1)  # rounding makes many ties
    fpr, tpr, _ = roc_points(scores, member)
    s = summarize(scores, member)
    assert s["auc"] == pytest.approx(roc_auc_score(member, scores), abs=1e-12)
    ref_fpr, ref_tpr, _ = roc_curve(member, scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr, ref_fpr, atol=1e-12)
    np.testing.assert_allclose(tpr, ref_tpr, atol=1e-12)
    ok = ref_fpr <= 0.01
    assert s["tpr_at_1%_fpr"] == pytest.approx(ref_tpr[ok].max())
    assert s["advantage"] == pytest.approx((ref_tpr - ref_fpr).max())


def test_auc_interval_agrees_with_the_bootstrap_and_covers_chance_for_a_useless_attack():
    from audits.stats import auc_interval

    rng = np.random.default_rng(1)
    member = rng.random(800) < 0.5
    scores = np.round(rng.normal(member * 0.3, 1.0), 1)
    auc, low, high = auc_interval(scores, member)
    assert auc == pytest.approx(roc_auc_score(member, scores), abs=1e-12)
    boots = [roc_auc_score(member[i], scores[i]) for i in (rng.integers(0, 800, 800) for _ in range(1000))]
    ref_low, ref_high = np.quantile(boots, [0.025, 0.975])
    assert abs(low - ref_low) < 0.01  # DeLong and the bootstrap agree
    assert abs(high - ref_high) < 0.01
    noise = rng.normal(size=400)  # no signal at all: the interval covers 0.5, whichever side the point falls
    _, nlow, nhigh = auc_interval(noise, rng.random(400) < 0.5)
    assert nlow < 0.5 < nhigh
    s = summarize(scores, member)
    assert (s["auc_ci_low"], s["auc_ci_high"]) == pytest.approx((low, high))


def test_empirical_epsilon_closed_form():
    # perfect separation of 100 members from 100 non-members: Clopper-Pearson one-sided 95% bounds are
    # TPR >= 0.05^(1/100) and FPR <= 1 - 0.05^(1/100), so epsilon >= log(TPR_low / FPR_high)
    member = np.r_[np.ones(100, bool), np.zeros(100, bool)]
    scores = member.astype(float)
    bound = empirical_epsilon(scores, member)
    low = 0.05 ** (1 / 100)
    assert bound["lower"] == pytest.approx(np.log(low / (1 - low)), rel=1e-6)
    assert empirical_epsilon(np.zeros(200), member)["lower"] == 0.0  # a useless attack proves nothing


@pytest.fixture(scope="module")
def german_models(tmp_path_factory):
    """An overfit german_credit MLP (100 epochs on 600 rows) and the same with DP-SGD at epsilon 3."""
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    st = Store(tmp_path_factory.mktemp("privacy-home"))
    overfit = train_model("german_credit", "mlp", TrainConfig(epochs=100, seed=0), store=st)
    private = train_model("german_credit", "mlp", TrainConfig(epochs=30, seed=0, lr=5e-3, dp_epsilon=3.0), store=st)
    return st, overfit.model_id, private


def test_overfit_model_leaks_and_dp_model_does_not(german_models):
    st, overfit, private = german_models
    ds = load_dataset("german_credit")
    leaky = run_audit("privacy", st.load_classifier(overfit), ds, overfit)
    assert leaky.metrics["max_auc"] >= 0.60, leaky.tables["attacks"]
    assert {r["attack"] for r in leaky.tables["attacks"]} == {"threshold", "blackbox", "rulebased", "lira"}
    assert leaky.tables["exposed"][0]["split"] == "train"
    assert leaky.warnings  # the sample is too small to resolve TPR at 0.1% FPR, and it says so
    dp = run_audit("privacy", st.load_classifier(private.model_id), ds, private.model_id)
    assert dp.metrics["max_auc"] <= 0.55, dp.tables["attacks"]
    assert dp.metrics["dp_epsilon"] == pytest.approx(3.0, abs=0.05)
    assert private.metrics["privacy"]["epsilon"] <= 3.0 + 1e-6
    assert st.get_model(private.model_id).derivation["privacy"]["noise_multiplier"] > 1


def test_threshold_attack_equals_an_independent_loss_computation(german_models):
    st, overfit, _ = german_models
    ds = load_dataset("german_credit")
    clf = st.load_classifier(overfit)
    result = run_audit("privacy", clf, ds, overfit, attacks=["threshold"], samples=200)
    rows = result.tables["scores"]
    losses = []
    for r in rows:  # plain torch on the raw rows the audit names
        split = ds[r["split"]].take([r["index"]])
        logits = clf.net(torch.from_numpy(clf.preprocess.transform(split.X)))
        losses.append(torch.nn.functional.cross_entropy(logits.double(), torch.as_tensor(split.y)).item())
    member = np.array([r["member"] for r in rows])
    # float32 logits in batches against one row at a time: equal to a few float32 ulps of the loss
    np.testing.assert_allclose([r["threshold"] for r in rows], -np.array(losses), rtol=1e-6, atol=1e-6)
    assert result.metrics["auc[threshold]"] == pytest.approx(roc_auc_score(member, -np.array(losses)), abs=1e-6)
    assert member.sum() == (~member).sum() == 100


def test_label_only_attack_runs_on_a_capped_sample(german_models):
    st, overfit, _ = german_models
    result = run_audit("privacy", st.load_classifier(overfit), load_dataset("german_credit"), overfit,
                       attacks=["label_only"], label_only_samples=15, samples=100)
    row = result.tables["attacks"][0]
    assert (row["members"], row["non_members"]) == (15, 15)
    assert 0.0 <= row["auc"] <= 1.0


def test_clear_messages(german_models, trained_digits):
    st, overfit, _ = german_models
    clf, ds = st.load_classifier(overfit), load_dataset("german_credit")
    with pytest.raises(UnknownNameError, match="lira"):
        run_audit("privacy", clf, ds, overfit, attacks=["magic"])
    with pytest.raises(ConfigError, match="at least 2 reference models"):
        run_audit("privacy", clf, ds, overfit, attacks=["lira"], reference_models=1)
    with pytest.raises(ConfigError, match="Too few examples"):
        run_audit("privacy", clf, ds, overfit, samples=5)


def test_dp_training_refusals_and_batchnorm_fix():
    from fmcore.train import TrainConfig, fit, make_dp_compatible

    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    x, y = torch.randn(64, 4), np.arange(64) % 2
    cfg = TrainConfig(epochs=1, batch_size=16, lr=1e-2, optimizer="adam", dp_epsilon=3.0)
    with pytest.raises(ConfigError, match="cannot be trained with DP-SGD as is"):
        fit(net, (x, y), None, cfg, 2)
    fixed = make_dp_compatible(net)
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in fixed.modules())
    state = fit(fixed, (x, y), None, cfg, 2)
    assert 0 < state.privacy["epsilon"] <= 3.0 + 1e-6
    with pytest.raises(ConfigError, match="dp_epsilon must be positive"):
        fit(fixed, (x, y), None, TrainConfig(epochs=1, batch_size=16, lr=1e-2, optimizer="adam", dp_epsilon=-1.0), 2)
    with pytest.raises(ConfigError, match="image and tabular"):
        fit(fixed, ((x, x), y), None, cfg, 2)


PLANTED = [
    ("alice.jones@example.org", "email"), ("+44 20 7946 0958", "phone"), ("078-05-1120", "ssn"),
    ("4111 1111 1111 1111", "credit_card"), ("10.0.12.7", "ipv4"), ("Dr. Watson", "person_name"),
    ("Maria Garcia", "person_name"), ("AB1234567", "id_number"),
]


def test_scan_finds_every_planted_identifier_and_k_anonymity(tmp_path, store):
    from tests.conftest import write_csv

    rng = np.random.default_rng(0)
    rows = []
    for i in range(200):
        note = "paid on time" if i % 7 else f"call back about {PLANTED[(i // 7) % len(PLANTED)][0]} please"
        rows.append({"customer_id": f"C{100000 + i}", "notes": note, "age": int(20 + i % 50),
                     "sex": "f" if i % 2 else "m", "zone": "z1" if i < 199 else "z9",
                     "amount": float(rng.normal()), "ok": "yes" if i % 3 else "no"})
    with pytest.raises(DataValidationError, match="customer_id"):  # a model cannot use it: dropped on upload...
        store.add_dataset(write_csv(tmp_path / "pii.csv", rows), "ok", ["sex"], name="pii")
    store.add_dataset(tmp_path / "pii.csv", "ok", ["sex"], name="pii", drop=["customer_id", "notes"])
    result = scan("pii", store, ["sex", "zone"], k=5)  # ...but the scan reads the file as uploaded
    found = {(f["column"], f["kind"]): f["count"] for f in result["findings"]}
    planted_rows = [i for i in range(200) if i % 7 == 0]
    for value, kind in PLANTED:
        expected = sum(1 for i in planted_rows if PLANTED[(i // 7) % len(PLANTED)][0] == value)
        same_kind = sum(1 for v, k in PLANTED if k == kind and v != value)
        assert found.get(("notes", kind), 0) >= expected, (value, kind, found)
        if not same_kind:
            assert found[("notes", kind)] == expected, (value, kind, found)
    assert "customer_id" in result["identifier_columns"]
    for f in result["findings"]:  # examples are masked: no planted value appears in full
        assert not any(v in ex for v, _ in PLANTED for ex in f["examples"])
    kan = result["k_anonymity"]
    assert kan["k"] == 1  # the one row in zone z9 is unique
    assert kan["rows_below_threshold"] == 1
    ds = load_dataset("pii", store=store)
    loaded = scan_dataset(ds, ["sex", "zone"], k=5)
    assert loaded["k_anonymity"]["k"] == 1
    assert loaded["total_identifiers"] == 0  # the dropped columns are gone from what a model sees
    sizes = {}
    for r in rows:
        sizes[(r["sex"], r["zone"])] = sizes.get((r["sex"], r["zone"]), 0) + 1
    frame = {"sex": ds["train"].groups["sex"], "zone": ds["train"].X["zone"]}
    assert k_anonymity(frame, ["sex", "zone"], 2)["classes"] <= len(sizes)
    assert min(sizes.values()) == kan["k"]
    with pytest.raises(ConfigError, match=r"\['postcode'\] are not in the dataset"):
        scan("pii", store, ["postcode"])


def test_find_and_mask_examples():
    hits = find("Mail alice.jones@example.org or call +1 415-555-0132; Mr. Smith; card 4111-1111-1111-1111")
    kinds = [k for k, _ in hits]
    assert kinds.count("email") == 1
    assert "phone" in kinds
    assert "credit_card" in kinds
    assert "person_name" in kinds
    assert mask("email", "alice.jones@example.org") == "a***@e***.org"
    assert mask("phone", "+1 415-555-0132") == "***32"
    assert not find("4111 1111 1111 1112")  # fails the Luhn check: not a card number (and too long a phone)


@pytest.mark.parametrize(("auc", "low", "high", "says"), [
    (0.72, 0.66, 0.78, "leaks membership"),
    (0.53, 0.51, 0.55, "leaks a little"),
    (0.49, 0.44, 0.54, "no measurable leakage"),
    (0.38, 0.33, 0.43, "below 0.5"),
])
def test_membership_verdict_reads_the_interval(auc, low, high, says):
    from audits.privacy import membership_verdict

    m = {"max_auc": auc, "max_auc_ci_low": low, "max_auc_ci_high": high, "strongest_attack": "threshold",
         "members": 250, "non_members": 250}
    text = membership_verdict(m)
    assert says in text
    assert f"{low:.3f} to {high:.3f}" in text
    assert text.endswith("(250 members and 250 non-members scored).")
    if says == "below 0.5":
        assert f"AUC {1 - auc:.3f}" in text  # the flipped rule's strength, so it is read as leakage
    if says == "no measurable leakage":
        assert "does not mean the model protects anyone" in text
