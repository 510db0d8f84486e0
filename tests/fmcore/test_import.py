"""`import-model`: safetensors + JSON in, pickles refused without being opened, classes must match."""

import json
import pickle
import shutil

import pytest

from fmcore.data import load_dataset
from fmcore.errors import FmauditError


class Boom:
    def __reduce__(self):
        return (exec, ("raise SystemExit('pickle executed')",))


def test_import_an_exported_model_predicts_the_same(trained_digits, tmp_path, store):
    st, rec = trained_digits
    folder = st.export_model(rec.id, tmp_path / "export")
    imported = store.import_model(folder, "digits", name="theirs")
    assert imported.derivation["how"] == "imported"
    test = load_dataset("digits")["test"]
    assert (store.load_classifier(imported.id).predict(test.X) == st.load_classifier(rec.id).predict(test.X)).all()
    assert imported.metrics["accuracy"] == pytest.approx(rec.metrics["accuracy"])
    assert store.events(1)[0]["action"] == "model.register"


def test_pickles_are_refused_unopened(trained_digits, tmp_path, store, monkeypatch):
    st, rec = trained_digits
    folder = st.export_model(rec.id, tmp_path / "export")
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(Boom()))

    def never(*a, **k):
        raise AssertionError("a pickle was opened")

    monkeypatch.setattr(pickle, "load", never)
    monkeypatch.setattr(pickle, "loads", never)
    import torch

    monkeypatch.setattr(torch, "load", never)
    with pytest.raises(FmauditError, match="pytorch_model.bin can hold pickled code"):
        store.import_model(folder, "digits")
    assert store.list_models() == []


def test_bad_folders_get_clear_errors(trained_digits, tmp_path, store):
    st, rec = trained_digits
    folder = st.export_model(rec.id, tmp_path / "export")
    with pytest.raises(FmauditError, match="SeedCNN takes image input; german_credit is tabular data"):
        store.import_model(folder, "german_credit")
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    config = json.loads((broken / "config.json").read_text())
    (broken / "config.json").write_text(json.dumps({**config, "architecture": "Evil"}))
    with pytest.raises(FmauditError, match="Unknown architecture 'Evil'"):
        store.import_model(broken, "digits")
    (broken / "config.json").write_text("{not json")
    with pytest.raises(FmauditError, match="not valid JSON"):
        store.import_model(broken, "digits")
    with pytest.raises(FmauditError, match="not a folder"):
        store.import_model(tmp_path / "missing", "digits")
    assert store.list_models() == []


def test_csv_exports_are_safe_against_formula_injection():
    import csv
    import io

    from fmcore.security import csv_safe, safe_csv

    rows = [{"check": "=HYPERLINK(\"http://evil\",\"x\")", "value": 0.5, "note": "+1", "who": "@SUM(A1)",
             "ok": "fine", "neg": -3}]
    text = safe_csv(rows)
    parsed = next(csv.DictReader(io.StringIO(text)))
    assert parsed["check"].startswith("'=")
    assert parsed["note"] == "'+1"
    assert parsed["who"] == "'@SUM(A1)"
    assert parsed["ok"] == "fine"
    assert parsed["neg"] == "-3"  # a number stays a number
    assert csv_safe("\tcmd") == "'\tcmd"
