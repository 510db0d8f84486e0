"""Audit work as background jobs: ``audits.jobs:audit`` runs any audit by its name; the others make models
(``audits.jobs:harden``, ``audits.jobs:mitigate``, ...) or run sweeps."""

from __future__ import annotations


def demo(params: dict, ctx) -> dict:
    """Home's demo in one job: the pipeline (``audits.evidence.run_pipeline``) that trains ``params["model"]`` on
    ``params["dataset"]``, runs ``params["audits"]`` on it (default: performance and a small robustness sweep) and
    files its evidence report, followed by one progress bar."""
    from pathlib import Path

    from fmcore.jobs import JobCancelled
    from fmcore.train import TrainConfig, TrainingCancelled

    from .evidence import PipelineCancelled, run_pipeline

    config = TrainConfig.from_dict(params.get("config", {}))
    audits = dict(params.get("audits") or DEMO_AUDITS)
    pipeline = {"train": {"dataset": params["dataset"], "model": params["model"], **config.to_dict()},
                "audits": audits, "base": Path(ctx.store.root)}
    ctx.log(f"demo: training {params['model']} on {params['dataset']} ({config.to_dict()}), then {list(audits)}")
    try:
        r = run_pipeline(pipeline, ctx.store, Path(ctx.store.root) / "reports" / "demo", log=ctx.log,
                         progress=lambda f, m: ctx.progress(f, message=m, force=f in (0.0, 0.96)),
                         callbacks=[ctx.train_callback(config.epochs, span=(0.0, 0.8))],
                         is_cancelled=ctx.is_cancelled, name=params.get("name"))
    except (TrainingCancelled, PipelineCancelled) as exc:
        raise JobCancelled(str(exc)) from None
    return {k: r[k] for k in ("model_id", "audit_ids", "paths", "content_sha256")}


DEMO_AUDITS = {"performance": {}, "robustness": {"samples": 200, "eps": [0.05, 0.1, 0.2]}}


def run_missing(params: dict, ctx) -> dict:
    """The audits ``params["policy"]`` needs and ``params["model"]`` lacks, each with its default options."""
    from .evidence import run_missing as run

    done = run(params["policy"], ctx.store, params["model"], log=ctx.log)
    return {"model_id": params["model"], "audits": done}


def harden(params: dict, ctx) -> dict:
    """Adversarially train ``params["model"]``; returns the new model id and the before/after numbers."""
    from fmcore.jobs import JobCancelled
    from fmcore.train import TrainingCancelled

    from .robustness import harden as run

    options = dict(params.get("options", {}))
    ctx.log(f"adversarial training of {params['model']}: {options}")
    try:
        result = run(ctx.store, params["model"], callbacks=[ctx.train_callback(options.get("epochs", 1))],
                     is_cancelled=ctx.is_cancelled, **options)
    except TrainingCancelled as exc:
        raise JobCancelled(str(exc)) from None
    s = result.summary()
    ctx.log(f"registered {s['model_id']}: robust {s['before']['robust_accuracy']:.4f} -> "
            f"{s['after']['robust_accuracy']:.4f}, clean {s['before']['clean_accuracy']:.4f} -> "
            f"{s['after']['clean_accuracy']:.4f}")
    s.pop("history")
    return s


def audit(params: dict, ctx) -> dict:
    """Any registered audit (``params["audit"]``) of ``params["model"]``, or of each of ``params["models"]``, with
    ``params["options"]``: every audit runs as this job, a plugin's included; each result's headline is logged."""
    from fmcore.jobs import JobCancelled

    from . import run_stored_audit
    from .reporting import headline

    name, options = params["audit"], dict(params.get("options", {}))
    models = list(params.get("models") or [params["model"]])
    done = {}
    for i, model_id in enumerate(models):
        if ctx.is_cancelled():
            raise JobCancelled(f"stopped after {i} of {len(models)} models")
        record = ctx.store.get_model(model_id)
        ctx.log(f"{name} audit of {record.id} ({record.name}) with {options}")

        def progress(fraction, message, i=i, model_id=record.id):
            ctx.progress((i + fraction) / len(models), message=f"{model_id}: {message}" if len(models) > 1 else message)

        audit_id, result = run_stored_audit(ctx.store, name, record.id, progress=progress, **options)
        ctx.log(f"{record.id}: " + (headline(name, result.metrics) or f"{name} audit {audit_id} done"))
        for w in result.warnings:
            ctx.log(f"warning: {w}")
        done[record.id] = audit_id
    first = next(iter(done))
    return {"audit": name, "audit_id": done[first], "model_id": first, "audit_ids": done}


def calibrate(params: dict, ctx) -> dict:
    """Temperature scaling of ``params["model"]``: a registered child."""
    from .ood import calibrate as run

    s = run(ctx.store, params["model"]).summary()
    ctx.log(f"registered {s['model_id']}: temperature {s['temperature']:.3f}, ECE {s['before']['ece']:.4f} -> "
            f"{s['after']['ece']:.4f}")
    return s


def augment_sweep(params: dict, ctx) -> dict:
    """A baseline and its augmented siblings, each audited (``audits.ood.augment_sweep``)."""
    from fmcore.jobs import JobCancelled
    from fmcore.train import TrainingCancelled

    from .sweeps import augment_sweep as run

    options = dict(params.get("options", {}))
    ctx.log(f"augmentation sweep: {params['model']} on {params['dataset']}, variants {params['variants']}, {options}")
    try:
        result = run(ctx.store, params["dataset"], params["model"], list(params["variants"]),
                     progress=lambda f, m: ctx.progress(f, message=m), is_cancelled=ctx.is_cancelled, **options)
    except TrainingCancelled as exc:
        raise JobCancelled(str(exc)) from None
    for r in result["rows"]:
        ctx.log(f"{r['augment']}: {r['model_id']}, clean {r['clean_accuracy']:.4f}, mCE {r['mean_corruption_error']}")
    return result


