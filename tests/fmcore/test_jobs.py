"""The job runner: worker processes, states, progress, concurrency limit, cancel, crash and recovery."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from fmcore.jobs import CANCELLED, DONE, FAILED, INTERRUPTED, RUNNING, JobRunner, get_job, pid_alive
from fmcore.jobs._records import create_job, update_job


@pytest.fixture
def runner(store, monkeypatch):
    monkeypatch.setenv("FMAUDIT_JOB_MODULES", "tests")
    r = JobRunner(store, max_concurrent=1, poll_seconds=0.05).start()
    yield r
    r.shutdown()


def test_training_job_registers_a_model_with_progress_and_log(runner, store):
    job = runner.submit("fmcore.jobs.tasks:train", {"dataset": "digits", "model": "logreg",
                                                    "config": {"epochs": 2}}, title="logreg on digits")
    done = runner.wait(job.id, timeout=120)
    assert done.state == DONE, (done.error, done.log)
    assert done.progress == 1.0
    assert [h["epoch"] for h in done.history] == [1, 2]
    model = store.get_model(done.result["model_id"])
    assert model.metrics["accuracy"] == pytest.approx(done.result["test_accuracy"])
    assert "registered model" in done.log
    assert done.title == "logreg on digits"


def test_concurrency_limit_and_queue_order(runner):
    jobs = [runner.submit("tests.jobs_tasks:sleep", {"steps": 4, "step_s": 0.05}) for _ in range(3)]
    max_running = 0
    while any(runner.get(j.id).active for j in jobs):
        max_running = max(max_running, sum(runner.get(j.id).state == RUNNING for j in jobs))
        time.sleep(0.02)
    finished = [runner.get(j.id) for j in jobs]
    assert all(j.state == DONE for j in finished)
    assert max_running == 1
    starts = [j.started_at for j in finished]
    assert starts == sorted(starts)


def test_cancel_queued_and_running(runner):
    running = runner.submit("tests.jobs_tasks:sleep", {"steps": 200, "step_s": 0.05})
    queued = runner.submit("tests.jobs_tasks:sleep", {"steps": 1})
    assert runner.cancel(queued.id).state == CANCELLED
    while runner.get(running.id).state != RUNNING or runner.get(running.id).progress == 0:
        time.sleep(0.05)
    runner.cancel(running.id)
    final = runner.wait(running.id, timeout=30)
    assert final.state == CANCELLED
    assert "stopped at step" in final.error
    assert 0 < final.progress < 1


def test_a_crashing_job_fails_and_the_runner_goes_on(runner):
    crashed = runner.submit("tests.jobs_tasks:crash", {})
    failed = runner.submit("tests.jobs_tasks:boom", {})
    after = runner.submit("tests.jobs_tasks:sleep", {"steps": 1})
    assert runner.wait(crashed.id, 60).state == FAILED
    assert "exited with code 7" in runner.get(crashed.id).error
    boom = runner.wait(failed.id, 60)
    assert boom.state == FAILED
    assert "ValueError: bad value in job" in boom.error
    assert "Traceback" in boom.log
    assert runner.wait(after.id, 60).state == DONE


def test_disallowed_target_fails_without_importing(runner):
    job = runner.wait(runner.submit("os:system", {"cmd": "true"}).id, 60)
    assert job.state == FAILED
    assert "not allowed" in job.error


def test_killed_worker_marks_job_failed_and_store_stays_consistent(runner, store):
    job = runner.submit("fmcore.jobs.tasks:train", {"dataset": "digits", "model": "seed_cnn",
                                                    "config": {"epochs": 50}})
    while not get_job(store, job.id).history:  # let it reach the end of the first epoch
        time.sleep(0.1)
    os.kill(get_job(store, job.id).pid, signal.SIGKILL)
    final = runner.wait(job.id, 30)
    assert final.state == FAILED
    assert "exited with code -9" in final.error
    assert store.list_models() == []
    assert not [p for p in store.models_dir.iterdir() if not p.name.startswith(".tmp-")]


def test_recover_marks_jobs_of_a_dead_server_interrupted(store):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    job = create_job(store, "train", {"target": "fmcore.jobs.tasks:train"}, owner_pid=dead.pid)
    update_job(store, job.id, state=RUNNING, pid=dead.pid)
    runner = JobRunner(store).start()
    try:
        j = get_job(store, job.id)
        assert j.state == INTERRUPTED
        assert f"pid {dead.pid}" in j.error
        assert "interrupted" in j.log
    finally:
        runner.shutdown()


SERVER = textwrap.dedent("""
    import sys, time
    from fmcore.store import Store
    from fmcore.jobs import JobRunner
    runner = JobRunner(Store(sys.argv[1]), poll_seconds=0.05).start()
    job = runner.submit("tests.jobs_tasks:sleep", {"steps": 600, "step_s": 0.05})
    print(job.id, flush=True)
    time.sleep(120)
