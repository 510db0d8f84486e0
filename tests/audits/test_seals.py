"""Seals under attack: every word a reviewer signs ("approved", "verified", "reproduced", "intact") is refused, stale,
UNVERIFIED or detected when someone tries to make it lie, and a refused action changes nothing in the store.

The attacks are the ones of issue 34, run in-process through the CLI's own ``main`` (exit codes and messages as a user
sees them)."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from fmaudit.cli import main

LENIENT = "name: seal test\nchecks:\n  - {id: some, metric: model.accuracy, op: '>=', threshold: 0.1, requirement: r}\n"


def cli(capsys, home, *argv) -> tuple[int, str, str]:
    """``fmaudit ARGV --home HOME`` in this process: (exit status, stdout, stderr)."""
    capsys.readouterr()
    code = main([*argv, "--home", str(home)])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def signed_off(tmp_path, monkeypatch, capsys):
    """A store with users, a signing key, a logistic regression registered by alice, its performance audit, and
    carol's sign-off under a lenient policy: ``(home, store, model_id, policy_path)``."""
    from audits import run_stored_audit
    from audits.evidence import approve, load_policy
    from fmcore.security import add_user
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    home = tmp_path / "home"
    for name, role in (("alice", "auditor"), ("carol", "approver")):
        add_user(name, "a long enough password", role, home)
    assert cli(capsys, home, "keys", "init")[0] == 0
    st = Store(home)
    monkeypatch.setenv("FMAUDIT_USER", "alice")
    mid = train_model("german_credit", "logreg", TrainConfig(epochs=2), store=st).model_id
    run_stored_audit(st, "performance", mid, n_boot=20)
    policy = tmp_path / "lenient.yaml"
    policy.write_text(LENIENT)
    monkeypatch.setenv("FMAUDIT_USER", "carol")
    approve(st, mid, "carol", load_policy(policy))
    monkeypatch.setenv("FMAUDIT_USER", "alice")
    return home, st, mid, policy


def _edit_json(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))


def _reverse_classes(meta):
    meta["classes"] = meta["classes"][::-1]


def _mean_9999(spec):
    numeric = next(iter(spec["numeric"].values())) if isinstance(spec.get("numeric"), dict) else None
    if numeric is not None and "mean" in numeric:
        numeric["mean"] = 9999.0
    else:  # whatever the layout: the first number becomes 9999
        text = json.dumps(spec)
        import re

        spec.clear()
        spec.update(json.loads(re.sub(r"-?\d+\.\d+", "9999.0", text, count=1)))


def _flip_last_byte(path):
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


EDITS = {"model.safetensors": _flip_last_byte,
         "fmaudit.json": lambda p: _edit_json(p, _reverse_classes),
         "preprocess.json": lambda p: _edit_json(p, _mean_9999),
         "config.json": lambda p: p.write_text(p.read_text() + " "),
         "metrics.json": lambda p: p.write_text(p.read_text().replace("0.", "0.1", 1))}


@pytest.mark.parametrize("name", sorted(EDITS))
def test_a_changed_model_file_is_caught_by_every_seal_and_nothing_uses_it(signed_off, capsys, name):
    from audits.evidence import approve, load_policy, review

    home, st, mid, policy = signed_off
    folder = st.get_model(mid).path
    assert cli(capsys, home, "verify", "--log")[0] == 0
    assert cli(capsys, home, "review", "verify", "--model", mid, "--policy", str(policy))[0] == 0
    path = __import__("pathlib").Path(folder) / name
    assert path.is_file(), sorted(p.name for p in path.parent.iterdir())
    original = path.read_bytes()
    EDITS[name](path)
    assert path.read_bytes() != original
    code, out, _ = cli(capsys, home, "verify", "--log")
    assert code == 1
    assert f"{name} was modified on disk" in out
    code, out, _ = cli(capsys, home, "show", mid)
    assert "MODIFIED" in out
    assert f"{name} was modified on disk" in out
    code, out, _ = cli(capsys, home, "review", "verify", "--model", mid, "--policy", str(policy))
    assert code == 1
    assert "STALE" in out
    assert "files changed since" in out
    assert review.review_state(st, mid, load_policy(policy))["approved"] is False
    audits_before = len(st.list_audits(mid))
    code, _, err = cli(capsys, home, "audit", "performance", "--model", mid)
    assert code == 2
    assert "does not match its registered manifest" in err
    assert name in err
    assert len(st.list_audits(mid)) == audits_before  # nothing stored for a refused audit
    code, _, err = cli(capsys, home, "report", "--model", mid, "--policy", str(policy), "--out",
                       str(home.parent / "reports"))
    assert code == 2
    assert "does not match its registered manifest" in err
    with pytest.raises(review.ReviewRefused, match="files are not the registered ones"):
        approve(st, mid, "carol", load_policy(policy))
    path.write_bytes(original)  # put back: every seal holds again
    assert cli(capsys, home, "verify", "--log")[0] == 0
    assert cli(capsys, home, "review", "verify", "--model", mid, "--policy", str(policy))[0] == 0


