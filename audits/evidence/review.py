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
from fmcore.security import RoleRefused as ReviewRefused  # noqa: F401  (a review step the acting user may not take)

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
            findings.append({**row, "id": finding_id(model_id, f"policy:{_policy_key(policy)}", c["id"]),
                             "source": "policy check", "severity": severity,
                             "title": f"{c['id']} {c['status'].replace('_', ' ')}: {c['metric']} {c['op']} "
                                      f"{c['threshold']}" + (f" (value {c['value']:.4g})" if c["status"] == "fail"
                                                             else " (no audit measured it)")})
    for name, audit in sorted(store.latest_audits(model_id).items()):
        for w in audit["result"].get("warnings") or []:
            findings.append({"id": finding_id(model_id, f"audit:{name}", w), "source": f"{name} audit warning",
                             "severity": "low", "title": w, "audit_id": audit["id"]})
    return findings, passed


def _policy_key(policy: dict) -> str:
    """What a policy's findings are keyed by: its content hash, so a policy with the same name and other checks (a
    lenient copy) never inherits another's risk acceptances."""
    from ._policy import policy_sha256

    return policy_sha256(policy)


def policy_identity(policy: dict | None) -> dict | None:
    """The identity a sign-off is bound to: the policy's name, label and content hash (its version: any change to
    what it checks is a new hash)."""
    if not policy:
        return None
    from ._policy import identify

    ident = identify(policy)
    return {"name": policy["name"], "label": ident["label"], "sha256": ident["sha256"], "shipped": ident["shipped"]}


def evidence_sha256(store, model_id: str) -> str:
    """A hash of the evidence a report of ``model_id`` rests on: every stored audit (id and result hash). A sign-off
    names it; a new or changed audit makes the sign-off stale."""
    from fmcore.store import content_hash

    return content_hash(sorted((a["id"], content_hash(a["result"])) for a in store.list_audits(model_id)))


def _stale(record, approval: dict, ident: dict | None, evidence: str, file_problems: list[str]) -> list[str]:
    """Why a recorded approval no longer holds for the model as it is now, under ``ident``'s policy, in words."""
    d, why = approval, []
    if not d.get("manifest_sha256"):
        return ["given before sign-offs were bound to the model's manifest, the policy and the evidence"]
    if file_problems:
        why.append("the model's files changed since: " + "; ".join(file_problems))
    elif d["manifest_sha256"] != record.manifest_sha256:
        why.append("it names other model files (another manifest)")
    if (d.get("policy") or {}).get("sha256") != (ident or {}).get("sha256"):
        why.append(f"it was given under {(d.get('policy') or {}).get('label') or 'no policy'}, not under "
                   f"{(ident or {}).get('label') or 'no policy'}")
    if d.get("evidence_sha256") != evidence:
        why.append("the evidence changed since (an audit was added or changed after it)")
    return why


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
    for e in review_events(store, model_id):
        d, f = e["details"], by_id.get(e["subject"])
        if f is None or e["action"] == "review.approve":
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
    ident, evidence = policy_identity(policy), evidence_sha256(store, model_id)
    file_problems = store.weight_problems(model_id, cached=True)  # a page lists many models; approve re-hashes
    approvals = _signoffs(store, record, ident, evidence, file_problems)
    return {"model_id": model_id, "weights_sha256": record.sha256, "manifest_sha256": record.manifest_sha256,
            "author": author_of(store, model_id), "policy": ident["label"] if ident else None,
            "policy_identity": ident, "evidence_sha256": evidence, "findings": rows, "passed": passed,
            "counts": {s: sum(f["status"] == s for f in rows) for s in STATUSES}, "blocking": blocking,
            "unaccepted": [f["id"] for f in rows if f["source"] == "policy check" and f["status"] != "risk_accepted"],
            "accepted": [{"id": f["id"], "check": f.get("check"), **f["acceptance"]} for f in rows
                         if f["status"] == "risk_accepted" and f.get("acceptance")],
            "file_problems": file_problems, "approvals": approvals,
            "approved": any(a["current"] for a in approvals)}


