"""User CSVs: good files load; each kind of bad file is refused with a message naming the problem."""

import pytest

from fmcore.data import load_csv, read_table
from fmcore.errors import DataValidationError
from tests.conftest import write_csv


def test_good_csv_loads(tmp_path, good_rows):
    ds = load_csv(write_csv(tmp_path / "loans.csv", good_rows), "approved", ["sex"])
    assert ds.spec.classes == ("no", "yes")
    assert ds.spec.modality == "tabular"
    assert {f.name: f.kind for f in ds.features} == {"income": "numeric", "city": "categorical"}
    assert sum(len(s) for s in ds.splits.values()) == 120
    assert ds.provenance.package == "user-upload"
    assert len(ds.provenance.sha256) == 64


def _refused(tmp_path, rows, label="approved", sensitive=("sex",), **kw) -> str:
    path = rows if not isinstance(rows, list) else write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(DataValidationError) as err:
        load_csv(path, label, sensitive, **kw)
    return str(err.value)


def test_missing_columns_are_named(tmp_path, good_rows):
    msg = _refused(tmp_path, good_rows, label="approval", sensitive=("gender",))
    assert "'approval'" in msg
    assert "'gender'" in msg
    assert "income" in msg


def test_nan_labels(tmp_path, good_rows):
    good_rows[5]["approved"] = None
    assert "1 empty value" in _refused(tmp_path, good_rows)


def test_single_class_label(tmp_path, good_rows):
    for r in good_rows:
        r["approved"] = "yes"
    assert "single class" in _refused(tmp_path, good_rows)


def test_unusable_id_column(tmp_path, good_rows):
    for i, r in enumerate(good_rows):
        r["customer"] = f"cust-{i:05d}"
    msg = _refused(tmp_path, good_rows)
    assert "'customer'" in msg
    assert "identifier" in msg


def test_too_small_group(tmp_path, good_rows):
    good_rows[0]["sex"] = "other"
    msg = _refused(tmp_path, good_rows)
    assert "'other': 1" in msg
    assert "smaller than 10" in msg


def test_oversize_file(tmp_path, good_rows, monkeypatch):
    monkeypatch.setenv("FMAUDIT_MAX_CSV_MB", "0.001")
    assert "over the" in _refused(tmp_path, good_rows)


def test_binary_and_empty_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert "empty" in _refused(tmp_path, empty)
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\x00\x01" * 100 + b"\n" + b"a,b\n1,2,3,4\n")
    assert "binary data" in _refused(tmp_path, junk)


def test_compressed_data_is_refused_by_content_whatever_its_name(tmp_path, good_rows):
    """A gzip renamed .csv and a .csv.gz that would unpack past the limit: refused from their first bytes, at once,
    never unpacked or parsed."""
    import gzip
    import time

    bomb = gzip.compress(b"a,b\n" + b"1,2\n" * 2_000_000, compresslevel=9)  # 8 MB unpacked from ~20 kB
    for name in ("renamed.csv", "packed.csv.gz"):
        path = tmp_path / name
        path.write_bytes(bomb)
        start = time.perf_counter()
        assert "gzip-compressed data, not a CSV" in _refused(tmp_path, path)
        assert time.perf_counter() - start < 5
    from fmcore.errors import DataValidationError

    with pytest.raises(DataValidationError, match="zip-compressed"):
        read_table(b"PK\x03\x04" + b"x" * 100, nrows=200)  # the Data page's preview reads bytes the same way


def test_all_problems_reported_together(tmp_path, good_rows):
    good_rows[0]["sex"] = "other"
    good_rows[3]["approved"] = None
    err_msg = _refused(tmp_path, good_rows)
    assert "empty value" in err_msg
    assert "smaller than" in err_msg


def test_text_csv(tmp_path):
    rows = [{"review": f"text number {i} " + ("good" if i % 2 else "bad"), "label": "pos" if i % 2 else "neg"}
            for i in range(60)]
    ds = load_csv(write_csv(tmp_path / "t.csv", rows), "label", text="review")
    assert ds.spec.modality == "text"
    assert ds["train"].X.dtype == object


def test_row_column_and_cell_limits(tmp_path, good_rows, monkeypatch):
    from fmcore.data import _csv

    monkeypatch.setenv("FMAUDIT_MAX_CSV_ROWS", "100")
    with pytest.raises(DataValidationError, match="120 rows, over the 100 limit"):
        load_csv(write_csv(tmp_path / "rows.csv", good_rows), "approved", ("sex",))
    monkeypatch.delenv("FMAUDIT_MAX_CSV_ROWS")
    monkeypatch.setattr(_csv, "MAX_COLUMNS", 3)
    with pytest.raises(DataValidationError, match="4 columns, over the 3 limit"):
        load_csv(write_csv(tmp_path / "cols.csv", good_rows), "approved", ("sex",))
    monkeypatch.setattr(_csv, "MAX_COLUMNS", 2000)
    monkeypatch.setattr(_csv, "MAX_CELL_CHARS", 50)
    rows = [dict(r) for r in good_rows]
    rows[3]["city"] = "x" * 80
    with pytest.raises(DataValidationError, match="cell of 80 characters"):
        load_csv(write_csv(tmp_path / "cell.csv", rows), "approved", ("sex",))


def test_latin1_file_and_index_columns(tmp_path, store):
    """One decoding for preview and validation; a pandas index saved with the file is not a feature."""
    import numpy as np
    import pandas as pd

    from fmcore.data import index_like_columns, read_table

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"género": ["mujer", "hombre"] * 30, "renta": rng.normal(size=60).round(2),
                          "número": np.arange(1, 61), "sí": ["sí", "no", "no"] * 20})
    path = tmp_path / "latin.csv"
    frame.to_csv(path, encoding="latin-1")  # with its index, as pandas writes by default: "Unnamed: 0"
    raw = path.read_bytes()
    preview = read_table(raw, nrows=10)
    assert "género" in preview.columns  # the same text the validation will see
    assert set(index_like_columns(read_table(raw))) == {"Unnamed: 0", "número"}
    record = store.add_dataset(path, "sí", ["género"], name="latin")
    assert any("'Unnamed: 0' only numbers the rows" in n for n in record["notes"])
    ds = load_csv(store.get_dataset("latin")["path"], "sí", ("género",))
    assert [f.name for f in ds.features] == ["renta"]
    assert list(ds["test"].groups.columns) == ["género"]
    from fmcore.errors import FmauditError

    with pytest.raises(FmauditError, match="choose another name"):
        store.add_dataset(path, "sí", ["género"], name="latin")
