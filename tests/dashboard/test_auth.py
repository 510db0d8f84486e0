"""Sign-in and roles: users from `fmaudit user add`; viewers read, auditors act; the trail names who."""

import pytest
from streamlit.testing.v1 import AppTest

from fmcore.security import add_user, authenticate, check_bind, check_password, hash_password
from tests.dashboard.test_pages import APP


@pytest.fixture
def users_home(home):
    add_user("vera", "viewer-password-1", "viewer", home)
    add_user("alice", "auditor-password-1", "auditor", home)
    return home


def _sign_in(name: str, password: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert [t.value for t in at.title] == ["fmaudit"]
    assert at.text_input(key="auth_password").proto.type == 1  # a password field
    at.text_input(key="auth_name").set_value(name)
    at.text_input(key="auth_password").set_value(password)
    next(b for b in at.button if b.label == "Sign in").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_passwords_are_hashed_and_checked():
    stored = hash_password("correct horse battery", iterations=1000)
    assert "correct" not in stored
    assert check_password("correct horse battery", stored)
    assert not check_password("correct horse batterY", stored)
    assert not check_password("anything", "plain-text-password")


def test_bind_needs_users(tmp_path):
    with pytest.raises(Exception, match="fmaudit user add"):
        check_bind("0.0.0.0", tmp_path)
    add_user("alice", "auditor-password-1", "auditor", tmp_path)
    check_bind("0.0.0.0", tmp_path)  # sign-in is configured: allowed
    assert "auditor-password-1" not in (tmp_path / "users.json").read_text()
    assert authenticate("alice", "wrong", tmp_path) is None
    assert authenticate("alice", "auditor-password-1", tmp_path) == {"name": "alice", "role": "auditor"}


def test_sign_in_is_required_and_wrong_passwords_are_refused(users_home):
    at = _sign_in("vera", "nope")
    assert any("wrong password" in w.value for w in at.warning)
    assert "user" not in at.session_state


def test_sign_in_limits_hold_across_reloads_and_are_in_the_trail(users_home, monkeypatch):
    """Six wrong passwords, each from a fresh session (a reload), then the right one: refused until the delay has
    passed; every failure and refusal is in the trail. (The limits' clock is held still, then moved on.)"""
    from fmcore import security

    class Clock:
        now = 1_000_000_000.0

        def time(self):
            return self.now

    clock = Clock()
    monkeypatch.setattr(security, "time", clock)
    for _ in range(6):
        at = _sign_in("alice", "wrong-password-x")
        assert "user" not in at.session_state
    at = _sign_in("alice", "auditor-password-1")  # a reload, then the right password
    assert "user" not in at.session_state
    assert any("try again in 3 s" in w.value for w in at.warning)
    from fmcore.store import Store

    events = Store(users_home).events_like("auth.%")
    assert [e["action"] for e in events] == ["auth.failure"] * 3 + ["auth.refused"] * 4
    assert all(e["details"]["user"] == "alice" for e in events)
    clock.now += 2.5  # the delay (2 s after the third failure) has passed: the right password is accepted
    at = _sign_in("alice", "auditor-password-1")
    assert at.session_state["user"]["name"] == "alice"


def test_sign_in_delays_per_account_and_address_never_lock_out_another_account(tmp_path):
    from fmcore.security import ACCOUNT_FREE_FAILURES, SPRAY_NAMES, SignInLimits

    limits = SignInLimits(tmp_path)
    assert [SignInLimits.delay_for(n) for n in range(1, 8)] == [0, 0, 2, 4, 8, 16, 32]
    for i in range(4):
        limits.failed("alice", None, now=1000.0 + i)  # a local attacker hammers alice
    assert limits.wait("alice", None, now=1003.0) == 4.0
    assert limits.wait("Alice ", None, now=1003.0) == 4.0  # the same account however typed
    assert limits.wait("bob", None, now=1003.0) == 0.0  # every local user shares the address: bob is not locked
    assert limits.wait("alice", "10.0.0.2", now=1003.0) == 0.0  # alice herself, from elsewhere, is not locked yet
    assert SignInLimits(tmp_path).wait("alice", None, now=1003.0) == 4.0  # a restart keeps them
    for i in range(ACCOUNT_FREE_FAILURES - 4):  # guessing alice's password from many places: the account waits
        limits.failed("alice", f"10.1.0.{i}", now=1003.0)
    assert limits.wait("alice", "10.0.0.2", now=1003.0) == 2.0
    assert limits.wait("bob", "10.0.0.2", now=1003.0) == 0.0
    for i in range(SPRAY_NAMES):  # spraying one password over many accounts from one address: that address waits
        limits.failed(f"user{i}", "10.9.9.9", now=1003.0)
    assert limits.wait("carol", "10.9.9.9", now=1003.0) == 2.0
    assert limits.wait("carol", "10.9.9.8", now=1003.0) == 0.0
    limits.succeeded("alice", None)
    assert limits.wait("alice", None, now=1003.0) == 0.0


def test_sign_ins_sent_at_the_same_moment_are_counted_one_by_one(tmp_path):
    """Ten wrong passwords at once: only the free three are checked, the others refused (one transaction each)."""
    from concurrent.futures import ThreadPoolExecutor

    from fmcore import security

    security.add_user("alice", "auditor-password-1", "auditor", tmp_path)
    checked = []
    real = security.authenticate

    def counting(name, password, home=None):
        checked.append(name)
        return real(name, password, home)

    security_authenticate = security.authenticate
    security.authenticate = counting
    try:
        with ThreadPoolExecutor(10) as pool:
            results = list(pool.map(lambda _: security.sign_in("alice", "wrong-password-x", None, tmp_path), range(10)))
    finally:
        security.authenticate = security_authenticate
    assert len(checked) == security.FREE_FAILURES
    assert sum(1 for user, wait in results if user is None and wait > 0) >= 10 - security.FREE_FAILURES
    assert security.SignInLimits(tmp_path).wait("bob", None) == 0.0


def test_public_bind_without_users_serves_nothing(home):
    from streamlit import config

    config.set_option("server.address", "0.0.0.0")
    try:
        at = AppTest.from_file(APP, default_timeout=60).run()
    finally:
        config.set_option("server.address", "127.0.0.1")
    assert any("serves nothing" in e.value for e in at.error)
    assert not any(c.value.startswith("Local mode") for c in at.sidebar.caption)
    from dashboard.auth import upload_refusal  # the upload endpoint (dashboard.serve) refuses too, body unread

    config.set_option("server.address", "0.0.0.0")
    try:
        assert "accepts no upload" in upload_refusal("any-session")
    finally:
        config.set_option("server.address", "127.0.0.1")
    assert upload_refusal("any-session") is None  # localhost without users: the single local user uploads


def test_removing_or_demoting_a_user_reaches_open_sessions(users_home):
    import json

    at = _sign_in("alice", "auditor-password-1")
    assert at.session_state["user"]["role"] == "auditor"
    users = json.loads((users_home / "users.json").read_text())
    users["alice"]["role"] = "viewer"
    (users_home / "users.json").write_text(json.dumps(users))
    at.run()
    assert at.session_state["user"]["role"] == "viewer"
    assert any("(viewer)" in c.value for c in at.sidebar.caption)
    del users["alice"]
    (users_home / "users.json").write_text(json.dumps(users))
    at.run()
    assert "user" not in at.session_state
    assert any("was removed" in i.value for i in at.info)


def test_viewer_reads_but_cannot_run_jobs(users_home):
    at = _sign_in("vera", "viewer-password-1")
    assert at.session_state["user"] == {"name": "vera", "role": "viewer"}
    assert any("Signed in as **vera** (viewer)" in c.value for c in at.sidebar.caption)
    at.switch_page("views/train.py")
    at.run()
    at.selectbox(key="train_dataset").set_value("digits").run()
    next(b for b in at.button if b.label == "Start training").click().run()
    assert any("Your role is viewer" in w.value for w in at.warning)  # a message, not an error box
    from fmcore.store import Store

    assert Store(users_home).list_models() == []


def test_auditor_runs_a_job_and_the_trail_names_them(users_home):
    at = _sign_in("alice", "auditor-password-1")
    at.switch_page("views/train.py")
    at.run()
    at.selectbox(key="train_dataset").set_value("german_credit").run()
    at.number_input(key="train_epochs").set_value(1)
    next(b for b in at.button if b.label == "Start training").click().run()
    from dashboard import services

    job = services._runner_at(str(users_home)).wait(at.session_state["train_job"], timeout=120)
    assert job.state == "done", job.error
    from fmcore.store import Store

    events = Store(users_home).events()
    assert events[0]["action"] == "model.register"
    assert events[0]["actor"] == "alice"


def test_oidc_when_configured_shows_its_sign_in(home, tmp_path):
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "s" * 32,
                          "client_id": "fmaudit", "client_secret": "x",
                          "server_metadata_url": "https://idp.example/.well-known/openid-configuration"}
    at.run()
    assert not at.exception
    assert any(b.label == "Sign in" for b in at.button)
    assert "Sign in with your organisation" in at.caption[0].value
    from fmcore.security import oidc_configured

    assert not oidc_configured(tmp_path)
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text('[auth]\nclient_id = "x"\n')
    assert oidc_configured(tmp_path)


