"""Evidence: the audit trail detects edits and deletions; policies parse strictly and evaluate with evidence;
reports carry a content hash (and signature) that `verify` checks; JUnit output parses."""

import json
import sqlite3
import xml.etree.ElementTree as ET

import pytest

from audits import run_audit
from audits.evidence import (
    PolicyError,
    build_report,
    evaluate_policy,
    junit_xml,
    load_policy,
    parse_policy,
    verify_report,
    write_reports,
)
from fmcore.data import load_dataset
from tests.conftest import ROOT


@pytest.fixture
def audited(store):
    """A german_credit logistic regression with a performance and a fairness audit."""
    from fmcore.train import TrainConfig, train_model

    model_id = train_model("german_credit", "logreg", TrainConfig(epochs=5), store=store).model_id
    clf, ds = store.load_classifier(model_id), load_dataset("german_credit")
    ids = {}
    for name, kw in (("performance", {"n_boot": 100}), ("fairness", {"n_boot": 20})):
        r = run_audit(name, clf, ds, model_id, **kw)
        ids[name] = store.add_audit(model_id, name, r.params, r.to_dict())
    return store, model_id, ids


def _sql(store, statement, args=()):
    con = sqlite3.connect(store.db_path)
    con.execute(statement, args)
    con.commit()
    con.close()


def test_trail_records_everything_and_detects_edits(audited, tmp_path):
    store, model_id, ids = audited
    store.export_model(model_id, tmp_path / "export")
    actions = [e["action"] for e in reversed(store.events())]
    assert actions == ["model.register", "audit.add", "audit.add", "model.export"]
    assert store.verify_trail()["ok"]
    # one byte of a stored audit
    row = sqlite3.connect(store.db_path).execute("SELECT result FROM audits WHERE id=?", (ids["fairness"],)).fetchone()
    edited = row[0].replace('"n": 200', '"n": 201', 1)
    assert edited != row[0]
    _sql(store, "UPDATE audits SET result=? WHERE id=?", (edited, ids["fairness"]))
    result = store.verify_trail()
    assert not result["ok"]
    assert any(ids["fairness"] in p and "changed" in p for p in result["problems"])
    _sql(store, "UPDATE audits SET result=? WHERE id=?", (row[0], ids["fairness"]))
    assert store.verify_trail()["ok"]


def test_trail_detects_edited_and_deleted_events(audited):
    store, model_id, _ = audited
    _sql(store, "UPDATE events SET actor='mallory' WHERE seq=2")
    assert any("event 2" in p and "edited" in p for p in store.verify_trail()["problems"])
    _sql(store, "DELETE FROM events WHERE seq=2")
    problems = store.verify_trail()["problems"]
    assert any("event 2 is missing" in p for p in problems)
    _sql(store, "DELETE FROM events WHERE seq=3")  # the newest event: caught by the head and the audit check
    problems = store.verify_trail()["problems"]
    assert any("newest events are missing" in p for p in problems)


def test_delete_is_logged(audited):
    store, model_id, _ = audited
    store.delete_model(model_id)
    last = store.events(1)[0]
    assert last["action"] == "model.delete"
    assert len(last["details"]["audits_deleted"]) == 2
    assert store.verify_trail()["ok"]


@pytest.mark.parametrize(("text", "needle"), [
    ("checks: []", "non-empty 'checks'"),
    ("checks: [{id: a, metric: performance.accuracy, op: '>=', threshold: 0.9}]", "lacks requirement"),
    ("checks: [{id: a, metric: performance.accuracy, op: '=>', threshold: 0.9, requirement: r}]", "op '=>'"),
    ("checks: [{id: a, metric: performance.accuracy, op: '>=', threshold: high, requirement: r}]", "finite number"),
    ("checks: [{id: a, metric: vibes.accuracy, op: '>=', threshold: 1, requirement: r}]", "<audit>.<metric>"),
    ("checks: [{id: a, metric: performance.accuracy, op: '>=', threshold: 1, requirement: r},"
     " {id: a, metric: performance.macro_f1, op: '>=', threshold: 1, requirement: r}]", "used twice"),
    ("checks: [unclosed", "not valid YAML"),
    ("!!python/object/apply:os.system ['echo pwned']", "not valid YAML"),
])
def test_policy_parse_errors(text, needle):
    with pytest.raises(PolicyError, match=needle):
        parse_policy(text, "test.yaml")


