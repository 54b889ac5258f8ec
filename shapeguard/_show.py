"""How shapeguard writes Python values and calls in reports, JSON and errors.

One rule for every renderer: functions and classes by dotted name, never a
repr with a memory address, so that reports stay byte-identical from run to run.
"""

from __future__ import annotations

import enum
import inspect
from typing import Any


def show_value(value: Any) -> str:
    """A value as Python source: functions and classes by dotted name
    (``keras.src.activations.activations.relu``), sets and dict keys sorted,
    a Keras initializer, regularizer or constraint with the config it differs
    from its default by (``keras.initializers.HeNormal(seed=1)``), never a
    repr with a memory address, so reports and JSON stay byte-identical from
    run to run and the reproducing call makes the same object."""
    return _show(value, set())


def unstable(value: Any) -> bool:
    """Whether a value cannot be written the same way in every run (its form holds a memory address)."""
    return " at 0x" in show_value(value)


def _show(value: Any, seen: set) -> str:
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        if id(value) in seen:
            return "..."
        seen = seen | {id(value)}
        if type(value) in (list, tuple):
            items = [_show(v, seen) for v in value]
            if type(value) is list:
                return "[" + ", ".join(items) + "]"
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        if type(value) in (set, frozenset):
            items = sorted(_show(v, seen) for v in value)
            if not items:
                return f"{type(value).__name__}()"
            inner = "{" + ", ".join(items) + "}"
            return inner if type(value) is set else f"frozenset({inner})"
        if type(value) is dict:
            pairs = sorted((_show(k, seen), _show(v, seen)) for k, v in value.items())
            return "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
    configured = _configured(value)
    if configured is not None:
        return configured
    if isinstance(value, enum.Enum):  # a member by its dotted name, as the block's code writes it
        return f"{type(value).__module__}.{type(value).__qualname__}.{value.name}"
    if inspect.isfunction(value) or inspect.isclass(value) or inspect.isbuiltin(value) or inspect.ismethod(value):
        module = getattr(value, "__module__", None)
        qualname = getattr(value, "__qualname__", getattr(value, "__name__", None))
        if qualname and "<" not in qualname:
            return f"{module}.{qualname}" if module and module != "builtins" else qualname
        return f"<{type(value).__name__} {getattr(value, '__name__', '?')}>"
    if callable(value) and not isinstance(value, type) and type(value).__repr__ is object.__repr__:
        return f"{type(value).__module__}.{type(value).__qualname__}()"
    return repr(value)


def _configured(value: Any) -> str | None:
    """``keras.initializers.HeNormal(seed=1)``: an object Keras rebuilds from
    its config (an initializer, regularizer or constraint: ``get_config``,
    no ``name``), written with the entries that differ from a default
    instance's, under its public name when Keras exports it there."""
    cls = type(value)
    if not cls.__module__.startswith("keras.") or not callable(getattr(value, "get_config", None)):
        return None
    try:
        config = value.get_config()
        if not isinstance(config, dict) or "name" in config:  # a layer: building one would count its name
            return None
        try:
            default = cls().get_config()
        except Exception:  # noqa: BLE001 - no default instance: every entry is written
            default = {}
    except Exception:  # noqa: BLE001 - a config that cannot be read: shown as any other object
        return None
    missing = object()
    arguments = ", ".join(f"{k}={show_value(v)}" for k, v in config.items() if default.get(k, missing) != v)
    return f"{_public_name(cls)}({arguments})"


def _public_name(cls: type) -> str:
    """``keras.initializers.HeNormal`` for ``keras.src.initializers.random_initializers.HeNormal``
    when that is the same class; the defining module's name otherwise."""
    import sys

    parts = cls.__module__.split(".")
    if len(parts) > 2 and parts[1] == "src":
        public = sys.modules.get(f"keras.{parts[2]}")
        if getattr(public, cls.__name__, None) is cls:
            return f"keras.{parts[2]}.{cls.__name__}"
    return f"{cls.__module__}.{cls.__qualname__}"


def call_string(name: str, arguments: list, on_data: bool = False) -> str:
    """One line of Python that makes the same call with plain Keras
    (``arguments``: `space.Argument`s, tensors as ``keras.Input(shape=...)``;
    ``on_data``: as arrays of zeros of batch 1, ``np.zeros((1, 8, 8, 8))``)."""
    tensor = (lambda s: f"np.zeros({(1, *s)!r})") if on_data else (lambda s: f"keras.Input(shape={s!r})")
    parts = []
    for arg in arguments:
        if isinstance(arg.shape, list):
            text = "[" + ", ".join(tensor(s) for s in arg.shape) + "]"
        elif arg.shape is not None:
            text = tensor(arg.shape)
        else:
            text = show_value(arg.value)
        parts.append(text if arg.positional else f"{arg.name}={text}")
    return f"{name}({', '.join(parts)})"


def show_example(example: dict) -> str:
    """``C=16, H=7, filters=32``"""
    return ", ".join(f"{k}={show_value(v)}" for k, v in example.items())


def one_line(exc: BaseException, limit: int = 300) -> str:
    """``ValueError: message``, on one line whatever the message holds."""
    message = " ".join(str(exc).split())
    if len(message) > limit:
        message = message[: limit - 3] + "..."
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
