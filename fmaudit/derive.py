"""Commands that make a new model from a stored one (calibrate, harden, mitigate, compress) or train and
audit several (augment-sweep, dp-sweep)."""

from __future__ import annotations

import sys

from . import _common as c


def add_calibrate(p) -> None:
    p.add_argument("--model", required=True)
    p.add_argument("--name", default=None)


def cmd_calibrate(args) -> int:
    from audits.ood import calibrate

    s = calibrate(c.store(args), args.model, name=args.name).summary()
    b, a = s["before"], s["after"]
    c.emit(args, s, f"Model {s['model_id']} (parent {s['parent_id']}): temperature {s['temperature']:.3f}; test ECE "
                    f"{b['ece']:.4f} -> {a['ece']:.4f}, NLL {b['nll']:.4f} -> {a['nll']:.4f}, accuracy "
                    f"{a['accuracy']:.4f} (unchanged)")
    return 0


def add_augment_sweep(p) -> None:
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


def cmd_augment_sweep(args) -> int:
    from audits.sweeps import augment_sweep

    variants = [v.strip() for v in args.variants.split(";") if v.strip()]
    result = augment_sweep(c.store(args), args.dataset, args.model, variants, epochs=args.epochs, seed=args.seed,
                           max_train_samples=args.max_train or None, samples=args.samples, to=args.to,
                           progress=None if args.quiet else lambda f, m: print(f"[{f:4.0%}] {m}", file=sys.stderr))
    keys = ["augment", "model_id", "clean_accuracy", "mean_corruption_error", "shift_accuracy", "ece",
            "robust_accuracy@0.1", "demographic_parity_difference"]
    rows = [[r["augment"], r["model_id"]] + ["-" if r[k] is None else f"{r[k]:.4f}" for k in keys[2:]]
            for r in result["rows"]]
    c.emit(args, result, c.table(rows, keys))
    return 0


def add_harden(p) -> None:
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


def cmd_harden(args) -> int:
    from audits.robustness import harden

    callbacks, bars = c.progress(args, args.epochs)
    result = harden(c.store(args), args.model, attack=args.attack, eps=args.eps, epochs=args.epochs, steps=args.steps,
                    adversarial_share=args.share, max_train_samples=args.max_train or None,
                    eval_samples=args.eval_samples, seed=args.seed, threads=args.threads, callbacks=callbacks)
    c.close_bars(bars)
    s = result.summary()
    b, a = s["before"], s["after"]
    c.emit(args, s, f"Model {s['model_id']} (parent {s['parent_id']}): clean {b['clean_accuracy']:.4f} -> "
                    f"{a['clean_accuracy']:.4f}, PGD-20 robust at eps {a['eps']:g} {b['robust_accuracy']:.4f} -> "
                    f"{a['robust_accuracy']:.4f} ({s['seconds']:.0f} s)")
    return 0


def add_cleanse(p) -> None:
    p.add_argument("--model", required=True, help="a model trained here with a backdoor audit that flagged rows")
    p.add_argument("--quiet", action="store_true")


def cmd_cleanse(args) -> int:
    from audits.backdoor import cleanse

    record = c.store(args).get_model(args.model)
    callbacks, bars = c.progress(args, int(((record.config or {}).get("train") or {}).get("epochs") or 1))
    s = cleanse(c.store(args), args.model, callbacks=callbacks).summary()
    c.close_bars(bars)
    b, a = s["before"], s["after"]
    asr = "" if b["attack_success_rate"] is None else (
        f", backdoor success {b['attack_success_rate']:.4f} -> {a['attack_success_rate']:.4f}")
    c.emit(args, s, f"Model {s['model_id']} (parent {s['parent_id']}): retrained without {s['excluded_rows']} rows "
                    f"flagged by audit {s['audit_id']}; accuracy {b['accuracy']:.4f} -> {a['accuracy']:.4f}{asr}")
    return 0


def add_mitigate(p) -> None:
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


