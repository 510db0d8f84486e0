"""Headless pipelines: a YAML file that trains (or names) a model, runs audits and files a report.

```yaml
name: ...
train: {dataset: german_credit, model: mlp, epochs: 10, seed: 0}   # or: model_id: m-1234abcd
audits:
  performance: {}
  fairness: {sensitive: [sex]}
report: {policy: ../policies/eu_ai_act_high_risk.yaml, out: reports/german_credit}   # policy: relative to this file
```

The steps are the same functions the dashboard's jobs call, with the same defaults and seeds, so a
pipeline run and a dashboard run give the same numbers.
"""

from __future__ import annotations

from pathlib import Path

from fmcore.errors import ConfigError

STEPS = ("name", "train", "model_id", "audits", "report")


def load_pipeline(path: str | Path) -> dict:
    """Load and check a pipeline YAML file."""
    from fmcore.config import safe_yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"No pipeline file at {path}. An example is in pipelines/.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path.name} is not UTF-8 text ({exc.reason} at byte {exc.start}).") from None
    spec = safe_yaml(text, path.name)
    if not isinstance(spec, dict):
        raise ConfigError(f"{path.name} must be a mapping with train (or model_id), audits and report.")
    unknown = [k for k in spec if k not in STEPS]
    if unknown:
        raise ConfigError(f"{path.name}: unknown key(s) {unknown}; a pipeline has {', '.join(STEPS)}.")
    if ("train" in spec) == ("model_id" in spec):
        raise ConfigError(f"{path.name}: give exactly one of train (a new model) or model_id (an existing one).")
    audits = spec.get("audits") or {}
    if not isinstance(audits, dict):
        raise ConfigError(f"{path.name}: audits must map audit names to their options.")
    spec["base"] = path.resolve().parent
    return spec


def run_pipeline(spec: dict, store, out: str | Path | None = None, log=print) -> dict:
    """Run the steps; returns ``{"model_id", "audit_ids", "paths", "policy"}``."""
    from fmcore.train import TrainConfig, train_model

    from .. import run_stored_audit
    from ._policy import load_policy
    from ._report import file_report

    if "train" in spec:
        t = dict(spec["train"])
        try:
            dataset, model = t.pop("dataset"), t.pop("model")
        except KeyError as exc:
            raise ConfigError(f"train needs {exc.args[0]}.") from None
        result = train_model(dataset, model, TrainConfig.from_dict(t), store=store)
        model_id = result.model_id
        log(f"trained {model_id}: test accuracy {result.metrics['accuracy']:.4f}")
    else:
        model_id = spec["model_id"]
    record = store.get_model(model_id)  # an unknown model_id stops here, with the store's message
    model_id = record.id
    audit_ids = {}
    for name, options in (spec.get("audits") or {}).items():
        audit_ids[name], result = run_stored_audit(store, name, model_id, **(options or {}))
        log(f"{name} audit {audit_ids[name]} in {result.seconds:.1f} s")
    report_spec = spec.get("report") or {}
    policy = None
    if report_spec.get("policy"):
        policy_path = Path(report_spec["policy"])
        if not policy_path.is_absolute():  # relative to the pipeline file, wherever it is run from
            policy_path = spec["base"] / policy_path
        policy = load_policy(policy_path)
    report, paths = file_report(store, model_id, policy, out or report_spec.get("out") or "reports")
    return {"model_id": model_id, "audit_ids": audit_ids, "paths": {k: str(v) for k, v in paths.items()},
            "policy": report["policy"], "content_sha256": report["content_sha256"]}
