"""Where a merge's inputs came from, and the user's line that called each layer.

Keras records the functional graph on every `KerasTensor` (``_keras_history``:
the operation that made it, its node, which output). `branches` walks that
graph back from each input of a failing merge to the block's inputs and keeps
it as plain data (`Branch`, `Step`: strings and ints, no tensors), so an
`Outcome` stays cheap to keep. Keras is imported lazily, as everywhere in shapeguard.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

from .._usercode import is_user, relative_path
from .._usercode import shown as _shown
from .fast import config_of
from .patches import hooked

# Config entries worth showing for a layer on a path, in this order.
_SHOWN = ("filters", "units", "kernel_size", "pool_size", "size", "strides", "groups", "padding",
          "cropping", "target_shape", "dims", "axis")
_UPSAMPLING = ("UpSampling1D", "UpSampling2D", "UpSampling3D", "Conv1DTranspose", "Conv2DTranspose",
               "Conv3DTranspose")


@dataclass(frozen=True)
class Step:
    """One layer or op on a path: its class, name, shown config and output shape."""

    layer_class: str
    name: str | None
    config: tuple  # ((key, value), ...) of the entries in _SHOWN it has
    shape: tuple  # output shape, batch dim as None
    location: tuple | None = None  # (file, line) of the user's code that called it

    def get(self, key, default=None):
        return dict(self.config).get(key, default)

    def text(self) -> str:
        parts = [self.layer_class]
        config = dict(self.config)
        kernel = config.get("kernel_size")
        if isinstance(kernel, (tuple, list)) and kernel:
            parts.append("x".join(map(str, kernel)))
        for key in ("filters", "units"):
            if key in config:
                parts.append(str(config[key]))
        strides = config.get("strides")
        if strides is not None and any(s != 1 for s in _as_tuple(strides)):
            parts.append(f"strides={_compact(strides)}")
        if config.get("groups", 1) != 1:
            parts.append(f"groups={config['groups']}")
        if config.get("padding") == "valid" and kernel is not None:
            parts.append("padding='valid'")
        for key in ("pool_size", "size", "cropping", "target_shape"):
            if key in config:
                parts.append(f"{key}={_compact(config[key])}")
        return " ".join(parts)


@dataclass(frozen=True)
class Branch:
    """One input of a merge: the block input it starts from, the layers from
    there (in call order), its shape, and the first of those layers that
    changes the failing dimension (``parts_at``, an index into ``steps``)."""

    index: int
    source: str  # the block input's name ("x"), or "?" when the path starts elsewhere
    steps: tuple
    shape: tuple
    parts_at: int | None = None
    shared: int = 0  # leading steps every branch goes through
    start: tuple = ()  # the block input's shape
    label: str = "identity shortcut"  # what a path without layers is called ("unchanged" but in a sum)

    @property
    def identity(self) -> bool:
        return not self.steps

    def text(self, lines: bool = False) -> str:
        """``x -> Conv2D 1x1 32 -> ... (None, 7, 7, 64)``; ``*`` marks where it
        parts; with ``lines``, each layer is followed by the user's line that called it."""
        if self.identity:
            return f"input {self.index}: {self.source} ({self.label}) {self.shape}"
        names = []
        for i, step in enumerate(self.steps):
            at = f" ({_shown(step.location)})" if lines and step.location else ""
            names.append(step.text() + at + (" *" if i == self.parts_at else ""))
        return f"input {self.index}: " + " -> ".join([self.source, *names]) + f" {self.shape}"

    def to_dict(self) -> dict:
        return {
            "input": self.index,
            "source": self.source,
            "identity": self.identity,
            "path": [{"class": s.layer_class, "name": s.name, "text": s.text(), "shape": list(s.shape),
                      "location": None if s.location is None else
                      {"file": relative_path(s.location[0]), "line": s.location[1]}}
                     for s in self.steps],
            "shape": list(self.shape),
            "parts_at": self.parts_at,
            "text": self.text(),
        }


def failing_dims(shapes) -> list[int]:
    """Dimensions (batch counted) where the shapes cannot be merged: two known
    sizes that differ and are not 1. Empty for shapes of different ranks."""
    shapes = [tuple(s) for s in shapes]
    if len(shapes) < 2 or len({len(s) for s in shapes}) != 1:
        return []
    dims = []
    for d in range(1, len(shapes[0])):
        sizes = {s[d] for s in shapes if s[d] is not None} - {1}
        if len(sizes) > 1:
            dims.append(d)
    return dims


