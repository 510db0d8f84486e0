"""Security defaults shared by the CLI and the dashboard: binding, users, password hashes, roles.

Users live in ``$FMAUDIT_HOME/users.json`` (``fmaudit user add NAME --role viewer|auditor``) with
PBKDF2-SHA256 password hashes (600,000 iterations, per-user salt), never plain passwords. When users
exist the dashboard requires sign-in; without users it serves only on localhost as a single local
auditor. Roles: ``viewer`` reads and downloads reports; ``auditor`` also runs jobs, uploads and deletes;
``approver`` can do what an auditor does and also signs off a model version another user registered.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from pathlib import Path

from .errors import ConfigError, FmauditError

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
ROLES = ("viewer", "auditor", "approver")
ITERATIONS = 600_000
NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def users_path(home: str | Path | None = None) -> Path:
    """The dashboard users file of the store at ``home`` (``users.json``)."""
    from .config import home as default_home

    return Path(home) if home else default_home()


def _users_file(home=None) -> Path:
    return users_path(home) / "users.json"


def hash_password(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """A PBKDF2-SHA256 hash of ``password`` with a random (or given) salt, as one string."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    """True when ``password`` matches the ``stored`` hash (constant-time comparison)."""
    try:
        scheme, iterations, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2_sha256":
        return False
    got = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    return hmac.compare_digest(got, base64.b64decode(digest))


def load_users(home=None) -> dict[str, dict]:
    """Dashboard users by name (``role``, password hash); empty without a users file."""
    path = _users_file(home)
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc}); fix or remove it.") from None


def add_user(name: str, password: str, role: str, home=None) -> None:
    """Add or replace dashboard user ``name`` with ``role`` (viewer, auditor or approver); the file stays mode
    600."""
    if not NAME.match(name):
        raise ConfigError("A user name is 1-64 letters, digits, or . _ @ -.")
    if role not in ROLES:
        raise ConfigError(f"Role {role!r} is not one of {', '.join(ROLES)}.")
    if len(password) < 10:
        raise ConfigError("Use a password of at least 10 characters.")
    users = load_users(home)
    users[name] = {"role": role, "password": hash_password(password)}
    path = _users_file(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-users.json")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others, even briefly
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(users, indent=2))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def authenticate(name: str, password: str, home=None) -> dict | None:
    """``{"name", "role"}`` when the password matches; ``None`` otherwise (same work either way)."""
    user = load_users(home).get(name)
    stored = user["password"] if user else hash_password("x" * 12, b"0" * 16)
    ok = check_password(password, stored)
    return {"name": name, "role": user["role"]} if ok and user else None


class RoleRefused(FmauditError):
    """A step the acting user's role does not allow, with the reason."""


#: who may do what, declared once. ``write``: every method of ``Store`` marked ``@writes`` (``Store.WRITES``), so every
#: command, page and job that changes the store; ``review``: findings, comments, assignments; ``approve``: a sign-off;
#: ``trust``: trusting types in an uploaded scikit-learn model beyond the built-in list
PERMISSIONS = {"write": ("auditor", "approver"), "review": ("auditor", "approver"), "approve": ("approver",),
               "trust": ("approver",)}
WRITERS = PERMISSIONS["write"]


def may(role: str | None, action: str) -> bool:
    """Whether ``role`` may do ``action`` (a key of ``PERMISSIONS``)."""
    return role in PERMISSIONS[action]


def require(user: str, action: str, what: str, home=None) -> str:
    """``user``'s role when it may do ``action``; otherwise ``RoleRefused`` naming ``what`` needed it."""
    return require_role(user, PERMISSIONS[action], what, home)


def role_of(user: str, home=None) -> str:
    """``user``'s role from the users file; without users (local single-user mode), ``auditor``."""
    users = load_users(home)
    if not users:
        return "auditor"
    if user not in users:
        raise RoleRefused(f"{user!r} is not a user of this store: set FMAUDIT_USER to your user name, or ask an "
                          f"administrator for one (fmaudit user add {user} --role ...).")
    return users[user]["role"]


def require_role(user: str, roles: tuple[str, ...], what: str, home=None) -> str:
    """``user``'s role when it is one of ``roles``; otherwise ``RoleRefused`` naming what needed it."""
    role = role_of(user, home)
    if role not in roles:
        raise RoleRefused(f"{user} has the role {role}: {what} needs the role {' or '.join(roles)}.")
    return role


