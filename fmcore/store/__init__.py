"""The store: SQLite records of runs, models, audits, jobs and user datasets, plus artifact files."""

from ._db import Store, new_id, now
from ._records import ModelRecord, RunRecord

__all__ = ["ModelRecord", "RunRecord", "Store", "new_id", "now"]
