"""The plugin's tests run in fmaudit's own suite (its pyproject's testpaths) and on their own: each uses a store of
its own, one torch thread, and installs the plugin into a folder of its own when it needs it installed."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("FMAUDIT_HOME", tempfile.mkdtemp(prefix="fmaudit-plugin-test-home-"))
os.environ.setdefault("FMAUDIT_THREADS", "1")
os.environ["HF_HUB_OFFLINE"] = "1"

PLUGIN = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def installed(tmp_path_factory) -> Path:
    """The plugin installed (pip, no network, no build isolation) into a folder of its own, as a user would."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--no-build-isolation",
                    "--target", str(target), str(PLUGIN)], check=True, capture_output=True)
    return target


def reset_registry() -> None:
    """Forget the plugins found so far (entry points are read again on the next ``load_audits``)."""
    from audits import _registry

    _registry._PLUGINS.clear()
    _registry._loaded.clear()
    for name in [n for n, s in _registry.AUDITS.items() if s.source.startswith("entry point")]:
        del _registry.AUDITS[name]


@pytest.fixture
def on_path(installed, monkeypatch):
    """The installed plugin visible to this process and to the job workers it starts; forgotten afterwards."""
    monkeypatch.syspath_prepend(str(installed))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(installed), os.environ.get("PYTHONPATH")])))
    reset_registry()
    yield installed
    reset_registry()


def fmaudit(home, *args, env_path=None, check=True):
    """``fmaudit ARGS`` in a subprocess on the store at ``home``, with ``env_path`` on PYTHONPATH when given."""
    env = {**os.environ, "FMAUDIT_HOME": str(home), "FMAUDIT_THREADS": "1"}
    env.pop("PYTHONPATH", None)
    if env_path:
        env["PYTHONPATH"] = str(env_path)
    proc = subprocess.run([sys.executable, "-m", "fmaudit", *args], capture_output=True, text=True, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"fmaudit {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc
