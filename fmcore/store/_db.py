"""The store: SQLite (WAL) for records, a folder of artifacts per model, atomic writes."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import secrets
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from .. import config as _config
from ..errors import FmauditError, NotFoundError
from ._files import resolve_stored, sweep_temporaries, temp_name
from ._records import ModelRecord, RunRecord
from ._trail import TRAIL_SCHEMA, append_event, content_hash, verify_trail, write_head

SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, model TEXT NOT NULL, dataset TEXT NOT NULL,
    created_at TEXT NOT NULL, path TEXT NOT NULL, sha256 TEXT NOT NULL, size_bytes INTEGER NOT NULL,
    n_params INTEGER NOT NULL, parent_id TEXT REFERENCES models(id), derivation TEXT, config TEXT,
    metrics TEXT, run_id TEXT, manifest TEXT, manifest_sha256 TEXT);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL,
    config TEXT, history TEXT, model_id TEXT, finished_at TEXT, error TEXT);
CREATE TABLE IF NOT EXISTS audits (
    id TEXT PRIMARY KEY, model_id TEXT NOT NULL, name TEXT NOT NULL, created_at TEXT NOT NULL,
    params TEXT, result TEXT);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, title TEXT, state TEXT NOT NULL, created_at TEXT NOT NULL,
    started_at TEXT, finished_at TEXT, params TEXT, progress REAL DEFAULT 0, eta_s REAL, message TEXT,
    history TEXT DEFAULT '[]', log TEXT DEFAULT '', result TEXT, error TEXT, pid INTEGER, owner_pid INTEGER,
    cancel_requested INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS datasets (
    name TEXT PRIMARY KEY, path TEXT NOT NULL, label TEXT NOT NULL, sensitive TEXT, text TEXT,
    drop_columns TEXT, min_group_size INTEGER, sha256 TEXT NOT NULL, rows INTEGER, created_at TEXT NOT NULL);
"""
STALE_TMP_SECONDS = 3600


def now() -> str:
    """The time now in UTC, ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_id(prefix: str) -> str:
    """A new random id with ``prefix`` (``m-1a2b3c4d``)."""
    return f"{prefix}-{secrets.token_hex(4)}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


#: files that define a model besides its ``*.safetensors`` weights (hashed with them)
DEFINING_FILES = ("rules.json", "model.skops", "model.onnx", "predictions.csv")


def _weights_digest(folder: Path) -> tuple[str, int]:
    """sha256 over a model folder's weights (and rule files), and their size in bytes."""
    weights = sorted(p for p in folder.rglob("*") if p.is_file()
                     and (p.suffix == ".safetensors" or p.name in DEFINING_FILES))
    sha = _sha256(weights[0]) if len(weights) == 1 else hashlib.sha256(
        "".join(_sha256(p) for p in weights).encode()).hexdigest()
    return sha, sum(p.stat().st_size for p in weights)


_HASHES: dict[tuple, str] = {}


