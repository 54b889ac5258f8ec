"""Expressions over axes: template dims (``4*filters``) and constraints
(``filters % groups == 0``), parsed with Python's `ast`.

User text is never evaluated with builtins, and never as arbitrary Python:
the tree is checked against a small whitelist of node types first (no calls,
no attributes, no subscripts, no comprehensions), then compiled and evaluated
with an empty ``__builtins__`` over the point's values. Nothing here imports
Keras.
"""

from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .errors import Option, ShapeguardError

# A template dim: integers, names, + - * // and parentheses (docs/how-to/contracts.md).
_DIM_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.Load,
              ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.USub, ast.UAdd)
# A constraint: the same, plus comparisons, boolean logic, %, / and literals.
_CONDITION_NODES = _DIM_NODES + (
    ast.Compare, ast.BoolOp, ast.And, ast.Or, ast.Not, ast.IfExp, ast.Tuple, ast.List,
    ast.Mod, ast.Div, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
    ast.In, ast.NotIn, ast.Is, ast.IsNot,
)


@dataclass(frozen=True)
class Expr:
    """A parsed expression; ``names`` are the axis or parameter names it reads."""

    text: str
    names: frozenset
    code: Any = field(compare=False, repr=False)

    def evaluate(self, env: Mapping[str, Any]) -> Any:
        """The value at a point (``env`` maps every name to its value).
        Raises whatever the expression raises (ZeroDivisionError, TypeError)."""
        return eval(self.code, {"__builtins__": {}}, dict(env))  # noqa: S307 - whitelisted tree, no builtins

    def __str__(self) -> str:
        return self.text


def parse_dim(text: str, where: str | Option | None) -> Expr:
    """``"4*filters"`` -> an `Expr`. Raises `ShapeguardError` naming ``where``
    for anything but integers, names, ``+ - * //`` and parentheses.

    ``where``, here and below, is how the error names the text: a label put in
    front (``--axis C: '(8' has an unbalanced '('``), None for none (the caller
    adds its context), or the `Option` the text is the whole of, which then
    stands for it (``where='f(C)' uses a function call``)."""
    return _parse(text, where, _DIM_NODES, "a dimension may use only integers, axis names, + - * // and parentheses")


def parse_condition(text: str, where: str | Option | None) -> Expr:
    """``"filters % groups == 0"`` -> an `Expr`; a Python expression over
    names, without calls, attributes or subscripts."""
    return _parse(
        text, where, _CONDITION_NODES,
        "a constraint may use only names, literals, + - * / // %, comparisons, and/or/not",
    )


# The largest tensor dimension accepted: TensorFlow's kernels index with int32,
# and Keras's symbolic shapes go through floats (wrong far below int64).
MAX_DIM = 2**31 - 1


def dim_value(expr: Expr, env: Mapping[str, Any]) -> int | None:
    """The dim's size at a point, or None when it is not a positive integer
    up to 2**31-1 there (such points are not valid inputs: skipped, not probed)."""
    if any(isinstance(env.get(n), bool) or not isinstance(env.get(n), int) for n in expr.names):
        return None
    try:
        value = expr.evaluate(env)
    except ArithmeticError:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_DIM else None


@dataclass(frozen=True)
class Solved:
    """What a constraint's ast says axis by axis, so that a rare constraint
    need not be met by rejection: conjuncts that read one axis (bounds such as
    ``E < 3``, ``k in (1, 3)``) and equalities that give one axis from others
    (``A == B``, ``A == 2*B``), in an order where each reads only axes not given so."""

    unary: tuple = ()  # (axis name, Expr)
    derived: tuple = ()  # (axis name, Expr of other axes)


def solve(exprs: Iterable[Expr], axes: Iterable[str]) -> Solved:
    """Split each constraint at its top-level ``and`` and keep the conjuncts
    that narrow one axis or give one axis from others (see `Solved`). Every
    point the constraints allow still satisfies each kept conjunct, so drawing
    from what they leave misses no allowed point; the full constraint still decides."""
    axes = set(axes)
    conjuncts = [node for expr in exprs for node in _conjuncts(ast.parse(expr.text, mode="eval").body)]
    unary = [(next(iter(_names(n) & axes)), _compiled(n)) for n in conjuncts if len(_names(n) & axes) == 1]
    narrowed = {name for name, _ in unary}
    derived: dict = {}
    for node in conjuncts:
        if not (isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq)
                and len(_names(node) & axes) > 1):
            continue
        sides = [(node.left, node.comparators[0]), (node.comparators[0], node.left)]
        # A == B with A narrowed (A < 3): B is the one to compute, so A's few values are drawn.
        sides.sort(key=lambda pair: isinstance(pair[0], ast.Name) and pair[0].id in narrowed)
        for side, other in sides:
            if not (isinstance(side, ast.Name) and side.id in axes):
                continue
            target, source = side.id, _names(other) & axes
            if (target in source or target in derived or not source.isdisjoint(derived)
                    or any(target in e.names for e in derived.values())):
                continue
            derived[target] = _compiled(other)
            break
    return Solved(tuple(unary), tuple(derived.items()))


