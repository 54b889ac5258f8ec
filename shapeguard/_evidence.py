"""What a block's own source says about each of its parameters, read with
`ast` alone: nothing of the user's text is imported, evaluated or run here
(an annotation is read as the object Python already made of it, else from
its source; a name in it, ``Kind``, is looked up in the module's namespace,
never evaluated).

For a function the evidence is its signature's annotations, its docstring and
its body (nested functions and lambdas included: a factory's closure). For a
class it is ``__init__``'s annotations, the class's and ``__init__``'s
docstrings and the whole class body, following ``self.attr = param`` in
``__init__`` so that ``self.mode == "a"`` in ``call()`` is evidence for
``mode``. Per parameter (`Evidence`):

* ``choices``: the values the code names, from the first of: a ``Literal``
  or ``enum.Enum`` annotation; a docstring line for the parameter (``one of
  "a", "b"``, ``{'a', 'b'}``, ``'a' or 'b'``); the literals the body compares
  it with (``==``, ``!=``, ``in (...)``, ``not in``, ``match`` cases);
* ``annotation``: ``"bool"``, ``"int"``, ``"float"``, ``"str"`` or ``"callable"``;
* ``keywords``: the Keras keyword arguments it is passed as (``padding=``,
  ``activation=``, ``data_format=``, ``strides=``, ``kernel_size=``,
  ``filters=``, ``units=``; a ``Conv*`` layer's first positional argument
  counts as ``filters`` and its second as ``kernel_size``, a ``Dense``'s
  first as ``units``, an ``Activation``'s first as ``activation``);
* ``called``: the body calls it (``activation(x)``);
* ``used``: the body reads it at all.

A target whose source cannot be read has no evidence (an empty mapping),
never an error: `_inference` then knows nothing beyond the signature.
"""

from __future__ import annotations

import ast
import enum
import inspect
import re
import textwrap
import typing
from dataclasses import dataclass

INPUT_MAKERS = ("Input", "InputLayer")  # a call of one makes a model's own input (its shape= entries are sizes)
KERAS_KEYWORDS = ("padding", "activation", "data_format", "strides", "kernel_size", "filters", "units", "shape")
# Positional arguments of Keras layers, by the layer's name: which keyword each position is.
_POSITIONAL = (
    (re.compile(r"^(Conv[123]D(Transpose)?|SeparableConv[12]D|Convolution[123]D)$"), ("filters", "kernel_size")),
    (re.compile(r"^DepthwiseConv[12]D$"), ("kernel_size",)),
    (re.compile(r"^(Dense|EinsumDense)$"), ("units",)),
    (re.compile(r"^Activation$"), ("activation",)),
)
COMPARED = "what the code compares it with"  # where choices from comparisons come from
_READS_EVERYTHING = frozenset({"locals", "vars", "eval", "exec"})
_SIMPLE_TYPES = {bool: "bool", int: "int", float: "float", str: "str"}


@dataclass(frozen=True)
class Evidence:
    """What the source says about one parameter (module doc)."""

    choices: tuple = ()
    choices_from: str = ""  # "a Literal annotation", "an enum annotation", "its docstring", "what the code compares it with"
    annotation: str = ""  # "bool", "int", "float", "str", "callable" or ""
    keywords: tuple = ()  # Keras keyword arguments it is passed as, in KERAS_KEYWORDS order
    called: bool = False
    used: bool = False
    indexed: bool = False  # the body subscripts it (``blocks[0]``): a sequence, not a number
    tensor: bool = False  # the body calls a layer on it (``Conv2D(8, 1)(g)``, ``Add()([x, g])``)


def evidence(target) -> dict[str, Evidence]:
    """``{parameter: Evidence}`` for a function or class (module doc); empty
    when its source cannot be read or parsed."""
    try:
        return _evidence(target)
    except Exception:  # noqa: BLE001 - evidence is a hint: unreadable source means none, never an error
        return {}


def _evidence(target) -> dict[str, Evidence]:
    target = inspect.unwrap(target)
    if inspect.ismethod(target):
        target = target.__func__
    source = textwrap.dedent(inspect.getsource(target))
    tree = ast.parse(source)
    node = tree.body[0] if tree.body else None
    if inspect.isclass(target):
        if not isinstance(node, ast.ClassDef):
            return {}
        init = next((n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                     and n.name == "__init__"), None)
        if init is None:
            return {}
        function, body, docs = init, node.body, [ast.get_docstring(node), ast.get_docstring(init)]
        hinted = vars(target).get("__init__")
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        function, body, docs, hinted = node, node.body, [ast.get_docstring(node)], target
    else:
        return {}
    arguments = function.args
    args = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    names = [a.arg for a in args if a.arg not in ("self", "cls")]
    attributes = _attributes(init_body=function.body, names=names) if inspect.isclass(target) else {}
    reader = _Reader(names, attributes)
    for statement in body:
        reader.visit(statement)
    hints, namespace = _hints(hinted), getattr(hinted, "__globals__", {})
    found = {}
    for arg in args:
        name = arg.arg
        if name not in names:
            continue
        annotation, choices, source_of = _annotation(hints.get(name, _NO_HINT), arg.annotation, namespace)
        if not choices:
            choices = _doc_choices(name, docs)
            source_of = "its docstring" if choices else ""
        if not choices and reader.compared.get(name):
            choices, source_of = tuple(reader.compared[name]), COMPARED
        keywords = tuple(k for k in KERAS_KEYWORDS if k in reader.keywords.get(name, ()))
        found[name] = Evidence(choices, source_of, annotation, keywords, name in reader.called,
                               reader.everything or name in reader.used, name in reader.indexed,
                               name in reader.tensors)
    return found


