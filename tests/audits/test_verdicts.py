"""Verdicts a reviewer can act on (issue 36): numbers right at the edges as the references define them, settings that
change a verdict kept with it, and headlines that say the decision first."""

import math

import numpy as np
import pandas as pd
import pytest

from audits.evidence import evaluate_policy, parse_policy
from audits.fairness import disparities, encode_groups, group_metrics
from audits.groups import MISSING, group_codes, group_values
from audits.stats import auc_interval
from fmcore.intervals import wilson


# -- edges, as the references define them ----------------------------------------------------------------------
def test_wilson_uses_the_exact_normal_quantile_as_statsmodels():
    from statsmodels.stats.proportion import proportion_confint

    for k, n in ((0, 10), (1, 10), (7, 10), (10, 10), (312, 1000), (5, 7)):
        low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
        assert wilson(k, n) == pytest.approx((low, high), abs=1e-12)
    assert all(math.isnan(v) for v in wilson(0, 0))  # no trials: undefined, not a number


def test_delong_is_undefined_where_pROC_says_so():
    from sklearn.metrics import roc_auc_score

    scores = np.array([0.9, 0.2, 0.4, 0.3, 0.1])
    one_positive = np.array([1, 0, 0, 0, 0], dtype=bool)
    auc, low, high = auc_interval(scores, one_positive)
    assert auc == pytest.approx(roc_auc_score(one_positive, scores))
    assert math.isnan(low)
    assert math.isnan(high)  # one positive: DeLong's variance does not exist
    assert all(math.isnan(v) for v in auc_interval(np.array([0.9, np.nan, 0.4, 0.3]),
                                                   np.array([1, 1, 0, 0], dtype=bool)))
    auc, low, high = auc_interval(np.array([0.9, 0.8, 0.4, 0.3, 0.6]), np.array([1, 1, 0, 0, 0], dtype=bool))
    assert low <= auc <= high


def test_equalized_odds_never_decided_by_the_position_of_an_undefined_rate():
    """All-negative labels: the TPR is undefined in every group, so the odds gap is the FPR gap (as for all-positive
    labels, where the FPR is undefined and the TPR gap counts); before, one came out NaN and the other a number."""
    codes = np.array([0, 0, 0, 1, 1, 1])
    pred = np.array([1, 0, 0, 1, 1, 0])
    for labels, expected in ((np.zeros(6, dtype=int), abs(1 / 3 - 2 / 3)), (np.ones(6, dtype=int), abs(1 / 3 - 2 / 3))):
        d = disparities(group_metrics(labels, pred, codes, 2))
        assert d["equalized_odds_difference"] == pytest.approx(expected)
        assert not math.isnan(d["equalized_odds_ratio"])


def test_sensitive_values_are_grouped_by_value_and_a_real_missing_label_stays_apart():
    values = pd.Series([1, 1.0, "1", np.int64(1), None, np.nan, MISSING, "b", 2.5], dtype=object)
    labels = group_values(values)
    assert list(labels[:4]) == ["1"] * 4
    assert list(labels[4:6]) == [MISSING, MISSING]
    assert labels[6] != MISSING  # a person whose value is literally "(missing)" is not a missing value
    codes, names = group_codes(values)
    assert len(names) == 5
    assert (codes[:4] == codes[0]).all()
    codes2, groups = encode_groups({"a": np.array([1, 1.0, 2], dtype=object), "b": np.array(["x", "x", "x"])})
    assert groups == [("1", "x"), ("2", "x")]
    assert codes2.tolist() == [0, 0, 1]


def test_conformal_threshold_is_the_textbook_finite_sample_quantile():
    from audits.ood import conformal_threshold

    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(3), size=99)
    y = rng.integers(0, 3, 99)
    scores = np.sort(1 - proba[np.arange(99), y])
    k = math.ceil((99 + 1) * (1 - 0.1))  # 90: the 90th smallest of 99 scores, by hand
    assert conformal_threshold(proba, y, 0.1) == scores[k - 1]


