"""Sign-in for the dashboard: users from ``fmaudit user add`` (PBKDF2 hashes in the store folder).

Without users the dashboard is a single local auditor, and only on localhost: with a public bind and no readable
users file (nor OIDC) it refuses to serve. With users, every session signs in first; failed sign-ins are counted on
the server per user name and per client address (``fmcore.security.SignInLimits``), so a reload or a new tab does not
reset them; each failure and refusal is in the audit trail. The user's role is read from the users file on every
run, so removing or demoting a user takes effect on their open sessions at their next click.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import streamlit as st

from dashboard.components.fmt import plain
from fmcore.config import home
from fmcore.errors import FmauditError
from fmcore.security import (
    LOCAL_HOSTS,
    auth_configured,
    client_address,
    end_session,
    load_users,
    session_token,
    session_user,
    sign_in,
)
from fmcore.store import ACTOR, actor

#: the cookie that keeps a signed-in session across reloads: a signed, expiring token (``session_token``), set
#: HttpOnly by the server's ``SESSION_PATH`` endpoint (``dashboard.serve``), so no script in the page can read it
COOKIE = "fmaudit_session"
SESSION_PATH = "_fmaudit/session"

_SIGNED_IN: set[str] = set()  # Streamlit session ids that have signed in (this server process)
_LOCK = threading.Lock()


def _session_id() -> str | None:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx else None


def _mark(signed_in: bool) -> None:
    sid = _session_id()
    if sid:
        with _LOCK:
            (_SIGNED_IN.add if signed_in else _SIGNED_IN.discard)(sid)


def upload_refusal(session_id: str) -> str | None:
    """Why the server refuses an upload from ``session_id`` before reading its body (``dashboard.serve``): when
    sign-in is configured, only sessions that signed in may upload. None when the upload may proceed."""
    try:
        required = auth_configured(home(), Path(__file__).resolve().parent.parent)
    except (FmauditError, OSError):
        required = True  # an unreadable users file: fail closed
    if not required:
        if _public_bind():  # refusal mode: a public bind without sign-in serves nothing, uploads included
            return "This server listens beyond localhost without sign-in, so it serves nothing and accepts no upload."
        return None
    with _LOCK:
        signed = session_id in _SIGNED_IN
    return None if signed else "Sign in first: uploads are refused before sign-in."


def _oidc() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all: OIDC is simply not configured
        return False


def _oidc_user(users: dict) -> dict | None:
    """The OIDC-signed-in user (``st.login``), with the role ``fmaudit user add EMAIL --role ...`` gave them
    (viewer when none)."""
    if not st.user.get("is_logged_in"):
        st.title("fmaudit")
        st.caption("Sign in with your organisation's account to see and run audits.")
        st.button("Sign in", type="primary", on_click=st.login, key="auth_oidc")
        return None
    name = st.user.get("email") or st.user.get("name") or "unknown"
    role = users.get(name, {}).get("role", "viewer")
    return {"name": name, "role": role, "oidc": True}


def _public_bind() -> bool:
    address = st.get_option("server.address")
    return not address or address not in LOCAL_HOSTS


def _users_or_stop() -> dict:
    """The users file, read now; an unreadable one stops every page (fail closed), never turns sign-in off."""
    try:
        return load_users(home())
    except (FmauditError, OSError) as exc:
        st.title("fmaudit")
        st.error(f"Sign-in cannot be checked, so nothing is served: {plain(exc)}")
        st.stop()


def _cookie_user(users: dict) -> dict | None:
    """The user the session cookie names, while its token holds (``session_user``) and the user still exists."""
    token = st.context.cookies.get(COOKIE)
    name = session_user(token, home()) if isinstance(token, str) else None
    if name is None or name not in users:
        return None
    st.session_state["session_token"] = token
    return {"name": name, "role": users[name]["role"]}


def session_ready() -> bool:
    """Whether this session may see the pages now (no sign-in form to show first); draws nothing. The frame
    declares its navigation hidden until then, so the page in the address survives sign-in. A reload resumes the
    session here from its signed cookie (``signed_in_user`` then finds it signed in), never by the password."""
    try:
        users = load_users(home())
    except (FmauditError, OSError):
        return False
    if _oidc():
        return bool(st.user.get("is_logged_in"))
    if not users:
        return not _public_bind()
    if not st.session_state.get("user") and (resumed := _cookie_user(users)) is not None:
        st.session_state["user"] = resumed
    return bool(st.session_state.get("user"))


def session_url() -> str:
    """The path of the endpoint that sets and clears the session cookie, under the server's base URL."""
    from streamlit.url_util import make_url_path

    return make_url_path(st.get_option("server.baseUrlPath") or "", SESSION_PATH)


