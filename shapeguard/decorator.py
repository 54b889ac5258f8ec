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
import types
from dataclasses import dataclass, field
from typing import Any, Callable

import wrapt

_SPEC_ATTRIBUTE = "_shapeguard_spec"


@dataclass(frozen=True)
class GuardSpec:
    axes: dict = field(default_factory=dict)
    inputs: dict | None = None
    max_examples: int | None = None
    seed: int | None = None
    where: Any = None
    input_shapes: dict | None = None


def _call_with_context(wrapped, instance, args, kwargs):
    from .probe import describe_value, enriched_errors

    def describe_call() -> str:
        parts = [describe_value(a) for a in args]
        parts += [f"{k}={describe_value(v)}" for k, v in kwargs.items()]
        return f"{wrapped.__name__}({', '.join(parts)})"

    with enriched_errors(describe_call):
        return wrapped(*args, **kwargs)


class _Checkable:
    def check(self, **overrides):
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


def guard(
    fn: Callable | None = None,
    /,
    *,
    inputs: dict[str, Any] | None = None,
    input_shapes: dict[str, Any] | None = None,
    max_examples: int | None = None,
    seed: int | None = None,
    where: Any = None,
    **axes: Any,
):
    """Declare the space to check a block builder on.

    ``@guard(C=[16, 32], filters=[32, 64], inputs={"x": "H,W,C"})``: each keyword
    is an axis (a parameter of the function, or a dimension named in a template)
    with the values to try. ``inputs`` maps tensor parameters to templates;
    ``where`` constrains the points (README, "Telling shapeguard the contract").
    ``input_shapes`` maps parameters taking a shape tuple (``input_shape``).
    Axes not given are inferred (README, "Inferred axes"). Bare ``@guard`` infers all.
    On a Layer subclass, axes are ``__init__``'s parameters and templates ``call()``'s.
    The space is checked now, so a misspelt axis fails at import time.
    """
    from ._options import check_max_examples, check_seed
    from .errors import ShapeguardError

    check_max_examples(max_examples)
    check_seed(seed)
    if inputs is not None and not isinstance(inputs, dict):
        raise ShapeguardError(f"inputs must be a dict of parameter name to template, not {inputs!r:.60}.")
    spec = GuardSpec(dict(axes), dict(inputs) if inputs else None, max_examples, seed, where,
                     dict(input_shapes) if input_shapes else None)

    def decorate(function: Callable):
        if isinstance(function, (staticmethod, classmethod)):
            kind = type(function).__name__
            raise ShapeguardError(
                f"@guard is written under @{kind}: write @{kind} above @guard, so that @guard sees the function."
            )
        if not callable(function):
            raise ShapeguardError(f"@guard decorates a function, not {type(function).__name__}.")
        from ._callee import resolve
        from .engine import _refuse_lazy_functions

        _refuse_lazy_functions(function, getattr(function, "__name__", "the function"))
        if not _is_layer_call(function):  # a Layer's space needs its class, which does not exist yet
            resolve(function, spec.inputs, spec.input_shapes).space(spec.axes, where=spec.where)
        if inspect.isclass(function):
            setattr(function, _SPEC_ATTRIBUTE, spec)
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


def spec_of(fn: Any) -> GuardSpec | None:
    """The declared space of a guarded function (bound or not) or class, else None."""
    if inspect.isclass(fn):  # not inherited: a subclass is guarded on its own
        call = vars(fn).get("call")  # @guard on a Layer's call() declares the Layer's space
        return vars(fn).get(_SPEC_ATTRIBUTE) or (call._self_guard_spec if isinstance(call, GuardedFunction) else None)
    if isinstance(fn, types.MethodType) and isinstance(fn.__func__, GuardedFunction):
        fn = fn.__func__  # a classmethod over @guard, on Pythons where it does not chain
    if isinstance(fn, BoundGuardedFunction):
        fn = fn._self_parent
    return fn._self_guard_spec if isinstance(fn, GuardedFunction) else None


def unwrap(fn: Any) -> Any:
    """What a check calls: the function under ``@guard``, else ``fn`` itself."""
    return fn.__wrapped__ if isinstance(fn, (GuardedFunction, BoundGuardedFunction)) else fn


def find_guarded(module: types.ModuleType) -> list[tuple[str, Any]]:
    """``(qualified name, object)`` for every guarded function or class defined
    in ``module``, at top level or as a method of a top-level class, in file order."""
    found = []
    for name, obj in vars(module).items():
        if isinstance(obj, GuardedFunction) and getattr(obj, "__module__", None) == module.__name__:
            found.append((name, obj))
        elif inspect.isclass(obj) and obj.__module__ == module.__name__:
            if spec_of(obj) is not None:
                found.append((name, obj))
            for attr, member in vars(obj).items():
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__  # @staticmethod / @classmethod written over @guard
                if isinstance(member, GuardedFunction):
                    found.append((f"{name}.{attr}", member))
    return sorted(found, key=lambda item: _first_line(item[1]))


def _first_line(obj) -> int:
    try:
        return inspect.getsourcelines(unwrap(obj))[1]
    except (OSError, TypeError):
        return 0
