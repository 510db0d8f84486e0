"""What every command shares: output (text or one JSON document), the store, progress bars, list parsing, and
flags generated from the engine's option dataclasses."""

from __future__ import annotations

import argparse
import json
import sys
import types
import typing
from dataclasses import MISSING, fields


def emit(args, payload, text: str) -> None:
    """Print ``payload`` as one JSON document with ``--json``, else ``text``."""
    if args.json:
        json.dump(payload, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(text)


def table(rows: list[list], headers: list[str]) -> str:
    """A plain-text table with a rule under the headers."""
    cells = [headers] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def store(args):
    """The store at ``--home`` (default ``$FMAUDIT_HOME`` or ``~/.fmaudit``)."""
    from fmcore.store import Store

    return Store(args.home)


def progress(args, epochs: int) -> tuple[list, list]:
    """A tqdm progress bar on stderr as a training callback (none with --quiet); returns (callbacks, bars)."""
    from fmcore.train import ProgressCallback

    callbacks, bars = [], []  # the bar is made on the first event: an error before training prints none
    if getattr(args, "quiet", False):
        return callbacks, bars
    from tqdm import tqdm

    def report(event: dict) -> None:
        if not bars:
            bars.append(tqdm(total=1.0, file=sys.stderr, bar_format="{l_bar}{bar}| {postfix}"))
        bar = bars[0]
        bar.n = round(event["fraction"], 4)
        extra = f"epoch {event['epoch']}/{epochs}"
        if event["kind"] == "epoch":
            row = event["metrics"]
            extra += f" loss {row['train_loss']:.4f} val_acc {row.get('val_accuracy', 0):.4f}"
        bar.set_postfix_str(extra)

    callbacks.append(ProgressCallback(report, interval=0.2))
    return callbacks, bars


def close_bars(bars: list) -> None:
    """Fill and close the progress bars ``progress`` made."""
    for bar in bars:
        bar.n = 1.0
        bar.close()


def floats(value: str) -> list[float]:
    """``"0.05,0.1"`` -> ``[0.05, 0.1]``, or a ConfigError naming the value."""
    from fmcore.errors import ConfigError

    try:
        return [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"Expected comma-separated numbers such as 0.05,0.1,0.2; got {value!r}.") from None


def csv_list(value: str | None) -> list[str]:
    """``"a, b"`` -> ``["a", "b"]``; None or empty -> ``[]``."""
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def common_options():
    """The options every command takes: --json, --home, --executor, --ray-address."""
    import argparse

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    common.add_argument("--home", default=None, help="store folder (default $FMAUDIT_HOME or ~/.fmaudit)")
    common.add_argument("--executor", choices=("local", "ray"), default=None,
                        help="where sweeps run: this process, or Ray tasks (default $FMAUDIT_EXECUTOR or local)")
    common.add_argument("--ray-address", default=None, metavar="ADDR",
                        help="an existing Ray cluster (auto, ray://head:10001, host:6379); default "
                             "$FMAUDIT_RAY_ADDRESS, else a private local instance")
    return common


def _plain_types(cls) -> dict[str, type]:
    """Each field's type without ``None``: ``int | None`` -> int; ``tuple[str, ...]`` -> tuple (postponed
    annotations resolved by ``typing.get_type_hints``)."""
    return {name: _plain_type(hint) for name, hint in typing.get_type_hints(cls).items()}


def _plain_type(annotation) -> type:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    return typing.get_origin(annotation) or annotation


def add_option_flags(parser, cls, rename: dict[str, str] | None = None,
                     extra: dict[str, dict] | None = None) -> dict[str, str]:
    """One flag per field of the option dataclass ``cls`` (type, default and help from the field), so the command
    line cannot drift from the engine's options. ``rename`` maps a field to its flag (without ``--``), ``extra``
    adds argparse keywords per field (choices, metavar, a CLI-only default or help).
    Returns field name -> argparse dest."""
    rename, extra, dests = rename or {}, extra or {}, {}
    kinds = _plain_types(cls)
    for f in fields(cls):
        flag = rename.get(f.name, f.name.replace("_", "-"))
        kind = kinds[f.name]
        default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
        kw = {"help": (f.metadata.get("help") or "").replace("%", "%%") or None}  # argparse formats help with %
        if kind is bool:  # a flag that is on by default can be turned off: --no-FLAG
            kw.update(action=argparse.BooleanOptionalAction if default else "store_true", default=bool(default))
        elif kind is tuple:
            kw.update(default=",".join(default) if default else None, metavar="A,B")
        else:
            kw.update(type=kind, default=default)
        if f.metadata.get("choices"):
            kw["choices"] = list(f.metadata["choices"])
        kw.update(extra.get(f.name, {}))
        action = parser.add_argument(f"--{flag}", **kw)
        dests[f.name] = action.dest
    return dests


def options_from_args(cls, args, dests: dict[str, str], zero_is_none: tuple[str, ...] = ()):
    """The option dataclass ``cls`` built from the parsed flags ``add_option_flags`` made (``zero_is_none``: fields
    where 0 on the command line means "all", i.e. None)."""
    values, kinds = {}, _plain_types(cls)
    for f in fields(cls):
        if f.name not in dests:
            continue
        value = getattr(args, dests[f.name])
        if kinds[f.name] is tuple and isinstance(value, str):
            value = tuple(csv_list(value))
        if f.name in zero_is_none and value == 0:
            value = None
        values[f.name] = value
    return cls(**values)