def test_shipped_policies_parse():
    for path in (ROOT / "policies").glob("*.yaml"):
        policy = load_policy(path)
        assert policy["checks"]
        assert all(c["requirement"] for c in policy["checks"])


def test_policy_evaluation_with_evidence(audited):
    store, model_id, ids = audited
    acc = store.list_audits(model_id)[-1]["result"]["metrics"]["accuracy"]
    policy = parse_policy(f"""
name: t
checks:
  - {{id: acc, metric: performance.accuracy, op: ">=", threshold: {acc - 0.01}, requirement: "Art. 15(1)"}}
  - {{id: dp, metric: fairness.demographic_parity_difference, op: "<=", threshold: -1, requirement: "Art. 10"}}
  - {{id: mia, metric: privacy.max_auc, op: "<=", threshold: 0.6, requirement: "Art. 15(5)"}}
  - {{id: size, metric: model.n, op: "==", threshold: 200, requirement: "test set size"}}
""")
    ev = evaluate_policy(policy, store, model_id)
    status = {r["id"]: r["status"] for r in ev["checks"]}
    assert status == {"acc": "pass", "dp": "fail", "mia": "not_measured", "size": "pass"}
    assert ev["failed"] == ["dp"]
    assert not ev["passed"]
    assert ev["outcome"] == "fail"
    acc_row = next(r for r in ev["checks"] if r["id"] == "acc")
    assert acc_row["evidence"]["audit_id"] == ids["performance"]
    assert acc_row["value"] == pytest.approx(acc)
    suite = ET.fromstring(junit_xml(ev, model_id))
    assert suite.get("tests") == "4"
    assert suite.get("failures") == "1"
    assert suite.get("skipped") == "1"
    assert len(suite.findall("testcase/failure")) == 1


def test_report_hash_signature_and_tamper(audited, tmp_path, monkeypatch):
    store, model_id, _ = audited
    policy = load_policy(ROOT / "policies" / "eu_ai_act_high_risk.yaml")
    monkeypatch.setenv("FMAUDIT_SIGNING_KEY", "team-secret")  # the retired HMAC setting: no "signature" any more
    report = build_report(store, model_id, policy)
    for key in ("schema", "generated_at", "generator", "model", "lineage", "data", "config", "seeds", "audits",
                "policy", "trail", "content_sha256"):
        assert key in report
    assert "signature" not in report
    assert report["data"]["provenance"]["sha256"]
    assert report["generator"]["packages"]["torch"]
    paths = write_reports(report, tmp_path / "out")
    assert paths["html"].stat().st_size < 5 * 2**20
    from audits.evidence._html import _figures, render_html

    charts = _figures(report)
    assert charts  # the performance and fairness audits draw
    for i, (_, _, alt) in enumerate(charts):  # each chart's numbers beneath it, in the new layout only
        assert f"<p class='muted alt' id='chart-{i}-text'>" in paths["html"].read_text()
        assert alt.split(". ")[0] in paths["html"].read_text()
    assert "muted alt" not in render_html({**report, "layout": 2})  # an older record keeps its own rendering
    assert report["content_sha256"] in paths["md"].read_text()
    for kind in ("json", "html"):
        result = verify_report(paths[kind])
        assert result["ok"], result
        assert result["signed"] is None  # intact, but no signature checked: UNVERIFIED, never "signed"
    monkeypatch.delenv("FMAUDIT_SIGNING_KEY")
    # change one byte of the JSON (a digit of the accuracy) and of the HTML's embedded record
    text = paths["json"].read_text()
    data = json.loads(text)
    acc = data["audits"][-1]["metrics"]["accuracy"]
    paths["json"].write_text(text.replace(repr(acc), repr(acc)[:-1] + ("1" if repr(acc)[-1] != "1" else "2"), 1))
    assert not verify_report(paths["json"])["ok"]
    html = paths["html"].read_text()
    assert '"weights_verified": true' in html
    paths["html"].write_text(html.replace('"weights_verified": true', '"weights_verified": false', 1))
    assert not verify_report(paths["html"])["ok"]


