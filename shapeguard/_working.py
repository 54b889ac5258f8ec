"""The working point: where a block works at its defaults, found before the search.

Input sizes nobody gave are not guessed once and searched blind: a block with
three poolings fails at ``H=8`` whatever its bug is. Before the search, the
block is probed with every parameter at its default (its first value) and its
inferred sizes grown from small to large (`SIZES`, `CHANNELS`; a builder's own
``input_shape`` default first) until it passes. The space is then centred on
that point: each grown spatial size takes that size, the odd one above it
(odd sizes break stride-2 joins) and its double (a builder that only builds
near its own default), each channel size that size and its doubles;
below the working size, a bisection finds the smallest size that works and
the failure one size below it, reported as a threshold (docs/explanation/probing.md, "Working point"). A block that fails at its defaults at every size
tried is not searched: its one finding is the failure at the largest size.

With no template given, the same growth picks the rank: the template the
block's layers ask for first (`_probe.rank_hint`), then the others; a rank
the block rejects outright (``expected ndim=3``) is dropped at its first probe.
Every probe goes through the check's one `Prober`.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace

from ._inference import CHANNEL_DIMS, SPATIAL_DIMS
from ._outcome import ERROR, PASS, TIMEOUT
from .search import Prober
from .space import Space

SIZES = (8, 16, 32, 64, 128, 256, 512)  # spatial and sequence sizes tried, in order
CHANNELS = (8, 16, 32, 64, 128, 256)  # channel sizes tried at each spatial size
IMAGE_CHANNELS = (3, 1)  # tried first for a model builder's input, last for a block's
CHANNEL_SPAN = 4  # a centred channel axis: c, 2c, 4c, 8c
_RANK = re.compile(r"\bndim\b|out of bounds|Expected an input with rank|must be rank")


@dataclass(frozen=True)
class WorkingPoint:
    """What growing found. ``space``: the space to search (centred on the
    working point; with none, the one point failing at the largest sizes);
    ``sizes``: the grown sizes where it works (or the largest tried);
    ``works``; ``probes``: how many probes growing took; ``cost``: Keras calls
    a probe made (the most), for the time budget; ``threshold``: the smallest
    spatial size that works, with the failure one below it."""

    space: Space
    sizes: dict
    works: bool
    probes: int
    cost: int | None
    tried: dict  # axis name -> (smallest, largest) size tried
    threshold: dict | None = None  # the smallest spatial size that works (`_threshold`)

    def as_dict(self) -> dict:
        return {"works": self.works, "at": dict(self.sizes), "probes": self.probes,
                "tried": {k: list(v) for k, v in self.tried.items()}, "smallest": self.threshold}


class RankRejected(Exception):
    """Every template tried was rejected for its rank (``outcome``: the first rejection)."""

    def __init__(self, space: Space, outcome) -> None:
        super().__init__(outcome.message)
        self.space, self.outcome = space, outcome


def grown_axes(space: Space) -> list:
    """The inferred template dimensions growing may set (nobody gave their values)."""
    return [a for a in space.axes if a.is_dim and a.inferred and (a.name in SPATIAL_DIMS or a.name in CHANNEL_DIMS)]


def _choice_axes(space: Space) -> list:
    """Inferred templates with choices (a second tensor at the first's size, double or half): one is picked."""
    inferred = {t.param for t in space.templates if t.inferred and len(t.choices) > 1}
    return [a for a in space.axes if a.name in inferred]


def find(prober: Prober, candidates: list[Space], shape_defaults: dict | None = None,
         builder: bool = False) -> WorkingPoint | None:
    """Grow each candidate space's inferred sizes (module doc) until the block
    works at its defaults; None when no candidate has a size to grow (or
    Ctrl-C came first: then ``prober.result.interrupted``). Raises
    `RankRejected` when every candidate's rank is rejected outright."""
    if not any(grown_axes(space) for space in candidates):
        return None
    calls: list[int] = []  # Keras calls of each probe
    rejected = failed = None
    for space in candidates:
        axes = grown_axes(space)
        if not axes:
            continue
        last, errors, spatial_tried = None, [], set()
        for sizes in _tries(space, axes, shape_defaults, builder):
            point_space = _at(space, sizes)
            point = (0,) * len(point_space.axes)
            if point_space.call(point) is None:  # the contract rules it out
                continue
            try:
                outcome = prober.at(point_space, point)
            except KeyboardInterrupt:  # Ctrl-C: no working point; the search reports the interruption
                prober.result.interrupted = True
                return None
            calls.append(prober.last_calls)
            if outcome.status == PASS:
                threshold = _threshold(prober, space, sizes, calls)
                return WorkingPoint(_centred(space, sizes), sizes, True, len(calls), _cost(calls),
                                    _tried(axes), threshold)
            if rejects_rank(outcome, space):
                rejected = rejected or (space, outcome)
                last = None
                break
            last = (space, sizes, point_space)
            if outcome.error_type == TIMEOUT:
                break
            errors.append((outcome.status, outcome.error_type, outcome.message))
            spatial_tried.add(tuple(v for k, v in sizes.items() if k in SPATIAL_DIMS))
            if len(spatial_tried) > 2 and errors[0][0] == ERROR and len(set(errors)) == 1:
                break  # the block's own error, the same at three sizes: growing will not help
        if last is not None and failed is None:
            failed = last
    if failed is None:
        raise RankRejected(*rejected)
    space, sizes, point_space = failed
    return WorkingPoint(point_space, sizes, False, len(calls), _cost(calls),
                        _tried(grown_axes(space)))


def rejects_rank(outcome, space: Space | None = None) -> bool:
    """The block rejected the tensor's rank itself (``expected ndim=3``): no
    size will do. A layer deeper in the block that rejects the rank of what
    it got (a ``Conv2D`` after ``Flatten``) is a failure of the block, not of
    the template: with ``space``, the rejecting layer must have got a tensor
    of the template's rank."""
    if not (outcome.failed and (outcome.cause == "wrong rank" or _RANK.search(outcome.message or ""))):
        return False
    if space is None or not outcome.input_shapes or not space.templates:
        return True
    ranks = {len(space.templates[0].choices[0]) + 1} if space.templates[0].choices[0] is not None else set()
    return any(len(shape) in ranks for shape in outcome.input_shapes)


def _threshold(prober: Prober, space: Space, sizes: dict, calls: list) -> dict | None:
    """The smallest spatial size that works, by bisection between the size
    below the working one in `SIZES` (probed first: it must fail) and the
    working one, every other value as at the working point: ``{"works":
    {"H": 22}, "fails": {"H": 21}, "layer": "MaxPooling2D", "message": ...}``,
    both probed; None when the block works at the smallest size, or at the
    size below (a builder's own default grown from: nothing to bound)."""
    spatial = [n for n in sizes if n in SPATIAL_DIMS]
    works = sizes.get(spatial[0]) if spatial else None
    if works is None or works <= SIZES[0]:
        return None
    fails = max(s for s in SIZES if s < works)

    def probed(size):
        point_space = _at(space, {**sizes, **{n: size for n in spatial}})
        point = (0,) * len(point_space.axes)
        if point_space.call(point) is None:
            return None
        outcome = prober.at(point_space, point)
        calls.append(prober.last_calls)
        return outcome

    failure = probed(fails)
    if failure is None or not failure.failed:
        return None
    while works - fails > 1:
        mid = (works + fails) // 2
        outcome = probed(mid)
        if outcome is None:
            return None
        if outcome.status == PASS:
            works = mid
        elif outcome.failed:
            fails, failure = mid, outcome
        else:  # the block's own error between: say nothing rather than guess
            return None
    return {"works": {n: works for n in spatial}, "fails": {n: fails for n in spatial},
            "layer": failure.layer_class or failure.error_type, "message": failure.message}


def _tries(space: Space, axes: list, shape_defaults: dict | None, builder: bool):
    """The sizes to try, in order: a builder's default shape, then each spatial
    size with each channel size (`SIZES` x `CHANNELS`)."""
    spatial = [a.name for a in axes if a.name in SPATIAL_DIMS]
    channel = [a.name for a in axes if a.name in CHANNEL_DIMS]
    default = _default_sizes(space, shape_defaults or {})
    if default:
        yield default
    channels = (IMAGE_CHANNELS + CHANNELS) if builder else (CHANNELS + IMAGE_CHANNELS)
    choices = [[(a.name, v) for v in a.values] for a in _choice_axes(space)]
    for s in SIZES if spatial else (None,):
        for c in channels if channel else (None,):
            sizes = {**{n: s for n in spatial}, **{n: c for n in channel}}
            for picked in itertools.product(*choices):
                tried = {**sizes, **dict(picked)}
                if tried != default:
                    yield tried


def _default_sizes(space: Space, shape_defaults: dict) -> dict:
    """The sizes a builder's default shape gives its template's dims
    (``input_shape=(28, 28, 1)`` on ``H,H,C``: ``{"H": 28, "C": 1}``), or {}."""
    grown = {a.name for a in grown_axes(space)}
    for template in space.templates:
        default = shape_defaults.get(template.param)
        if not isinstance(default, tuple) or len(template.choices) != 1:
            continue
        dims = template.dims
        if len(dims) != len(default):
            continue
        sizes: dict = {}
        for dim, value in zip(dims, default):
            if isinstance(dim, str) and dim in grown and isinstance(value, int) and value > 0:
                if sizes.setdefault(dim, value) != value:
                    return {}  # H,H,C on a non-square default: grow instead
        return sizes
    return {}


def _at(space: Space, sizes: dict) -> Space:
    """A one-point space: the grown sizes, every other axis at its first value (its default)."""
    axes = tuple(replace(a, values=(sizes[a.name],) if a.name in sizes else a.values[:1]) for a in space.axes)
    return replace(space, axes=axes)


def _centred(space: Space, sizes: dict) -> Space:
    """The space with each grown axis around its working size (module doc)."""
    axes = []
    for a in space.axes:
        if a.name not in sizes:
            axes.append(a)
            continue
        v = sizes[a.name]
        if not a.is_dim:  # a second tensor's shape: the one the block works with
            axes.append(replace(a, values=(v,), inferred=f"{a.inferred}: works at {v}"))
            continue
        if a.name in SPATIAL_DIMS:
            values, rule = (v, v + 1, 2 * v), f"works at {v}; {v + 1} for an odd size, {2 * v} for a larger one"
        elif v in IMAGE_CHANNELS:  # an image's channels (RGB, grey): a model's contract, not searched
            values, rule = (v,), f"works at {v}, an image's channel count: held there"
        else:
            values, rule = tuple(v * 2 ** i for i in range(CHANNEL_SPAN)), f"works at {v}; and its doubles"
        axes.append(replace(a, values=values, inferred=f"{a.inferred}: {rule}"))
    return replace(space, axes=tuple(axes))


def _tried(axes: list) -> dict:
    """Each grown axis's smallest and largest size tried, for the report."""
    tried = {}
    for a in axes:
        sizes = SIZES if a.name in SPATIAL_DIMS else IMAGE_CHANNELS + CHANNELS
        tried[a.name] = (min(sizes), max(sizes))
    return tried


def _cost(calls: list[int]) -> int | None:
    return max(calls) if calls else None
