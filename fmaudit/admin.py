"""Dashboard users, the sweep executor, and the dashboard itself."""

from __future__ import annotations

import os
import sys

from . import _common as c


def add_user(p) -> None:
    p.add_argument("action", choices=["add", "list"])
    p.add_argument("name", nargs="?", default=None)
    p.add_argument("--role", choices=["viewer", "auditor", "approver"], default="viewer")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")


def cmd_user(args) -> int:
    import getpass

    from fmcore.security import add_user, load_users

    if args.action == "list":
        users = load_users(args.home)
        c.emit(args, [{"name": n, "role": u["role"]} for n, u in users.items()],
               "\n".join(f"{n}: {u['role']}" for n, u in users.items()) or "no users (local single-user mode)")
        return 0
    if not args.name:
        from fmcore.errors import ConfigError

        raise ConfigError("Name the user: fmaudit user add NAME --role viewer|auditor|approver.")
    prompt = f"Password for {args.name}: "
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass(prompt)
    add_user(args.name, password, args.role, args.home)
    c.emit(args, {"name": args.name, "role": args.role}, f"user {args.name} ({args.role}) saved")
    return 0


def add_executor(p) -> None:
    pass


def cmd_executor(args) -> int:
    from fmcore.executor import executor_from_env

    info = executor_from_env().describe()
    where = ("this process, one task after another" if info["executor"] == "local" else
             f"Ray at {info['address']}: {info['nodes']} node(s), {info['cpus']} CPUs")
    c.emit(args, info, f"sweeps run on {where}")
    return 0


def add_dashboard(p) -> None:
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--headless", action="store_true", help="do not open a browser")


def cmd_dashboard(args) -> int:
    from pathlib import Path

    from fmcore.security import check_bind

    check_bind(args.host, args.home)
    if args.home:
        os.environ["FMAUDIT_HOME"] = str(Path(args.home).resolve())  # the app and its workers use this store
    root = Path(__file__).resolve().parent.parent
    app = root / "dashboard" / "app.py"
    if (root / ".streamlit").is_dir():
        os.chdir(root)  # streamlit reads .streamlit/config.toml (theme, limits) from the working directory
    # the security settings are passed explicitly too, so they hold from any working directory
    # dashboard.serve: streamlit's own CLI with its outside-IP lookup off (the server never reaches outside)
    cmd = [sys.executable, "-m", "dashboard.serve", "run", str(app), "--server.address", args.host,
           "--server.port", str(args.port), "--browser.gatherUsageStats", "false",
           "--server.enableXsrfProtection", "true", "--server.maxUploadSize", "200",
           "--server.fileWatcherType", "none", "--runner.postScriptGC", "false"]
    if args.headless:
        cmd += ["--server.headless", "true"]
    print(f"fmaudit dashboard on http://{args.host}:{args.port}", file=sys.stderr)
    os.execv(sys.executable, cmd)  # noqa: S606 - replaces this process with streamlit
    return 0


def add_backup(p) -> None:
    p.add_argument("file", help="the archive to write (.tar.gz)")


def cmd_backup(args) -> int:
    info = c.store(args).backup(args.file)
    c.emit(args, info, f"backup {info['path']}: {info['events']} trail events, {info['files']} model and dataset "
                       f"folders, {info['bytes'] / 2**20:.1f} MB")
    return 0


def add_restore(p) -> None:
    p.add_argument("file", help="an archive written by `fmaudit backup`")


def cmd_restore(args) -> int:
    from fmcore.config import home
    from fmcore.store import restore

    store, check = restore(args.file, args.home or home())
    text = (f"restored into {store.root}: {check['events']} trail events, "
            + ("verified intact" if check["ok"] else "NOT intact") + "".join(f"\n  {p}" for p in check["problems"]))
    c.emit(args, {"home": str(store.root), **check}, text)
    return 0 if check["ok"] else 1


def add_keys(p) -> None:
    p.add_argument("action", choices=["init", "show"], help="init: make the store's Ed25519 key pair; show: its id")
    p.add_argument("--force", action="store_true", help="replace an existing key pair")
    p.add_argument("--private-key", default=None, metavar="PATH",
                   help="init: write the private key here, outside the store (then set FMAUDIT_SIGNING_KEY_FILE=PATH "
                        "wherever fmaudit signs), so that write access to the store's folder is not enough to sign")


def cmd_keys(args) -> int:
    from audits.evidence import init_keys, key_files, key_id, load_private_key

    store = c.store(args)
    root = store.root
    if args.action == "init":
        info = init_keys(root, force=args.force, private_path=args.private_key)
        if args.private_key:
            os.environ["FMAUDIT_SIGNING_KEY_FILE"] = str(args.private_key)
        store.sign_head()  # the trail's head is signed from now on
        outside = (f"; set FMAUDIT_SIGNING_KEY_FILE={info['private_key']} wherever fmaudit signs"
                   if args.private_key else "")
        c.emit(args, info, f"key {info['key_id'][:16]}...: private key {info['private_key']} (mode 600){outside}; "
                           f"give {info['public_key']} to whoever verifies your reports")
        return 0
    private = load_private_key(root)
    if private is None:
        from fmcore.errors import ConfigError

        raise ConfigError("This store has no signing key yet: fmaudit keys init.")
    info = {"key_id": key_id(private.public_key()), "public_key": str(key_files(root)[1])}
    c.emit(args, info, f"key {info['key_id']} (public key {info['public_key']})")
    return 0
