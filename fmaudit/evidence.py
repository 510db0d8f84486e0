"""Evidence: reports against a policy, verification, headless pipelines."""

from __future__ import annotations

import sys

from . import _common as c


def add_report(p) -> None:
    p.add_argument("--model", required=True)
    p.add_argument("--policy", default=None, help="a policy YAML (examples in policies/)")
    p.add_argument("--out", default="reports", help="folder for the .html, .json and .md files")
    p.add_argument("--junit", default=None, help="also write the policy checks as a JUnit XML file")
    p.add_argument("--run-missing", action="store_true",
                   help="first run, with default options, the audits the policy needs and the model lacks")


def cmd_report(args) -> int:
    from pathlib import Path

    from audits.evidence import EXIT_CODES, file_report, junit_xml, load_policy, outcome_of, run_missing

    store = c.store(args)
    policy = load_policy(args.policy) if args.policy else None
    ran = {}
    if policy and args.run_missing:
        ran = run_missing(policy, store, args.model, log=lambda m: print(m, file=sys.stderr))
    report, paths = file_report(store, args.model, policy, args.out)
    evaluation = report["policy"]
    if args.junit and evaluation:
        from fmcore.store import atomic_write

        atomic_write(Path(args.junit), junit_xml(evaluation, args.model).encode("utf-8"))
    payload = {"model_id": args.model, "content_sha256": report["content_sha256"],
               "paths": {k: str(v) for k, v in paths.items()}, "policy": evaluation, "ran": ran}
    lines = [f"report {report['content_sha256'][:16]}... written: " + ", ".join(str(p) for p in paths.values())]
    c.emit(args, payload, "\n".join(lines + _policy_lines(evaluation)))
    return EXIT_CODES[outcome_of(evaluation)] if evaluation else 0


def add_verify(p) -> None:
    p.add_argument("report", nargs="?", default=None, help="a report file (.json, .html or .md)")
    p.add_argument("--public-key", default=None, metavar="KEY.pub",
                   help="check the Ed25519 signature with this public key (no secret needed); without it, or "
                        "--no-signature, a report reads UNVERIFIED (exit 3)")
    p.add_argument("--no-signature", action="store_true",
                   help="check only that the files agree with each other, knowingly without a signature (exit 0 "
                        "when they do): anyone who can write the files could have made them")
    p.add_argument("--log", action="store_true", help="check the store's hash-chained audit trail instead")
    p.add_argument("--expect-head", default=None, metavar="SEQ:HASH",
                   help="with --log: a trail head kept elsewhere (a report's trail head) that must still be in the "
                        "chain; catches a store rolled back to an earlier state of its own")


def cmd_verify(args) -> int:
    from fmcore.errors import ConfigError

    if args.log:
        return _verify_log(args)
    if not args.report:
        raise ConfigError("Give a report file (.json or .html), or --log to check the store's audit trail.")
    from audits.evidence import verdict, verify_report

    result = verify_report(args.report, public_key=args.public_key)
    word, code = verdict(result, signature_required=not args.no_signature)
    signed = {None: "signature not checked", True: "signature valid", False: "signature INVALID"}[result["signed"]]
    hint = ("\n  nothing was found changed, but no signature was checked: anyone who can write these files could "
            "have made them. Pass --public-key KEY.pub (from whoever signs the reports), or --no-signature to "
            "accept that knowingly." if word == "UNVERIFIED" else "")
    text = (f"{args.report}: {word} (sha256 {(result.get('content_sha256') or '?')[:16]}..., {signed})\n"
            + "\n".join(f"  {p}" for p in result["problems"]) + hint)
    c.emit(args, {**result, "verdict": word}, text.rstrip())
    return code


def _verify_log(args) -> int:
    from fmcore.errors import ConfigError
    from fmcore.signing import load_public_key

    key = load_public_key(args.public_key) if args.public_key else None
    expect = None
    if args.expect_head:
        seq, _, h = args.expect_head.partition(":")
        if not seq.isdigit() or len(h) != 64:
            raise ConfigError("--expect-head is SEQ:HASH (the event number and its 64-hex hash).")
        expect = (int(seq), h)
    result = c.store(args).verify_trail(public_key=key, expect_head=expect)
    head = {True: "head signed", False: "head signature INVALID",
            None: "head NOT signed (the store has no signing key: removing the newest events would go unnoticed; "
                  "fmaudit keys init)"}[result["head_signed"]]
    text = (f"audit trail: {result['events']} events, " + ("intact" if result["ok"] else "BROKEN") + f"; {head}\n"
            + "\n".join(f"  {p}" for p in result["problems"]))
    c.emit(args, result, text.rstrip())
    return 0 if result["ok"] else 1