def _sha256_cached(path: Path) -> str:
    """``_sha256`` remembered for this process by the file's device, inode, size, mtime and ctime: any write to the
    file changes its ctime, which no user can set back, so a changed file is always hashed again. For pages that
    show many models' states; loading a model for an audit, a report or a sign-off hashes afresh."""
    st = path.stat()
    key = (str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    if key not in _HASHES:
        if len(_HASHES) > 4096:
            _HASHES.clear()
        _HASHES[key] = _sha256(path)
    return _HASHES[key]


def manifest_of(folder: str | Path, cached: bool = False) -> dict[str, str]:
    """Every file of a model folder (weights, configs, preprocessing, tokenizer, metadata: every byte a loader may
    read) by its path relative to the folder, with its sha256. A link is refused: it could point anywhere."""
    folder = Path(folder)
    digest = _sha256_cached if cached else _sha256
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_symlink():
            raise ModelIntegrityError([f"{p.relative_to(folder)} is a symbolic link; a model folder holds files"])
        if p.is_file():
            out[p.relative_to(folder).as_posix()] = digest(p)
    return out


def manifest_problems(folder: str | Path, manifest: dict[str, str], cached: bool = False) -> list[str]:
    """What differs between the files in ``folder`` and ``manifest``, file by file, in words; empty when equal."""
    try:
        now_ = manifest_of(folder, cached)
    except ModelIntegrityError as exc:
        return exc.problems
    problems = [f"{name} was modified on disk (sha256 {now_[name][:12]}..., registered {manifest[name][:12]}...)"
                for name in sorted(manifest) if name in now_ and now_[name] != manifest[name]]
    problems += [f"{name} is missing" for name in sorted(manifest) if name not in now_]
    problems += [f"{name} was added after registration" for name in sorted(now_) if name not in manifest]
    return problems


class ModelIntegrityError(FmauditError):
    """A model's files on disk are not the ones it was registered with: it is not loaded (exit 2)."""

    def __init__(self, problems: list[str], model_id: str | None = None):
        self.problems, self.model_id = list(problems), model_id
        who = f"Model {model_id}" if model_id else "The model"
        super().__init__(f"{who} does not match its registered manifest: " + "; ".join(self.problems)
                         + ". It is not used: restore its files from a backup, or register it again.")


DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO}


def _on_disk(exc: BaseException) -> bool:
    """True for a failure of the disk itself (full, read-only, failing), from the file system or from SQLite."""
    if isinstance(exc, sqlite3.OperationalError):
        return any(word in str(exc) for word in ("full", "I/O", "readonly", "read-only"))
    return isinstance(exc, OSError) and exc.errno in DISK_ERRORS


class StoreUnwritable(FmauditError):
    """The store's disk refused a write (full, read-only, failing): the message names the path and what to free."""


def _add_columns(con: sqlite3.Connection, table: str, columns: tuple[str, ...]) -> None:
    """Add the TEXT ``columns`` a store written by an older version lacks (another process may add them first)."""
    have = {r[1] for r in con.execute(f"PRAGMA table_info({table})")}
    for column in columns:
        if column not in have:
            with contextlib.suppress(sqlite3.OperationalError):  # "duplicate column": someone else was first
                con.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")


def writes(method):
    """Marks a method of ``Store`` that changes the store. Who may call these is declared once
    (``fmcore.security.PERMISSIONS["write"]``); the dashboard's gate, the command line and the job worker all ask
    ``Store.WRITES`` and that declaration."""
    method.changes_store = True
    return method


