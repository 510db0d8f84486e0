"""Fairness mitigations: each gives a registered child model that reproduces fairlearn's own fitted
object (thresholds and mixtures compared with fairlearn's predictions), and cuts the disparity."""

import json
import shutil
import warnings

import numpy as np
import pytest

from audits import run_audit
from audits.fairness import mitigate, tradeoff_table
from audits.fairness._mitigate import reweighing_weights
from fmcore.data import load_dataset
from fmcore.errors import ConfigError, FmauditError, NotFoundError, UnknownNameError


@pytest.fixture(scope="module")
def census(tmp_path_factory):
    """A census MLP trained on 40,000 rows for one epoch, in its own store."""
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    st = Store(tmp_path_factory.mktemp("census-home"))
    r = train_model("census_income", "mlp", TrainConfig(epochs=1, seed=0, max_train_samples=40000), store=st)
    return st, r.model_id


def test_threshold_optimizer_halves_the_census_dp_gap_and_matches_fairlearn(census):
    from fairlearn.postprocessing import ThresholdOptimizer
    from sklearn.linear_model import LogisticRegression

    st, parent = census
    res = mitigate(st, parent, method="threshold_optimizer", constraint="demographic_parity", sensitive="sex")
    before, after = res.before["demographic_parity_difference"], res.after["demographic_parity_difference"]
    assert before > 0.02  # the parent really favours one sex
    assert after <= before / 2, (before, after)
    assert res.after["accuracy"] > 0.9  # and what it cost is recorded
    child = st.get_model(res.model_id)
    assert child.parent_id == parent
    assert child.derivation["method"] == "threshold_optimizer"

    # independent: fairlearn's own ThresholdOptimizer on the same validation scores predicts as the stored rules
    clf, ds = st.load_classifier(parent), load_dataset("census_income")
    val, test = ds["val"], ds["test"].head(5000)

    class Scores(LogisticRegression):  # a prefit estimator whose single input column is the score
        def predict_proba(self, X):
            return np.stack([1 - X[:, 0], X[:, 0]], 1)

    est = Scores().fit(np.array([[0.0], [1.0]]), [0, 1])
    ref = ThresholdOptimizer(estimator=est, constraints="demographic_parity", prefit=True,
                             predict_method="predict_proba")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref.fit(clf.predict_proba(val.X)[:, 1:].astype(np.float64), (val.y == 1).astype(int),
                sensitive_features=val.groups["sex"].astype(str).to_numpy())
    s_test, sex = clf.predict_proba(test.X)[:, 1:].astype(np.float64), test.groups["sex"].astype(str).to_numpy()
    mitigated = st.load_classifier(res.model_id)
    ours = mitigated.predict_proba(test.X, groups=test.groups)
    np.testing.assert_allclose(ours[:, 1], ref._pmf_predict(s_test, sensitive_features=sex)[:, 1], atol=1e-12)
    np.testing.assert_array_equal(mitigated.predict(test.X, groups=test.groups),
                                  ref.predict(s_test, sensitive_features=sex, random_state=0))

    # the fairness audit of the child sees the same gap the mitigation reported
    audit = run_audit("fairness", mitigated, ds, res.model_id, sensitive=["sex"], n_boot=0)
    assert audit.metrics["demographic_parity_difference"] == pytest.approx(after, abs=1e-12)
    with pytest.raises(ConfigError, match="needs the sensitive column"):
        mitigated.predict_proba(test.X)
    with pytest.raises(FmauditError, match="attack its parent"):
        run_audit("robustness", mitigated, ds, res.model_id, samples=10)


def test_threshold_model_is_hashed_exported_and_protects_its_parent(census, tmp_path):
    st, parent = census
    res = mitigate(st, parent, method="threshold_optimizer", constraint="equalized_odds", sensitive="sex")
    assert res.after["equalized_odds_difference"] < res.before["equalized_odds_difference"] / 2
    child = st.get_model(res.model_id)
    assert st.verify_model(child.id)
    out = st.export_model(child.id, tmp_path / "export")
    assert (out / "rules.json").exists()
    assert (out / "base" / "model.safetensors").exists()
    assert "ThresholdOptimizer" in (out / "README.md").read_text()
    with pytest.raises(NotFoundError, match="is the parent of"):
        st.delete_model(parent)
    rules = json.loads((child.path and (out / "rules.json")).read_text())
    assert set(rules) == {"Female", "Male"}
    backup = tmp_path / "rules.bak"
    shutil.copyfile(f"{child.path}/rules.json", backup)
    rules["Male"]["p0"] = 0.5
    (tmp_path / "edited.json").write_text(json.dumps(rules))
    shutil.copyfile(tmp_path / "edited.json", f"{child.path}/rules.json")
    assert not st.verify_model(child.id)  # an edited rule file fails verification
    shutil.copyfile(backup, f"{child.path}/rules.json")
    assert st.verify_model(child.id)


