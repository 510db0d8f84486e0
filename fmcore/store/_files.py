"""Writes that never leave half a file: a temporary file beside the target, renamed (or linked) into place, removed
on any failure; and the start-up sweep that removes temporaries of writers that died.

Temporary names are ``.tmp-<pid>-<what>``: a leftover whose process is gone is removed at once, one of a live
process only when it is older than ``STALE_SECONDS`` (a long import may still be writing it).
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import time
from pathlib import Path

STALE_SECONDS = 3600
PREFIX = ".tmp-"


def temp_name(what: str) -> str:
    """A temporary file or folder name the sweep recognises: ``.tmp-<pid>-<what>-<random>``."""
    return f"{PREFIX}{os.getpid()}-{what}-{secrets.token_hex(4)}"


def atomic_write(path: str | Path, data: bytes, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder: readers see the old file or the whole
    new one, never a part. With ``overwrite=False`` an existing ``path`` is never replaced (``FileExistsError``). The
    temporary file is removed on any failure (a full disk included)."""
    path = Path(path)
    tmp = path.with_name(temp_name(path.name))
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            _link_new(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _link_new(tmp: Path, path: Path) -> None:
    """Give ``tmp``'s content the name ``path`` only if nothing has it (a hard link is atomic and never
    replaces); on file systems without hard links, a check then a rename."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        if path.exists():
            raise FileExistsError(errno.EEXIST, "exists already", str(path)) from None
        os.replace(tmp, path)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def sweep_temporaries(root: str | Path, stale_seconds: float = STALE_SECONDS) -> list[str]:
    """Remove the temporary files and folders under ``root`` whose writer died (or that are older than
    ``stale_seconds``); returns what was removed."""
    removed, cutoff = [], time.time() - stale_seconds
    for tmp in list(Path(root).rglob(f"{PREFIX}*")):
        try:
            pid = int(tmp.name[len(PREFIX):].split("-", 1)[0])
        except ValueError:
            pid = None  # an older temporary name without a pid: by age only
        try:
            old = tmp.lstat().st_mtime < cutoff
        except FileNotFoundError:
            continue
        if old or (pid is not None and not _alive(pid)):
            if tmp.is_dir() and not tmp.is_symlink():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)
            removed.append(str(tmp))
    return removed


def resolve_stored(root: Path, stored: str) -> Path:
    """A stored path on this machine: under the store's ``root``. An absolute path written by an older version (or
    by the store this one was copied from) is read by its place in the layout, ``artifacts/...``. The result may
    still lie outside ``root`` (an edited record): every reader checks that (``Store._inside``)."""
    path = Path(stored)
    if not path.is_absolute():
        return root / path
    parts = path.parts
    if "artifacts" in parts:
        return root.joinpath(*parts[len(parts) - parts[::-1].index("artifacts") - 1:])
    return path
