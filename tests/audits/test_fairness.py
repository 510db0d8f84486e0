"""Fairness: every group value equals fairlearn's MetricFrame to 1e-9; disparities equal fairlearn's
functions; calibration error equals a plain per-group loop; clear messages for bad requests."""

import numpy as np
import pytest
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score, precision_score

from audits import run_audit
from audits.fairness import calibration_error, disparities, encode_groups, group_metrics
from fmcore.data import load_dataset
from fmcore.errors import FmauditError

FAIRLEARN = {"count": count, "selection_rate": selection_rate, "accuracy": accuracy_score,
             "tpr": true_positive_rate, "fpr": false_positive_rate, "fnr": false_negative_rate,
             "precision": lambda y, p: precision_score(y, p, zero_division=np.nan)}


def _predictions(name, seed=0):
    """Labels from the dataset; predictions from a seeded noisy rule (the values, not the model, are tested)."""
    test = load_dataset(name)["test"]
    rng = np.random.default_rng(seed)
    y = test.y
    p = np.where(rng.random(len(y)) < 0.8, y, 1 - y)
    return y, p, test.groups


@pytest.mark.parametrize("name", ["census_income", "german_credit", "arrests"])
def test_group_metrics_equal_metricframe(name):
    y, p, groups = _predictions(name)
    cols = list(groups.columns)
    for grouping in [[c] for c in cols] + [cols[:2]]:
        codes, labels = encode_groups({c: groups[c].to_numpy() for c in grouping})
        mine = group_metrics(y, p, codes, len(labels))
        mf = MetricFrame(metrics=FAIRLEARN, y_true=y, y_pred=p, sensitive_features=groups[grouping])
        by = mf.by_group
        for i, label in enumerate(labels):
            key = label if len(label) > 1 else label[0]
            for metric in FAIRLEARN:
                expected = float(by.loc[key, metric])
                got = float(mine[metric][i])
                if np.isnan(got):  # no positives / negatives / predicted positives in this group
                    assert np.isnan(expected) or expected == 0.0, (name, grouping, label, metric)
                else:
                    assert got == pytest.approx(expected, abs=1e-9), (name, grouping, label, metric, got, expected)
        d = disparities(mine)
        sf = groups[grouping]
        assert d["demographic_parity_difference"] == pytest.approx(
            demographic_parity_difference(y, p, sensitive_features=sf), abs=1e-9)
        assert d["demographic_parity_ratio"] == pytest.approx(
            demographic_parity_ratio(y, p, sensitive_features=sf), abs=1e-9)
        assert d["equalized_odds_difference"] == pytest.approx(
            equalized_odds_difference(y, p, sensitive_features=sf), abs=1e-9)
        assert d["equalized_odds_ratio"] == pytest.approx(
            equalized_odds_ratio(y, p, sensitive_features=sf), abs=1e-9)


def test_calibration_error_equals_a_plain_loop():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 3000)
    s = np.clip(y * 0.6 + rng.random(3000) * 0.5, 0, 1)
    g = rng.integers(0, 3, 3000)
    mine = calibration_error(y, s, g, 3)
    for k in range(3):
        yk, sk = y[g == k], s[g == k]
        bins = np.clip(np.ceil(sk * 10).astype(int) - 1, 0, 9)  # (i/10, (i+1)/10], as the calibration audit
        expected = sum(abs(sk[bins == b].sum() - yk[bins == b].sum()) for b in range(10)) / len(yk)
        assert mine[k] == pytest.approx(expected, abs=1e-12)


def test_one_calibration_error_with_one_rule_for_bin_edges():
    """The fairness audit's per-group error and the calibration audit's ECE are one function: where the top label is
    the positive class they agree exactly, scores on a bin's edge included (0.6 * 15 = 9: the bin (8/15, 9/15])."""
    from audits.ood import expected_calibration_error

    rng = np.random.default_rng(3)
    s = np.concatenate([rng.uniform(0.51, 1.0, 400), [0.6, 0.6, 0.8, 1.0, 0.8]])
    y = (rng.random(len(s)) < s).astype(int)
    proba = np.stack([1 - s, s], axis=1)
    fair = calibration_error(y, s, np.zeros(len(s), dtype=int), 1, bins=15)[0]
    assert fair == pytest.approx(expected_calibration_error(proba, y, 15), abs=1e-12)
    assert np.isnan(calibration_error(y, s, np.zeros(len(s), dtype=int), 2)[1])  # an empty group: undefined


def test_audit_on_a_trained_model(trained_german):
    st, rec = trained_german
    clf, ds = st.load_classifier(rec.id), load_dataset("german_credit")
    result = run_audit("fairness", clf, ds, rec.id, intersectional=True, n_boot=100)
    groupings = {r["grouping"] for r in result.tables["groups"]}
    assert groupings == {"sex", "age", "sex x age"}
    pred = clf.predict(ds["test"].X)
    sex = ds["test"].groups["sex"]
    assert result.metrics["demographic_parity_difference[sex]"] == pytest.approx(
        demographic_parity_difference(ds["test"].y, pred, sensitive_features=sex), abs=1e-9)
    assert result.metrics["demographic_parity_difference"] >= result.metrics["demographic_parity_difference[sex]"]
    for row in result.tables["groups"]:
        if row["count"] >= 30:
            assert row["selection_rate_ci_low"] <= row["selection_rate"] <= row["selection_rate_ci_high"]
    # groups below the minimum size are flagged, never silently dropped
    small = [r for r in result.tables["groups"] if r["too_small"]]
    assert small
    assert all(any(r["group"] in w for w in result.warnings) for r in small)


