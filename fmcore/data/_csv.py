"""A user's CSV as a dataset: declared label and sensitive columns, validated before use."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DataValidationError
from ._spec import Dataset, DatasetSpec, Feature, Provenance, Split, sha256_file, stratified_split

MAX_CLASSES = 20
MAX_CATEGORY_SHARE = 0.5  # a text column with more distinct values than this share of rows is ID-like
MIN_ROWS = 20
MAX_COLUMNS = 2_000
MAX_CELL_CHARS = 100_000  # one cell: a long review fits; a smuggled file does not


def max_rows() -> int:
    """Row limit: ``$FMAUDIT_MAX_CSV_ROWS`` (default 5,000,000)."""
    return int(os.environ.get("FMAUDIT_MAX_CSV_ROWS", "5000000"))


def max_csv_bytes() -> int:
    """Upload limit in bytes: ``$FMAUDIT_MAX_CSV_MB`` (default 200 MB)."""
    return int(float(os.environ.get("FMAUDIT_MAX_CSV_MB", "200")) * 1024 * 1024)


def _read(path: Path):
    size = path.stat().st_size
    if size > max_csv_bytes():
        raise DataValidationError([
            f"the file is {size / 2**20:.1f} MB, over the {max_csv_bytes() / 2**20:.0f} MB limit; "
            "sample it or raise FMAUDIT_MAX_CSV_MB"])
    if size == 0:
        raise DataValidationError(["the file is empty"])
    return read_table(path)


PACKED = {b"\x1f\x8b": "gzip", b"PK\x03\x04": "zip", b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz",
          b"\x28\xb5\x2f\xfd": "zstd", b"7z\xbc\xaf\x27\x1c": "7z"}


def sniff(head: bytes) -> None:
    """Refuse, by content (never by file name), what is not a plain text table: compressed archives (which would
    unpack past every size limit, or be parsed as gigabytes of garbage) and binary files."""
    for magic, kind in PACKED.items():
        if head.startswith(magic):
            raise DataValidationError([f"the file is {kind}-compressed data, not a CSV table (whatever its name); "
                                       "unpack it and upload the CSV itself, so its real size is checked"])
    if b"\x00" in head[:65536]:
        raise DataValidationError(["the file holds binary data (NUL bytes), not a CSV table"])


def read_table(source, nrows: int | None = None):
    """A CSV file (a path, or its bytes) as a DataFrame, decoded as UTF-8 or else Latin-1.

    The one decoding used everywhere: the Data page's preview and the validation read the same text, so a
    column called "género" in a Latin-1 file is "género" in both.
    """
    import io

    import pandas as pd

    if isinstance(source, bytes | bytearray):
        sniff(bytes(source[:65536]))
    else:
        with open(source, "rb") as fh:
            sniff(fh.read(65536))
    errors = []
    for encoding in ("utf-8", "latin-1"):
        try:
            handle = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
            # compression=None: a name ending in .gz never unpacks past the size limit
            return pd.read_csv(handle, encoding=encoding, low_memory=False, nrows=nrows, compression=None)
        except UnicodeDecodeError as exc:
            errors.append(str(exc))
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise DataValidationError([f"the file is not a readable CSV ({str(exc).strip()})"]) from None
    raise DataValidationError([f"the file's text encoding is neither UTF-8 nor Latin-1 ({errors[0]})"])


def index_like_columns(df) -> list[str]:
    """Columns that only number the rows: a pandas index written with the file ("Unnamed: 0", an empty
    header), or whole numbers 0..n-1 or 1..n in file order. They carry no information about anyone."""
    import pandas as pd

    out = []
    for col in df.columns:
        name, s = str(col), df[col]
        if name.startswith("Unnamed:") or not name.strip():
            out.append(name)
        elif pd.api.types.is_integer_dtype(s) and len(s) > 1 and s.notna().all():
            v = s.to_numpy()
            if np.array_equal(v, np.arange(len(v))) or np.array_equal(v, np.arange(1, len(v) + 1)):
                out.append(name)
    return out


def validate_frame(df, label: str, sensitive: tuple[str, ...], text: str | None, drop: tuple[str, ...],
                   min_group_size: int) -> tuple[list[Feature], list[str]]:
    """Check a frame against its declared roles; return the feature schema and the class names.

    Every problem found is collected, so one message lists them all.
    """
    import pandas as pd

    problems: list[str] = []
    columns = [str(c) for c in df.columns]
    declared = [label, *sensitive, *([text] if text else []), *drop]
    missing = [c for c in declared if c not in columns]
    if missing:
        raise DataValidationError([
            f"column(s) {', '.join(map(repr, missing))} not found; the file has: {', '.join(columns)}"])
    if len(df) < MIN_ROWS:
        problems.append(f"the file has {len(df)} rows; at least {MIN_ROWS} are needed to split and train")
    if len(df) > max_rows():
        raise DataValidationError([f"the file has {len(df):,} rows, over the {max_rows():,} limit; sample it or "
                                   "raise FMAUDIT_MAX_CSV_ROWS"])
    if len(columns) > MAX_COLUMNS:
        raise DataValidationError([f"the file has {len(columns):,} columns, over the {MAX_COLUMNS:,} limit"])
    for col in df.select_dtypes(exclude=["number", "bool"]).columns:
        lengths = df[col].dropna().astype(str).str.len()
        longest = int(lengths.max()) if len(lengths) else 0
        if longest > MAX_CELL_CHARS:
            problems.append(f"column {str(col)!r} has a cell of {longest:,} characters (limit {MAX_CELL_CHARS:,})")
    y = df[label]
    n_missing = int(y.isna().sum())
    if n_missing:
        rows = (np.flatnonzero(y.isna().to_numpy())[:5] + 2).tolist()  # +2: header line, 1-based
        problems.append(f"label column {label!r} has {n_missing} empty value(s) (file lines {rows}...); "
                        "fill or drop those rows")
    classes = sorted(y.dropna().astype(str).unique().tolist())
    if len(classes) < 2:
        problems.append(f"label column {label!r} has a single class {classes[:1]}; at least two are needed")
    elif len(classes) > MAX_CLASSES:
        problems.append(f"label column {label!r} has {len(classes)} distinct values (limit {MAX_CLASSES}); "
                        "it looks continuous or like an ID: bin it into classes first")
    for col in sensitive:
        counts = df[col].astype(str).where(df[col].notna(), "(missing)").value_counts()
        small = counts[counts < min_group_size]
        if len(small):
            listed = ", ".join(f"{k!r}: {v}" for k, v in small.items())
            problems.append(f"sensitive column {col!r} has group(s) smaller than {min_group_size} rows ({listed}); "
                            "merge them or lower the minimum group size")
    features: list[Feature] = []
    if text:
        if not (pd.api.types.is_string_dtype(df[text]) or df[text].dtype == object):
            problems.append(f"text column {text!r} does not hold text (dtype {df[text].dtype})")
        features = [Feature(text, "text")]
    else:
        for col in columns:
            if col in declared:
                continue
            s = df[col]
            if s.isna().all():
                problems.append(f"column {col!r} is empty; drop it")
            elif pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
                distinct = s.nunique(dropna=True)
                if distinct > max(MAX_CLASSES, MAX_CATEGORY_SHARE * len(df)):
                    problems.append(f"column {col!r} has {distinct} distinct text values in {len(df)} rows "
                                    "(free text or an identifier), which a tabular model cannot use; drop it")
                else:
                    features.append(Feature(col, "categorical"))
            else:
                features.append(Feature(col, "numeric"))
        if not features and not problems:
            problems.append("no feature columns are left besides the label and sensitive columns")
    if problems:
        raise DataValidationError(problems)
    return features, classes


def load_csv(path: str | Path, label: str, sensitive: tuple[str, ...] | list[str] = (), *, text: str | None = None,
             name: str | None = None, drop: tuple[str, ...] | list[str] = (), seed: int = 0,
             min_group_size: int = 10) -> Dataset:
    """Load and validate a user's CSV.

    Parameters
    ----------
    path : the CSV file (UTF-8 or Latin-1, header row).
    label : the column to predict; 2 to 20 classes.
    sensitive : columns holding protected attributes; kept out of the features, used for grouping.
    text : for a text dataset, the column holding the text (all other columns are ignored).
    drop : columns to ignore (identifiers, free text).
    min_group_size : every group of every sensitive column needs at least this many rows.

    Raises
    ------
    DataValidationError
        Listing every problem found, each naming the column and what to do.
    """
    path = Path(path)
    if not path.is_file():
        raise DataValidationError([f"no file at {str(path)!r}"])
    df = _read(path)
    df.columns = [str(c) for c in df.columns]
    sensitive = tuple(sensitive)
    roles = {label, *sensitive, *([text] if text else []), *drop}
    index_cols = [c for c in index_like_columns(df) if c not in roles]  # dropped unless given a role
    features, classes = validate_frame(df, label, sensitive, text, (*drop, *index_cols), min_group_size)
    y = df[label].astype(str).map(classes.index).to_numpy().astype(np.int64)
    name = name or path.stem
    spec = DatasetSpec(name, f"{name} (uploaded CSV)", "text" if text else "tabular",
                       f"User CSV {path.name}: {len(df)} rows, label {label!r}.", label, tuple(classes),
                       sensitive, "as declared by the uploader", len(df))
    prov = Provenance("user-upload", "-", path.name, sha256_file(path), spec.licence, str(path))
    parts = dict(zip(("train", "val", "test"), stratified_split(y, (0.6, 0.2, 0.2), seed), strict=False))
    cols = [f.name for f in features]
    splits = {}
    for k, idx in parts.items():
        X = (df[text].astype(str).to_numpy(dtype=object)[idx] if text
             else df[cols].iloc[idx].reset_index(drop=True))
        splits[k] = Split(X, y[idx], df[list(sensitive)].iloc[idx].reset_index(drop=True))
    notes = [f"Sensitive column {c!r}: {int(df[c].isna().sum())} of {len(df)} rows have no value; audits treat "
             "them as a group of their own, '(missing)'." for c in sensitive if df[c].isna().any()]
    notes += [f"Column {c!r} only numbers the rows (an index saved with the file); it is not used as a feature."
              for c in index_cols]
    return Dataset(spec, prov, features, splits, seed, notes)
