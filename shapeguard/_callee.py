"""What a target is and how one point becomes a call of it, decided once before any probe.

A target is one of four kinds, and the report's reproducing call reads as the
user would write it:

* a **function** that takes the tensors: ``block(keras.Input(shape=(7, 7, 16)), filters=32)``;
* a **layer**, a class whose instances are called on the tensors (a
  `keras.layers.Layer` or `keras.Model` subclass, or any class with
  ``__call__``): ``MyBlock(filters=32)(keras.Input(shape=(7, 7, 16)))``. The
  searched parameters are ``__init__``'s and the tensors are ``call()``'s
  (``training``/``mask`` keep their defaults). Every probe builds a *fresh*
  instance and calls it through ``__call__``, so ``build`` runs at each point's
  shapes;
* a **factory**, a function with no tensor parameter that returns the callable
  to apply: ``FusedMBConvBlock(input_filters=16, ...)(keras.Input(shape=(7, 7, 16)))``;
* a **model builder**, a function with no tensor parameter that makes its own
  ``keras.Input`` and returns built model(s): ``build(look_back=10)``, called
  once, its result never called again. Which of the two a call was is decided
  from its result: built model(s) pass as they are, only an unbuilt callable is
  applied to the inputs. A builder whose source makes no ``keras.Input`` is
  taken for a factory until its first call returns built model(s) (then the
  engine checks it as a builder, `Callee.as_builder`);
* a **model builder taking a shape**, not a tensor (``input_shape=(7, 7, 3)``,
  ``data_shape=``, ``img_shape=``, ``image_shape=``, ``shape=``, as
  keras.applications do): the parameter gets the template as a tuple (of the
  rank of its own tuple default, kept in ``shape_defaults``) and the model it
  returns is traced on a `keras.Input` of that shape unless already built.

A probe passes only when the call returned a tensor or built model(s) (a
model, or a tuple, list or dict of them, every one built): a target that
returns None, or hands back a function after being given the tensor, is an
error (`NoTensor`), never a pass.

`Callee` exposes ``__signature__`` (the searched parameters, tensors first), so
`space.build_space` applies the same inference and contract rules to
constructor parameters as to a function's.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
import sys
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

from ._evidence import INPUT_MAKERS  # a function that calls one makes its own inputs: a builder
from ._inference import INFERRED_TEMPLATE, INFERRED_TEMPLATES, TENSOR_PARAM_NAMES, KerasFunction
from ._show import call_string
from .errors import SUBJECT, ShapeguardError
from .space import Argument, build_space

FUNCTION, LAYER, FACTORY, BUILDER = "function", "layer", "factory", "builder"
FACTORY_TENSOR = "inputs"  # the parameter name shown for what a factory's result takes
# Builders taking a shape tuple (keras.applications' input_shape, and the names tutorials use).
SHAPE_PARAM_NAMES = ("input_shape", "data_shape", "img_shape", "image_shape", "shape")
NON_TENSOR_CALL_PARAMS = ("training", "mask")
# Parameter names that never hold a tensor: sizes, counts, ratios, labels.
_VALUE_NAME = re.compile(
    r"(^|_)(name|prefix|filters?|channels?|units|size|dims?|ratio|rate|momentum|probability|"
    r"activation|strides?|groups|heads|id|idx|index|axis|depth|padding|expansion|factor|"
    r"classes|layers|blocks|dropout|epsilon|alpha|kernel|dilation|use_bias|data_format|stage|"
    r"num_\w+|n_\w+)$"
)


class NoTensor(Exception):
    """The target returned no tensor: nothing was built from the inputs."""


@dataclass
class Callee:
    """A target resolved for probing. Call it as the space's arguments say
    (``callee(tensor, filters=32)``); it makes the real call and checks that a
    tensor came back (raising `NoTensor` otherwise)."""

    name: str  # how the reproducing call names the target: block, Blocks().block, MyBlock
    kind: str  # FUNCTION, LAYER, FACTORY or BUILDER
    target: Callable
    signature: inspect.Signature  # the searched parameters: tensors first
    inputs: dict | None  # templates for build_space (None: let it infer)
    tensors: tuple = ()  # parameters passed to the second call (layer, factory)
    shape_params: frozenset = frozenset()  # receive the template as a tuple
    notes: list = field(default_factory=list)  # what the report should say about the call
    label: str = ""  # how errors name the target (the CLI's target text)
    traced: bool = False  # a builder returned an unbuilt model, traced on the shapes
    shape_defaults: dict = field(default_factory=dict)  # shape parameter -> its own tuple default
    built_calls: set = field(default_factory=set)  # a factory's calls (`_call_key`) that returned built models
    raised_calls: set = field(default_factory=set)  # a factory's calls that raised before anything was applied

    @property
    def __signature__(self) -> inspect.Signature:
        return self.signature

    @property
    def __wrapped__(self) -> Callable:
        """The target itself, so that `inspect.unwrap` finds its source file."""
        return self.target

    def space(self, axes: Mapping[str, Any] | None, *, where: Any = None, rank: int | None = None):
        """`space.build_space` over this target's parameters (constructor and
        factory parameters included, by the same rules as a function's)."""
        return build_space(self, axes, self.inputs, name=self.label or self.name, where=where, rank=rank,
                           shape_params=self.shape_params, tensors=self.kind != BUILDER)

    def as_builder(self) -> Callee:
        """This factory as the model builder its first call showed it to be
        (it returned built models): no tensor, no second call, no factory note."""
        values = [p for p in self.signature.parameters.values() if p.name not in self.tensors]  # **kwargs too
        return replace(self, kind=BUILDER, signature=inspect.Signature(values), inputs=None, tensors=(),
                       notes=[n for n in self.notes if n != _factory_note(self.name)], built_calls=set(),
                       raised_calls=set())

    def bound_values(self, *args, **kwargs) -> tuple[inspect.BoundArguments, dict]:
        """The call's arguments bound to the signature, and the values the
        target gets by name: Keras functions resolved, a factory's or builder's
        ``**kwargs`` spread, each shape parameter's tensor as its shape tuple."""
        bound = self.signature.bind(*args, **kwargs)
        bound.arguments.update({k: v.resolve() for k, v in bound.arguments.items() if isinstance(v, KerasFunction)})
        values = dict(bound.arguments)
        for param in self.signature.parameters.values():
            if param.kind == param.VAR_KEYWORD and self.kind != FUNCTION:  # a factory's or builder's keywords
                values.update(values.pop(param.name, {}))
        for param in self.shape_params:
            values[param] = _shape_of(values[param])
        return bound, values

    def __call__(self, *args, **kwargs):
        bound, values = self.bound_values(*args, **kwargs)
        shapes = [values[p] for p in self.shape_params]
        if self.kind == FUNCTION:
            bound.arguments.update(values)
            result = self.target(*bound.args, **bound.kwargs)
            if _is_callable_result(result) and not shapes and not _is_built(result):
                raise NoTensor(
                    f"{self.name} returned {_what(result)} after being given the tensor; if it is a "
                    f"factory, give the tensor its result takes a template under a name {self.name} does not "
                    f"have, e.g. inputs={{{FACTORY_TENSOR!r}: 'H,W,C'}}"
                )
            return self._checked(result, shapes)
        if self.kind == BUILDER:
            result = self.target(**values)
            if _is_callable_result(result) and not _built_models(result):
                raise NoTensor(
                    f"{self.name} returned {_what(result)} to apply, not a built model; if it is a factory, give "
                    f"the tensor its result takes a template, e.g. inputs={{{FACTORY_TENSOR!r}: 'H,W,C'}}"
                )
            return self._checked(result, shapes)
        tensors = [values.pop(p) for p in self.tensors]
        try:
            made = self.target(**values)  # a fresh layer, or what the factory returns
        except BaseException:
            if self.kind == FACTORY:  # the call to reproduce is this one: nothing was applied yet
                self.raised_calls.add(_call_key(values))
            raise
        if self.kind == FACTORY:
            if _built_models(made):  # a builder after all: its models are the result, never called again
                self.built_calls.add(_call_key(values))
                return made
            if not callable(made):
                raise NoTensor(
                    f"{self.name} returned {_what(made)}, neither a tensor nor a callable to apply to the inputs"
                )
            if _factory_note(self.name) not in self.notes:
                self.notes.insert(0, _factory_note(self.name))
        first, rest = tensors[0], dict(zip(self.tensors[1:], tensors[1:]))
        return self._checked(made(first, **rest), shapes)

    def _checked(self, result, shapes: list):
        """The call's result, if it is a tensor, holds one, or is built model(s)
        (a functional model made from the inputs, or several: `_built_models`);
        a model a shape-taking builder returned unbuilt is traced on inputs of
        those shapes."""
        if _has_tensor(result) or _built_models(result):
            return result
        if shapes and _is_layer(result):
            import keras

            self.traced = True
            result = result(*(keras.Input(shape=s) for s in shapes))
            if _has_tensor(result):
                return result
        raise NoTensor(f"{self.name} returned {_what(result)}, not a tensor: nothing was built from the inputs")

    def render(self, arguments: list[Argument], on_data: bool = False) -> str:
        """The reproducing call for one point's arguments (`Space.arguments`);
        ``on_data``: on arrays of zeros instead of `keras.Input` tensors."""
        shown = []
        for arg in arguments:
            if arg.name in self.shape_params:  # by keyword: input_shape=(7, 7, 3) reads on its own
                arg = Argument(arg.name, value=arg.shape)
            shown.append(arg)
        if self.kind == BUILDER:
            return call_string(self.name, shown, on_data)
        if self.kind == FUNCTION:
            call = call_string(self.name, shown, on_data)
            if self.traced:  # the builder's model, called as shapeguard called it
                shapes = [a.value for a in shown if a.name in self.shape_params]
                tensors = [Argument(f"_{i}", shape=s, positional=True) for i, s in enumerate(shapes)]
                call += call_string("", tensors, on_data)
            return call
        outer = [replace(a, positional=False) for a in shown if a.name not in self.tensors]
        key = _call_key({a.name: a.value for a in outer})
        if self.kind == FACTORY and (key in self.built_calls or key in self.raised_calls):
            return call_string(self.name, outer, on_data)  # it returned built models, or raised: nothing was applied
        inner = [a for a in shown if a.name in self.tensors]
        inner = [replace(a, positional=i == 0) for i, a in enumerate(inner)]
        return call_string(self.name, outer, on_data) + call_string("", inner, on_data)


