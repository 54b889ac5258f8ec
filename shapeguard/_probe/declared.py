"""Run what the data would run: the ``call()`` of layers that declare their shape.

A Layer subclass that defines ``compute_output_shape`` (or
``compute_output_spec``) is never traced when called on a `keras.KerasTensor`:
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
    shape and its ``call()`` produces another."""


@lru_cache(maxsize=512)
def hides_call(cls: type) -> bool:
    """True for a layer class outside Keras whose output shape comes from a
    ``compute_output_shape``/``compute_output_spec`` written outside Keras."""
    if cls.__module__.split(".")[0] in _KERAS_ROOTS:
        return False
    for name in ("compute_output_shape", "compute_output_spec"):
        owner = next((k for k in cls.__mro__ if name in vars(k)), None)
        if owner is not None and owner.__module__.split(".")[0] not in _KERAS_ROOTS:
            return True
    return False


@contextmanager
def traced_calls() -> Iterator[None]:
    from keras.src.layers.layer import Layer
    from keras.src.ops.operation import Operation

    original = Layer.__dict__.get("symbolic_call")  # Keras < 3.10: Layer inherits Operation's

    def symbolic_call(self, *args, **kwargs):
        declared = (original or Operation.symbolic_call)(self, *args, **kwargs)
        if hides_call(type(self)):
            from keras.src import backend

            produced = backend.compute_output_spec(self.call, *args, **kwargs)
            difference = _difference(declared, produced)
            if difference:
                raise DeclaredShapeMismatch(
                    f"{type(self).__name__}.compute_output_shape says {difference[0]}, "
                    f"call() produces {difference[1]}"
                )
        return declared

    with patched((Layer, "symbolic_call", symbolic_call)):
        yield


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
