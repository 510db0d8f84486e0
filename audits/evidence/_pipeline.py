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

from fmcore.errors import ConfigError, FmauditError

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


def check_pipeline(spec: dict, store) -> dict:
    """Every input of a pipeline checked before anything runs: the dataset and architecture, the training options,
    the model id, each audit's name and options, the policy file and the report folder. Returns what the run needs
    (``train``, ``policy``, ``out``); all problems are listed in one ``ConfigError``, and nothing is trained or
    registered when there is one."""
    from fmcore.data import dataset_names
    from fmcore.models import model_spec
    from fmcore.train import TrainConfig

    from .._registry import get_audit
    from ._policy import load_policy

    problems, plan = [], {"train": None, "policy": None}
    if "train" in spec:
        t = dict(spec["train"]) if isinstance(spec["train"], dict) else {}
        if not isinstance(spec["train"], dict):
            problems.append("train must map dataset, model and training options")
        dataset, model = t.pop("dataset", None), t.pop("model", None)
        if dataset not in dataset_names(store):
            problems.append(f"train.dataset {dataset!r} is not a known dataset")
        try:
            model_spec(str(model))
            plan["train"] = (dataset, model, TrainConfig.from_dict(t))
        except (FmauditError, TypeError) as exc:
            problems.append(f"train: {exc}")
    else:
        try:
            store.get_model(str(spec["model_id"]))
        except FmauditError as exc:
            problems.append(f"model_id: {exc}")
    for name, options in (spec.get("audits") or {}).items():
        if options is not None and not isinstance(options, dict):
            problems.append(f"audits.{name}: options must be a mapping")
            continue
        try:
            defaults = get_audit(name).defaults
        except FmauditError as exc:
            problems.append(f"audits: {exc}")
            continue
        unknown = sorted(set(options or {}) - set(defaults))
        if unknown:
            problems.append(f"audits.{name}: no option(s) {unknown}; options: {sorted(defaults)}")
    report_spec = spec.get("report") or {}
    if not isinstance(report_spec, dict):
        problems.append("report must be a mapping with policy and out")
        report_spec = {}
    if report_spec.get("policy"):
        policy_path = Path(str(report_spec["policy"]))
        if not policy_path.is_absolute():  # relative to the pipeline file, wherever it is run from
            policy_path = spec["base"] / policy_path
        try:
            plan["policy"] = load_policy(policy_path)
        except FmauditError as exc:
            problems.append(f"report.policy: {exc}")
    if problems:
        raise ConfigError(f"The pipeline was not run (nothing was trained or registered): {'; '.join(problems)}.")
    return plan


def run_pipeline(spec: dict, store, out: str | Path | None = None, log=print, progress=None, callbacks=(),
                 is_cancelled=None, name: str | None = None) -> dict:
    """Check every input (``check_pipeline``), then run the steps; returns ``{"model_id", "audit_ids", "paths",
    "policy"}``. The one path from a recipe to a report: the CLI's ``pipeline`` and Home's demo job.

    ``progress(fraction, message)`` follows the run (training takes the first 80% when there is training);
    ``callbacks`` are passed to training (a job's per-epoch progress); ``is_cancelled()`` is asked between steps
    and during training (``fmcore.train.TrainingCancelled`` or ``PipelineCancelled`` then); ``name`` names the
    trained model."""
    from fmcore.train import train_model

    from .. import run_stored_audit
    from ._report import file_report

    plan = check_pipeline(spec, store)
    steps = dict(spec.get("audits") or {})
    trained = 0.8 if plan["train"] else 0.0  # the share of the progress that training takes
    say = progress or (lambda fraction, message: None)
    if plan["train"]:
        dataset, model, config = plan["train"]
        say(0.0, "loading data and model")
        result = train_model(dataset, model, config, store=store, name=name, callbacks=list(callbacks),
                             is_cancelled=is_cancelled)
        model_id = result.model_id
        log(f"trained {model_id}: test accuracy {result.metrics['accuracy']:.4f}")
    else:
        model_id = spec["model_id"]
    record = store.get_model(model_id)
    model_id = record.id
    audit_ids = {}
    for i, (audit, options) in enumerate(steps.items()):
        if is_cancelled is not None and is_cancelled():
            raise PipelineCancelled(f"stopped after {'training ' + model_id + ' and ' if plan['train'] else ''}"
                                    f"{i} of {len(steps)} audits")
        lo = trained + (0.95 - trained) * i / len(steps)
        hi = trained + (0.95 - trained) * (i + 1) / len(steps)

        def step(fraction, message, lo=lo, hi=hi, audit=audit):
            say(lo + (hi - lo) * fraction, f"{audit} audit: {message}")

        audit_ids[audit], result = run_stored_audit(store, audit, model_id, progress=step, **(options or {}))
        log(f"{audit} audit {audit_ids[audit]} in {result.seconds:.1f} s")
    say(0.96, "filing the report")
    report_spec = spec.get("report") or {}
    report, paths = file_report(store, model_id, plan["policy"], out or report_spec.get("out") or "reports")
    log(f"report {report['content_sha256'][:16]}... written to {paths['html'].parent}")
    return {"model_id": model_id, "audit_ids": audit_ids, "paths": {k: str(v) for k, v in paths.items()},
            "policy": report["policy"], "content_sha256": report["content_sha256"]}


class PipelineCancelled(FmauditError):
    """A pipeline stopped between its steps because it was asked to; what it finished is kept."""