def resolve(
    target: Callable,
    inputs: Mapping[str, Any] | None = None,
    input_shapes: Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    call_name: str | None = None,
) -> Callee:
    """Decide what ``target`` is (module doc) and how to call it. ``inputs``
    maps tensor parameters to templates; ``input_shapes`` maps parameters that
    take a shape tuple. Raises `ShapeguardError` for a target that cannot be a block."""
    label = name or getattr(target, "__qualname__", None) or repr(target)
    call_name = call_name or getattr(target, "__name__", label)
    inputs, input_shapes = dict(inputs or {}), dict(input_shapes or {})
    both = set(inputs) & set(input_shapes)
    if both:
        raise ShapeguardError(f"{sorted(both)[0]!r} is given both a tensor template and an input shape; give one.",
                              subject=label)
    if inspect.isclass(target):
        callee = _resolve_class(target, inputs, input_shapes, label, call_name)
    elif callable(target):
        callee = _resolve_function(target, inputs, input_shapes, label, call_name)
    else:
        raise ShapeguardError((SUBJECT, f" is {_what(target)}, not a function or a layer class."), subject=label)
    callee.label = label
    return callee


def _resolve_class(cls: type, inputs: dict, input_shapes: dict, label: str, call_name: str) -> Callee:
    layer = is_layer_class(cls)
    if not layer and not defines_call(cls):
        raise ShapeguardError(
            (SUBJECT, " is a class that is neither a keras Layer nor callable; "
                      f"name one of its methods, as in {call_name}.method."),
            subject=label,
        )
    method = cls.call if layer else cls.__call__
    method_name = "call" if layer else "__call__"
    call_params = _parameters(_signature(method, label, f".{method_name}"))[1:]  # drop self
    call_names = [p.name for p in call_params]
    templates = {**inputs, **input_shapes}
    unknown = [n for n in templates if n not in call_names and n not in _init_names(cls, label)]
    if unknown:
        raise ShapeguardError(
            f"input template for {unknown[0]!r}, which is neither a parameter of "
            f"{call_name}.{method_name}() nor of {call_name}().",
            subject=label,
        )
    tensors = [
        p for p in call_params
        if p.name in templates
        or (p.default is p.empty and p.name not in NON_TENSOR_CALL_PARAMS and p.kind != p.KEYWORD_ONLY)
    ]
    if not tensors:
        raise ShapeguardError(
            f"{call_name}.{method_name}() has no tensor parameter "
            f"({', '.join(call_names) or 'no parameters'}); a layer is called on at least one tensor.",
            subject=label,
        )
    init = [p for p in _parameters(_signature(cls, label, "()")) if p.name not in {t.name for t in tensors}]
    clash = {p.name for p in init} & set(call_names)
    if clash:
        raise ShapeguardError(
            f"{sorted(clash)[0]!r} is a parameter of both {call_name}() and "
            f"{call_name}.{method_name}(); shapeguard cannot tell which one an axis means.",
            subject=label,
        )
    signature = _signature_of(tensors, init)
    # One tensor and no template: let the space infer it, as for a function.
    # (A template may also name a constructor parameter: MyModel(input_shape=...).)
    given = {t.name: templates.get(t.name, ",".join(INFERRED_TEMPLATE)) for t in tensors}
    chosen = {**given, **templates} if templates or len(tensors) > 1 else None
    return Callee(call_name, LAYER, cls, signature, chosen, tuple(t.name for t in tensors), frozenset(input_shapes))


