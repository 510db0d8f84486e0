"""``fmaudit review``: findings of a model version, their statuses and comments, risk acceptance, sign-off."""

from __future__ import annotations

from . import _common as c


def add_review(p) -> None:
    p.add_argument("action", choices=["findings", "accept", "status", "comment", "assign", "approve", "verify"],
                   help="findings --model ID: the review state; accept FINDING --reason --until; status FINDING "
                        "fixed|false_positive|open; comment FINDING TEXT; assign FINDING --owner NAME; approve --model "
                        "ID (as $FMAUDIT_USER); verify --model ID [--public-key signing.pub]: each sign-off's "
                        "signature and the hashes it names")
    p.add_argument("target", nargs="*", help="the finding id, then a status or a comment's text")
    p.add_argument("--model", default=None, help="findings, approve: the model version under review")
    p.add_argument("--policy", default=None, help="the policy whose failed and unmeasured checks are findings")
    p.add_argument("--reason", default=None, help="accept: the written justification; status: an optional note")
    p.add_argument("--until", default=None, help="accept: the acceptance's expiry date (YYYY-MM-DD)")
    p.add_argument("--owner", default=None, help="assign: the user who owns the finding")
    p.add_argument("--public-key", default=None, help="verify: the public key (default: the store's)")


def cmd_review(args) -> int:
    from audits.evidence import approve, load_policy, review
    from fmcore.errors import ConfigError
    from fmcore.store import actor

    store = c.store(args)
    policy = load_policy(args.policy) if args.policy else None
    user = actor()
    if args.action in ("findings", "approve", "verify"):
        if not args.model:
            raise ConfigError(f"Name the model: fmaudit review {args.action} --model ID.")
        if args.action == "verify":
            return _verify(args, store, review)
        if args.action == "approve":
            out = approve(store, args.model, user, policy)
            c.emit(args, {k: v for k, v in out.items() if k != "envelope"} | {"envelope": out["envelope"]},
                   f"{args.model} approved by {user} under {out['policy']['label']}: manifest "
                   f"{out['manifest_sha256'][:16]}..., report {out['report_sha256'][:16]}..., evidence "
                   f"{out['evidence_sha256'][:16]}..., {len(out['accepted'])} accepted risk(s); signed (trail event "
                   f"{out['seq']})")
            return 0
        state = review.review_state(store, args.model, policy)
        lines = [f"review of {args.model} (registered by {state['author']}; policy {state['policy'] or 'none'})"]
        lines += [f"  {f['id']}  {f['severity']:<6} {f['status']:<14} {f['title']}" for f in state["findings"]]
        lines += [f"  passed: {p['check']}" for p in state["passed"]]
        lines += [f"  approved by {a['actor']} at {a['ts']} under {a['policy'] or 'no policy'}: "
                  + ("current" if a["current"] else "STALE (" + "; ".join(a["stale"]) + ")" if a["verified"]
                     else "signature NOT verified") for a in state["approvals"]]
        c.emit(args, state, "\n".join(lines))
        return 0
    if not args.target:
        raise ConfigError(f"Name the finding: fmaudit review {args.action} FINDING ...")
    finding = args.target[0]
    if args.action == "accept":
        out = review.set_status(store, finding, "risk_accepted", user, reason=args.reason, until=args.until,
                                policy=policy)
        c.emit(args, {"finding": finding, **out}, f"{finding}: risk accepted by {user} until {out['until']}")
    elif args.action == "status":
        if len(args.target) < 2:
            raise ConfigError("Name the status: fmaudit review status FINDING fixed|false_positive|open.")
        out = review.set_status(store, finding, args.target[1], user, reason=args.reason, policy=policy)
        c.emit(args, {"finding": finding, **out}, f"{finding}: {out['status']} ({user})")
    elif args.action == "comment":
        review.comment(store, finding, " ".join(args.target[1:]), user, policy)
        c.emit(args, {"finding": finding, "by": user}, f"{finding}: comment added by {user}")
    else:
        if not args.owner:
            raise ConfigError("Name the owner: fmaudit review assign FINDING --owner NAME.")
        review.assign(store, finding, args.owner, user, policy)
        c.emit(args, {"finding": finding, "owner": args.owner}, f"{finding}: owned by {args.owner}")
    return 0


def _verify(args, store, review) -> int:
    """Every sign-off of the model: whether its signature verifies with the key, and whether it still holds for the
    model's files on disk, the policy (``--policy``) and the evidence now. Exit 0 only when one verifies and is
    current; 1 otherwise (none, a bad signature, or every sign-off stale)."""
    from audits.evidence import load_public_key

    key = load_public_key(args.public_key) if args.public_key else None
    policy = None
    if args.policy:
        from audits.evidence import load_policy

        policy = load_policy(args.policy)
    rows = review.signoff_rows(store, args.model, policy, key)
    ok = any(r["current"] for r in rows)
    lines = []
    for r in rows:
        state = "current" if r["current"] else "STALE" if r["verified"] else "signature NOT verified"
        lines.append(f"{r['actor']} at {r['ts']} under {r['policy'] or 'no policy'}: {state}; signature "
                     f"{'verified' if r['verified'] else 'NOT verified'}, manifest "
                     f"{(r['manifest_sha256'] or '(none)')[:16]}..., report {(r['report_sha256'] or '?')[:16]}...")
        lines += [f"    stale: {why}" for why in r["stale"]]
    if not rows:
        lines = [f"{args.model} has no sign-off."]
    c.emit(args, {"model_id": args.model, "ok": ok, "signoffs": rows}, "\n".join(lines))
    return 0 if ok else 1
