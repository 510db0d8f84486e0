"""Job rows in the store: create, claim, update, read. States and what they mean."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from ..errors import NotFoundError
from ..store import decode_row, new_id, now

QUEUED, RUNNING, DONE, FAILED, CANCELLED, INTERRUPTED = (
    "queued", "running", "done", "failed", "cancelled", "interrupted")
ACTIVE = (QUEUED, RUNNING)
FINISHED = (DONE, FAILED, CANCELLED, INTERRUPTED)
MAX_LOG_CHARS = 20_000


@dataclass
class Job:
    """A unit of submitted work. ``result`` holds ids of what it produced (e.g. ``model_id``)."""

    id: str
    kind: str
    title: str
    state: str
    created_at: str
    params: dict = field(default_factory=dict)
    progress: float = 0.0
    eta_s: float | None = None
    message: str | None = None
    history: list = field(default_factory=list)
    log: str = ""
    result: dict = field(default_factory=dict)
    error: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    pid: int | None = None
    owner_pid: int | None = None
    cancel_requested: bool = False

    @property
    def active(self) -> bool:
        """True while queued or running."""
        return self.state in ACTIVE

    def to_dict(self) -> dict:
        """The job as a plain dict."""
        return asdict(self)

    @classmethod
    def from_row(cls, row) -> Job:
        """A job from its store row."""
        data = decode_row(row, params={}, history=[], result={})
        data["cancel_requested"] = bool(data["cancel_requested"])
        data["title"] = data["title"] or data["kind"]
        return cls(**data)


def create_job(store, kind: str, params: dict, title: str | None = None, owner_pid: int | None = None) -> Job:
    """Queue a job of ``kind`` with ``params``; returns it."""
    job_id = new_id("j")
    with store._tx() as con:
        con.execute("INSERT INTO jobs (id, kind, title, state, created_at, params, owner_pid) VALUES (?,?,?,?,?,?,?)",
                    (job_id, kind, title or kind, QUEUED, now(), json.dumps(params), owner_pid))
    return get_job(store, job_id)


def get_job(store, job_id: str) -> Job:
    """One job by id (an unknown id raises UnknownNameError)."""
    rows = store._query("SELECT * FROM jobs WHERE id = ?", (job_id,))
    if not rows:
        raise NotFoundError(f"No job {job_id!r} in {store.root}.")
    return Job.from_row(rows[0])


def list_jobs(store, states: tuple[str, ...] | None = None, limit: int = 200) -> list[Job]:
    """Jobs, newest first, optionally only those in ``states``, at most ``limit``."""
    sql, args = "SELECT * FROM jobs", []
    if states:
        sql += f" WHERE state IN ({','.join('?' * len(states))})"  # noqa: S608 - placeholders only
        args += list(states)
    rows = store._query(sql + " ORDER BY created_at DESC, rowid DESC LIMIT ?", (*args, limit))
    return [Job.from_row(r) for r in rows]


_UPDATABLE = {"state", "started_at", "finished_at", "progress", "eta_s", "message", "history", "result", "error",
              "pid", "owner_pid", "cancel_requested"}


def update_job(store, job_id: str, *, only_if_state: tuple[str, ...] | None = None, **fields) -> bool:
    """Set fields of a job; with ``only_if_state`` only when its state is one of those. True if a row changed."""
    bad = set(fields) - _UPDATABLE
    if bad:
        raise ValueError(f"Job fields {sorted(bad)} cannot be updated.")
    values = {k: json.dumps(v) if k in ("history", "result") else v for k, v in fields.items()}
    sql = f"UPDATE jobs SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?"  # noqa: S608 - whitelisted names
    args = [*values.values(), job_id]
    if only_if_state:
        sql += f" AND state IN ({','.join('?' * len(only_if_state))})"
        args += list(only_if_state)
    with store._tx() as con:
        return con.execute(sql, args).rowcount > 0


def append_log(store, job_id: str, line: str) -> None:
    """Append a timestamped line to a job's log (the log keeps its last MAX_LOG_CHARS characters)."""
    with store._tx() as con:
        con.execute("UPDATE jobs SET log = substr(coalesce(log, '') || ?, -?) WHERE id = ?",
                    (f"{now()}  {line.rstrip()}\n", MAX_LOG_CHARS, job_id))


def claim_next(store, pid_of_owner: int) -> Job | None:
    """Atomically move the oldest queued job to running, owned by ``pid_of_owner``."""
    with store._tx() as con:
        row = con.execute("SELECT id FROM jobs WHERE state = ? ORDER BY created_at, rowid LIMIT 1",
                          (QUEUED,)).fetchone()
        if row is None:
            return None
        con.execute("UPDATE jobs SET state = ?, started_at = ?, owner_pid = ? WHERE id = ?",
                    (RUNNING, now(), pid_of_owner, row["id"]))
    return get_job(store, row["id"])