def _conjuncts(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
        return [c for value in node.values for c in _conjuncts(value)]
    return [node]


def _names(node: ast.AST) -> set:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _compiled(node: ast.AST) -> Expr:
    tree = ast.fix_missing_locations(ast.Expression(body=node))
    return Expr(ast.unparse(node), frozenset(_names(node)), compile(tree, "<where>", "eval"))


def check_names(expr: Expr, known: Iterable[str], where: str | Option | None) -> None:
    """Raise `ShapeguardError` for the first name ``expr`` reads that is not
    in ``known``, suggesting the closest known name."""
    known = list(known)
    for name in sorted(expr.names):
        if name not in known:
            raise _error(where, expr.text, f"names {name!r}, which is neither an axis nor a parameter"
                         f" ({', '.join(known)}).{suggest(name, known)}")


def suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _error(where: str | Option | None, text: Any, predicate: str) -> ShapeguardError:
    """``{where}: {text!r} {predicate}``, or ``{option} {predicate}`` when
    ``where`` is the option ``text`` came from (see `parse_dim`)."""
    if isinstance(where, Option):
        return ShapeguardError((where, f" {predicate}"))
    return ShapeguardError(f"{text!r} {predicate}", subject=where)


def _parse(text: str, where: str | Option | None, allowed: tuple, rule: str) -> Expr:
    if not isinstance(text, str) or not text.strip():
        empty = f"an empty expression; {rule}."
        raise ShapeguardError(empty, option=where) if isinstance(where, Option) else ShapeguardError(empty, subject=where)
    source = text.strip()
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise _error(where, source, f"does not parse ({exc.msg}).") from None
    for node in ast.walk(tree):
        if not isinstance(node, allowed) or (
            isinstance(node, ast.Constant) and not _allowed_constant(node.value, allowed is _DIM_NODES)
        ):
            raise _error(where, source, f"uses {_node_text(node)}; {rule}.")
    names = frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))
    label = where.python() if isinstance(where, Option) else where or "expression"
    return Expr(source, names, compile(tree, f"<{label}>", "eval"))


def _allowed_constant(value: Any, dim: bool) -> bool:
    if dim:
        return isinstance(value, int) and not isinstance(value, bool)
    return value is None or isinstance(value, (int, float, str, bool))


def _node_text(node: ast.AST) -> str:
    if isinstance(node, ast.Constant):
        return f"the literal {node.value!r}"
    if isinstance(node, ast.Call):
        return "a function call"
    if isinstance(node, ast.Attribute):
        return f"an attribute ({node.attr!r})"
    if isinstance(node, (ast.BinOp, ast.UnaryOp)):
        return f"the operator {type(node.op).__name__}"
    symbol = {ast.Div: "/", ast.Mod: "%", ast.Pow: "**", ast.BitAnd: "&", ast.BitOr: "|",
              ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>", ast.MatMult: "@"}.get(type(node))
    if symbol:
        return f"the operator {symbol}"
    return f"{type(node).__name__.lower()} syntax"


def split_top_level(text: str, separator: str, where: str | Option | None) -> list[str]:
    """Split ``text`` at ``separator`` (``","``, ``";"`` or ``"|"``) outside
    brackets and quotes, using Python's tokenizer: ``"(3,3),(1,3)"`` ->
    ``["(3,3)", "(1,3)"]``. Raises `ShapeguardError` for an unbalanced bracket."""
    import io
    import tokenize

    pairs = {"(": ")", "[": "]", "{": "}"}
    stack: list[str] = []  # the brackets opened and not yet closed
    cuts: list[int] = []
    # Offsets from (row, col) positions: the text may hold newlines.
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.ERRORTOKEN and token.string[:1] in "'\"":
                raise _error(where, text, "has an unterminated quote.")
            if token.type != tokenize.OP:
                continue
            if token.string in pairs:
                stack.append(token.string)
            elif token.string in pairs.values():
                if not stack or pairs[stack.pop()] != token.string:
                    raise _error(where, text, f"has an unbalanced {token.string!r}.")
            elif token.string == separator and not stack:
                cuts.append(starts[token.start[0] - 1] + token.start[1])
    except (tokenize.TokenError, IndentationError, SyntaxError) as exc:
        if "string" in str(exc).lower():
            raise _error(where, text, "has an unterminated quote.") from None
    if stack:
        raise _error(where, text, f"has an unbalanced {stack[-1]!r}: it is never closed.")
    pieces, begin = [], 0
    for cut in cuts:
        pieces.append(text[begin:cut])
        begin = cut + len(separator)
    pieces.append(text[begin:])
    return pieces