def _attributes(init_body: list, names: list[str]) -> dict[str, str]:
    """``self.attr = param`` in ``__init__``: attribute -> parameter."""
    found = {}
    for statement in init_body:
        for n in ast.walk(statement):
            if not isinstance(n, ast.Assign):
                continue
            for target in n.targets:  # self.a = a, and self.a, self.b = a, b
                pairs = zip(target.elts, n.value.elts) if isinstance(target, ast.Tuple) and isinstance(
                    n.value, ast.Tuple) else [(target, n.value)]
                for attribute, value in pairs:
                    if (isinstance(value, ast.Name) and value.id in names and isinstance(attribute, ast.Attribute)
                            and isinstance(attribute.value, ast.Name) and attribute.value.id == "self"):
                        found[attribute.attr] = value.id
    return found


class _Reader(ast.NodeVisitor):
    """Walks a body once, noting for each parameter (or ``self.attr`` bound
    to one) what it is compared with, passed as, called, or read."""

    def __init__(self, names: list[str], attributes: dict[str, str]):
        self.names, self.attributes = set(names), attributes
        self.compared: dict[str, list] = {}
        self.keywords: dict[str, set] = {}
        self.called: set[str] = set()
        self.used: set[str] = set()
        self.indexed: set[str] = set()
        self.tensors: set[str] = set()
        self.everything = False

    def param(self, node) -> str | None:
        """The parameter an expression is: its name, or ``self.attr`` bound to it."""
        if isinstance(node, ast.Name) and node.id in self.names:
            return node.id
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"
                and node.attr in self.attributes):
            return self.attributes[node.attr]
        return None

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load) and node.id in self.names:
            self.used.add(node.id)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        name = self.param(node)
        if name is not None and isinstance(node.ctx, ast.Load):
            self.used.add(name)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        name = self.param(node.value)
        if name is not None:
            self.indexed.add(name)
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        sides = [node.left, *node.comparators]
        for op, left, right in zip(node.ops, sides, sides[1:]):
            for this, other in ((left, right), (right, left)):
                name = self.param(this)
                if name is None:
                    continue
                if isinstance(op, (ast.Eq, ast.NotEq)):
                    values = _literals([other])
                elif isinstance(op, (ast.In, ast.NotIn)) and this is left and isinstance(
                        other, (ast.Tuple, ast.List, ast.Set)):
                    values = _literals(other.elts)
                else:
                    values = ()
                self._compared(name, values)
        self.generic_visit(node)

    def visit_Match(self, node: ast.Match) -> None:
        name = self.param(node.subject)
        if name is not None:
            for case in node.cases:
                self._compared(name, _pattern_literals(case.pattern))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Call):  # a layer made and called at once: Conv2D(8, 1)(g), Add()([x, g])
            for arg in node.args:
                for item in arg.elts if isinstance(arg, (ast.List, ast.Tuple)) else [arg]:
                    name = self.param(item)
                    if name is not None:
                        self.tensors.add(name)
        name = self.param(node.func)
        if name is not None:
            self.called.add(name)
        if isinstance(node.func, ast.Name) and node.func.id in _READS_EVERYTHING:
            self.everything = True
        layer = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        for pattern, positions in _POSITIONAL:
            if pattern.match(layer):
                for keyword, arg in zip(positions, node.args):
                    self._passed(self.param(arg), keyword)
        for keyword in node.keywords:
            if keyword.arg in KERAS_KEYWORDS:
                self._passed(self.param(keyword.value), keyword.arg)
            if (keyword.arg in ("shape", "batch_shape") and layer in INPUT_MAKERS
                    and isinstance(keyword.value, (ast.Tuple, ast.List))):
                for item in keyword.value.elts:  # keras.Input(shape=(timesteps, n_features)): a size of the input
                    self._passed(self.param(item), "shape")
        self.generic_visit(node)

    def _compared(self, name: str, values) -> None:
        seen = self.compared.setdefault(name, [])
        seen.extend(v for v in values if not any(type(v) is type(s) and v == s for s in seen))

    def _passed(self, name: str | None, keyword: str) -> None:
        if name is not None:
            self.keywords.setdefault(name, set()).add(keyword)


def _literals(nodes) -> tuple:
    """The constants among ``nodes`` (strings, numbers, booleans; not None)."""
    return tuple(n.value for n in nodes if isinstance(n, ast.Constant) and n.value is not None
                 and isinstance(n.value, (str, int, float)))


