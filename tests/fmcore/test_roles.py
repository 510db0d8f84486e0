"""One role gate: the store's write methods are marked where they are defined, who may call them is declared once
(``fmcore.security.PERMISSIONS``), and the dashboard, the command line and the job worker all ask that."""

from pathlib import Path

import pytest

from fmcore.jobs import FAILED, RUNNING
from fmcore.jobs._records import create_job, get_job, update_job
from fmcore.jobs.worker import run
from fmcore.security import PERMISSIONS, RoleRefused, add_user, require
from fmcore.store import Store

ROOT = Path(__file__).resolve().parents[2]


def test_every_method_that_changes_the_store_is_marked_and_no_reader_is():
    writes = Store.WRITES
    assert {"register_model", "add_audit", "delete_model", "add_dataset", "import_model", "import_predictions",
            "export_model", "backup", "sign_head", "annotate_metrics", "create_run", "finish_run",
            "log_event"} == writes
    assert not writes & {"get_model", "list_models", "load_classifier", "latest_audits", "events", "verify_trail"}


def test_the_roles_are_written_once(tmp_path):
    add_user("vera", "a long passphrase", "viewer", tmp_path)
    add_user("otto", "a long passphrase", "auditor", tmp_path)
    add_user("ada", "a long passphrase", "approver", tmp_path)
    assert require("otto", "write", "x", tmp_path) == "auditor"
    with pytest.raises(RoleRefused, match="vera has the role viewer: x needs the role auditor or approver"):
        require("vera", "write", "x", tmp_path)
    with pytest.raises(RoleRefused, match="needs the role approver"):
        require("otto", "approve", "x", tmp_path)
    assert require("ada", "trust", "x", tmp_path) == "approver"
    # no face keeps its own list of roles or of store writes
    for folder in ("dashboard", "fmaudit", "audits"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert '("auditor", "approver")' not in text, path
            assert '"import_predictions",' not in text, path
    assert set(PERMISSIONS) == {"write", "review", "approve", "trust"}


def test_a_job_of_a_user_who_may_no_longer_write_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("FMAUDIT_USER", "otto")  # the worker sets it to the job's actor: restored after the test
    store = Store(tmp_path)
    add_user("vera", "a long passphrase", "viewer", tmp_path)
    before = len(store.events())
    job = create_job(store, "train", {"target": "fmcore.jobs.tasks:train", "actor": "vera",
                                      "params": {"dataset": "digits", "model": "logreg"}})
    update_job(store, job.id, state=RUNNING)  # claimed, as the runner does
    assert run(store, job.id) == FAILED
    assert "vera has the role viewer: the job fmcore.jobs.tasks:train needs the role" in get_job(store, job.id).error
    assert store.list_models() == []
    assert len(store.events()) == before