def branches(tensors, merge_class: str = "", sites: dict | None = None) -> tuple:
    """The path of each tensor (inputs of a failing merge) back to the block's
    inputs, following each layer's first input. Empty when fewer than two
    tensors have recorded history."""
    import keras

    tensors = [t for t in tensors if isinstance(t, keras.KerasTensor)]
    if len(tensors) < 2:
        return ()
    paths = [_path(t, sites or {}) for t in tensors]
    shapes = [tuple(t.shape) for t in tensors]
    dims = failing_dims(shapes)
    # Steps every path goes through (the trunk before the fork) never mark where they part.
    shared = 0
    while all(len(p[1]) > shared for p in paths) and len({id(p[1][shared][0]) for p in paths}) == 1:
        shared += 1
    result = []
    for index, ((source, steps, start_shape), shape) in enumerate(zip(paths, shapes)):
        plain = tuple(step for _, step in steps)
        parts_at = None
        if dims:
            d = dims[0]
            before = plain[shared - 1].shape if shared else start_shape
            for i in range(shared, len(plain)):
                size = plain[i].shape[d] if len(plain[i].shape) > d else None
                prior = before[d] if len(before) > d else None
                if size != prior:
                    parts_at = i
                    break
                before = plain[i].shape
        # a shortcut is what a residual sum carries; a concatenation's or a gate's (Multiply) input is "unchanged"
        label = "identity shortcut" if merge_class in ("Add", "Subtract", "Average") else "unchanged"
        result.append(Branch(index, source, plain, shape, parts_at, shared, tuple(start_shape), label))
    return tuple(result)


def _path(tensor, sites: dict) -> tuple:
    """``(source name, [(node, Step), ...] in call order, source shape)``."""
    from keras.src.layers.core.input_layer import InputLayer

    steps = []
    seen = 0
    while seen < 200:
        seen += 1
        history = getattr(tensor, "_keras_history", None)
        op = getattr(history, "operation", None)
        if op is None:
            return "?", steps[::-1], tuple(tensor.shape)
        if isinstance(op, InputLayer):
            return op.name, steps[::-1], tuple(tensor.shape)
        node = op._inbound_nodes[history.node_index]
        steps.append((node, _step(op, tensor, sites.get(id(op)))))
        inputs = node.input_tensors
        if not inputs:
            return "?", steps[::-1], tuple(tensor.shape)
        tensor = inputs[0]
    return "?", steps[::-1], tuple(tensor.shape)


def _step(op, tensor, location: tuple | None = None) -> Step:
    config = {}
    try:
        config = config_of(op) or {}
    except Exception:  # an op or user layer without a usable config
        config = {}
    shown = tuple((k, _plain(config[k])) for k in _SHOWN if k in config and _plain(config[k]) is not None)
    name = op.__dict__.get("name") if hasattr(op, "__dict__") else None
    return Step(type(op).__name__, name if isinstance(name, str) else None, shown, tuple(tensor.shape), location)


def _plain(value):
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (tuple, list)) and all(isinstance(v, (int, float, str, type(None))) for v in value):
        return tuple(value)
    return None


def _as_tuple(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _compact(value) -> str:
    values = _as_tuple(value)
    if isinstance(value, (tuple, list)) and len(set(values)) == 1 and len(values) > 1:
        return str(values[0])
    return str(value if not isinstance(value, list) else tuple(value))


def upsampling_depth(branch: Branch) -> int:
    """How many upsampling layers (UpSampling, transposed convolutions) are on a path."""
    return sum(step.layer_class in _UPSAMPLING for step in branch.steps)


# ---- call sites ------------------------------------------------------------------

_call_sites = threading.local()


def call_sites() -> dict | None:
    """``{id(op): (file, line)}`` of the probe running in this thread (see `recording_call_sites`)."""
    return getattr(_call_sites, "map", None)


@contextmanager
def recording_call_sites(user_files: frozenset) -> Iterator[Callable]:
    """While a probe runs, remember for each Keras layer or op called the
    user's line that called it (`call_sites`), so a failing merge's branches
    can name the line of each layer on its paths. Yields ``note(op, frame)``,
    which records a call made from ``frame`` by a caller that does not go
    through ``Operation.__call__`` (a stand-in)."""
    sites: dict = {}
    alive: list = []  # the ops noted, kept until the probe ends so that no id is reused

    def note(op, frame) -> None:
        if id(op) not in sites:
            while frame is not None and not is_user(frame.f_code.co_filename, user_files):
                frame = frame.f_back
            if frame is not None:
                sites[id(op)] = (frame.f_code.co_filename, frame.f_lineno)
                alive.append(op)

    _call_sites.map = sites
    try:
        with hooked("call", note):
            yield note
    finally:
        _call_sites.map = None
