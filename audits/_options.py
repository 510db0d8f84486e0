"""An audit's options, read from its options dataclass: each field's kind, default, help, choices, bounds and flag.

The command line's flags (``fmaudit audit``), the dashboard's option widgets and the check of given options are all
made from these descriptions, so none of them can drift from the audit's own defaults.

Field metadata an audit may set: ``help``; ``choices``; ``min`` and ``max``; ``flag`` (the command-line flag when it
differs from the field's name, e.g. ``samples`` for the backdoor audit's ``images``); ``sep`` (the separator of a
list on the command line, default a comma); ``zero_is_none`` (0 on the command line means "all", i.e. None);
``switch`` (``(flag, value, help)``: an extra on/off flag that sets the field to ``value``); ``cli`` (False keeps a
field off the command line); ``setting`` (False for an option that cannot change a number or a verdict, such as a
batch size: every other option is a setting, recorded with the result, shown beside its verdict, compared by
Compare and pinnable by a policy); ``keyed`` (True where the metric keys name the value, as ``robust_accuracy@0.1``
names its eps: Compare then compares the key, not the whole list).
"""

from __future__ import annotations

import types
import typing
from dataclasses import MISSING, dataclass, fields

from fmcore.errors import ConfigError

#: kinds of option: a scalar, or a list of scalars (``floats``, ``ints``, ``strs``)
_LISTS = {float: "floats", int: "ints", str: "strs"}


@dataclass(frozen=True)
class Option:
    """One option of one audit, as the command line and the dashboard see it."""
    name: str
    kind: str  # bool, int, float, str, floats, ints, strs
    default: object
    help: str
    choices: tuple | None
    minimum: float | None
    maximum: float | None
    flag: str
    sep: str
    zero_is_none: bool
    switch: tuple | None
    cli: bool
    setting: bool = True
    keyed: bool = False

    def parse(self, raw):
        """The option's value from a command-line string (lists split at ``sep``; a bool passes through)."""
        if raw is None or self.kind == "bool":
            return raw
        scalar = {"int": int, "float": float, "str": str}.get(self.kind) or {v: k for k, v in _LISTS.items()}[self.kind]
        try:
            if self.kind in _LISTS.values():
                return [scalar(v.strip()) for v in str(raw).split(self.sep) if v.strip()]
            value = scalar(raw)
        except ValueError:
            raise ConfigError(f"--{self.flag} takes {self.kind_words()}; got {raw!r}.") from None
        return None if self.zero_is_none and value == 0 else value

    def kind_words(self) -> str:
        """What the option takes, in words (for error messages)."""
        return {"int": "a whole number", "float": "a number", "str": "a word", "bool": "nothing",
                "floats": f"numbers separated by {self.sep!r}", "ints": f"whole numbers separated by {self.sep!r}",
                "strs": f"words separated by {self.sep!r}"}[self.kind]


def _kind(hint) -> str:
    """``int | None`` -> int; ``list[float] | None`` -> floats; anything else is read as a string."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    origin = typing.get_origin(hint)
    if origin in (list, tuple):
        return _LISTS.get(next(iter(typing.get_args(hint)), str), "strs")
    return {bool: "bool", int: "int", float: "float"}.get(hint, "str")


def options_of(spec) -> list[Option]:
    """Each option of ``spec`` (none when it declares no options dataclass)."""
    if spec.options is None:
        return []
    hints = typing.get_type_hints(spec.options)
    out = []
    for f in fields(spec.options):
        meta = f.metadata
        default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
        out.append(Option(f.name, _kind(hints[f.name]), default, meta.get("help", ""),
                          tuple(meta["choices"]) if meta.get("choices") else None, meta.get("min"), meta.get("max"),
                          meta.get("flag", f.name.replace("_", "-")), meta.get("sep", ","),
                          bool(meta.get("zero_is_none")), meta.get("switch"), meta.get("cli", True),
                          meta.get("setting", True), bool(meta.get("keyed"))))
    return out


def settings_of(spec, params: dict, keyed: bool = True) -> dict:
    """The options of ``spec`` that can change its numbers or verdict, as ``params`` recorded them (``keyed``:
    False leaves out those the metric keys name)."""
    return {o.name: params[o.name] for o in options_of(spec)
            if o.setting and o.name in params and (keyed or not o.keyed)}


def check_options(spec, params: dict) -> None:
    """An audit's options against its dataclass's field metadata (``min``, ``max``, ``choices``): every problem at
    once, as a ``ConfigError``."""
    problems = []
    for o in options_of(spec):
        value = params.get(o.name)
        if value is None:
            continue
        for v in value if isinstance(value, list | tuple) else [value]:
            if o.choices and v not in o.choices:
                problems.append(f"{o.name} must be one of {', '.join(map(str, o.choices))}; got {v!r}")
            if isinstance(v, int | float) and not isinstance(v, bool):
                if o.minimum is not None and v < o.minimum:
                    problems.append(f"{o.name} must be at least {o.minimum}; got {v}")
                if o.maximum is not None and v > o.maximum:
                    problems.append(f"{o.name} must be at most {o.maximum}; got {v}")
    if problems:
        raise ConfigError(f"The {spec.name} audit's options: " + "; ".join(problems) + ".")


def shared_flags(specs) -> dict[str, list[tuple[object, Option]]]:
    """Flag -> the audits' options it sets: audits that name an option alike share one flag (``--samples``)."""
    flags: dict[str, list] = {}
    for spec in specs:
        for o in options_of(spec):
            if o.cli:
                flags.setdefault(o.flag, []).append((spec, o))
    return flags


def describe_settings(settings: dict) -> str:
    """Settings in words: ``min group size 30, seed 0, eps 0.05/0.1``."""
    def show(v):
        return "/".join(map(str, v)) if isinstance(v, list | tuple) else "default" if v is None else str(v)

    return ", ".join(f"{k.replace('_', ' ')} {show(v)}" for k, v in settings.items())


def given_options(spec, values: dict) -> dict:
    """The options of ``spec`` a caller gave, from ``values`` (flag dest -> raw value or None, as argparse keeps
    them): a flag left out keeps the audit's own default."""
    out = {}
    for o in options_of(spec):
        if not o.cli:
            continue
        raw = values.get(o.flag.replace("-", "_"))
        if o.switch and values.get(o.switch[0].replace("-", "_")):
            out[o.name] = o.switch[1]
        elif raw is not None:
            out[o.name] = o.parse(raw)
    return out


def opt(default, help_: str = "", **meta):
    """A field of an options dataclass: its default (a list is copied per instance), help and metadata."""
    from copy import deepcopy
    from dataclasses import field

    if isinstance(default, list | dict):
        return field(default_factory=lambda: deepcopy(default), metadata={"help": help_, **meta})
    return field(default=default, metadata={"help": help_, **meta})
