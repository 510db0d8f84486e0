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


def test_integrated_gradients_pass_the_checks_on_the_digit_cnn(digits_store):
    st, mid = digits_store
    _, r = run_stored_audit(st, "explain", mid, method="integrated_gradients", samples=40, n_boot=200)
    m = r.metrics
    assert m["sanity_passed"]
    assert m["sanity_rank_correlation"] < 0.3
    assert m["faithful"]
    assert m["deletion_auc_ci_high"] < m["random_deletion_auc_ci_low"]
    assert m["stability"] > 0.5
    assert len(r.tables["examples"]) == 8
    assert r.params["rows"] == sorted(r.params["rows"])  # the test rows explained, recorded
    assert "passes its sanity check" in m["verdict"]


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
