"""Scale-out: sweeps fanned out as Ray tasks on a local Ray instance give exactly the local results."""

import json
import time

import numpy as np
import pytest
import ray
import torch

from audits import run_audit
from audits._result import without_timings
from fmcore.compress import compress_many
from fmcore.data import load_dataset
from fmcore.errors import ConfigError
from fmcore.executor import JOB_CANCELLED
from fmcore.jobs import JobCancelled, LocalExecutor, RayExecutor, executor_from_env, use_executor


@pytest.fixture(scope="module")
def ray_executor():
    """A local Ray instance with 2 CPUs, as a user's `ray.init(num_cpus=2)`; stopped after the module."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield RayExecutor()
    ray.shutdown()


def _same(a: dict, b: dict) -> None:
    a, b = without_timings(a), without_timings(b)  # when and how long are the only things allowed to differ
    assert json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _audit(executor, name, store, model_id, **options) -> dict:
    dataset = load_dataset(store.get_model(model_id).dataset, store=store)
    with use_executor(executor):
        return run_audit(name, store.load_classifier(model_id), dataset, model_id, **options).to_dict()


def test_robustness_sweep_on_ray_equals_local(ray_executor, trained_digits):
    store, record = trained_digits
    options = {"eps": [0.05, 0.1, 0.2], "samples": 120, "blackbox_check_samples": 40}
    local = _audit(LocalExecutor(), "robustness", store, record.id, **options)
    remote = _audit(ray_executor, "robustness", store, record.id, **options)
    _same(local, remote)  # every number, table, check and gallery image
    accs = [r["robust_accuracy"] for r in local["tables"]["sweep"]]
    assert accs[-1] < local["metrics"]["clean_accuracy"]  # the attack did something
    assert len(local["tables"]["checks"]) == 3  # monotone, PGD vs FGSM, Square: 3 + 3 + 1 tasks


def test_compression_sweep_on_ray_equals_local(ray_executor, trained_digits, store):
    from audits.compression import compression_audit
    from fmcore.store import Store

    source, record = trained_digits
    methods = ["prune:0.5", "channels:0.5", "int8", "distill:0.5"]
    made = {}
    for name, executor in (("local", LocalExecutor()), ("ray", ray_executor)):
        home = Store(store.root / name)
        parent = home.register_model(source.load_classifier(record.id), dataset=record.dataset, name=record.name,
                                     metrics=record.metrics, config=record.config)
        with use_executor(executor):
            made[name] = (home, parent.id, compress_many(home, parent.id, methods, fine_tune_epochs=1,
                                                         max_train_samples=400))
    (h1, p1, local), (h2, p2, remote) = made["local"], made["ray"]
    x = h1.load_classifier(p1).encode(load_dataset("digits")["test"].X)
    for a, b in zip(local, remote, strict=True):
        assert (a.method, a.size_bytes, a.accuracy) == (b.method, b.size_bytes, b.accuracy)
        ca, cb = h1.load_classifier(a.model_id), h2.load_classifier(b.model_id)
        assert torch.equal(ca.logits(x), cb.logits(x))  # the same weights, bit for bit
        assert h1.get_model(a.model_id).sha256 == h2.get_model(b.model_id).sha256
    audits = [compression_audit(h, p, repeats=3).to_dict() for h, p in ((h1, p1), (h2, p2))]
    timing = ("model_id", "latency_b1_ms", "latency_b1_iqr_ms", "latency_b256_ms", "latency_b256_iqr_ms",
              "latency_b1_ratio", "latency_b256_ratio")
    rows = [[{k: v for k, v in r.items() if k not in timing} for r in a["tables"]["variants"]] for a in audits]
    assert rows[0] == rows[1]
    assert min(r["size_ratio"] for r in rows[0]) < 0.5


def test_lira_references_and_fairness_bootstraps_on_ray_equal_local(ray_executor, trained_german):
    store, record = trained_german
    lira = {"attacks": ["lira"], "reference_models": 3, "samples": 100}
    _same(_audit(LocalExecutor(), "privacy", store, record.id, **lira),
          _audit(ray_executor, "privacy", store, record.id, **lira))
    fair = {"n_boot": 120, "intersectional": True}
    local = _audit(LocalExecutor(), "fairness", store, record.id, **fair)
    _same(local, _audit(ray_executor, "fairness", store, record.id, **fair))
    row = local["tables"]["groups"][0]
    assert row["accuracy_ci_low"] < row["accuracy"] < row["accuracy_ci_high"]  # 3 chunks of bootstrap resamples


def _fails(shared, task):
    raise ConfigError(f"task {task['i']} refused")


def _slow(shared, task):
    time.sleep(shared)
    return task["i"]


def _nested(shared, task):
    from fmcore.executor import get_executor

    return get_executor().name


def test_task_errors_cancel_and_configuration(ray_executor, monkeypatch):
    tasks = [{"seed": i, "i": i} for i in range(3)]
    assert ray_executor.map(_nested, tasks[:1]) == ["local"]  # a sweep inside a task stays in that task
    with pytest.raises(ConfigError, match="task 0 refused"):  # the task's own error, not a wrapper
        ray_executor.map(_fails, tasks)
    assert ray_executor.map(_slow, tasks, 0.0) == [0, 1, 2]  # in task order
    seen = []
    with pytest.raises(JobCancelled, match="stopped after"):
        ray_executor.map(_slow, [{"seed": i, "i": i} for i in range(6)], 2.0,
                         progress=lambda f, m: seen.append(m), is_cancelled=lambda: True)
    with pytest.raises(ConfigError, match="its own seed"):
        LocalExecutor().map(_slow, [{"i": 0}], 0.0)
    token = JOB_CANCELLED.set(lambda: True)  # what a job's worker sets: its sweeps stop between tasks
    try:
        with pytest.raises(JobCancelled, match="stopped after 0 of 3"):
            LocalExecutor().map(_slow, tasks, 0.0)
    finally:
        JOB_CANCELLED.reset(token)
    monkeypatch.setenv("FMAUDIT_EXECUTOR", "spark")
    with pytest.raises(ConfigError, match="local, ray"):
        executor_from_env()
    monkeypatch.setenv("FMAUDIT_EXECUTOR", "ray")
    monkeypatch.setenv("FMAUDIT_RAY_ADDRESS", "auto")
    ex = executor_from_env()
    assert (ex.name, ex.address, ex.ship_code) == ("ray", "auto", True)


def test_local_executor_leaves_the_callers_random_state(trained_digits):
    np.random.seed(7)
    torch.manual_seed(7)
    expected = (np.random.rand(), torch.rand(1).item())
    np.random.seed(7)
    torch.manual_seed(7)
    LocalExecutor().map(_slow, [{"seed": 1, "i": 1}], 0.0)
    assert (np.random.rand(), torch.rand(1).item()) == expected


def test_a_job_fans_out_on_an_existing_cluster(ray_executor, trained_digits, tmp_path, monkeypatch):
    """The dashboard's job runner with FMAUDIT_EXECUTOR=ray and the cluster's address: the job's worker
    process connects to the running instance (shipping fmcore and audits) and stores the same result."""
    from fmcore.jobs import JobRunner

    source, record = trained_digits
    address = ray.get_runtime_context().gcs_address
    monkeypatch.setenv("FMAUDIT_EXECUTOR", "ray")
    monkeypatch.setenv("FMAUDIT_RAY_ADDRESS", address)
    options = {"eps": [0.1, 0.2], "samples": 60, "compare_fgsm": False, "blackbox_check_samples": 0}
    runner = JobRunner(source).start()
    try:
        job = runner.wait(runner.submit("audits.jobs:audit", {"audit": "robustness", "models": [record.id],
                                                              "options": options}).id, timeout=600)
    finally:
        runner.shutdown()
    log = (source.root / "logs" / f"{job.id}.log").read_text() if job.state != "done" else ""
    assert job.state == "done", f"{job.error}\n{log}"
    stored = next(a for a in source.list_audits(record.id) if a["id"] == job.result["audit_id"])["result"]
    _same(stored, _audit(LocalExecutor(), "robustness", source, record.id, **options))
    assert f"sweeps run on Ray at {address}" in job.log