@pytest.mark.parametrize(("attack", "axis"), [("pgd", "Linf"), ("deepfool", "L2 norm"), ("cw", "L2 norm"),
                                              ("charswap", "words edited")])
def test_report_chart_measures_epsilon_in_the_attacks_own_norm(attack, axis):
    from audits.evidence._html import _figures

    sweep = [{"eps": 0.5, "robust_accuracy": 0.4, "ci_low": 0.3, "ci_high": 0.5}]
    report = {"audits": [{"name": "robustness", "id": "a-1", "created_at": "now", "tables": {"sweep": sweep},
                          "metrics": {"attack": attack, "clean_accuracy": 0.9}}]}
    (_, fig, alt), = _figures(report)
    assert axis in fig["layout"]["xaxis"]["title"]["text"]
    assert alt.endswith("epsilon 0.0: 90.0%; epsilon 0.5: 40.0%.")  # its text alternative, in the report beneath it


def test_a_bad_policy_lists_every_problem():
    from audits.evidence import parse_policy
    from audits.evidence._policy import PolicyError

    text = """
name: broken
checks:
  - id: a
    metric: performance.accuracy
    op: "=>"
    threshold: 0.8
    requirement: r
  - id: b
    metric: nothing.accuracy
    op: ">="
    threshold: high
    requirement: r
  - id: a
    metric: performance.macro_f1
    op: ">="
    threshold: 0.5
"""
    with pytest.raises(PolicyError) as info:
        parse_policy(text, "broken.yaml")
    problems = info.value.problems
    assert len(problems) == 5, problems
    message = str(info.value)
    for needle in ("op '=>'", "metric 'nothing.accuracy'", "threshold must be a finite number", "lacks requirement",
                   "used twice"):
        assert needle in message


def test_unmeasured_never_passes_and_model_metrics_count_only_when_allowed(tmp_path):
    from audits.evidence import evaluate_policy, missing_audits, parse_policy, run_missing
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    st = Store(tmp_path)
    mid = train_model("german_credit", "logreg", TrainConfig(epochs=2), store=st).model_id
    text = """
name: t
checks:
  - {id: acc, metric: performance.accuracy, op: ">=", threshold: 0.1, requirement: "Art. 15(1)"}
"""
    ev = evaluate_policy(parse_policy(text), st, mid)
    assert (ev["outcome"], ev["passed"], ev["not_measured"]) == ("incomplete", False, ["acc"])
    assert missing_audits(parse_policy(text), st, mid) == ["performance"]
    allowed = evaluate_policy(parse_policy("accept_model_metrics: true\n" + text), st, mid)
    assert allowed["outcome"] == "pass"
    row = allowed["checks"][0]
    assert row["value"] == st.get_model(mid).metrics["accuracy"]
    assert row["evidence"]["source"].startswith("the model's test metrics")
    assert row["evidence"]["dataset_sha256"] == st.get_model(mid).derivation["dataset_sha256"]
    ran = run_missing(parse_policy(text), st, mid, log=lambda m: None)
    assert ran["performance"] == st.latest_audits(mid)["performance"]["id"]
    assert evaluate_policy(parse_policy(text), st, mid)["outcome"] == "pass"
    assert parse_policy("require_all: false\n" + text)["checks"]  # older files still load; every check counts


def _independent_dsse_check(envelope: dict, public_pem: bytes) -> dict:
    """DSSE as the spec defines it, written here without fmaudit: PAE, Ed25519, base64; returns the statement."""
    import base64

    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    payload = base64.b64decode(envelope["payload"])
    kind = envelope["payloadType"].encode()
    pae = b"DSSEv1 " + str(len(kind)).encode() + b" " + kind + b" " + str(len(payload)).encode() + b" " + payload
    load_pem_public_key(public_pem).verify(base64.b64decode(envelope["signatures"][0]["sig"]), pae)  # raises if bad
    return json.loads(payload)


