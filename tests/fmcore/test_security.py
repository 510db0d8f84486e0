"""Names, YAML and policies as an attacker would write them: refused or shown as plain text, never executed."""

import pytest

from fmcore.errors import ConfigError


@pytest.mark.parametrize("name", ["![x](http://example.invalid/x.png)", "a\nb", "nul\x00", "<img src=x>",
                                  "[link](http://e)", " leading", "**bold**", "", "x" * 121, "`code`"])
def test_unsafe_names_are_refused(name):
    from fmcore.security import check_name

    with pytest.raises(ConfigError, match="not allowed"):
        check_name(name)


@pytest.mark.parametrize("name", ["credit v2", "género-model", "m (final)", "team/model: 3", "a.b+c@d"])
def test_ordinary_names_pass(name):
    from fmcore.security import check_name

    assert check_name(name) == name


def test_store_refuses_an_unsafe_model_name_before_writing(tmp_path):
    from fmcore.data import load_dataset
    from fmcore.models import build_classifier
    from fmcore.store import Store

    store = Store(tmp_path / "home")
    ds = load_dataset("german_credit")
    clf = build_classifier("logreg", ds)
    with pytest.raises(ConfigError):
        store.register_model(clf, dataset="german_credit", name="![x](http://example.invalid/x.png)")
    assert store.list_models() == []
    assert not any(store.models_dir.iterdir())


def test_plain_text_renders_markdown_as_typed():
    from dashboard.components.fmt import plain

    shown = plain("![x](http://example.invalid/x.png)\n# heading")
    assert "\n" not in shown
    assert "\\!\\[x\\]\\(http\\:" in shown  # every markdown character escaped: no image, no link, no heading


def test_yaml_alias_bomb_is_refused_at_once():
    import time

    from fmcore.config import safe_yaml

    bomb = "a: &a [" + ",".join(["x"] * 9) + "]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8))
    start = time.perf_counter()
    with pytest.raises(ConfigError, match="alias"):
        safe_yaml(bomb, "bomb.yaml")
    assert time.perf_counter() - start < 1
    with pytest.raises(ConfigError, match="deeper"):
        safe_yaml("[" * 5000 + "]" * 5000)
    assert safe_yaml("a: &x 1\nb: 2\n") == {"a": 1, "b": 2}  # an anchor alone is harmless


def test_policy_identity_by_content_hash(tmp_path):
    from audits.evidence import evaluate_policy, junit_xml, load_policy, parse_policy
    from audits.evidence._policy import SHIPPED
    from fmcore.store import Store

    text = (SHIPPED / "eu_ai_act_high_risk.yaml").read_text()
    shipped = load_policy(SHIPPED / "eu_ai_act_high_risk.yaml")
    assert shipped["shipped"] == "eu_ai_act_high_risk.yaml"
    assert shipped["label"] == "EU AI Act high-risk (example)"
    reformatted = parse_policy("# another comment\n" + text, "copy.yaml")  # comments and layout do not count
    assert reformatted["sha256"] == shipped["sha256"]
    assert reformatted["shipped"] == "eu_ai_act_high_risk.yaml"
    lenient = parse_policy(text.replace("threshold: 0.80", "threshold: 0.1"), "eu.yaml")
    assert lenient["shipped"] is None
    assert lenient["label"] == f"custom: EU AI Act high-risk (example) (sha256 {lenient['sha256'][:12]})"
    assert "check accuracy: threshold 0.1 instead of 0.8" in lenient["differs"]
    store = Store(tmp_path / "home")
    from fmcore.data import load_dataset
    from fmcore.models import build_classifier

    clf = build_classifier("logreg", load_dataset("german_credit"))
    model = store.register_model(clf, dataset="german_credit", metrics={"accuracy": 0.7}).id
    evaluation = evaluate_policy(lenient, store, model)
    assert evaluation["custom"] is True
    assert evaluation["policy_sha256"] == lenient["sha256"]
    assert f'name="custom: EU AI Act high-risk (example) (sha256 {lenient["sha256"][:12]})"' in junit_xml(
        evaluation, model)


def test_a_parquet_file_that_unpacks_past_the_limits_is_refused_from_its_metadata(tmp_path, monkeypatch):
    import numpy as np
    import pandas as pd

    from fmcore.errors import DataValidationError
    from fmcore.models._predictions import read_predictions

    path = tmp_path / "p.parquet"
    pd.DataFrame({"label": np.zeros(5000, int), "prediction": np.zeros(5000, int)}).to_parquet(path)
    assert len(read_predictions(path)) == 5000
    monkeypatch.setenv("FMAUDIT_MAX_CSV_ROWS", "1000")
    with pytest.raises(DataValidationError, match="unpacks to 5,000 rows"):
        read_predictions(path)


def test_the_client_address_behind_a_trusted_proxy_only():
    from fmcore.security import client_address

    assert client_address("10.0.0.9", None, "") == "10.0.0.9"
    assert client_address("10.0.0.9", "6.6.6.6", "") == "10.0.0.9"  # a header from anyone is ignored
    assert client_address("10.0.0.2", "6.6.6.6, 203.0.113.7", "10.0.0.2") == "203.0.113.7"  # the proxy's own entry
    assert client_address(None, "203.0.113.8", "127.0.0.1") == "203.0.113.8"  # a proxy on this machine
    assert client_address(None, "203.0.113.8", "") is None


def test_a_session_token_holds_only_while_genuine_unexpired_signed_in_and_unchanged(tmp_path):
    """The dashboard's cookie: a reload keeps the session, but an edited, expired, signed-out token, a changed
    password or a removed user ends it."""
    import json

    from fmcore.security import add_user, end_session, session_token, session_user

    add_user("alice", "a long passphrase", "auditor", tmp_path)
    token = session_token("alice", tmp_path)
    assert session_user(token, tmp_path) == "alice"
    assert (tmp_path / "keys" / "session.key").stat().st_mode & 0o777 == 0o600
    body, _, mac = token.rpartition(".")
    forged = session_token("alice", tmp_path).split(".")
    forged[0] = "Ym9i"  # "bob", keeping alice's signature
    assert session_user(".".join(forged), tmp_path) is None
    assert session_user(f"{body}.{'0' * len(mac)}", tmp_path) is None
    assert session_user("not a token", tmp_path) is None
    assert session_user(session_token("alice", tmp_path, hours=-1), tmp_path) is None  # expired
    other = session_token("alice", tmp_path)
    end_session(other)
    assert session_user(other, tmp_path) is None  # signed out
    assert session_user(token, tmp_path) == "alice"  # another session of hers is not
    add_user("alice", "another long passphrase", "auditor", tmp_path)  # a new password
    assert session_user(token, tmp_path) is None
    token = session_token("alice", tmp_path)
    users = json.loads((tmp_path / "users.json").read_text())
    users.pop("alice")
    (tmp_path / "users.json").write_text(json.dumps(users))
    assert session_user(token, tmp_path) is None  # removed
