"""The sign-off: the one step of the review that files evidence (a report's hash) and signs it, so it sits above
both the review state (``review``) and the report builder (``_report``), which neither imports."""

from __future__ import annotations

import datetime as dt

from fmcore.errors import ConfigError

from ._dsse import STATEMENT_TYPE, envelope, load_private_key
from ._report import build_report
from .review import SIGNOFF_PREDICATE, ReviewRefused, approval_blockers, review_state


def approve(store, model_id: str, user: str, policy: dict | None = None) -> dict:
    """Sign off ``model_id`` under ``policy`` as ``user`` (see ``approval_blockers`` for when that is refused). The
    sign-off is an in-toto statement in a DSSE envelope signed with the store's Ed25519 key, recorded in the trail,
    bound to the model's manifest, the policy's identity and the evidence: it is stale once any of them changes."""
    state = review_state(store, model_id, policy)
    why = approval_blockers(store, model_id, user, state)  # the role, four eyes, policy, files, risks, key
    if why:
        raise ReviewRefused(f"{model_id} cannot be signed off by {user}: " + "; ".join(why) + ".")
    key = load_private_key(store.root)
    if key is None:
        raise ConfigError("The store has no signing key: run fmaudit keys init first.")
    store.check_model(model_id)  # the files, again, right before signing
    report = build_report(store, model_id, policy)
    at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    accepted = state["accepted"]
    statement = {"_type": STATEMENT_TYPE, "predicateType": SIGNOFF_PREDICATE,
                 "subject": [{"name": f"weights of {model_id}", "digest": {"sha256": state["weights_sha256"]}},
                             {"name": f"manifest of {model_id}", "digest": {"sha256": state["manifest_sha256"]}},
                             {"name": f"report of {model_id}", "digest": {"sha256": report["content_sha256"]}},
                             {"name": f"evidence of {model_id}", "digest": {"sha256": state["evidence_sha256"]}}],
                 "predicate": {"model_id": model_id, "approver": user, "author": state["author"], "approved_at": at,
                               "policy": state["policy_identity"],
                               "outcome": (report.get("policy") or {}).get("outcome"),
                               "findings": {s: n for s, n in state["counts"].items() if n}, "accepted": accepted}}
    env = envelope(statement, key)
    details = {"model_id": model_id, "weights_sha256": state["weights_sha256"],
               "manifest_sha256": state["manifest_sha256"], "report_sha256": report["content_sha256"],
               "evidence_sha256": state["evidence_sha256"], "policy": state["policy_identity"],
               "outcome": statement["predicate"]["outcome"], "accepted": accepted, "envelope": env}
    seq = store.log_event("review.approve", model_id, details)
    return {**details, "seq": seq, "approver": user, "statement": statement}
