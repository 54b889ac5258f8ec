"""The parameter space: which values each axis takes and how a point becomes a call.

An *axis* is a name with a finite list of values. It is a parameter of the
block (``filters``, ``strides``, ``conv_shortcut``), a dimension named in an
input template (``C`` in ``"H,W,C"``), or, for a tensor parameter given
several templates (``"H,H,C|None"``), the choice among them. A *point* picks
one value per axis, written as a tuple of indices into the axes' value lists.

The *contract* says which points a block is meant for: template dims may be
expressions (``"2*H,2*H,C"``, ``"H,H,4*filters"``) and constraints may be given
(``where="filters % groups == 0"``). A point where a dim is not a positive
integer, or a constraint does not hold, is *skipped*: never probed, never
drawn by the search, and counted in the report. So is a point that would make
the very same call as a preferred one (an axis that no template reads there).
In a space too big to enumerate, the constraints' equalities and one-axis
bounds, read from their ast, give the `Grid` of points to enumerate or draw
from, so a rare constraint is met by construction rather than by rejection.

Values are kept in *preference order*: the parameter's default first (when the
axis has one), then the rest in ascending order (``False`` before ``True``;
strings as given). Shrinking moves towards the front of every list, so "minimal"
means "as close to the defaults and as small as possible" (docs/explanation/probing.md).

This module imports nothing from Keras: building a space is cheap and happens at
decoration time, so a bad axis name fails at import, not mid-search.
"""

from __future__ import annotations

import inspect
import itertools
import math
import re
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Callable, Iterator, Mapping

from ._evidence import evidence as read_evidence
from ._expr import MAX_DIM, Expr, check_names, dim_value, parse_condition, parse_dim, solve, split_top_level, suggest
from ._inference import (
    CHANNEL_VALUES,
    INFERRED_KINDS,
    INFERRED_TEMPLATE,
    INFERRED_TEMPLATES,
    NO_DEFAULT,
    TENSOR_LIKE_NAMES,
    TENSOR_LIST_NAMES,
    guess_tensor_param,
    infer_dim,
    infer_param,
    inferred_dim_values,
    other_tensor_params,
    related_shapes,
)
from ._show import show_value, unstable
from .errors import AxisOption, InputOption, InputShapeOption, ObjectOption, ShapeguardError, WhereOption

ENUMERATE_LIMIT = 200_000  # spaces up to this size are enumerated for the contract
FIND_LIMIT = 10_000  # points drawn, in a space too big to enumerate, to find one the contract allows
# Parameters that hold an object shapeguard cannot make (named so, when not annotated with a class).
OBJECT_NAMES = re.compile(r"^(config|cfg|conf|configuration|params|hparams|hyperparams|hp|args|opts|options|"
                          r"settings|backbone|base_model|model|encoder|decoder|submodel|optimizer|loss|"
                          r".*_config|.*_cfg|.*_model|.*_params)$")
FUNCTION_NAMES = re.compile(r"^(.*_fn|.*_func|.*_function|fn|func|callback|builder)$")  # keras.applications' stack_fn
_SCALAR_ANNOTATIONS = (int, float, str, bool, tuple, list, "int", "float", "str", "bool", "tuple", "list")


@dataclass(frozen=True)
class Axis:
    name: str
    values: tuple
    default: Any = NO_DEFAULT
    is_dim: bool = False  # a tensor dimension from a template, not a parameter
    inferred: str = ""  # the rule the values came from (`_inference`); "" when given


# A shape is a tuple of dims, each an int, None (unknown size) or an Expr.
@dataclass(frozen=True)
class TensorList:
    """A list of tensors passed to one parameter (``skips=[x1, x2]``)."""

    shapes: tuple


@dataclass(frozen=True)
class Template:
    """The shape of one tensor parameter, batch dimension left out: one or
    several *choices*, each a shape, a `TensorList`, or None (no tensor)."""

    param: str
    choices: tuple
    text: str
    inferred: str = ""  # why this template, when nobody gave one; "" when given

    @property
    def dims(self) -> tuple:
        """The dims of a one-shape template, as written (ints, None, names, expressions)."""
        (choice,) = self.choices
        return tuple(d.text if isinstance(d, Expr) else d for d in choice)

    @property
    def labels(self) -> tuple:
        """Each choice as the axis value that selects it."""
        return tuple(_choice_text(c) for c in self.choices)

    def names(self) -> list[str]:
        """Names read by any choice's dims, in order."""
        return list(dict.fromkeys(n for c in self.choices for n in _choice_names(c)))

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Argument:
    """One argument of a probe call: a value, or tensors of the given shape.
    ``shape`` is a tuple for one tensor and a list of tuples for a list of
    tensors; dims are ints or None."""

    name: str
    value: Any = None
    shape: tuple | list | None = None  # set for tensor parameters
    positional: bool = False


Condition = tuple  # (text as the user wrote it, Expr or a callable of the point dict)


@dataclass(frozen=True)
class Space:
    axes: tuple[Axis, ...]
    templates: tuple[Template, ...]
    signature: inspect.Signature
    constants: tuple = ()  # (name, value) of parameters kept at their default
    conditions: tuple = ()  # Condition, all must hold
    layout_param: str | None = None  # a `data_format` parameter (channels_first support)
    name: str = ""  # the target, for messages

    @property
    def size(self) -> int:
        """Every combination of the axes' values, skipped ones included."""
        return math.prod(len(a.values) for a in self.axes)

    def as_dict(self) -> dict[str, list]:
        return {a.name: list(a.values) for a in self.axes}

    def inferred(self) -> dict:
        """What nobody gave and shapeguard inferred, with the rule for each:
        ``{"axes": {"filters": "named 'filters'"}, "templates": {"x": {"template": "H,H,C", "from": "..."}}}``."""
        return {
            "axes": {a.name: a.inferred for a in self.axes if a.inferred and a.name not in self._template_params},
            "templates": {t.param: {"template": t.text, "from": t.inferred} for t in self.templates if t.inferred},
        }

    @property
    def _template_params(self) -> set:
        return {t.param for t in self.templates}

    def points(self) -> Iterator[tuple[int, ...]]:
        """Every combination, in preference order of the index tuple."""
        return itertools.product(*(range(len(a.values)) for a in self.axes))

    def values(self, point: tuple[int, ...]) -> dict[str, Any]:
        return {a.name: a.values[i] for a, i in zip(self.axes, point)}

    def index_of(self, example: Mapping[str, Any]) -> tuple[int, ...] | None:
        """The point with these values, or None if one is no longer in the space."""
        try:
            return tuple(a.values.index(example[a.name]) for a in self.axes)
        except (KeyError, ValueError):
            return None

    @cached_property
    def grid(self) -> "Grid":
        """The points the constraints' equalities and bounds allow (`Grid`)."""
        names = [a.name for a in self.axes]
        solved = solve([c for _, c in self.conditions if isinstance(c, Expr)], names)
        constants = dict(self.constants)
        allowed = {a.name: range(len(a.values)) for a in self.axes}
        for name, conjunct in solved.unary:
            axis = self.axes[names.index(name)]
            allowed[name] = [i for i in allowed[name] if _maybe(conjunct, {**constants, name: axis.values[i]})]
        derived = dict(solved.derived)
        free = tuple((i, tuple(allowed[a.name])) for i, a in enumerate(self.axes) if a.name not in derived)
        return Grid(self, free, tuple((names.index(n), e) for n, e in solved.derived))

    @cached_property
    def valid_points(self) -> list[tuple[int, ...]] | None:
        """The points to probe, in preference order (total rank, then
        lexicographic), without skipped ones; None for a space too big to
        enumerate even after its constraints' equalities and bounds
        (`grid`); the search then skips points as it draws them. Raises
        `ShapeguardError` when a constraint raises, or nothing is left."""
        if self.size <= ENUMERATE_LIMIT:
            candidates = self.points()
        elif self.grid.size <= ENUMERATE_LIMIT:
            candidates = (p for p in self.grid.candidates() if p is not None)
        else:
            return None
        seen, kept = set(), []
        for point in sorted(candidates, key=lambda p: (sum(p), p)):
            arguments = self.call(point)
            if arguments is None:
                continue
            key = tuple((a.name, repr(a.shape), repr(a.value)) for a in arguments)
            if key not in seen:
                seen.add(key)
                kept.append(point)
        if not kept:
            raise self._nothing_left()
        return kept

    def check_contract(self) -> None:
        """Raise `ShapeguardError` now, before the first probe, when a
        constraint raises or no combination is left (see `valid_points`), or,
        in a space too big to enumerate, none is found (`found_points`)."""
        if self.valid_points is None and not self.found_points:
            raise self._none_found()

    @cached_property
    def found_points(self) -> list[tuple[int, ...]]:
        """In a space too big to enumerate: a point the contract allows, found
        by drawing up to `FIND_LIMIT` points of the `grid` (its most preferred
        point first, then at random with a fixed seed); [] when none is."""
        import random

        rng = random.Random(0)
        grid = self.grid
        for n in range(min(FIND_LIMIT, grid.size)):
            drawn = tuple(0 if n == 0 else rng.randrange(len(allowed)) for _, allowed in grid.drawn)
            point = grid.expand(drawn)
            if point is not None and self.call(point) is not None:
                return [point]
        return []

    def first_point(self) -> tuple[int, ...]:
        """The most preferred point to probe (a found one in a space too big to enumerate)."""
        if self.valid_points is not None:
            return self.valid_points[0]
        return self.found_points[0] if self.found_points else next(self.points())

    @property
    def skipped(self) -> int | None:
        """How many combinations the contract rules out (or repeat a call); None when not counted."""
        valid = self.valid_points
        return None if valid is None else self.size - len(valid)

    @property
    def probe_count(self) -> int:
        """The number of points an exhaustive check probes."""
        valid = self.valid_points
        return self.size if valid is None else len(valid)

    @cached_property
    def _valid_set(self) -> frozenset | None:
        valid = self.valid_points
        return None if valid is None else frozenset(valid)

    def is_valid(self, point: tuple[int, ...]) -> bool:
        """Whether ``point`` is probed: not ruled out, and not a repeat of a preferred point's call."""
        valid = self._valid_set
        return self.call(point) is not None if valid is None else point in valid

    def arguments(self, point: tuple[int, ...]) -> list[Argument]:
        """The call a point stands for (see `call`); a skipped point is a ValueError."""
        arguments = self.call(point)
        if arguments is None:
            raise ValueError(f"point {self.values(point)} is ruled out by the contract")
        return arguments

    def call(self, point: tuple[int, ...]) -> list[Argument] | None:
        """The call a point stands for: tensor shapes and searched values, in
        signature order; parameters that are not searched keep their default.
        None when the point is skipped (a dim not a positive integer, or a
        constraint that does not hold). Worked out once per point (a point is
        probed again to confirm, explain and shrink); a copy of the list."""
        calls = self.__dict__.setdefault("_calls", {})
        if point not in calls:
            if len(calls) >= 65_536:
                calls.clear()
            calls[point] = self._call(point)
        arguments = calls[point]
        return None if arguments is None else list(arguments)

    def _call(self, point: tuple[int, ...]) -> list[Argument] | None:
        values = self.values(point)
        env = {**dict(self.constants), **values}
        for text, condition in self.conditions:
            if not self._holds(text, condition, env, values):
                return None
        channels_first = self.layout_param is not None and env.get(self.layout_param) == "channels_first"
        shapes = {}
        for template in self.templates:
            choice = template.choices[0] if len(template.choices) == 1 else (
                template.choices[template.labels.index(values[template.param])]
            )
            if choice is None:
                continue
            resolved = _resolve_choice(choice, env, channels_first)
            if resolved is _SKIP:
                return None
            shapes[template.param] = resolved
        args, positional = [], True
        for p in self.signature.parameters.values():
            if p.name in shapes:
                arg = Argument(p.name, shape=shapes[p.name])
            elif p.name in values:
                arg = Argument(p.name, value=values[p.name])
            else:
                positional = False  # skipped: later arguments must be keywords
                continue
            # Tensors go positionally while they lead the signature, as people write
            # block(x, filters=...); values by keyword so the call reads on its own.
            positional = positional and p.kind != p.KEYWORD_ONLY and (
                arg.shape is not None or p.kind == p.POSITIONAL_ONLY
            )
            args.append(replace(arg, positional=positional))
        return args

    def _holds(self, text: str, condition, env: dict, values: dict) -> bool:
        try:
            return bool(condition.evaluate(env) if isinstance(condition, Expr) else condition(dict(values)))
        except Exception as exc:  # the user's constraint raised: say where
            at = ", ".join(f"{k}={show_value(v)}" for k, v in values.items())
            detail = " ".join(str(exc).split())
            reason = type(exc).__name__ + (f" ({detail})" if detail else "")
            raise ShapeguardError(("the constraint ", WhereOption(text), f" raised {reason} at {at}."),
                                  subject=self.name) from None

    def _none_found(self) -> ShapeguardError:
        """No allowed point among those drawn from a space too big to enumerate."""
        grid = self.grid
        drawn = f"among {min(FIND_LIMIT, grid.size):,} drawn from the {grid.size:,} combinations"
        if not self.conditions:
            return ShapeguardError(f"no combination found where every template dim is a positive size {drawn}; "
                                   "check the templates and axes.", subject=self.name)
        texts = [t for t, _ in self.conditions]
        noun = "the constraint " if len(texts) == 1 else "the constraints "
        allow = " its equalities and bounds allow" if grid.size < self.size else ""
        return ShapeguardError(("no combination found where ", noun, WhereOption(texts if len(texts) > 1 else texts[0]),
                                f" {'holds' if len(texts) == 1 else 'hold'} and every template dim is a positive size "
                                f"{drawn}{allow} (of {self.size:,}); loosen it or give other values."),
                               subject=self.name)

    def _nothing_left(self) -> ShapeguardError:
        """Why no point is left: name the constraint (or the templates) that rule all out."""
        if self.size > ENUMERATE_LIMIT:  # the grid was enumerated: nothing it allows is left
            texts = [t for t, _ in self.conditions]
            tail = (" holds" if len(texts) == 1 else " together hold") + (
                " at no combination of the axes where every template dim is a positive size; "
                "loosen it or give other values.")
            return ShapeguardError(("the constraint " if len(texts) == 1 else "the constraints ",
                                    WhereOption(texts if len(texts) > 1 else texts[0]), tail), subject=self.name)
        points = list(self.points())
        sizes = "no combination gives every template dim a positive size; check the templates and axes."
        if not self.conditions or not any(replace(self, conditions=()).call(p) is not None for p in points):
            env = lambda p: {**dict(self.constants), **self.values(p)}
            never = next((d for t in self.templates for c in t.choices for d in _shapes_dims(c)
                          if isinstance(d, Expr) and all(dim_value(d, env(p)) is None for p in points)), None)
            if never is not None:
                template = next(t for t in self.templates if any(never in _shapes_dims(c) for c in t.choices))
                sizes = (f"the template dim {never.text!r} of {template.param} ({template.text!r}) is a positive size "
                         f"up to {MAX_DIM} at no combination of the axes; check the template and the axes' values.")
            return ShapeguardError(sizes, subject=self.name)
        for text, condition in self.conditions:
            if not any(replace(self, conditions=((text, condition),)).call(p) is not None for p in points):
                tail = " holds at no combination of the axes; loosen it or give other values."
                return ShapeguardError(("the constraint ", WhereOption(text), tail), subject=self.name)
        tail = " together hold at no combination of the axes; loosen them or give other values."
        return ShapeguardError(("the constraints ", WhereOption([t for t, _ in self.conditions]), tail),
                               subject=self.name)


