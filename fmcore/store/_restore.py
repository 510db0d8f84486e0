"""Restoring a store from a ``backup`` archive: checked before anything is written, verified after."""

from __future__ import annotations

import tarfile
from pathlib import Path

from ..errors import ConfigError
from ._backup import escaping_records
from ._db import Store


def restore(archive: str | Path, root: str | Path) -> tuple[object, dict]:
    """Unpack a ``backup`` archive into ``root`` (which must not hold a store yet) and verify the result: the trail,
    every model's files, every audit and every dataset. An archive whose records point outside the new store is
    refused before anything is written. Returns ``(store, verification)``."""
    archive, root = Path(archive), Path(root)
    if not archive.is_file():
        raise ConfigError(f"No backup at {archive}.")
    if (root / "fmaudit.db").exists():
        raise ConfigError(f"{root} already holds a store; restore into an empty folder (--home) and compare.")
    try:
        with tarfile.open(archive, "r:gz") as tar:
            bad = escaping_records(tar, root)
            if bad:
                raise ConfigError(f"{archive.name} is refused, nothing was restored: " + "; ".join(bad) + ".")
            root.mkdir(parents=True, exist_ok=True)
            tar.extractall(root, filter="data")  # no absolute paths, no '..', no links out, no devices
    except (tarfile.TarError, OSError, ConfigError) as exc:
        if isinstance(exc, ConfigError) and str(exc).startswith(archive.name):
            raise
        raise ConfigError(f"{archive.name} is not an fmaudit backup: {exc}") from None
    store = Store(root)
    return store, store.verify_trail()