def _pattern_literals(pattern) -> tuple:
    if isinstance(pattern, ast.MatchValue):
        return _literals([pattern.value])
    if isinstance(pattern, ast.MatchOr):
        return tuple(v for p in pattern.patterns for v in _pattern_literals(p))
    if isinstance(pattern, ast.MatchAs) and pattern.pattern is not None:
        return _pattern_literals(pattern.pattern)
    return ()


# -- annotations --------------------------------------------------------------

_NO_HINT = object()


def _hints(function) -> dict:
    """The annotations Python already made objects (not strings: those are
    read from their source, never evaluated)."""
    if function is None:
        return {}
    try:
        annotations = inspect.get_annotations(function)
    except Exception:  # noqa: BLE001 - no annotations to read: the source has them
        return {}
    return {name: hint for name, hint in annotations.items() if not isinstance(hint, str)}


def _annotation(hint, node, namespace: dict) -> tuple[str, tuple, str]:
    """``(annotation kind, choices, where the choices come from)`` from the
    annotation's object, else from its source."""
    if hint is not _NO_HINT:
        return _from_hint(hint)
    return _from_source(node, namespace) if node is not None else ("", (), "")


def _from_hint(hint) -> tuple[str, tuple, str]:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Literal:
        return "", tuple(args), "a Literal annotation"
    if origin is typing.Union or type(hint).__name__ == "UnionType":
        rest = [a for a in args if a is not type(None)]
        return _from_hint(rest[0]) if len(rest) == 1 else ("", (), "")
    if inspect.isclass(hint) and issubclass(hint, enum.Enum):
        return "", tuple(hint), "an enum annotation"
    if hint in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[hint], (), ""
    if hint is typing.Callable or origin is not None and getattr(origin, "__name__", "") == "Callable":
        return "callable", (), ""
    return "", (), ""


def _from_source(node, namespace: dict) -> tuple[str, tuple, str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # a string annotation: parse it
        try:
            node = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return "", (), ""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):  # X | None
        sides = [s for s in (node.left, node.right) if not (isinstance(s, ast.Constant) and s.value is None)]
        return _from_source(sides[0], namespace) if len(sides) == 1 else ("", (), "")
    head = node.value if isinstance(node, ast.Subscript) else node
    name = head.attr if isinstance(head, ast.Attribute) else getattr(head, "id", "")
    if isinstance(node, ast.Subscript) and name == "Literal":
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        return "", tuple(n.value for n in items if isinstance(n, ast.Constant)), "a Literal annotation"
    if isinstance(node, ast.Subscript) and name == "Optional":
        return _from_source(node.slice, namespace)
    if name in ("bool", "int", "float", "str"):
        return name, (), ""
    if name == "Callable":
        return "callable", (), ""
    found = _look_up(node, namespace)
    if inspect.isclass(found) and issubclass(found, enum.Enum):
        return "", tuple(found), "an enum annotation"
    return "", (), ""


def _look_up(node, namespace: dict):
    """What a dotted name (``Kind``, ``modes.Kind``) names, by dictionary
    look-ups alone (no ``getattr``, so no user ``__getattr__`` runs); None if not found."""
    if isinstance(node, ast.Name):
        return namespace.get(node.id) if isinstance(namespace, dict) else None
    if isinstance(node, ast.Attribute):
        owner = _look_up(node.value, namespace)
        try:
            return vars(owner).get(node.attr) if owner is not None else None
        except TypeError:  # no __dict__
            return None
    return None


# -- docstrings -------------------------------------------------------------

_QUOTED = re.compile(r"""(["'`])([^"'`\n]+?)\1""")
_SET = re.compile(r"\{([^{}]*)\}")
_ONE_OF = re.compile(r"\bone of\b(.*)", re.IGNORECASE | re.DOTALL)
_OR = re.compile(r"""(["'`])[^"'`\n]+?\1(\s*,\s*(["'`])[^"'`\n]+?\3)*\s*,?\s+or\s+(["'`])[^"'`\n]+?\4""")


def _doc_choices(name: str, docs: list) -> tuple:
    """The values a docstring lists for ``name`` (module doc), as strings."""
    for doc in docs:
        text = _doc_entry(name, doc or "")
        if text is None:
            continue
        for pattern in (_SET, _ONE_OF, _OR):
            match = pattern.search(text)
            if match:
                segment = match.group(1) if pattern is not _OR else match.group(0)
                if pattern is _ONE_OF:
                    segment = re.split(r"\.(\s|$)", segment)[0]
                values = tuple(dict.fromkeys(m.group(2).strip() for m in _QUOTED.finditer(segment)))
                if values:
                    return values
    return ()


def _doc_entry(name: str, doc: str) -> str | None:
    """The text documenting ``name``: its line (numpy ``name : type``, google
    ``name (type): text`` or ``name: text``) and the lines indented below it."""
    lines = doc.splitlines()
    entry = re.compile(rf"^(\s*)[*`]*{re.escape(name)}[*`]*\s*(\([^)]*\))?\s*:(.*)$")
    for i, line in enumerate(lines):
        match = entry.match(line)
        if not match:
            continue
        indent, parts = len(match.group(1)), [match.group(3)]
        for following in lines[i + 1:]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            parts.append(following.strip())
        return " ".join(parts)
    return None
