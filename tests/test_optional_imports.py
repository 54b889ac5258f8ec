"""The checking process skips two optional imports a shape check never uses
(shapeguard/_optional_imports.py): only for the importer named, as if the
package were absent, and only where that importer imports it optionally."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import pytest

from shapeguard._optional_imports import SKIPPED, SkipOptional


@pytest.fixture
def package(tmp_path, monkeypatch):
    (tmp_path / "optional_pkg_for_test").mkdir()
    (tmp_path / "optional_pkg_for_test" / "__init__.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    finder = SkipOptional(frozenset({("keras_like_importer", "optional_pkg_for_test")}))
    sys.meta_path.insert(0, finder)
    yield "optional_pkg_for_test"
    sys.meta_path.remove(finder)
    for name in [n for n in sys.modules if n.startswith("optional_pkg_for_test")]:
        del sys.modules[name]


def _import_from(importer: str, package: str):
    scope = {"__name__": importer}
    exec(f"try:\n    import {package} as found\nexcept ImportError:\n    found = None\n", scope)
    return scope["found"]


def test_the_named_importer_is_told_the_package_is_absent(package):
    assert _import_from("keras_like_importer", package) is None


def test_any_other_importer_gets_the_package(package):
    assert _import_from("my_block", package).VALUE == 1
    assert _import_from("keras_like_importer.other", package).VALUE == 1


@pytest.mark.parametrize("importer, package", sorted(SKIPPED))
def test_each_skipped_import_is_optional_in_the_installed_version(importer, package):
    """Skipping a package its importer needs would break the check: each pair
    is an import inside ``try: ... except ImportError`` in the installed code."""
    top, _, rest = importer.partition(".")
    spec = importlib.util.find_spec(top)  # a top-level name: found without importing it (fast lane)
    path = Path(spec.origin).parent.joinpath(*rest.split(".")).with_suffix(".py") if spec else None
    if path is None or not path.exists():
        pytest.skip(f"{importer} is not installed")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imports = [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
               and any((alias.name if isinstance(node, ast.Import) else node.module or "").partition(".")[0]
                       == package for alias in node.names)]
    assert imports, f"{importer} no longer imports {package}"
    guarded = {id(inner) for node in ast.walk(tree) if isinstance(node, ast.Try)
               and any(isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
                       or h.type is None for h in node.handlers)
               for inner in ast.walk(ast.Module(body=node.body, type_ignores=[]))}
    assert all(id(node) in guarded for node in imports), f"{importer} imports {package} outside a try"
