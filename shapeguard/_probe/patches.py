"""Every change shapeguard makes to Keras's classes goes through `patched`.

`patched` sets attributes and puts back what was there before (deleting an
attribute that was only inherited), in reverse order, whatever the nesting:
when an outer patch of the same attribute ends before an inner one (two
context managers left in another order than they were entered), the inner one
restores what was there before the outer, so Keras always ends as it began.

On top of it, two users:

* `installed` wraps Keras's three special methods a probe changes once for a
  whole check: ``Layer.__new__`` (stand-ins, `standins`), ``Layer.__setattr__``
  (plain attributes, `fast`) and ``Operation.__call__`` (call sites, `run`).
  Assigning a special method of a class makes Python update every subclass,
  which costs about 60 microseconds each time, a sizeable part of a probe that
  takes a millisecond or two. Each wrapper runs Keras's own method unless a
  probe has set its hook (`hooks`, `hooked`), so code that runs outside a
  probe, even during a check, behaves as without shapeguard.
* `KerasCalls` counts Keras layer and operation calls (eager or symbolic):
  a probe that called none checked no shape, so it is not a pass.

Like the probe, this is not thread-safe, except `KerasCalls`' counting.
"""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, Iterator

_MISSING = object()
_active: dict = {}  # (id(owner), name) -> [entry, ...], innermost last; entry = [owner's own value before it]


@contextmanager
def patched(*changes: tuple[Any, str, Any]) -> Iterator[None]:
    """Set each ``(owner, name, value)`` for the duration of the block:
    ``setattr(owner, name, value)``, and on exit the value ``owner`` itself
    held before (``del`` when it only inherited one), last change first."""
    entries = []
    for owner, name, value in changes:
        key = (id(owner), name)
        entry = [vars(owner).get(name, _MISSING)]
        _active.setdefault(key, []).append(entry)
        entries.append((owner, name, key, entry))
        setattr(owner, name, value)
    try:
        yield
    finally:
        for owner, name, key, entry in reversed(entries):
            stack = _active[key]
            index = next(i for i, e in enumerate(stack) if e is entry)
            if index == len(stack) - 1:  # innermost: put back what was there before it
                _restore(owner, name, entry[0])
            else:  # an inner patch is still on: it will put back what was there before this one
                stack[index + 1][0] = entry[0]
            del stack[index]
            if not stack:
                del _active[key]


def _restore(owner, name: str, value) -> None:
    if value is _MISSING:
        delattr(owner, name)
    else:
        setattr(owner, name, value)


# ---- Keras's special methods, wrapped once per check --------------------------

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

    with patched((Layer, "__new__", staticmethod(__new__)), (Layer, "__setattr__", __setattr__),
                 (Operation, "__call__", __call__)):
        _depth = 1
        try:
            yield
        finally:
            _depth = 0


@contextmanager
def hooked(name: str, hook) -> Iterator[None]:
    """Set one hook for the duration of a probe (inside `installed`)."""
    saved = getattr(hooks, name)
    setattr(hooks, name, hook)
    try:
        yield
    finally:
        setattr(hooks, name, saved)


# ---- counting Keras calls -------------------------------------------------------


class KerasCalls:
    """``count`` is the number of Keras layer and operation calls (eager or
    symbolic) made in this thread while `counting` is active. The methods of
    Keras's ``Operation`` are wrapped while any check counts (one wrapper,
    however many checks run at once in other threads) and restored after."""

    _lock = threading.Lock()
    _users = 0
    _patch = None  # the open `patched` context while anyone counts
    _local = threading.local()

    @property
    def count(self) -> int:
        return getattr(self._local, "count", 0)

    @classmethod
    def note_call(cls, made: int = 0) -> None:
        """Count a layer call that does not go through ``Operation.__call__``
        (a stand-in's), and ``made`` more: the calls the real layer's call
        made when Keras answered it (for an answer from `standins`' memo)."""
        cls._local.count = getattr(cls._local, "count", 0) + 1 + made

    @classmethod
    def noted(cls) -> int:
        """The count so far in this thread (`count`, without an instance)."""
        return getattr(cls._local, "count", 0)

    @contextmanager
    def counting(self) -> Iterator["KerasCalls"]:
        cls = type(self)
        with cls._lock:
            if cls._users == 0:
                cls._patch = cls._counted()
                cls._patch.__enter__()
            cls._users += 1
        try:
            yield self
        finally:
            with cls._lock:
                cls._users -= 1
                if cls._users == 0:
                    patch, cls._patch = cls._patch, None
                    patch.__exit__(None, None, None)

    @classmethod
    def _counted(cls):
        from keras.src.ops.operation import Operation

        local = cls._local

        def counted(original):
            def call(self, *args, **kwargs):
                local.count = getattr(local, "count", 0) + 1
                return original(self, *args, **kwargs)

            call.__wrapped__ = original
            return call

        return patched(*((Operation, name, counted(Operation.__dict__[name])) for name in ("__call__", "symbolic_call")))
