"""Public-key signatures for reports, in the supply-chain convention: an in-toto Statement (v1) whose subjects
are the report files with their sha256, wrapped in a DSSE envelope signed with Ed25519.

- ``fmaudit keys init`` makes the key pair (``fmcore.signing``): ``keys/signing.pub`` under the store and the private
  key there or outside it. The key id is the sha256 of the raw 32-byte public key.
- Every report written gets ``<stem>.intoto.json`` beside it: the Statement naming the JSON, HTML and Markdown
  files and their digests, signed when the store has a key (unsigned otherwise: the digests still pin the files).
- Anyone with the public key checks a file: the envelope's signature over DSSE's pre-authentication encoding,
  then the file's sha256 against its subject. Any byte changed anywhere in the file fails.

Spec: https://github.com/secure-systems-lab/dsse (PAE, envelope), https://in-toto.io/Statement/v1.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from fmcore.signing import init_keys, key_files, key_id, load_private_key, load_public_key

__all__ = ["check_file", "envelope", "init_keys", "key_files", "key_id", "load_private_key", "load_public_key", "pae",
           "statement", "verify_envelope"]

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://fmaudit.dev/report/v1"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what is actually signed."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def statement(report: dict, files: dict[str, Path]) -> dict:
    """The in-toto Statement: each report file with its sha256, and what the report says in brief."""
    policy = report.get("policy") or {}
    return {"_type": STATEMENT_TYPE,
            "subject": [{"name": p.name, "digest": {"sha256": hashlib.sha256(p.read_bytes()).hexdigest()}}
                        for p in files.values()],
            "predicateType": PREDICATE_TYPE,
            "predicate": {"model_id": report["model"]["id"], "content_sha256": report["content_sha256"],
                          "generated_at": report["generated_at"], "policy": policy.get("policy"),
                          "outcome": policy.get("outcome")}}


def envelope(statement_: dict, private_key=None) -> dict:
    """The DSSE envelope of ``statement_``, signed with ``private_key`` when given."""
    payload = json.dumps(statement_, sort_keys=True, separators=(",", ":")).encode()
    signatures = []
    if private_key is not None:
        sig = private_key.sign(pae(PAYLOAD_TYPE, payload))
        signatures.append({"keyid": key_id(private_key.public_key()), "sig": base64.b64encode(sig).decode()})
    return {"payloadType": PAYLOAD_TYPE, "payload": base64.b64encode(payload).decode(), "signatures": signatures}


def check_file(path: Path, envelope_: dict, public_key=None) -> dict:
    """``path`` against the envelope: the signature (with ``public_key``, when given) and the file's digest.
    Returns ``{"signed": True/False/None, "key_id", "problems": [...]}``."""
    from cryptography.exceptions import InvalidSignature

    problems, signed, kid = [], None, None
    try:
        payload = base64.b64decode(envelope_["payload"], validate=True)
        statement_ = json.loads(payload)
    except (KeyError, ValueError, TypeError) as exc:
        return {"signed": False, "key_id": None, "problems": [f"the signature envelope is unreadable: {exc}"]}
    if envelope_.get("payloadType") != PAYLOAD_TYPE or statement_.get("_type") != STATEMENT_TYPE:
        problems.append("the envelope is not an in-toto statement")
    if public_key is not None:
        kid = key_id(public_key)
        signed = False
        for s in envelope_.get("signatures", []):
            if s.get("keyid") != kid:
                continue
            try:
                public_key.verify(base64.b64decode(s["sig"]), pae(envelope_["payloadType"], payload))
                signed = True
            except (InvalidSignature, ValueError, KeyError):
                pass
        if not signed:
            problems.append("no valid signature by this public key (signed with another key, unsigned, or changed)")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    subject = next((s for s in statement_.get("subject", []) if s.get("name") == path.name), None)
    if subject is None:
        problems.append(f"{path.name} is not among the files the statement names")
    elif subject.get("digest", {}).get("sha256") != digest:
        problems.append(f"{path.name} was changed after it was written: its sha256 is {digest[:16]}..., the "
                        f"statement says {subject.get('digest', {}).get('sha256', '?')[:16]}...")
    return {"signed": signed, "key_id": kid, "problems": problems}


def verify_envelope(envelope_: dict, public_key) -> dict | None:
    """The statement inside ``envelope_`` when a signature by ``public_key`` checks over it; None otherwise."""
    from cryptography.exceptions import InvalidSignature

    try:
        payload = base64.b64decode(envelope_["payload"], validate=True)
        kid = key_id(public_key)
        for s in envelope_.get("signatures", []):
            if s.get("keyid") == kid:
                try:
                    public_key.verify(base64.b64decode(s["sig"]), pae(envelope_["payloadType"], payload))
                    return json.loads(payload)
                except (InvalidSignature, ValueError):
                    continue
    except (KeyError, ValueError, TypeError):
        return None
    return None
