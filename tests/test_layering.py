"""Layering: the engine and the audits never import streamlit; `import fmcore` stays light."""

import subprocess
import sys


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_fmcore_and_audits_do_not_import_streamlit():
    mods = _modules_after("import fmcore, fmcore.data, fmcore.models, fmcore.train, fmcore.store, fmcore.cli, audits\n"
                          "from fmcore import Store, TrainConfig, train_model")
    assert "fmcore.train" in mods
    assert "audits" in mods
    assert "streamlit" not in mods


def test_import_fmcore_is_lazy():
    mods = _modules_after("import fmcore")
    assert "torch" not in mods
    assert "pandas" not in mods


def test_cli_help_does_not_import_torch():
    mods = _modules_after("import fmcore.cli; fmcore.cli.build_parser()")
    assert "torch" not in mods
