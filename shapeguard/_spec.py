"""What ``@guard`` declares, read without the decorator: the spec record and
the rules for finding it, shared by the engine, target collection and the
pytest plugin (so none of them imports the wrapper, and the wrapper does not
import them)."""

from __future__ import annotations

import inspect
import types
from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import ShapeguardError

SPEC_ATTRIBUTE = "_shapeguard_spec"  # on a guarded class
WRAPPER_MARK = "_shapeguard_wrapper"  # a class attribute of the decorator's wrappers
_WRAPPER_SPEC = "_self_guard_spec"  # on a guarded function's wrapper


@dataclass(frozen=True)
class GuardSpec:
    """What ``@guard(...)`` was given: the contract, and the settings it
    declared (a `CheckSettings`, or None), which a check's own override."""

    axes: dict = field(default_factory=dict)
    inputs: dict | None = None
    where: Any = None
    input_shapes: dict | None = None
    settings: Any = None
    fit: Any = None  # a model builder's data contract (`shapeguard._fitcontract`), as given


def is_guard_wrapper(obj: Any) -> bool:
    """A guarded function, bound or not (the decorator's wrapt proxies)."""
    return getattr(type(obj), WRAPPER_MARK, False) is True


def _wrapper_spec(fn: Any) -> GuardSpec | None:
    if not is_guard_wrapper(fn):
        return None
    parent = getattr(fn, "_self_parent", None)  # a bound wrapper: its function's
    return getattr(parent if is_guard_wrapper(parent) else fn, _WRAPPER_SPEC, None)


def spec_of(fn: Any) -> GuardSpec | None:
    """The declared space of a guarded function (bound or not) or class, else None."""
    if inspect.isclass(fn):  # not inherited: a subclass is guarded on its own
        call = vars(fn).get("call")  # @guard on a Layer's call() declares the Layer's space
        return vars(fn).get(SPEC_ATTRIBUTE) or _wrapper_spec(call)
    if isinstance(fn, types.MethodType) and is_guard_wrapper(fn.__func__):
        fn = fn.__func__  # a classmethod over @guard, on Pythons where it does not chain
    return _wrapper_spec(fn)


def unwrap(fn: Any) -> Any:
    """What a check calls: the function under ``@guard``, else ``fn`` itself."""
    return fn.__wrapped__ if is_guard_wrapper(fn) else fn


def find_guarded(module: types.ModuleType) -> list[tuple[str, Any]]:
    """``(qualified name, object)`` for every guarded function or class defined
    in ``module``, at top level or as a method of a top-level class, in file order."""
    found = []
    for name, obj in vars(module).items():
        if is_guard_wrapper(obj) and getattr(obj, "__module__", None) == module.__name__:
            found.append((name, obj))
        elif inspect.isclass(obj) and obj.__module__ == module.__name__:
            if spec_of(obj) is not None:
                found.append((name, obj))
            for attr, member in vars(obj).items():
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__  # @staticmethod / @classmethod written over @guard
                if is_guard_wrapper(member):
                    found.append((f"{name}.{attr}", member))
    return sorted(_without_aliases(found), key=lambda item: first_line(item[1]))


def _without_aliases(found: list) -> list:
    """One entry per guarded object: a second module-level name for it
    (``Alias = ResBlock``) is the same block, not another one to check. The
    name it was defined under is kept, else the first."""
    kept: dict[int, tuple[str, Any]] = {}
    for name, obj in found:
        if id(obj) not in kept or getattr(unwrap(obj), "__qualname__", None) == name:
            kept[id(obj)] = (name, obj)
    return list(kept.values())


def first_line(obj) -> int:
    """The line ``obj`` (under ``@guard``) is defined at, 0 when unknown."""
    try:
        return inspect.getsourcelines(unwrap(obj))[1]
    except (OSError, TypeError):
        return 0


def refuse_lazy_functions(fn: Callable, name: str) -> None:
    """An ``async def`` or a generator function returns at once without running
    its body: every probe would pass having checked nothing."""
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        raise ShapeguardError(
            f"{name} is an async function: calling it returns a coroutine without running its body, "
            "so no layer would be checked; check a plain def that builds the layers."
        )
    if inspect.isgeneratorfunction(fn):
        raise ShapeguardError(
            f"{name} is a generator function (it has a yield): calling it returns a generator without "
            "running its body, so no layer would be checked; check a function that returns the output."
        )
