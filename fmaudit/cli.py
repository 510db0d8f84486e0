"""The ``fmaudit`` command line: the same services as the dashboard, for scripts and CI.

Every command takes ``--json`` and then prints exactly one JSON document on stdout; progress and messages go
to stderr. Exit status: 0 success, 1 a policy check or verification failed, 2 a usage or input error.

The command table names each command's module without importing it: ``fmaudit --help`` loads argparse and
this file, and ``fmaudit train ...`` loads the training module only (so torch only when a command needs it).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sqlite3
import sys

# (command, module in this package holding add_<command>(parser) and cmd_<command>(args), one-line help)
COMMANDS = [
    ("datasets", "data", "list built-in and uploaded datasets"),
    ("train", "training", "train a model and register it"),
    ("finetune", "training", "fine-tune MiniLM (PEFT/full/probe) or transfer a CNN"),
    ("generate", "training", "continue a prompt with a language model (same seed, same text)"),
    ("audit", "audit", "run an audit of a stored model and keep its result"),
    ("calibrate", "derive", "temperature scaling: a new model with the original as parent, better calibrated"),
    ("augment-sweep", "derive", "train a baseline and augmented siblings (same seed) and audit each out of domain"),
    ("harden", "derive", "adversarial training: a new model with the original as parent"),
    ("mitigate", "derive", "fairness mitigation: a new model with the original as parent"),
    ("cleanse", "derive", "backdoor remedy: the same recipe retrained without the rows the backdoor audit flagged"),
    ("scan-data", "data", "de-identification check: identifiers and k-anonymity"),
    ("dp-sweep", "derive", "privacy-utility: train with DP-SGD at several epsilons and attack each model"),
    ("lm-remedies", "derive", "a language model's memorisation remedies: its recipe retrained with DP-SGD and on "
                              "de-identified texts, each audited for memorisation"),
    ("compress", "derive", "a compressed variant with the original as parent"),
    ("report", "evidence", "HTML, JSON and Markdown reports; exit 1 if a check fails"),
    ("verify", "evidence", "check a report's hash (and signature), or the audit trail"),
    ("review", "review", "the review of a model version: findings, risk acceptance, four-eyes sign-off"),
    ("diff", "evidence", "what changed between two reports or model versions: metrics beyond their intervals, "
                         "flipped checks"),
    ("reproduce", "evidence", "re-run every audit a report names and compare its numbers, one by one"),
    ("run", "evidence", "run a pipeline YAML headless: train, audits, report"),
    ("import-model", "models", "bring in a model: .skops, .onnx, or a folder (safetensors + JSON, transformers); "
                               "never a pickle"),
    ("import-predictions", "models", "a file of predictions (labels, predictions, scores, groups) as a model audited "
                                     "on all its rows"),
    ("user", "admin", "dashboard users: add NAME --role viewer|auditor|approver, or list"),
    ("models", "models", "list registered models"),
    ("show", "models", "one model: metrics, lineage, hashes, audits"),
    ("export", "models", "write a model folder that loads with plain torch"),
    ("add-dataset", "data", "validate a CSV and register it as a dataset"),
    ("keys", "admin", "the store's Ed25519 signing key: init, or show its id"),
    ("backup", "admin", "write the whole store to one archive (consistent while jobs run)"),
    ("restore", "admin", "unpack a backup into an empty store folder and verify it"),
    ("executor", "admin", "where sweeps run: connect and show CPUs and nodes"),
    ("dashboard", "admin", "start the web dashboard"),
]

#: commands that change the store (models, audits, datasets, filed reports): refused up front, before any work, when
#: the acting user (``FMAUDIT_USER``) may not write (``fmcore.security.PERMISSIONS``); the store's write methods
#: (``Store.WRITES``) are what they call
WRITES = {"train", "finetune", "audit", "calibrate", "augment-sweep", "harden", "mitigate", "cleanse", "dp-sweep",
          "lm-remedies", "compress", "report", "run", "import-model", "import-predictions", "add-dataset"}


def build_parser(only: str | None = None, everything: bool = True) -> argparse.ArgumentParser:
    """The parser; each command's own arguments are added (importing its module) when ``everything`` or when it
    is ``only``."""
    from ._common import common_options

    common = common_options()
    parser = argparse.ArgumentParser(prog="fmaudit", description="Responsible-AI audits from the command line.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module, help_ in COMMANDS:
        p = sub.add_parser(name, parents=[common], help=help_)
        if everything or name == only:
            mod = importlib.import_module(f"{__package__}.{module}")
            fname = name.replace("-", "_")
            getattr(mod, f"add_{fname}")(p)
            p.set_defaults(func=getattr(mod, f"cmd_{fname}"))
    return parser


def _command_in(argv: list[str]) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    from fmcore.errors import FmauditError

    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(only=_command_in(argv), everything=False).parse_args(argv)
    # environment, so that the dashboard's job workers inherit the choice too
    if getattr(args, "executor", None):
        os.environ["FMAUDIT_EXECUTOR"] = args.executor
    if getattr(args, "ray_address", None):
        os.environ["FMAUDIT_RAY_ADDRESS"] = args.ray_address
    try:
        if args.command in WRITES:  # roles hold in the CLI too: a viewer changes nothing
            from fmcore.security import require
            from fmcore.store import actor

            require(actor(), "write", f"fmaudit {args.command}", args.home)
        return args.func(args)
    except FmauditError as exc:
        return _fail(args, str(exc), exc)
    except OSError as exc:  # disk full, permissions, a vanished file: say what and where, no traceback
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        return _fail(args, f"{exc.strerror or exc}{where}", exc)
    except sqlite3.Error as exc:  # the store's database: locked for too long, damaged, or on a failing disk
        from fmcore.config import home

        return _fail(args, f"the store's database at {args.home or home()} failed: {exc}", exc)


def _fail(args, message: str, exc: BaseException) -> int:
    """Exit status 2 with the message on stderr (and as the one JSON document with --json)."""
    if getattr(args, "json", False):
        json.dump({"error": message, "type": type(exc).__name__}, sys.stdout)
        sys.stdout.write("\n")
    print(f"error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
