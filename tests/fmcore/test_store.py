"""The store: registration, lineage, atomic writes, tamper detection and export."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fmcore.data import load_dataset
from fmcore.errors import NotFoundError
from fmcore.models import build_classifier


def test_register_lineage_and_delete(store):
    ds = load_dataset("digits")
    parent = store.register_model(build_classifier("logreg", ds), dataset="digits", metrics={"accuracy": 0.5})
    child = store.register_model(build_classifier("logreg", ds), dataset="digits", parent_id=parent.id,
                                 derivation={"how": "fine-tuned"})
    assert [r.id for r in store.lineage(child.id)] == [child.id, parent.id]
    assert [r.id for r in store.children(parent.id)] == [child.id]
    assert store.get_model(child.id).derivation == {"how": "fine-tuned"}
    grandchild = store.register_model(build_classifier("logreg", ds), dataset="digits", parent_id=child.id)
    family = [(r.id, d) for r, d in store.family(grandchild.id)]
    assert family == [(parent.id, 0), (child.id, 1), (grandchild.id, 2)]
    store.delete_model(grandchild.id)
    with pytest.raises(NotFoundError, match="parent of"):
        store.delete_model(parent.id)
    store.delete_model(child.id)
    store.delete_model(parent.id)
    assert store.list_models() == []
    assert not any(p.name.startswith("m-") for p in store.models_dir.iterdir())


def test_unknown_parent_and_unknown_id_are_refused(store):
    ds = load_dataset("digits")
    with pytest.raises(NotFoundError, match="fmaudit models"):
        store.register_model(build_classifier("logreg", ds), dataset="digits", parent_id="m-nothere")
    assert store.list_models() == []


def test_a_failing_save_leaves_nothing_behind(store):
    clf = build_classifier("logreg", load_dataset("digits"))

    def broken_save(folder):
        (folder / "model.safetensors").write_bytes(b"half written")
        raise OSError("disk full")

    clf.save = broken_save
    with pytest.raises(OSError, match="disk full"):
        store.register_model(clf, dataset="digits")
    assert store.list_models() == []
    assert list(store.models_dir.iterdir()) == []


def test_a_failing_insert_removes_the_artifacts(store, monkeypatch):
    clf = build_classifier("logreg", load_dataset("digits"))
    original = store._tx

    def failing_tx():
        raise RuntimeError("database is locked")

    monkeypatch.setattr(store, "_tx", failing_tx)
    with pytest.raises(RuntimeError):
        store.register_model(clf, dataset="digits")
    monkeypatch.setattr(store, "_tx", original)
    assert store.list_models() == []
    assert list(store.models_dir.iterdir()) == []


def test_tampered_weights_are_detected(trained_digits):
    st, rec = trained_digits
    assert st.verify_model(rec.id)
    weights = next(p for p in (st.models_dir / rec.id).iterdir() if p.suffix == ".safetensors")
    original = weights.read_bytes()
    try:
        weights.write_bytes(original[:-4] + b"\x00\x00\x00\x01")
        assert not st.verify_model(rec.id)
    finally:
        weights.write_bytes(original)


def test_reloaded_model_predicts_the_same(trained_digits):
    st, rec = trained_digits
    ds = load_dataset("digits")
    clf = st.load_classifier(rec.id)
    acc = float((clf.predict(ds["test"].X) == ds["test"].y).mean())
    assert acc == pytest.approx(rec.metrics["accuracy"])


PLAIN_TORCH = textwrap.dedent("""
    import json, sys
    import numpy as np, torch
    folder = sys.argv[1]
    sys.path.insert(0, folder)
    import nets
    model = nets.load_exported(folder)
    assert not any(m.startswith(("fmcore", "audits", "dashboard")) for m in sys.modules)
    data = json.load(open(sys.argv[2]))
    if "rows" in data:
        x = nets.encode_rows(data["rows"], json.load(open(folder + "/preprocess.json")))
    else:
        x = torch.tensor(np.array(data["images"], dtype=np.float32))
    print(json.dumps(model(x).argmax(-1).tolist()))
