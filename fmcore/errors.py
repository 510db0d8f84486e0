"""Errors that fmaudit raises on purpose; each message says what was wrong and what to do."""

from __future__ import annotations

import difflib


class FmauditError(Exception):
    """Base class: an error a user can act on (the CLI prints it without a traceback)."""


class JobCancelled(FmauditError):
    """Raised inside a job function or a sweep task to stop because the user cancelled."""


class UnknownNameError(FmauditError, KeyError):
    """A dataset, model, attack or audit name that is not registered."""

    def __init__(self, kind: str, name: str, available: list[str]):
        self.kind, self.name, self.available = kind, name, sorted(available)
        close = difflib.get_close_matches(name, self.available, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        super().__init__(f"Unknown {kind} {name!r}. Available: {', '.join(self.available)}.{hint}")

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class DataValidationError(FmauditError, ValueError):
    """A dataset (usually a user's CSV) that cannot be used as given."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("The data cannot be used: " + "; ".join(self.problems))


class NotFoundError(FmauditError, LookupError):
    """An id that is not in the store."""


class ConfigError(FmauditError, ValueError):
    """A setting that is unknown or out of range."""
