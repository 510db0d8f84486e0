"""The review of a model version: findings with owners, statuses and comments, risk acceptance with a reason and an
expiry date, and a four-eyes sign-off signed with the store's Ed25519 key.

Findings are derived, not typed in: every failed or unmeasured check of the policy under review and every warning of
the model's newest audits. A finding's id names its model (``f-<model>-<hash>``), so a new model version starts a
new review. What people do to findings (assign, comment, change status, accept a risk) and the sign-off are events
in the store's hash-chained audit trail, each with its actor; the review state is read back from them, so it
verifies with the trail. Roles (``fmaudit user add NAME --role``): viewers change nothing; auditors and approvers
assign, comment and set statuses; only an approver who did not register the model signs it off, and never while a
high-severity finding is open (unless its risk is accepted and the acceptance has not expired).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from fmcore.errors import ConfigError
from fmcore.security import RoleRefused as ReviewRefused  # a review step the acting user may not take

STATUSES = ("open", "fixed", "risk_accepted", "false_positive")
SEVERITIES = ("high", "medium", "low")
SIGNOFF_PREDICATE = "https://fmaudit.dev/signoff/v1"


def finding_id(model_id: str, source: str, key: str) -> str:
    """A stable id for a finding of ``model_id``: the same check or warning gives the same id in every run."""
    digest = hashlib.sha256(f"{model_id}|{source}|{key}".encode()).hexdigest()[:8]
    return f"f-{model_id.removeprefix('m-')}-{digest}"


def model_of(finding: str) -> str:
    """The model id a finding id names."""
    parts = finding.split("-")
    if len(parts) != 3 or parts[0] != "f":
        raise ConfigError(f"{finding!r} is not a finding id (f-<model>-<hash>; see fmaudit review findings).")
    return f"m-{parts[1]}"


def role_of(store, user: str) -> str:
    """``user``'s role from the store's users file; without users (local single-user mode), ``auditor``."""
    from fmcore.security import role_of as role

    return role(user, store.root)


def _derive(store, model_id: str, policy: dict | None) -> tuple[list[dict], list[dict]]:
    """(findings, passed checks) from the policy's evaluation and the newest audits' warnings."""
    from ._policy import evaluate_policy

    findings, passed = [], []
    if policy:
        for c in evaluate_policy(policy, store, model_id)["checks"]:
            row = {"check": c["id"], "metric": c["metric"], "op": c["op"], "threshold": c["threshold"],
                   "value": c["value"], "requirement": c.get("requirement"), "policy": policy["name"]}
            if c["status"] == "pass":
                passed.append(row)
                continue
            severity = c.get("severity") or ("high" if c["status"] == "fail" else "medium")
            findings.append({**row, "id": finding_id(model_id, f"policy:{policy['name']}", c["id"]),
                             "source": "policy check", "severity": severity,
                             "title": f"{c['id']} {c['status'].replace('_', ' ')}: {c['metric']} {c['op']} "
                                      f"{c['threshold']}" + (f" (value {c['value']:.4g})" if c["status"] == "fail"
                                                             else " (no audit measured it)")})
    for name, audit in sorted(store.latest_audits(model_id).items()):
        for w in audit["result"].get("warnings") or []:
            findings.append({"id": finding_id(model_id, f"audit:{name}", w), "source": f"{name} audit warning",
                             "severity": "low", "title": w, "audit_id": audit["id"]})
    return findings, passed


def review_events(store, model_id: str) -> list[dict]:
    """Every review event of ``model_id`` in the trail, oldest first."""
    return [e for e in store.events_like("review.%") if e["details"].get("model_id") == model_id]


def review_state(store, model_id: str, policy: dict | None = None, today: dt.date | None = None) -> dict:
    """The review of ``model_id``: findings with their owner, status, comments and acceptance (an expired acceptance
    reopens the finding), passed checks, sign-offs (each verified), and who registered the model."""
    record = store.get_model(model_id)
    today = today or dt.date.today()
    findings, passed = _derive(store, model_id, policy)
    by_id = {f["id"]: {**f, "status": "open", "owner": None, "comments": [], "acceptance": None} for f in findings}
    approvals = []
    for e in review_events(store, model_id):
        d, f = e["details"], by_id.get(e["subject"])
        if e["action"] == "review.approve":
            approvals.append({**d, "seq": e["seq"], "actor": e["actor"], "ts": e["ts"],
                              "verified": verify_signoff(store, d.get("envelope"))})
        elif f is None:
            continue  # a finding that no longer arises (the check passes now): its history stays in the trail
        elif e["action"] == "review.assign":
            f["owner"] = d["owner"]
        elif e["action"] == "review.comment":
            f["comments"].append({"by": e["actor"], "at": e["ts"], "text": d["text"]})
        elif e["action"] == "review.status":
            f["status"] = d["status"]
            f["acceptance"] = ({"by": e["actor"], "at": e["ts"], "reason": d["reason"], "until": d["until"]}
                               if d["status"] == "risk_accepted" else None)
            if d.get("reason") and d["status"] != "risk_accepted":
                f["comments"].append({"by": e["actor"], "at": e["ts"], "text": d["reason"]})
    for f in by_id.values():
        if f["acceptance"] and dt.date.fromisoformat(f["acceptance"]["until"]) < today:
            f["status"], f["expired"] = "open", f["acceptance"]["until"]  # the acceptance ran out
    rows = list(by_id.values())
    blocking = [f["id"] for f in rows if f["severity"] == "high" and f["status"] == "open"]
    current = [a for a in approvals if a.get("weights_sha256") == record.sha256]
    return {"model_id": model_id, "weights_sha256": record.sha256, "author": author_of(store, model_id),
            "policy": policy["name"] if policy else None, "findings": rows, "passed": passed,
            "counts": {s: sum(f["status"] == s for f in rows) for s in STATUSES}, "blocking": blocking,
            "approvals": current, "approved": any(a["verified"] for a in current)}


def author_of(store, model_id: str) -> str | None:
    """Who registered the model (the actor of its ``model.register`` event)."""
    found = [e for e in store.events_like("model.register") if e["subject"] == model_id]
    return found[0]["actor"] if found else None


def _require(store, user: str, roles: tuple[str, ...], what: str) -> str:
    from fmcore.security import require_role

    return require_role(user, roles, what, store.root)


def _finding(store, finding: str, policy: dict | None) -> tuple[str, dict]:
    model_id = model_of(finding)
    store.get_model(model_id)
    found = next((f for f in _derive(store, model_id, policy)[0] if f["id"] == finding), None)
    if found is None:
        raise ConfigError(f"No open finding {finding} of {model_id} under "
                          f"{'this policy' if policy else 'its audits (name the policy with --policy)'}.")
    return model_id, found


def set_status(store, finding: str, status: str, user: str, *, reason: str | None = None, until: str | None = None,
               policy: dict | None = None) -> dict:
    """Set a finding's status (as ``user``); a risk acceptance needs a written reason and a future expiry date."""
    if status not in STATUSES:
        raise ConfigError(f"Status {status!r} is not one of {', '.join(STATUSES)}.")
    _require(store, user, ("auditor", "approver"), "changing a finding")
    model_id, _ = _finding(store, finding, policy)
    details = {"model_id": model_id, "status": status, "reason": (reason or "").strip() or None, "until": None}
    if status == "risk_accepted":
        if not details["reason"] or len(details["reason"]) < 10:
            raise ConfigError("Accepting a risk needs a written justification (--reason, 10 characters or more).")
        try:
            day = dt.date.fromisoformat(str(until))
        except ValueError:
            raise ConfigError("Accepting a risk needs an expiry date (--until YYYY-MM-DD).") from None
        if day <= dt.date.today():
            raise ConfigError(f"The expiry date {day} is not in the future.")
        details["until"] = day.isoformat()
    store.log_event("review.status", finding, details)
    return details