@dataclass(frozen=True)
class Grid:
    """The points a space's constraints can allow, from their ast (`_expr.solve`):
    each free axis over the values its one-axis conjuncts keep (``E < 3``),
    each derived axis computed from the others (``A == B``). It leaves out
    only points some conjunct rules out, so every allowed point is in it;
    the whole contract (`Space.call`) decides the rest. With no constraint it
    is the whole space."""

    space: Space
    free: tuple  # (axis index, allowed value indices)
    derived: tuple  # (axis index, Expr of the free axes)

    @property
    def size(self) -> int:
        return math.prod(len(allowed) for _, allowed in self.free)

    @property
    def drawn(self) -> tuple:
        """The free axes with a choice: what the search draws, one index into each's allowed values."""
        return tuple((i, allowed) for i, allowed in self.free if len(allowed) > 1)

    def expand(self, drawn: tuple) -> tuple | None:
        """The point for one index per `drawn` axis, or None when a derived
        axis comes out as none of its values."""
        point = [0] * len(self.space.axes)
        chosen = dict(zip((i for i, _ in self.drawn), drawn))
        for i, allowed in self.free:
            point[i] = allowed[chosen.get(i, 0)] if allowed else -1
        if -1 in point:
            return None
        return self._derive(point)

    def choices(self, point: tuple) -> tuple:
        """The inverse of `expand`."""
        return tuple(allowed.index(point[i]) for i, allowed in self.drawn)

    def candidates(self) -> Iterator[tuple | None]:
        """Every point of the grid (None where a derived axis has no value), lexicographic."""
        for indices in itertools.product(*(allowed for _, allowed in self.free)):
            point = [0] * len(self.space.axes)
            for (i, _), index in zip(self.free, indices):
                point[i] = index
            yield self._derive(point)

    def _derive(self, point: list) -> tuple | None:
        space = self.space
        env = {**dict(space.constants), **{a.name: a.values[j] for a, j in zip(space.axes, point)}}
        for i, expr in self.derived:
            axis = space.axes[i]
            try:
                value = expr.evaluate(env)
                index = next((j for j, v in enumerate(axis.values) if _equal(v, value)), None)
            except Exception:  # noqa: BLE001 - the whole constraint raises there, with its message, when probed
                return None
            if index is None:
                return None
            point[i] = index
            env[axis.name] = axis.values[index]
        return tuple(point)


