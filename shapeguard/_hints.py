"""Fixes for the patterns shapeguard recognises with certainty, as a table.

`hint_for` asks each entry of `PATTERNS` in turn; the first that recognises
the failure gives the ``fix:`` line (docs/explanation/reports.md). An
entry sees only the failure record, its branches (plain data) and the
failing layer's layout, so adding a pattern is adding one function to the
table. A fix that is one argument of the call (``padding='same'``) comes
with that change as a `Hint.change`, so that the explanation probes it
before printing it (`explain._probed_hint`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

from ._outcome import CONFIG, SHAPE
from ._probe.causes import channel_axis
from ._probe.provenance import failing_dims, upsampling_depth

_MERGES = ("Add", "Subtract", "Average", "Multiply", "Maximum", "Minimum", "Concatenate")
_ADDITIVE = ("Add", "Subtract", "Average")  # merges a residual shortcut goes through (not a gate's Multiply)
_NOT_SIZES = ("rejected its input",)  # causes that say no size differs
_DONE = object()  # a pattern that recognised the failure and knows no safe fix: stop asking


@dataclass(frozen=True)
class Hint:
    """A fix; ``change`` is the call's one argument it amounts to, when it is one
    (``{"padding": "same"}``), to be probed before it is printed."""

    text: str
    change: dict = field(default_factory=dict)


def _grouped_filters(failure, branches, dims, channels_first):
    if failure.kind == CONFIG and "number of filters must be evenly divisible by the number of groups" \
            in failure.message:
        return ("the grouped convolution's `filters` (its output channels) must be a multiple of `groups`: "
                "make the `filters` it is given a positive multiple of `groups`")
    return None


def _grouped_channels(failure, branches, dims, channels_first):
    if failure.kind == CONFIG and "number of input channels must be evenly divisible" in failure.message:
        return ("the grouped convolution's input channels must be a multiple of `groups`: make the "
                "channels it gets (e.g. `filters`) a positive multiple of `groups`")
    return None


def _grouped_filters_zero(failure, branches, dims, channels_first):
    source = failure.location.source() if failure.location is not None else ""
    if failure.kind == CONFIG and "strictly positive" in failure.message and "filters" in failure.message \
            and "groups" in source:
        return ("the grouped convolution's `filters` came out as 0: `filters` must be a positive "
                "multiple of `groups` (int(filters / groups) rounds to 0 when filters < groups)")
    return _DONE if failure.kind == CONFIG else None  # no other pattern is about arguments


def _valid_padding_short_input(failure, branches, dims, channels_first):
    if "output size would be zero or negative" in failure.message and "padding=valid" in failure.message:
        return Hint("padding='valid' shrinks each step below the kernel size for short inputs: use "
                    "padding='same', or give inputs at least as large as the size summary says",
                    {"padding": "same"})
    return None


def _reshape_size(failure, branches, dims, channels_first):
    if failure.layer_class != "Reshape" or not failure.input_shapes:
        return None
    shape = failure.input_shapes[0]
    if all(isinstance(d, int) for d in shape[1:]):
        size = math.prod(shape[1:])
        return (f"Reshape's target shape must hold as many values as its input {tuple(shape)} "
                f"({size} per example): compute it from the input's shape, or use -1 for one dimension")
    return _DONE


def _elementwise_in_call(failure, branches, dims, channels_first):
    """An elementwise op on backend tensors inside the user's ``call()``
    (``x + keras.ops.ones((1, 5))``): no graph to follow, but the operands'
    shapes say which sizes must agree."""
    within = getattr(failure, "within", ())
    shapes = [tuple(s) for s in failure.input_shapes]
    backend_op = failure.layer_name is None  # a Keras layer or op has a name; TensorFlow's ops have none here
    if failure.kind != SHAPE or not within or not backend_op or branches or len(shapes) != 2 \
            or failure.cause in _NOT_SIZES:
        return None
    rank = max(len(s) for s in shapes)
    a, b = ((1,) * (rank - len(s)) + s for s in shapes)  # broadcasting aligns the last axes
    differ = [d for d in range(rank) if None not in (a[d], b[d]) and a[d] != b[d] and 1 not in (a[d], b[d])]
    if not differ:
        return None
    d = differ[-1]
    how = f"project it to {a[d]} channels, or build it from the input's shape" if d == rank - 1 else \
        "build it from the input's shape"
    return (f"the operands of {failure.layer_class} in {within[0]}.call(), {shapes[0]} and {shapes[1]}, must be "
            f"equal or 1 on each axis counted from the last, but axis {d - rank} is {a[d]} against {b[d]}: derive "
            f"that size of one from the other ({how}) instead of giving it its own")


def _not_a_merge(failure, branches, dims, channels_first):
    """Every pattern below is about the inputs of a merge whose sizes differ."""
    return _DONE if failure.layer_class not in _MERGES or not branches or not dims else None


def _valid_padding_on_a_branch(failure, branches, dims, channels_first):
    """A branch whose only change to the failing size is an unstrided
    ``padding='valid'`` window (kernel > 1) while the other input keeps the
    size: ``padding='same'`` there gives the other input's size back. A stride
    on such a layer shrinks it too, so padding alone would not fix it: no hint."""
    if failure.cause == "channels":  # valid padding shrinks sizes, never channels
        return None
    d = dims[0]
    for branch in branches:
        changers = _changers(branch, d)
        shrinking = [s for s in changers if _valid_window(s)]
        if not shrinking:
            continue
        step, before = shrinking[0]
        if any(_strided(s) for s, _ in shrinking):
            return _DONE
        others = [b for b in branches if b is not branch]
        if len(changers) == len(shrinking) and all(not _changers(b, d) for b in others):
            return Hint(f"{step.text()} on input {branch.index} shrinks dimension {d} from {before[d]} to "
                        f"{step.shape[d]} (padding='valid'): use padding='same' there, or crop the other "
                        "input to match", {"padding": "same"})
        return None
    return None


def _changers(branch, d) -> list:
    """The (step, shape before it) on ``branch`` that change dimension ``d``."""
    found, before = [], branch.start or None
    for step in branch.steps:
        if before is not None and len(step.shape) > d and len(before) > d and step.shape[d] != before[d]:
            found.append((step, before))
        before = step.shape
    return found


def _valid_window(changer) -> bool:
    """A ``padding='valid'`` kernel larger than 1 that shrank the size (a 1x1 valid kernel shrinks nothing)."""
    step, before = changer
    kernel = _as_tuple(step.get("kernel_size") or ())
    return step.get("padding") == "valid" and any(k != 1 for k in kernel) and \
        any(_smaller(a, b) for a, b in zip(step.shape, before))


def _strided(step) -> bool:
    return any(s != 1 for s in _as_tuple(step.get("strides", 1)))


def _identity_shortcut(failure, branches, dims, channels_first):
    identity = [b for b in branches if b.identity]
    others = [b for b in branches if not b.identity]
    if not identity or not others or failure.layer_class not in _ADDITIVE:
        return None  # a Multiply is a gate (squeeze-and-excitation), not a shortcut to project
    rank = len(branches[0].shape)
    channel = channel_axis(rank, channels_first)
    main = others[0]
    conv = {3: "Conv1D", 4: "Conv2D", 5: "Conv3D"}.get(rank, "Conv2D")
    stride = 1
    for step in main.steps:
        strides = step.get("strides")
        if strides is not None:
            stride *= strides[0] if isinstance(strides, tuple) else strides
    if any(d != channel for d in dims) and stride == 1:
        return _DONE  # the sizes differ for another reason than a stride
    if any(_valid_window(c) for d in dims if d != channel for c in _changers(main, d)):
        return _DONE  # a 'valid' window shrinks it too: a strided 1x1 projection would not match
    if upsampling_depth(main):
        return _DONE  # the main path grows the size (transposed convolution, upsampling): a stride would shrink it
    layout = ", data_format='channels_first'" if channels_first else ""
    return (f"the identity shortcut keeps {identity[0].source}'s shape {identity[0].shape} but the main path "
            f"gives {main.shape}: whenever they can differ, project the shortcut with a 1x1 convolution "
            f"with the main path's channels and the same strides, "
            f"{conv}({main.shape[channel]}, 1, strides={stride}{layout})({identity[0].source})")


def _upsampled_concatenation(failure, branches, dims, channels_first):
    rank = len(branches[0].shape)
    spatial = [d for d in dims if d != channel_axis(rank, channels_first)]
    ups = [b for b in branches if upsampling_depth(b)]
    if failure.layer_class != "Concatenate" or not ups or not spatial:
        return None
    depth = max(upsampling_depth(b) for b in ups)
    n = rank - 2
    skips = [b for b in branches if b not in ups]
    skip = f" and the skip {skips[0].shape}" if skips else ""
    return (f"the upsampled input {ups[0].shape}{skip} differ in size: sizes must be divisible by "
            f"2**{depth} = {2 ** depth}, or crop/pad the skip to the upsampled size "
            f"(Cropping{n}D / ZeroPadding{n}D)")


# In order: the first entry to answer (a fix, or _DONE for "no fix") decides.
PATTERNS: tuple[Callable, ...] = (
    _grouped_filters,
    _grouped_channels,
    _grouped_filters_zero,
    _valid_padding_short_input,
    _reshape_size,
    _elementwise_in_call,
    _not_a_merge,
    _valid_padding_on_a_branch,
    _identity_shortcut,
    _upsampled_concatenation,
)


def hint_for(failure, branches, channels_first: bool = False) -> Hint | None:
    """A fix for the recognised patterns only (docs/explanation/reports.md).
    ``failure`` is a `report.Failure`; ``branches`` its merge's `Branch`es;
    ``channels_first`` the failing layer's layout (where its channels are)."""
    if getattr(failure, "side", None):  # a fit step's failure: the fix its side's pattern gave (`_probe.fit`)
        return Hint(failure.hint) if failure.hint else None
    dims = failing_dims([b.shape for b in branches]) if branches else []
    for pattern in PATTERNS:
        answer = pattern(failure, branches, dims, channels_first)
        if answer is _DONE:
            return None
        if answer is not None:
            return answer if isinstance(answer, Hint) else Hint(answer)
    return None


def _smaller(size, before) -> bool:
    return isinstance(size, int) and isinstance(before, int) and size < before


def _as_tuple(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)
