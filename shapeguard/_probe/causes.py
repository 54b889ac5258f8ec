"""The *cause* of a failure: why a layer rejected what it got, in a few words.

A failure mode is (kind, layer class, file, line, cause), so two different
reasons for one layer at one line (an identity shortcut whose channels differ,
and one whose spatial size differs) are two modes, each with its own minimal
example. This module only reads text and shapes; it imports nothing from Keras.

* Merges and broadcasts (``Add``/``Concatenate``/... layers, ``x + y``,
  ``keras.ops``): which dimensions disagree, from the input shapes.
* Other rejections: the kind of rejection, read from Keras's message with the
  small table `RULES`. A rule may also fix the failure's kind, so that the same
  cause gets the same kind whatever the layer (a sequence too short for a
  ``valid`` convolution is a shape failure for ``Conv1D`` and ``MaxPooling1D``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .._outcome import CONFIG, ERROR, SHAPE

# Messages of merges and broadcasts: the cause comes from the shapes.
_MERGE = re.compile(
    r"Inputs have incompatible shapes|Cannot broadcast shape|incompatible shapes for broadcasting"
    r"|requires inputs with matching shapes|must have the same shape except on the `axis`"
)


@dataclass(frozen=True)
class Rule:
    pattern: str  # a regular expression searched in "ExceptionType: message"
    cause: str
    kind: str | None  # None: decided by where the layer raised (see classify.classify)


# Order matters: the first rule that matches wins.
RULES = (
    Rule(r"ResourceExhaustedError|OOM when allocating|MemoryError", "out of memory", ERROR),
    Rule(r"Only input tensors may be passed as positional arguments", "non-tensor positional argument", ERROR),
    Rule(r"Invalid dtype: (list|tuple|dict|str|NoneType|function)\b|is not a valid dtype for Keras type promotion",
         "not a tensor", ERROR),
    Rule(r"does not have a `call` method implemented", "layer without call()", ERROR),
    Rule(r"KerasTensor cannot be used as input to a TensorFlow function", "TensorFlow function on a KerasTensor", ERROR),
    Rule(r"number of filters must be evenly divisible by the number of groups", "filters not divisible by groups",
         CONFIG),
    Rule(r"evenly divisible by the number of groups", "channels not divisible by groups", CONFIG),
    Rule(r"output size would be (zero or )?negative|Negative dimension size", "kernel larger than the input", SHAPE),
    Rule(r"expected axis -?\d+ of input shape to have value", "input channels do not match the built layer", SHAPE),
    Rule(r"expected (min_|max_)?ndim=|Expected an input with rank|must be rank", "wrong rank", SHAPE),
    Rule(r"total size of the (new array|tensor) must be unchanged|[Cc]annot reshape", "reshape size mismatch", SHAPE),
    Rule(r"must be fully-defined|should be defined\. Found `?None", "unknown dimension", SHAPE),
    Rule(r"Invalid value for argument|[Ee]xpected a strictly positive|must be a positive integer|Received an invalid value",
         "invalid argument value", CONFIG),
)

GENERIC = {SHAPE: "rejected its input", CONFIG: "rejected its arguments", ERROR: "the block's own error"}
_PRIORITY = ("rank", "channels", "spatial", "sequence length")


def from_message(exc_type: str, message: str) -> Rule | None:
    """The first rule of `RULES` matching the exception, or None."""
    text = f"{exc_type}: {message}"
    return next((rule for rule in RULES if re.search(rule.pattern, text)), None)


def is_merge(message: str) -> bool:
    """Keras's message says two or more inputs could not be joined."""
    return bool(_MERGE.search(message))


def merge_cause(shapes: tuple, concat_axis: int | None = None, channels_first: bool = False) -> str | None:
    """Which dimensions of ``shapes`` (batch axis first) disagree: "rank",
    "channels" (the last axis; axis 1 with ``channels_first``), "spatial" (the
    other non-batch axes of a rank-4 or 5 tensor), "sequence length" (the
    other axis of a rank-3 tensor) or "axis N". When
    several disagree, the first in that order names the cause. A size of 1
    broadcasts and None is unknown: neither disagrees. ``concat_axis`` is left
    out of the comparison. None when no two shapes disagree."""
    shapes = [tuple(s) for s in shapes]
    if len(shapes) < 2:
        return None
    if len({len(s) for s in shapes}) > 1:
        return "rank"
    rank = len(shapes[0])
    skip = None if concat_axis is None else concat_axis % rank if rank else None
    found = set()
    for other in shapes[1:]:
        for axis in range(1, rank):
            a, b = shapes[0][axis], other[axis]
            if axis == skip or a is None or b is None or a == b:
                continue
            if concat_axis is None and 1 in (a, b):
                continue
            found.add(_axis_name(axis, rank, channels_first))
    for name in _PRIORITY:
        if name in found:
            return name
    return min(found, key=lambda n: int(n.split()[-1])) if found else None