def oidc_configured(folder: str | Path | None = None) -> bool:
    """True when Streamlit's OIDC sign-in (``st.login``) is set up: an ``[auth]`` table in secrets.toml."""
    import tomllib

    candidates = [Path(folder or ".") / ".streamlit" / "secrets.toml", Path.home() / ".streamlit" / "secrets.toml"]
    for path in candidates:
        if path.is_file():
            try:
                if "auth" in tomllib.loads(path.read_text(encoding="utf-8")):
                    return True
            except (tomllib.TOMLDecodeError, UnicodeDecodeError):
                continue
    return False


def auth_configured(home=None, app_folder=None) -> bool:
    """Sign-in exists: users from ``fmaudit user add``, or Streamlit OIDC (``[auth]`` in secrets.toml)."""
    return bool(load_users(home)) or oidc_configured(app_folder)


def check_bind(host: str, home=None) -> None:
    """Refuse to serve beyond localhost unless sign-in is configured (at least one user)."""
    if host in LOCAL_HOSTS:
        return
    if not auth_configured(home, Path(__file__).resolve().parent.parent):
        raise FmauditError(
            f"Refusing to serve on {host}: no sign-in is configured, so anyone who can reach that address could "
            "read and change your models. Use --host 127.0.0.1 (the default), or add users first: "
            "`fmaudit user add NAME --role auditor` (or viewer), or configure OIDC in .streamlit/secrets.toml "
            "([auth]); the dashboard then requires sign-in.")


SAFE_NAME = re.compile(r"^[^\W_][\w .,:+()/@-]{0,119}$")
SAFE_NAME_RULE = ("1-120 letters, digits, spaces or . , : + ( ) / @ _ -, starting with a letter or digit "
                  "(no markdown, HTML, line breaks or control characters)")


def check_name(name: str, what: str = "name") -> str:
    """``name`` when it is in the safe character set (``SAFE_NAME_RULE``); ``ConfigError`` otherwise. Model and
    dataset names are shown on every page, so they never carry markdown, HTML, newlines or NUL."""
    if not isinstance(name, str) or not SAFE_NAME.fullmatch(name) or name != name.strip():
        raise ConfigError(f"The {what} {name!r} is not allowed: use {SAFE_NAME_RULE}.")
    return name


