"""What `check_fit` is given as data, reduced to shapes and dtypes.

`describe` turns ``x`` or ``y`` into a `Data`: the same structure (one leaf,
a list, a dict) with an `Array` (shape, dtype) at each leaf, the first axis
being the sample count (or the batch size, for a dataset). Nothing is loaded:
a numpy array gives its ``shape`` and ``dtype``, an ``.npy`` file its header
(``numpy.lib.format``), a ``tf.data.Dataset`` its ``element_spec``. Bad input
is one `ShapeguardError` sentence.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from .errors import FitOption, ShapeguardError


class FitDataError(ShapeguardError):
    """Data `check_fit` cannot read the shape of: a shape that is not a tuple
    of positive integers, an ``.npy`` that is not one, a dict key the model
    has no input or output for."""


@dataclass(frozen=True)
class Array:
    """One array's shape (sample count first; None where unknown) and dtype name."""

    shape: tuple
    dtype: str

    @property
    def integer(self) -> bool:
        return self.dtype.startswith(("int", "uint"))


def describe(value: Any, role: str) -> Any:
    """``value`` (``x`` or ``y``, named by ``role`` in errors) as `Array` leaves
    in its structure: a list stays a list, a dict a dict. A tuple of ints is
    one shape; a tuple of arrays is a list."""
    if _is_shape(value):
        return _shape(value, role)
    if isinstance(value, (str, os.PathLike)):
        return npy_header(value, role)
    if isinstance(value, dict):
        return {key: describe(v, f"{role}[{key!r}]") for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [describe(v, f"{role}[{i}]") for i, v in enumerate(value)]
    shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
    if shape is not None and dtype is not None:  # a numpy array, a tensor, a TensorSpec
        dims = tuple(None if d is None else int(d) for d in (shape.as_list() if hasattr(shape, "as_list") else shape))
        return Array(dims, _dtype_name(dtype))
    raise FitDataError(f"{role} is a {type(value).__name__}: give an array, a shape tuple such as (60000, 28, 28), "
                       "a .npy file, a list or dict of those, or a tf.data.Dataset.")


def dataset_parts(value: Any) -> tuple | None:
    """``(x, y)`` of a ``tf.data.Dataset`` (its ``element_spec``, never
    iterated) or of a ``keras.utils.PyDataset`` (its first batch, which is how
    Keras itself learns its spec), as given to `describe`; None for other data."""
    spec = getattr(value, "element_spec", None)
    if spec is None and _is_py_dataset(value):
        spec = value[0]
    elif spec is None:
        return None
    if isinstance(spec, tuple) and 1 <= len(spec) <= 3:
        return spec[0], spec[1] if len(spec) > 1 else None
    return spec, None


def _is_py_dataset(value: Any) -> bool:
    return any(c.__name__ == "PyDataset" for c in type(value).__mro__)


def _is_shape(value: Any) -> bool:
    """A tuple meant as a shape: empty, or with a number or None in it (a tuple of arrays is a list)."""
    return isinstance(value, tuple) and (not value or any(d is None or isinstance(d, (int, float)) for d in value))


def shape_sentence_end(pieces) -> str:
    """How the sentence refusing a shape ends: for a shape with names in it
    (``N,28,28``), what names in a shape are for; else a full stop."""
    if any(isinstance(p, str) and p.isidentifier() for p in pieces):
        return ("; a shape with names (N,H,W) is a model builder's data contract, declared on the builder: "
                "@guard(fit={'x': 'N,H,W', 'y': 'N'}).")
    return "."


def _shape(value: tuple, role: str) -> Array:
    if not value or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in value):
        raise FitDataError(("a shape is positive integers, the sample count first, such as ",
                            FitOption("", (60000, 28, 28)), shape_sentence_end(value)),
                           option=FitOption(role, value))
    return Array(tuple(value), "float32")


def npy_header(path, role: str) -> Array:
    """The shape and dtype in an ``.npy`` file's header; the data is not read."""
    import numpy as np
    from numpy.lib import format as npy

    try:
        with open(path, "rb") as f:
            version = npy.read_magic(f)
            read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
            shape, _, dtype = read(f)
    except FileNotFoundError:
        raise FitDataError("no such file.", option=FitOption(role, os.fspath(path))) from None
    except (ValueError, OSError, SyntaxError):
        raise FitDataError("not a .npy file: it has no .npy header (save arrays with numpy.save).",
                           option=FitOption(role, os.fspath(path))) from None
    if not shape:
        raise FitDataError("a single number, not an array of samples.", option=FitOption(role, os.fspath(path)))
    return Array(tuple(int(d) for d in shape), _dtype_name(np.dtype(dtype)))


def _dtype_name(dtype: Any) -> str:
    name = getattr(dtype, "name", None) or str(dtype)
    return str(name).replace("tf.", "")


def leaves(data: Any) -> list:
    """The `Array` leaves of a described structure, in order (dicts by key order)."""
    if isinstance(data, Array):
        return [data]
    items = data.values() if isinstance(data, dict) else data
    return [leaf for item in items for leaf in leaves(item)]


def show(data: Any) -> str:
    """``(60000, 28, 28)``, ``[(N, 4), (N, 8)]``, ``{'a': (60000, 4)}``: the shapes as given."""
    if isinstance(data, Array):
        return str(data.shape)
    if isinstance(data, dict):
        return "{" + ", ".join(f"{k!r}: {show(v)}" for k, v in data.items()) + "}"
    return "[" + ", ".join(show(v) for v in data) + "]"


def reproduce(x: Any, y: Any, mode: str, batch: int = 2) -> str:
    """``model.fit(np.zeros((2, 28, 28, 3)), np.zeros((2,)), batch_size=2)``: the
    plain Keras step on arrays of zeros of exactly the shapes ``x``, ``y`` (`Array`
    structures, the sample count first; ``model.predict(...)`` for ``mode="predict"``)."""
    def zeros(data):
        if isinstance(data, dict):
            return "{" + ", ".join(f"{k!r}: {zeros(v)}" for k, v in data.items()) + "}"
        if isinstance(data, list):
            return "[" + ", ".join(zeros(v) for v in data) + "]"
        dtype = "" if data.dtype == "float32" else f", dtype={data.dtype!r}"
        return f"np.zeros({tuple(data.shape)}{dtype})"

    if mode == "predict":
        return f"model.predict({zeros(x)})"
    return f"model.fit({zeros(x)}, {zeros(y)}, batch_size={batch})"
