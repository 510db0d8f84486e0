"""``fmaudit audit NAME``: run an audit of a stored model and keep its result."""

from __future__ import annotations

from dataclasses import fields

from . import _common as c


def add_audit(p) -> None:
    from audits import audit_names

    p.add_argument("audit", choices=audit_names(), help="the audit (installed plugins too: entry points of the "
                                                        "group fmaudit.audits)")
    p.add_argument("--model", required=True, help="model id (see `fmaudit models`)")
    p.add_argument("--attack", default="pgd", help="fgsm, pgd, pgd_l2, cw, deepfool, hopskipjump, square")
    p.add_argument("--eps", default="0.05,0.1,0.2,0.3", help="comma-separated perturbation sizes")
    p.add_argument("--samples", type=int, default=None,
                   help="robustness: test examples to attack (default 500); backdoor: validation images (96); "
                        "privacy: members and non-members each "
                        "(500); corruption (1000) and shift (2000): test examples per side, 0 for all; memorization: "
                        "texts (200); probes: continuations per prompt (10)")
    p.add_argument("--attacks", default=None, help="privacy: threshold, blackbox, rulebased, label_only, lira "
                   "(comma-separated; default threshold,blackbox,rulebased,lira)")
    p.add_argument("--reference-models", type=int, default=4, help="privacy: LiRA reference models")
    p.add_argument("--repeats", type=int, default=20, help="compression: timed runs per latency figure")
    p.add_argument("--steps", type=int, default=None, help="PGD steps or iterations of iterative attacks")
    p.add_argument("--immutable", default=None, help="robustness and explain's recourse, tables: features that may "
                   "not change, besides those the dataset declares (comma-separated)")
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
    p.add_argument("--method", default=None, help="explain: integrated_gradients, saliency, occlusion (images), shap "
                   "(tables; default), integrated_gradients or saliency (tables), layer_integrated_gradients (texts)")
    p.add_argument("--select", default=None, choices=["random", "misclassified", "least_confident"],
                   help="explain: which test examples (default: a seeded random sample)")
    p.add_argument("--rows", default=None, help="explain: these test rows (comma-separated indices)")
    p.add_argument("--favourable", default=None, help="explain, tables: the favourable class for recourse (default: "
                   "the last class)")
    p.add_argument("--no-recourse", action="store_true", help="explain, tables: skip the recourse search")
    p.add_argument("--sigma", type=float, default=0.25, help="certified: the smoothing noise's standard deviation")
    p.add_argument("--radii", default=None, help="certified: comma-separated L2 radii (default 0,0.25,0.5,0.75,1)")
    p.add_argument("--groups", default=None, help="probes: comma-separated group words (default woman,man)")
    p.add_argument("--templates", default=None, help="probes: prompts separated by '|', each with {group}")
    p.add_argument("--sentiment-model", default=None, help="probes: the tweets classifier that scores sentiment "
                   "(default: the newest registered one)")
    p.add_argument("--seed", type=int, default=0)
    _add_plugin_flags(p)


def _add_plugin_flags(p) -> None:
    """Each installed plugin audit's options as flags, generated from its options dataclass (a flag another audit
    already defines is shared)."""
    from audits import plugin_specs

    for spec, _ in plugin_specs().values():
        if spec.options is None:
            continue
        taken = tuple(f.name for f in fields(spec.options)
                      if f"--{f.name.replace('_', '-')}" in p._option_string_actions)
        c.add_option_flags(p, spec.options, skip=taken,
                           extra={f.name: {"default": None} for f in fields(spec.options) if f.name not in taken})


def _plugin_overrides(spec, args) -> dict:
    """The options given on the command line for a plugin audit: a flag left out keeps the audit's own default, also
    where another audit's flag of the same name has a default of its own."""
    given = getattr(args, "argv", None)
    out = {}
    for f in fields(spec.options):
        flag = f"--{f.name.replace('_', '-')}"
        value = getattr(args, f.name, None)
        named = given is None or any(a in (flag, f"--no-{flag[2:]}") or a.startswith(f"{flag}=") for a in given)
        if value is not None and named:
            out[f.name] = value
    return out