""")


def _predict_plain(folder, payload, tmp_path):
    script, data = tmp_path / "plain.py", tmp_path / "input.json"
    script.write_text(PLAIN_TORCH)
    data.write_text(json.dumps(payload))
    # -I: isolated mode, so the repository (and fmcore) is not importable from the current directory
    out = subprocess.run([sys.executable, "-I", str(script), str(folder), str(data)], capture_output=True,
                         text=True, check=True, cwd=tmp_path)
    return np.array(json.loads(out.stdout))


def test_export_image_model_loads_with_plain_torch(trained_digits, tmp_path):
    st, rec = trained_digits
    dest = st.export_model(rec.id, tmp_path / "export")
    files = {p.name for p in dest.iterdir()}
    assert {"model.safetensors", "config.json", "nets.py", "README.md", "record.json", "fmaudit.json"} <= files
    record = json.loads((dest / "record.json").read_text())
    assert record["model"]["id"] == rec.id
    assert record["model"]["config"]["dataset"]["provenance"]["sha256"]
    X = load_dataset("digits")["test"].X[:40]
    expected = st.load_classifier(rec.id).predict(X)
    got = _predict_plain(dest, {"images": X.tolist()}, tmp_path)
    np.testing.assert_array_equal(got, expected)
    with pytest.raises(Exception, match="not empty"):
        st.export_model(rec.id, dest)


def test_export_tabular_model_loads_with_plain_torch(trained_german, tmp_path):
    st, rec = trained_german
    dest = st.export_model(rec.id, tmp_path / "export")
    frame = load_dataset("german_credit")["test"].X.iloc[:50]
    rows = json.loads(frame.to_json(orient="records"))
    expected = st.load_classifier(rec.id).predict(frame)
    np.testing.assert_array_equal(_predict_plain(dest, {"rows": rows}, tmp_path), expected)


def test_user_dataset_refused_leaves_store_unchanged(store, tmp_path, good_rows):
    from fmcore.errors import DataValidationError
    from tests.conftest import write_csv

    good_rows[0]["sex"] = "x"
    before = sorted(p.name for p in store.root.rglob("*"))
    with pytest.raises(DataValidationError, match="smaller than"):
        store.add_dataset(write_csv(tmp_path / "bad.csv", good_rows), "approved", ["sex"])
    assert store.list_datasets() == []
    assert sorted(p.name for p in store.root.rglob("*")) == before


def test_user_dataset_trains(store, tmp_path, good_rows):
    from fmcore.train import TrainConfig, train_model
    from tests.conftest import write_csv

    store.add_dataset(write_csv(tmp_path / "loans.csv", good_rows), "approved", ["sex"], name="loans")
    r = train_model("loans", "mlp", TrainConfig(epochs=20), store=store)
    assert r.metrics["accuracy"] > 0.6
    assert store.get_model(r.model_id).dataset == "loans"
    with pytest.raises(NotFoundError, match="exists already"):
        store.add_dataset(tmp_path / "loans.csv", "approved", ["sex"], name="loans")


def test_derivation_kind_is_stored_and_read_from_older_records():
    from fmcore.lineage import Derivation, derivation_kind

    assert derivation_kind({"how": "trained", "kind": "trained"}) is Derivation.TRAINED
    old = {  # sentences as records made before the kind was stored said them
        "trained": Derivation.TRAINED, "pretrained": Derivation.PRETRAINED, "imported": Derivation.IMPORTED,
        "trained (scratch baseline)": Derivation.SCRATCH_BASELINE, "transfer (frozen conv)": Derivation.TRANSFERRED,
        "fine-tuned (lora)": Derivation.FINETUNED, "compressed (int8)": Derivation.COMPRESSED,
        "adversarially trained (pgd eps 0.1, 5 steps, 50% adversarial)": Derivation.HARDENED,
        "fairness mitigation (threshold optimizer, demographic parity on sex)": Derivation.MITIGATED,
        "temperature scaled (T = 1.3)": Derivation.CALIBRATED, "something else": Derivation.REGISTERED}
    for how, kind in old.items():
        assert derivation_kind({"how": how}) is kind, how
    assert derivation_kind(None) is Derivation.REGISTERED


def test_trained_and_compressed_models_record_their_kind(tmp_path):
    from fmcore.compress import compress
    from fmcore.lineage import Derivation
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    st = Store(tmp_path)
    mid = train_model("digits", "logreg", TrainConfig(epochs=1), store=st).model_id
    assert st.get_model(mid).derivation["kind"] == Derivation.TRAINED
    child = compress(st, mid, "fp16").model_id
    assert st.get_model(child).derivation["kind"] == Derivation.COMPRESSED


def test_audits_score_the_models_own_split_and_refuse_a_changed_dataset(tmp_path):
    """A model trained with split seed 1 is audited on split 1's test rows; a dataset changed after training is
    refused with the reason, never silently scored."""
    import numpy as np
    import pytest

    from audits import run_stored_audit
    from fmcore.data import load_dataset, split_fingerprint
    from fmcore.errors import DataValidationError
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model
    from tests.conftest import write_csv

    st = Store(tmp_path / "home")
    mid = train_model("german_credit", "logreg", TrainConfig(epochs=3, split_seed=1), store=st).model_id
    record = st.get_model(mid)
    assert record.derivation["test_sha256"] == split_fingerprint(load_dataset("german_credit", seed=1)["test"])
    assert record.derivation["test_sha256"] != split_fingerprint(load_dataset("german_credit", seed=0)["test"])
    _, result = run_stored_audit(st, "performance", mid, n_boot=20)
    assert result.metrics["accuracy"] == pytest.approx(record.metrics["accuracy"])  # the same rows as at training
    rng = np.random.default_rng(0)
    rows = [{"x": float(rng.normal()), "g": "ab"[i % 2], "y": "no" if i % 3 else "yes"} for i in range(300)]
    st.add_dataset(write_csv(tmp_path / "mine.csv", rows), "y", ["g"], name="mine")
    upload = train_model("mine", "logreg", TrainConfig(epochs=2), store=st).model_id
    stored = st.get_dataset("mine")["path"]
    write_csv(stored, [{**r, "x": r["x"] + 1} for r in rows])  # the stored file changes under the model
    with pytest.raises(DataValidationError, match="modified on disk"):
        run_stored_audit(st, "performance", upload)


def test_trail_names_a_flipped_weight_byte_a_deleted_audit_row_and_a_deleted_model_row(tmp_path):
    import sqlite3
    from pathlib import Path

    from audits import run_stored_audit
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    st = Store(tmp_path)
    ids = [train_model("german_credit", "logreg", TrainConfig(epochs=1, seed=s), store=st).model_id for s in (0, 1)]
    audit_id, _ = run_stored_audit(st, "performance", ids[0], n_boot=10)
    st.delete_model(ids[1])  # a deletion the trail recorded is not a problem
    assert st.verify_trail()["ok"], st.verify_trail()["problems"]
    weights = next(Path(st.get_model(ids[0]).path).glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01
    weights.write_bytes(bytes(data))
    con = sqlite3.connect(tmp_path / "fmaudit.db")
    con.execute("DELETE FROM audits WHERE id = ?", (audit_id,))
    con.commit()
    con.close()
    problems = st.verify_trail()["problems"]
    assert any(ids[0] in p and weights.name in p and "modified" in p for p in problems), problems
    assert any(audit_id in p and "row was deleted" in p for p in problems), problems
    con = sqlite3.connect(tmp_path / "fmaudit.db")
    con.execute("DELETE FROM models WHERE id = ?", (ids[0],))
    con.commit()
    con.close()
    assert any(ids[0] in p and "row was deleted" in p for p in st.verify_trail()["problems"])


def test_a_copied_store_works_on_its_own_files_and_backup_restore_verifies(tmp_path):
    import shutil
    import sqlite3

    from fmcore.errors import ConfigError
    from fmcore.store import Store, restore
    from fmcore.train import TrainConfig, train_model

    original = Store(tmp_path / "a")
    mid = train_model("german_credit", "logreg", TrainConfig(epochs=1), store=original).model_id
    (stored,) = sqlite3.connect(tmp_path / "a" / "fmaudit.db").execute("SELECT path FROM models").fetchone()
    assert not stored.startswith("/")  # relative to the store's folder
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    copy = Store(tmp_path / "b")
    assert copy.get_model(mid).path.startswith(str(tmp_path / "b"))
    from fmcore.data import load_dataset

    X = load_dataset("german_credit")["test"].X
    assert (copy.load_classifier(mid).predict(X) == original.load_classifier(mid).predict(X)).all()
    copy.delete_model(mid)
    assert original.verify_model(mid)  # deleting in the copy never touches the original
    # an older store with absolute paths, copied elsewhere, is migrated when opened
    con = sqlite3.connect(tmp_path / "a" / "fmaudit.db")
    con.execute("UPDATE models SET path = ?", (str(tmp_path / "elsewhere" / "artifacts" / "models" / mid),))
    con.commit()
    con.close()
    assert Store(tmp_path / "a").verify_model(mid)
    info = original.backup(tmp_path / "backup.tar.gz")
    assert info["files"] == 1
    restored, check = restore(tmp_path / "backup.tar.gz", tmp_path / "c")
    assert check["ok"], check["problems"]
    assert restored.verify_model(mid)
    with pytest.raises(ConfigError, match="already holds a store"):
        restore(tmp_path / "backup.tar.gz", tmp_path / "c")


def test_a_full_disk_leaves_no_temporary_file_and_the_store_still_opens(tmp_path, good_rows, monkeypatch):
    """A dataset upload that hits a full disk half-way: refused with the store's path and what to free, no
    temporary file left, and the store opens and reads as before."""
    import errno
    import shutil

    from fmcore.store import Store
    from fmcore.store._db import StoreUnwritable
    from tests.conftest import write_csv

    store = Store(tmp_path / "home")
    before = sorted(p.name for p in store.root.rglob("*"))
    real_copy = shutil.copyfile

    def full_disk(src, dst, *args, **kwargs):
        with open(dst, "wb") as fh:
            fh.write(b"half a file")
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(shutil, "copyfile", full_disk)
    with pytest.raises(StoreUnwritable, match=r"cannot be written .*No space left.*Free space on that disk"):
        store.add_dataset(write_csv(tmp_path / "loans.csv", good_rows), "approved", ["sex"])
    monkeypatch.setattr(shutil, "copyfile", real_copy)
    assert sorted(p.name for p in store.root.rglob("*")) == before  # nothing left behind
    again = Store(tmp_path / "home")
    assert again.list_datasets() == []
    assert again.verify_trail()["ok"]


def test_start_up_removes_leftovers_of_dead_writers(tmp_path):
    """A killed import's temporary folder (its process gone) is removed when the store next opens, at any age; a
    live writer's recent one stays."""
    import os
    import subprocess
    import sys

    from fmcore.store import Store, temp_name

    store = Store(tmp_path / "home")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    leftover = store.root / f".tmp-{dead.stdout.strip()}-import-0000"
    (leftover / "weights").mkdir(parents=True)
    (leftover / "weights" / "model.safetensors").write_bytes(b"x" * 1000)
    report_tmp = store.root / "reports" / f".tmp-{dead.stdout.strip()}-fmaudit-m-1.json-ab"
    report_tmp.parent.mkdir()
    report_tmp.write_text("{")
    live = store.models_dir / temp_name("m-live")
    live.mkdir()
    Store(tmp_path / "home")
    assert not leftover.exists()
    assert not report_tmp.exists()
    assert live.exists()
    assert str(os.getpid()) in live.name
