"""Every registered audit runs end to end and round-trips its JSON; values checked independently."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from audits import AUDITS, AuditResult, get_audit, run_audit
from fmcore.data import load_dataset
from fmcore.errors import UnknownNameError

CASES = {  # audit name -> (the trained-model fixture it fits, overrides that keep it small)
    "performance": ("trained_digits", {"n_boot": 200}),
    "robustness": ("trained_digits", {"samples": 40, "eps": [0.1], "steps": 5, "blackbox_check_samples": 20}),
    "fairness": ("trained_german", {"n_boot": 50, "intersectional": True}),
    "privacy": ("trained_digits", {"samples": 60, "attacks": ["threshold", "rulebased"]}),
    "corruption": ("trained_digits", {"samples": 40, "corruptions": ["rotate", "fog"], "severities": [1, 5]}),
    "shift": ("trained_digits", {"samples": 100}),
    "calibration": ("trained_german", {"n_boot": 50}),
    "explain": ("trained_digits", {"samples": 20, "n_boot": 50}),
    "backdoor": ("trained_digits", {"images": 16, "steps": 10}),
    "memorization": ("trained_gpt", {"texts": 30, "n_boot": 20, "exposure_samples": 2000}),
    "probes": ("trained_gpt", {"samples": 2, "max_new_tokens": 8, "n_boot": 20, "needs": "gpt_scorer"}),
    "certified": ("trained_digits", {"samples": 10, "n": 50, "n0": 20, "radii": [0.0, 0.25], "pgd_steps": 5}),
    "compression": ("compressed_german", {"repeats": 2}),
}


@pytest.fixture(scope="module")
def compressed_german(tmp_path_factory):
    """A German-credit MLP and its 50%-pruned variant, in a store of their own: (store, the parent's record)."""
    from fmcore.compress import compress
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    st = Store(tmp_path_factory.mktemp("compressed-german"))
    parent = train_model("german_credit", "mlp", TrainConfig(epochs=2, seed=0), store=st).model_id
    compress(st, parent, "prune:0.5")
    return st, st.get_model(parent)


def test_a_family_audit_runs_on_the_store_alone_and_names_the_family_head(compressed_german):
    """Compression is an audit like the others (its spec, its options, the one path), but of a model's family: given a
    variant, it audits the variant's parent, whose weights and data it loads itself."""
    from audits import run_stored_audit

    st, parent = compressed_german
    variant = st.children(parent.id)[0]
    audit_id, result = run_stored_audit(st, "compression", variant.id, repeats=2, max_flips=1)
    assert result.model_id == parent.id
    assert st.latest_audits(parent.id)["compression"]["id"] == audit_id
    row = result.tables["variants"][0]
    assert row["model_id"] == variant.id
    assert row["method"] == "prune:0.5"
    assert len(result.tables["flips"]) <= 1
    assert result.params["repeats"] == 2
    with pytest.raises(ValueError, match="repeats must be at least 1"):
        run_stored_audit(st, "compression", parent.id, repeats=0)


def test_every_registered_audit_has_a_case():
    assert set(AUDITS) == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_audit_end_to_end_and_json_round_trip(name, request):
    fixture, overrides = CASES[name]
    overrides = dict(overrides)
    if "needs" in overrides:  # another fixture the audit reads from the store (the probes' sentiment classifier)
        request.getfixturevalue(overrides.pop("needs"))
    st, rec = request.getfixturevalue(fixture)
    result = run_audit(name, st.load_classifier(rec.id), load_dataset(rec.dataset), rec.id, store=st, **overrides)
    assert result.audit == name
    assert result.model_id == rec.id
    assert result.metrics
    assert "torch" in result.versions
    again = AuditResult.from_json(result.to_json())
    assert again == result


def test_performance_matches_sklearn_and_interval_covers(trained_digits):
    st, rec = trained_digits
    clf, ds = st.load_classifier(rec.id), load_dataset("digits")
    result = run_audit("performance", clf, ds, rec.id)
    pred = clf.predict(ds["test"].X)
    assert result.metrics["accuracy"] == pytest.approx(accuracy_score(ds["test"].y, pred))
    assert result.metrics["macro_f1"] == pytest.approx(f1_score(ds["test"].y, pred, average="macro"))
    assert result.metrics["accuracy_ci_low"] < result.metrics["accuracy"] < result.metrics["accuracy_ci_high"]
    per_class = {r["class"]: r["accuracy"] for r in result.tables["per_class"]}
    for c in range(10):
        mask = ds["test"].y == c
        assert per_class[str(c)] == pytest.approx(np.mean(pred[mask] == c))
    # same seed, same interval: audits are deterministic
    assert run_audit("performance", clf, ds, rec.id).metrics == result.metrics


def test_unknown_audit_and_option():
    with pytest.raises(UnknownNameError,
                       match="Available: backdoor, calibration, certified, compression, corruption, explain, fairness"):
        get_audit("fairnes")
    with pytest.raises(ValueError, match="no option"):
        run_audit("performance", None, None, n_bootstrap=3)


def test_performance_has_the_majority_baseline_balanced_accuracy_and_recall_intervals(trained_german):
    from sklearn.metrics import balanced_accuracy_score, recall_score

    st, rec = trained_german
    clf, ds = st.load_classifier(rec.id), load_dataset("german_credit")
    result = run_audit("performance", clf, ds, rec.id, n_boot=200)
    pred, y = clf.predict(ds["test"].X), ds["test"].y
    majority = np.bincount(ds["train"].y).argmax()
    assert result.metrics["majority_baseline_accuracy"] == pytest.approx(np.mean(y == majority))
    assert result.metrics["majority_class"] == "good"
    assert result.metrics["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
    recalls = recall_score(y, pred, average=None)
    for row, expected in zip(result.tables["per_class"], recalls, strict=True):
        assert row["recall"] == pytest.approx(expected)
        assert row["recall_ci_low"] <= row["recall"] <= row["recall_ci_high"]
    assert result.metrics["beats_baseline"] == (result.metrics["accuracy_ci_low"]
                                                > result.metrics["majority_baseline_accuracy"])
    stored = st.get_model(rec.id).metrics["majority_baseline"]  # recorded at training time as well
    assert stored["accuracy"] == pytest.approx(result.metrics["majority_baseline_accuracy"])
    if not result.metrics["beats_baseline"]:
        assert "majority-class baseline" in result.warnings[0]


def test_an_audit_registered_twice_is_an_error_naming_both_sources(tmp_path, monkeypatch):
    """A package whose entry point registers a name fmaudit already has: refused, naming the module and the entry
    point (and its package), never silently replacing the built-in audit."""
    import pytest

    from audits import _registry
    from fmcore.errors import ConfigError

    (tmp_path / "twin_audit.py").write_text(
        "from audits import AuditSpec\n"
        "SPEC = AuditSpec(name='performance', title='Another performance', run=lambda *a, **k: None)\n")
    dist = tmp_path / "twin_audit-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: twin-audit\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[fmaudit.audits]\nperformance = twin_audit:SPEC\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    _registry._PLUGINS.clear()
    _registry._loaded.clear()
    try:
        with pytest.raises(ConfigError) as refused:
            _registry.load_audits()
        message = str(refused.value)
        assert "registered twice" in message
        assert "module audits.performance" in message
        assert "entry point performance = twin_audit:SPEC (package twin-audit 0.1)" in message
        assert _registry.AUDITS["performance"].source == "module audits.performance"  # the built-in stays
    finally:
        monkeypatch.undo()
        _registry._PLUGINS.clear()
        _registry._loaded.clear()
    assert "twin" not in _registry.load_audits()["performance"].title.lower()