def _resolve_function(fn: Callable, inputs: dict, input_shapes: dict, label: str, call_name: str) -> Callee:
    full = _signature(fn, label)
    params = _parameters(full)
    if params[:1] and params[0].name in ("self", "cls"):
        params = params[1:]  # a method seen through its class
    # **kwargs is kept, so that an axis the space passes by keyword reaches it (space._keyword_axes).
    var_keyword = [p for p in full.parameters.values() if p.kind == p.VAR_KEYWORD]
    names = {p.name for p in params}
    templates = {**inputs, **input_shapes}
    shape_defaults = {p.name: tuple(p.default) for p in params
                      if p.name in SHAPE_PARAM_NAMES and _is_shape(p.default)}
    if not input_shapes and not inputs:
        shape_param = next((p for p in params if p.name in SHAPE_PARAM_NAMES), None)
        if shape_param is not None and not any(_looks_like_tensor(p) for p in params):
            # The template has the rank of the builder's own default: (28, 28, 1) -> H,H,C; (10, 1) -> T,C.
            rank = len(shape_defaults.get(shape_param.name, INFERRED_TEMPLATE))
            input_shapes = {shape_param.name: ",".join(INFERRED_TEMPLATES.get(rank, INFERRED_TEMPLATE))}
            templates = dict(input_shapes)
    outside = [n for n in templates if n not in names]
    # A factory has no parameter a tensor can go to: templates then name what its result takes.
    factory = len(outside) == len(templates) and not any(_looks_like_tensor(p) for p in params)
    if factory and templates and var_keyword and not params:
        factory = False  # def block(**kwargs) given a template: the tensor goes into its **kwargs
    if not factory:
        signature = inspect.Signature(params + var_keyword)
        return Callee(call_name, FUNCTION, fn, signature, templates or None,
                      shape_params=frozenset(input_shapes), shape_defaults=shape_defaults)
    if not templates and _makes_own_inputs(fn):  # no tensor to take, its own keras.Input: a model builder
        return Callee(call_name, BUILDER, fn, _signature_of([], params, var_keyword), None,
                      shape_defaults=shape_defaults)
    tensor_names = outside or [FACTORY_TENSOR]
    tensors = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in tensor_names]
    signature = _signature_of(tensors, params, var_keyword)
    # The factory note is added by the first call whose result is applied (`Callee.__call__`).
    return Callee(call_name, FACTORY, fn, signature, templates or None, tuple(tensor_names),
                  frozenset(input_shapes), shape_defaults=shape_defaults)


