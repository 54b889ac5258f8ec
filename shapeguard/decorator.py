"""``@guard``: declare a block's space where the block is written.

The decorated function is a wrapt proxy: calling it does exactly what the
function did (same result, same exception type, same signature, name and
docstring, also as a method). The one difference: when a shape error from Keras
escapes a call, its message gains the layer, its input shapes and the call's
arguments. ``block.check()`` runs shapeguard on the declared space.

On a class (a Layer subclass), ``@guard`` returns the class itself, unchanged
but for one attribute holding the spec: it stays a class for subclassing,
``isinstance`` and construction, and a subclass is not guarded unless
decorated too. Check it with ``shapeguard.check(MyBlock)``.
"""

from __future__ import annotations

import copy
import inspect
from typing import TYPE_CHECKING, Any, Callable, Concatenate, ParamSpec, Protocol, TypeVar, overload

import wrapt

from ._fitcontract import resolved
from ._settings import CheckSettings, split_settings
from ._spec import SPEC_ATTRIBUTE, WRAPPER_MARK, GuardSpec, refuse_lazy_functions, spec_of, unwrap
from .errors import ShapeguardError

if TYPE_CHECKING:
    from .report import Report

__all__ = ["Guarded", "guard", "spec_of", "unwrap"]

P = ParamSpec("P")
Q = ParamSpec("Q")
R = TypeVar("R", covariant=True)
S = TypeVar("S")
T = TypeVar("T")
C = TypeVar("C", bound=type)