def _equal(a, b) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - a value whose == raises equals nothing here
        return False


def _maybe(conjunct: Expr, env: dict) -> bool:
    """Whether a one-axis conjunct may hold: a value it raises at is kept (the whole constraint reports it)."""
    try:
        return bool(conjunct.evaluate(env))
    except Exception:  # noqa: BLE001
        return True


_SKIP = object()


def _resolve_choice(choice, env: dict, channels_first: bool):
    """A choice's concrete shape(s) at a point, or _SKIP."""
    if isinstance(choice, TensorList):
        shapes = [_resolve_choice(s, env, channels_first) for s in choice.shapes]
        return _SKIP if any(s is _SKIP for s in shapes) else shapes
    dims = []
    for dim in choice:
        if isinstance(dim, Expr):
            dim = dim_value(dim, env)
            if dim is None:
                return _SKIP
        dims.append(dim)
    if channels_first and len(dims) >= 2:
        dims = dims[-1:] + dims[:-1]  # templates are written channels-last
    return tuple(dims)


def _choice_text(choice) -> str | None:
    if choice is None:
        return None
    if isinstance(choice, TensorList):
        return "[" + "; ".join(_choice_text(s) for s in choice.shapes) + "]"
    return ",".join("None" if d is None else str(d) for d in choice)