def _write_cookie(token: str | None) -> None:
    """Have the server set (or, with None, clear) the session cookie: the page posts the token to ``session_url``,
    which answers with an HttpOnly, SameSite=Strict cookie (Secure over https), so the token is in the page's
    script once, not readable from it afterwards."""
    call = {"method": "POST", "body": token} if token else {"method": "DELETE"}
    st.html(f"<script>fetch({json.dumps(session_url())}, Object.assign({json.dumps(call)}, "
            "{credentials: 'same-origin', headers: {'X-Fmaudit-Https': location.protocol === 'https:' ? '1' : '0'}}"
            "));</script>", unsafe_allow_javascript=True)


def signed_in_user() -> dict:
    """The session's user, after sign-in when it is configured (stops the script until then): Streamlit
    OIDC when secrets.toml has ``[auth]``, otherwise the users of ``fmaudit user add``."""
    users = _users_or_stop()
    if _oidc():
        user = _oidc_user(users)
        if user is None:
            st.stop()
        st.session_state["user"] = user
    elif not users:
        if _public_bind():
            st.title("fmaudit")
            st.error("This server listens beyond localhost and no sign-in is configured (no users file, or an empty "
                     "one), so it serves nothing. Add users (`fmaudit user add NAME --role auditor`) or bind to "
                     "127.0.0.1.")
            st.stop()
        user = {"name": actor(), "role": "auditor", "local": True}
    elif st.session_state.get("user"):
        user = _current(st.session_state["user"], users)
    else:  # not signed in (a reload with a valid cookie was already resumed by ``session_ready``, run first)
        if st.session_state.pop("clear_cookie", False):
            _write_cookie(None)
        _sign_in_form()
        st.stop()
    if st.session_state.get("set_cookie"):
        _write_cookie(st.session_state.pop("set_cookie"))
    ACTOR.set(user["name"])
    if not user.get("local"):
        _mark(True)
    with st.sidebar:
        if user.get("local"):
            st.caption(f"Local mode: {user['name']} (auditor). Add users to require sign-in.")
        else:
            st.caption(f"Signed in as **{plain(user['name'])}** ({user['role']})")
            if st.button("Sign out", key="auth_out", icon=":material/logout:"):
                st.session_state.pop("user", None)
                end_session(st.session_state.pop("session_token", None))
                st.session_state["clear_cookie"] = True
                _mark(False)
                if user.get("oidc"):
                    st.logout()
                st.rerun()
    return user


def _current(user: dict, users: dict) -> dict:
    """The session's user as the users file says now: removed -> signed out; another role -> that role."""
    now = users.get(user["name"])
    if now is None:
        st.session_state.pop("user", None)
        _mark(False)
        st.session_state["auth_notice"] = f"The account {user['name']} was removed; sign in with another one."
        st.rerun()
    if now["role"] != user["role"]:
        user = {**user, "role": now["role"]}
        st.session_state["user"] = user
        st.toast(f"Your role is now {now['role']}.")
    return user


def _trail(action: str, details: dict) -> None:
    """A sign-in event in the store's audit trail, acted by the name that was tried."""
    from dashboard import services

    token = ACTOR.set(f"(sign-in) {details.get('user', '')}"[:80])
    try:
        services.raw_store().log_event(action, str(details.get("user", ""))[:80], details)
    finally:
        ACTOR.reset(token)


def _sign_in_form() -> None:
    st.title("fmaudit")
    st.caption("Sign in to see and run audits.")
    notice = st.session_state.pop("auth_notice", None)
    if notice:
        st.info(notice)
    with st.form("sign_in"):
        name = st.text_input("User", key="auth_name", max_chars=64)
        password = st.text_input("Password", type="password", key="auth_password", max_chars=256)
        go = st.form_submit_button("Sign in", type="primary")
    if not go:
        return
    peer = st.context.ip_address
    peer = peer if isinstance(peer, str) else None  # None on localhost (and in tests)
    forwarded = st.context.headers.get("X-Forwarded-For")  # used only from a trusted proxy
    address = client_address(peer, forwarded if isinstance(forwarded, str) else None)
    user, wait = sign_in(name, password, address, home(), log=_trail)
    if user:
        st.session_state["user"] = user
        st.session_state["session_token"] = st.session_state["set_cookie"] = session_token(user["name"], home())
        st.rerun()
    time.sleep(0.5)  # a little friction for guessing, on top of PBKDF2's cost
    if wait > 0:
        until = time.strftime("%H:%M:%S", time.localtime(time.time() + wait))
        st.warning(f"Too many failed sign-ins for this user or from this address: try again in {int(wait) + 1} s "
                   f"(after {until}). Each further failure doubles the wait.")
    else:
        st.warning("Unknown user or wrong password.")
