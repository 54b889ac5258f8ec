"""Run a block once on symbolic inputs and say what happened.

This is the only module that touches Keras internals, and it imports Keras
lazily, inside the functions that need it. A faster evaluator can replace
`probe` without touching search or reports: they only see `Outcome`.

How a failure is attributed: Keras's traceback filtering is switched off for
the call, so the traceback keeps Keras's own frames. The innermost frame of the
user's code is the *location*; the first Keras `Operation` (layer or op) called
after it is the *layer*. Without such an operation the function failed on its
own: a user error, never reported as a shape bug.
"""

from __future__ import annotations

import collections
import inspect
import os
import re
import signal
import sys
import sysconfig
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterator

from .space import Space

PASS = "pass"
SHAPE = "shape"  # a layer or op rejected the shapes it was given
CONFIG = "config"  # a layer rejected its own arguments for these inputs
ERROR = "error"  # the function raised by itself
TIMEOUT = "Timeout"  # error_type of a call that ran past its time

# Packages whose frames are never "the user's line".
_INTERNAL_PACKAGES = ("keras", "tensorflow", "shapeguard", "wrapt", "hypothesis", "optree", "numpy")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Outcome:
    """What one probe found. Plain data: it holds no tensor, layer or frame,
    so keeping every outcome costs little memory."""

    status: str
    layer_class: str | None = None
    layer_name: str | None = None
    file: str | None = None
    line: int | None = None
    message: str = ""
    input_shapes: tuple = ()
    error_type: str | None = None
    branches: tuple = ()  # _graph.Branch per input of a failing merge (issue 11)
    warnings: tuple = ()  # _graph.Broadcast per silent broadcast of a passing call

    @property
    def failed(self) -> bool:
        return self.status != PASS

    @property
    def mode(self) -> tuple | None:
        """Failures of one mode come from the same layer (or exception type) at
        the same line of the user's code."""
        if self.status == PASS:
            return None
        return (self.status, self.layer_class or self.error_type, self.file or "", self.line or 0)


PASSED = Outcome(PASS)


class ProbeTimeout(BaseException):
    """Raised inside a block that runs past its time. A BaseException, so the
    block's own ``except Exception`` cannot swallow it."""


def probe(fn: Callable, space: Space, point: tuple[int, ...], timeout: float | None = None) -> Outcome:
    """Call ``fn`` once at ``point`` with `keras.Input` tensors; nothing is trained.
    A call running past ``timeout`` seconds is stopped and reported as an error
    at the line it was running (only in the main thread, where signals work)."""
    import keras

    from ._graph import watching_broadcasts

    with _isolated_keras_state(), watching_broadcasts() as broadcasts:
        args, kwargs, _ = _call_arguments(space, point)
        try:
            with _time_limit(timeout):
                fn(*args, **kwargs)
        except ProbeTimeout as exc:
            outcome = classify(exc)
            return Outcome(ERROR, file=outcome.file, line=outcome.line, error_type=TIMEOUT,
                           message=f"the call did not return within {timeout:g} s")
        except (Exception, SystemExit) as exc:
            return classify(exc)
    return Outcome(PASS, warnings=tuple(broadcasts)) if broadcasts else PASSED


@contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    if not seconds or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def stop(signum, frame):
        raise ProbeTimeout()

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def classify(exc: BaseException) -> Outcome:
    """Turn an exception raised by a block into an `Outcome` (see module doc)."""
    from keras.src.ops.operation import Operation

    frames = _frames(exc.__traceback__)
    user = [i for i, (frame, _) in enumerate(frames) if not _is_internal(frame.f_code.co_filename)]
    last_user = user[-1] if user else -1
    file, line = (frames[last_user][0].f_code.co_filename, frames[last_user][1]) if user else (None, None)

    op, in_init, in_build = None, False, False
    for frame, _ in frames[last_user + 1 :]:
        owner = frame.f_locals.get("self")
        if not isinstance(owner, Operation):
            continue
        if op is None:
            op = owner
            shapes = _input_shapes(frame)
            op_frame = frame
        if owner is op:
            in_init = in_init or frame.f_code.co_name == "__init__"
            in_build = in_build or frame.f_code.co_name == "build"
    message = _clean_message(exc)
    if op is None:
        return Outcome(ERROR, file=file, line=line, message=message, error_type=type(exc).__name__)

    from keras.src.layers.merging.base_merge import Merge

    # Merge layers check their inputs' shapes in build(); other layers reject
    # their own arguments there (e.g. channels not divisible by groups).
    config = in_init or (in_build and not isinstance(op, Merge))
    name = op.__dict__.get("name") if hasattr(op, "__dict__") else None
    return Outcome(
        CONFIG if config else SHAPE,
        layer_class=type(op).__name__,
        layer_name=name if isinstance(name, str) else None,
        file=file,
        line=line,
        message=message,
        input_shapes=() if in_init else shapes,
        error_type=type(exc).__name__,
        branches=() if config else _branches(op_frame),
    )