class Guarded(Protocol[P, R]):
    """What type checkers see of a ``@guard``-decorated function: called as
    the function is (same parameters, same result), with ``check()``; a
    method's ``self`` is bound as a method's is."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R: ...

    def check(self, **overrides: Any) -> Report: ...

    @overload
    def __get__(self, instance: None, owner: type | None = None, /) -> Guarded[P, R]: ...

    @overload
    def __get__(self: Guarded[Concatenate[S, Q], T], instance: S, owner: type | None = None, /) -> Guarded[Q, T]: ...


class _Decorator(Protocol):
    """What ``guard(...)`` with options returns: a class stays itself, a function becomes `Guarded`."""

    @overload
    def __call__(self, fn: C, /) -> C: ...  # type: ignore[overload-overlap]  # a class is callable too

    @overload
    def __call__(self, fn: Callable[P, T], /) -> Guarded[P, T]: ...


def _call_with_context(wrapped, instance, args, kwargs):
    from ._probe import describe_value, enriched_errors  # imports no Keras until Keras raised

    def describe_call() -> str:
        parts = [describe_value(a) for a in args]
        parts += [f"{k}={describe_value(v)}" for k, v in kwargs.items()]
        return f"{wrapped.__name__}({', '.join(parts)})"

    with enriched_errors(describe_call):
        return wrapped(*args, **kwargs)


class _Checkable:
    def check(self, **overrides: Any) -> Report:
        """Run shapeguard on this function's space; keyword arguments override
        axes and options as in `shapeguard.check`. Returns a `Report`."""
        from .engine import check

        return check(self, **overrides)


class BoundGuardedFunction(_Checkable, wrapt.BoundFunctionWrapper):
    # Copied and pickled as a bound method is: the same method of the (copied) instance.
    def __reduce_ex__(self, protocol):
        owner = self._self_instance if self._self_instance is not None else self._self_owner
        return getattr, (owner, self.__name__)

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        if self._self_instance is None or isinstance(self._self_instance, type):
            return self  # reached through the class: nothing to copy
        return getattr(copy.deepcopy(self._self_instance, memo), self.__name__)


class GuardedFunction(_Checkable, wrapt.FunctionWrapper):
    __bound_function_wrapper__ = BoundGuardedFunction

    def __init__(self, wrapped: Callable, spec: GuardSpec):
        super().__init__(wrapped, _call_with_context)
        self._self_guard_spec = spec

    # A function is pickled by reference (module and qualified name) and is its
    # own copy; so is a guarded one (multiprocessing and config systems rely on it).
    def __reduce_ex__(self, protocol):
        return self.__qualname__

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


for _wrapper in (GuardedFunction, BoundGuardedFunction):
    setattr(_wrapper, WRAPPER_MARK, True)  # what `_spec.spec_of` and `_spec.unwrap` recognise


@overload
def guard(fn: C, /, *, axes: dict[str, Any] | None = None, inputs: dict[str, Any] | None = None,
          input_shapes: dict[str, Any] | None = None, where: Any = None, settings: CheckSettings | None = None,
          fit: dict[str, Any] | None = None, **more_axes: Any) -> C: ...


@overload
def guard(fn: Callable[P, T], /, *, axes: dict[str, Any] | None = None, inputs: dict[str, Any] | None = None,
          input_shapes: dict[str, Any] | None = None, where: Any = None, settings: CheckSettings | None = None,
          fit: dict[str, Any] | None = None, **more_axes: Any) -> Guarded[P, T]: ...


@overload
def guard(fn: None = None, /, *, axes: dict[str, Any] | None = None, inputs: dict[str, Any] | None = None,
          input_shapes: dict[str, Any] | None = None, where: Any = None, settings: CheckSettings | None = None,
          fit: dict[str, Any] | None = None, **more_axes: Any) -> _Decorator: ...


def guard(
    fn: Callable | None = None,
    /,
    *,
    axes: dict[str, Any] | None = None,
    inputs: dict[str, Any] | None = None,
    input_shapes: dict[str, Any] | None = None,
    where: Any = None,
    settings: CheckSettings | None = None,
    fit: dict[str, Any] | None = None,
    **more_axes: Any,
) -> Any:
    """Declare the space to check a block builder on.

    ``@guard(C=[16, 32], filters=[32, 64], inputs={"x": "H,W,C"})``: each keyword
    is an axis (a parameter of the function, or a dimension named in a template)
    with the values to try, as are the entries of ``axes={...}``; keywords that
    name a `CheckSettings` field (``max_examples``, ``seed``, ``exhaustive``,
    ``timeout``, ``strict``, ``database``) are settings, as in `shapeguard.check`.
    ``inputs`` maps tensor parameters to templates; ``where`` constrains the
    points (docs/how-to/contracts.md). ``input_shapes`` maps
    parameters taking a shape tuple (``input_shape``). ``fit`` is a model
    builder's data contract, ``fit={"x": "N,H,W", "y": "N"}`` (the sample
    count first; optional ``"loss"``): each model the builder makes in the
    space is also checked against one ``fit`` step on data of those shapes
    (docs/how-to/fit.md). Axes not given are
    inferred (docs/explanation/probing.md, "Inferred axes"). Bare ``@guard`` infers all. On a Layer
    subclass, axes are ``__init__``'s parameters and templates ``call()``'s.
    The space is checked now, so a misspelt axis or a bad setting fails at
    import time, as a `ShapeguardError`.

    Returns the class itself for a class, else a `GuardedFunction` (typed as
    `Guarded`: the function's own signature, plus ``check() -> Report``);
    with options and no function, the decorator that does so.
    """
    declared, more_axes = split_settings(settings, dict(more_axes))  # validated now, of the right type
    if settings is None and not declared.explicit:
        declared = None  # nothing declared: the check's settings and the defaults
    if axes is not None and not isinstance(axes, dict):
        raise ShapeguardError(f"axes must be a dict of axis name to values, not {axes!r:.60}.")
    for option, value in (("inputs", inputs), ("input_shapes", input_shapes)):
        if value is not None and not isinstance(value, dict):
            raise ShapeguardError(f"{option} must be a dict of parameter name to template, not {value!r:.60}.")
    spec = GuardSpec({**(axes or {}), **more_axes}, dict(inputs) if inputs else None, where,
                     dict(input_shapes) if input_shapes else None, declared, fit)

    def decorate(function: Callable):
        if isinstance(function, (staticmethod, classmethod)):
            kind = type(function).__name__
            raise ShapeguardError(
                f"@guard is written under @{kind}: write @{kind} above @guard, so that @guard sees the function."
            )
        if not callable(function):
            raise ShapeguardError(f"@guard decorates a function, not {type(function).__name__}.")
        refuse_lazy_functions(function, getattr(function, "__name__", "the function"))
        if not _is_layer_call(function):  # a Layer's space needs its class, which does not exist yet
            resolved(function, spec.inputs, spec.input_shapes, spec.fit).space(spec.axes, where=spec.where)
        if inspect.isclass(function):
            setattr(function, SPEC_ATTRIBUTE, spec)
            return function
        return GuardedFunction(function, spec)

    return decorate if fn is None else decorate(fn)


def _is_layer_call(function: Callable) -> bool:
    """``call(self, ...)`` being defined in a class body: its axes may be the class's."""
    if getattr(function, "__name__", None) != "call" or "." not in getattr(function, "__qualname__", ""):
        return False
    try:
        return list(inspect.signature(function).parameters)[:1] == ["self"]
    except (TypeError, ValueError):
        return False
