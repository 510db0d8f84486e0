"""Process-wide settings: where the store lives, how many threads torch uses, seeding."""

from __future__ import annotations

import contextlib
import json
import os
import random
from pathlib import Path


def home() -> Path:
    """The fmaudit home folder (``$FMAUDIT_HOME``, default ``~/.fmaudit``), created on demand."""
    path = Path(os.environ.get("FMAUDIT_HOME", Path.home() / ".fmaudit")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_threads() -> int:
    """Torch threads when none are given: ``$FMAUDIT_THREADS``, else half the cores (at least 1).

    On small shared machines torch's default (all cores) collapses 10-100x as soon as another
    process takes a core, so we stay below the core count unless told otherwise.
    """
    env = os.environ.get("FMAUDIT_THREADS")
    if env:
        return max(1, int(env))
    return max(1, (os.cpu_count() or 2) // 2)


@contextlib.contextmanager
def numpy_seeded(seed: int):
    """numpy's global generator seeded with ``seed`` inside the block (for libraries that draw from it: SHAP,
    scikit-learn's KMeans in ART's activation clustering) and restored after it."""
    import numpy as np

    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def seed_everything(seed: int, threads: int | None = None) -> None:
    """Seed Python, numpy and torch, and fix torch's thread count, for repeatable runs."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    torch.set_num_threads(threads or default_threads())


MAX_YAML_BYTES = 1_000_000
MAX_NESTING = 32


def safe_yaml(text: str, source: str = "YAML", max_bytes: int = MAX_YAML_BYTES, max_depth: int = MAX_NESTING):
    """Parse a small YAML config safely: ``SafeLoader`` (no tags, no code), aliases refused (an alias bomb of a few
    hundred bytes expands to gigabytes), nesting and size bounded; every problem is a ``ConfigError``."""
    import yaml

    from .errors import ConfigError

    if len(text) > max_bytes:
        raise ConfigError(f"{source} is larger than {max_bytes // 1_000_000} MB; a config file is short.")

    class Loader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise ConfigError(f"{source} uses a YAML alias (*{event.anchor}, line {event.start_mark.line + 1}); "
                                  "aliases are refused here: write the value out.")
            self.depth += 1
            if self.depth > max_depth:
                raise ConfigError(f"{source} nests deeper than {max_depth} levels.")
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    try:
        return yaml.load(text, Loader=Loader)  # noqa: S506 - Loader derives from SafeLoader
    except ConfigError:
        raise
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source} is not valid YAML: {exc}") from None
    except (RecursionError, ValueError) as exc:  # e.g. an integer with thousands of digits
        raise ConfigError(f"{source} cannot be read: {exc}") from None


MAX_JSON_BYTES = 10_000_000


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number (a config holds finite numbers only)")


def read_json(path, what: str | None = None, max_bytes: int = MAX_JSON_BYTES):
    """A JSON config file, read defensively: size bounded, UTF-8, and every way it can be malformed (bad syntax,
    a number with thousands of digits, nesting deep enough to exhaust the stack) a ``ConfigError`` naming the
    file, never a traceback."""
    from .errors import ConfigError

    path = Path(path)
    what = what or path.name
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ConfigError(f"{what} is missing ({path}).") from None
    if size > max_bytes:
        raise ConfigError(f"{what} is {size / 2**20:.1f} MB; a config file is at most {max_bytes / 2**20:.0f} MB.")
    try:
        return json.loads(path.read_text(encoding="utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} is not UTF-8 text ({exc.reason} at byte {exc.start}).") from None
    except RecursionError:
        raise ConfigError(f"{what} nests too deeply to be a config file.") from None
    except ValueError as exc:  # JSONDecodeError, and integers longer than Python's digit limit
        raise ConfigError(f"{what} is not valid JSON: {exc}") from None
