"""``python -m dashboard.serve``: what it changes in Streamlit's server before handing over to it."""

import sys


def test_the_server_hands_the_gil_to_its_event_loop_quickly(monkeypatch):
    """The thread that sends a page's elements to the browser waits at most 0.5 ms for the GIL held by the thread
    running the page's script (Python's default is 5 ms per element sent)."""
    from streamlit.web import cli

    from dashboard import serve

    seen = []
    monkeypatch.setattr(serve, "_harden", lambda: None)
    monkeypatch.setattr(cli, "main", lambda: seen.append(sys.getswitchinterval()) or 0)
    before = sys.getswitchinterval()
    try:
        assert serve.main() == 0
    finally:
        sys.setswitchinterval(before)
    assert seen == [serve.SWITCH_INTERVAL]
    assert serve.SWITCH_INTERVAL <= 0.0005 < before


def _ask(method: str, body: str = "", **headers):
    """``dashboard.serve._session_cookie``'s answer to a request to 127.0.0.1:8501 with these headers."""
    import asyncio

    from starlette.requests import Request

    from dashboard import serve

    raw = [(b"host", b"127.0.0.1:8501"), (b"content-length", str(len(body)).encode())]
    raw += [(k.replace("_", "-").lower().encode(), v.encode()) for k, v in headers.items()]
    sent = False

    async def receive():
        nonlocal sent
        chunk, sent = (b"" if sent else body.encode()), True
        return {"type": "http.request", "body": chunk, "more_body": False}

    scope = {"type": "http", "method": method, "path": "/_fmaudit/session", "headers": raw, "scheme": "http",
             "server": ("127.0.0.1", 8501), "query_string": b""}
    return asyncio.run(serve._session_cookie(Request(scope, receive)))


def test_the_session_cookie_is_set_httponly_by_the_server_for_a_genuine_token_from_its_own_pages(home):
    """The page posts its token; the server answers with the cookie, HttpOnly and SameSite=Strict, for as long as the
    token lives, Secure when the page is on https. A forged token, another site's page or no Origin: refused."""
    from fmcore.security import add_user, session_token

    add_user("alice", "auditor-password-1", "auditor", home)
    token = session_token("alice", home)
    own = {"origin": "http://127.0.0.1:8501"}
    answer = _ask("POST", token, **own)
    assert answer.status_code == 204
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"fmaudit_session={token};")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Max-Age=28800" in cookie  # 8 hours, as the token
    assert "Secure" not in cookie
    assert "Secure" in _ask("POST", token, x_fmaudit_https="1", **own).headers["set-cookie"]
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")
    assert _ask("POST", forged, **own).status_code == 403
    assert "set-cookie" not in _ask("POST", forged, **own).headers
    assert _ask("POST", token, origin="http://elsewhere.example").status_code == 403
    assert _ask("POST", token).status_code == 403  # no Origin: not a page's fetch
    assert _ask("POST", "x" * 5000, **own).status_code == 413
    cleared = _ask("DELETE", **own)
    assert cleared.status_code == 204
    assert cleared.headers["set-cookie"].startswith('fmaudit_session="";')
    assert "Max-Age=0" in cleared.headers["set-cookie"]
    assert _ask("DELETE", origin="http://elsewhere.example").status_code == 403  # nor sign a browser out


def test_the_index_page_names_the_apps_root_on_every_page_address():
    """Every page the frame declares is one ``_connect_hint`` knows (so its address connects at the app's root at
    once), and the hint is written first in the index page Streamlit's static files answer for a page's address."""
    import asyncio
    import re
    from pathlib import Path

    from streamlit import file_util
    from streamlit.web.server.starlette.starlette_static_routes import create_streamlit_static_handler

    from dashboard import serve

    frame = (Path(serve.__file__).parent / "app.py").read_text()
    declared = set(re.findall(r'st\.Page\(VIEWS / "(\w+)\.py"', frame))
    assert len(declared) >= 18
    assert declared <= set(serve._page_paths())
    assert "url_path" not in frame  # each page's address is its file's name
    static = create_streamlit_static_handler(file_util.get_static_dir(), None)
    serve._serve_index_with(static, serve._connect_hint(serve._page_paths()))
    scope = {"type": "http", "method": "GET", "path": "/models", "headers": [], "query_string": b""}
    page = asyncio.run(static.get_response("models", scope))
    html = page.body.decode()
    assert html.index("BACKEND_BASE_URL") < html.index('<script type="module"')  # before Streamlit's own code runs
    assert '"models"' in html
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    asset = asyncio.run(static.get_response("favicon.png", {**scope, "path": "/favicon.png"}))
    assert "BACKEND_BASE_URL" not in getattr(asset, "body", b"").decode("latin-1")
