"""The parameter space: which values each axis takes and how a point becomes a call.

An *axis* is a name with a finite list of values. It is either a parameter of
the block (``filters``, ``strides``, ``conv_shortcut``) or a dimension named in
an input template (``C`` in ``"H,W,C"``). A *point* picks one value per axis,
written as a tuple of indices into the axes' value lists.

Values are kept in *preference order*: the parameter's default first (when the
axis has one), then the rest in ascending order (``False`` before ``True``;
strings as given). Shrinking moves towards the front of every list, so "minimal"
means "as close to the defaults and as small as possible" (see README).

This module imports nothing from Keras: building a space is cheap and happens at
decoration time, so a bad axis name fails at import, not mid-search.
"""

from __future__ import annotations

import difflib
import inspect
import itertools
import math
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterator, Mapping

from .errors import ShapeguardError

NO_DEFAULT = inspect.Parameter.empty

# Inference rules (documented in the README under "Inferred axes").
TENSOR_PARAM_NAMES = ("x", "inputs", "input", "input_tensor", "tensor")
CHANNEL_VALUES = (8, 16, 32, 64)
SPATIAL_VALUES = (7, 8)  # always one odd size: odd sizes break stride-2 joins
NAMED_VALUES: Mapping[str, tuple] = {
    "filters": CHANNEL_VALUES,
    "units": CHANNEL_VALUES,
    "channels": CHANNEL_VALUES,
    "out_channels": CHANNEL_VALUES,
    "num_filters": CHANNEL_VALUES,
    "strides": (1, 2),
    "stride": (1, 2),
    "kernel_size": (1, 3, 5),
}
CHANNEL_DIMS = ("C", "channels", "D")
SPATIAL_DIMS = ("H", "W", "T", "L", "S", "depth", "height", "width")
INFERRED_TEMPLATE = ("H", "H", "C")


@dataclass(frozen=True)
class Axis:
    name: str
    values: tuple
    default: Any = NO_DEFAULT
    is_dim: bool = False  # a tensor dimension from a template, not a parameter


@dataclass(frozen=True)
class Template:
    """The shape of one tensor parameter, batch dimension left out."""

    param: str
    dims: tuple  # each an int or an axis name

    def __str__(self) -> str:
        return ",".join(str(d) for d in self.dims)


@dataclass(frozen=True)
class Argument:
    """One argument of a probe call: a value, or a tensor of the given shape."""

    name: str
    value: Any = None
    shape: tuple | None = None  # set for tensor parameters
    positional: bool = False


@dataclass(frozen=True)
class Space:
    axes: tuple[Axis, ...]
    templates: tuple[Template, ...]
    signature: inspect.Signature

    @property
    def size(self) -> int:
        return math.prod(len(a.values) for a in self.axes)

    def as_dict(self) -> dict[str, list]:
        return {a.name: list(a.values) for a in self.axes}

    def points(self) -> Iterator[tuple[int, ...]]:
        """Every point, in preference order of the index tuple."""
        return itertools.product(*(range(len(a.values)) for a in self.axes))

    def values(self, point: tuple[int, ...]) -> dict[str, Any]:
        return {a.name: a.values[i] for a, i in zip(self.axes, point)}

    def index_of(self, example: Mapping[str, Any]) -> tuple[int, ...] | None:
        """The point with these values, or None if one is no longer in the space."""
        try:
            return tuple(a.values.index(example[a.name]) for a in self.axes)
        except (KeyError, ValueError):
            return None

    def arguments(self, point: tuple[int, ...]) -> list[Argument]:
        """The call a point stands for: tensor shapes and searched values, in
        signature order. Parameters that are not searched keep their default."""
        values = self.values(point)
        shapes = {
            t.param: tuple(values[d] if isinstance(d, str) else d for d in t.dims)
            for t in self.templates
        }
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


def call_string(name: str, arguments: list[Argument]) -> str:
    """One line of Python that makes the same call with plain Keras."""
    parts = []
    for arg in arguments:
        text = f"keras.Input(shape={arg.shape!r})" if arg.shape is not None else repr(arg.value)
        parts.append(text if arg.positional else f"{arg.name}={text}")
    return f"{name}({', '.join(parts)})"


def parse_template(text: str | tuple | list, where: str) -> tuple:
    """``"H,W,C"`` or ``(7, 7, "C")`` -> a tuple of ints and axis names."""
    raw = text.split(",") if isinstance(text, str) else list(text)
    dims = []
    for item in raw:
        item = item.strip() if isinstance(item, str) else item
        if isinstance(item, bool) or item == "":
            raise ShapeguardError(f"{where}: {text!r} is not a template; write dims like 'H,W,C' or '8,8,C'.")
        if isinstance(item, str) and item.lstrip("-").isdigit():
            item = int(item)
        if isinstance(item, int):
            if item <= 0:
                raise ShapeguardError(f"{where}: dimension {item} in template {text!r} must be a positive integer.")
        elif not (isinstance(item, str) and item.isidentifier()):
            raise ShapeguardError(f"{where}: {item!r} in template {text!r} is neither a positive integer nor an axis name.")
        dims.append(item)
    if not dims:
        raise ShapeguardError(f"{where}: the template is empty; write dims like 'H,W,C'.")
    return tuple(dims)


