"""Which definitions in a module's source build Keras, read with `ast` alone
(nothing is imported or run here): the candidates `_collect` makes blocks of
when a bare file, module or folder is checked (docs/reference/cli.md).

A function (at top level, or a method of a top-level class) is a candidate
when its body, nested functions and lambdas included (a factory's closure),
decorators and default values not, calls

* something under Keras's ``layers``, ``ops``, ``activations``, ``models`` or
  ``applications``, or ``keras.Model``, ``keras.Sequential``, ``keras.Input``,
  ``keras.Layer``, through a name bound by an import from ``keras``,
  ``tensorflow.keras`` (``tf.keras``) or ``tf_keras`` (``layers.Conv2D(...)``,
  ``keras.ops.add(...)``, ``Conv2D(...)`` from ``keras.layers``), or by a
  module-level assignment of one (``Dense = keras.layers.Dense``);
* or a candidate of the same module: a stage that calls a block, a builder that
  makes a Layer defined beside it, a method calling ``self.helper(...)``.

Calls of ``keras.backend``, ``keras.utils``, initializers and the like do not
make a function a block (they build no layer). A function whose body trains
or evaluates a model (calls ``.fit``, ``.evaluate``, ``.predict``...) is a
training routine, not a block builder, and so is one named ``main``: probing
them would train; pytest's test functions (``test*``, classes ``Test*``) are
tests, not blocks. Which classes are Layers is decided by `_collect` on the
imported class (a base may come from anywhere); here a class only reports the
methods that build.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

FUNCTION, CLASS, METHOD = "function", "class", "method"

# What a call must reach, below the canonical `keras` root, to build something.
_BUILDING_MODULES = frozenset({"layers", "ops", "activations", "models", "applications"})
_BUILDING_NAMES = frozenset({"Model", "Sequential", "Input", "Layer", "Functional"})
_TRAINING_METHODS = frozenset({"fit", "fit_generator", "evaluate", "evaluate_generator", "predict",
                               "predict_generator", "predict_on_batch", "train_on_batch", "test_on_batch"})
_NOT_BLOCKS = frozenset({"main", "_main"})


@dataclass(frozen=True)
class Definition:
    """A top-level function or class, or a method of a top-level class."""

    qualname: str  # "block", "ResidualBlock", "Blocks.wide"
    kind: str  # FUNCTION, CLASS or METHOD
    line: int
    builds: bool  # its body builds Keras (a class: one of its methods does)


def definitions(source: str) -> list[Definition]:
    """Every top-level function and class and every method of a top-level
    class in ``source``, in file order, each saying whether it builds Keras
    (module doc). A source that does not parse has none."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    aliases = _keras_aliases(tree)
    top = list(_top_level(tree.body))
    functions = {n.name: n for n in top if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    classes = {n.name: n for n in top if isinstance(n, ast.ClassDef)}
    methods = {name: {m.name: m for m in node.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}
               for name, node in classes.items()}

    building: set[str] = {name for name, node in classes.items() if any(_keras_path(b, aliases) for b in node.bases)}
    building_methods: dict[str, set[str]] = {name: set() for name in classes}
    changed = True
    while changed:  # a function calling a candidate is one: until nothing changes
        changed = False
        for name, node in functions.items():
            if name not in building and _builds(node, aliases, building):
                building.add(name)
                changed = True
        for cls, members in methods.items():
            for name, node in members.items():
                if name not in building_methods[cls] and _builds(node, aliases, building, cls,
                                                                  building_methods[cls]):
                    building_methods[cls].add(name)
                    changed = True
            if building_methods[cls] and cls not in building:
                building.add(cls)
                changed = True

    found = []
    for node in top:
        if isinstance(node, ast.ClassDef):
            if node.name.startswith("Test"):  # a pytest test class
                continue
            found.append(Definition(node.name, CLASS, node.lineno, node.name in building))
            for name, member in methods[node.name].items():
                if member is not node and name in building_methods[node.name]:
                    found.append(Definition(f"{node.name}.{name}", METHOD, member.lineno,
                                            not _excluded(member)))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append(Definition(node.name, FUNCTION, node.lineno,
                                    node.name in building and not _excluded(node)))
    return found


def _top_level(body: list):
    """The statements of the module's top level, inside ``if``/``try``/``with`` too."""
    for node in body:
        if isinstance(node, (ast.If, ast.With, ast.AsyncWith)):
            yield from _top_level(node.body)
            yield from _top_level(getattr(node, "orelse", []))
        elif isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            for part in (node.body, *(h.body for h in node.handlers), node.orelse, node.finalbody):
                yield from _top_level(part)
        else:
            yield node


def _excluded(node) -> bool:
    """A training routine, ``main``, or a pytest test: not a block (module doc)."""
    if node.name in _NOT_BLOCKS or node.name.startswith("test"):
        return True
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in _TRAINING_METHODS
               for n in _body_nodes(node))