def _factory_note(name: str) -> str:
    return f"{name} is a factory: the callable it returns is applied to the inputs"


def _call_key(values: Mapping[str, Any]) -> tuple:
    """A factory call's values, as `render` and `__call__` both see them."""
    return tuple(sorted((name, repr(value)) for name, value in values.items()))


def _is_shape(value) -> bool:
    return isinstance(value, (tuple, list)) and bool(value) and all(
        v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in value)


def _makes_own_inputs(fn: Callable) -> bool:
    """Whether ``fn``'s source calls ``keras.Input`` (or ``Input``,
    ``layers.Input``, ``InputLayer``): a function with no tensor parameter
    that does makes its own inputs, so it is a model builder, not a factory."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(inspect.unwrap(fn))))
    except (OSError, TypeError, SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            if name in INPUT_MAKERS:
                return True
    return False


def _signature_of(tensors: list, values: list, var_keyword: list = ()) -> inspect.Signature:
    """Tensors first (positional, so the space passes them first), then values
    by keyword (and ``**kwargs``, if the target has it)."""
    P = inspect.Parameter
    return inspect.Signature(
        [t.replace(kind=P.POSITIONAL_OR_KEYWORD, default=P.empty) for t in tensors]
        + [v.replace(kind=P.KEYWORD_ONLY) for v in values] + list(var_keyword)
    )


def _parameters(signature: inspect.Signature) -> list[inspect.Parameter]:
    return [p for p in signature.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _signature(obj: Any, label: str, part: str = "") -> inspect.Signature:
    """``obj``'s signature; ``part`` names it within the target ``label`` (``.call``, ``()``)."""
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError) as exc:
        raise ShapeguardError((SUBJECT, f"{part}: cannot read its signature ({exc})."), subject=label) from None