def preference_order(values, default=NO_DEFAULT) -> tuple:
    """Default first, then ascending numbers / False before True / given order."""
    values = list(dict.fromkeys(values))  # drop repeats, keep order
    rest = [v for v in values if not _same(v, default)]
    if all(isinstance(v, bool) for v in rest) or all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in rest
    ):
        rest.sort()
    head = [v for v in values if _same(v, default)]
    return tuple(head + rest)


def _same(a, b) -> bool:
    return a is b or (type(a) is type(b) and a == b)


def _suggest(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def build_space(
    fn: Callable,
    axes: Mapping[str, Any] | None = None,
    inputs: Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
) -> Space:
    """The space for ``fn``: the given axes and templates, the rest inferred."""
    name = name or getattr(fn, "__qualname__", repr(fn))
    axes = dict(axes or {})
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise ShapeguardError(f"{name}: cannot read its signature ({exc}).") from None
    if list(signature.parameters)[:1] in (["self"], ["cls"]):
        # A method seen through its class (as at decoration time): its instance
        # is bound before any check runs, so `self` is not part of the space.
        signature = signature.replace(parameters=list(signature.parameters.values())[1:])
    params = {
        p.name: p
        for p in signature.parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }

    templates = []
    for param, text in (inputs or {}).items():
        if param not in params:
            raise ShapeguardError(
                f"{name}: input template for {param!r}, which is not a parameter of {name}.{_suggest(param, params)}"
            )
        templates.append(Template(param, parse_template(text, f"{name}: input {param!r}")))
    if not templates:
        tensor = _guess_tensor_param(params, axes)
        if tensor is None:
            raise ShapeguardError(
                f"{name}: no parameter to pass a tensor to; name one with inputs={{'x': 'H,W,C'}}."
            )
        templates.append(Template(tensor, INFERRED_TEMPLATE))
    tensor_params = {t.param for t in templates}

    dim_names = list(dict.fromkeys(d for t in templates for d in t.dims if isinstance(d, str)))
    for axis_name in axes:
        if axis_name in tensor_params:
            raise ShapeguardError(
                f"{name}: {axis_name!r} is the tensor parameter; give its shape as a template, e.g. inputs={{{axis_name!r}: 'H,W,C'}}."
            )
        if axis_name not in params and axis_name not in dim_names:
            raise ShapeguardError(
                f"{name}: axis {axis_name!r} names neither a parameter nor a template dimension"
                f" ({', '.join(list(params) + dim_names)}).{_suggest(axis_name, list(params) + dim_names)}"
            )

    result: list[Axis] = []
    for axis_name, values in axes.items():
        default = params[axis_name].default if axis_name in params and axis_name not in dim_names else NO_DEFAULT
        result.append(_make_axis(name, axis_name, values, default, axis_name in dim_names))
    for dim in dim_names:
        if dim not in axes:
            result.append(_make_axis(name, dim, _inferred_dim_values(name, dim), NO_DEFAULT, True))
    for p in params.values():
        if p.name in axes or p.name in tensor_params or p.name in dim_names:
            continue
        inferred = _inferred_param_values(p)
        if inferred is not None:
            result.append(_make_axis(name, p.name, inferred, p.default, False))
        elif p.default is NO_DEFAULT:
            raise ShapeguardError(
                f"{name}: parameter {p.name!r} has no default and no values to try; give it some, e.g. {p.name}=[...]."
            )
    return Space(tuple(result), tuple(templates), signature)


def _guess_tensor_param(params, axes) -> str | None:
    for candidate in TENSOR_PARAM_NAMES:
        if candidate in params and candidate not in axes:
            return candidate
    for p in params.values():
        if p.name not in axes and p.default is NO_DEFAULT:
            return p.name
    return None


def _inferred_dim_values(name: str, dim: str) -> tuple:
    if dim in CHANNEL_DIMS:
        return CHANNEL_VALUES
    if dim in SPATIAL_DIMS:
        return SPATIAL_VALUES
    raise ShapeguardError(f"{name}: template dimension {dim!r} has no values; give some, e.g. {dim}=[8, 16].")


def _inferred_param_values(p: inspect.Parameter) -> tuple | None:
    if isinstance(p.default, bool) or p.annotation in (bool, "bool"):
        return (False, True) if p.default is NO_DEFAULT else (p.default, not p.default)
    if p.name in NAMED_VALUES:
        values = NAMED_VALUES[p.name]
        return values if p.default is NO_DEFAULT else (p.default, *values)
    return None


def _make_axis(name, axis_name, values, default, is_dim) -> Axis:
    where = f"{name}: axis {axis_name!r}"
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        values = [values]
    values = list(values)
    if not values:
        raise ShapeguardError(f"{where} has no values.")
    if is_dim:
        for v in values:
            if isinstance(v, bool) or not isinstance(v, int):
                raise ShapeguardError(f"{where}: {v!r} is not an integer; a tensor dimension needs a positive integer size.")
            if v <= 0:
                raise ShapeguardError(f"{where}: {v} is not a valid size; a tensor dimension must be a positive integer.")
    return Axis(axis_name, preference_order(values, default), default, is_dim)