def test_a_file_added_to_a_model_folder_is_caught(signed_off, capsys):
    home, st, mid, _ = signed_off
    (__import__("pathlib").Path(st.get_model(mid).path) / "tokenizer.json").write_text("{}")
    code, out, _ = cli(capsys, home, "verify", "--log")
    assert code == 1
    assert "tokenizer.json was added after registration" in out


def test_a_sign_off_counts_only_under_its_policy_and_reads_stale_when_anything_changes(signed_off, capsys,
                                                                                       monkeypatch):
    from audits import run_stored_audit
    from audits.evidence import approve, load_policy, review
    from audits.evidence._policy import SHIPPED

    home, st, mid, policy = signed_off
    lenient = load_policy(policy)
    assert review.review_state(st, mid, lenient)["approved"] is True
    # under another policy, or none, the same sign-off does not count
    eu = load_policy(SHIPPED / "eu_ai_act_high_risk.yaml")
    other = review.review_state(st, mid, eu)
    assert other["approved"] is False
    assert "was given under custom: seal test" in other["approvals"][0]["stale"][0]
    assert review.review_state(st, mid, None)["approved"] is False
    # the "(none)" policy cannot be approved; a failing policy cannot be approved without accepted risks
    with pytest.raises(review.ReviewRefused, match=r'the "\(none\)" policy cannot be approved'):
        approve(st, mid, "carol", None)
    strict = policy.with_name("strict.yaml")
    strict.write_text(LENIENT.replace("name: seal test", "name: strict").replace("0.1", "0.999"))
    events = len(st.events(10_000))
    with pytest.raises(review.ReviewRefused, match="no current risk acceptance"):
        approve(st, mid, "carol", load_policy(strict))
    assert len(st.events(10_000)) == events  # a refused sign-off writes nothing
    # the same policy name with other checks is another policy: the sign-off is stale under it
    policy.write_text(LENIENT.replace("0.1", "0.05"))
    changed = review.review_state(st, mid, load_policy(policy))
    assert changed["approved"] is False
    assert "was given under custom: seal test" in changed["approvals"][0]["stale"][0]
    policy.write_text(LENIENT)
    # new evidence (an audit after the sign-off) makes it stale too
    run_stored_audit(st, "performance", mid, n_boot=10)
    after = review.review_state(st, mid, lenient)
    assert after["approved"] is False
    assert any("evidence changed" in why for why in after["approvals"][0]["stale"])
    code, out, _ = cli(capsys, home, "review", "verify", "--model", mid, "--policy", str(policy))
    assert code == 1
    assert "evidence changed" in out
    # no signing key: no approval, and the reason says so
    (home / "keys" / "signing.key").unlink()
    with pytest.raises(review.ReviewRefused, match="no signing key"):
        approve(st, mid, "carol", lenient)