@dataclass(frozen=True)
class BackendShapeError:
    """A TensorFlow or numpy op that rejected its operands' shapes, read
    from the backend's message (no Keras layer is on the traceback: the op
    ran on backend tensors inside a traced ``call()``)."""

    op: str  # as Keras names the op ("Add" for TensorFlow's AddV2), else the backend's name
    shapes: tuple  # the operands' shapes; TensorFlow's unknown "?" as None
    cause: str


# TensorFlow's graph ("Dimensions must be equal ... for '{{node add}} = AddV2[...](a, b)' with input
# shapes: [?,4,8], [1,5]"), after classify left out the node's names ("for AddV2 with input shapes"); its
# eager mode ("Incompatible shapes: [1,4,8] vs. [1,5] [Op:AddV2]"); numpy's broadcasting.
_BACKEND = (
    re.compile(r"Dimensions must be equal, but are \d+ and \d+ for '?(?:\{\{node [^}]*\}\} = )?(?P<op>\w+)"
               r"[^\n]*? with input shapes: (?P<shapes>(?:\[[^\]]*\](?:, )?)+)"),
    re.compile(r"Incompatible shapes: (?P<shapes>\[[^\]]*\] vs\. \[[^\]]*\])(?: \[Op:(?P<op>\w+)\])?"),
    re.compile(r"operands could not be broadcast together with (?:remapped )?shapes (?P<shapes>(?:\([^)]*\) ?)+)"),
)
# TensorFlow's elementwise ops, as Keras's ops are named (keras.ops.add is the op class Add).
_ELEMENTWISE = {"AddV2": "Add", "Add": "Add", "Sub": "Subtract", "Mul": "Multiply", "RealDiv": "TrueDivide",
                "Div": "Divide", "FloorDiv": "FloorDivide", "Maximum": "Maximum", "Minimum": "Minimum",
                "Pow": "Power", "SquaredDifference": "SquaredDifference", "BiasAdd": "BiasAdd",
                "Equal": "Equal", "NotEqual": "NotEqual", "Less": "Less", "LessEqual": "LessEqual",
                "Greater": "Greater", "GreaterEqual": "GreaterEqual", "SelectV2": "Where"}


def backend_shape_error(message: str) -> BackendShapeError | None:
    """The op and operand shapes of a backend's shape error, or None. An
    elementwise op's cause is which dimensions disagree (as for a merge);
    any other op's (a MatMul) is that it rejected its input."""
    for pattern in _BACKEND:
        found = pattern.search(message)
        if found is None:
            continue
        shapes = tuple(_backend_shape(text) for text in re.findall(r"[\[(]([^\])]*)[\])]", found["shapes"]))
        op = found.groupdict().get("op")
        if op is None or op in _ELEMENTWISE:  # numpy's message is a broadcast's
            name = _ELEMENTWISE.get(op, "broadcast") if op else "broadcast"
            rank = max(len(shape) for shape in shapes) if shapes else 0
            aligned = [(1,) * (rank - len(shape)) + shape for shape in shapes]  # broadcasting aligns the last axes
            return BackendShapeError(name, shapes, merge_cause(aligned) or "rejected its input")
        return BackendShapeError(op, shapes, GENERIC[SHAPE])
    return None


def _backend_shape(text: str) -> tuple:
    sizes = [s.strip() for s in text.split(",") if s.strip()]
    return tuple(None if s == "?" else int(s) if s.lstrip("-").isdigit() else None for s in sizes)


def channel_axis(rank: int, channels_first: bool = False) -> int:
    """The channel axis of a shape of ``rank`` (batch axis counted) in its layout."""
    return 1 if channels_first and rank >= 3 else rank - 1


def _axis_name(axis: int, rank: int, channels_first: bool = False) -> str:
    if axis == channel_axis(rank, channels_first):
        return "channels"
    if rank in (4, 5):
        return "spatial"
    if rank == 3:
        return "sequence length"
    return f"axis {axis}"
