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
    (``keras.src.activations.activations.relu``), never a repr with a memory
    address, so reports and JSON stay byte-identical from run to run."""
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