def safe_file_name(name: str, default: str = "upload") -> str:
    """A file name made of the safe set only (other characters become ``_``), for files written from uploads."""
    base = re.sub(r"[^\w.+-]", "_", Path(str(name)).name)[:120].lstrip(".")
    return base or default


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value):
    """A cell a spreadsheet will not run: text starting with = + - @ tab or CR gets a leading apostrophe
    (OWASP's advice for CSV injection); numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_csv(rows: list[dict]) -> str:
    """Rows as CSV text with every cell passed through ``csv_safe``."""
    import csv
    import io

    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: csv_safe(v) for k, v in row.items()})
    return out.getvalue()


# -- sign-in limits --------------------------------------------------------------------------------------------------
FREE_FAILURES = 3  # wrong passwords of one account from one address before any delay
FIRST_DELAY_S = 2.0  # then 2 s, 4 s, 8 s ... doubling with each further failure
MAX_DELAY_S = 900.0
ACCOUNT_FREE_FAILURES = 10  # wrong passwords of one account from all addresses together (guessing from many places)
SPRAY_NAMES = 10  # accounts failed from one address before that address waits (password spraying)


class SignInLimits:
    """Failed sign-ins counted on the server in ``signin.db`` beside the users file (they survive reloads, new
    sessions and restarts), three ways, each with a delay that doubles with every further failure (2 s, 4 s, ... at
    most 15 min):

    - one account from one address: after ``FREE_FAILURES`` failures;
    - one account from every address together: after ``ACCOUNT_FREE_FAILURES``;
    - one address over many accounts (spraying): once ``SPRAY_NAMES`` different accounts failed from it.

    So hammering one account never locks another account out, not even from the same address (every local user
    shares one). Each attempt is one transaction: the delay is checked and the attempt counted as a failure before
    the password is checked, so attempts sent at the same moment are counted one after another, never all checked;
    a correct password clears the account's counts."""

    def __init__(self, home=None):
        path = users_path(home) / "signin.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        con = self._connect()
        try:
            con.execute("CREATE TABLE IF NOT EXISTS failures (key TEXT PRIMARY KEY, count INTEGER NOT NULL, "
                        "last REAL NOT NULL)")
        finally:
            con.close()

    def _connect(self):
        import sqlite3

        return sqlite3.connect(self._path, timeout=30, isolation_level=None)

    @staticmethod
    def _name(name: str) -> str:
        return name.strip().lower()[:128]

    @classmethod
    def _pair(cls, name: str, address: str | None) -> str:
        return f"pair:{address or 'local'}|{cls._name(name)}"

    @classmethod
    def _account(cls, name: str) -> str:
        return f"user:{cls._name(name)}"

    @staticmethod
    def delay_for(count: int, free: int = FREE_FAILURES) -> float:
        """Seconds to wait after ``count`` consecutive failures when ``free`` of them cost nothing."""
        if count < free:
            return 0.0
        return min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** (count - free))

    def _wait(self, con, name: str, address: str | None, now: float) -> float:
        def row(key):
            return con.execute("SELECT count, last FROM failures WHERE key = ?", (key,)).fetchone() or (0, now)

        pair, account = row(self._pair(name, address)), row(self._account(name))
        prefix = f"pair:{address or 'local'}|"
        names, last = con.execute("SELECT count(*), coalesce(max(last), 0) FROM failures WHERE substr(key, 1, ?) = ?",
                                  (len(prefix), prefix)).fetchone()
        waits = [pair[1] + self.delay_for(pair[0]) - now,
                 account[1] + self.delay_for(account[0], ACCOUNT_FREE_FAILURES) - now,
                 last + self.delay_for(names - SPRAY_NAMES + FREE_FAILURES) - now if names >= SPRAY_NAMES else 0.0]
        return max(0.0, *waits)

    def wait(self, name: str, address: str | None, now: float | None = None) -> float:
        """Seconds before ``name`` may try again from ``address`` (0 when it may try now)."""
        now = time.time() if now is None else now
        con = self._connect()
        try:
            return self._wait(con, name, address, now)
        finally:
            con.close()

    def attempt(self, name: str, address: str | None, now: float | None = None) -> tuple[float, int]:
        """In one transaction: the seconds to wait (and nothing counted) when a delay runs; otherwise ``(0, n)`` with
        the attempt counted as the account's ``n``-th failure from this address until ``succeeded`` clears it."""
        now = time.time() if now is None else now
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")  # one attempt at a time: read, decide and count together
            wait = self._wait(con, name, address, now)
            if wait > 0:
                con.execute("COMMIT")
                return wait, 0
            for key in (self._pair(name, address), self._account(name)):
                con.execute("INSERT INTO failures (key, count, last) VALUES (?, 1, ?) ON CONFLICT(key) DO UPDATE SET "
                            "count = count + 1, last = excluded.last", (key, now))
            count = con.execute("SELECT count FROM failures WHERE key = ?", (self._pair(name, address),)).fetchone()[0]
            con.execute("COMMIT")
            return 0.0, count
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        finally:
            con.close()

    def failed(self, name: str, address: str | None, now: float | None = None) -> int:
        """Count one failure of ``name`` from ``address`` (whatever the delays); returns the pair's count."""
        now = time.time() if now is None else now
        con = self._connect()
        try:
            for key in (self._pair(name, address), self._account(name)):
                con.execute("INSERT INTO failures (key, count, last) VALUES (?, 1, ?) ON CONFLICT(key) DO UPDATE SET "
                            "count = count + 1, last = excluded.last", (key, now))
            return con.execute("SELECT count FROM failures WHERE key = ?", (self._pair(name, address),)).fetchone()[0]
        finally:
            con.close()

    def succeeded(self, name: str, address: str | None) -> None:
        """Clear the account's failures (from this address and in all)."""
        con = self._connect()
        try:
            con.execute("DELETE FROM failures WHERE key IN (?, ?)", (self._pair(name, address), self._account(name)))
        finally:
            con.close()