def _body_nodes(node):
    for statement in node.body:
        yield from ast.walk(statement)


def _builds(node, aliases: dict, local: set, cls: str | None = None, own: set = frozenset()) -> bool:
    """Whether a function's body calls Keras's builders or a local candidate."""
    for n in _body_nodes(node):
        if not isinstance(n, ast.Call):
            continue
        chain = _chain(n.func)
        if chain is None:
            continue
        if chain[0] in aliases and _is_building(_canonical(aliases[chain[0]] + chain[1:])):
            return True
        if len(chain) == 1 and chain[0] in local and chain[0] != getattr(node, "name", None):
            return True
        if cls is not None and len(chain) == 2 and chain[0] in ("self", "cls", cls) and chain[1] in own:
            return True
    return False


def _keras_path(node, aliases: dict) -> bool:
    """A base class expression reaching into Keras (``layers.Layer``, ``keras.Model``)."""
    chain = _chain(node)
    return chain is not None and chain[0] in aliases and _canonical(aliases[chain[0]] + chain[1:]) is not None


def _chain(node) -> list[str] | None:
    """``keras.layers.Dense`` -> ``["keras", "layers", "Dense"]``; None for anything but a dotted name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return parts[::-1]


def _keras_aliases(tree: ast.Module) -> dict[str, list[str]]:
    """Local name -> the dotted path it was imported as, for every import of
    something under Keras (anywhere in the file), and module-level
    assignments of one (``L = keras.layers``)."""
    aliases: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                path = alias.name.split(".")
                if alias.asname:
                    aliases[alias.asname] = path
                else:
                    aliases[path[0]] = path[:1]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name != "*":
                    aliases[alias.asname or alias.name] = [*node.module.split("."), alias.name]
    aliases = {name: path for name, path in aliases.items() if _under_keras(path)}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            chain = _chain(node.value)
            if chain is not None and chain[0] in aliases:
                aliases[node.targets[0].id] = aliases[chain[0]] + chain[1:]
    return aliases


def _under_keras(path: list[str]) -> bool:
    """``keras...``, ``tensorflow`` (for ``tf.keras``), ``tf_keras...``."""
    return path[0] in ("keras", "tf_keras") or path == ["tensorflow"] or path[:2] == ["tensorflow", "keras"] \
        or path[:3] == ["tensorflow", "python", "keras"]


def _canonical(path: list[str]) -> list[str] | None:
    """The path below Keras's root, whichever way it was reached
    (``tensorflow.keras.layers.Dense`` -> ``["layers", "Dense"]``); None outside Keras."""
    if path[:2] == ["tensorflow", "keras"]:
        path = path[2:]
    elif path[:3] == ["tensorflow", "python", "keras"]:
        path = path[3:]
    elif path[0] in ("keras", "tf_keras"):
        path = path[1:]
    else:
        return None
    while path and path[0] in ("src", "api"):
        path = path[1:]
    return path


def _is_building(path: list[str] | None) -> bool:
    if not path:
        return False
    return (path[0] in _BUILDING_MODULES and len(path) > 1) or (len(path) == 1 and path[0] in _BUILDING_NAMES)
