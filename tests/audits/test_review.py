"""The review as a user runs it: findings from a policy, roles that hold, risk acceptance with a reason and an expiry,
a four-eyes sign-off signed with the store's key, every step in the verified trail with its actor."""

import datetime as dt
import json
import os
import subprocess
import sys

from tests.test_cli import _trained


def _as(home, user, *args, stdin=None):
    env = {**os.environ, "FMAUDIT_HOME": str(home), "FMAUDIT_THREADS": "1", "FMAUDIT_USER": user}
    return subprocess.run([sys.executable, "-m", "fmaudit", *args], capture_output=True, text=True, env=env,
                          input=stdin)


def test_findings_acceptance_and_a_four_eyes_signed_sign_off(tmp_path):
    home = tmp_path / "home"
    for name, role in (("alice", "auditor"), ("bob", "approver"), ("carol", "approver"), ("vic", "viewer")):
        assert _as(home, "root", "user", "add", name, "--role", role, "--password-stdin",
                   stdin="a long enough password\n").returncode == 0
    assert _as(home, "root", "keys", "init").returncode == 0
    os.environ["FMAUDIT_USER"] = "bob"  # _trained runs as the environment's user: bob registers the model
    try:
        model = _trained(home, "arrests", "logreg", 2)["model_id"]
    finally:
        del os.environ["FMAUDIT_USER"]
    policy = tmp_path / "p.yaml"
    policy.write_text("name: review test\nchecks:\n"
                      "  - {id: accuracy_high, metric: model.accuracy, op: '>=', threshold: 0.999, requirement: r}\n"
                      "  - {id: accuracy_any, metric: model.accuracy, op: '>=', threshold: 0.0, requirement: r}\n"
                      "  - {id: parity, metric: fairness.demographic_parity_difference, op: '<=', threshold: 0.1, "
                      "requirement: r}\n")
    p = ["--policy", str(policy)]
    state = json.loads(_as(home, "vic", "review", "findings", "--model", model, *p, "--json").stdout)
    by_check = {f["check"]: f for f in state["findings"]}
    assert by_check["accuracy_high"]["severity"] == "high"  # failed
    assert by_check["parity"]["severity"] == "medium"  # not measured
    assert [x["check"] for x in state["passed"]] == ["accuracy_any"]  # passed checks are listed too
    assert state["author"] == "bob"
    high = by_check["accuracy_high"]["id"]
    # a viewer changes nothing
    refused = _as(home, "vic", "review", "accept", high, "--reason", "a good enough reason", "--until", "2099-01-01",
                  *p)
    assert refused.returncode == 2
    assert "role viewer" in refused.stderr
    # no sign-off while a check fails or is unmeasured without an accepted risk
    refused = _as(home, "carol", "review", "approve", "--model", model, *p)
    assert refused.returncode == 2
    assert "2 failed or unmeasured check(s) have no current risk acceptance" in refused.stderr
    # a risk acceptance needs a reason and a future expiry
    assert "justification" in _as(home, "alice", "review", "accept", high, "--reason", "ok", "--until", "2099-01-01",
                                  *p).stderr
    assert "not in the future" in _as(home, "alice", "review", "accept", high, "--reason", "known limitation of the "
                                      "baseline", "--until", "2020-01-01", *p).stderr
    until = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    assert _as(home, "alice", "review", "accept", high, "--reason", "a baseline model, kept for comparison only",
               "--until", until, *p).returncode == 0
    assert _as(home, "alice", "review", "comment", high, "reviewed", "with", "the", "owner", *p).returncode == 0
    still = _as(home, "carol", "review", "approve", "--model", model, *p)  # parity is still unmeasured
    assert still.returncode == 2
    assert f"have no current risk acceptance: {by_check['parity']['id']}" in still.stderr
    assert _as(home, "alice", "review", "accept", by_check["parity"]["id"], "--reason", "fairness audited elsewhere "
               "for this baseline", "--until", until, *p).returncode == 0
    # four eyes: the approver who registered the model cannot approve it; an auditor cannot either
    own = _as(home, "bob", "review", "approve", "--model", model, *p)
    assert own.returncode == 2
    assert "four eyes" in own.stderr
    assert "role auditor" in _as(home, "alice", "review", "approve", "--model", model, *p).stderr
    signed = json.loads(_as(home, "carol", "review", "approve", "--model", model, *p, "--json").stdout)
    # the sign-off verifies with the public key and names the exact weight and report hashes
    from audits.evidence import load_public_key
    from audits.evidence._dsse import key_files, verify_envelope
    from fmcore.store import Store

    st = Store(home)
    statement = verify_envelope(signed["envelope"], load_public_key(key_files(home)[1]))
    assert statement is not None
    digests = {s["name"].split(" of ")[0]: s["digest"]["sha256"] for s in statement["subject"]}
    record = st.get_model(model)
    assert digests == {"weights": record.sha256, "manifest": record.manifest_sha256,
                       "report": signed["report_sha256"], "evidence": signed["evidence_sha256"]}
    assert statement["predicate"]["approver"] == "carol"
    assert statement["predicate"]["policy"]["sha256"] == signed["policy"]["sha256"]
    assert {a["id"]: (a["by"], a["until"]) for a in statement["predicate"]["accepted"]} == {
        high: ("alice", until), by_check["parity"]["id"]: ("alice", until)}
    checked = json.loads(_as(home, "vic", "review", "verify", "--model", model, "--public-key",
                             str(key_files(home)[1]), "--json").stdout)
    assert checked["ok"] is True
    assert checked["signoffs"][0]["report_sha256"] == signed["report_sha256"]
    tampered = {**signed["envelope"], "payload": signed["envelope"]["payload"][:-4] + "AAA="}
    assert verify_envelope(tampered, load_public_key(key_files(home)[1])) is None
    state = json.loads(_as(home, "vic", "review", "findings", "--model", model, *p, "--json").stdout)
    assert state["approved"] is True
    high_row = next(f for f in state["findings"] if f["id"] == high)
    assert high_row["status"] == "risk_accepted"
    assert high_row["comments"][0]["text"] == "reviewed with the owner"
    # the report carries the review: the sign-off (verified) and each finding's status
    out = tmp_path / "rep"
    assert _as(home, "alice", "report", "--model", model, *p, "--out", str(out)).returncode in (0, 1)
    first = {f.name: f.read_bytes() for f in out.iterdir()}
    # a viewer cannot file a report, not even with a lenient policy of the same name: the filed set is unchanged
    lenient = tmp_path / "lenient.yaml"
    lenient.write_text("name: review test\nchecks:\n"
                       "  - {id: accuracy_high, metric: model.accuracy, op: '>=', threshold: 0.1, requirement: r}\n")
    refused = _as(home, "vic", "report", "--model", model, "--policy", str(lenient), "--out", str(out))
    assert refused.returncode == 2
    assert "role viewer" in refused.stderr
    assert {f.name: f.read_bytes() for f in out.iterdir()} == first
    assert _as(home, "vic", "verify", str(out / f"fmaudit-{model}.html"), "--public-key",
               str(key_files(home)[1])).returncode == 0
    # an auditor's second report is version 2 beside the first, which stays as it was; the trail links them
    assert _as(home, "alice", "report", "--model", model, "--policy", str(lenient), "--out", str(out)).returncode == 0
    second = json.loads((out / f"fmaudit-{model}-v2.json").read_text())
    assert {f.name: f.read_bytes() for f in out.iterdir() if f.name in first} == first
    assert second["filed"]["previous"]["content_sha256"] == json.loads(first[f"fmaudit-{model}.json"])["content_sha256"]
    assert second["policy"]["custom"] is True
    assert second["policy"]["policy"].startswith("custom: review test (sha256 ")
    writes = [e for e in st.events_like("report.%")]
    assert [(e["actor"], e["details"]["version"]) for e in sorted(writes, key=lambda e: e["seq"])] == [
        ("alice", 1), ("alice", 2)]
    filed = json.loads((out / f"fmaudit-{model}.json").read_text())
    assert filed["review"]["signoffs"][0]["approver"] == "carol"
    assert filed["review"]["signoffs"][0]["verified"] is True
    assert {f["id"]: f["status"] for f in filed["review"]["findings"]}[high] == "risk_accepted"
    assert "Signed off by <b>carol</b>" in (out / f"fmaudit-{model}.html").read_text()
    # every step in the trail with its actor, and the trail verifies
    events = [(e["action"], e["actor"]) for e in st.events_like("review.%")]
    assert events == [("review.status", "alice"), ("review.comment", "alice"), ("review.status", "alice"),
                      ("review.approve", "carol")]
    assert json.loads(_as(home, "vic", "verify", "--log", "--json").stdout)["ok"] is True
    # an acceptance that has expired reopens its finding and blocks sign-off again
    from audits.evidence import load_policy
    from audits.evidence.review import review_state

    later = review_state(st, model, load_policy(policy), today=dt.date.today() + dt.timedelta(days=31))
    assert later["blocking"] == [high]
