"""The audit trail: every training, audit, mitigation, compression, deletion and export, hash-chained.

Each event's hash is sha256 over the previous event's hash and the event's canonical JSON, so editing
or removing any event breaks the chain from there on. The newest hash is also written to
``trail.head`` beside the database, signed with the store's key when it has one (a checkpoint after each write:
deleting the newest events and rewriting the head to match needs the private key), and ``verify_trail`` checks
both ways that the store and its trail agree: every stored model, audit and uploaded dataset has its event and
still hashes to what the event recorded (every file of each model and each dataset file hashed again on disk), and
every one the trail recorded, and did not record deleting, is still in the store.
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


def head_line(root: Path, seq: int, h: str) -> str:
    """The head's line for event ``seq`` with hash ``h``: signed with the store's key when it has one."""
    from ..signing import load_private_key, sign_head

    key = load_private_key(root)
    return sign_head(key, seq, h) if key is not None else f"{seq} {h}"


def write_head(root: Path, seq: int, h: str) -> None:
    """Write the trail's newest sequence number and hash beside the database: a checkpoint signed with the store's
    key when it has one, so removing the newest events (and rewriting this file to match) is detected."""
    tmp = root / f".trail.head.{os.getpid()}"
    tmp.write_text(head_line(root, seq, h) + "\n")
    os.replace(tmp, root / "trail.head")


def _chain_problems(rows) -> tuple[list[str], dict, dict, dict]:
    """The chain's problems, and what it recorded: audits (id -> result hash), models (id -> (sha256, manifest
    hash)) and datasets (name -> sha256) that were added and not deleted."""
    problems = []
    prev, expected_seq = GENESIS, 1
    audits, models, datasets = {}, {}, {}
    for r in rows:
        if r["seq"] != expected_seq:
            problems.append(f"event {expected_seq} is missing (next is {r['seq']})")
            expected_seq = r["seq"]
        details = json.loads(r["details"])
        if r["prev_hash"] != prev:
            problems.append(f"event {r['seq']} does not follow event {r['seq'] - 1} (the chain was edited)")
        if event_hash(r["prev_hash"], r["seq"], r["ts"], r["actor"], r["action"], r["subject"], details) != r["hash"]:
            problems.append(f"event {r['seq']} ({r['action']} {r['subject']}) was edited after it was written")
        prev, expected_seq = r["hash"], expected_seq + 1
        if r["action"] == "audit.add":
            audits[details["audit_id"]] = details["result_sha256"]
        elif r["action"] == "model.register":
            models[details["model_id"]] = (details["sha256"], details.get("manifest_sha256"))
        elif r["action"] == "model.delete":
            models.pop(details["model_id"], None)
            for gone in details.get("audits_deleted", []):
                audits.pop(gone, None)
        elif r["action"] == "dataset.add":
            datasets[details["name"]] = details["sha256"]
    return problems, audits, models, datasets


def _head_problems(root: Path, rows, public_key) -> tuple[list[str], bool | None]:
    """The head file against the log's end: its signature (with the store's or the given key) and its position."""
    from ..signing import check_head

    head_file = Path(root) / "trail.head"
    last = rows[-1] if rows else None
    if not head_file.exists():
        return (["trail.head is missing"] if rows else []), None
    try:
        seq, h, signed = check_head(head_file.read_text(), public_key)
    except (ValueError, OSError):
        return ["trail.head is unreadable (not 'SEQ HASH [KEYID SIGNATURE]')"], False
    problems = []
    if signed is False:
        problems.append("trail.head is not signed by the store's key (rewritten, or signed with another key): the "
                        "end of the trail cannot be trusted")
    if last is None or seq > last["seq"]:
        problems.append(f"the newest events are missing: the head says event {seq}, the log ends at "
                        f"{last['seq'] if last else 0}")
    elif seq == last["seq"] and h != last["hash"]:
        problems.append(f"the newest event {seq} differs from the head's record")
    elif seq < last["seq"]:
        problems.append(f"the log holds events after the head's event {seq} (up to {last['seq']}) that no "
                        "checkpoint covers")
    elif next((r["hash"] for r in rows if r["seq"] == seq), None) != h:
        problems.append(f"event {seq} is not the one the head names")
    return problems, signed


def verify_trail(store, public_key=None, expect_head: tuple[int, str] | None = None) -> dict:
    """Check the chain; the head (signed with the store's key, or ``public_key``); that models, audits and uploaded
    datasets match their events both ways: every row has its event and still hashes to it (every file of each model
    and each dataset file re-hashed on disk), and no recorded row has gone missing. ``expect_head`` (``(seq, hash)``
    kept elsewhere, e.g. from a report) must still be in the chain: someone who rolls the whole store back to an
    earlier state of its own is caught only that way."""
    from ..signing import store_public_key

    rows = store._query("SELECT * FROM events ORDER BY seq")
    problems, logged_audits, logged_models, logged_data = _chain_problems(rows)
    key = public_key if public_key is not None else store_public_key(store.root)
    head, signed = _head_problems(Path(store.root), rows, key)
    problems += head
    if expect_head is not None:
        seq, h = expect_head
        if next((r["hash"] for r in rows if r["seq"] == seq), None) != h:
            problems.append(f"the head you kept (event {seq}, {h[:12]}...) is not in this trail: it was rolled back "
                            "or rewritten")
    audits = store._query("SELECT id, result FROM audits")
    for a in audits:
        if a["id"] not in logged_audits:
            problems.append(f"audit {a['id']} has no event in the trail")
        elif content_hash(json.loads(a["result"])) != logged_audits[a["id"]]:
            problems.append(f"audit {a['id']} was changed after it was recorded")
    present = {a["id"] for a in audits}
    problems += [f"audit {a} is in the trail but missing from the store (its row was deleted)"
                 for a in logged_audits if a not in present]
    problems += _model_problems(store, logged_models) + _dataset_problems(store, logged_data)
    return {"ok": not problems, "events": len(rows), "problems": problems,
            "head": rows[-1]["hash"] if rows else GENESIS, "seq": rows[-1]["seq"] if rows else 0,
            "head_signed": signed}


def _model_problems(store, logged: dict) -> list[str]:
    problems = []
    models = store._query("SELECT id, sha256, manifest_sha256 FROM models")
    for m in models:
        if m["id"] not in logged:
            problems.append(f"model {m['id']} has no event in the trail")
            continue
        sha, manifest = logged[m["id"]]
        if m["sha256"] != sha:
            problems.append(f"model {m['id']}'s recorded hash was changed")
        if m["manifest_sha256"] != manifest:
            problems.append(f"model {m['id']}'s recorded manifest is not the one its registration logged")
        problems += [f"model {m['id']}: {p}" for p in store.weight_problems(m["id"])]
    present = {m["id"] for m in models}
    return problems + [f"model {m} is in the trail but missing from the store (its row was deleted)"
                       for m in logged if m not in present]


def _dataset_problems(store, logged: dict) -> list[str]:
    problems = []
    datasets = store.list_datasets()
    for d in datasets:
        if d["name"] not in logged:
            problems.append(f"dataset {d['name']!r} has no event in the trail")
            continue
        if d["sha256"] != logged[d["name"]]:
            problems.append(f"dataset {d['name']!r}'s recorded hash was changed")
        problems += [f"dataset {d['name']!r}: {p}" for p in store.dataset_problems(d)]
    present = {d["name"] for d in datasets}
    return problems + [f"dataset {n!r} is in the trail but missing from the store (its row was deleted)"
                       for n in logged if n not in present]
