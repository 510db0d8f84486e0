"""The explanation audit: checked attributions (sanity, faithfulness, stability) and proxies for sensitive data."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from audits import run_stored_audit
from fmcore.store import Store
from fmcore.train import TrainConfig, train_model
from tests.conftest import write_csv


@pytest.fixture(scope="module")
def digits_store(tmp_path_factory):
    st = Store(tmp_path_factory.mktemp("explain"))
    return st, train_model("digits", "seed_cnn", TrainConfig(epochs=3), store=st).model_id


def test_integrated_gradients_on_the_digit_cnn_fail_the_magnitude_sanity_check(digits_store):
    """Adebayo et al. (2018): input-times-gradient attributions keep the input's shape whatever the weights. Signed,
    the ranking changes with random weights; in magnitude it hardly does: the check fails and says which."""
    st, mid = digits_store
    _, r = run_stored_audit(st, "explain", mid, method="integrated_gradients", samples=40, n_boot=200)
    m = r.metrics
    assert m["sanity_rank_correlation"] < 0.3
    assert m["sanity_rank_correlation_magnitude"] > 0.8
    assert not m["sanity_passed"]
    assert "FAILS its sanity check" in m["verdict"]
    assert "magnitude rank correlation" in m["verdict"]
    assert "signed rank correlation" not in m["verdict"]
    assert r.warnings[0].startswith("integrated_gradients failed its sanity check")
    assert m["faithful"]
    assert m["deletion_auc_ci_high"] < m["random_deletion_auc_ci_low"]
    assert m["stability"] > 0.5
    assert len(r.tables["examples"]) == 8
    assert r.params["rows"] == sorted(r.params["rows"])  # the test rows explained, recorded


def test_attributions_equal_a_direct_captum_call_and_saliency_is_flagged(digits_store):
    from captum.attr import IntegratedGradients

    from audits.explain import attribute
    from fmcore.data import load_dataset

    st, mid = digits_store
    clf = st.load_classifier(mid)
    x = clf.encode(load_dataset("digits")["test"].X[:10]).float()
    target = clf.net(x).argmax(-1)
    ours = attribute("integrated_gradients", clf.net, x, target)
    theirs = IntegratedGradients(clf.net.eval()).attribute(x, baselines=torch.zeros_like(x), target=target,
                                                           n_steps=32).detach().numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    _, sal = run_stored_audit(st, "explain", mid, method="saliency", samples=30, n_boot=100)
    if not sal.metrics["sanity_passed"]:  # a method that fails is said to fail, never shown as working
        assert "FAILS its sanity check" in sal.metrics["verdict"]
        assert sal.warnings[0].startswith("saliency failed its sanity check")
    assert sal.metrics["sanity_rank_correlation"] == pytest.approx(sal.metrics["sanity_rank_correlation_magnitude"])


def _proxy_rows(with_proxy: bool, n: int = 600):
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(n):
        sex = "F" if rng.random() < 0.5 else "M"
        income = float(rng.normal(50, 10))
        approved = "yes" if (sex == "M") == (rng.random() < 0.85) else "no"  # the label follows sex
        row = {"income": income, "tenure": int(rng.integers(0, 20)), "sex": sex, "approved": approved}
        if with_proxy:
            row["district"] = {"F": "south", "M": "north"}[sex] if rng.random() < 0.95 else "east"
        rows.append(row)
    return rows


@pytest.mark.parametrize("with_proxy", [True, False])
def test_a_renamed_sensitive_column_is_flagged_as_a_proxy(tmp_path, with_proxy):
    st = Store(tmp_path / "home")
    st.add_dataset(write_csv(tmp_path / "loans.csv", _proxy_rows(with_proxy)), "approved", ["sex"], name="loans")
    mid = train_model("loans", "mlp", TrainConfig(epochs=40), store=st).model_id
    _, r = run_stored_audit(st, "explain", mid, samples=80, n_boot=100)
    flagged = [p for p in r.tables["proxies"] if p["flagged"]]
    # two or three features: a rank correlation cannot tell the model from a random one, and the verdict says so
    assert r.metrics["sanity_measurable"] is False
    assert r.metrics["sanity_passed"] is False
    assert "cannot be checked on this model" in r.metrics["verdict"]
    if with_proxy:
        assert [(p["feature"], p["sensitive"]) for p in flagged] == [("district", "sex")]
        assert r.metrics["proxies_flagged"] == 1
        assert any("district carries sex" in w for w in r.warnings)
    else:
        assert flagged == []
    assert r.metrics["method"] == "shap"
    assert {row["feature"] for row in r.tables["importance"]} >= {"income", "tenure"}


def test_cli_prints_the_contracted_keys(tmp_path):
    st = Store(tmp_path / "home")
    mid = train_model("german_credit", "mlp", TrainConfig(epochs=5), store=st).model_id
    env = {**os.environ, "FMAUDIT_HOME": str(tmp_path / "home"), "FMAUDIT_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "fmaudit", "audit", "explain", "--model", mid, "--method", "shap",
                           "--samples", "30", "--json"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert isinstance(out["sanity_passed"], bool)
    assert 0 <= out["deletion_auc"] <= 1
    assert 0 <= out["random_deletion_auc"] <= 1
    assert {"feature", "sensitive", "strength", "flagged"} <= set(out["proxies"][0])
    assert out["methods"][0]["method"] == "shap"


# -- texts -------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_text_model(tiny_bert, tmp_path_factory):
    from fmcore.finetune import FinetuneConfig, finetune

    st = Store(tmp_path_factory.mktemp("explain-text"))
    cfg = FinetuneConfig(method="lora", epochs=1, max_train_samples=96, max_eval_samples=48, max_length=24,
                         base_path=tiny_bert, batch_size=16)
    return st, finetune("tweets", cfg, store=st).model_id


def test_token_attributions_equal_a_direct_captum_call_on_the_hugging_face_model(tiny_text_model):
    from captum.attr import LayerIntegratedGradients

    from audits.explain._text import eligible_tokens, pad_baseline, token_attributions
    from fmcore.data import load_dataset

    st, mid = tiny_text_model
    clf = st.load_classifier(mid)
    ids, mask = clf.encode(load_dataset("tweets")["test"].X[:6])
    target = clf.net(ids, mask).argmax(-1)
    eligible = eligible_tokens(ids, mask, clf.tokenizer)
    baseline = pad_baseline(ids, eligible, clf.tokenizer)
    ours = token_attributions(clf.net, ids, mask, target, baseline, steps=8)
    hf = clf.net.inner  # the PEFT model itself, called as its documentation does
    lig = LayerIntegratedGradients(lambda i, m: hf(input_ids=i, attention_mask=m).logits, hf.get_input_embeddings())
    theirs = lig.attribute(ids, baselines=baseline, additional_forward_args=(mask,), target=target,
                           n_steps=8).sum(-1).detach().numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    # split into executor tasks of 4 texts: the same numbers
    from audits.explain._text import fanned_attributions

    noise = torch.zeros(*ids.shape, hf.get_input_embeddings().weight.shape[1])
    fanned = fanned_attributions(clf.net, clf.net, ids, mask, target, baseline, noise, 8, seed=0, chunk=4)
    np.testing.assert_allclose(fanned["trained"], ours, atol=1e-5)
    np.testing.assert_allclose(fanned["noisy"], ours, atol=1e-5)  # zero noise through the embeddings path
    # [CLS], [SEP] and padding equal the baseline, so integrated gradients give them exactly nothing
    assert np.all(ours[~eligible.numpy()] == 0)
    assert (baseline[eligible] == clf.tokenizer.pad_token_id).all()


def test_text_explanation_is_checked_and_shown_as_tokens(tiny_text_model):
    st, mid = tiny_text_model
    _, r = run_stored_audit(st, "explain", mid, samples=6, ig_steps=8, n_boot=100, examples=3)
    m = r.metrics
    assert m["method"] == "layer_integrated_gradients"
    assert m["n"] == 6
    assert isinstance(m["sanity_passed"], bool)
    assert -1 <= m["sanity_rank_correlation"] <= 1
    assert 0 <= m["deletion_auc"] <= 1
    assert 0 <= m["random_deletion_auc"] <= 1
    curves = r.tables["curves"]
    assert curves[-1]["method"] == pytest.approx(curves[-1]["random"])  # all real tokens gone: the same text
    texts = r.tables["texts"]
    assert len(texts) == 3
    for t in texts:
        assert len(t["tokens"]) == len(t["attribution"]) > 0
        assert not {"[CLS]", "[SEP]", "[PAD]"} & set(t["tokens"])
        assert max(abs(a) for a in t["attribution"]) == pytest.approx(1.0)
    with pytest.raises(Exception, match="does not apply to text"):
        run_stored_audit(st, "explain", mid, method="shap", samples=4)


def test_masked_rank_correlation_uses_only_the_real_tokens():
    from scipy.stats import spearmanr

    from audits.explain import rank_correlation

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 10)), rng.normal(size=(3, 10))
    mask = np.zeros((3, 10), bool)
    mask[:, :6] = True
    ours = rank_correlation(a, b, mask=mask)
    for i in range(3):
        assert ours[i] == pytest.approx(spearmanr(a[i, :6], b[i, :6]).statistic)


# -- which examples ----------------------------------------------------------------------------------------------
def test_worst_cases_are_the_misclassified_and_the_least_confident(digits_store):
    from fmcore.data import load_dataset

    st, mid = digits_store
    clf = st.load_classifier(mid)
    test = load_dataset("digits")["test"]
    proba = clf.predict_proba(test.X)
    _, wrong = run_stored_audit(st, "explain", mid, select="misclassified", samples=5, n_boot=50)
    assert all(proba[i].argmax() != test.y[i] for i in wrong.params["rows"])
    _, unsure = run_stored_audit(st, "explain", mid, select="least_confident", samples=5, n_boot=50)
    top2 = np.sort(proba, 1)[:, -2:]
    margin = top2[:, 1] - top2[:, 0]
    assert max(margin[unsure.params["rows"]]) <= np.sort(margin)[4] + 1e-9
    _, picked = run_stored_audit(st, "explain", mid, rows=[7, 3], n_boot=50)
    assert picked.params["rows"] == [3, 7]


# -- recourse ----------------------------------------------------------------------------------------------------
def _recourse_rows(n: int = 800):
    """Loans where income decides for people from the north; people from the south (mostly women) are refused
    whatever they earn. The region is declared immutable, so refused southerners have no recourse."""
    rng = np.random.default_rng(1)
    rows = []
    for _ in range(n):
        sex = "F" if rng.random() < 0.5 else "M"
        region = ("south" if rng.random() < 0.8 else "north") if sex == "F" else (
            "north" if rng.random() < 0.8 else "south")
        income = float(rng.uniform(10, 90))
        approved = "yes" if region == "north" and income > 50 else "no"
        rows.append({"income": round(income, 1), "years": int(rng.integers(0, 30)), "region": region,
                     "purpose": str(rng.choice(["car", "home", "study"])), "sex": sex, "approved": approved})
    return rows


@pytest.fixture(scope="module")
def loans(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("recourse")
    st = Store(tmp / "home")
    st.add_dataset(write_csv(tmp / "loans.csv", _recourse_rows()), "approved", ["sex"], name="loans")
    return st, train_model("loans", "mlp", TrainConfig(epochs=60), store=st).model_id


def test_counterfactuals_flip_the_decision_and_never_touch_frozen_features(loans):
    from fmcore.data import load_dataset

    st, mid = loans
    _, r = run_stored_audit(st, "explain", mid, samples=30, n_boot=50, immutable="region", recourse_samples=200,
                            min_group_size=20)
    m = r.metrics
    assert m["recourse_favourable"] == "yes"
    assert m["recourse_checked"]
    assert set(m["frozen_features"]) == {"region", "sex"}
    clf = st.load_classifier(mid)
    test = load_dataset("loans", store=st)["test"]
    found = [e for e in r.tables["recourse"] if e["changes"]]
    assert len(found) >= 5
    for e in found:  # our own re-check: apply the changes to the test row, predict, compare
        row = test.X.iloc[[e["index"]]].copy()
        assert clf.predict_proba(row).argmax(1)[0] == clf.classes.index("no")
        for c in e["changes"]:
            assert c["feature"] not in ("region", "sex")
            assert row.iloc[0][c["feature"]] == c["from"]
            if c["feature"] == "purpose":
                assert c["to"] in {"car", "home", "study"}
            row[c["feature"]] = c["to"]
        assert clf.predict_proba(row).argmax(1)[0] == clf.classes.index("yes")
    # refused southerners cannot become northerners: recourse is unequal between the sexes, and said so
    by_sex = {g["group"]: g for g in r.tables["recourse_by_group"] if g["sensitive"] == "sex"}
    assert by_sex["M"]["share"] - by_sex["F"]["share"] >= 0.2
    assert any(w.startswith("Unequal recourse by sex") for w in r.warnings)


def test_recourse_never_changes_a_proxy_or_age_and_says_what_it_held_fixed(loans):
    """Without declaring the region immutable, it is still held fixed: it carries sex (a detected proxy); so is any
    column that is a person's age, and what the dataset declares; the page reads why from the result."""
    from types import SimpleNamespace

    from audits.explain._recourse import held_fixed

    st, mid = loans
    _, r = run_stored_audit(st, "explain", mid, samples=30, n_boot=50, recourse_samples=120, min_group_size=20)
    held = {row["feature"]: row["why"] for row in r.tables["recourse_held_fixed"]}
    assert held["sex"] == "a sensitive attribute"
    assert held["region"].startswith("a proxy for sex (association ")
    assert all(c["feature"] not in held for e in r.tables["recourse"] for c in e["changes"])
    spec = SimpleNamespace(spec=SimpleNamespace(sensitive=("sex",), immutable=("tenure",)))
    why = held_fixed(spec, ["Age", "age_years", "wage", "average_spend", "tenure", "title"], ["title"], [])
    assert why == {"sex": "a sensitive attribute", "Age": "age: no one can change it",
                   "age_years": "age: no one can change it", "tenure": "declared immutable by the dataset",
                   "title": "declared immutable by you"}


