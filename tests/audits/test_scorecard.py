"""The Compare scorecard: values, best/worst marks and the radar's absolute axes, as pure functions."""

import pytest

from audits.scorecard import choices, scorecard


def _model(mid, acc, bal, f1, dp_gap=None, auc=None, robust=None, size=1024, params=10):
    audits = {"performance": {"metrics": {"accuracy": acc, "balanced_accuracy": bal, "macro_f1": f1}}}
    if dp_gap is not None:
        audits["fairness"] = {"metrics": {"demographic_parity_difference": dp_gap, "equalized_odds_difference": 0.1}}
    if auc is not None:
        audits["privacy"] = {"metrics": {"max_auc": auc, "tpr_at_1%_fpr[threshold]": 0.02}}
    if robust is not None:
        audits["robustness"] = {"metrics": {f"robust_accuracy@{e:g}": v for e, v in robust.items()}}
    return {"id": mid, "metrics": {"accuracy": 0.5}, "size_bytes": size, "n_params": params, "baseline": 0.7,
            "audits": audits}


def test_values_marks_and_unmeasured_rows():
    a = _model("a", 0.80, 0.75, 0.70, dp_gap=0.10, auc=0.52, robust={0.1: 0.4})
    b = _model("b", 0.85, 0.70, 0.72, dp_gap=0.20, auc=0.60, robust={0.1: 0.3, 0.2: 0.1})
    a["audits"]["performance"]["metrics"] |= {"accuracy_ci_low": 0.7, "accuracy_ci_high": 0.9}
    assert choices([a, b]) == {"robust_accuracy": {"label": "Declared epsilon for robust accuracy",
                                                   "values": [0.1, 0.2], "default": 0.1}}
    card = scorecard([a, b], at={"robust_accuracy": 0.1})
    rows = {r["dimension"]: r for r in card["rows"]}
    assert rows["accuracy"]["values"] == [0.80, 0.85]  # the performance audit's, not the training metric
    assert rows["accuracy"]["marks"] == ["worst", "best"]
    assert rows["demographic parity gap"]["marks"] == ["best", "worst"]  # lower is better
    assert rows["majority-class baseline"]["marks"] == [None, None]  # context, never ranked
    assert rows["robust accuracy @ 0.1"]["values"] == [0.4, 0.3]
    assert rows["accuracy"]["intervals"] == [(0.7, 0.9), None]  # b's audit gave no interval
    assert rows["TPR at 1% FPR (best attack)"]["values"] == [0.02, 0.02]
    assert scorecard([a, b], at={"robust_accuracy": 0.2})["values"]["robust accuracy @ 0.2"] == [None, 0.1]
    assert rows["accuracy"]["proportion"] is True
    assert rows["macro-F1"]["proportion"] is False
    assert "mean corruption error" in card["unmeasured"]
    assert "mean corruption error" not in rows


def test_radar_is_on_absolute_axes_and_leaves_out_what_one_model_lacks():
    a = _model("a", 0.80, 0.75, 0.70, dp_gap=0.10, auc=0.40)
    b = _model("b", 0.81, 0.76, 0.71)  # no fairness, no privacy audit
    radar = scorecard([a, b])["radar"]
    assert radar["axes"] == ["accuracy", "balanced accuracy", "macro-F1"]
    assert radar["series"] == [[0.80, 0.75, 0.70], [0.81, 0.76, 0.71]]  # raw values: a 1-point gap stays small
    assert set(radar["left_out"]) == {"demographic parity gap", "equalized odds gap", "attack AUC (strongest)"}
    both = scorecard([a, _model("c", 0.9, 0.9, 0.9, dp_gap=0.3, auc=0.7)])["radar"]
    gap = both["axes"].index("1 − parity gap")
    assert [s[gap] for s in both["series"]] == pytest.approx([0.9, 0.7])
    privacy = both["axes"].index("privacy: 1 − |2·AUC − 1|")
    assert [s[privacy] for s in both["series"]] == pytest.approx([0.8, 0.6])  # AUC 0.4 leaks as much as 0.6


def test_no_radar_with_fewer_than_three_shared_axes():
    a = {"id": "a", "metrics": {"accuracy": 0.9, "macro_f1": 0.8}, "size_bytes": 1, "n_params": 1, "baseline": None,
         "audits": {}}
    card = scorecard([a, {**a, "id": "b"}])
    assert card["radar"]["axes"] == []
    assert [r["dimension"] for r in card["rows"]][:2] == ["accuracy", "macro-F1"]


def test_language_models_compare_on_perplexity_exposure_and_probe_gaps():
    """A GPT and its DP-SGD child: perplexity, the most repeated canary's exposure (not the largest of any canary),
    extraction and the probes' gaps, lower marked best."""
    def lm(mid, ppl, exposures, gap):
        canaries = [{"repetitions": r, "exposure": e} for r, e in exposures.items()]
        return {"id": mid, "metrics": {"test_perplexity": ppl}, "size_bytes": 10, "n_params": 5, "baseline": None,
                "audits": {"memorization": {"metrics": {"extraction_rate": 0.01, "mia_auc_loss": 0.55},
                                            "tables": {"canaries": canaries}},
                           "probes": {"metrics": {"sentiment_gap": gap, "profanity_gap": 0.01}}}}

    card = scorecard([lm("plain", 66.8, {1: 3.3, 128: 14.3}, 0.05), lm("dp", 232.1, {1: 4.0, 128: 3.9}, 0.02)])
    rows = {r["dimension"]: r for r in card["rows"]}
    assert rows["test perplexity (language models)"]["marks"] == ["best", "worst"]
    assert rows["canary exposure, most repeated (bits)"]["values"] == [14.3, 3.9]
    assert rows["canary exposure, most repeated (bits)"]["marks"] == ["worst", "best"]
    assert rows["sentiment gap between groups (probes)"]["values"] == [0.05, 0.02]
    assert "accuracy" in card["unmeasured"]


def test_a_value_carries_the_note_its_audit_declares():
    """A model whose corruption audit took itself as the reference has a mean corruption error of 1 by definition:
    the row says so beside its value, and only beside its (``CompareRow.note``)."""
    a, b = _model("a", 0.9, 0.9, 0.9), _model("b", 0.8, 0.8, 0.8)
    a["audits"]["corruption"] = {"metrics": {"mean_corruption_error": 1.0, "mean_accuracy": 0.7,
                                             "reference_model_id": "a"}}
    b["audits"]["corruption"] = {"metrics": {"mean_corruption_error": 1.3, "mean_accuracy": 0.6,
                                             "reference_model_id": "a"}}
    rows = {r["dimension"]: r for r in scorecard([a, b])["rows"]}
    assert rows["mean corruption error"]["notes"] == ["its own reference", None]
    assert rows["accuracy under corruption"]["notes"] == [None, None]
    del b["audits"]["corruption"]
    assert {r["dimension"]: r for r in scorecard([a, b])["rows"]}["mean corruption error"]["notes"] == [
        "its own reference", None]  # no note where nothing was measured