def test_reproduce_compares_with_the_claims_and_names_an_edited_one(signed_off, capsys, tmp_path):
    home, st, mid, policy = signed_off
    out = tmp_path / "reports"
    code, stdout, err = cli(capsys, home, "report", "--model", mid, "--policy", str(policy), "--out", str(out),
                            "--json")
    assert code == 0, err
    paths = json.loads(stdout)["paths"]
    code, stdout, _ = cli(capsys, home, "reproduce", paths["json"])
    assert code == 0, stdout
    assert "every claim reproduced" in stdout
    record = json.loads(open(paths["json"]).read())
    claimed = record["audits"][0]["metrics"]["accuracy"]
    for key, delta in (("accuracy", 0.01), ("balanced_accuracy", 1e-6)):  # one far, one well inside its interval
        edited = json.loads(json.dumps(record))
        edited["audits"][0]["metrics"][key] += delta
        path = tmp_path / f"edited-{key}.json"
        path.write_text(json.dumps(edited))
        code, stdout, _ = cli(capsys, home, "reproduce", str(path))
        assert code == 1, stdout
        assert f"the claim {key} = " in stdout
        assert "NOT reproduced" in stdout
    assert claimed == record["audits"][0]["metrics"]["accuracy"]
    # the signature envelope is not a report: exit 2 with a message, for reproduce and verify alike
    for command in ("reproduce", "verify"):
        code, _, err = cli(capsys, home, command, paths["intoto"])
        assert code == 2
        assert "is the signature envelope of a report" in err


def test_verify_says_unverified_without_a_key_and_exits_2_on_malformed_files(signed_off, capsys, tmp_path):
    from audits.evidence._dsse import envelope, statement
    from fmcore.store import content_hash

    home, st, mid, policy = signed_off
    out = tmp_path / "reports"
    paths = json.loads(cli(capsys, home, "report", "--model", mid, "--out", str(out), "--json")[1])["paths"]
    pub = str(home / "keys" / "signing.pub")
    assert cli(capsys, home, "verify", paths["json"], "--public-key", pub)[0] == 0
    code, stdout, _ = cli(capsys, home, "verify", paths["json"])
    assert code == 3
    assert "UNVERIFIED" in stdout
    assert cli(capsys, home, "verify", paths["json"], "--no-signature")[0] == 0
    # a forgery: a claim edited, its hash recomputed, the envelope remade without the key
    from pathlib import Path

    forged_dir = tmp_path / "forged"
    forged_dir.mkdir()
    record = json.loads(Path(paths["json"]).read_text())
    record["audits"][0]["metrics"]["accuracy"] = 0.99
    record["content_sha256"] = content_hash({k: v for k, v in record.items() if k not in ("content_sha256",
                                                                                           "signature")})
    forged = forged_dir / Path(paths["json"]).name
    forged.write_text(json.dumps(record))
    (forged_dir / Path(paths["intoto"]).name).write_text(json.dumps(envelope(statement(record, {"json": forged}))))
    code, stdout, _ = cli(capsys, home, "verify", str(forged))
    assert code == 3  # never "verified" without a signature
    assert "UNVERIFIED" in stdout
    code, stdout, _ = cli(capsys, home, "verify", str(forged), "--public-key", pub)
    assert code == 1
    assert "FAILED" in stdout
    # the first or last byte changed: a message and exit 2, no traceback
    for where in (0, -1):
        data = bytearray(Path(paths["json"]).read_bytes())
        data[where] = ord("x")
        broken = tmp_path / f"broken{where}.json"
        broken.write_bytes(bytes(data))
        code, _, err = cli(capsys, home, "verify", str(broken))
        assert code == 2
        assert "is not a report" in err


