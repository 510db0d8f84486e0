"""``fmaudit audit NAME``: run an audit of a stored model and keep its result."""

from __future__ import annotations

from . import _common as c


def add_audit(p) -> None:
    import argparse

    from audits import load_audits, shared_flags

    specs = dict(sorted(load_audits().items()))
    p.add_argument("audit", choices=[*specs], help="the audit (installed plugins too: entry points of "
                                                                 "the group fmaudit.audits)")
    p.add_argument("--model", required=True, help="model id (see `fmaudit models`)")
    # every audit's options, generated from its options dataclass; audits that name an option alike share its flag,
    # and a flag left out keeps each audit's own default
    for flag, users in shared_flags(specs.values()).items():
        if f"--{flag}" in p._option_string_actions:  # --model, --json, ...: the command's own
            continue
        text = "; ".join(f"{spec.name}: {o.help or o.name}" + ("" if o.kind == "bool" else _default(o))
                         for spec, o in users)
        if all(o.kind == "bool" for _, o in users):
            p.add_argument(f"--{flag}", action=argparse.BooleanOptionalAction, default=None, help=_esc(text))
        else:
            kinds = {o.kind for _, o in users}
            p.add_argument(f"--{flag}", default=None, help=_esc(text),
                           metavar="|".join(map(str, users[0][1].choices)) if len(users) == 1 and users[0][1].choices
                           else ("LIST" if kinds <= {"floats", "ints", "strs"} else None))
        for spec, o in users:
            if o.switch and f"--{o.switch[0]}" not in p._option_string_actions:
                p.add_argument(f"--{o.switch[0]}", action="store_true", default=None,
                               help=_esc(f"{spec.name}: {o.switch[2]}"))


def _default(o) -> str:
    if o.default is None or o.default == []:
        return ""
    value = o.sep.join(map(str, o.default)) if isinstance(o.default, list) else o.default
    return f" (default {value})"


def _esc(text: str) -> str:
    return text.replace("%", "%%")  # argparse formats help with %


def cmd_audit(args) -> int:
    """Any audit by its spec: the options from its generated flags; its headline, scalar metrics and tables out."""
    import audits
    from audits.reporting import audit_summary, headline

    store = c.store(args)
    spec = audits.get_audit(args.audit)
    overrides = audits.given_options(spec, vars(args))
    audit_id, result = audits.run_stored_audit(store, args.audit, args.model, **overrides)
    record = store.get_model(result.model_id)
    summary = {"audit_id": audit_id, **audit_summary(result)}
    if spec.lines is not None:  # the audit's own text
        c.emit(args, summary, "\n".join(spec.lines(audit_id, result)))
        return 0
    lines = [f"{args.audit} audit {audit_id} of {record.id} ({record.dataset}): {headline(args.audit, result.metrics)}"]
    lines += [f"  {k}: {v}" for k, v in result.metrics.items() if not isinstance(v, list | dict) and "[" not in k]
    for table, rows in summary.items():
        if isinstance(rows, list) and rows and isinstance(rows[0], dict):
            lines.append(f"  {table}:")
            lines += ["    " + "  ".join(f"{k} {_short(v)}" for k, v in row.items() if not isinstance(v, list | dict))
                      for row in rows[:20]]
    lines += [f"  warning: {w}" for w in result.warnings]
    c.emit(args, summary, "\n".join(lines))
    return 0


def _short(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
