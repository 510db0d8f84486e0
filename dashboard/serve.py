"""Start the dashboard's Streamlit server hardened: ``python -m dashboard.serve run dashboard/app.py ...``.

Six changes to Streamlit's own server, made before it starts:

- **No outside lookups.** Streamlit asks ``checkip.amazonaws.com`` for the machine's public address when it binds
  every interface (the "External URL" banner) and when a browser arrives from an unknown origin (its CORS
  allowlist). fmaudit never reaches outside the machine, so that lookup answers "unknown"; set
  ``server.corsAllowedOrigins`` for the names your users reach the server by.
- **No upload before sign-in.** The upload endpoint refuses (403, before reading the body) a session that has not
  signed in when sign-in is configured (``dashboard.auth.upload_refusal``), and any session that already holds 20
  uploads or 400 MB of them (413).
- **Downloads live with their session.** A file behind ``/media/`` (a report download) is served only while a
  connected session shows it: once the tab is closed, its links stop answering.
- **The session cookie is HttpOnly.** After sign-in the page posts its signed token to ``/_fmaudit/session``,
  which sets the cookie that keeps the session across reloads; no script in the page can read it afterwards.
- **A page's address connects at once.** Opened at ``/models``, Streamlit's page first asks ``/models/_stcore/health``
  (in case ``/models`` were the app's root behind a proxy), waits for the 404, then asks ``/_stcore/health``: 130-180
  ms of every first visit. The index page tells it which segments are our pages (``_connect_hint``), so it asks the
  app's root first; any other address is probed as before.
- **Elements leave as they are made.** The event loop that sends a page's elements takes the GIL from the thread
  running the page's script for every element it sends; Python lets it wait up to 5 ms each time, 0.5 ms here
  (``SWITCH_INTERVAL``).
"""

from __future__ import annotations

import sys
import threading


def _no_external_ip() -> None:
    return None


def _gated(route, gate):
    """``route`` with ``gate(request)`` checked first: a refusal (its reason) answers 403 or 404 at once."""
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    endpoint = route.endpoint

    async def guarded(request):
        refusal = gate(request)
        if refusal:
            status, text = refusal
            return PlainTextResponse(text, status_code=status)
        return await endpoint(request)

    methods = [m for m in (route.methods or ()) if m != "HEAD"] or None
    return Route(route.path, guarded, methods=methods, name=route.name)


MAX_HELD_FILES = 20  # uploads one session may hold in server memory at once
MAX_HELD_BYTES = 400 * 2**20


def _upload_gate(request):
    """Refuse before the body is read: a session that has not signed in (when sign-in is configured), or one that
    already holds ``MAX_HELD_FILES`` uploads or would hold more than ``MAX_HELD_BYTES``."""
    from streamlit.runtime import Runtime

    from dashboard.auth import upload_refusal

    session_id = request.path_params.get("session_id", "")
    reason = upload_refusal(session_id)
    if reason:
        return (403, reason)
    manager = Runtime.instance().uploaded_file_mgr
    with manager._lock:
        held = list(getattr(manager, "file_storage", {}).get(session_id, {}).values())
    incoming = int(request.headers.get("content-length") or 0)
    if len(held) >= MAX_HELD_FILES or sum(len(f.data) for f in held) + incoming > MAX_HELD_BYTES:
        return (413, f"This page already holds {len(held)} uploaded files; remove some before uploading more.")
    return None


_OWNERS: dict[str, set[str]] = {}  # media file id -> the sessions that were offered it
_OWNERS_LOCK = threading.Lock()


def _file_id(url_or_name: str) -> str:
    return url_or_name.rsplit("/", 1)[-1].split(".", 1)[0].split("?", 1)[0]


def _remember_owner(add):
    """Wrap ``MediaFileManager.add`` to remember which session each file was offered to (Streamlit forgets it at
    the start of every rerun, which a download click itself starts)."""

    def remembering(self, *args, **kwargs):
        from streamlit.runtime.media_file_manager import _get_session_id

        url = add(self, *args, **kwargs)
        with _OWNERS_LOCK:
            _OWNERS.setdefault(_file_id(url), set()).add(_get_session_id())
        return url

    return remembering


def _media_gate(request):
    """Serve a media file only while a connected session that was offered it is open."""
    from streamlit.runtime import Runtime

    runtime = Runtime.instance()
    with _OWNERS_LOCK:
        owners = set(_OWNERS.get(_file_id(request.path_params.get("file_id", "")), ()))
        if len(_OWNERS) > 10_000:  # forget files of sessions that ended
            for fid in [f for f, sids in _OWNERS.items() if not any(runtime.is_active_session(s) for s in sids)]:
                del _OWNERS[fid]
    if any(runtime.is_active_session(sid) for sid in owners):
        return None
    return (404, "This download has expired with the page that offered it; open the page again.")


def _harden() -> None:
    from streamlit import net_util
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.web.server.starlette import starlette_app

    net_util.get_external_ip = _no_external_ip
    MediaFileManager.add = _remember_owner(MediaFileManager.add)
    make_upload, make_media = starlette_app.create_upload_routes, starlette_app.create_media_routes

    def create_upload_routes(*args, **kwargs):
        return [_gated(r, _upload_gate) if "PUT" in (r.methods or ()) else r for r in make_upload(*args, **kwargs)]

    def create_media_routes(*args, **kwargs):
        return [_gated(r, _media_gate) for r in make_media(*args, **kwargs)]

    starlette_app.create_upload_routes = create_upload_routes
    starlette_app.create_media_routes = create_media_routes
    starlette_app.create_streamlit_routes = _with_session_route(starlette_app.create_streamlit_routes)