def comment(store, finding: str, text: str, user: str, policy: dict | None = None) -> None:
    """Add a comment to a finding's thread."""
    _require(store, user, ("auditor", "approver"), "commenting")
    if not text.strip():
        raise ConfigError("An empty comment says nothing.")
    model_id, _ = _finding(store, finding, policy)
    store.log_event("review.comment", finding, {"model_id": model_id, "text": text.strip()})


def assign(store, finding: str, owner: str, user: str, policy: dict | None = None) -> None:
    """Make ``owner`` (a user of the store) the finding's owner."""
    _require(store, user, ("auditor", "approver"), "assigning")
    role_of(store, owner)  # the owner must exist
    model_id, _ = _finding(store, finding, policy)
    store.log_event("review.assign", finding, {"model_id": model_id, "owner": owner})


def approve(store, model_id: str, user: str, policy: dict | None = None) -> dict:
    """Sign off ``model_id`` as ``user``: an approver who did not register it, with no open high-severity finding.
    The sign-off (weights and report hashes, the approver, the findings) is an in-toto statement in a DSSE envelope
    signed with the store's Ed25519 key, recorded in the trail."""
    from ._dsse import STATEMENT_TYPE, envelope, load_private_key
    from ._report import build_report

    _require(store, user, ("approver",), "approving")
    author = author_of(store, model_id)
    if author == user:
        raise ReviewRefused(f"{user} registered {model_id}: a second person must approve it (four eyes).")
    state = review_state(store, model_id, policy)
    if state["blocking"]:
        raise ReviewRefused(f"{len(state['blocking'])} high-severity finding(s) are open: "
                            f"{', '.join(state['blocking'])}. Fix them or accept the risk first.")
    key = load_private_key(store.root)
    if key is None:
        raise ConfigError("The store has no signing key: run fmaudit keys init first.")
    report = build_report(store, model_id, policy)
    at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    statement = {"_type": STATEMENT_TYPE, "predicateType": SIGNOFF_PREDICATE,
                 "subject": [{"name": f"weights of {model_id}", "digest": {"sha256": state["weights_sha256"]}},
                             {"name": f"report of {model_id}", "digest": {"sha256": report["content_sha256"]}}],
                 "predicate": {"model_id": model_id, "approver": user, "author": author, "approved_at": at,
                               "policy": state["policy"], "outcome": (report.get("policy") or {}).get("outcome"),
                               "findings": {s: n for s, n in state["counts"].items() if n},
                               "accepted": sorted(f["id"] for f in state["findings"]
                                                  if f["status"] == "risk_accepted")}}
    env = envelope(statement, key)
    details = {"model_id": model_id, "weights_sha256": state["weights_sha256"],
               "report_sha256": report["content_sha256"], "policy": state["policy"], "envelope": env}
    seq = store.log_event("review.approve", model_id, details)
    return {**details, "seq": seq, "approver": user, "statement": statement}


def verify_signoff(store, env: dict | None, public_key=None) -> bool:
    """True when ``env`` is a sign-off statement signed by the store's key (or ``public_key``)."""
    from ._dsse import key_files, load_public_key, verify_envelope

    if not env:
        return False
    if public_key is None:
        path = key_files(store.root)[1]
        if not path.is_file():
            return False
        public_key = load_public_key(path)
    statement = verify_envelope(env, public_key)
    return statement is not None and statement.get("predicateType") == SIGNOFF_PREDICATE


def signoff_statement(env: dict) -> dict:
    """The statement inside a sign-off envelope (not checked; see ``verify_signoff``)."""
    import base64

    return json.loads(base64.b64decode(env["payload"]))