# -- settings that change a verdict ----------------------------------------------------------------------------
def _model(mid, min_group_size, gap):
    return {"id": mid, "metrics": {}, "size_bytes": 1, "n_params": 1, "baseline": None,
            "audits": {"fairness": {"metrics": {"demographic_parity_difference": gap},
                                    "params": {"min_group_size": min_group_size, "seed": 0, "split": "test"}}}}


def test_compare_refuses_to_rank_results_measured_under_different_settings():
    from audits.scorecard import scorecard

    card = scorecard([_model("a", 30, 0.15), _model("b", 100, 0.04)])
    row = next(r for r in card["rows"] if r["dimension"] == "demographic parity gap")
    assert row["marks"] == [None, None]
    assert row["unranked"] == "not ranked: the fairness audits differ in min group size 30 / 100"
    assert "1 − parity gap" in card["radar"]["left_out"] or not card["radar"]["axes"]
    same = scorecard([_model("a", 30, 0.15), _model("b", 30, 0.04)])
    row = next(r for r in same["rows"] if r["dimension"] == "demographic parity gap")
    assert row["marks"] == ["worst", "best"]
    assert row["unranked"] is None


@pytest.fixture
def fairness_at_40(store):
    from audits import run_stored_audit
    from fmcore.train import TrainConfig, train_model

    model_id = train_model("german_credit", "logreg", TrainConfig(epochs=3), store=store).model_id
    run_stored_audit(store, "fairness", model_id, n_boot=0, min_group_size=40)
    return store, model_id


def test_a_policy_that_pins_a_setting_refuses_a_result_measured_otherwise(fairness_at_40, tmp_path):
    from audits.evidence import build_report
    from audits.evidence._html import render_html, render_markdown

    store, model_id = fairness_at_40
    policy = parse_policy("""
name: pinned
checks:
  - {id: dp, metric: fairness.demographic_parity_difference, op: "<=", threshold: 1, requirement: "Art. 10",
     settings: {min_group_size: 30}}
  - {id: dp_any, metric: fairness.demographic_parity_difference, op: "<=", threshold: 1, requirement: "Art. 10"}
""")
    rows = {r["id"]: r for r in evaluate_policy(policy, store, model_id)["checks"]}
    assert rows["dp"]["status"] == "not_measured"
    assert rows["dp"]["evidence"]["reason"] == "measured with min_group_size 40; this policy pins min_group_size 30"
    assert rows["dp_any"]["status"] == "pass"
    report = build_report(store, model_id, policy)
    fair = next(a for a in report["audits"] if a["name"] == "fairness")
    assert fair["settings"]["min_group_size"] == 40
    assert "Measured with: sensitive sex/age, intersectional False, split test, n boot 0, seed 0, min group size 40" \
        in render_html(report)
    assert "measured with: sensitive sex/age" in render_markdown(report)


def test_the_heatmap_greys_out_groups_too_small_to_measure_on_a_full_scale():
    from audits.figures import intersection_heatmap

    rows = [{"grouping": "sex x age", "group": "F & young", "selection_rate": 0.9, "count": 3, "too_small": True},
            {"grouping": "sex x age", "group": "F & old", "selection_rate": 0.4, "count": 80, "too_small": False},
            {"grouping": "sex x age", "group": "M & young", "selection_rate": 0.5, "count": 60, "too_small": False},
            {"grouping": "sex x age", "group": "M & old", "selection_rate": 0.6, "count": 90, "too_small": False}]
    colour, grey = intersection_heatmap(rows, "sex x age").data  # the grey cells drawn over the coloured ones
    assert (colour.zmin, colour.zmax) == (0, 1)
    assert colour.colorbar.title.text == "selection rate"
    i, j = list(colour.y).index("F"), list(colour.x).index("young")
    assert math.isnan(colour.z[i][j])
    assert grey.z[i][j] == 1.0
    assert colour.text[i][j] == "not measured<br>n=3"
    # written again on the grey itself, in the ink plotly picks for grey (the coloured trace would write it in the
    # theme's: white on light grey in a dark theme); no other cell of the grey trace says anything
    assert grey.text[i][j] == "not measured<br>n=3"
    assert grey.texttemplate == "%{text}"
    assert [t for row in grey.text for t in row if t] == ["not measured<br>n=3"]
    assert grey.hoverinfo == "skip"