def add_run(p) -> None:
    p.add_argument("pipeline")
    p.add_argument("--out", default=None, help="report folder (default: the pipeline's report.out)")


def cmd_run(args) -> int:
    from audits.evidence import load_pipeline, run_pipeline

    spec = load_pipeline(args.pipeline)
    result = run_pipeline(spec, c.store(args), out=args.out, log=(lambda m: None) if args.json else
                          (lambda m: print(m, file=sys.stderr)))
    lines = [f"{spec.get('name', args.pipeline)}: model {result['model_id']}; reports "
             + ", ".join(result["paths"].values())] + _policy_lines(result["policy"])
    c.emit(args, result, "\n".join(lines))
    from audits.evidence import EXIT_CODES, outcome_of

    return EXIT_CODES[outcome_of(result["policy"])] if result["policy"] else 0


def _policy_lines(evaluation: dict | None) -> list[str]:
    if not evaluation:
        return []
    from audits.evidence import OUTCOME_WORDS, outcome_of

    lines = [f"policy {evaluation['policy']}: {OUTCOME_WORDS[outcome_of(evaluation)]}"]
    for r in evaluation["checks"]:
        value = "-" if r["value"] is None else f"{r['value']:.4g}"
        lines.append(f"  [{r['status']:<12}] {r['id']}: {r['metric']} {r['op']} {r['threshold']:g} (value {value}) "
                     f"- {r['requirement']}")
    return lines


def add_reproduce(p) -> None:
    p.add_argument("report", help="a report .json or .html")


def cmd_reproduce(args) -> int:
    from audits.evidence import load_report, reproduce

    result = reproduce(load_report(args.report), c.store(args),
                       progress=None if args.json else lambda f, m: print(f"[{f:4.0%}] {m}", file=sys.stderr))
    lines = [f"{args.report}: " + ("every claim reproduced" if result["ok"] else "NOT reproduced")]
    lines += [f"  {p}" for p in result["problems"]]
    for r in result["rows"]:
        claimed = f"{r['claimed']:.6g}" if isinstance(r["claimed"], float) else r["claimed"]
        again = f"{r['again']:.6g}" if isinstance(r["again"], float) else r["again"]
        lines.append(f"  [{r['status']:<19}] {r['name']} {r['audit']}: {r['metric']} claimed {claimed}, again {again}")
    c.emit(args, result, "\n".join(lines))
    return 0 if result["ok"] else 1


def add_diff(p) -> None:
    p.add_argument("a", help="a report (.json or .html) or a model id: the earlier version")
    p.add_argument("b", help="a report or a model id: the later version")
    p.add_argument("--policy", default=None, help="for model ids: the policy whose checks are compared")


def cmd_diff(args) -> int:
    from audits.evidence import diff_reports, load_policy, report_or_model

    store = c.store(args)
    policy = load_policy(args.policy) if args.policy else None
    d = diff_reports(report_or_model(store, args.a, policy), report_or_model(store, args.b, policy))
    lines = [f"{d['a']['model_id']} -> {d['b']['model_id']} ({d['related']})"]
    for r in d["metrics"]:
        if r["change"]:
            mark = {True: "  beyond its interval", False: "  within its interval", None: ""}[r["beyond_interval"]]
            lines.append(f"  {r['audit']}.{r['metric']}: {r['a']:.4g} -> {r['b']:.4g} ({r['change']:+.4g}){mark}")
    lines += [f"  check {x['id']}: {x['a_status']} -> {x['b_status']}" for x in d["checks"] if x["flipped"]]
    lines += [f"  only in {side}: {', '.join(d[f'only_in_{side}'])}" for side in ("a", "b") if d[f"only_in_{side}"]]
    c.emit(args, d, "\n".join(lines))
    return 0
