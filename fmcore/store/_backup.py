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
                from ._trail import head_line

                head = (head_line(store.root, *last) + "\n").encode()
                info = tarfile.TarInfo("trail.head")
                info.size = len(head)
                tar.addfile(info, io.BytesIO(head))
            for stored in paths:
                local = Path(store._absolute(stored))
                if local.exists() and store._inside(local):
                    tar.add(local, store._relative(local))
            for extra in ("users.json", "keys/signing.pub"):  # never the private key
                if (store.root / extra).exists():
                    tar.add(store.root / extra, extra)
    return {"path": str(dest), "events": last[0] if last else 0, "files": len(paths), "bytes": dest.stat().st_size}


def escaping_records(tar: tarfile.TarFile, root: Path) -> list[str]:
    """The model and dataset records in the archive's database whose paths would lead out of ``root`` once restored
    (absolute, ``..``, or through a link), read from a copy in a temporary folder: nothing is written under
    ``root``."""
    from ._files import resolve_stored

    try:
        member = tar.getmember("fmaudit.db")
    except KeyError:
        raise ConfigError("the archive holds no fmaudit.db") from None
    with tempfile.TemporaryDirectory(prefix="fmaudit-restore-") as tmp:
        tar.extract(member, tmp, filter="data")
        con = sqlite3.connect(Path(tmp) / "fmaudit.db")
        try:
            rows = con.execute("SELECT 'model', id, path FROM models UNION ALL "
                               "SELECT 'dataset', name, path FROM datasets").fetchall()
        except sqlite3.Error as exc:
            raise ConfigError(f"its database is unreadable ({exc})") from None
        finally:
            con.close()
    links = {m.name for m in tar.getmembers() if m.issym() or m.islnk()}
    bad = []
    for kind, key, stored in rows:
        target = resolve_stored(root, str(stored))
        inside = target.resolve().is_relative_to(root.resolve())
        through_link = any(str(stored).startswith(f"{link}/") or str(stored) == link for link in links)
        if not inside or through_link:
            bad.append(f"{kind} {key!r} points at {stored}, outside the store")
    return bad
