"""Run what the data would run: the ``call()`` of layers that declare their shape.

A Layer subclass that defines ``compute_output_shape`` (or
``compute_output_spec``), or inherits one from a Keras layer while overriding
``call`` (``class ResConv(Conv2D)``), is never traced when called on a `keras.KerasTensor`:
Keras builds the symbolic output from that method alone, so a broken ``Add``
inside its ``call()`` passes symbolically and fails on real data. During a
probe, `traced_calls` makes such a layer, when it is not part of Keras itself
(the user's or another library's), also run its ``call()`` symbolically
(``keras.src.backend.compute_output_spec``, no weights trained, no data):

* a failure inside ``call()`` propagates as it would on real data;
* an output shape that disagrees with the declared one raises
  `DeclaredShapeMismatch` (the failure kind ``declared``).

The patch is process-wide for the duration of the probe (not thread-safe, like
Keras's own global state) and removed afterwards.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

from .patches import patched

_KERAS_ROOTS = ("keras", "tf_keras")


class DeclaredShapeMismatch(ValueError):
    """A layer's ``compute_output_shape``/``compute_output_spec`` says one
    shape and its ``call()`` produces another; ``where`` is the (file, line)
    of the method that declares it (the class's, when it is inherited from
    Keras), for a report whose call of the layer has no line of the user's."""

    def __init__(self, message: str, where: tuple = (None, None)):
        super().__init__(message)
        self.where = where


def _declaring(cls: type) -> tuple:
    """(file, line) of the shape method ``cls`` declares its output with,
    outside Keras; the class's own definition when that method is Keras's."""
    import inspect

    for owner in cls.__mro__:
        if in_keras(owner):
            break
        for name in ("compute_output_shape", "compute_output_spec"):
            method = owner.__dict__.get(name)
            if method is not None:
                try:
                    return inspect.getsourcefile(method), inspect.getsourcelines(method)[1]
                except (OSError, TypeError):
                    return None, None
    try:
        return inspect.getsourcefile(cls), inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        return None, None


@lru_cache(maxsize=512)
def hides_call(cls: type) -> bool:
    """True for a layer class outside Keras whose ``call()`` Keras would not
    run on a `keras.KerasTensor`: its output shape comes from a
    ``compute_output_shape``/``compute_output_spec`` (its own or a Keras
    class's, as in ``class ResConv(Conv2D)``), and that method or ``call``
    itself is written outside Keras, so what the data runs may differ from
    what the shape method says."""
    if in_keras(cls):
        return False
    from keras.src.layers.layer import Layer
    from keras.src.ops.operation import Operation

    shape_owners = [_owner(cls, name) for name in ("compute_output_shape", "compute_output_spec")]
    shape_owners = [k for k in shape_owners if k is not None and k not in (Layer, Operation)]
    if not shape_owners:  # Keras traces call() itself
        return False
    call_owner = _owner(cls, "call")
    return any(not in_keras(k) for k in shape_owners) or (call_owner is not None and not in_keras(call_owner))


def _owner(cls: type, name: str) -> type | None:
    """The class in ``cls``'s MRO that defines ``name``."""
    return next((k for k in cls.__mro__ if name in vars(k)), None)


def in_keras(cls: type) -> bool:
    """Defined in Keras itself (or tf_keras), not by the user or another library."""
    return cls.__module__.split(".")[0] in _KERAS_ROOTS


@contextmanager
def traced_calls() -> Iterator[None]:
    from keras.src.layers.layer import Layer
    from keras.src.ops.operation import Operation

    original = Layer.__dict__.get("symbolic_call")  # Keras < 3.10: Layer inherits Operation's

    def symbolic_call(self, *args, **kwargs):
        declared = (original or Operation.symbolic_call)(self, *args, **kwargs)
        if hides_call(type(self)):
            produced = _trace(self, args, kwargs)
            difference = _difference(declared, produced)
            if difference:
                raise DeclaredShapeMismatch(
                    f"{type(self).__name__}.compute_output_shape says {difference[0]}, "
                    f"call() produces {difference[1]}",
                    _declaring(type(self)),
                )
        return declared

    with patched((Layer, "symbolic_call", symbolic_call)):
        yield


def _trace(layer, args, kwargs):
    """``layer.call`` run symbolically, as only shapeguard runs it: a failure
    raised through this frame (`in_trace`) would not happen in plain symbolic
    Keras, only on data."""
    from keras.src import backend

    return backend.compute_output_spec(layer.call, *args, **kwargs)


def in_trace(frame) -> bool:
    """The frame is `_trace`'s: what raised through it ran in a ``call()``
    plain symbolic Keras never runs."""
    return frame.f_code is _trace.__code__


def _difference(declared, produced) -> tuple[str, str] | None:
    """The two shapes (as text) when they disagree on a known size, a rank or
    the number of outputs; None when they agree (None matches any size)."""
    from keras import tree

    shapes = lambda outputs: [tuple(t.shape) for t in tree.flatten(outputs) if hasattr(t, "shape")]
    a, b = shapes(declared), shapes(produced)
    same = len(a) == len(b) and all(
        len(x) == len(y) and all(p is None or q is None or p == q for p, q in zip(x, y)) for x, y in zip(a, b)
    )
    if same:
        return None
    text = lambda s: str(s[0]) if len(s) == 1 else ", ".join(map(str, s))
    return text(a), text(b)