# -- headlines that say the decision first ---------------------------------------------------------------------
def test_a_fully_memorised_canary_is_said_so_first():
    from audits.memorization import _headline

    capped = {"repetitions": 128, "rank": 1, "space": 10**9, "method": "sampled (20000 secrets)", "capped": True,
              "exposure": 14.3, "exposure_extrapolated": 29.9, "samples": 20000}
    text = _headline({"most_exposed_canary": capped, "extraction_rate": 0.1, "mia_auc_loss": 0.7})
    assert text.startswith("fully memorised: the 128x canary is more likely than every one of 20,000 sampled")
    exact = {**capped, "space": 1000, "method": "exact", "capped": False}
    assert _headline({"most_exposed_canary": exact}).startswith(
        "fully memorised: the 128x canary is the most likely of all 1,000 candidate secrets")
    partial = {**exact, "rank": 40, "exposure": 4.6}
    assert _headline({"most_exposed_canary": partial}).startswith("the 128x canary: exposure 4.6 of 10.0 bits")


def test_every_audit_kind_gives_a_one_line_finding():
    from audits.reporting import headline

    assert headline("backdoor", {"verdict": "No backdoor suspected. The anomaly index is 1.2."}) != ""
    assert headline("certified", {"certified_accuracy@0.25": 0.8, "sigma": 0.25}).startswith(
        "certified accuracy 80.0% within L2 radius 0.25")
    assert headline("certified", {"certified_accuracy@0.5": 0.6, "certified_accuracy@0": 0.9, "sigma": 0.5}) \
        .startswith("certified accuracy 60.0% within L2 radius 0.5")


def test_default_radii_stay_within_what_the_noisy_copies_can_certify():
    from audits.robustness._certified import default_radii, max_certifiable_radius

    top = max_certifiable_radius(0.25, 1000, 0.001)
    radii = default_radii(0.25, 1000, 0.001)
    assert radii[:3] == [0.0, 0.25, 0.5]
    assert max(radii) <= top
    assert max(radii) > top - 0.001
    assert 0.75 not in radii


def test_a_report_carries_no_path_of_the_machine_that_wrote_it(fairness_at_40, tmp_path):
    from audits.evidence import build_report
    from audits.evidence._html import render_html

    store, model_id = fairness_at_40
    report = build_report(store, model_id)
    import json

    text = json.dumps(report) + render_html(report)
    assert str(store.root) not in text
    assert str(tmp_path) not in text
    assert report["model"]["path"] == f"artifacts/models/{model_id}"  # relative to the store


def test_metric_keys_read_in_plain_words():
    from audits.glossary import describe

    assert describe("robust_accuracy@0.1")[0] == "accuracy under attack at eps 0.1"
    assert describe("demographic_parity_difference[sex]")[:1] == ("parity gap (sex)",)
    assert describe("demographic_parity_difference")[2] is True  # a rate: shown as a percentage
    assert describe("max_auc")[2] is False
    assert describe("certified_accuracy@0.25")[0] == "certified accuracy within L2 radius 0.25"
    assert describe("some_new_key") == ("some new key", "", False)


def test_a_metric_reads_in_one_kind_on_every_page():
    """The glossary's "rate" (a percentage on Report, Review and every table) agrees with each audit's Compare row
    (a percentage on Compare): the ECE was 3.4% on Report and 0.034 on Compare and Out-of-domain."""
    from audits._registry import load_audits
    from audits._spec import compare_rows
    from audits.glossary import GLOSSARY

    rows = [(name, r) for name, spec in load_audits().items() for r in compare_rows(spec) if isinstance(r.key, str)]
    known = [(name, r) for name, r in rows if r.key.partition("@")[0] in GLOSSARY]
    assert len(known) >= 15, len(known)  # the check reads most of them
    assert not [(name, r.key) for name, r in known if GLOSSARY[r.key.partition("@")[0]][2] != r.proportion]