def cmd_audit(args) -> int:
    import audits
    from audits.reporting import audit_summary

    store = c.store(args)
    if args.audit == "compression":
        return _compression_audit(args, store)
    from audits import BUILTIN

    if args.audit not in BUILTIN:  # an audit described by its spec alone (a plugin)
        return _spec_audit(args, store)
    overrides = {"seed": args.seed}
    if args.audit == "explain":
        overrides.update(method=args.method, select=args.select, favourable=args.favourable,
                         immutable=c.csv_list(args.immutable) or None, recourse=not args.no_recourse,
                         rows=[int(v) for v in c.csv_list(args.rows)] if args.rows else None)
        if args.samples is not None:
            overrides["samples"] = args.samples
    if args.samples is not None and args.audit in ("robustness", "privacy", "corruption", "shift"):
        overrides["samples"] = args.samples if args.audit in ("robustness", "privacy") else (args.samples or None)
    if args.audit == "robustness":
        overrides.update(attack=args.attack, eps=c.floats(args.eps))
        if args.unconstrained or args.immutable:
            overrides.update(constraints="none" if args.unconstrained else "valid",
                             immutable=c.csv_list(args.immutable) or None)
        if args.steps:
            overrides["steps" if args.attack in ("pgd", "pgd_l2") else "max_iter"] = args.steps
    elif args.audit == "fairness":
        overrides.update(sensitive=c.csv_list(args.sensitive) or None, intersectional=args.intersectional,
                         min_group_size=args.min_group_size)
    elif args.audit == "privacy":
        overrides.update(attacks=c.csv_list(args.attacks) or None, reference_models=args.reference_models)
    elif args.audit == "corruption":
        overrides.update(reference=args.reference or "auto", corruptions=c.csv_list(args.corruptions) or None)
        if args.severities:
            overrides["severities"] = [int(v) for v in c.floats(args.severities)]
    elif args.audit == "shift":
        overrides.update(to=args.to)
    elif args.audit == "backdoor":
        overrides.update({k: v for k, v in (("images", args.samples), ("steps", args.steps)) if v})
    elif args.audit == "memorization" and args.samples:
        overrides["texts"] = args.samples
    elif args.audit == "probes":
        overrides.update({k: v for k, v in (("samples", args.samples), ("sentiment_model", args.sentiment_model),
                                            ("groups", c.csv_list(args.groups)),
                                            ("templates", [t.strip() for t in (args.templates or "").split("|")
                                                           if t.strip()])) if v})
    elif args.audit == "certified":
        overrides.update(sigma=args.sigma)
        if args.radii:
            overrides["radii"] = c.floats(args.radii)
        if args.samples:
            overrides["samples"] = args.samples
    elif args.audit == "calibration":
        overrides.update(alpha=args.alpha, sensitive=c.csv_list(args.sensitive) if args.sensitive is not None else None,
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
    c.emit(args, summary, "\n".join(lines))
    return 0


def _compression_audit(args, store) -> int:
    from audits import run_stored_audit

    audit_id, result = run_stored_audit(store, "compression", args.model, repeats=args.repeats, seed=args.seed)
    payload = {"audit_id": audit_id, "model_id": result.model_id, **result.metrics,
               "variants": result.tables["variants"], "parent": result.tables["parent"][0],
               "warnings": result.warnings}
    m = result.metrics
    if "parent_test_perplexity" in m:  # a language model
        lines = [f"compression audit {audit_id} of {result.model_id}: parent test perplexity "
                 f"{m['parent_test_perplexity']:.1f}, {m['parent_size_bytes'] / 1024:.0f} KiB"]
        lines += [f"  {r['method']:<13} size {r['size_ratio']:.3f}x  perplexity {r['test_perplexity']:.1f} "
                  f"({r['perplexity_delta']:+.1f})  exposure of the most repeated canary "
                  + ("n/a" if r["exposure_delta"] is None else f"{r['most_repeated_exposure']:.2f} bits "
                     f"({r['exposure_delta']:+.2f}; extrapolated {r['exposure_extrapolated']:.1f}, "
                     f"{r['exposure_extrapolated_delta']:+.1f}; its log-probability {r['secret_logprob']:.1f} nats, "
                     f"{r['secret_logprob_delta']:+.1f})") + f"  latency b1 {r['latency_b1_ratio']:.2f}x"
                  for r in result.tables["variants"]]
        c.emit(args, payload, "\n".join(lines))
        return 0
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
    c.emit(args, payload, "\n".join(lines))
    return 0


def _spec_audit(args, store) -> int:
    """Any audit from its spec: the options from its generated flags, its summary and headline in the output."""
    import audits
    from audits.reporting import audit_summary, headline

    spec = audits.get_audit(args.audit)
    overrides = _plugin_overrides(spec, args) if spec.options else {}
    if "seed" in spec.defaults:
        overrides.setdefault("seed", args.seed)
    audit_id, result = audits.run_stored_audit(store, args.audit, args.model, **overrides)
    summary = {"audit_id": audit_id, **audit_summary(result)}
    lines = [f"{args.audit} audit {audit_id} of {result.model_id}: {headline(args.audit, result.metrics)}"]
    lines += [f"  {k}: {v}" for k, v in result.metrics.items() if not isinstance(v, list | dict)]
    lines += [f"  warning: {w}" for w in result.warnings]
    c.emit(args, summary, "\n".join(lines))
    return 0