""")


def test_killing_the_server_interrupts_its_job(store):
    env = {**os.environ, "FMAUDIT_JOB_MODULES": "tests"}
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(store.root)], stdout=subprocess.PIPE, text=True,
                              env=env)
    job_id = server.stdout.readline().strip()
    deadline = time.time() + 30
    while get_job(store, job_id).progress == 0 and time.time() < deadline:
        time.sleep(0.05)
    worker = get_job(store, job_id).pid
    server.kill()
    server.wait()
    deadline = time.time() + 15
    while get_job(store, job_id).state == RUNNING and time.time() < deadline:
        time.sleep(0.1)
    job = get_job(store, job_id)
    assert job.state == INTERRUPTED
    assert "server" in job.error
    time.sleep(0.5)
    assert not pid_alive(worker)


def test_demo_job_trains_audits_and_files_a_report_that_verifies(runner, store):
    """Home's demo: one job, one progress bar that only moves forward, a model, its two audits, a report."""
    from audits.evidence import verify_report

    job = runner.submit("audits.jobs:demo", {"dataset": "digits", "model": "logreg", "config": {"epochs": 2},
                                             "audits": {"performance": {"n_boot": 50},
                                                        "robustness": {"samples": 40, "eps": [0.1]}}})
    seen = []
    while runner.get(job.id).active:
        seen.append(runner.get(job.id).progress)
        time.sleep(0.05)
    done = runner.get(job.id)
    assert done.state == DONE, (done.error, done.log)
    assert seen == sorted(seen)  # training, then audits, then the report: never backwards
    r = done.result
    assert set(r["audit_ids"]) == {"performance", "robustness"}
    latest = store.latest_audits(r["model_id"])
    assert {a["id"] for a in latest.values()} == set(r["audit_ids"].values())
    model = store.get_model(r["model_id"])
    assert latest["performance"]["result"]["metrics"]["accuracy"] == pytest.approx(model.metrics["accuracy"])
    check = verify_report(r["paths"]["json"])
    assert check["ok"], check
    assert "performance audit" in done.log


def test_a_job_without_an_eta_of_its_own_gets_one_after_its_first_step(store):
    """Audit jobs report fractions only: the time left is extrapolated from the time so far, never "estimating"
    forever."""
    from fmcore.jobs import JobContext

    job = create_job(store, "audit", {"target": "x:y", "params": {}})
    ctx = JobContext(store, job.id, min_interval=0.0)
    ctx.progress(0.0, message="loading")
    assert get_job(store, job.id).eta_s is None  # nothing done yet: no guess
    time.sleep(0.2)
    ctx.progress(0.25, message="a quarter")
    eta = get_job(store, job.id).eta_s
    assert 0.5 <= eta <= 3 * 0.6  # three more quarters at about 0.2 s each
    ctx.progress(0.5, eta_s=42.0)
    assert get_job(store, job.id).eta_s == 42.0  # a job's own estimate (training's) wins