def test_a_viewer_evaluates_policies_but_cannot_file_a_report(users_home):
    """The Report page for a viewer: the policy is evaluated, Generate is disabled, and filing through the engine
    with the viewer's name is refused with nothing written."""
    from audits.evidence import file_report
    from fmcore.data import load_dataset
    from fmcore.models import build_classifier
    from fmcore.security import RoleRefused
    from fmcore.store import ACTOR, Store

    store = Store(users_home)
    clf = build_classifier("logreg", load_dataset("german_credit"))
    model = store.register_model(clf, dataset="german_credit", metrics={"accuracy": 0.7}).id
    at = _sign_in("vera", "viewer-password-1")
    at.switch_page("views/report.py")
    at.run()
    assert not at.exception
    assert any(": incomplete**" in w.value for w in at.warning)  # the policy is evaluated for the viewer
    assert any("Shipped profile `eu_ai_act_high_risk.yaml`" in c.value for c in at.caption)
    generate = next(b for b in at.button if b.label == "Generate reports")
    assert generate.disabled
    token = ACTOR.set("vera")
    try:
        with pytest.raises(RoleRefused, match="role viewer"):
            file_report(store, model, None, users_home / "reports")
    finally:
        ACTOR.reset(token)
    assert not (users_home / "reports").exists()


def test_a_held_store_or_runner_checks_the_role_when_called(users_home):
    """A job panel refreshes itself with the runner it was given: demoting its user takes effect on the next call,
    without a full page run."""
    import json

    from streamlit.testing.v1 import AppTest

    script = ("import streamlit as st\nfrom dashboard import services\n"
              "st.session_state.setdefault('runner', services.get_runner())\n"
              "st.session_state['user'] = {'name': 'alice', 'role': 'auditor'}\n"
              "st.write('allowed' if st.session_state['runner'].allows('cancel') else 'refused')\n")
    at = AppTest.from_string(script, default_timeout=30).run()
    assert at.markdown[0].value == "allowed"
    users = json.loads((users_home / "users.json").read_text())
    users["alice"]["role"] = "viewer"
    (users_home / "users.json").write_text(json.dumps(users))
    at.run()
    assert at.markdown[0].value == "refused"