def client_address(peer: str | None, forwarded_for: str | None, trusted: str | None = None) -> str | None:
    """The address sign-in limits count a client by. Behind a reverse proxy every connection comes from the proxy, so
    when ``peer`` is one of ``trusted`` (``FMAUDIT_TRUSTED_PROXIES``, comma-separated; ``peer`` None is localhost) the
    right-most ``X-Forwarded-For`` entry, which that proxy wrote, names the client. Otherwise the peer itself: a
    header from anyone else is ignored (anyone can send one)."""
    trusted = os.environ.get("FMAUDIT_TRUSTED_PROXIES", "") if trusted is None else trusted
    proxies = {p.strip() for p in trusted.split(",") if p.strip()}
    peer_name = peer or "127.0.0.1"
    if forwarded_for and peer_name in proxies:
        hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
        if hops:
            return hops[-1][:64]
    return peer


def sign_in(name: str, password: str, address: str | None = None, home=None, log=None) -> tuple[dict | None, float]:
    """Check a sign-in against the server-side limits: ``(user, 0)`` on success; ``(None, seconds)`` when refused,
    with the seconds before the next attempt may be made (0 when it may be made at once). While a delay runs the
    password is not even checked. ``log(action, details)`` records failures and refusals (the audit trail)."""
    limits = SignInLimits(home)
    wait, count = limits.attempt(name, address)  # counted as a failure before the password is checked
    if wait > 0:
        if log:
            log("auth.refused", {"user": name, "address": address, "wait_s": round(wait, 1)})
        return None, wait
    user = authenticate(name, password, home)
    if user:
        limits.succeeded(name, address)
        if log:
            log("auth.signin", {"user": name, "address": address})
        return user, 0.0
    if log:
        log("auth.failure", {"user": name, "address": address, "failures": count})
    return None, SignInLimits.delay_for(count)


#: how long a signed-in dashboard session survives reloads (its cookie's life), in hours
SESSION_HOURS = 8.0


def session_hours() -> float:
    """How long a session lasts: ``FMAUDIT_SESSION_HOURS``, else ``SESSION_HOURS`` (the token's and the cookie's)."""
    return float(os.environ.get("FMAUDIT_SESSION_HOURS", SESSION_HOURS))


_REVOKED: set[str] = set()  # tokens signed out in this server process


def _session_key(home=None) -> bytes:
    """The store's secret for session tokens (``keys/session.key``, 32 random bytes, made on first use, 0600)."""
    from .config import home as default_home

    path = Path(home or default_home()) / "keys" / "session.key"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            pass
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_bytes(32))
    return path.read_bytes()


def _password_tag(name: str, home=None) -> str:
    """A short hash of the user's stored password hash: a new password ends every session signed with the old."""
    user = load_users(home).get(name)
    return hashlib.sha256(user["password"].encode()).hexdigest()[:16] if user else ""


def session_token(name: str, home=None, hours: float | None = None) -> str:
    """A signed, expiring token naming ``name`` (HMAC-SHA256 with the store's session key): what the dashboard's
    cookie holds so that a reload keeps the session signed in. It expires after ``hours`` (default
    ``FMAUDIT_SESSION_HOURS`` or 8), with a password change, with sign-out, and when the user is removed."""
    hours = session_hours() if hours is None else hours
    body = ".".join([base64.urlsafe_b64encode(name.encode()).decode().rstrip("="), str(int(time.time() + hours * 3600)),
                     secrets.token_urlsafe(12), _password_tag(name, home)])
    mac = hmac.new(_session_key(home), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def session_user(token: str | None, home=None) -> str | None:
    """The user a session token names, while it is genuine, unexpired, not signed out, and its user still exists
    with the same password; None otherwise."""
    if not token or token in _REVOKED or token.count(".") != 4:
        return None
    body, _, mac = token.rpartition(".")
    if not hmac.compare_digest(mac, hmac.new(_session_key(home), body.encode(), hashlib.sha256).hexdigest()):
        return None
    encoded, expiry, _, tag = body.split(".")
    try:
        name = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        alive = int(expiry) > time.time()
    except (ValueError, UnicodeDecodeError):
        return None
    return name if alive and tag and hmac.compare_digest(tag, _password_tag(name, home)) else None


def end_session(token: str | None) -> None:
    """Sign a token out on this server (its cookie is cleared too)."""
    if token:
        _REVOKED.add(token)