def _choice_names(choice) -> list[str]:
    if choice is None:
        return []
    if isinstance(choice, TensorList):
        return [n for s in choice.shapes for n in _choice_names(s)]
    return [n for d in choice if isinstance(d, Expr) for n in sorted(d.names, key=d.text.find)]


def parse_template(text: Any) -> tuple:
    """The choices of a template: ``"H,W,C"``, ``(7, 7, "C")`` (one shape),
    ``"[2*H,2*H,C; 4*H,4*H,C]"`` or ``["2*H,2*H,C", "4*H,4*H,C"]`` (a list of
    tensors), ``"H,H,C|2*H,2*H,C|None"`` (choices: an axis of their own; a lone
    ``None`` passes no tensor). Dims are integers, ``None`` (unknown size) or
    integer expressions of axis names with ``+ - * //`` and parentheses.
    Errors say what is wrong inside the template; the caller says which
    template it is (`_template_door`)."""
    if isinstance(text, str):
        return tuple(_parse_choice(alt, text) for alt in split_top_level(text, "|", None))
    if isinstance(text, list):
        return (_tensor_list([_parse_shape(item, text) for item in text], text),)
    if isinstance(text, tuple):
        return (_parse_shape(text, text),)
    raise ShapeguardError(f"{text!r} is not a template; write dims like 'H,W,C' or '8,8,C'.")


def _parse_choice(alt: str, whole: Any):
    alt = alt.strip()
    if alt.lower() == "none":
        return None
    if alt.startswith("[") and alt.endswith("]"):
        inner = alt[1:-1]
        items = [] if not inner.strip() else split_top_level(inner, ";", None)
        return _tensor_list([_parse_shape(item, whole) for item in items], whole)
    return _parse_shape(alt, whole)


def _tensor_list(shapes: list, whole: Any) -> TensorList:
    if not shapes:
        raise ShapeguardError(f"the list template {whole!r} is empty; give one template per tensor, "
                              "e.g. '[2*H,2*H,C; 4*H,4*H,C]'.")
    return TensorList(tuple(shapes))


def _parse_shape(raw: Any, whole: Any) -> tuple:
    items = split_top_level(raw, ",", None) if isinstance(raw, str) else list(raw) if isinstance(raw, tuple) else None
    if not items:
        raise ShapeguardError(f"{raw!r} is not a template; write dims like 'H,W,C' or '8,8,C'.")
    dims = []
    for item in items:
        if isinstance(item, str):
            item = item.strip()
            if item.lower() == "none":
                item = None
            elif item.lstrip("-").isdigit():
                item = int(item)
        if isinstance(item, bool) or item == "":
            raise ShapeguardError(f"{whole!r} is not a template; write dims like 'H,W,C' or '8,8,C'.")
        if item is None:
            dims.append(None)
        elif isinstance(item, int):
            if item <= 0:
                raise ShapeguardError(f"dimension {item} in template {whole!r} must be a positive integer.")
            if item > MAX_DIM:
                raise ShapeguardError(f"dimension {item} in template {whole!r} is too large; a tensor dimension "
                                      f"can be at most {MAX_DIM} (2**31-1).")
            dims.append(item)
        elif isinstance(item, str):
            dims.append(parse_dim(item, f"dimension {item!r}"))
        else:
            raise ShapeguardError(f"{item!r} in template {whole!r} is neither a positive integer nor an axis name.")
    return tuple(dims)


def preference_order(values, default=NO_DEFAULT) -> tuple:
    """Default first, then ascending numbers / False before True / tuples of
    numbers / given order."""
    unique = []
    for v in values:  # drop repeats, keep order (values may be unhashable)
        if not any(_same(v, u) for u in unique):
            unique.append(v)
    rest = [v for v in unique if not _same(v, default)]
    if (all(isinstance(v, bool) for v in rest)
            or all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in rest)
            or all(isinstance(v, tuple) and all(isinstance(e, (int, float)) for e in v) for v in rest)):
        rest.sort()
    head = [v for v in unique if _same(v, default)]
    return tuple(head + rest)


def _same(a, b) -> bool:
    return a is b or (type(a) is type(b) and a == b)


