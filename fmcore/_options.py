"""Shared base for frozen option dataclasses: every field has a default and a help text."""

from __future__ import annotations

from dataclasses import asdict, field, fields

from .errors import ConfigError


def option(default, help: str):
    """A dataclass field with a default and the help text shown by the CLI and the dashboard."""
    return field(default=default, metadata={"help": help})


class Options:
    """Mixin for frozen dataclasses of options: ``to_dict``, ``from_dict`` (strict) and ``help``."""

    _kind = "option"

    def to_dict(self) -> dict:
        """The options as a plain dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict):
        """Options from a dict; an unknown key is refused with the known ones."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"Unknown {cls._kind}(s) {sorted(unknown)}; known: {sorted(known)}.")
        return cls(**data)

    @classmethod
    def help(cls) -> dict[str, str]:
        """Field name -> help text."""
        return {f.name: f.metadata["help"] for f in fields(cls)}
