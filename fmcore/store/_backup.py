"""Backup and restore of a whole store as one archive, consistent while jobs write to it."""

from __future__ import annotations

import io
import sqlite3
import tarfile
import tempfile
from pathlib import Path

from ..errors import ConfigError


def backup(store, dest: str | Path) -> dict:
    """Write ``dest`` (a .tar.gz): the database through SQLite's online backup API (a consistent snapshot even while
    a job writes), the trail head worked out from that snapshot, the artifacts the snapshot names, and the
    dashboard users file. Returns what went in."""
    dest = Path(dest)
    with tempfile.TemporaryDirectory(prefix="fmaudit-backup-") as tmp:
        copy = Path(tmp) / "fmaudit.db"
        src, dst = store._connect(), sqlite3.connect(copy)
        try:
            src.backup(dst)
            last = dst.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
            paths = [r[0] for r in dst.execute("SELECT path FROM models UNION ALL SELECT path FROM datasets")]
        finally:
            src.close()
            dst.close()
        dest.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(dest, "w:gz") as tar:
            tar.add(copy, "fmaudit.db")
            if last:
                head = f"{last[0]} {last[1]}\n".encode()
                info = tarfile.TarInfo("trail.head")
                info.size = len(head)
                tar.addfile(info, io.BytesIO(head))
            for stored in paths:
                local = Path(store._absolute(stored))
                if local.exists() and store._inside(local):
                    tar.add(local, store._relative(local))
            users = store.root / "users.json"
            if users.exists():
                tar.add(users, "users.json")
    return {"path": str(dest), "events": last[0] if last else 0, "files": len(paths), "bytes": dest.stat().st_size}


def restore(archive: str | Path, root: str | Path) -> tuple[object, dict]:
    """Unpack a ``backup`` archive into ``root`` (which must not hold a store yet) and verify the result: the trail,
    every model's weights and every audit. Returns ``(store, verification)``."""
    from ._db import Store

    archive, root = Path(archive), Path(root)
    if not archive.is_file():
        raise ConfigError(f"No backup at {archive}.")
    if (root / "fmaudit.db").exists():
        raise ConfigError(f"{root} already holds a store; restore into an empty folder (--home) and compare.")
    root.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(root, filter="data")  # no absolute paths, no '..', no links out, no devices
    except (tarfile.TarError, OSError) as exc:
        raise ConfigError(f"{archive.name} is not an fmaudit backup: {exc}") from None
    store = Store(root)
    return store, store.verify_trail()