def approval_blockers(store, model_id: str, user: str, state: dict) -> list[str]:
    """Why ``user`` cannot sign off ``model_id`` in ``state`` (its review under one policy), in words; empty when they
    can. The rules: an approver who did not register the model; a policy (not "(none)"); the model's files exactly
    the registered ones; the policy passes, or every failed or unmeasured check has a current risk acceptance; no
    open high-severity finding; the store has a signing key."""
    from fmcore.security import PERMISSIONS, may

    from ._dsse import key_files

    why = []
    try:
        role = role_of(store, user)
    except ReviewRefused as exc:  # not a user of this store (an OIDC account nobody added, say)
        why.append(str(exc).rstrip("."))
    else:
        if not may(role, "approve"):
            why.append(f"{user} has the role {role}; signing off needs the role {' or '.join(PERMISSIONS['approve'])}")
        elif state["author"] == user:
            why.append(f"{user} registered {model_id}: a second person must approve it (four eyes)")
    if not state["policy"]:
        why.append("a sign-off is given under a policy: choose one (the \"(none)\" policy cannot be approved)")
    if state["file_problems"]:
        why.append("the model's files are not the registered ones: " + "; ".join(state["file_problems"]))
    if state["unaccepted"]:
        why.append(f"{len(state['unaccepted'])} failed or unmeasured check(s) have no current risk acceptance: "
                   f"{', '.join(state['unaccepted'])} (the policy must pass, or each such risk be accepted)")
    elif state["blocking"]:
        why.append(f"{len(state['blocking'])} high-severity finding(s) are open: {', '.join(state['blocking'])}")
    if not key_files(store.root)[0].is_file():
        why.append("the store has no signing key (fmaudit keys init), so a sign-off could not be signed")
    return why


def author_of(store, model_id: str) -> str | None:
    """Who registered the model (the actor of its ``model.register`` event)."""
    found = [e for e in store.events_like("model.register") if e["subject"] == model_id]
    return found[0]["actor"] if found else None


def _require(store, user: str, action: str, what: str) -> str:
    from fmcore.security import require

    return require(user, action, what, store.root)


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
    _require(store, user, "review", "changing a finding")
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
    _require(store, user, "review", "commenting")
    if not text.strip():
        raise ConfigError("An empty comment says nothing.")
    model_id, _ = _finding(store, finding, policy)
    store.log_event("review.comment", finding, {"model_id": model_id, "text": text.strip()})


def assign(store, finding: str, owner: str, user: str, policy: dict | None = None) -> None:
    """Make ``owner`` (a user of the store) the finding's owner."""
    _require(store, user, "review", "assigning")
    role_of(store, owner)  # the owner must exist
    model_id, _ = _finding(store, finding, policy)
    store.log_event("review.assign", finding, {"model_id": model_id, "owner": owner})


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


def signoff_rows(store, model_id: str, policy: dict | None = None, public_key=None) -> list[dict]:
    """Every sign-off of ``model_id``: who and when, whether its signature verifies (with ``public_key``, or the
    store's), what its signed statement names, and why it is stale for the model as it is on disk now under
    ``policy`` (``stale``: reasons; ``current``: verified and not stale)."""
    record = store.get_model(model_id)
    return _signoffs(store, record, policy_identity(policy) if policy else OWN_POLICY,
                     evidence_sha256(store, model_id), store.weight_problems(record.id), public_key)


#: judge each sign-off under the policy it names (a shipped profile as it is shipped now)
OWN_POLICY = {"own": True}


def _current_identity(signed: dict | None) -> dict | None:
    """The identity of the policy a sign-off names as it is now: a shipped profile's current content (by its file);
    for a custom policy, the one signed (it cannot be looked up: pass it to check it)."""
    if not signed or not signed.get("shipped"):
        return signed
    from ._policy import SHIPPED, load_policy

    path = SHIPPED / signed["shipped"]
    return policy_identity(load_policy(path)) if path.is_file() else None


def _signoffs(store, record, ident, evidence: str, file_problems: list[str], public_key=None) -> list[dict]:
    rows = []
    for e in review_events(store, record.id):
        if e["action"] != "review.approve":
            continue
        env = e["details"].get("envelope") or {}
        verified = verify_signoff(store, env, public_key)
        try:  # what the signature covers, not the trail's copy of it
            statement = signoff_statement(env)
        except (KeyError, ValueError, TypeError):
            statement = {}
        digests = {s["name"].split(" of ")[0]: s["digest"]["sha256"] for s in statement.get("subject", [])}
        predicate = statement.get("predicate") or {}
        policy = predicate.get("policy") if isinstance(predicate.get("policy"), dict) else None
        signed = {"manifest_sha256": digests.get("manifest"), "evidence_sha256": digests.get("evidence"),
                  "policy": policy}
        judged = _current_identity(policy) if ident is OWN_POLICY else ident
        stale = _stale(record, signed, judged, evidence, file_problems)
        if digests.get("weights") != record.sha256 and not file_problems:
            stale.insert(0, "it names other weights")
        rows.append({"seq": e["seq"], "actor": e["actor"], "ts": e["ts"], "verified": verified, "stale": stale,
                     "current": verified and not stale, "policy": (policy or {}).get("label"),
                     "outcome": predicate.get("outcome"), "accepted": predicate.get("accepted") or [],
                     "weights_sha256": digests.get("weights"), "manifest_sha256": digests.get("manifest"),
                     "report_sha256": digests.get("report"), "evidence_sha256": digests.get("evidence")})
    return rows


def signoff_statement(env: dict) -> dict:
    """The statement inside a sign-off envelope (not checked; see ``verify_signoff``)."""
    import base64

    return json.loads(base64.b64decode(env["payload"]))
