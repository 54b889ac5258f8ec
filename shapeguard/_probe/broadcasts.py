"""Merges that build only by broadcasting a channel of size 1 (a warning).

`watching_broadcasts` records, while a probe runs, every additive merge whose
inputs `is_suspicious` flags; the report turns them into broadcast warnings
(docs/explanation/reports.md).
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from .._usercode import user_line
from .patches import patched


@dataclass(frozen=True)
class Broadcast:
    """A merge that built by broadcasting a dimension of size 1 (a warning)."""

    layer_class: str
    layer_name: str | None
    file: str | None
    line: int | None
    input_shapes: tuple
    dim: int  # the broadcast dimension, batch dim counted

    @property
    def mode(self) -> tuple:
        return ("broadcast", self.layer_class, self.file or "", self.line or 0)


_ADDITIVE_LAYERS = ("Add", "Subtract", "Average")
_ADDITIVE_OPS = ("Add", "Subtract")  # keras.src.ops.numpy: what `a + b` and `a - b` run


def is_suspicious(shapes) -> int | None:
    """The rule for a broadcast warning, given an additive merge's input shapes
    (batch dim first): the last (channel) dimension is 1 on one input and
    larger on another, all inputs of the same rank. A residual ``Add`` of
    ``(T, 1)`` and ``(T, 32)`` is warned about; ``(H, W, C) + (1, 1, C)`` (a
    global context added everywhere) is not, nor is any ``Multiply`` (gates,
    squeeze-and-excitation). Returns the dimension, or None."""
    shapes = [tuple(s) for s in shapes]
    if len(shapes) < 2 or len({len(s) for s in shapes}) != 1 or len(shapes[0]) < 3:
        return None
    last = [s[-1] for s in shapes]
    if 1 in last and any(isinstance(v, int) and v > 1 for v in last):
        return len(shapes[0]) - 1
    return None


@contextmanager
def watching_broadcasts() -> Iterator[list]:
    """While inside, every additive merge layer or ``+``/``-`` between two
    KerasTensors that `is_suspicious` is appended (as a `Broadcast`) to the
    list yielded. Wraps ``compute_output_spec`` of those classes, restored on exit."""
    import keras
    from keras.src.layers.merging.add import Add
    from keras.src.layers.merging.average import Average
    from keras.src.layers.merging.subtract import Subtract
    from keras.src.ops import numpy as knp

    found: list = []

    def wrap(cls, layer: bool):
        inherited = cls.compute_output_spec

        def compute_output_spec(self, *args, **kwargs):
            tensors = args[0] if layer and args else args
            tensors = [t for t in keras.tree.flatten(tensors) if isinstance(t, keras.KerasTensor)]
            if len(tensors) >= 2:
                dim = is_suspicious([t.shape for t in tensors])
                if dim is not None:
                    file, line = user_line(sys._getframe(1))
                    name = self.__dict__.get("name") if hasattr(self, "__dict__") else None
                    found.append(Broadcast(cls.__name__, name if isinstance(name, str) else None, file, line,
                                           tuple(tuple(t.shape) for t in tensors), dim))
            return inherited(self, *args, **kwargs)

        return cls, "compute_output_spec", compute_output_spec

    changes = [wrap(cls, True) for cls in (Add, Subtract, Average)] + [wrap(cls, False) for cls in (knp.Add, knp.Subtract)]
    with patched(*changes):
        yield found
