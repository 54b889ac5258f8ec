"""The house rules of the code, enforced: the pipeline's layers and the Keras
boundary (import-linter, contracts in pyproject.toml), and `patched`, the one
helper through which shapeguard changes Keras's classes.

Pure Python: nothing here imports Keras (import-linter reads source files).
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shapeguard._probe.patches import patched

REPO = Path(__file__).resolve().parents[1]
LINT = "from importlinter.cli import lint_imports; raise SystemExit(lint_imports(no_cache=True, no_logo=True))"


def lint(root: Path, env_path: Path | None = None) -> subprocess.CompletedProcess:
    env = None
    if env_path is not None:
        import os

        env = {**os.environ, "PYTHONPATH": str(env_path)}
    return subprocess.run([sys.executable, "-c", LINT], cwd=root, capture_output=True, text=True, timeout=300,
                          env=env)


def test_the_import_contracts_hold():
    done = lint(REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize("module, line, broken", [
    ("engine.py", "from keras.src import ops  # noqa", "keras.src"),
    ("report/text.py", "from ..explain import explain  # noqa", "shapeguard.report is not allowed to import shapeguard.explain"),
    ("_probe/patches.py", "from . import run  # noqa", "shapeguard._probe.patches is not allowed to import shapeguard._probe.run"),
])
def test_the_contracts_fail_on_a_violation(tmp_path, module, line, broken):
    shutil.copytree(REPO / "shapeguard", tmp_path / "shapeguard", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    with open(tmp_path / "shapeguard" / module, "a") as source:
        source.write("\n" + line + "\n")
    done = lint(tmp_path, env_path=tmp_path)
    assert done.returncode != 0
    assert broken in done.stdout


def _keras_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "keras":
            names |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            names |= {alias.asname or alias.name.split(".")[0] for alias in node.names
                      if alias.name.split(".")[0] == "keras"}
    return names


def test_no_module_outside_the_probe_changes_a_keras_object():
    """Assigning or deleting an attribute of anything imported from Keras, or
    ``setattr`` on it, happens only in shapeguard/_probe (through `patched`)."""
    offenders = []
    for path in sorted((REPO / "shapeguard").rglob("*.py")):
        if "_probe" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        keras_names = _keras_names(tree)
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
                targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            elif isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("setattr", "delattr") and node.args:
                targets = [ast.Attribute(value=node.args[0], attr="?")]
            for target in targets:
                base = target
                while isinstance(base, ast.Attribute):
                    base = base.value
                if isinstance(target, ast.Attribute) and isinstance(base, ast.Name) and base.id in keras_names:
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert offenders == []


class Owner:
    def method(self):
        return "original"


class Child(Owner):
    pass


def test_patched_restores_what_was_there_in_reverse_order():
    with patched((Owner, "method", lambda self: "outer")):
        with patched((Owner, "method", lambda self: "inner"), (Owner, "extra", 1)):
            assert Owner().method() == "inner" and Owner.extra == 1
        assert Owner().method() == "outer" and not hasattr(Owner, "extra")
    assert Owner().method() == "original"


def test_patched_deletes_what_was_only_inherited():
    with patched((Child, "method", lambda self: "child")):
        assert Child().method() == "child"
    assert "method" not in vars(Child) and Child().method() == "original"


def test_patched_ends_right_whatever_the_order_contexts_end_in():
    """An outer patch that ends before an inner one (contexts left out of
    order) hands the inner one what to restore: Keras ends as it began."""
    outer = patched((Owner, "method", lambda self: "outer"))
    inner = patched((Owner, "method", lambda self: "inner"))
    outer.__enter__()
    inner.__enter__()
    outer.__exit__(None, None, None)
    assert Owner().method() == "inner"  # the inner patch is still on
    inner.__exit__(None, None, None)
    assert Owner().method() == "original"


def test_patched_restores_when_the_block_raises():
    with pytest.raises(RuntimeError):
        with patched((Owner, "method", lambda self: "patched")):
            raise RuntimeError
    assert Owner().method() == "original"