def test_the_beam_search_finds_the_cheapest_change_an_exhaustive_search_finds(loans):
    """Checked against brute force: every single and pair change of the candidate grid, scored by the model."""
    import itertools

    from audits.explain._recourse import _frame, _options, _singles, search
    from fmcore.data import load_dataset

    st, mid = loans
    clf = st.load_classifier(mid)
    ds = load_dataset("loans", store=st)
    yes = clf.classes.index("yes")
    test = ds["test"]
    refused = np.flatnonzero(clf.predict_proba(test.X).argmax(1) != yes)[:12]
    frame = test.X.iloc[refused].reset_index(drop=True)
    options = _options(ds["train"].X, clf, {"sex", "region"})
    found = search(clf, frame, yes, options, max_changes=2, beam=1000)
    for i in range(len(frame)):
        singles = _singles(frame.iloc[i], options)
        combos = [{c: v} for c, v, _ in singles] + [
            {a[0]: a[1], b[0]: b[1]} for a, b in itertools.combinations(singles, 2) if a[0] != b[0]]
        costs = [sum(c for f, v, c in singles if f in ch and ch[f] == v) for ch in combos]
        flips = clf.predict_proba(_frame(frame, [i] * len(combos), combos)).argmax(1) == yes
        cheapest = min((c for c, f in zip(costs, flips, strict=True) if f), default=None)
        if cheapest is None:
            assert found[i] is None
        else:
            assert found[i]["cost"] == pytest.approx(cheapest)