def test_signed_report_every_byte_counts_and_only_the_right_public_key_verifies(tmp_path):
    import hashlib

    from audits import run_stored_audit
    from audits.evidence import file_report, init_keys, verify_report
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    st = Store(tmp_path / "home")
    keys = init_keys(st.root)
    assert oct((st.root / "keys" / "signing.key").stat().st_mode & 0o777) == "0o600"
    other = init_keys(tmp_path / "other")
    mid = train_model("german_credit", "logreg", TrainConfig(epochs=2), store=st).model_id
    run_stored_audit(st, "performance", mid, n_boot=20)
    _, paths = file_report(st, mid, None, tmp_path / "out")
    envelope = json.loads(paths["intoto"].read_text())
    statement = _independent_dsse_check(envelope, (st.root / "keys" / "signing.pub").read_bytes())
    digests = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    for kind in ("json", "html", "md"):
        assert digests[paths[kind].name] == hashlib.sha256(paths[kind].read_bytes()).hexdigest()
        ok = verify_report(paths[kind], public_key=keys["public_key"])
        assert ok["ok"], ok["problems"]
        assert ok["signed"] is True
        wrong = verify_report(paths[kind], public_key=other["public_key"])
        assert not wrong["ok"]
        assert wrong["signed"] is False
    html = paths["html"].read_text()
    acc = f"{st.get_model(mid).metrics['accuracy']:.4g}"
    assert acc in html
    paths["html"].write_text(html.replace(acc, "0.998", 1))  # one visible number changed
    assert not verify_report(paths["html"], public_key=keys["public_key"])["ok"]
    assert not verify_report(paths["html"])["ok"]  # also without the key: the digest no longer matches


def test_unsigned_html_is_checked_against_a_fresh_rendering_of_its_record(tmp_path):
    from audits import run_stored_audit
    from audits.evidence import file_report, verify_report
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    st = Store(tmp_path / "home")
    mid = train_model("german_credit", "logreg", TrainConfig(epochs=2), store=st).model_id
    run_stored_audit(st, "performance", mid, n_boot=20)
    _, paths = file_report(st, mid, None, tmp_path / "out")
    paths["intoto"].unlink()  # no envelope: the HTML must equal the rendering of its embedded record
    assert verify_report(paths["html"])["ok"], verify_report(paths["html"])["problems"]
    html = paths["html"].read_text()
    i = html.index("<table")
    paths["html"].write_text(html[:i] + "<p>all clear</p>" + html[i:])
    result = verify_report(paths["html"])
    assert not result["ok"]
    assert "differs from the rendering" in result["problems"][0]


def test_reproduce_reruns_robustness_fairness_and_privacy_and_catches_a_changed_claim(tmp_path):
    from audits import run_stored_audit
    from audits.evidence import file_report, load_report, reproduce
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    st = Store(tmp_path / "home")
    mid = train_model("german_credit", "mlp", TrainConfig(epochs=5), store=st).model_id
    _, rob = run_stored_audit(st, "robustness", mid, samples=60, eps=[0.1, 0.3], blackbox_check_samples=0)
    assert rob.params["steps"] == 40  # the steps the attack ran with, not "default"
    assert rob.params["attack_parameters"]["step_ratio"] == 2.5
    assert len(rob.params["rows"]) == 60  # the test rows attacked, by position
    run_stored_audit(st, "fairness", mid, n_boot=50)
    run_stored_audit(st, "privacy", mid, attacks=["threshold", "rulebased"], samples=100)
    _, paths = file_report(st, mid, None, tmp_path / "out")
    report = load_report(paths["html"])
    result = reproduce(report, st)
    assert result["ok"], [r for r in result["rows"] if r["status"] != "reproduced"]
    assert {r["name"] for r in result["rows"]} == {"robustness", "fairness", "privacy"}
    assert result["counts"]["reproduced"] >= 20
    robust = next(r for r in result["rows"] if r["metric"] == "robust_accuracy@0.1")
    robust_claim = robust["claimed"]
    for a in report["audits"]:
        if a["name"] == "robustness":
            a["metrics"]["robust_accuracy@0.1"] = robust_claim + 0.2  # a claim nobody measured
    changed = reproduce(report, st)
    assert not changed["ok"]
    assert [r["metric"] for r in changed["rows"] if r["status"] == "edited"] == ["robust_accuracy@0.1"]