class Store:
    """Runs, models (with lineage), audits, jobs and user datasets under one folder.

    Parameters
    ----------
    root : folder to keep everything in; default ``$FMAUDIT_HOME`` (``~/.fmaudit``).

    Every write is a transaction; model artifacts are written to a temporary folder and renamed
    into place before the row that points at them is committed, so a crash never leaves a
    registered model without its files. Paths are stored relative to ``root``, so a copied or moved
    store keeps working on its own files (stores written before are migrated when opened).
    """

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root else _config.home()
        self.root.mkdir(parents=True, exist_ok=True)
        self.db_path = self.root / "fmaudit.db"
        self.models_dir = self.root / "artifacts" / "models"
        self.data_dir = self.root / "artifacts" / "datasets"
        for d in (self.models_dir, self.data_dir):
            d.mkdir(parents=True, exist_ok=True)
        self._sweep_temporaries()  # first: leftovers of dead writers are what fills a disk
        try:
            con = self._connect()
            try:
                con.executescript(SCHEMA + TRAIL_SCHEMA)  # IF NOT EXISTS: safe to run from many processes
                _add_columns(con, "models", ("manifest", "manifest_sha256"))
            finally:
                con.close()
            self._migrate_paths()
        except (sqlite3.OperationalError, OSError) as exc:
            if not self._readable():
                raise self._unwritable(exc) from None
            # a full disk: the store still opens for reading; each write says what to free

    # -- plumbing ------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("PRAGMA foreign_keys=ON")
        return con

    def _readable(self) -> bool:
        try:
            con = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=5)
            try:
                con.execute("SELECT count(*) FROM events").fetchone()
            finally:
                con.close()
            return True
        except sqlite3.Error:
            return False

    def _unwritable(self, exc: BaseException) -> StoreUnwritable:
        """The error for a write that failed on the disk: the path, the free space, what to free."""
        try:
            free = f"{shutil.disk_usage(self.root).free / 2**20:.0f} MB free"
        except OSError:
            free = "free space unknown"
        return StoreUnwritable(
            f"The store at {self.root} cannot be written ({exc}; {free}). Free space on that disk: old report "
            f"versions under {self.root / 'reports'}, models you no longer need (fmaudit models; the Models page), "
            "other files on the same disk; then try again. Reading the store still works.")

    @contextlib.contextmanager
    def _tx(self):
        try:
            con = self._connect()
        except sqlite3.OperationalError as exc:
            raise self._unwritable(exc) from None
        try:
            con.execute("BEGIN IMMEDIATE")
            yield con
            con.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                con.execute("ROLLBACK")
            if _on_disk(exc):
                raise self._unwritable(exc) from None
            raise
        finally:
            con.close()

    def _query(self, sql: str, args=()) -> list[sqlite3.Row]:
        con = self._connect()
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def _relative(self, path: str | Path) -> str:
        """``path`` as stored: relative to the store's root (POSIX separators)."""
        return Path(path).resolve().relative_to(self.root.resolve()).as_posix()

    def _absolute(self, stored: str) -> str:
        """A stored path on this machine (see ``resolve_stored``)."""
        return str(resolve_stored(self.root, stored))

    def _migrate_paths(self) -> None:
        """Rewrite absolute model and dataset paths as paths relative to this root (once, when first opened)."""
        for table, key in (("models", "id"), ("datasets", "name")):
            rows = self._query(f"SELECT {key}, path FROM {table} WHERE path LIKE '/%' OR path LIKE '_:%'")  # noqa: S608
            if not rows:
                continue
            with self._tx() as con:
                for r in rows:
                    local = Path(self._absolute(r["path"]))
                    if local.is_relative_to(self.root):
                        con.execute(f"UPDATE {table} SET path = ? WHERE {key} = ?",  # noqa: S608
                                    (self._relative(local), r[key]))

    def _model(self, row) -> ModelRecord:
        record = ModelRecord.from_row(row)
        record.path = self._absolute(record.path)
        return record

    def _inside(self, path: str | Path) -> bool:
        """True when ``path`` lies inside this store's root: the only place the store ever deletes."""
        return Path(path).resolve().is_relative_to(self.root.resolve())

    def _sweep_temporaries(self) -> None:
        """Remove temporary files and folders of any kind left by writers that died (a killed import, a failed
        upload), anywhere under the store; those of live writers only when older than an hour."""
        sweep_temporaries(self.root, STALE_TMP_SECONDS)

    # -- models --------------------------------------------------------------------------------
    @writes
    def register_model(self, classifier, *, dataset: str, name: str | None = None, metrics: dict | None = None,
                       config: dict | None = None, parent_id: str | None = None, derivation: dict | None = None,
                       run_id: str | None = None, extra_json: dict | None = None) -> ModelRecord:
        """Save ``classifier``'s artifacts and register it; returns the new record."""
        from ..security import check_name

        if name is not None:
            check_name(name, "model name")
        if parent_id is not None:
            self.get_model(parent_id)
        model_id = new_id("m")
        tmp = self.models_dir / temp_name(model_id)
        final = self.models_dir / model_id
        tmp.mkdir()
        try:
            classifier.save(tmp)
            for fname, payload in {"metrics.json": metrics or {}, **(extra_json or {})}.items():
                (tmp / fname).write_text(json.dumps(payload, indent=2))
            sha, size = _weights_digest(tmp)
            manifest = manifest_of(tmp)
            os.replace(tmp, final)
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if _on_disk(exc):
                raise self._unwritable(exc) from None
            raise
        record = ModelRecord(
            id=model_id, name=name or f"{classifier.model}-{dataset}-{model_id[2:6]}", model=classifier.model,
            dataset=dataset, created_at=now(), path=str(final), sha256=sha, size_bytes=size,
            n_params=classifier.n_params(), parent_id=parent_id, derivation=derivation or {},
            config=config or {}, metrics=metrics or {}, run_id=run_id, manifest=manifest,
            manifest_sha256=content_hash(manifest))
        row = {**record.to_dict(), "path": self._relative(final)}
        for key in ("derivation", "config", "metrics", "manifest"):
            row[key] = json.dumps(row[key])
        try:
            with self._tx() as con:
                # column names come from the ModelRecord dataclass, never from input
                con.execute(f"INSERT INTO models ({','.join(row)}) VALUES ({','.join('?' * len(row))})",  # noqa: S608
                            list(row.values()))
                head = append_event(con, record.created_at, "model.register", model_id, {
                    "model_id": model_id, "sha256": sha, "manifest_sha256": record.manifest_sha256,
                    "parent_id": parent_id, "dataset": dataset,
                    "how": (derivation or {}).get("how", "registered"), "name": record.name})
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise
        write_head(self.root, *head)
        return record

    @writes
    def annotate_metrics(self, model_id: str, key: str, value) -> None:
        """Add one entry to a model's metrics: facts known only once its files are written (e.g. sizes)."""
        with self._tx() as con:
            row = con.execute("SELECT metrics FROM models WHERE id = ?", (model_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"No model {model_id!r} in {self.root}.")
            metrics = json.loads(row["metrics"] or "{}")
            metrics[key] = value
            con.execute("UPDATE models SET metrics = ? WHERE id = ?", (json.dumps(metrics), model_id))

    def get_model(self, model_id: str) -> ModelRecord:
        """One model's record (an unknown id lists close ones)."""
        rows = self._query("SELECT * FROM models WHERE id = ?", (model_id,))
        if not rows:
            recent = [r["id"] for r in self._query("SELECT id FROM models ORDER BY created_at DESC LIMIT 5")]
            hint = f" Recent models: {', '.join(recent)}." if recent else " The store has no models yet."
            raise NotFoundError(f"No model {model_id!r} in {self.root}.{hint} List them with `fmaudit models`.")
        return self._model(rows[0])

    def list_models(self, dataset: str | None = None) -> list[ModelRecord]:
        """Model records, oldest first, optionally of one dataset."""
        sql, args = "SELECT * FROM models", ()
        if dataset:
            sql, args = sql + " WHERE dataset = ?", (dataset,)
        return [self._model(r) for r in self._query(sql + " ORDER BY created_at, rowid", args)]

    def children(self, model_id: str) -> list[ModelRecord]:
        """The models derived directly from ``model_id``."""
        rows = self._query("SELECT * FROM models WHERE parent_id = ? ORDER BY created_at", (model_id,))
        return [self._model(r) for r in rows]

    def lineage(self, model_id: str) -> list[ModelRecord]:
        """The model and its ancestors, the model first."""
        chain = [self.get_model(model_id)]
        while chain[-1].parent_id:
            chain.append(self.get_model(chain[-1].parent_id))
        return chain

    def family(self, model_id: str) -> list[tuple[ModelRecord, int]]:
        """Every model sharing ``model_id``'s root ancestor, with its depth below that root (root first)."""
        root = self.lineage(model_id)[-1]
        out, frontier = [(root, 0)], [(root, 0)]
        while frontier:
            record, depth = frontier.pop(0)
            for child in self.children(record.id):
                out.append((child, depth + 1))
                frontier.append((child, depth + 1))
        return out

    def load_model_dataset(self, model_id: str):
        """The dataset a model was trained on, split exactly as it was (its split seed), after checking that the data
        has not changed since: the file's sha256 and the test rows' fingerprint, where the model recorded them.

        Raises ``DataValidationError`` naming what changed; an audit never scores a model on other rows."""
        from ..data import load_dataset, split_fingerprint
        from ..errors import DataValidationError

        chain = self.lineage(model_id)
        record = chain[0]
        if record.derivation.get("how") == "predictions":  # the file is its own data: every row, as stored
            return self.load_classifier(record.id).dataset(record.dataset)
        origin = next((r.derivation for r in chain if r.derivation.get("dataset_sha256")), {})
        train_cfg = (record.config or {}).get("train") or {}
        seed = int(train_cfg.get("split_seed") or origin.get("split_seed") or 0)
        ds = load_dataset(record.dataset, seed=seed, store=self)
        problems = []
        if origin.get("dataset_sha256") and origin["dataset_sha256"] != ds.provenance.sha256:
            problems.append(f"the file of dataset {record.dataset!r} has changed since {record.id} was trained "
                            f"(sha256 {origin['dataset_sha256'][:12]}... then, {ds.provenance.sha256[:12]}... now)")
        if origin.get("test_sha256") and origin["test_sha256"] != split_fingerprint(ds["test"]):
            problems.append(f"the test rows of {record.dataset!r} (split seed {seed}) are not the ones {record.id} "
                            "was tested on")
        if problems:
            raise DataValidationError(problems + ["audit it on its own data: restore that dataset, or retrain"])
        return ds

    def load_classifier(self, model_id: str):
        """The stored model ready to predict, after checking every file it is loaded from (its own folder's and those
        of a model it builds on) against the registered manifest; ``ModelIntegrityError`` (exit 2) otherwise."""
        from ..models import Classifier

        record = self.check_model(model_id)
        return Classifier.load(record.path)

    def check_model(self, model_id: str) -> ModelRecord:
        """The model's record once its files, and those of any model its files point at (a LoRA adapter's base, a
        group-threshold model's scorer), are exactly the registered ones; ``ModelIntegrityError`` otherwise."""
        record = self.get_model(model_id)
        problems = self.weight_problems(model_id)
        if problems:
            raise ModelIntegrityError(problems, model_id)
        for base in self._bases(record):
            self.check_model(base)
        return record

    def _bases(self, record: ModelRecord) -> list[str]:
        """The ids of stored models whose folders ``record``'s metadata loads from (``base_rel``)."""
        try:
            meta = json.loads((Path(record.path) / "fmaudit.json").read_text())
        except (OSError, ValueError):
            return []
        rels = [meta.get("base_rel"), (meta.get("peft") or {}).get("base_rel")]
        out = []
        for rel in filter(None, rels):
            target = (Path(record.path) / rel).resolve()
            if target.parent != self.models_dir.resolve():
                raise ModelIntegrityError([f"its metadata loads from {rel}, which is not a model of this store"],
                                          record.id)
            out.append(target.name)
        return out

    def offers(self, model_id: str) -> frozenset:
        """What the stored model can give an audit, from its metadata (nothing is loaded): its kind says
        (``fmcore.models.offers_of``); a language model offers ``generates``."""
        from ..models import offers_of

        return offers_of(json.loads((Path(self.get_model(model_id).path) / "fmaudit.json").read_text()))

    def verify_model(self, model_id: str) -> bool:
        """True when every file of the model on disk is the registered one (see ``weight_problems``)."""
        return not self.weight_problems(model_id)

    def weight_problems(self, model_id: str, cached: bool = False) -> list[str]:
        """What is wrong with a model's files on disk, in words: a missing folder, or any file (weights, configs,
        preprocessing, tokenizer, metadata) changed, missing or added against the registered manifest, naming each;
        empty when intact. A model registered before manifests has only its weights checked. ``cached``: file hashes
        remembered by inode, size, mtime and ctime (for pages listing many models; see ``_sha256_cached``)."""
        record = self.get_model(model_id)
        folder = Path(record.path)
        if not self._inside(folder):
            return [f"its folder {folder} lies outside the store"]
        if not folder.is_dir():
            return [f"its folder {folder} is missing"]
        if record.manifest:
            if content_hash(record.manifest) != record.manifest_sha256:
                return ["its recorded manifest does not hash to its recorded manifest_sha256 (the record was edited)"]
            return manifest_problems(folder, record.manifest, cached)
        weights = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()
                         and (p.suffix == ".safetensors" or p.name in DEFINING_FILES))
        if not weights:
            return [f"no weight file (*.safetensors, model.skops, model.onnx) in {folder}"]
        if _weights_digest(folder)[0] != record.sha256:
            return [f"its weight files ({', '.join(weights)}) no longer hash to the registered sha256 "
                    f"{record.sha256[:12]}... (modified on disk)"]
        return []

    @writes
    def delete_model(self, model_id: str) -> None:
        """Delete a model and its artifacts; refused while other models name it as parent."""
        record = self.get_model(model_id)
        kids = self.children(model_id)
        if kids:
            raise NotFoundError(f"Model {model_id} is the parent of {', '.join(k.id for k in kids)}; "
                                "delete those first.")
        with self._tx() as con:
            gone = [r["id"] for r in con.execute("SELECT id FROM audits WHERE model_id = ?", (model_id,))]
            con.execute("DELETE FROM audits WHERE model_id = ?", (model_id,))
            con.execute("DELETE FROM models WHERE id = ?", (model_id,))
            head = append_event(con, now(), "model.delete", model_id, {
                "model_id": model_id, "sha256": record.sha256, "name": record.name, "audits_deleted": gone})
        write_head(self.root, *head)
        if self._inside(record.path):  # never delete outside this store's own folder
            shutil.rmtree(record.path, ignore_errors=True)

    @writes
    def backup(self, dest: str | Path) -> dict:
        """The whole store in one consistent archive (see ``_backup.backup``); logged in the trail."""
        from ._backup import backup

        info = backup(self, dest)
        self.log_event("store.backup", str(Path(dest).name), {"events": info["events"], "files": info["files"]})
        return info

    @writes
    def export_model(self, model_id: str, dest: str | Path, onnx: bool = False) -> Path:
        """Copy a model into ``dest`` as a folder that loads with plain torch or transformers (with ``onnx``, also
        as an ONNX graph); an imported model in its own format."""
        from ._export import export_model

        out = export_model(self, self.get_model(model_id), Path(dest), onnx=onnx)
        self.log_event("model.export", model_id, {"model_id": model_id, "dest": str(Path(dest).resolve())})
        return out

    @writes
    def import_model(self, folder: str | Path, dataset: str, name: str | None = None,
                     trust: tuple[str, ...] = (), control: str = "--trust TYPE") -> ModelRecord:
        """A user's model (a folder of safetensors + JSON, a transformers folder, a ``.skops`` or an ``.onnx`` file;
        never a pickle), tested on ``dataset``; ``trust`` names extra types a skops file may hold (an approver's
        decision, recorded in the trail); ``control`` names how the user trusts one where they are."""
        from ._import import import_model

        return import_model(self, folder, dataset, name, trust=tuple(trust), control=control)

    @writes
    def import_predictions(self, path: str | Path, label: str, prediction: str, score: str | None = None,
                           sensitive=(), positive: str | None = None, name: str | None = None) -> ModelRecord:
        """A file of predictions (CSV or Parquet) as a model audited on all its rows."""
        from ._import import import_predictions

        return import_predictions(self, Path(path), label, prediction, score, tuple(sensitive), positive, name)

    @writes
    def log_event(self, action: str, subject: str, details: dict) -> int:
        """Append one event to the hash-chained audit trail; returns its sequence number."""
        with self._tx() as con:
            head = append_event(con, now(), action, subject, details)
        write_head(self.root, *head)
        return head[0]

    def events(self, limit: int = 500) -> list[dict]:
        """The newest ``limit`` events of the audit trail, newest first."""
        rows = self._query("SELECT * FROM events ORDER BY seq DESC LIMIT ?", (limit,))
        return [{**dict(r), "details": json.loads(r["details"])} for r in rows]

    def events_like(self, pattern: str) -> list[dict]:
        """Every trail event whose action matches the SQL LIKE ``pattern`` (``review.%``), oldest first."""
        rows = self._query("SELECT * FROM events WHERE action LIKE ? ORDER BY seq", (pattern,))
        return [{**dict(r), "details": json.loads(r["details"])} for r in rows]

    def verify_trail(self, public_key=None, expect_head: tuple[int, str] | None = None) -> dict:
        """``{"ok", "events", "problems", "head", "seq", "head_signed"}``: the chain, its signed head, and every model,
        audit and uploaded dataset checked (see ``_trail.verify_trail``)."""
        return verify_trail(self, public_key, expect_head)

    @writes
    def sign_head(self) -> None:
        """Write the trail's head again, signed with the store's key (after ``fmaudit keys init``)."""
        last = self._query("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
        if last:
            write_head(self.root, last[0]["seq"], last[0]["hash"])

    # -- runs ----------------------------------------------------------------------------------
    @writes
    def create_run(self, kind: str, config: dict) -> str:
        """Record the start of a training run; returns its id."""
        run_id = new_id("r")
        with self._tx() as con:
            con.execute("INSERT INTO runs (id, kind, status, created_at, config, history) VALUES (?,?,?,?,?,?)",
                        (run_id, kind, "running", now(), json.dumps(config), "[]"))
        return run_id

    @writes
    def finish_run(self, run_id: str, status: str, history: list, model_id: str | None = None,
                   error: str | None = None) -> None:
        """Record a run's end: its status and what it produced."""
        with self._tx() as con:
            con.execute("UPDATE runs SET status=?, history=?, model_id=?, finished_at=?, error=? WHERE id=?",
                        (status, json.dumps(history), model_id, now(), error, run_id))

    def get_run(self, run_id: str) -> RunRecord:
        """One run's record."""
        rows = self._query("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise NotFoundError(f"No run {run_id!r} in {self.root}.")
        return RunRecord.from_row(rows[0])

    def list_runs(self) -> list[RunRecord]:
        """Every run, oldest first."""
        return [RunRecord.from_row(r) for r in self._query("SELECT * FROM runs ORDER BY created_at, rowid")]

    # -- audits --------------------------------------------------------------------------------
    @writes
    def add_audit(self, model_id: str, name: str, params: dict, result: dict) -> str:
        """Store an audit result of ``model_id`` (and log it in the trail); returns the audit id."""
        self.get_model(model_id)
        audit_id = new_id("a")
        created = now()
        # stored as canonical JSON round-tripped, so the hash below is of exactly what is read back
        result = json.loads(json.dumps(result))
        with self._tx() as con:
            con.execute("INSERT INTO audits (id, model_id, name, created_at, params, result) VALUES (?,?,?,?,?,?)",
                        (audit_id, model_id, name, created, json.dumps(params), json.dumps(result)))
            head = append_event(con, created, "audit.add", audit_id, {
                "audit_id": audit_id, "model_id": model_id, "name": name, "result_sha256": content_hash(result)})
        write_head(self.root, *head)
        return audit_id

    def latest_audits(self, model_id: str) -> dict[str, dict]:
        """The newest audit of each kind (``name``) of ``model_id``."""
        latest: dict[str, dict] = {}
        for a in self.list_audits(model_id):  # newest first
            latest.setdefault(a["name"], a)
        return latest

    def list_audits(self, model_id: str | None = None) -> list[dict]:
        """Audits, newest first, of one model or all."""
        sql, args = "SELECT * FROM audits", ()
        if model_id:
            sql, args = sql + " WHERE model_id = ?", (model_id,)
        rows = self._query(sql + " ORDER BY created_at DESC, rowid DESC", args)
        return [{**dict(r), "params": json.loads(r["params"]), "result": json.loads(r["result"])} for r in rows]

    # -- user datasets -------------------------------------------------------------------------
    @writes
    def add_dataset(self, path: str | Path, label: str, sensitive=(), *, name: str | None = None,
                    text: str | None = None, drop=(), min_group_size: int = 10) -> dict:
        """Validate a CSV and keep a copy under the store; nothing is written if it is refused."""
        from ..data import list_datasets, load_csv
        from ..security import check_name, safe_file_name

        path = Path(path)
        name = check_name(name or safe_file_name(path.stem, "dataset"), "dataset name")
        if name in {s.name for s in list_datasets()} or self.get_dataset(name) is not None:
            raise NotFoundError(f"A dataset named {name!r} exists already; choose another name.")
        ds = load_csv(path, label, tuple(sensitive), text=text, name=name, drop=tuple(drop),
                      min_group_size=min_group_size)
        tmp = self.data_dir / temp_name("dataset.csv")
        final = self.data_dir / f"{ds.provenance.sha256[:16]}-{path.name}"
        try:
            shutil.copyfile(path, tmp)
            os.replace(tmp, final)
        except OSError as exc:
            if _on_disk(exc):
                raise self._unwritable(exc) from None
            raise
        finally:
            tmp.unlink(missing_ok=True)
        record = {"name": name, "path": str(final), "label": label, "sensitive": list(sensitive), "text": text,
                  "drop": list(drop), "min_group_size": min_group_size, "sha256": ds.provenance.sha256,
                  "rows": ds.spec.rows, "created_at": now()}
        with self._tx() as con:
            con.execute("INSERT INTO datasets (name, path, label, sensitive, text, drop_columns, min_group_size, "
                        "sha256, rows, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                        (name, self._relative(final), label, json.dumps(list(sensitive)), text, json.dumps(list(drop)),
                         min_group_size, record["sha256"], record["rows"], record["created_at"]))
            head = append_event(con, record["created_at"], "dataset.add", name,
                                {"name": name, "sha256": record["sha256"], "rows": record["rows"]})
        write_head(self.root, *head)
        return {**record, "notes": list(ds.notes)}

    def dataset_file(self, name: str) -> Path:
        """The stored file of uploaded dataset ``name``, after checking that it lies inside the store and still hashes
        to the sha256 recorded when it was added; ``DataValidationError`` naming what is wrong otherwise."""
        from ..errors import DataValidationError

        record = self.get_dataset(name)
        if record is None:
            raise NotFoundError(f"No uploaded dataset {name!r} in {self.root}.")
        problems = self.dataset_problems(record)
        if problems:
            raise DataValidationError([f"dataset {name!r}: {p}" for p in problems]
                                      + ["it is not read: add the file again (fmaudit add-dataset) or restore it"])
        return Path(record["path"])

    def dataset_problems(self, record: dict) -> list[str]:
        """What is wrong with an uploaded dataset's stored file, in words: outside the store, missing, or changed."""
        path = Path(record["path"])
        if not self._inside(path):
            return [f"its file {path} lies outside the store"]
        if not path.is_file():
            return [f"its file {path.name} is missing"]
        if _sha256(path) != record["sha256"]:
            return [f"its file {path.name} no longer hashes to the recorded sha256 {record['sha256'][:12]}... "
                    "(modified on disk)"]
        return []

    def get_dataset(self, name: str) -> dict | None:
        """An uploaded dataset's record, or None."""
        rows = self._query("SELECT * FROM datasets WHERE name = ?", (name,))
        return self._dataset_row(rows[0]) if rows else None

    def list_datasets(self) -> list[dict]:
        """Every uploaded dataset's record."""
        return [self._dataset_row(r) for r in self._query("SELECT * FROM datasets ORDER BY created_at")]

    def _dataset_row(self, row) -> dict:
        data = dict(row)
        data["path"] = self._absolute(data["path"])
        data["sensitive"] = json.loads(data["sensitive"] or "[]")
        data["drop"] = json.loads(data.pop("drop_columns") or "[]")
        return data


#: the methods that change the store (marked ``@writes``): what a viewer may not call
Store.WRITES = frozenset(name for name, method in vars(Store).items() if getattr(method, "changes_store", False))