def mitigate(params: dict, ctx) -> dict:
    """Fairness mitigation of ``params["model"]``; with ``params["tolerances"]``, one model per tolerance (a sweep)."""
    from fmcore.jobs import JobCancelled

    from .fairness import mitigate as run

    options = dict(params.get("options", {}))
    tolerances = list(params.get("tolerances") or [options.pop("tolerance", None)])
    options.pop("tolerance", None)
    done = []
    for i, tol in enumerate(tolerances):
        if ctx.is_cancelled():
            raise JobCancelled(f"stopped after {i} of {len(tolerances)} mitigations")
        ctx.progress(i / len(tolerances), message=f"{options.get('method')} tolerance {tol}")
        ctx.log(f"mitigating {params['model']}: {options}, tolerance {tol}")
        s = run(ctx.store, params["model"], tolerance=tol, **options).summary()
        ctx.log(f"registered {s['model_id']}: accuracy {s['before']['accuracy']:.4f} -> {s['after']['accuracy']:.4f}, "
                f"demographic parity difference {s['before']['demographic_parity_difference']:.4f} -> "
                f"{s['after']['demographic_parity_difference']:.4f}")
        done.append(s)
    return {"model_ids": [s["model_id"] for s in done], "model_id": done[-1]["model_id"], "results": done}


def lm_remedies(params: dict, ctx) -> dict:
    """A language model's memorisation remedies (``audits.sweeps.lm_remedies``); returns its rows."""
    from .sweeps import lm_remedies as run

    ctx.log(f"memorisation remedies of {params['model']}: DP-SGD at {params.get('epsilons')}, de-identified "
            f"{params.get('deidentify', True)}")
    out = run(ctx.store, params["model"], params.get("epsilons", (1.0, 8.0)),
              deidentify=params.get("deidentify", True), texts=int(params.get("texts", 100)),
              progress=lambda f, m: ctx.progress(f, message=m), is_cancelled=ctx.is_cancelled)
    for r in out["rows"]:
        ctx.log(f"{r['variant']}: perplexity {r['test_perplexity']:.1f}, exposure {r['most_repeated_exposure']:.2f} "
                f"bits, extraction {r['extraction_rate']:.1%}")
    return {**out, "model_ids": [r["model_id"] for r in out["rows"]]}


def dp_sweep(params: dict, ctx) -> dict:
    """Train and attack one model per epsilon (``audits.privacy.dp_sweep``); returns the rows."""
    from .sweeps import dp_sweep as run

    options = dict(params.get("options", {}))
    ctx.log(f"DP sweep: {params['dataset']} / {params['model']} at epsilons {params['epsilons']} with {options}")
    rows = run(ctx.store, params["dataset"], params["model"], params["epsilons"],
               progress=lambda f, m: ctx.progress(f, message=m), is_cancelled=ctx.is_cancelled, **options)
    for r in rows:
        ctx.log(f"target epsilon {r['target_epsilon']}: spent {r['epsilon']}, accuracy {r['accuracy']:.4f}, "
                f"attack AUC {r['max_auc']:.3f}, empirical epsilon >= {r['empirical_epsilon']:.2f}")
    return {"rows": rows, "model_ids": [r["model_id"] for r in rows]}


def compression(params: dict, ctx) -> dict:
    """Make each compressed variant in ``params["methods"]`` of ``params["model"]``, then audit them all."""
    from fmcore.compress import compress_many

    from . import run_stored_audit

    methods = list(params.get("methods") or [])
    results = compress_many(ctx.store, params["model"], methods, **dict(params.get("options", {})),
                            progress=lambda f, m: ctx.progress(0.7 * f, message=f"compressing: {m}"),
                            is_cancelled=ctx.is_cancelled) if methods else []
    for r in results:
        s = r.summary()
        change = (f"perplexity {s['parent_test_perplexity']:.1f} -> {s['test_perplexity']:.1f}"
                  if "test_perplexity" in s else f"accuracy {s['accuracy_delta']:+.4f}")
        ctx.log(f"{s['method']}: {s['model_id']}, size {s['size_ratio']:.3f}x, {change}")
    made = [r.model_id for r in results]
    audit_id, result = run_stored_audit(ctx.store, "compression", params["model"],
                                        progress=lambda f, m: ctx.progress(0.7 + 0.3 * f, message=f"auditing: {m}"))
    for w in result.warnings:
        ctx.log(f"warning: {w}")
    return {"model_ids": made, "audit_id": audit_id, "model_id": result.model_id}


def cleanse(params: dict, ctx) -> dict:
    """The backdoor remedy: ``params["model"]``'s recipe retrained without the rows its backdoor audit flagged."""
    from fmcore.jobs import JobCancelled
    from fmcore.train import TrainingCancelled

    from .backdoor import cleanse as run

    record = ctx.store.get_model(params["model"])
    epochs = int(((record.config or {}).get("train") or {}).get("epochs") or 1)
    ctx.log(f"retraining {record.id} ({record.name}) without the rows its backdoor audit flagged")
    try:
        s = run(ctx.store, record.id, callbacks=[ctx.train_callback(epochs)], is_cancelled=ctx.is_cancelled).summary()
    except TrainingCancelled as exc:
        raise JobCancelled(str(exc)) from None
    ctx.log(f"registered {s['model_id']}: {s['excluded_rows']} rows left out; accuracy {s['before']['accuracy']:.4f} "
            f"-> {s['after']['accuracy']:.4f}; backdoor success {s['before']['attack_success_rate']} -> "
            f"{s['after']['attack_success_rate']}")
    return s
