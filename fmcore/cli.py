"""The ``fmaudit`` command line: the same services as the dashboard, for scripts and CI.

Every command takes ``--json`` and then prints exactly one JSON document on stdout; progress
and messages go to stderr. Exit status: 0 success, 2 a usage or input error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def _print(args, payload, text: str) -> None:
    if args.json:
        json.dump(payload, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(text)


def _table(rows: list[list], headers: list[str]) -> str:
    cells = [headers] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _store(args):
    from .store import Store

    return Store(args.home)


# -- commands ----------------------------------------------------------------------------------
def cmd_datasets(args) -> int:
    from .data import list_datasets

    specs = [s.to_dict() for s in list_datasets()]
    user = _store(args).list_datasets()
    rows = [[s["name"], s["modality"], s["rows"], len(s["classes"]), ",".join(s["sensitive"]) or "-", s["title"]]
            for s in specs]
    rows += [[d["name"], "text" if d["text"] else "tabular", d["rows"], "?", ",".join(d["sensitive"]) or "-",
              "uploaded CSV"] for d in user]
    _print(args, {"builtin": specs, "user": user},
           _table(rows, ["name", "modality", "rows", "classes", "sensitive", "title"]))
    return 0


def cmd_models_list(args) -> int:
    records = _store(args).list_models(args.dataset)
    rows = [[r.id, r.name, r.model, r.dataset, r.parent_id or "-", f"{r.metrics.get('accuracy', float('nan')):.4f}",
             r.n_params, r.created_at] for r in records]
    _print(args, [r.to_dict() for r in records],
           _table(rows, ["id", "name", "model", "dataset", "parent", "test_acc", "params", "created"])
           if rows else "No models yet. Train one: fmaudit train --dataset digits --model seed_cnn --epochs 2")
    return 0


def cmd_show(args) -> int:
    store = _store(args)
    record = store.get_model(args.id)
    payload = {**record.to_dict(), "lineage": [r.id for r in store.lineage(args.id)],
               "children": [r.id for r in store.children(args.id)], "weights_verified": store.verify_model(args.id),
               "audits": store.list_audits(args.id)}
    m = record.metrics
    text = "\n".join([
        f"{record.id}  {record.name}", f"  model     {record.model} ({record.n_params:,} parameters, "
        f"{record.size_bytes / 1024:.1f} KiB)", f"  dataset   {record.dataset}",
        f"  lineage   {' <- '.join(payload['lineage'])}", f"  created   {record.created_at}",
        f"  test      accuracy {m.get('accuracy', 0):.4f}, macro-F1 {m.get('macro_f1', 0):.4f}, n={m.get('n')}",
        f"  sha256    {record.sha256} ({'verified' if payload['weights_verified'] else 'MISMATCH'})",
        f"  files     {record.path}"])
    _print(args, payload, text)
    return 0


def cmd_export(args) -> int:
    dest = _store(args).export_model(args.id, args.dir)
    _print(args, {"model_id": args.id, "path": str(dest), "files": sorted(p.name for p in dest.iterdir())},
           f"Exported {args.id} to {dest} (see its README.md)")
    return 0


def cmd_add_dataset(args) -> int:
    record = _store(args).add_dataset(args.path, args.label, _csv_list(args.sensitive), name=args.name,
                                      text=args.text, drop=_csv_list(args.drop), min_group_size=args.min_group_size)
    _print(args, record, "\n".join([f"Added dataset {record['name']!r} ({record['rows']} rows). "
                                    f"Train on it: fmaudit train --dataset {record['name']} --model mlp"]
                                   + [f"  note: {n}" for n in record.get("notes", [])]))
    return 0


def _progress(args, epochs: int) -> tuple[list, list]:
    """A tqdm progress bar on stderr as a training callback (none with --quiet)."""
    from .train import ProgressCallback

    callbacks, bars = [], []  # the bar is made on the first event: an error before training prints none
    if getattr(args, "quiet", False):
        return callbacks, bars
    from tqdm import tqdm

    def report(event: dict) -> None:
        if not bars:
            bars.append(tqdm(total=1.0, file=sys.stderr, bar_format="{l_bar}{bar}| {postfix}"))
        bar = bars[0]
        bar.n = round(event["fraction"], 4)
        extra = f"epoch {event['epoch']}/{epochs}"
        if event["kind"] == "epoch":
            row = event["metrics"]
            extra += f" loss {row['train_loss']:.4f} val_acc {row.get('val_accuracy', 0):.4f}"
        bar.set_postfix_str(extra)

    callbacks.append(ProgressCallback(report, interval=0.2))
    return callbacks, bars


def cmd_train(args) -> int:
    from .train import TrainConfig, train_model

    config = TrainConfig(epochs=args.epochs, seed=args.seed, batch_size=args.batch_size, lr=args.lr,
                         optimizer=args.optimizer, threads=args.threads, augment=args.augment,
                         early_stopping=args.early_stopping, max_train_samples=args.max_train,
                         max_eval_samples=args.max_eval, dp_epsilon=args.dp_epsilon, dp_delta=args.dp_delta,
                         dp_max_grad_norm=args.dp_clip)
    callbacks, bars = _progress(args, config.epochs)
    result = train_model(args.dataset, args.model, config, store=_store(args), name=args.name, callbacks=callbacks)
    for bar in bars:
        bar.n = 1.0
        bar.close()
    s = result.summary()
    dp = s.get("privacy")
    dp_text = f"; DP-SGD epsilon {dp['epsilon']:.2f} (delta {dp['delta']:.0e})" if dp else ""
    _print(args, s, f"Model {s['model_id']}: test accuracy {s['test_accuracy']:.4f}, macro-F1 "
                    f"{s['test_macro_f1']:.4f} ({s['epochs_run']} epochs, {s['seconds']:.1f} s){dp_text}")
    return 0


def cmd_finetune(args) -> int:
    from .finetune import FinetuneConfig, finetune

    cfg = FinetuneConfig(method=args.method, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
                         seed=args.seed, max_train_samples=args.max_train or None,
                         max_eval_samples=args.max_eval or None, rank=args.rank, alpha=args.alpha,
                         targets=tuple(_csv_list(args.targets)), virtual_tokens=args.virtual_tokens,
                         merge=args.merge, parent_id=args.parent, base_path=args.base, threads=args.threads)
    callbacks, bars = _progress(args, cfg.epochs)
    result = finetune(args.dataset, cfg, store=_store(args), callbacks=callbacks)
    for bar in bars:
        bar.n = 1.0
        bar.close()
    s = result.summary()
    _print(args, s, f"Model {s['model_id']} ({s['method']}, parent {s['parent_id']}): test accuracy "
                    f"{s['test_accuracy']:.4f}, macro-F1 {s['test_macro_f1']:.4f}; trainable "
                    f"{s['trainable_params']:,} ({s['trainable_percent']:.3f}%), {s['step_time_s']:.3f} s/step, "
                    f"{s['total_time_s']:.1f} s, peak +{s['peak_memory_mb']:.0f} MB")
    return 0


def _floats(value: str) -> list[float]:
    from .errors import ConfigError

    try:
        return [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"Expected comma-separated numbers such as 0.05,0.1,0.2; got {value!r}.") from None


def cmd_audit(args) -> int:
    # The CLI sits beside the dashboard, above audits: importing audits here keeps fmcore's library free of it.
    import audits
    from audits.reporting import audit_summary

    store = _store(args)
    if args.audit == "compression":
        return _compression_audit(args, store)
    overrides = {"seed": args.seed}
    if args.samples is not None and args.audit in ("robustness", "privacy", "corruption", "shift"):
        overrides["samples"] = args.samples if args.audit in ("robustness", "privacy") else (args.samples or None)
    if args.audit == "robustness":
        overrides.update(attack=args.attack, eps=_floats(args.eps))
        if args.unconstrained or args.immutable:
            overrides.update(constraints="none" if args.unconstrained else "valid",
                             immutable=_csv_list(args.immutable) or None)
        if args.steps:
            overrides["steps" if args.attack in ("pgd", "pgd_l2") else "max_iter"] = args.steps
    elif args.audit == "fairness":
        overrides.update(sensitive=_csv_list(args.sensitive) or None, intersectional=args.intersectional,
                         min_group_size=args.min_group_size)
    elif args.audit == "privacy":
        overrides.update(attacks=_csv_list(args.attacks) or None, reference_models=args.reference_models)
    elif args.audit == "corruption":
        overrides.update(reference=args.reference or "auto", corruptions=_csv_list(args.corruptions) or None)
        if args.severities:
            overrides["severities"] = [int(v) for v in _floats(args.severities)]
    elif args.audit == "shift":
        overrides.update(to=args.to)
    elif args.audit == "calibration":
        overrides.update(alpha=args.alpha, sensitive=_csv_list(args.sensitive) if args.sensitive is not None else None,
                         min_group_size=args.min_group_size)
    audit_id, result = audits.run_stored_audit(store, args.audit, args.model, **overrides)
    record = store.get_model(result.model_id)
    summary = {"audit_id": audit_id, **audit_summary(result)}
    lines = [f"{args.audit} audit {audit_id} of {record.id} ({record.dataset})"]
    lines += [f"  {k}: {v}" for k, v in summary.items()
              if not isinstance(v, list | dict) and k != "audit_id" and not (args.audit == "privacy" and "[" in k)]
    for row in summary.get("attacks", []):
        lines.append(f"  {row['attack']:<11} AUC {row['auc']:.3f}  TPR@1%FPR {row['tpr_at_1%_fpr']:.3f}  advantage "
                     f"{row['advantage']:.3f}  epsilon >= {row['empirical_epsilon']:.2f}  ({row['seconds']:.1f} s)")
    for row in summary.get("sweep", []):
        lines.append(f"  eps {row['eps']:<6g} robust accuracy {row['robust_accuracy']:.4f} "
                     f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}]  success {row['success_rate']:.3f}")
    for row in summary.get("corruptions", []):
        ce = "" if row["corruption_error"] is None else f"  CE {row['corruption_error']:.3f}"
        lines.append(f"  {row['corruption']:<15} mean accuracy {row['mean_accuracy']:.4f}{ce}")
    lines += [f"  warning: {w}" for w in result.warnings]
    _print(args, summary, "\n".join(lines))
    return 0


def cmd_calibrate(args) -> int:
    from audits.ood import calibrate

    s = calibrate(_store(args), args.model, name=args.name).summary()
    b, a = s["before"], s["after"]
    _print(args, s, f"Model {s['model_id']} (parent {s['parent_id']}): temperature {s['temperature']:.3f}; test ECE "
                    f"{b['ece']:.4f} -> {a['ece']:.4f}, NLL {b['nll']:.4f} -> {a['nll']:.4f}, accuracy "
                    f"{a['accuracy']:.4f} (unchanged)")
    return 0


def cmd_augment_sweep(args) -> int:
    from audits.ood import augment_sweep

    variants = [v.strip() for v in args.variants.split(";") if v.strip()]
    result = augment_sweep(_store(args), args.dataset, args.model, variants, epochs=args.epochs, seed=args.seed,
                           max_train_samples=args.max_train or None, samples=args.samples, to=args.to,
                           progress=None if args.quiet else lambda f, m: print(f"[{f:4.0%}] {m}", file=sys.stderr))
    keys = ["augment", "model_id", "clean_accuracy", "mean_corruption_error", "shift_accuracy", "ece",
            "robust_accuracy@0.1", "demographic_parity_difference"]
    rows = [[r["augment"], r["model_id"]] + ["-" if r[k] is None else f"{r[k]:.4f}" for k in keys[2:]]
            for r in result["rows"]]
    _print(args, result, _table(rows, keys))
    return 0


def _compression_audit(args, store) -> int:
    from audits.compression import compression_audit

    result = compression_audit(store, args.model, repeats=args.repeats, seed=args.seed)
    audit_id = store.add_audit(result.model_id, "compression", result.params, result.to_dict())
    payload = {"audit_id": audit_id, "model_id": result.model_id, **result.metrics,
               "variants": result.tables["variants"], "parent": result.tables["parent"][0],
               "warnings": result.warnings}
    m = result.metrics
    lines = [f"compression audit {audit_id} of {result.model_id}: parent accuracy {m['parent_accuracy']:.4f}, "
             f"{m['parent_size_bytes'] / 1024:.0f} KiB"]
    for r in result.tables["variants"]:
        extra = ""
        if "robust_accuracy_transfer" in r:
            own = "n/a" if r["robust_accuracy"] is None else f"{r['robust_accuracy']:.3f}"
            extra += f", robust {own} (transfer {r['robust_accuracy_transfer']:.3f})"
        if "fairness_gap_delta" in r:
            extra += f", DP gap change {r['fairness_gap_delta']:+.4f}"
        lines.append(f"  {r['method']:<13} size {r['size_ratio']:.3f}x  accuracy {r['accuracy_delta']:+.4f}  "
                     f"flipped {r['flipped']}  latency b1 {r['latency_b1_ratio']:.2f}x b256 "
                     f"{r['latency_b256_ratio']:.2f}x{extra}")
    lines += [f"  warning: {w}" for w in result.warnings]
    _print(args, payload, "\n".join(lines))
    return 0


def cmd_compress(args) -> int:
    from .compress import compress_many

    store = _store(args)
    results = [r.summary() for r in compress_many(store, args.model, _csv_list(args.method),
                                                  fine_tune_epochs=args.fine_tune_epochs, seed=args.seed,
                                                  max_train_samples=args.max_train or None)]
    lines = [f"Model {s['model_id']} ({s['method']}, parent {s['parent_id']}): size {s['size_ratio']:.3f}x "
             f"({s['size_bytes'] / 1024:.0f} KiB), accuracy {s['parent_accuracy']:.4f} -> {s['accuracy']:.4f}"
             for s in results]
    payload = results[0] if len(results) == 1 else {"results": results, "model_ids": [s["model_id"] for s in results]}
    _print(args, payload, "\n".join(lines))
    return 0


def cmd_harden(args) -> int:
    from audits.robustness import harden

    callbacks, bars = _progress(args, args.epochs)
    result = harden(_store(args), args.model, attack=args.attack, eps=args.eps, epochs=args.epochs, steps=args.steps,
                    adversarial_share=args.share, max_train_samples=args.max_train or None,
                    eval_samples=args.eval_samples, seed=args.seed, threads=args.threads, callbacks=callbacks)
    for bar in bars:
        bar.n = 1.0
        bar.close()
    s = result.summary()
    b, a = s["before"], s["after"]
    _print(args, s, f"Model {s['model_id']} (parent {s['parent_id']}): clean {b['clean_accuracy']:.4f} -> "
                    f"{a['clean_accuracy']:.4f}, PGD-20 robust at eps {a['eps']:g} {b['robust_accuracy']:.4f} -> "
                    f"{a['robust_accuracy']:.4f} ({s['seconds']:.0f} s)")
    return 0


def cmd_mitigate(args) -> int:
    from audits.fairness import mitigate

    store = _store(args)
    tolerances = _floats(args.sweep) if args.sweep else [args.tolerance]
    results = [mitigate(store, args.model, method=args.method, constraint=args.constraint,
                        sensitive=_csv_list(args.sensitive), tolerance=tol, seed=args.seed,
                        max_train_samples=args.max_train or None, epochs=args.epochs).summary() for tol in tolerances]
    lines = []
    for s in results:
        b, a = s["before"], s["after"]
        tol = "" if s["tolerance"] is None else f", tolerance {s['tolerance']:g}"
        lines.append(f"Model {s['model_id']} ({s['method']}, {s['constraint']} on {'+'.join(s['sensitive'])}{tol}; "
                     f"parent {s['parent_id']}): demographic parity difference "
                     f"{b['demographic_parity_difference']:.4f} -> {a['demographic_parity_difference']:.4f}, "
                     f"equalized odds difference {b['equalized_odds_difference']:.4f} -> "
                     f"{a['equalized_odds_difference']:.4f}, accuracy {b['accuracy']:.4f} -> {a['accuracy']:.4f}")
    payload = results[0] if len(results) == 1 else {"model_ids": [s["model_id"] for s in results], "results": results,
                                                    "model_id": results[-1]["model_id"]}
    _print(args, payload, "\n".join(lines))
    return 0


def cmd_scan_data(args) -> int:
    from audits.privacy import scan, scan_csv

    from .errors import ConfigError

    if bool(args.dataset) == bool(args.csv):
        raise ConfigError("Give one of --dataset NAME or --csv FILE.")
    quasi = _csv_list(args.quasi)
    if args.csv:
        result = scan_csv(args.csv, quasi or None, k=args.k)
    else:
        store = _store(args)
        if args.quasi is None:  # default: the declared sensitive attributes, the usual quasi-identifiers
            from .data import list_datasets

            builtin = {s.name: list(s.sensitive) for s in list_datasets()}
            quasi = builtin.get(args.dataset) or (store.get_dataset(args.dataset) or {}).get("sensitive", [])
        result = scan(args.dataset, store, quasi or None, k=args.k)
    lines = [f"{result['dataset']}: {result['rows']} rows, {result['columns_scanned']} columns scanned, "
             f"{result['total_identifiers']} identifiers found ({result['seconds']:.1f} s)"]
    lines += [f"  {f['column']}: {f['count']} {f['kind']} (e.g. {', '.join(f['examples'])})"
              for f in result["findings"]]
    lines += [f"  column {c!r} looks like a direct identifier (named so, values nearly unique)"
              for c in result["identifier_columns"]]
    k = result["k_anonymity"]
    if k:
        lines.append(f"  k-anonymity over {', '.join(k['quasi_identifiers'])}: k = {k['k']}; "
                     f"{k['rows_below_threshold']} rows in groups smaller than {k['threshold']}")
    _print(args, result, "\n".join(lines))
    return 0


def cmd_dp_sweep(args) -> int:
    from audits.privacy import dp_sweep

    eps = [None if e.strip().lower() in ("none", "inf", "nodp") else float(e) for e in args.epsilons.split(",")]
    rows = dp_sweep(_store(args), args.dataset, args.model, eps, epochs=args.epochs,
                    max_train_samples=args.max_train or None, attacks=_csv_list(args.attacks), samples=args.samples,
                    seed=args.seed)
    lines = [f"target {r['target_epsilon'] if r['target_epsilon'] is not None else 'no DP':>6}: epsilon spent "
             f"{r['epsilon'] if r['epsilon'] is None else round(r['epsilon'], 2)}, accuracy {r['accuracy']:.4f}, "
             f"attack AUC {r['max_auc']:.3f} ({r['strongest_attack']}), empirical epsilon >= "
             f"{r['empirical_epsilon']:.2f}  [{r['model_id']}]" for r in rows]
    _print(args, {"rows": rows}, "\n".join(lines))
    return 0


def _policy_lines(evaluation: dict | None) -> list[str]:
    if not evaluation:
        return []
    lines = [f"policy {evaluation['policy']}: {'PASSED' if evaluation['passed'] else 'FAILED'}"]
    for r in evaluation["checks"]:
        value = "-" if r["value"] is None else f"{r['value']:.4g}"
        lines.append(f"  [{r['status']:<12}] {r['id']}: {r['metric']} {r['op']} {r['threshold']:g} (value {value}) "
                     f"- {r['requirement']}")
    return lines


def cmd_report(args) -> int:
    from pathlib import Path

    from audits.evidence import file_report, junit_xml, load_policy

    store = _store(args)
    policy = load_policy(args.policy) if args.policy else None
    report, paths = file_report(store, args.model, policy, args.out)
    evaluation = report["policy"]
    if args.junit and evaluation:
        Path(args.junit).write_text(junit_xml(evaluation, args.model), encoding="utf-8")
    payload = {"model_id": args.model, "content_sha256": report["content_sha256"],
               "paths": {k: str(v) for k, v in paths.items()}, "policy": evaluation}
    lines = [f"report {report['content_sha256'][:16]}... written: " + ", ".join(str(p) for p in paths.values())]
    _print(args, payload, "\n".join(lines + _policy_lines(evaluation)))
    return 1 if evaluation and not evaluation["passed"] else 0


def cmd_verify(args) -> int:
    from .errors import ConfigError

    if args.log:
        result = _store(args).verify_trail()
        text = (f"audit trail: {result['events']} events, " + ("intact" if result["ok"] else "BROKEN") + "\n"
                + "\n".join(f"  {p}" for p in result["problems"]))
    else:
        if not args.report:
            raise ConfigError("Give a report file (.json or .html), or --log to check the store's audit trail.")
        from audits.evidence import verify_report

        result = verify_report(args.report)
        signed = {None: "signature not checked", True: "signature valid", False: "signature INVALID"}[result["signed"]]
        text = (f"{args.report}: " + ("verified" if result["ok"] else "FAILED") + f" (sha256 "
                f"{result.get('content_sha256', '?')[:16]}..., {signed})\n"
                + "\n".join(f"  {p}" for p in result["problems"]))
    _print(args, result, text.rstrip())
    return 0 if result["ok"] else 1


def cmd_run(args) -> int:
    from audits.evidence import load_pipeline, run_pipeline

    spec = load_pipeline(args.pipeline)
    result = run_pipeline(spec, _store(args), out=args.out, log=(lambda m: None) if args.json else
                          (lambda m: print(m, file=sys.stderr)))
    lines = [f"{spec.get('name', args.pipeline)}: model {result['model_id']}; reports "
             + ", ".join(result["paths"].values())] + _policy_lines(result["policy"])
    _print(args, result, "\n".join(lines))
    return 1 if result["policy"] and not result["policy"]["passed"] else 0


def cmd_import_model(args) -> int:
    record = _store(args).import_model(args.path, args.dataset, name=args.name)
    _print(args, {"model_id": record.id, "test_accuracy": record.metrics["accuracy"], "sha256": record.sha256},
           f"Imported {record.id} ({record.name}): test accuracy on {record.dataset} {record.metrics['accuracy']:.4f}")
    return 0


def cmd_user(args) -> int:
    import getpass

    from .security import add_user, load_users

    if args.action == "list":
        users = load_users(args.home)
        _print(args, [{"name": n, "role": u["role"]} for n, u in users.items()],
               "\n".join(f"{n}: {u['role']}" for n, u in users.items()) or "no users (local single-user mode)")
        return 0
    if not args.name:
        from .errors import ConfigError

        raise ConfigError("Name the user: fmaudit user add NAME --role viewer|auditor.")
    prompt = f"Password for {args.name}: "
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass(prompt)
    add_user(args.name, password, args.role, args.home)
    _print(args, {"name": args.name, "role": args.role}, f"user {args.name} ({args.role}) saved")
    return 0


def cmd_executor(args) -> int:
    from .jobs import executor_from_env

    info = executor_from_env().describe()
    where = ("this process, one task after another" if info["executor"] == "local" else
             f"Ray at {info['address']}: {info['nodes']} node(s), {info['cpus']} CPUs")
    _print(args, info, f"sweeps run on {where}")
    return 0


def cmd_dashboard(args) -> int:
    from pathlib import Path

    from .security import check_bind

    check_bind(args.host, args.home)
    if args.home:
        os.environ["FMAUDIT_HOME"] = str(Path(args.home).resolve())  # the app and its workers use this store
    root = Path(__file__).resolve().parent.parent
    app = root / "dashboard" / "app.py"
    if (root / ".streamlit").is_dir():
        os.chdir(root)  # streamlit reads .streamlit/config.toml (theme, limits) from the working directory
    # the security settings are passed explicitly too, so they hold from any working directory
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.address", args.host,
           "--server.port", str(args.port), "--browser.gatherUsageStats", "false",
           "--server.enableXsrfProtection", "true", "--server.maxUploadSize", "200"]
    if args.headless:
        cmd += ["--server.headless", "true"]
    print(f"fmaudit dashboard on http://{args.host}:{args.port}", file=sys.stderr)
    os.execv(sys.executable, cmd)  # noqa: S606 - replaces this process with streamlit
    return 0


def _csv_list(value: str | None) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


# -- parser ------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    common.add_argument("--home", default=None, help="store folder (default $FMAUDIT_HOME or ~/.fmaudit)")
    common.add_argument("--executor", choices=("local", "ray"), default=None,
                        help="where sweeps run: this process, or Ray tasks (default $FMAUDIT_EXECUTOR or local)")
    common.add_argument("--ray-address", default=None, metavar="ADDR",
                        help="an existing Ray cluster (auto, ray://head:10001, host:6379); default "
                             "$FMAUDIT_RAY_ADDRESS, else a private local instance")
    parser = argparse.ArgumentParser(prog="fmaudit", description="Responsible-AI audits from the command line.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("datasets", parents=[common], help="list built-in and uploaded datasets")
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("train", parents=[common], help="train a model and register it")
    p.add_argument("--dataset", required=True, help="dataset name (see `fmaudit datasets`)")
    p.add_argument("--model", required=True, help="seed_cnn, mlp, logreg or minilm")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--name", default=None, help="a name for the model (default: model-dataset-id)")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--optimizer", choices=["adam", "adamw", "sgd"], default=None)
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads (default $FMAUDIT_THREADS or half the cores)")
    p.add_argument("--augment", default=None, metavar="NAME[:VALUE],...",
                   help="data augmentation: images rotate, translate, scale, elastic, noise; tables noise, mixup; "
                        "text token_dropout, token_swap (e.g. rotate:15,translate; the value sets the main parameter)")
    p.add_argument("--early-stopping", type=int, default=None, metavar="PATIENCE")
    p.add_argument("--max-train", type=int, default=None, help="train on at most N examples")
    p.add_argument("--max-eval", type=int, default=None, help="validate/test on at most N examples")
    p.add_argument("--dp-epsilon", type=float, default=None,
                   help="train with DP-SGD (opacus) to this epsilon (tabular and image models)")
    p.add_argument("--dp-delta", type=float, default=None, help="DP-SGD delta (default min(1e-5, 1/(10 n)))")
    p.add_argument("--dp-clip", type=float, default=1.0, help="DP-SGD per-example gradient clipping norm")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("finetune", parents=[common], help="fine-tune MiniLM (PEFT/full/probe) or transfer a CNN")
    p.add_argument("--dataset", required=True, help="a text dataset (tweets, a text CSV) or an image dataset")
    p.add_argument("--method", required=True,
                   help="lora, ia3, prompt, full, linear_probe (text); transfer, scratch (images)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=None, help="default depends on the method")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-train", type=int, default=2000, help="training subset size; 0 for all")
    p.add_argument("--max-eval", type=int, default=1000, help="validation/test subset size; 0 for all")
    p.add_argument("--rank", type=int, default=8, help="LoRA rank")
    p.add_argument("--alpha", type=int, default=16, help="LoRA alpha")
    p.add_argument("--targets", default="query,value", help="LoRA target modules, comma-separated")
    p.add_argument("--virtual-tokens", type=int, default=20, help="prompt tuning: virtual tokens")
    p.add_argument("--merge", action="store_true", help="merge LoRA/IA3 into the base weights before saving")
    p.add_argument("--parent", default=None, help="images: the model id to transfer from")
    p.add_argument("--base", default=None, help="text: a Hugging Face model folder to start from (default: MiniLM)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_finetune)

    p = sub.add_parser("audit", parents=[common], help="run an audit of a stored model and keep its result")
    p.add_argument("audit", choices=["robustness", "fairness", "performance", "privacy", "compression", "corruption",
                                     "shift", "calibration"])
    p.add_argument("--model", required=True, help="model id (see `fmaudit models`)")
    p.add_argument("--attack", default="pgd", help="fgsm, pgd, pgd_l2, cw, deepfool, hopskipjump, square")
    p.add_argument("--eps", default="0.05,0.1,0.2,0.3", help="comma-separated perturbation sizes")
    p.add_argument("--samples", type=int, default=None,
                   help="robustness: test examples to attack (default 500); privacy: members and non-members each "
                        "(500); corruption (1000) and shift (2000): test examples per side; 0 for all")
    p.add_argument("--attacks", default=None, help="privacy: threshold, blackbox, rulebased, label_only, lira "
                   "(comma-separated; default threshold,blackbox,rulebased,lira)")
    p.add_argument("--reference-models", type=int, default=4, help="privacy: LiRA reference models")
    p.add_argument("--repeats", type=int, default=20, help="compression: timed runs per latency figure")
    p.add_argument("--steps", type=int, default=None, help="PGD steps or iterations of iterative attacks")
    p.add_argument("--immutable", default=None, help="robustness, tables: features the attack may not change, "
                   "besides those the dataset declares (comma-separated)")
    p.add_argument("--unconstrained", action="store_true", help="robustness, tables: let the attack move freely in "
                   "the encoded space (rows that cannot exist; for comparison only)")
    p.add_argument("--sensitive", default=None, help="fairness, calibration: comma-separated sensitive columns "
                   "(default: all)")
    p.add_argument("--intersectional", action="store_true", help="fairness: also every combination of them")
    p.add_argument("--min-group-size", type=int, default=30, help="fairness: warn about smaller groups")
    p.add_argument("--reference", default=None, help="corruption: the reference model for the mean corruption error "
                   "(default: the oldest seed CNN / same-kind model trained on the data without augmentation; none)")
    p.add_argument("--corruptions", default=None, help="corruption: comma-separated names (default: all for the "
                   "model's kind of input)")
    p.add_argument("--severities", default=None, help="corruption: comma-separated severities 1-5 (default all)")
    p.add_argument("--to", default=None, help="shift: the shifted dataset (default: the built-in partner, mnist <-> "
                   "digits, census_income_94 <-> census_income_95)")
    p.add_argument("--alpha", type=float, default=0.1, help="calibration: conformal miscoverage (0.1: 90%% sets)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("calibrate", parents=[common],
                       help="temperature scaling: a new model with the original as parent, better calibrated")
    p.add_argument("--model", required=True)
    p.add_argument("--name", default=None)
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("augment-sweep", parents=[common],
                       help="train a baseline and augmented siblings (same seed) and audit each out of domain")
    p.add_argument("--dataset", required=True)
    p.add_argument("--model", required=True, help="seed_cnn, mlp, logreg or minilm")
    p.add_argument("--variants", default="rotate,translate",
                   help="augmentations to compare with the baseline, ';' between variants (e.g. "
                        "'rotate,translate;elastic;noise:0.2')")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--max-train", type=int, default=0, help="training rows; 0 for all")
    p.add_argument("--samples", type=int, default=500, help="test examples per audit")
    p.add_argument("--to", default=None, help="the shifted dataset (default: the built-in partner, if any)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_augment_sweep)

    p = sub.add_parser("harden", parents=[common], help="adversarial training: a new model with the original as parent")
    p.add_argument("--model", required=True)
    p.add_argument("--attack", default="pgd", choices=["pgd", "fgsm"])
    p.add_argument("--eps", type=float, default=0.1)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--steps", type=int, default=5, help="PGD steps per training batch")
    p.add_argument("--share", type=float, default=0.5, help="share of each batch replaced by attacked examples")
    p.add_argument("--max-train", type=int, default=0, help="train on at most N examples; 0 for all")
    p.add_argument("--eval-samples", type=int, default=1000, help="test examples for the before/after check")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_harden)

    p = sub.add_parser("mitigate", parents=[common],
                       help="fairness mitigation: a new model with the original as parent")
    p.add_argument("--model", required=True)
    p.add_argument("--method", default="threshold_optimizer",
                   choices=["threshold_optimizer", "exponentiated_gradient", "reweighing"])
    p.add_argument("--constraint", default="demographic_parity",
                   help="demographic_parity, equalized_odds, true_positive_rate_parity, false_positive_rate_parity "
                        "(threshold_optimizer), error_rate_parity (exponentiated_gradient)")
    p.add_argument("--sensitive", default=None, help="comma-separated sensitive columns (default: the first)")
    p.add_argument("--tolerance", type=float, default=None, help="largest disparity allowed (relaxes the constraint)")
    p.add_argument("--sweep", default=None, help="comma-separated tolerances: one model each (the trade-off curve)")
    p.add_argument("--max-train", type=int, default=20000, help="exponentiated_gradient/reweighing: training rows; "
                   "0 for all")
    p.add_argument("--epochs", type=int, default=None, help="reweighing: epochs (default: the parent's)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_mitigate)

    p = sub.add_parser("scan-data", parents=[common], help="de-identification check: identifiers and k-anonymity")
    p.add_argument("--dataset", default=None, help="a built-in or uploaded dataset (uploads: every column of the CSV)")
    p.add_argument("--csv", default=None, help="or a CSV file, scanned before any upload")
    p.add_argument("--quasi", default=None, help="quasi-identifier columns for k-anonymity (default: the sensitive "
                   "attributes; '' for none)")
    p.add_argument("--k", type=int, default=5, help="report rows in groups smaller than this")
    p.set_defaults(func=cmd_scan_data)

    p = sub.add_parser("dp-sweep", parents=[common],
                       help="privacy-utility: train with DP-SGD at several epsilons and attack each model")
    p.add_argument("--dataset", required=True)
    p.add_argument("--model", default="mlp")
    p.add_argument("--epsilons", default="1,3,8,none", help="comma-separated; 'none' for a model without DP")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--max-train", type=int, default=0, help="training rows; 0 for all")
    p.add_argument("--attacks", default="threshold,blackbox,lira")
    p.add_argument("--samples", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_dp_sweep)

    p = sub.add_parser("compress", parents=[common], help="a compressed variant with the original as parent")
    p.add_argument("--model", required=True)
    p.add_argument("--method", required=True, help="prune:0.5 | channels:0.5 | int8 | dynamic_int8 | fp16 | bf16 | "
                   "distill[:0.5]; comma-separated for several")
    p.add_argument("--fine-tune-epochs", type=int, default=None, help="after pruning / for distillation "
                   "(default: 1 after pruning at 0.5 or more and after channel pruning; the parent's epochs for "
                   "distillation)")
    p.add_argument("--max-train", type=int, default=0, help="rows for fine-tuning / distillation; 0 for all")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_compress)

    p = sub.add_parser("report", parents=[common], help="HTML, JSON and Markdown reports; exit 1 if a check fails")
    p.add_argument("--model", required=True)
    p.add_argument("--policy", default=None, help="a policy YAML (examples in policies/)")
    p.add_argument("--out", default="reports", help="folder for the .html, .json and .md files")
    p.add_argument("--junit", default=None, help="also write the policy checks as a JUnit XML file")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("verify", parents=[common], help="check a report's hash (and signature), or the audit trail")
    p.add_argument("report", nargs="?", default=None, help="a report .json or .html")
    p.add_argument("--log", action="store_true", help="check the store's hash-chained audit trail instead")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("run", parents=[common], help="run a pipeline YAML headless: train, audits, report")
    p.add_argument("pipeline")
    p.add_argument("--out", default=None, help="report folder (default: the pipeline's report.out)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("import-model", parents=[common],
                       help="bring in a model folder (safetensors + JSON or a transformers folder; never a pickle)")
    p.add_argument("path")
    p.add_argument("--dataset", required=True, help="the dataset it was trained for (its classes must match)")
    p.add_argument("--name", default=None)
    p.set_defaults(func=cmd_import_model)

    p = sub.add_parser("user", parents=[common], help="dashboard users: add NAME --role viewer|auditor, or list")
    p.add_argument("action", choices=["add", "list"])
    p.add_argument("name", nargs="?", default=None)
    p.add_argument("--role", choices=["viewer", "auditor"], default="viewer")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.set_defaults(func=cmd_user)

    p = sub.add_parser("models", parents=[common], help="list registered models")
    p.add_argument("--dataset", default=None, help="only models trained on this dataset")
    p.set_defaults(func=cmd_models_list)

    p = sub.add_parser("show", parents=[common], help="one model: metrics, lineage, hashes, audits")
    p.add_argument("id")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("export", parents=[common], help="write a model folder that loads with plain torch")
    p.add_argument("id")
    p.add_argument("dir")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("add-dataset", parents=[common], help="validate a CSV and register it as a dataset")
    p.add_argument("path")
    p.add_argument("--label", required=True)
    p.add_argument("--sensitive", default=None, help="comma-separated protected-attribute columns")
    p.add_argument("--text", default=None, help="the text column, for a text dataset")
    p.add_argument("--drop", default=None, help="comma-separated columns to ignore")
    p.add_argument("--name", default=None)
    p.add_argument("--min-group-size", type=int, default=10)
    p.set_defaults(func=cmd_add_dataset)

    p = sub.add_parser("executor", parents=[common], help="where sweeps run: connect and show CPUs and nodes")
    p.set_defaults(func=cmd_executor)

    p = sub.add_parser("dashboard", parents=[common], help="start the web dashboard")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--headless", action="store_true", help="do not open a browser")
    p.set_defaults(func=cmd_dashboard)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .errors import FmauditError

    args = build_parser().parse_args(argv)
    # environment, so that the dashboard's job workers inherit the choice too
    if getattr(args, "executor", None):
        os.environ["FMAUDIT_EXECUTOR"] = args.executor
    if getattr(args, "ray_address", None):
        os.environ["FMAUDIT_RAY_ADDRESS"] = args.ray_address
    try:
        return args.func(args)
    except FmauditError as exc:
        return _fail(args, str(exc), exc)
    except OSError as exc:  # disk full, permissions, a vanished file: say what and where, no traceback
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        return _fail(args, f"{exc.strerror or exc}{where}", exc)


def _fail(args, message: str, exc: BaseException) -> int:
    """Exit status 2 with the message on stderr (and as the one JSON document with --json)."""
    if getattr(args, "json", False):
        json.dump({"error": message, "type": type(exc).__name__}, sys.stdout)
        sys.stdout.write("\n")
    print(f"error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