@contextmanager
def enriched_errors(describe_call: Callable[[], str]) -> Iterator[None]:
    """For a normal call of a guarded function: when a shape or config error
    escapes, add what shapeguard knows to its message, keeping its type."""
    if "keras" not in sys.modules:  # nothing Keras can have raised yet
        yield
        return
    from keras.src.utils import traceback_utils

    filtering = traceback_utils.is_traceback_filtering_enabled()
    traceback_utils.disable_traceback_filtering()
    try:
        yield
    except Exception as exc:
        if filtering:
            traceback_utils.enable_traceback_filtering()
        outcome = classify(exc)
        if outcome.status in (SHAPE, CONFIG) and not getattr(exc, "_shapeguard_enriched", False):
            _append_to_message(exc, f"shapeguard: {describe_outcome(outcome)}; call: {describe_call()}")
            exc._shapeguard_enriched = True
        if filtering:
            exc.with_traceback(traceback_utils._process_traceback_frames(exc.__traceback__))
        raise
    finally:
        if filtering:
            traceback_utils.enable_traceback_filtering()


def describe_outcome(outcome: Outcome) -> str:
    """``Add layer 'add' at blocks.py:24 got input shapes (None, 7, 7, 64), (None, 7, 7, 16)``"""
    name = f" {outcome.layer_name!r}" if outcome.layer_name else ""
    where = f" at {outcome.file}:{outcome.line}" if outcome.file else ""
    text = f"{outcome.layer_class}{name}{where}"
    if outcome.input_shapes:
        text += " got input shapes " + ", ".join(str(s) for s in outcome.input_shapes)
    return text


def describe_value(value) -> str:
    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(value, (int, float, str, bool)):
        return f"<{type(value).__name__} shape={tuple(shape)}>"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@contextmanager
def _isolated_keras_state() -> Iterator[None]:
    """Fresh layer-name counters (so names are the same on every run and the
    counters do not grow probe after probe) and full tracebacks; both restored."""
    from keras.src.backend.common import global_state
    from keras.src.utils import traceback_utils

    uids = global_state.get_global_attribute("object_name_uids")
    filtering = traceback_utils.is_traceback_filtering_enabled()
    global_state.set_global_attribute("object_name_uids", collections.defaultdict(int))
    traceback_utils.disable_traceback_filtering()
    try:
        yield
    finally:
        global_state.set_global_attribute("object_name_uids", uids)
        if filtering:
            traceback_utils.enable_traceback_filtering()


def _frames(tb) -> list:
    frames = []
    while tb is not None:
        frames.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    return frames


@lru_cache(maxsize=None)
def _internal_roots() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(standard library folders, folders of the packages in _INTERNAL_PACKAGES)."""
    paths = sysconfig.get_paths()
    packages = [
        os.path.dirname(m.__file__)
        for m in map(sys.modules.get, _INTERNAL_PACKAGES)
        if m is not None and getattr(m, "__file__", None)
    ]
    as_dirs = lambda dirs: tuple(os.path.join(os.path.realpath(d), "") for d in dirs)
    return as_dirs({paths["stdlib"], paths["platstdlib"]}), as_dirs(packages)


@lru_cache(maxsize=4096)
def _is_internal(filename: str) -> bool:
    """Frames of Keras, TensorFlow, shapeguard and the standard library. A
    user's own package installed in site-packages still counts as the user's."""
    if filename.startswith("<"):
        return True
    path = os.path.realpath(filename)
    stdlib, packages = _internal_roots()
    if path.startswith(packages):
        return True
    parts = path.split(os.sep)
    return path.startswith(stdlib) and "site-packages" not in parts and "dist-packages" not in parts


def _input_shapes(frame) -> tuple:
    """Shapes of the tensors an operation was called with, batch dim as None."""
    import keras

    code = frame.f_code
    count = code.co_argcount + code.co_kwonlyargcount
    count += bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
    names = code.co_varnames[:count]
    values = [frame.f_locals[n] for n in names if n != "self" and n in frame.f_locals]
    shapes = []
    for value in keras.tree.flatten(values):
        if isinstance(value, keras.KerasTensor):
            shapes.append(tuple(value.shape))
    return tuple(shapes)


def _branches(frame) -> tuple:
    """Provenance of the inputs of a failing merge (`_graph.branches`), as plain data."""
    import keras

    from ._graph import branches

    code = frame.f_code
    count = code.co_argcount + code.co_kwonlyargcount
    count += bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
    names = code.co_varnames[:count]
    values = [frame.f_locals[n] for n in names if n != "self" and n in frame.f_locals]
    tensors = [v for v in keras.tree.flatten(values) if isinstance(v, keras.KerasTensor)]
    try:
        return branches(tensors, type(frame.f_locals.get("self")).__name__)
    except Exception:  # provenance is a courtesy: never let it hide the failure
        return ()


def _clean_message(exc: BaseException) -> str:
    """Keras's message without colour codes or the 'Exception encountered when
    calling X.call()' wrapper, cut to its first meaningful paragraph."""
    text = _ANSI.sub("", str(exc)).strip()
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    if paragraphs and paragraphs[0].startswith("Exception encountered when calling") and len(paragraphs) > 1:
        paragraphs = paragraphs[1:]
    first = paragraphs[0] if paragraphs else type(exc).__name__
    return " ".join(first.split())