def _init_names(cls: type, label: str) -> set:
    return {p.name for p in _parameters(_signature(cls, label, "()"))}


def _looks_like_tensor(p: inspect.Parameter) -> bool:
    """A parameter that can take the block's input: named like a tensor, or
    required and not named like a size, ratio or label."""
    if p.name in TENSOR_PARAM_NAMES:
        return True
    if p.name in SHAPE_PARAM_NAMES:
        return False
    return p.default is p.empty and p.kind != p.KEYWORD_ONLY and not _VALUE_NAME.search(p.name)


def is_layer_class(cls: type) -> bool:
    if "keras" not in sys.modules:  # a Keras class cannot exist before Keras is imported
        return False
    import keras

    return issubclass(cls, keras.layers.Layer)


def defines_call(cls: type) -> bool:
    return any("__call__" in vars(k) for k in cls.__mro__ if k is not object)


def _shape_of(tensor) -> tuple:
    """The template a shape parameter stands for: the probe's tensor, batch dim left out."""
    return tuple(tensor.shape[1:])


def _has_tensor(value) -> bool:
    if "keras" not in sys.modules:
        return False
    import keras

    try:
        leaves = keras.tree.flatten(value)
    except Exception:  # noqa: BLE001 - an object tree cannot walk holds no tensor
        return False
    return any(isinstance(leaf, keras.KerasTensor) for leaf in leaves)


def _is_callable_result(value) -> bool:
    return callable(value) and not inspect.isclass(value)


def _is_built(value) -> bool:
    return _is_layer(value) and bool(getattr(value, "built", False))


def _built_models(value) -> bool:
    """A built model (or layer), or a tuple, list or dict of them (``return
    autoencoder, encoder, decoder``), every one built."""
    if isinstance(value, (tuple, list)):
        return bool(value) and all(_built_models(v) for v in value)
    if isinstance(value, dict):
        return bool(value) and all(_built_models(v) for v in value.values())
    return _is_built(value)


def _layers_in(value) -> list | None:
    """The layers of a tuple, list or dict made of layers only; else None."""
    items = list(value.values()) if isinstance(value, dict) else list(value) if isinstance(value, (tuple, list)) else None
    if not items or not all(_is_layer(v) or isinstance(v, (tuple, list, dict)) for v in items):
        return None
    found = []
    for item in items:
        inner = [item] if _is_layer(item) else _layers_in(item)
        if inner is None:
            return None
        found += inner
    return found


def _is_layer(value) -> bool:
    if "keras" not in sys.modules:
        return False
    import keras

    return isinstance(value, keras.layers.Layer)


def _what(value) -> str:
    """What was returned, without a memory address: ``None``, ``a function (make.<locals>.apply)``."""
    if value is None:
        return "None"
    if inspect.isfunction(value) or inspect.ismethod(value):
        return f"a function ({getattr(value, '__qualname__', value.__name__)})"
    if inspect.isclass(value):
        return f"the class {value.__qualname__}"
    kind = type(value).__name__
    article = "an" if kind[:1].lower() in "aeiou" else "a"
    models = _layers_in(value)
    if models:
        unbuilt = ", ".join(type(m).__name__ for m in models if not _is_built(m))
        return f"{article} {kind} of {len(models)} models, not all built (unbuilt: {unbuilt})"
    if isinstance(value, (int, float, str, bool)):
        return f"{article} {kind} ({value!r})"
    return f"{article} {kind}"