def test_the_trail_head_is_signed_so_truncation_deletion_and_reordering_are_detected(signed_off, capsys, tmp_path):
    from fmcore.signing import init_keys, load_private_key, sign_head

    home, st, mid, _ = signed_off
    for i in range(3):
        st.log_event("note", mid, {"i": i})
    code, out, _ = cli(capsys, home, "verify", "--log")
    assert code == 0
    assert "head signed" in out
    kept = json.loads(cli(capsys, home, "verify", "--log", "--json")[1])
    snapshot = tmp_path / "snapshot"
    shutil.copytree(home, snapshot)

    def db(fn):
        con = sqlite3.connect(home / "fmaudit.db")
        fn(con)
        con.commit()
        con.close()

    # cut the tail and rewrite the head to match, unsigned: detected
    db(lambda con: con.execute("DELETE FROM events WHERE seq = (SELECT max(seq) FROM events)"))
    last = sqlite3.connect(home / "fmaudit.db").execute("SELECT seq, hash FROM events ORDER BY seq DESC").fetchone()
    (home / "trail.head").write_text(f"{last[0]} {last[1]}\n")
    code, out, _ = cli(capsys, home, "verify", "--log")
    assert code == 1
    assert "trail.head is not signed by the store's key" in out
    # ... or signed with another key: detected
    other = load_private_key(init_keys(tmp_path / "other")["private_key"].rsplit("/keys/", 1)[0])
    (home / "trail.head").write_text(sign_head(other, *last) + "\n")
    assert cli(capsys, home, "verify", "--log")[0] == 1
    # a deleted event in the middle and two swapped events: detected by the chain
    for attack in ("DELETE FROM events WHERE seq = 3",
                   "UPDATE events SET seq = CASE seq WHEN 4 THEN 5 WHEN 5 THEN 4 END WHERE seq IN (4, 5)"):
        shutil.rmtree(home)
        shutil.copytree(snapshot, home)
        if "UPDATE" in attack:
            db(lambda con: (con.execute("UPDATE events SET seq = -1 WHERE seq = 4"),
                            con.execute("UPDATE events SET seq = 4 WHERE seq = 5"),
                            con.execute("UPDATE events SET seq = 5 WHERE seq = -1")))
        else:
            db(lambda con, sql=attack: con.execute(sql))
        code, out, _ = cli(capsys, home, "verify", "--log")
        assert code == 1, attack
    # the whole store rolled back to an earlier state of its own (validly signed then): only a head kept elsewhere
    # catches it
    shutil.rmtree(home)
    shutil.copytree(snapshot, home)
    st.log_event("note", mid, {"i": "later"})
    later = json.loads(cli(capsys, home, "verify", "--log", "--json")[1])
    shutil.rmtree(home)
    shutil.copytree(snapshot, home)
    assert cli(capsys, home, "verify", "--log")[0] == 0  # said plainly in docs/evidence.md
    code, out, _ = cli(capsys, home, "verify", "--log", "--expect-head", f"{later['seq']}:{later['head']}")
    assert code == 1
    assert "rolled back" in out
    assert cli(capsys, home, "verify", "--log", "--expect-head", f"{kept['seq']}:{kept['head']}")[0] == 0


def test_a_changed_or_escaping_dataset_file_is_refused_and_verify_log_names_it(tmp_path, capsys):
    import pandas as pd

    from fmcore.errors import DataValidationError
    from fmcore.store import Store
    from tests.conftest import write_csv

    home = tmp_path / "home"
    st = Store(home)
    rows = [{"x": i % 7, "g": "ab"[i % 2], "y": "no" if i % 3 else "yes"} for i in range(120)]
    st.add_dataset(write_csv(tmp_path / "mine.csv", rows), "y", ["g"], name="mine")
    assert cli(capsys, home, "verify", "--log")[0] == 0
    stored = st.get_dataset("mine")["path"]
    pd.DataFrame(rows[:-1]).to_csv(stored, index=False)
    code, out, _ = cli(capsys, home, "verify", "--log")
    assert code == 1
    assert "dataset 'mine'" in out
    assert "modified on disk" in out
    with pytest.raises(DataValidationError, match="modified on disk"):
        st.dataset_file("mine")
    # a record edited to point outside the store is never read
    secret = tmp_path / "secret.csv"
    secret.write_text("password,y\nhunter2,1\n")
    con = sqlite3.connect(home / "fmaudit.db")
    con.execute("UPDATE datasets SET path = ? WHERE name = 'mine'", (str(secret),))
    con.commit()
    con.close()
    code, out, err = cli(capsys, home, "scan-data", "--dataset", "mine")
    assert code == 2
    assert "outside the store" in err
    assert "hunter2" not in out + err