def build_space(
    fn: Callable,
    axes: Mapping[str, Any] | None = None,
    inputs: Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    where: Any = None,
    rank: int | tuple | None = None,
    shape_params: frozenset = frozenset(),
    tensors: bool = True,
) -> Space:
    """The space for ``fn``: the given axes, templates and constraints, the
    rest inferred (docs/explanation/probing.md, "Inferred axes", and
    docs/how-to/contracts.md). ``rank`` picks the inferred template when none is given
    (2: ``T,C``; 3: ``H,H,C``, the default; 4: ``depth,H,H,C``; or the
    dims themselves, ``("T",)``).
    ``shape_params`` are the templates' parameters that take a shape tuple
    (given as ``input_shapes``, which is how errors name them). With
    ``tensors=False`` (a model builder, which makes its own inputs) no
    template is inferred and the space has only values. Raises
    `ShapeguardError` for anything that does not fit the signature.

    Four steps: the signature's parameters, the templates, the names the
    templates read checked against the axes, then the axes and constants."""
    name = name or getattr(fn, "__qualname__", repr(fn))
    axes = dict(axes or {})
    signature, params = _parameters(fn, name)
    option = lambda param, text: (InputShapeOption if param in shape_params else InputOption)(param, text)
    signature, params = _keyword_axes(signature, params, [n for n in inputs or {} if n not in params])
    evidence = read_evidence(fn)
    templates = _templates(name, params, axes, inputs, rank, option, evidence) if tensors or inputs else []
    read = {n for t in templates for n in t.names()}
    signature, params = _keyword_axes(signature, params, [a for a in axes if a not in params and a not in read])
    tensor_params = {t.param for t in templates}
    dim_names = _dimension_names(name, params, axes, templates, tensor_params, option)
    result, constants = _axes(name, params, axes, templates, tensor_params, dim_names, evidence)
    axis_names = [a.name for a in result]
    conditions = tuple(_parse_conditions(where, name, axis_names + [n for n, _ in constants], tensor_params))
    layout = "data_format" if "data_format" in params and "data_format" not in tensor_params else None
    return Space(tuple(result), tuple(templates), signature, tuple(constants), conditions, layout, name)


