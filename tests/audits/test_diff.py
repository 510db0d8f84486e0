"""`fmaudit diff`: a model and its mitigated child, compared report to report and model to model, against our own
comparison of the two JSON reports."""

import json

import pytest

from tests.test_cli import _trained, fmaudit


def test_diff_of_a_model_and_its_mitigated_child_lists_the_gap_change_and_the_flipped_checks(tmp_path):
    home = tmp_path / "home"
    parent = _trained(home, "arrests", "logreg", 3)["model_id"]
    child = json.loads(fmaudit(home, "mitigate", "--model", parent, "--method", "threshold_optimizer", "--constraint",
                               "demographic_parity", "--sensitive", "colour", "--json").stdout)["model_id"]
    gaps = {}
    for mid in (parent, child):
        out = json.loads(fmaudit(home, "audit", "fairness", "--model", mid, "--sensitive", "colour", "--json").stdout)
        gaps[mid] = out["demographic_parity_difference"]
    assert gaps[child] < gaps[parent]
    threshold = (gaps[parent] + gaps[child]) / 2  # a policy the parent fails and the child passes
    policy = tmp_path / "gap.yaml"
    policy.write_text("name: gap check\nchecks:\n  - id: parity\n    metric: fairness.demographic_parity_difference\n"
                      f"    op: '<='\n    threshold: {threshold}\n    requirement: parity\n  - id: accuracy\n"
                      "    metric: model.accuracy\n    op: '>='\n    threshold: 0.0\n    requirement: any\n")
    paths = {}
    for mid in (parent, child):
        proc = fmaudit(home, "report", "--model", mid, "--policy", str(policy), "--out", str(tmp_path / mid),
                       check=False)
        assert proc.returncode in (0, 1), proc.stderr
        paths[mid] = tmp_path / mid / f"fmaudit-{mid}.json"
    a, b = (json.loads(paths[m].read_text()) for m in (parent, child))
    from_files = json.loads(fmaudit(home, "diff", str(paths[parent]), str(paths[child]), "--json").stdout)
    from_ids = json.loads(fmaudit(home, "diff", parent, child, "--policy", str(policy), "--json").stdout)
    # our own comparison of the two JSON reports
    newest = {k: max((x for x in r["audits"] if x["name"] == "fairness"), key=lambda x: x["created_at"])
              for k, r in (("a", a), ("b", b))}
    ours = newest["b"]["metrics"]["demographic_parity_difference"] - newest["a"]["metrics"][
        "demographic_parity_difference"]
    statuses = {c["id"]: c["status"] for c in a["policy"]["checks"]}
    flipped = [c["id"] for c in b["policy"]["checks"] if statuses[c["id"]] != c["status"]]
    assert flipped == ["parity"]
    for d in (from_files, from_ids):
        row = next(r for r in d["metrics"]
                   if r["audit"] == "fairness" and r["metric"] == "demographic_parity_difference")
        assert row["change"] == pytest.approx(ours)
        assert d["flipped_checks"] == flipped
        assert d["related"] == "b derives from a"
        assert "parity" in d["closed_findings"]  # the parent's failed check is a finding the child no longer has
        assert d["b"]["weights_sha256"] == b["model"]["sha256"]
    assert from_files["a"]["content_sha256"] == a["content_sha256"]
    # beyond its interval: the two reports' own intervals, not overlapping
    ia, ib = row["a_interval"], row["b_interval"]
    if ia and ib:
        assert row["beyond_interval"] == (ia[1] < ib[0] or ib[1] < ia[0])
    refused = fmaudit(home, "diff", parent, "m-nothere", check=False)
    assert refused.returncode == 2
    assert "neither a report file" in refused.stderr
