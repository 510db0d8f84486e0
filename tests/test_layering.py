"""Layering: the engine and the audits never import streamlit; `import fmcore` stays light; the import contract
(command line and dashboard above audits above fmcore) holds and catches a violation hidden inside a function."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_fmcore_and_audits_do_not_import_streamlit():
    mods = _modules_after("import fmcore, fmcore.data, fmcore.models, fmcore.train, fmcore.store, audits\n"
                          "from fmcore import Store, TrainConfig, train_model")
    assert "fmcore.train" in mods
    assert "audits" in mods
    assert "streamlit" not in mods


def test_import_fmcore_is_lazy():
    mods = _modules_after("import fmcore")
    assert "torch" not in mods
    assert "pandas" not in mods


def test_cli_help_does_not_import_torch():
    mods = _modules_after("import fmaudit.cli; fmaudit.cli.build_parser(everything=False)")
    assert "torch" not in mods
    assert "audits" not in mods


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "lint-imports"
    return subprocess.run([str(exe), "--no-cache"], cwd=root, capture_output=True, text=True,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})


def test_import_contract_holds_and_catches_an_import_inside_a_function(tmp_path):
    if not (Path(sys.executable).parent / "lint-imports").exists():
        pytest.fail("import-linter is not installed: `make install` installs it from requirements/lock.txt")
    ok = _lint_imports(ROOT)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    for name in ("fmaudit", "dashboard", "audits", "fmcore"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with open(tmp_path / "fmcore" / "store" / "__init__.py", "a") as fh:
        fh.write("\n\ndef _reaches_up():\n    from audits import run_audit\n\n    return run_audit\n")
    broken = _lint_imports(tmp_path)
    assert broken.returncode == 1
    assert "fmcore.store -> audits" in broken.stdout


@pytest.mark.parametrize("package", ["audits", "fmcore"])
def test_no_import_cycles_between_subpackages(package):
    """No two subpackages (or top-level modules) of ``package`` import each other, directly or through others,
    counting imports inside functions (grimp, the graph import-linter checks)."""
    import grimp

    graph = grimp.build_graph(package, cache_dir=None)
    parts = sorted({m.split(".")[1] for m in graph.modules if m.count(".") >= 1})
    cycles = [(a, b) for a in parts for b in parts if a < b
              and graph.chain_exists(importer=f"{package}.{a}", imported=f"{package}.{b}", as_packages=True)
              and graph.chain_exists(importer=f"{package}.{b}", imported=f"{package}.{a}", as_packages=True)]
    assert cycles == []


def test_every_public_function_of_fmcore_and_audits_has_a_docstring():
    import ast

    undocumented = []
    for package in ("fmcore", "audits"):
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text())
            for node in tree.body:
                if isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_"):
                    if not ast.get_docstring(node):
                        undocumented.append(f"{path.relative_to(ROOT)}:{node.name}")
                    if isinstance(node, ast.ClassDef):
                        undocumented += [f"{path.relative_to(ROOT)}:{node.name}.{f.name}" for f in node.body
                                         if isinstance(f, ast.FunctionDef) and not f.name.startswith("_")
                                         and not ast.get_docstring(f)]
    assert undocumented == []


def test_no_function_over_a_hundred_lines():
    """Functions stay readable (the aim is ~80 lines; a hundred is the hard stop)."""
    import ast

    long = []
    for package in ("fmaudit", "dashboard", "audits", "fmcore"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno + 1 > 100:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert long == []


@pytest.mark.parametrize("package", ["fmcore", "audits"])
def test_no_import_cycles_between_modules_of_a_package(package):
    """No two modules of one (sub)package import each other, directly or through others, counting imports inside
    functions: a base never reaches into the kinds that extend it (they register themselves)."""
    import grimp

    graph = grimp.build_graph(package, cache_dir=None)
    cycles = sorted({tuple(sorted((a, b))) for a in graph.modules for b in graph.find_modules_directly_imported_by(a)
                     if a.rsplit(".", 1)[0] == b.rsplit(".", 1)[0] and graph.chain_exists(importer=b, imported=a)})
    assert cycles == []


def test_no_module_imports_another_packages_private_module():
    """``from fmcore.store._trail import ...`` in the dashboard is a private import: each package's public names are
    re-exported by its ``__init__``."""
    import re

    private = re.compile(r"^\s*(?:from|import) (fmcore|audits|dashboard|fmaudit)((?:\.\w+)*)\.(_\w+)", re.M)
    found = []
    for path in sorted(ROOT.glob("*/**/*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] not in ("fmcore", "audits", "dashboard", "fmaudit"):
            continue
        for m in private.finditer(path.read_text()):
            owner = ".".join([m.group(1), *filter(None, m.group(2).split("."))])
            here = ".".join(rel.with_suffix("").parts)
            if not here.startswith(owner + ".") and here != owner:  # a package's own modules may use its privates
                found.append(f"{rel}: {m.group(0).strip()}")
        # relative: ``from ..models._gpt import ...`` reaches into a sibling subpackage's private module
        found += [f"{rel}: {m.group(0).strip()}" for m in re.finditer(r"from \.\.+(\w+)\._\w+ import", path.read_text())
                  if m.group(1) != path.parent.name]
    assert found == []
