"""The audit trail: every training, audit, mitigation, compression, deletion and export, hash-chained.

Each event's hash is sha256 over the previous event's hash and the event's canonical JSON, so editing
or removing any event breaks the chain from there on. The newest hash is also written to
``trail.head`` beside the database (deleting the newest events is caught there), and ``verify_trail``
checks both ways that the store and its trail agree: every stored model and audit has its event and still
hashes to what the event recorded (for models, the weight files on disk are hashed again), and every model and
audit the trail recorded, and did not record deleting, is still in the store.
"""

from __future__ import annotations

import contextvars
import getpass
import hashlib
import json
import os
from pathlib import Path

GENESIS = "0" * 64
TRAIL_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY, ts TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL,
    details TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
"""


#: the signed-in dashboard user of the current script run (each Streamlit session runs in its own thread)
ACTOR: contextvars.ContextVar[str | None] = contextvars.ContextVar("fmaudit_actor", default=None)


def actor() -> str:
    """Who is acting: the signed-in user of this thread, ``FMAUDIT_USER`` (set for job workers), or the OS user."""
    explicit = ACTOR.get() or os.environ.get("FMAUDIT_USER")
    if explicit:
        return explicit
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def canonical(obj) -> str:
    """``obj`` as canonical JSON (sorted keys, no spaces): the text that is hashed."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def content_hash(obj) -> str:
    """The sha256 of ``obj``'s canonical JSON."""
    return hashlib.sha256(canonical(obj).encode()).hexdigest()


def event_hash(prev: str, seq: int, ts: str, who: str, action: str, subject: str, details: dict) -> str:
    """The hash of one trail event, chained to the previous event's hash."""
    body = canonical({"seq": seq, "ts": ts, "actor": who, "action": action, "subject": subject, "details": details})
    return hashlib.sha256((prev + body).encode()).hexdigest()


def append_event(con, ts: str, action: str, subject: str, details: dict) -> tuple[int, str]:
    """Append inside the caller's write transaction; returns ``(seq, hash)``."""
    row = con.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (row["seq"] + 1, row["hash"]) if row else (1, GENESIS)
    who = actor()
    h = event_hash(prev, seq, ts, who, action, subject, details)
    con.execute("INSERT INTO events (seq, ts, actor, action, subject, details, prev_hash, hash) "
                "VALUES (?,?,?,?,?,?,?,?)", (seq, ts, who, action, subject, canonical(details), prev, h))
    return seq, h


def write_head(root: Path, seq: int, h: str) -> None:
    """Write the trail's newest sequence number and hash beside the database."""
    tmp = root / f".trail.head.{os.getpid()}"
    tmp.write_text(f"{seq} {h}\n")
    os.replace(tmp, root / "trail.head")


def verify_trail(store) -> dict:
    """Check the chain, the head, and that models and audits match their events both ways: every row has its event
    and still hashes to it (model weight files re-hashed on disk), and no recorded row has gone missing."""
    problems = []
    rows = store._query("SELECT * FROM events ORDER BY seq")
    prev, expected_seq = GENESIS, 1
    logged_audits, logged_models = {}, {}
    for r in rows:
        if r["seq"] != expected_seq:
            problems.append(f"event {expected_seq} is missing (next is {r['seq']})")
            expected_seq = r["seq"]
        details = json.loads(r["details"])
        if r["action"] == "audit.add":
            logged_audits[details["audit_id"]] = details["result_sha256"]
        elif r["action"] == "model.register":
            logged_models[details["model_id"]] = details["sha256"]
        elif r["action"] == "model.delete":
            logged_models.pop(details["model_id"], None)
            for gone in details.get("audits_deleted", []):
                logged_audits.pop(gone, None)
        if r["prev_hash"] != prev:
            problems.append(f"event {r['seq']} does not follow event {r['seq'] - 1} (the chain was edited)")
        if event_hash(r["prev_hash"], r["seq"], r["ts"], r["actor"], r["action"], r["subject"], details) != r["hash"]:
            problems.append(f"event {r['seq']} ({r['action']} {r['subject']}) was edited after it was written")
        prev, expected_seq = r["hash"], expected_seq + 1
    head_file = Path(store.root) / "trail.head"
    if head_file.exists():
        seq, h = head_file.read_text().split()
        last = rows[-1] if rows else None
        if last is None or int(seq) > last["seq"]:
            problems.append(f"the newest events are missing: the head says event {seq}, the log ends at "
                            f"{last['seq'] if last else 0}")
        elif int(seq) == last["seq"] and h != last["hash"]:
            problems.append(f"the newest event {seq} differs from the head's record")
    elif rows:
        problems.append("trail.head is missing")
    audits = store._query("SELECT id, result FROM audits")
    for a in audits:
        if a["id"] not in logged_audits:
            problems.append(f"audit {a['id']} has no event in the trail")
        elif content_hash(json.loads(a["result"])) != logged_audits[a["id"]]:
            problems.append(f"audit {a['id']} was changed after it was recorded")
    present = {a["id"] for a in audits}
    problems += [f"audit {a} is in the trail but missing from the store (its row was deleted)"
                 for a in logged_audits if a not in present]
    models = store._query("SELECT id, sha256 FROM models")
    for m in models:
        if m["id"] not in logged_models:
            problems.append(f"model {m['id']} has no event in the trail")
        elif m["sha256"] != logged_models[m["id"]]:
            problems.append(f"model {m['id']}'s recorded hash was changed")
        problems += [f"model {m['id']}: {p}" for p in store.weight_problems(m["id"])]
    present = {m["id"] for m in models}
    problems += [f"model {m} is in the trail but missing from the store (its row was deleted)"
                 for m in logged_models if m not in present]
    return {"ok": not problems, "events": len(rows), "problems": problems,
            "head": rows[-1]["hash"] if rows else GENESIS}
