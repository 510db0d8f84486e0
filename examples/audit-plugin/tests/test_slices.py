"""The slices audit, from outside fmaudit: its numbers against an independent computation on data whose worst
slice is known, and, installed as a user would install it, everywhere fmaudit shows an audit (CLI, show, job and
dashboard page with its form and figure, report, Compare, policies) though no file of fmaudit names it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import PLUGIN, fmaudit

ROOT = PLUGIN.parent.parent  # fmaudit's repository


def _planted(n=2000, seed=0):
    """Rows where the model is wrong far more often for (colour = red and size in its top quarter)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"colour": rng.choice(["red", "green", "blue"], n), "size": rng.normal(size=n),
                          "note": rng.choice(["a", "b", None], n)})
    bad = (frame["colour"] == "red").to_numpy() & (frame["size"] > frame["size"].quantile(0.75)).to_numpy()
    correct = rng.random(n) > np.where(bad, 0.6, 0.1)
    return frame, correct, bad


def test_slices_match_an_independent_computation_and_find_the_planted_slice():
    sys.path.insert(0, str(PLUGIN))
    try:
        from fmaudit_slices import SlicesOptions, slice_table
    finally:
        sys.path.remove(str(PLUGIN))
    frame, correct, bad = _planted()
    options = SlicesOptions(min_slice=30, bins=4, pairs=True, alpha=0.05)
    rows, overall = slice_table(frame, correct, options)
    assert overall == pytest.approx(correct.mean())
    by = {r["slice"]: r for r in rows}
    # single slices against pandas: every category (missing values their own slice) and every quartile range
    for colour, acc in pd.Series(correct).groupby(frame["colour"]).mean().items():
        assert by[f"colour = {colour}"]["accuracy"] == pytest.approx(acc)
        assert by[f"colour = {colour}"]["n"] == int((frame["colour"] == colour).sum())
    assert by["note missing"]["n"] == int(frame["note"].isna().sum())
    quartiles = pd.qcut(frame["size"], 4)
    for interval, acc in pd.Series(correct).groupby(quartiles, observed=True).mean().items():
        assert by[f"size in [{interval.left:.4g}, {interval.right:.4g}]"]["accuracy"] == pytest.approx(acc)
    # the worst slice is the planted one, significantly worse after Benjamini-Hochberg
    worst = rows[0]
    assert worst["slice"].startswith("colour = red and size in [")
    assert worst["significant"]
    mask = (frame["colour"] == "red").to_numpy() & (quartiles == quartiles.cat.categories[-1]).to_numpy()
    assert worst["n"] == int(mask.sum())
    assert worst["accuracy"] == pytest.approx(correct[mask].mean())
    # Benjamini-Hochberg by hand: q_(i) = min over j >= i of p_(j) * m / j
    p = np.array([r["p_value"] for r in rows])
    order = np.argsort(p)
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1)
    assert np.allclose(np.array([r["q_value"] for r in rows])[order], q)
    # small slices are never tested
    assert min(r["n"] for r in rows) >= 30
    # Wilson intervals around each accuracy
    assert all(r["ci_low"] <= r["accuracy"] <= r["ci_high"] for r in rows)


def test_not_installed_the_audit_is_unknown_with_the_known_ones_named(tmp_path):
    proc = fmaudit(tmp_path / "home", "audit", "slices", "--model", "m-00000000", check=False)
    assert proc.returncode == 2
    assert "invalid choice: 'slices'" in proc.stderr
    assert "performance" in proc.stderr


CODE = (".py", ".toml", ".yaml", ".yml", ".cfg", ".ini", ".txt", ".sh", "Makefile", "run")


def test_no_code_of_fmaudit_names_the_plugin():
    """Everything fmaudit shows of the audit comes from its spec: no code, config or test outside examples/ names it
    (the docs do: docs/development.md walks through this package)."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    naming = [f for f in tracked if not f.startswith("examples/") and f.endswith(CODE) and (ROOT / f).is_file()
              and "slices" in (ROOT / f).read_text(errors="ignore")]
    assert naming == []


def test_installed_it_runs_everywhere_fmaudit_shows_an_audit(installed, tmp_path):
    home = tmp_path / "home"
    assert "slices" in fmaudit(home, "audit", "--help", env_path=installed).stdout
    model = json.loads(fmaudit(home, "train", "--dataset", "german_credit", "--model", "logreg", "--epochs", "2",
                               "--json").stdout)["model_id"]
    out = json.loads(fmaudit(home, "audit", "slices", "--model", model, "--min-slice", "40", "--no-pairs", "--json",
                             env_path=installed).stdout)
    assert out["min_slice"] == 40
    assert out["slices_tested"] > 0
    assert all(r["n"] >= 40 for r in out["worst"])
    assert all(" and " not in r["slice"] for r in out["worst"])  # --no-pairs: single slices only
    assert out["worst_slice_accuracy"] == min(r["accuracy"] for r in out["worst"])
    shown = fmaudit(home, "show", model, env_path=installed).stdout
    assert "measured  slices" in shown
    # a policy may check its metrics; the report draws its figure; without the plugin the stored audit stays
    policy = tmp_path / "p.yaml"
    policy.write_text("name: slices policy\nchecks:\n  - {id: worst, metric: slices.worst_slice_accuracy, op: '>=', "
                      "threshold: 0.1, requirement: r}\n")
    report = json.loads(fmaudit(home, "report", "--model", model, "--policy", str(policy), "--out",
                                str(tmp_path / "out"), "--json", env_path=installed).stdout)
    assert report["policy"]["outcome"] == "pass"
    html = Path(report["paths"]["html"]).read_text()
    assert "Where the model is least accurate" in html
    assert "<h3>slices audit a-" in html  # its section, with the chart under it
    # reproduce: the plugin's numbers come out the same again
    assert fmaudit(home, "reproduce", report["paths"]["json"], env_path=installed).returncode == 0


def test_the_dashboard_runs_it_as_a_job_from_its_generated_form_and_compares_it(on_path, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from dashboard import services
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    home = tmp_path / "home"
    monkeypatch.setenv("FMAUDIT_HOME", str(home))
    st = Store(home)
    a = train_model("german_credit", "logreg", TrainConfig(epochs=2), store=st).model_id
    b = train_model("german_credit", "logreg", TrainConfig(epochs=3, seed=1), store=st).model_id
    try:
        at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=60).run()
        at.switch_page("views/more.py").run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.selectbox(key="more_audit").value == "slices"
        for model in (a, b):
            at.selectbox(key="more_model").set_value(model).run()
            at.number_input(key="more_slices_min_slice").set_value(40)  # the form made from SlicesOptions
            at.checkbox(key="more_slices_pairs").uncheck()
            next(x for x in at.button if x.label == "Run worst slices audit").click().run()
            job = services._runner_at(str(home)).wait(at.session_state["more_job_slices"], timeout=120)
            assert job.state == "done", (job.error, job.log)
            at.run()
            assert not at.exception, [e.value for e in at.exception]
        stored = st.latest_audits(b)["slices"]
        assert stored["params"]["min_slice"] == 40
        assert stored["params"]["pairs"] is False
        assert at.get("plotly_chart")  # the audit's own figure
        assert any("worst slice" in m.value for m in at.markdown)
        at.switch_page("views/compare.py").run()
        assert not at.exception, [e.value for e in at.exception]
        card = next(m.value for m in at.markdown if m.value.startswith("| dimension |"))  # the scorecard's table
        assert "| worst slice accuracy |" in card.replace("\\", "")  # a row of its own (unescaped)
    finally:
        services._runner_at(str(home)).shutdown()
        services._runner_at.clear()
