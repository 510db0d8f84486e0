"""Sign-in for the dashboard: users from ``fmaudit user add`` (PBKDF2 hashes in the store folder).

Without users the dashboard is a single local auditor (and the CLI refuses to bind beyond localhost).
With users, every session signs in first; the user's name goes into the audit trail of everything they
do, and the viewer role is read-only (see ``services.ReadOnly``).
"""

from __future__ import annotations

import time

import streamlit as st

from fmcore.config import home
from fmcore.security import authenticate, load_users
from fmcore.store import ACTOR, actor

MAX_FAILURES = 5
LOCKOUT_S = 30


def _oidc() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all: OIDC is simply not configured
        return False


def _oidc_user() -> dict | None:
    """The OIDC-signed-in user (``st.login``), with the role ``fmaudit user add EMAIL --role ...`` gave them
    (viewer when none)."""
    if not st.user.get("is_logged_in"):
        st.title("fmaudit")
        st.caption("Sign in with your organisation's account to see and run audits.")
        st.button("Sign in", type="primary", on_click=st.login, key="auth_oidc")
        return None
    name = st.user.get("email") or st.user.get("name") or "unknown"
    role = load_users(home()).get(name, {}).get("role", "viewer")
    return {"name": name, "role": role, "oidc": True}


def signed_in_user() -> dict:
    """The session's user, after sign-in when it is configured (stops the script until then): Streamlit
    OIDC when secrets.toml has ``[auth]``, otherwise the users of ``fmaudit user add``."""
    if _oidc():
        user = _oidc_user()
        if user is None:
            st.stop()
        st.session_state["user"] = user
    elif not load_users(home()):
        user = {"name": actor(), "role": "auditor", "local": True}
    elif st.session_state.get("user"):
        user = st.session_state["user"]
    else:
        _sign_in_form()
        st.stop()
    ACTOR.set(user["name"])
    with st.sidebar:
        if user.get("local"):
            st.caption(f"Local mode: {user['name']} (auditor). Add users to require sign-in.")
        else:
            st.caption(f"Signed in as **{user['name']}** ({user['role']})")
            if st.button("Sign out", key="auth_out", icon=":material/logout:"):
                st.session_state.pop("user", None)
                if user.get("oidc"):
                    st.logout()
                st.rerun()
    return user


def _sign_in_form() -> None:
    st.title("fmaudit")
    st.caption("Sign in to see and run audits.")
    locked = st.session_state.get("auth_locked_until", 0) - time.time()
    with st.form("sign_in"):
        name = st.text_input("User", key="auth_name")
        password = st.text_input("Password", type="password", key="auth_password")
        go = st.form_submit_button("Sign in", type="primary", disabled=locked > 0)
    if locked > 0:
        st.error(f"Too many failed attempts; try again in {int(locked) + 1} s.")
        return
    if go:
        user = authenticate(name, password, home())
        if user:
            st.session_state["user"] = user
            st.session_state["auth_failures"] = 0
            st.rerun()
        failures = st.session_state.get("auth_failures", 0) + 1
        st.session_state["auth_failures"] = failures
        time.sleep(0.5)  # a little friction for guessing, on top of PBKDF2's cost
        if failures >= MAX_FAILURES:
            st.session_state["auth_locked_until"] = time.time() + LOCKOUT_S
            st.session_state["auth_failures"] = 0
            st.error(f"Too many failed attempts; try again in {LOCKOUT_S} s.")
        else:
            st.error("Unknown user or wrong password.")