def test_restore_refuses_a_backup_whose_records_leave_the_store_before_writing_anything(signed_off, capsys, tmp_path):
    import io
    import tarfile

    from fmcore.errors import ConfigError
    from fmcore.store import restore

    home, st, mid, _ = signed_off
    archive = tmp_path / "good.tar.gz"
    assert cli(capsys, home, "backup", str(archive))[0] == 0
    _, check = restore(archive, tmp_path / "fine")
    assert check["ok"], check["problems"]
    for outside in ("/etc/passwd", "../../outside.csv", "artifacts/../../outside.csv"):
        work = tmp_path / "craft"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        with tarfile.open(archive) as tar:
            tar.extractall(work, filter="data")
        con = sqlite3.connect(work / "fmaudit.db")
        con.execute("INSERT INTO datasets (name, path, label, sha256, created_at) VALUES (?,?,?,?,?)",
                    ("stolen", outside, "y", "0" * 64, "2026-01-01"))
        con.commit()
        con.close()
        crafted = tmp_path / "crafted.tar.gz"
        with tarfile.open(crafted, "w:gz") as tar:
            for p in sorted(work.rglob("*")):
                if p.is_file():
                    tar.add(p, p.relative_to(work).as_posix())
            info = tarfile.TarInfo("note.txt")
            tar.addfile(info, io.BytesIO(b""))
        target = tmp_path / "target"
        with pytest.raises(ConfigError, match="outside the store"):
            restore(crafted, target)
        assert not target.exists()  # nothing written
        code, _, err = cli(capsys, tmp_path / "target2", "restore", str(crafted))
        assert code == 2
        assert "stolen" in err


# small real sizes for each audit kind on the digits CNN (the same parameters are recorded and replayed)
DIGITS_AUDITS = {
    "performance": {"n_boot": 50},
    "calibration": {"n_boot": 50},  # coverage_gap and ece_gap are null without groups: nulls must equal nulls
    "corruption": {"samples": 60, "severities": [1, 3], "corruptions": ["gaussian_noise", "contrast"]},
    "robustness": {"samples": 40, "eps": [0.1], "blackbox_check_samples": 0, "compare_fgsm": False},
    "explain": {"samples": 8, "n_boot": 50, "examples": 2, "recourse": False},
    "certified": {"samples": 10, "n": 100, "n0": 20, "radii": [0.0, 0.25]},
}


def test_an_untouched_report_of_every_image_audit_kind_reproduces_and_an_edited_one_does_not(trained_digits,
                                                                                            capsys, tmp_path):
    """The digits CNN with performance, calibration, corruption, robustness, explanation and certification audits:
    the filed report reproduces exactly (exit 0); one edited claim of each kind fails naming it (exit 1)."""
    from audits import run_stored_audit

    st, record = trained_digits
    for name, options in DIGITS_AUDITS.items():
        run_stored_audit(st, name, record.id, **options)
    out = tmp_path / "reports"
    code, stdout, err = cli(capsys, st.root, "report", "--model", record.id, "--out", str(out), "--json")
    assert code == 0, err
    paths = json.loads(stdout)["paths"]
    code, stdout, _ = cli(capsys, st.root, "reproduce", paths["html"], "--json")
    result = json.loads(stdout)
    assert code == 0, [r for r in result["rows"] if r["status"] != "reproduced"]
    assert {r["name"] for r in result["rows"]} >= set(DIGITS_AUDITS)
    calibration = {r["metric"]: r for r in result["rows"] if r["name"] == "calibration"}
    assert calibration["ece_gap"]["claimed"] is None
    assert calibration["ece_gap"]["status"] == "reproduced"
    record_json = json.loads(open(paths["json"]).read())
    for audit in record_json["audits"]:
        key = next(k for k, v in audit["metrics"].items() if isinstance(v, float))
        edited = json.loads(json.dumps(record_json))
        target = next(a for a in edited["audits"] if a["id"] == audit["id"])
        target["metrics"][key] = target["metrics"][key] + 1e-4
        path = tmp_path / f"edited-{audit['name']}.json"
        path.write_text(json.dumps(edited))
        code, stdout, _ = cli(capsys, st.root, "reproduce", str(path))
        assert code == 1, (audit["name"], key)
        assert f"the claim {key} = " in stdout
