"""Out-of-domain audits: corruptions checked against an independent implementation, calibration and conformal
numbers against our own computation, shift statistics against scipy and scikit-learn, temperature scaling."""

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage
from scipy.stats import ks_2samp
from sklearn.metrics import roc_auc_score

from audits import run_audit, run_stored_audit
from audits.ood import CORRUPTIONS, calibrate, corrupt, psi
from fmcore.data import load_dataset
from fmcore.errors import ConfigError
from fmcore.train import TrainConfig, train_model
from tests.conftest import write_csv

C = 13.5  # the centre of a 28x28 image in pixel indices


def _affine_rows_cols(img, matrix):
    """Independent geometric corruption: scipy's affine_transform, (row, col) order, about the centre."""
    m = np.asarray(matrix, dtype=np.float64)
    return ndimage.affine_transform(img, m, offset=np.array([C, C]) - m @ np.array([C, C]), order=1, mode="constant")


def independent(name: str, x: np.ndarray, value) -> np.ndarray:
    """Our own corruptions, written from the documented definitions (scipy / numpy, other random numbers)."""
    rng = np.random.RandomState(123)
    out = np.empty_like(x)
    for i, img in enumerate(x[:, 0].astype(np.float64)):
        sign = 1 if i % 2 == 0 else -1
        if name == "rotate":
            a = np.radians(value) * sign
            r = _affine_rows_cols(img, [[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
        elif name == "shear":
            r = _affine_rows_cols(img, [[1, 0], [value * sign, 1]])
        elif name == "scale":
            r = _affine_rows_cols(img, [[1 / value, 0], [0, 1 / value]])
        elif name == "translate":
            r = ndimage.shift(img, [(0, value), (0, -value), (value, 0), (-value, 0)][i % 4], order=1, mode="constant")
        elif name == "gaussian_blur":
            r = ndimage.gaussian_filter(img, value, mode="constant", truncate=3.0)
        elif name == "motion_blur":
            r = ndimage.uniform_filter1d(img, int(value), axis=1, mode="constant")
        elif name == "contrast":
            r = np.clip((img - img.mean()) * value + img.mean(), 0, 1)
        elif name == "brightness":
            r = np.clip(img + value, 0, 1)
        elif name == "gaussian_noise":
            r = np.clip(img + rng.normal(0, value, img.shape), 0, 1)
        elif name == "impulse_noise":
            hit = rng.uniform(size=img.shape) < value
            r = np.where(hit, (rng.uniform(size=img.shape) < 0.5).astype(float), img)
        out[i, 0] = r
    return out.astype(np.float32)


CHECKED = ["rotate", "shear", "scale", "translate", "gaussian_blur", "motion_blur", "contrast", "brightness",
           "gaussian_noise", "impulse_noise"]


def test_corruptions_match_an_independent_implementation_within_two_points(trained_digits):
    st, rec = trained_digits
    clf, ds = st.load_classifier(rec.id), load_dataset("digits")
    split = ds["train"]  # 1,078 images: the comparison is between two implementations, not about generalising
    result = run_audit("corruption", clf, ds, rec.id, split="train", samples=None, corruptions=CHECKED,
                       severities=[3, 5], reference="none")
    rows = {(r["corruption"], r["severity"]): r["accuracy"] for r in result.tables["corruptions"]}
    for name in CHECKED:
        spec = CORRUPTIONS["image"][name]
        for severity in (3, 5):
            ours = independent(name, split.X, spec.value(severity))
            acc = float((clf.predict(ours) == split.y).mean())
            assert abs(acc - rows[(name, severity)]) <= 0.02, (name, severity, acc, rows[(name, severity)])
            if name not in ("gaussian_noise", "impulse_noise"):  # deterministic: the images themselves agree
                mine = corrupt(spec, split.X, severity, 0)
                assert np.abs(mine - ours).mean() < 0.01, name


def test_mean_corruption_error_is_the_ratio_of_summed_errors(tmp_path):
    from fmcore.store import Store

    st = Store(tmp_path / "h")
    base = train_model("digits", "seed_cnn", TrainConfig(epochs=1, max_train_samples=400), store=st).model_id
    other = train_model("digits", "seed_cnn", TrainConfig(epochs=2, augment="rotate"), store=st).model_id
    _, r = run_stored_audit(st, "corruption", other, samples=150, corruptions=["rotate", "fog", "impulse_noise"],
                            severities=[2, 4])
    assert r.metrics["reference_model_id"] == base  # the default: the oldest plain seed CNN on these data
    ces = []
    for c in ("rotate", "fog", "impulse_noise"):
        part = [x for x in r.tables["corruptions"] if x["corruption"] == c]
        ces.append(sum(x["error"] for x in part) / sum(x["reference_error"] for x in part))
        assert all(x["ci_low"] <= x["accuracy"] <= x["ci_high"] for x in part)
    assert r.metrics["mean_corruption_error"] == pytest.approx(np.mean(ces))
    _, own = run_stored_audit(st, "corruption", base, samples=100, corruptions=["rotate"], severities=[1])
    assert own.metrics["mean_corruption_error"] == pytest.approx(1.0)
    assert any("its own reference" in w for w in own.warnings)
    with pytest.raises(ConfigError, match="Unknown image corruption"):
        run_stored_audit(st, "corruption", base, corruptions=["rain"])
    with pytest.raises(ConfigError, match="Severity 6"):
        run_stored_audit(st, "corruption", base, severities=[6])


def test_table_and_text_corruptions_stay_valid():
    ds = load_dataset("german_credit")
    from audits.ood._corruptions import table_stats

    frame = ds["test"].X
    stats = table_stats(ds["train"].X, list(frame.columns))
    noisy = corrupt(CORRUPTIONS["tabular"]["noise"], frame, 5, 0, stats)
    for col, (_, lo, hi, integer) in stats.items():
        v = noisy[col].to_numpy(dtype=float)
        assert v.min() >= lo
        assert v.max() <= hi
        if integer:
            assert np.all(v == np.round(v))
    assert not noisy[list(stats)].equals(frame[list(stats)])
    categorical = [c for c in frame.columns if c not in stats]
    assert noisy[categorical].equals(frame[categorical])  # only numeric features change
    missing = corrupt(CORRUPTIONS["tabular"]["missing"], frame, 3, 0, stats)
    assert 0.1 < missing[list(stats)].isna().to_numpy().mean() < 0.3
    texts = np.array(["The service was great, thank you!", "worst day ever... so sad"], dtype=object)
    for name in ("typos", "case", "punctuation"):
        a = corrupt(CORRUPTIONS["text"][name], texts, 5, 0)
        assert list(a) != list(texts)
        assert list(a) == list(corrupt(CORRUPTIONS["text"][name], texts, 5, 0))


def _ece_loop(proba, y, bins=15):
    conf, pred = proba.max(1), proba.argmax(1)
    total = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        m = (conf > lo) & (conf <= hi) if b else (conf >= 0) & (conf <= hi)
        if m.any():
            total += m.sum() * abs((pred[m] == y[m]).mean() - conf[m].mean())
    return total / len(y)


def test_calibration_numbers_equal_our_own_computation(trained_digits):
    st, rec = trained_digits
    clf, ds = st.load_classifier(rec.id), load_dataset("digits")
    r = run_audit("calibration", clf, ds, rec.id, n_boot=100)
    proba, y = clf.predict_proba(ds["test"].X), ds["test"].y
    assert r.metrics["ece"] == pytest.approx(_ece_loop(proba.astype(np.float64), y), abs=1e-7)
    assert r.metrics["ece_ci_low"] <= r.metrics["ece"] <= r.metrics["ece_ci_high"]
    assert sum(b["count"] for b in r.tables["reliability"]) == len(y)
    # split conformal by hand: quantile of 1 - p_true on the validation split
    cal = clf.predict_proba(ds["val"].X)
    scores = np.sort(1 - cal[np.arange(len(cal)), ds["val"].y])
    q = scores[int(np.ceil((len(scores) + 1) * 0.9)) - 1]
    covered = (1 - proba[np.arange(len(y)), y]) <= q
    assert r.metrics["coverage"] == pytest.approx(covered.mean())
    # coverage holds up to a small-sample margin (the 95% interval reaches the nominal 90%)
    assert r.metrics["coverage"] >= 0.9 - 2 * np.sqrt(0.09 / len(y)) - 1 / len(cal)
    assert r.metrics["coverage_ci_high"] >= 0.9


def test_temperature_scaling_child_lowers_ece_on_held_out_data(trained_digits, tmp_path):
    st, rec = trained_digits
    child = calibrate(st, rec.id)
    assert child.after["ece"] < child.before["ece"]
    assert child.after["accuracy"] == child.before["accuracy"]  # only confidence changes
    record = st.get_model(child.model_id)
    assert record.parent_id == rec.id
    assert record.derivation["temperature"] == pytest.approx(child.temperature)
    parent, scaled = st.load_classifier(rec.id), st.load_classifier(child.model_id)
    x = load_dataset("digits")["test"].X[:50]
    np.testing.assert_allclose(scaled.logits(scaled.encode(x)).numpy(),
                               parent.logits(parent.encode(x)).numpy() / child.temperature, rtol=1e-4, atol=1e-5)
    audit = run_audit("calibration", scaled, load_dataset("digits"), child.model_id, n_boot=50)
    assert audit.metrics["ece"] == pytest.approx(child.after["ece"])


def test_missing_sensitive_values_are_their_own_group(tmp_path, store):
    rng = np.random.default_rng(0)
    rows = [{"x": float(rng.normal()), "z": float(rng.normal()), "lang": [None, "en", "fr", "de"][i % 4],
             "y": "a" if rng.random() < 0.5 else "b"} for i in range(800)]
    store.add_dataset(write_csv(tmp_path / "m.csv", rows), "y", ["lang"], name="langs")
    model = train_model("langs", "logreg", TrainConfig(epochs=2), store=store).model_id
    _, r = run_stored_audit(store, "calibration", model, n_boot=20)
    groups = {g["group"]: g["n"] for g in r.tables["groups"]}
    test = load_dataset("langs", store=store)["test"]
    expected = test.groups["lang"].astype(object).where(test.groups["lang"].notna(), "(missing)").astype(str)
    assert groups == expected.value_counts().to_dict()
    assert sum(groups.values()) == len(test)
    assert any("(missing)" in w for w in r.warnings)


def test_shift_digits_to_mnist_against_independent_statistics(trained_digits):
    st, rec = trained_digits
    _, r = run_stored_audit(st, "shift", rec.id, samples=300)
    assert r.metrics["to"] == "mnist"
    mnist = load_dataset("mnist")["test"]
    idx = np.sort(np.random.default_rng(0).choice(len(mnist), 300, replace=False))
    clf = st.load_classifier(rec.id)
    proba_b = clf.predict_proba(mnist.X[idx])
    assert r.metrics["shift_accuracy"] == pytest.approx((proba_b.argmax(1) == mnist.y[idx]).mean())
    digits = load_dataset("digits")["test"]
    proba_a = clf.predict_proba(digits.X[np.sort(np.random.default_rng(0).choice(len(digits), 300, replace=False))])
    labels = np.r_[np.ones(len(proba_a)), np.zeros(300)]
    assert r.metrics["ood_auroc_msp"] == pytest.approx(roc_auc_score(labels, np.r_[proba_a.max(1), proba_b.max(1)]))
    conf = next(o for o in r.tables["outputs"] if o["feature"].startswith("confidence"))
    assert conf["statistic"] == pytest.approx(ks_2samp(proba_a.max(1), proba_b.max(1)).statistic)
    assert r.metrics["accuracy_drop_ci_low"] < r.metrics["accuracy_drop"] < r.metrics["accuracy_drop_ci_high"]
    assert r.metrics["accuracy_drop"] > 0.1
    assert "mnist" in r.metrics["verdict"]
    with pytest.raises(ConfigError, match="holds tabular data"):
        run_stored_audit(st, "shift", rec.id, to="german_credit")


def test_psi_and_census_year_shift(tmp_path):
    a = np.random.default_rng(0).normal(size=5000)
    assert psi(a, a, np.r_[-np.inf, np.quantile(a, np.linspace(0.1, 0.9, 9)), np.inf]) == pytest.approx(0, abs=1e-9)
    b = a + 1.0
    edges = np.r_[-np.inf, np.quantile(a, np.linspace(0.1, 0.9, 9)), np.inf]
    pa, pb = np.histogram(a, edges)[0] / 5000, np.histogram(b, edges)[0] / 5000
    assert psi(a, b, edges) == pytest.approx(np.sum((pb - pa) * np.log(np.clip(pb, 1e-4, None) / pa)))
    from fmcore.store import Store

    st = Store(tmp_path / "h")
    m = train_model("census_income_94", "logreg", TrainConfig(epochs=1, max_train_samples=5000), store=st).model_id
    _, r = run_stored_audit(st, "shift", m, samples=3000, min_group_size=50)
    assert r.metrics["to"] == "census_income_95"
    assert r.metrics["features_tested"] == len(st.load_classifier(m).meta["input"]["columns"])
    assert {"in-domain", "shifted"} == {row["domain"] for row in r.tables["fairness"]}
    assert r.metrics["dp_gap_in_domain"] is not None
    with pytest.raises(ConfigError, match="classes .* that the model does not know"):
        run_stored_audit(st, "shift", m, to="german_credit")
    frame = pd.DataFrame(r.tables["features"])
    assert frame["drifted"].dtype == bool


def test_augmentation_sweep_trains_siblings_at_the_same_seed_and_audits_each(tmp_path):
    from audits.sweeps import augment_sweep
    from fmcore.store import Store

    st = Store(tmp_path / "h")
    out = augment_sweep(st, "digits", "seed_cnn", ["rotate,translate"], epochs=1, max_train_samples=300, samples=60)
    base, aug = out["rows"]
    assert base["augment"] == "none"
    assert out["baseline"] == base["model_id"]
    assert base["mean_corruption_error"] == pytest.approx(1.0)  # the baseline is the reference
    assert aug["mean_corruption_error"] is not None
    assert aug["shift_accuracy"] is not None
    assert aug["robust_accuracy@0.1"] is not None
    rec = st.get_model(aug["model_id"])
    assert rec.config["train"]["seed"] == st.get_model(base["model_id"]).config["train"]["seed"]
    assert rec.derivation["augment"][0]["name"] == "rotate"
    assert {a["name"] for a in st.list_audits(aug["model_id"])} == {"calibration", "corruption", "shift", "robustness"}
    with pytest.raises(ConfigError, match="for image data use"):
        augment_sweep(st, "digits", "seed_cnn", ["mixup"])