def _parameters(fn: Callable, name: str) -> tuple[inspect.Signature, dict]:
    """The signature and its named parameters (``*args``/``**kwargs`` left out)."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise ShapeguardError(f"cannot read its signature ({exc}).", subject=name) from None
    if list(signature.parameters)[:1] in (["self"], ["cls"]):
        # A method seen through its class (as at decoration time): its instance
        # is bound before any check runs, so `self` is not part of the space.
        signature = signature.replace(parameters=list(signature.parameters.values())[1:])
    params = {
        p.name: p
        for p in signature.parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    return signature, params


def _keyword_axes(signature: inspect.Signature, params: dict, names: list):
    """A function taking ``**kwargs`` (``def block(x, **kwargs)``) gets the
    ``names`` (axes naming neither a parameter nor a template dimension, or
    templates naming no parameter) by keyword: ``--axis filters=8`` for a
    block reading ``kwargs["filters"]``. A name close to a parameter's stays
    an error (a misspelling, not a keyword)."""
    var_keyword = next((p for p in signature.parameters.values() if p.kind == p.VAR_KEYWORD), None)
    if var_keyword is None:
        return signature, params
    extra = [a for a in names if not suggest(a, params)]
    if not extra:
        return signature, params
    added = [inspect.Parameter(a, inspect.Parameter.KEYWORD_ONLY) for a in extra]
    listed = [p for p in signature.parameters.values() if p.kind != p.VAR_KEYWORD]
    return signature.replace(parameters=[*listed, *added, var_keyword]), {**params, **{p.name: p for p in added}}


def _templates(name: str, params: dict, axes: dict, inputs, rank: int | None, option,
               evidence: Mapping | None = None) -> list[Template]:
    """The given templates, parsed; or, with none given, the inferred one on
    the parameter that looks like the tensor."""
    templates = []
    for param, text in (inputs or {}).items():
        if param not in params:
            raise ShapeguardError(
                f"input template for {param!r}, which is not a parameter of {name}.{suggest(param, params)}",
                subject=name,
            )
        with _template_door(name, option(param, text)):
            choices = parse_template(text)
        templates.append(Template(param, choices, text if isinstance(text, str) else "|".join(
            str(label) for label in (_choice_text(c) for c in choices))))
    if not templates:
        tensor = guess_tensor_param(params, axes)
        if tensor is None:
            raise ShapeguardError(("no parameter to pass a tensor to; name one with ", InputOption("x", "H,W,C"), "."),
                                  subject=name)
        dims = rank if isinstance(rank, tuple) else INFERRED_TEMPLATES.get(rank or 3, INFERRED_TEMPLATE)
        what = INFERRED_KINDS.get(dims, "an image")
        why = f"no template given: {what}, the rank its layers take" if rank else \
            f"no template given: taken as {what}"
        templates.append(Template(tensor, (tuple(parse_dim(d, name) for d in dims),), ",".join(dims), why))
        for other in other_tensor_params(params, axes, tensor, evidence):
            if TENSOR_LIST_NAMES.match(other):
                text = "[" + "; ".join([",".join(dims)] * 2) + "]"
                rule = f"a list of tensors: two at {tensor}'s shape"
            else:
                text = "|".join(",".join(shape) for shape in related_shapes(tuple(dims)))
                rule = f"another tensor: at {tensor}'s size, double or half (the working point picks one)"
            templates.append(Template(other, parse_template(text), text, rule))
    return templates


def _dimension_names(name: str, params: dict, axes: dict, templates: list, tensor_params: set, option) -> list[str]:
    """The templates' dimension axes (names they read that are not
    parameters: a parameter's name binds the tensor to that parameter),
    after checking every name the axes and templates use."""
    read = list(dict.fromkeys(n for t in templates for n in t.names()))
    for n in read:
        if n in tensor_params:
            raise ShapeguardError(f"a template dimension names the tensor parameter {n!r}; "
                                  "name an axis or another parameter.", subject=name)
    bare = _bare_dims(templates)
    dim_names = [n for n in read if n not in params]
    for axis_name in axes:
        if axis_name in tensor_params:
            raise ShapeguardError((f"{axis_name!r} is the tensor parameter; give its shape as a template, e.g. ",
                                   option(axis_name, "H,W,C"), "."), subject=name)
        if axis_name not in params and axis_name not in dim_names:
            known = list(params) + dim_names
            raise ShapeguardError(
                f"axis {axis_name!r} names neither a parameter nor a template dimension"
                f" ({', '.join(known)}).{suggest(axis_name, known)}",
                subject=name,
            )
    for dim in dim_names:  # a name only inside expressions must exist somewhere
        if dim not in axes and inferred_dim_values(dim) is None:
            known = [p for p in params if p not in tensor_params] + [d for d in dim_names if d != dim]
            if dim in bare:
                hint = suggest(dim, known)
                raise ShapeguardError((f"template dimension {dim!r} has no values; give some, e.g. ",
                                       AxisOption(dim, (8, 16)), f".{hint}"), subject=name)
            template, expr = next((t, d) for t in templates for c in t.choices for d in _shapes_dims(c)
                                  if isinstance(d, Expr) and dim in d.names)
            with _template_door(name, option(template.param, template.text)):
                check_names(expr, known + list(axes), None)
    return dim_names


def _axes(name: str, params: dict, axes: dict, templates: list, tensor_params: set,
          dim_names: list, evidence: Mapping) -> tuple[list[Axis], list]:
    """The axes (given, then inferred dimensions, template choices, inferred
    parameters) and the constants (parameters kept at their default); one
    error naming every parameter still without values. ``evidence``: what
    the block's source says about each parameter (`_evidence`). Given axes
    are never widened: with any given, a parameter the caller did not name
    keeps its default, or is held at one value when it has none."""
    result: list[Axis] = []
    sizes = _bare_dims(templates)
    for axis_name, values in axes.items():
        is_dim = axis_name in dim_names
        default = params[axis_name].default if axis_name in params and not is_dim else NO_DEFAULT
        result.append(_make_axis(name, axis_name, values, default, is_dim, size=axis_name in sizes))
    for dim in dim_names:
        if dim not in axes:
            values, rule = infer_dim(dim)
            result.append(replace(_make_axis(name, dim, values, NO_DEFAULT, True), inferred=rule))
    for template in templates:
        if len(template.choices) > 1:
            result.append(Axis(template.param, template.labels, inferred=template.inferred))
    constants, missing = [], []
    for p in params.values():
        if p.name in axes or p.name in tensor_params:
            continue
        inferred = infer_param(p, evidence.get(p.name), widen=not axes)
        if inferred is not None:
            result.append(replace(_make_axis(name, p.name, inferred[0], p.default, False), inferred=inferred[1]))
        elif p.default is NO_DEFAULT:
            missing.append(p.name)
        else:
            constants.append((p.name, p.default))
    if missing:
        raise _missing_error(name, [params[n] for n in missing])
    return result, constants


@contextmanager
def _template_door(name: str, option: InputOption | InputShapeOption) -> Iterator[None]:
    """Re-raise a template's error naming the template as each door spells it:
    ``inputs={'x': 'H,H,C/2'}`` in Python, ``--input x=H,H,C/2`` on the command line."""
    try:
        yield
    except ShapeguardError as exc:
        raise exc.with_context(subject=name, option=option) from None


def _shapes_dims(choice) -> list:
    if choice is None:
        return []
    if isinstance(choice, TensorList):
        return [d for s in choice.shapes for d in s]
    return list(choice)


def _parse_conditions(where: Any, name: str, known: list[str], tensors: set = frozenset()) -> list[Condition]:
    """``where``: a string, a callable of the point dict, or a list of them.
    Names must be axes or parameters; a tensor parameter has no value to test."""
    if where is None:
        return []
    items = list(where) if isinstance(where, (list, tuple)) else [where]
    conditions = []
    for item in items:
        if callable(item):
            conditions.append((getattr(item, "__name__", "constraint"), item))
            continue
        if not isinstance(item, str):
            raise ShapeguardError(f"where={item!r} is neither an expression (a string) nor a callable.", subject=name)
        option = WhereOption(item)  # the errors name the constraint as each door spells it
        try:
            expr = parse_condition(item, option)
            tensor = next((n for n in sorted(expr.names) if n in tensors and n not in known), None)
            if tensor is not None:
                raise ShapeguardError((option, f" names the tensor parameter {tensor!r}, which has no value to "
                                       "test; name its template's dims instead (e.g. C, H)."))
            check_names(expr, known, option)
        except ShapeguardError as exc:
            raise exc.with_context(subject=name) from None
        conditions.append((item, expr))
    return conditions


def _missing_error(name: str, missing: list[inspect.Parameter]) -> ShapeguardError:
    """One sentence listing every parameter still without values, each with
    the form to give it; a parameter that holds an object (`_object_kind`:
    a config, a backbone model) is said to need one, given by name."""
    objects = [(p.name, _object_kind(p)) for p in missing if _object_kind(p)]
    values = [p.name for p in missing if not _object_kind(p)]
    parts: list = []
    if values:
        noun = "parameter" if len(values) == 1 else "parameters"
        parts.append(f"{noun} with no default and no values to try; give values for ")
    for i, param in enumerate(values):
        if TENSOR_LIKE_NAMES.match(param):
            parts += [", " * (i > 0) + f"{param} (a tensor? ", InputOption(param, "H,H,C"), ")"]
        else:
            parts += [", " * (i > 0) + f"{param} (", AxisOption(param, tuple(CHANNEL_VALUES[:2])), ")"]
    for i, (param, kind) in enumerate(objects):
        parts += ["; " if values or i else "", f"{param} needs a value shapeguard cannot make ({kind}); give one, e.g. ",
                  ObjectOption(param)]
    return ShapeguardError((*parts, "."), subject=name)


def _object_kind(p: inspect.Parameter) -> str:
    """What object a parameter without values holds, when it holds one:
    annotated with a class that is not a number, string or sequence
    (``backbone: keras.Model``), or named like a config or a model
    (`OBJECT_NAMES`); "" otherwise."""
    annotation = p.annotation
    if annotation is not NO_DEFAULT and annotation not in _SCALAR_ANNOTATIONS:
        if inspect.isclass(annotation):
            return f"a {annotation.__qualname__}"
        if isinstance(annotation, str) and annotation.isidentifier() or isinstance(annotation, str) and all(
                part.isidentifier() for part in annotation.split(".")):
            return f"a {annotation.rpartition('.')[2]}"
    if OBJECT_NAMES.match(p.name):
        return "an object"
    if FUNCTION_NAMES.match(p.name):
        return "a function"
    return ""


def _bare_dims(templates: list) -> set:
    """Names that are a whole template dim (``C`` in ``"H,H,C"``): their values
    are sizes. A name only inside expressions (``o`` in ``"2*H-o"``) may be 0
    or negative; only the dims it makes must be positive (else the point is skipped)."""
    return {d.text for t in templates for c in t.choices for d in _shapes_dims(c)
            if isinstance(d, Expr) and d.text == next(iter(d.names), None)}


def _make_axis(name, axis_name, values, default, is_dim, size: bool = True) -> Axis:
    axis = f"axis {axis_name!r}"
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        values = [values]
    values = list(values)
    if not values:
        raise ShapeguardError(f"{axis} has no values.", subject=name)
    for v in values:  # the report, JSON and the reproducing call must read the same in every run
        if unstable(v):
            raise ShapeguardError(f"{axis}: a {type(v).__module__}.{type(v).__qualname__} value has no stable form "
                                  "(its repr holds a memory address, so reports would differ from run to run); "
                                  "give a function, a class, or a value whose repr is its own.", subject=name)
    if is_dim:
        for v in values:
            if isinstance(v, bool) or not isinstance(v, int):
                raise ShapeguardError(f"{axis}: {v!r} is not an integer; a tensor dimension needs a positive "
                                      "integer size.", subject=name)
            if size and v <= 0:
                raise ShapeguardError(f"{axis}: {v} is not a valid size; a tensor dimension must be a positive "
                                      "integer.", subject=name)
            if abs(v) > MAX_DIM:
                raise ShapeguardError(f"{axis}: {v} is too large; a tensor dimension can be at most {MAX_DIM} "
                                      "(2**31-1).", subject=name)
    return Axis(axis_name, preference_order(values, default), default, is_dim)
