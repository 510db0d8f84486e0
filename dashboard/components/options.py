"""An audit option's widget, made from the audit's spec: its kind picks the widget, and its default, bounds, choices
and help come from the options dataclass, as the command line's flags do. A page may name its own label, a quicker
default or a narrower range, and keeps its layout; the More audits page builds whole forms from these."""

from __future__ import annotations

import streamlit as st

from audits import get_audit, options_of


def option_input(audit: str, name: str, key: str, *, where=None, label: str | None = None, default=None,
                 help: str | None = None, **widget):  # noqa: A002 - streamlit's own name for it
    """The widget for option ``name`` of the audit ``audit`` in ``where`` (a column, a form; default the page),
    returning the option's value: a number box for a number (empty, None, where the option's default is None: "the
    audit decides"), a list parsed at its separator (a ``ConfigError`` when it does not parse), None for an empty
    text box. ``default``: the page's own default (None: the spec's). ``widget``: more arguments of the Streamlit
    widget (``step``, ``placeholder``, ...), over the spec's."""
    spec = get_audit(audit)
    o = next((o for o in options_of(spec) if o.name == name), None)
    if o is None:
        raise KeyError(f"The {audit} audit has no option {name!r}; options: {[x.name for x in options_of(spec)]}.")
    where = where or st
    label = label or o.name.replace("_", " ").capitalize()
    help_ = help or o.help or None
    value = o.default if default is None else default
    if o.choices and o.kind in ("floats", "ints", "strs"):
        return where.multiselect(label, list(o.choices), default=list(value or []), key=key, help=help_, **widget)
    if o.choices:
        choices = list(o.choices)
        return where.selectbox(label, choices, index=choices.index(value) if value in choices else 0, key=key,
                               help=help_, **widget)
    if o.kind == "bool":
        return where.checkbox(label, value=bool(value), key=key, help=help_, **widget)
    if o.kind in ("int", "float"):
        kind = int if o.kind == "int" else float
        bounds = {"min_value": None if o.minimum is None else kind(o.minimum),
                  "max_value": None if o.maximum is None else kind(o.maximum),
                  "step": 1 if kind is int else None, "format": None if kind is int else "%.4g",
                  "placeholder": "default" if value is None else None}
        got = where.number_input(label, value=None if value is None else kind(value), key=key, help=help_,
                                 **{**bounds, **widget})
        return None if got is None else kind(got)
    shown = o.sep.join(map(str, value)) if isinstance(value, list | tuple) else value
    text = where.text_input(label, value="" if shown is None else str(shown), key=key, help=help_, **widget)
    return o.parse(text) if text.strip() else None


def options_form(audit: str, prefix: str) -> dict:
    """Every option of the audit ``audit``, one widget each (keys ``{prefix}_{option}``): the generated form."""
    return {o.name: option_input(audit, o.name, f"{prefix}_{o.name}") for o in options_of(get_audit(audit))}