def test_exponentiated_gradient_mixture_equals_fairlearn(census):
    from fairlearn.reductions import DemographicParity, ExponentiatedGradient
    from sklearn.linear_model import LogisticRegression

    st, parent = census
    rec = st.get_model(parent)
    res = mitigate(st, rec.id, method="exponentiated_gradient", constraint="demographic_parity",
                   sensitive="sex", tolerance=0.02, max_train_samples=5000)
    mixture = st.load_classifier(res.model_id)
    assert mixture.model == "fair_mixture"
    assert not mixture.needs_groups
    ds = load_dataset("census_income")
    train, test = ds["train"].head(5000), ds["test"].head(5000)
    pre = st.load_classifier(rec.id).preprocess
    ref = ExponentiatedGradient(LogisticRegression(solver="liblinear", max_iter=500, random_state=0),
                                constraints=DemographicParity(difference_bound=0.02), max_iter=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref.fit(pre.transform(train.X).astype(np.float64), (train.y == 1).astype(int),
                sensitive_features=train.groups["sex"].astype(str).to_numpy())
    x_test = pre.transform(test.X).astype(np.float64)
    np.testing.assert_allclose(mixture.predict_proba(test.X)[:, 1], ref._pmf_predict(x_test)[:, 1], atol=1e-6)
    np.testing.assert_array_equal(mixture.predict(test.X), ref.predict(x_test, random_state=0))
    assert res.after["demographic_parity_difference"] < res.before["demographic_parity_difference"]


def test_reweighing_makes_label_independent_of_group_and_retrains(trained_german):
    st, rec = trained_german
    ds = load_dataset("german_credit")
    train = ds["train"]
    codes = train.groups["sex"].astype("category").cat.codes.to_numpy()
    y = train.y
    w = reweighing_weights(codes, y)
    for g in np.unique(codes):  # weighted positive rate is the same in every group: the overall rate
        m = codes == g
        assert (w[m] * y[m]).sum() / w[m].sum() == pytest.approx(y.mean(), abs=1e-12)
    res = mitigate(st, rec.id, method="reweighing", sensitive="sex", epochs=3)
    child = st.get_model(res.model_id)
    assert child.model == rec.model
    assert child.parent_id == rec.id
    assert child.metrics["accuracy"] > 0.6
    rows = tradeoff_table(st, res.model_id)
    assert rows[0]["role"] == "parent"
    assert rows[0]["model_id"] == rec.id
    assert res.model_id in {r["model_id"] for r in rows}


def test_clear_messages(trained_german, trained_digits):
    st, rec = trained_german
    with pytest.raises(ConfigError, match=r"\['race'\] are not in 'german_credit'"):
        mitigate(st, rec.id, sensitive="race")
    with pytest.raises(UnknownNameError, match="threshold_optimizer"):
        mitigate(st, rec.id, method="magic", sensitive="sex")
    with pytest.raises(ConfigError, match="cannot relax equalized odds"):
        mitigate(st, rec.id, constraint="equalized_odds", tolerance=0.05, sensitive="sex")
    with pytest.raises(ConfigError, match="supports the constraints"):
        mitigate(st, rec.id, method="reweighing", constraint="equalized_odds", sensitive="sex")
    with pytest.raises(ConfigError, match=r"tolerance .* \[0, 1\)"):
        mitigate(st, rec.id, tolerance=1.5, sensitive="sex")
    st2, rec2 = trained_digits
    with pytest.raises(FmauditError, match="declares no sensitive attributes"):
        mitigate(st2, rec2.id, sensitive="sex")


def test_multiclass_label_is_refused_with_a_reason(store, three_classes):
    with pytest.raises(ConfigError, match="need a binary label; 'three' has 3 classes"):
        mitigate(store, three_classes, sensitive="grp")
    assert len(store.list_models()) == 1  # nothing registered


def test_mitigation_verdict_names_the_fairest_or_says_none_helped():
    from audits.fairness import mitigation_verdict

    parent = {"role": "parent", "model_id": "m-p", "accuracy": 0.80, "demographic_parity_difference": 0.20}
    better = {"role": "mitigation", "model_id": "m-a", "method": "threshold_optimizer",
              "constraint": "demographic_parity", "accuracy": 0.78, "demographic_parity_difference": 0.05}
    worse = {**better, "model_id": "m-b", "demographic_parity_difference": 0.25}
    text = mitigation_verdict([parent, worse, better], "demographic_parity_difference", "sex")
    assert "m-a" in text
    assert "20.0% to 5.0%" in text
    assert "2.00 accuracy points" in text
    assert "no mitigation lowered" in mitigation_verdict([parent, worse], "demographic_parity_difference", "sex")
    unmeasured = {**parent, "demographic_parity_difference": None}
    assert "not measured" in mitigation_verdict([unmeasured, better], "demographic_parity_difference", "sex")


def test_dp_sweep_verdict_flags_models_that_learned_nothing():
    from audits.sweeps import dp_sweep_verdict

    rows = [{"target_epsilon": 1.0, "epsilon": 0.98, "max_auc": 0.51, "accuracy": 0.70, "beats_baseline": False,
             "baseline_accuracy": 0.70},
            {"target_epsilon": None, "epsilon": None, "max_auc": 0.60, "accuracy": 0.76, "beats_baseline": True,
             "baseline_accuracy": 0.70}]
    lines = dp_sweep_verdict(rows)
    assert lines[0] == ("At epsilon 0.98 the attack AUC is 0.510 (without DP 0.600) and accuracy is 70.0% (without "
                        "DP 76.0%).")
    assert lines[1].startswith("Not better than always answering the most frequent class (70.0%): epsilon 0.98.")
