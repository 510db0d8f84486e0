"""The store: SQLite records of runs, models, audits, jobs and user datasets, plus artifact files."""

from ._db import ModelIntegrityError, Store, manifest_of, new_id, now
from ._files import atomic_write, sweep_temporaries, temp_name
from ._records import ModelRecord, RunRecord, decode_row
from ._restore import restore
from ._trail import ACTOR, actor, content_hash

__all__ = ["ACTOR", "ModelIntegrityError", "ModelRecord", "RunRecord", "Store", "actor", "atomic_write",
           "content_hash", "decode_row", "manifest_of", "new_id", "now", "restore", "sweep_temporaries", "temp_name"]