def test_multiclass_is_one_vs_rest(store, three_classes):
    result = run_audit("fairness", store.load_classifier(three_classes), load_dataset("three", store=store),
                       three_classes, n_boot=20)
    assert {d["positive_class"] for d in result.tables["disparities"]} == {"hi", "lo", "mid"}
    assert result.metrics["positive_class"] == "one-vs-rest"


def test_clear_messages(trained_german, trained_digits):
    st, rec = trained_german
    clf, ds = st.load_classifier(rec.id), load_dataset("german_credit")
    with pytest.raises(FmauditError, match=r"\['race'\] are not in 'german_credit'; available: \['sex', 'age'\]"):
        run_audit("fairness", clf, ds, rec.id, sensitive=["race"])
    with pytest.raises(FmauditError, match="positive_class 'maybe' is not a class"):
        run_audit("fairness", clf, ds, rec.id, positive_class="maybe")
    st2, rec2 = trained_digits
    with pytest.raises(FmauditError, match="has no sensitive attributes"):
        run_audit("fairness", st2.load_classifier(rec2.id), load_dataset("digits"), rec2.id)


@pytest.mark.parametrize("kind", ["string", "categorical", "numeric"])
def test_missing_sensitive_values_are_a_group_equal_to_pandas(tmp_path, store, kind):
    """Missing values in a sensitive column form the group "(missing)": counts and rates equal pandas, sum to n."""
    import pandas as pd

    from audits import run_stored_audit
    from fmcore.train import TrainConfig, train_model
    from tests.conftest import write_csv

    rng = np.random.default_rng(1)
    langs = {"string": ["en", "fr", "de", None], "categorical": ["en", "fr", "de", None], "numeric": [1, 2, 3, None]}
    rows = []
    for i in range(1200):
        lang = langs[kind][i % 4] if i % 9 else None
        x = float(rng.normal())
        rows.append({"x": x, "z": float(rng.normal()), "lang": lang, "y": "yes" if x + rng.normal() > 0 else "no"})
    path = write_csv(tmp_path / "d.csv", rows)
    record = store.add_dataset(path, "y", ["lang"], name="d", min_group_size=5)
    assert any("'lang'" in n and "(missing)" in n for n in record["notes"])  # said at upload
    model = train_model("d", "logreg", TrainConfig(epochs=2), store=store).model_id
    _, result = run_stored_audit(store, "fairness", model, n_boot=20)
    test = load_dataset("d", store=store)["test"]
    pred = store.load_classifier(model).predict(test.X)
    lang = test.groups["lang"]
    if kind == "categorical":
        lang = lang.astype("category")
    # grouped by value: the numbers 1.0 and 1 are the group "1" (as "1" typed as text would be)
    named = lang.astype(object).where(lang.notna(), "(missing)").map(
        lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
    frame = pd.DataFrame({"lang": named,
                          "sel": pred == 1, "y": test.y})
    expected = frame.groupby("lang").agg(count=("sel", "size"), selection_rate=("sel", "mean"))
    got = {r["group"]: r for r in result.tables["groups"]}
    assert set(got) == set(expected.index)
    assert "(missing)" in got
    assert sum(r["count"] for r in got.values()) == len(test.y)
    for group, row in expected.iterrows():
        assert got[group]["count"] == row["count"]
        assert got[group]["selection_rate"] == pytest.approx(row["selection_rate"], abs=1e-12)
    assert any("(missing)" in w for w in result.warnings)


def test_headline_gap_ignores_groups_below_the_minimum_and_says_n(trained_german):
    from audits import run_audit

    st, rec = trained_german
    clf, ds = st.load_classifier(rec.id), load_dataset("german_credit")
    result = run_audit("fairness", clf, ds, rec.id, sensitive=["age"], n_boot=20, min_group_size=30)
    rows = [r for r in result.tables["groups"] if r["grouping"] == "age"]
    small = [r for r in rows if r["count"] < 30]
    big = [r for r in rows if r["count"] >= 30]
    assert small  # 65+ has a handful of people in the test split: shown, flagged
    assert all(r["too_small"] for r in small)
    rates = [r["selection_rate"] for r in big]
    assert result.metrics["demographic_parity_difference"] == pytest.approx(max(rates) - min(rates))
    disp = result.tables["disparities"][0]
    assert disp["groups_compared"] == len(big)
    assert any("65+" in g for g in disp["left_out"])
    assert "(n=" in result.metrics["verdict"]
    assert "Left out as too small" in result.metrics["verdict"]
    none = run_audit("fairness", clf, ds, rec.id, sensitive=["age"], n_boot=0, min_group_size=500)
    assert none.metrics["demographic_parity_difference"] is None
    assert none.metrics["four_fifths_rule_violated"] is None
    assert "No gap is measured" in none.metrics["verdict"]