def _append_to_message(exc: BaseException, extra: str) -> None:
    if exc.args and isinstance(exc.args[0], str):
        exc.args = (f"{exc.args[0]}\n\n{extra}",) + exc.args[1:]
    else:
        exc.add_note(extra)


# Layers that take a sequence (batch, T, C) when they come first in a block,
# whatever rank their input spec allows (README, "Rank").
_SEQUENCE_LAYERS = frozenset({
    "Dense", "EinsumDense", "LayerNormalization", "RMSNormalization", "MultiHeadAttention",
    "GroupedQueryAttention", "Attention", "AdditiveAttention", "LSTM", "GRU", "SimpleRNN", "RNN",
    "Bidirectional", "ConvLSTM1D",
})


def first_layer_rank(fn: Callable, space: Space, point: tuple[int, ...], param: str,
                     timeout: float | None = None) -> int | None:
    """The rank (batch dimension left out) that the first Keras layer given
    the tensor parameter ``param`` declares: 2 for a sequence layer (``Conv1D``,
    ``LSTM``, ``MultiHeadAttention``, ``Dense`` or ``LayerNormalization``
    first), 4 for a volume (``Conv3D``), 3 for an image; None when the first
    layer says nothing about rank or no layer got the tensor. Calls ``fn``
    once at ``point``; its outcome does not matter."""
    import keras
    from keras.src.layers.layer import Layer

    original = Layer.__call__
    first: list = []
    tensors: list = []

    def recording_call(self, *args, **kwargs):
        if not first and any(t is v for v in keras.tree.flatten((args, kwargs)) for t in tensors):
            first.append(self)
        return original(self, *args, **kwargs)

    Layer.__call__ = recording_call
    try:
        with _isolated_keras_state():
            args, kwargs, by_name = _call_arguments(space, point)
            tensors.extend(keras.tree.flatten(by_name.get(param)))
            try:
                with _time_limit(timeout):
                    fn(*args, **kwargs)
            except (Exception, SystemExit, ProbeTimeout):
                pass
    finally:
        Layer.__call__ = original
    if not first:
        return None
    layer = first[0]
    if type(layer).__name__ in _SEQUENCE_LAYERS:
        return 2
    spec = layer.input_spec[0] if isinstance(layer.input_spec, (list, tuple)) and layer.input_spec else layer.input_spec
    ndim = getattr(spec, "ndim", None) or getattr(spec, "min_ndim", None)
    return ndim - 1 if ndim in (3, 4, 5) else None


def _call_arguments(space: Space, point: tuple[int, ...]) -> tuple[list, dict, dict]:
    """``(args, kwargs, {name: value})`` of the call at ``point``, with a
    fresh `keras.Input` for each tensor (a list of them for a list template)."""
    import keras

    args, kwargs, by_name = [], {}, {}
    for arg in space.arguments(point):
        if isinstance(arg.shape, list):
            value = [keras.Input(shape=shape, name=f"{arg.name}[{i}]") for i, shape in enumerate(arg.shape)]
        else:
            value = keras.Input(shape=arg.shape, name=arg.name) if arg.shape is not None else arg.value
        by_name[arg.name] = value
        if arg.positional:
            args.append(value)
        else:
            kwargs[arg.name] = value
    return args, kwargs, by_name