MAX_TOKEN_BYTES = 2048


def _same_origin(request) -> bool:
    """Whether the request comes from a page of this server: its Origin names the host it was sent to."""
    from urllib.parse import urlsplit

    origin = request.headers.get("origin")
    hosts = {request.headers.get("host"), request.headers.get("x-forwarded-host")} - {None}
    return bool(origin) and urlsplit(origin).netloc in hosts


async def _session_cookie(request):
    """``POST`` a session token: the answer sets it as the session cookie, HttpOnly and SameSite=Strict (Secure when
    the page is served over https), if the token is genuine and alive (``fmcore.security.session_user``). ``DELETE``
    clears it. Only from this server's own pages (a page elsewhere cannot sign a browser in or out)."""
    from starlette.responses import PlainTextResponse, Response

    from dashboard.auth import COOKIE
    from fmcore.config import home
    from fmcore.security import session_hours, session_user

    if not _same_origin(request):
        return PlainTextResponse("Only this server's pages may set its session cookie.", status_code=403)
    secure = request.url.scheme == "https" or request.headers.get("x-fmaudit-https") == "1"
    response = Response(status_code=204)
    if request.method == "DELETE":
        response.delete_cookie(COOKIE, path="/", secure=secure, httponly=True, samesite="strict")
        return response
    if int(request.headers.get("content-length") or 0) > MAX_TOKEN_BYTES:
        return PlainTextResponse("Not a session token.", status_code=413)
    token = (await request.body()).decode("ascii", "replace")
    if session_user(token, home()) is None:
        return PlainTextResponse("Not a valid session token.", status_code=403)
    response.set_cookie(COOKIE, token, max_age=int(session_hours() * 3600), path="/", secure=secure, httponly=True,
                        samesite="strict")
    return response


def _with_session_route(make_routes):
    """Streamlit's routes with the session cookie's (``dashboard.auth.session_url``, ``_session_cookie``) first."""

    def create(runtime):
        from starlette.routing import Route

        from dashboard.auth import session_url

        routes = make_routes(runtime)
        for route in routes:
            if getattr(route, "name", None) == "static-assets":
                _serve_index_with(route.app, _connect_hint(_page_paths()))
        return [Route(session_url(), _session_cookie, methods=["POST", "DELETE"]), *routes]

    return create


def _page_paths() -> list[str]:
    """The URL paths of the dashboard's pages: each page's file name in dashboard/views (``st.Page``'s default)."""
    from pathlib import Path

    return sorted(p.stem for p in (Path(__file__).resolve().parent / "views").glob("*.py") if p.stem != "__init__")


def _connect_hint(pages: list[str]) -> str:
    """A script for the index page: on one of ``pages``' addresses, the app's root is the address without its last
    segment, which Streamlit's page reads as ``window.__streamlit.BACKEND_BASE_URL`` and asks first (then that root's
    parent, as before). Elsewhere (the root, an unknown address) it sets nothing and Streamlit probes as it does."""
    import json

    script = ("(function () {var pages = PAGES; var path = location.pathname.replace(/\\/+$/, '');"
              " var cut = path.lastIndexOf('/'); if (cut >= 0 && pages.indexOf(path.slice(cut + 1)) >= 0)"
              " window.__streamlit = Object.assign({}, window.__streamlit,"
              " {BACKEND_BASE_URL: location.origin + path.slice(0, cut + 1)});})();")
    return "<script>" + script.replace("PAGES", json.dumps(pages)) + "</script>"


def _serve_index_with(static, head: str) -> None:
    """Have Streamlit's static files answer its index page (every page address) with ``head`` first in <head>."""
    import os

    from starlette.responses import HTMLResponse

    index = os.path.join(static.directory, "index.html")
    if not os.path.isfile(index):
        return
    with open(index, encoding="utf-8") as f:
        html = f.read().replace("<head>", "<head>" + head, 1)
    get_response = static.get_response

    async def with_head(path, scope):
        response = await get_response(path, scope)
        if getattr(response, "path", None) != index:
            return response
        headers = {k: v for k, v in response.headers.items()
                   if k.lower() not in ("content-length", "content-type", "etag", "last-modified")}
        return HTMLResponse(html, status_code=response.status_code, headers=headers)

    static.get_response = with_head


#: seconds a thread may hold the GIL while another waits for it (Python's default 0.005). The event loop sends a
#: page's elements one by one, taking the GIL back from the page's script each time: at 0.005 the Models and Data
#: pages' headings reached the browser at 1.23-1.28x a bare page's, at 0.0005 at 1.14x (bench, docs/dashboard.md)
SWITCH_INTERVAL = 0.0005


def main() -> int:
    """Harden the server, then hand over to Streamlit's own command line."""
    _harden()
    sys.setswitchinterval(SWITCH_INTERVAL)
    from streamlit.web import cli

    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