def test_explain_and_recourse_on_messy_data(tmp_path):
    """Missing values (in a feature and in the sensitive column), a constant column, a pandas index written with
    the file, a tiny group and Latin-1 text: the audit runs, groups count every row, and recourse keeps its rules."""
    import pandas as pd

    rows = _recourse_rows(500)
    rng = np.random.default_rng(5)
    for i, r in enumerate(rows):
        r["país"] = "España" if i % 2 else "Perú"  # Latin-1 text
        r["constant"] = 1
        if rng.random() < 0.1:
            r["income"] = None
        if rng.random() < 0.08:
            r["sex"] = None
        if i < 4:
            r["sex"] = "X"  # a group of four
    frame = pd.DataFrame(rows)
    frame.to_csv(tmp_path / "messy.csv", encoding="latin-1")  # with its index column
    st = Store(tmp_path / "home")
    st.add_dataset(tmp_path / "messy.csv", "approved", ["sex"], name="messy", min_group_size=3)
    mid = train_model("messy", "mlp", TrainConfig(epochs=30), store=st).model_id
    _, r = run_stored_audit(st, "explain", mid, samples=40, n_boot=50, immutable="region", recourse_samples=80,
                            min_group_size=10)
    assert r.metrics["recourse_checked"]
    names = {row["feature"] for row in r.tables["importance"]}
    assert "país" in names
    assert "Unnamed: 0" not in names
    groups = [g for g in r.tables["recourse_by_group"] if g["sensitive"] == "sex"]
    assert {g["group"] for g in groups} >= {"(missing)", "F", "M"}  # missing sex is a group of its own
    assert sum(g["refused"] for g in groups) == r.metrics["recourse_refused"]  # every refused person counted once
    small = [g for g in groups if g["refused"] < 10]
    assert all(g["small"] for g in small)
    for e in r.tables["recourse"]:
        assert not {c["feature"] for c in e["changes"]} & {"region", "sex"}
        for c in e["changes"]:
            if c["feature"] == "constant":
                raise AssertionError("a constant column has nothing to change to")


def test_shap_attributions_equal_a_direct_shap_call_and_repeat_exactly(tmp_path):
    import shap

    from audits.explain import attribute
    from fmcore.data import load_dataset

    store = Store(tmp_path / "home")
    clf = store.load_classifier(train_model("german_credit", "mlp", TrainConfig(epochs=5), store=store).model_id)
    ds = load_dataset("german_credit")
    x = clf.encode(ds["test"].X.iloc[:20]).float()
    background = clf.encode(ds["train"].X.iloc[:50]).float()
    target = clf.net(x).argmax(-1)
    ours = attribute("shap", clf.net, x, target, background, seed=3)
    np.random.seed(3)  # SHAP samples from numpy's global generator
    values = shap.GradientExplainer(clf.net.eval(), background).shap_values(x)
    values = np.stack(values, -1) if isinstance(values, list) else np.asarray(values)
    np.testing.assert_allclose(ours, values[np.arange(len(x)), ..., target.numpy()], atol=1e-5)
    np.testing.assert_array_equal(ours, attribute("shap", clf.net, x, target, background, seed=3))  # repeatable
