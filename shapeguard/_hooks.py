"""Keras's special methods that a probe changes, wrapped once for a whole check.

A probe changes three special methods: ``Layer.__new__`` (stand-ins,
`_standin`), ``Layer.__setattr__`` (plain attributes, `_fast`) and
``Operation.__call__`` (call sites, `probe`). Assigning a special method of a
class makes Python update every subclass, which costs about 60 microseconds
each time, a sizeable part of a probe that takes a millisecond or two.
`installed` wraps the three once, for as long as a check (or a lone probe)
runs, and restores Keras's own methods after it. Each wrapper runs Keras's own
method unless a probe has set its hook (`hooks`), so code that runs outside a
probe, even during a check, behaves as without shapeguard. Like the probe,
this is not thread-safe.
"""

from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace
from typing import Iterator

# Set by a running probe, None otherwise:
#   new(original, cls, args, kwargs) -> the object ``cls(*args, **kwargs)`` gets
#   setattr(original, obj, name, value)
#   call(op, frame) -> None, told of each Operation called (frame: its caller's)
hooks = SimpleNamespace(new=None, setattr=None, call=None)
_depth = 0


def available() -> bool:
    """Whether Keras defines the special methods wrapped here where expected."""
    try:
        from keras.src.layers.layer import Layer
        from keras.src.ops.operation import Operation
    except ImportError:
        return False
    return "__new__" in vars(Layer) and "__setattr__" in vars(Layer) and "__call__" in vars(Operation)


@contextmanager
def installed() -> Iterator[None]:
    """Wrap the special methods until the outermost `installed` ends."""
    global _depth
    if _depth:
        _depth += 1
        try:
            yield
        finally:
            _depth -= 1
        return
    import sys

    from keras.src.layers.layer import Layer
    from keras.src.ops.operation import Operation

    original_new, original_setattr = vars(Layer)["__new__"], vars(Layer)["__setattr__"]
    original_call = vars(Operation)["__call__"]

    def __new__(cls, *args, **kwargs):
        if hooks.new is None:
            return original_new(cls, *args, **kwargs)
        return hooks.new(original_new, cls, args, kwargs)

    def __setattr__(self, name, value):
        if hooks.setattr is None:
            original_setattr(self, name, value)
        else:
            hooks.setattr(original_setattr, self, name, value)

    def __call__(self, *args, **kwargs):
        if hooks.call is not None:
            hooks.call(self, sys._getframe(1))
        return original_call(self, *args, **kwargs)

    Layer.__new__, Layer.__setattr__, Operation.__call__ = staticmethod(__new__), __setattr__, __call__
    _depth = 1
    try:
        yield
    finally:
        _depth = 0
        Layer.__new__, Layer.__setattr__, Operation.__call__ = original_new, original_setattr, original_call


@contextmanager
def hooked(name: str, hook) -> Iterator[None]:
    """Set one hook for the duration of a probe (inside `installed`)."""
    saved = getattr(hooks, name)
    setattr(hooks, name, hook)
    try:
        yield
    finally:
        setattr(hooks, name, saved)