def cmd_mitigate(args) -> int:
    from audits.fairness import mitigate

    store = c.store(args)
    tolerances = c.floats(args.sweep) if args.sweep else [args.tolerance]
    results = [mitigate(store, args.model, method=args.method, constraint=args.constraint,
                        sensitive=c.csv_list(args.sensitive), tolerance=tol, seed=args.seed,
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
    c.emit(args, payload, "\n".join(lines))
    return 0


def add_compress(p) -> None:
    p.add_argument("--model", required=True)
    p.add_argument("--method", required=True, help="prune:0.5 | channels:0.5 | int8 | dynamic_int8 | fp16 | bf16 | "
                   "distill[:0.5]; comma-separated for several")
    p.add_argument("--fine-tune-epochs", type=int, default=None, help="after pruning / for distillation "
                   "(default: 1 after pruning at 0.5 or more and after channel pruning; the parent's epochs for "
                   "distillation)")
    p.add_argument("--max-train", type=int, default=0, help="rows for fine-tuning / distillation; 0 for all")
    p.add_argument("--seed", type=int, default=0)


def cmd_compress(args) -> int:
    from fmcore.compress import compress_many

    store = c.store(args)
    results = [r.summary() for r in compress_many(store, args.model, c.csv_list(args.method),
                                                  fine_tune_epochs=args.fine_tune_epochs, seed=args.seed,
                                                  max_train_samples=args.max_train or None)]
    lines = [f"Model {s['model_id']} ({s['method']}, parent {s['parent_id']}): size {s['size_ratio']:.3f}x "
             f"({s['size_bytes'] / 1024:.0f} KiB), "
             + (f"test perplexity {s['parent_test_perplexity']:.1f} -> {s['test_perplexity']:.1f}"
                if "test_perplexity" in s else f"accuracy {s['parent_accuracy']:.4f} -> {s['accuracy']:.4f}")
             for s in results]
    payload = results[0] if len(results) == 1 else {"results": results, "model_ids": [s["model_id"] for s in results]}
    c.emit(args, payload, "\n".join(lines))
    return 0


def add_dp_sweep(p) -> None:
    p.add_argument("--dataset", required=True)
    p.add_argument("--model", default="mlp")
    p.add_argument("--epsilons", default="1,3,8,none", help="comma-separated; 'none' for a model without DP")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--max-train", type=int, default=0, help="training rows; 0 for all")
    p.add_argument("--attacks", default="threshold,blackbox,lira")
    p.add_argument("--samples", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)


def cmd_dp_sweep(args) -> int:
    from audits.sweeps import dp_sweep

    eps = [None if e.strip().lower() in ("none", "inf", "nodp") else float(e) for e in args.epsilons.split(",")]
    rows = dp_sweep(c.store(args), args.dataset, args.model, eps, epochs=args.epochs,
                    max_train_samples=args.max_train or None, attacks=c.csv_list(args.attacks), samples=args.samples,
                    seed=args.seed)
    lines = [f"target {r['target_epsilon'] if r['target_epsilon'] is not None else 'no DP':>6}: epsilon spent "
             f"{r['epsilon'] if r['epsilon'] is None else round(r['epsilon'], 2)}, accuracy {r['accuracy']:.4f}, "
             f"attack AUC {r['max_auc']:.3f} ({r['strongest_attack']}), empirical epsilon >= "
             f"{r['empirical_epsilon']:.2f}  [{r['model_id']}]" for r in rows]
    c.emit(args, {"rows": rows}, "\n".join(lines))
    return 0


def add_lm_remedies(p) -> None:
    p.add_argument("--model", required=True, help="a language model trained with canaries (fmaudit train --model gpt "
                                                  "--canaries 1,64)")
    p.add_argument("--epsilons", default="1,8", help="comma-separated DP-SGD budgets, one retraining each")
    p.add_argument("--no-deidentify", action="store_true", help="skip the retraining on de-identified texts")
    p.add_argument("--dp-lr", type=float, default=None, help="learning rate of the DP runs (default: the recipe's)")
    p.add_argument("--texts", type=int, default=100, help="texts for extraction and membership inference")
    p.add_argument("--exposure-samples", type=int, default=20_000,
                   help="secrets scored per canary where there are too many to rank them all")


def cmd_lm_remedies(args) -> int:
    from audits.sweeps import lm_remedies

    out = lm_remedies(c.store(args), args.model, [float(e) for e in c.csv_list(args.epsilons)],
                      deidentify=not args.no_deidentify, dp_lr=args.dp_lr, texts=args.texts,
                      exposure_samples=args.exposure_samples)
    lines = [f"{r['variant']:>20}: perplexity {r['test_perplexity']:7.1f}, exposure of the canary repeated "
             f"{r['most_repeated']} times {r['most_repeated_exposure']:5.2f} bits, extraction "
             f"{r['extraction_rate']:.1%}, membership AUC {r['mia_auc_loss']:.3f}"
             + (f", epsilon spent {r['epsilon']:.2f}" if r["epsilon"] is not None else "") + f"  [{r['model_id']}]"
             for r in out["rows"]]
    c.emit(args, out, "\n".join(lines))
    return 0
