"""Run a block once on symbolic inputs and say what happened.

This module and its helpers (`_keras_state`, `_trace`, `_fast`) are the only ones that
touch Keras internals, and they import Keras lazily, inside the functions that
need it. A faster evaluator can replace `probe` without touching search or
reports: they only see `Outcome`.

How a failure is attributed: Keras's traceback filtering is switched off for
the call, so the traceback keeps Keras's own frames. The user's code is every
frame outside Keras, TensorFlow, shapeguard and the standard library, plus the
target's own file wherever it is installed. The innermost frame of the user's
code is the *location*, and the user frames from the target down are the
*chain*; the first Keras `Operation` (layer or op) called after the location is
the *layer*, looking inside models (a `Sequential` passes its input on to the
layer that rejects it). The rule of kinds (README, "What a probe reports"):

* **shape**: a layer rejected the shapes it got;
* **config**: a layer rejected its own arguments (in ``__init__``, or when
  ``build`` validates them), the user's own Layer subclasses included;
* **declared**: a layer's declared output shape is not what its ``call()`` makes;
* **error**: anything else, e.g. the block's own exception, a non-tensor given
  where a tensor was expected, or running out of memory.
"""

from __future__ import annotations

import inspect
import os
import re
import sys
import sysconfig
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterator

from . import _causes
from ._fast import PLAIN_TYPES
from .space import Space

PASS = "pass"
SHAPE = "shape"  # a layer or op rejected the shapes it was given
CONFIG = "config"  # a layer rejected its own arguments for these inputs
DECLARED = "declared"  # a layer's compute_output_shape disagrees with its call()
ERROR = "error"  # the function raised by itself (or ran out of memory)
INTERNAL = "InternalError"  # error_type of a fast-path verdict plain Keras does not confirm
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
    cause: str = ""  # why, in a few words (shapeguard._causes): "channels", "out of memory", ...
    chain: tuple = ()  # (file, line, function) of each user frame, the target's first
    branches: tuple = ()  # _graph.Branch per input of a failing merge (issue 11)
    warnings: tuple = ()  # _graph.Broadcast per silent broadcast of a passing call

    @property
    def failed(self) -> bool:
        return self.status != PASS

    @property
    def mode(self) -> tuple | None:
        """Failures of one mode have the same kind, come from the same layer
        (or exception type, for errors) at the same line of the user's code,
        and have the same cause."""
        if self.status == PASS:
            return None
        who = self.error_type if self.status == ERROR else self.layer_class or self.error_type
        return (self.status, who or "", self.file or "", self.line or 0, self.cause)


PASSED = Outcome(PASS)


class ProbeTimeout(BaseException):
    """Raised inside a block that runs past its time. A BaseException, so the
    block's own ``except Exception`` cannot swallow it."""


def probe(
    fn: Callable,
    space: Space,
    point: tuple[int, ...],
    timeout: float | None = None,
    *,
    user_files: frozenset = frozenset(),
    fast: bool = True,
) -> Outcome:
    """Call ``fn`` once at ``point`` with `keras.Input` tensors; nothing is trained.
    A call running past ``timeout`` seconds is stopped and reported as an error
    at the line it was running (only in the main thread, where signals work).
    ``user_files`` (see `target_files`) are the user's code even inside an
    installed package. Keras's global configuration is the same before and
    after the call, whatever the block changed. ``fast`` makes weights
    valueless, skips bookkeeping a shape check does not need (`_fast`) and
    gives the user's code stand-ins for Keras's own layers that answer from
    what Keras answered before (`_standin`); ``fast=False`` is the plain Keras
    path, which confirms every failure."""
    from . import _standin

    key = _key(fn)
    with session():
        if fast and _standin.available() and key not in _without_standins:
            outcome = _probe(fn, space, point, timeout, user_files, fast, standins=True)
            if outcome is not None:
                return outcome
            if len(_without_standins) >= 4096:
                _without_standins.clear()
            _without_standins[key] = True  # used beyond what stand-ins support: not again
        outcome = _probe(fn, space, point, timeout, user_files, fast, standins=False)
    assert outcome is not None
    return outcome


def session():
    """A context to run many probes in (a check): Keras's special methods are
    wrapped once for all of them (`_hooks`) instead of once per probe."""
    from contextlib import nullcontext

    from . import _hooks

    return _hooks.installed() if _hooks.available() else nullcontext()


_without_standins: dict = {}  # functions whose probes run without stand-ins (bounded, see _key)


def _key(fn: Callable):
    """What identifies ``fn`` across probes: the function under bound methods
    and partials, so the per-call objects made for them share one entry."""
    import functools

    for _ in range(10):
        if isinstance(fn, functools.partial):
            fn = fn.func
        elif inspect.ismethod(fn):
            fn = fn.__func__
        elif getattr(fn, "__wrapped__", None) is not None:  # a decorator's wrapper, a resolved target
            fn = fn.__wrapped__
        else:
            break
    return id(fn), getattr(fn, "__qualname__", None)


def _probe(fn, space, point, timeout, user_files, fast, standins: bool) -> Outcome | None:
    """One probe (see `probe`); None when stand-ins were on and the block used
    one beyond what it supports, so the probe has to run again without them."""
    from contextlib import nullcontext

    from . import _fast, _keras_state, _standin, _trace
    from ._graph import watching_broadcasts

    with _keras_state.isolated(), _fast.cheap_keras(fast), _probing_now(), watching_broadcasts() as broadcasts, \
            _recording_call_sites(user_files) as note_call, \
            (_standin.standing_in(note_call) if standins else nullcontext()) as session:
        try:
            args, kwargs, _ = _call_arguments(space, point)
            try:
                with _trace.traced_calls(), _time_limit(timeout):
                    fn(*args, **kwargs)
            except ProbeTimeout as exc:
                outcome = classify(exc, user_files)
                outcome = Outcome(ERROR, file=outcome.file, line=outcome.line, error_type=TIMEOUT,
                                  message=f"the call did not return within {timeout:g} s",
                                  cause="timeout", chain=outcome.chain)
            except (Exception, SystemExit) as exc:
                outcome = classify(exc, user_files)
            else:
                outcome = Outcome(PASS, warnings=tuple(broadcasts)) if broadcasts else PASSED
        except _standin.StandInUnsupported:  # raised only while stand-ins are on
            return None
        if session is not None and session.unsupported:  # the block swallowed StandInUnsupported
            return None
        return outcome


def target_files(fn: Callable) -> frozenset:
    """The real path of the file that defines ``fn`` (through decorators,
    bound methods and partials), as a set for `probe`'s ``user_files``; empty
    when it has none (a builtin, a lambda typed at a prompt)."""
    import functools

    target = fn
    for _ in range(10):
        target = inspect.unwrap(target)
        if isinstance(target, functools.partial):
            target = target.func
        elif inspect.ismethod(target):
            target = target.__func__
        else:
            break
    try:
        path = inspect.getsourcefile(target) or inspect.getfile(target)
    except (TypeError, OSError):
        return frozenset()
    return frozenset({os.path.realpath(path)}) if path and not path.startswith("<") else frozenset()


def _time_limit(seconds: float | None):
    from ._timeout import time_limit  # also stops blocks that swallow it, and in other threads

    return time_limit(seconds, ProbeTimeout)


def classify(exc: BaseException, user_files: frozenset = frozenset()) -> Outcome:
    """Turn an exception raised by a block into an `Outcome` (see module doc)."""
    from keras.src.ops.operation import Operation

    from ._trace import DeclaredShapeMismatch

    frames = _frames(exc.__traceback__)
    user = [i for i, (frame, _) in enumerate(frames) if _is_user(frame.f_code.co_filename, user_files)]
    last_user = user[-1] if user else -1
    file, line = (frames[last_user][0].f_code.co_filename, frames[last_user][1]) if user else (None, None)
    chain = tuple((frames[i][0].f_code.co_filename, frames[i][1], _function(frames[i][0])) for i in user)

    from keras.src.models.model import Model

    op, in_init, in_build, shapes = None, False, False, ()
    for frame, _ in frames[last_user + 1 :]:
        owner = frame.f_locals.get("self")
        # A model (Sequential, functional) only passes its inputs on to its
        # layers: the layer that rejected them is inside it.
        if not isinstance(owner, Operation) or (op is None and isinstance(owner, Model)):
            continue
        if op is None:
            op, op_frame = owner, frame
            shapes = _input_shapes(frame)
            op_frame = frame
        if owner is op:
            in_init = in_init or frame.f_code.co_name == "__init__"
            in_build = in_build or frame.f_code.co_name == "build"
    message = _clean_message(exc)
    error_type = type(exc).__name__
    rule = _causes.from_message(error_type, message)
    common = dict(file=file, line=line, message=message, error_type=error_type, chain=chain)

    if rule is not None and rule.kind == ERROR:
        return Outcome(ERROR, cause=rule.cause, **common)
    if op is None:
        own = _own_validation(frames, user, exc)
        if own is None:
            return Outcome(ERROR, cause=_causes.GENERIC[ERROR], **common)
        op, caller = own
        if caller is not None:
            common.update(file=frames[caller][0].f_code.co_filename, line=frames[caller][1])
        return Outcome(CONFIG, layer_class=type(op).__name__, layer_name=_name(op),
                       cause=rule.cause if rule else _causes.GENERIC[CONFIG], **common)

    if isinstance(exc, DeclaredShapeMismatch):
        kind, cause = DECLARED, "declared output shape differs from call()"
    elif _causes.is_merge(message):
        kind = SHAPE
        cause = _causes.merge_cause(shapes, _concat_axis(op)) or "incompatible shapes"
    elif rule is not None:
        kind, cause = rule.kind or _kind_by_place(op, in_init, in_build), rule.cause
    else:
        kind = _kind_by_place(op, in_init, in_build)
        cause = _causes.GENERIC[kind]
    return Outcome(
        kind,
        layer_class=type(op).__name__,
        layer_name=_name(op),
        input_shapes=() if in_init else shapes,
        cause=cause,
        branches=() if kind == CONFIG else _branches(op_frame),
        **common,
    )


def _kind_by_place(op, in_init: bool, in_build: bool) -> str:
    """Without a rule: raised while the layer was created, or built (except by
    a merge layer, which checks its inputs' shapes in build), is config."""
    from keras.src.layers.merging.base_merge import Merge

    return CONFIG if in_init or (in_build and not isinstance(op, Merge)) else SHAPE


def _own_validation(frames: list, user: list, exc: BaseException):
    """A ValueError raised by a layer's own ``__init__`` or ``build`` written
    outside Keras (the user's or a library's Layer subclass): that layer, and
    the index of the user frame that created or called it (None if none)."""
    from keras.src.ops.operation import Operation

    if not isinstance(exc, ValueError):
        return None
    for index in range(len(frames) - 1, -1, -1):
        owner = frames[index][0].f_locals.get("self")
        if isinstance(owner, Operation):
            break
    else:
        return None
    mine = [i for i, (frame, _) in enumerate(frames) if frame.f_locals.get("self") is owner]
    if not any(frames[i][0].f_code.co_name in ("__init__", "build") for i in mine):
        return None
    callers = [i for i in user if i < mine[0]]
    return owner, (callers[-1] if callers else None)


def _concat_axis(op) -> int | None:
    """The axis a concatenation joins on (left out of the comparison)."""
    if type(op).__name__ != "Concatenate":
        return None
    axis = getattr(op, "axis", None)
    return axis if isinstance(axis, int) else None


def _name(op) -> str | None:
    name = op.__dict__.get("name") if hasattr(op, "__dict__") else None
    return name if isinstance(name, str) else None


def _function(frame) -> str:
    return getattr(frame.f_code, "co_qualname", frame.f_code.co_name)


_call_sites = threading.local()


@contextmanager
def _recording_call_sites(user_files: frozenset) -> Iterator[Callable]:
    """While a probe runs, remember for each Keras layer or op called the
    user's line that called it (``_call_sites.map``: id -> (file, line)), so a
    failing merge's branches can name the line of each layer on its paths.
    Yields ``note(op, frame)``, which records a call made from ``frame`` by a
    caller that does not go through ``Operation.__call__`` (a stand-in)."""
    from ._hooks import hooked

    sites: dict = {}
    alive: list = []  # the ops noted, kept until the probe ends so that no id is reused

    def note(op, frame) -> None:
        if id(op) not in sites:
            while frame is not None and not _is_user(frame.f_code.co_filename, user_files):
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


_probing = threading.local()
_probing.depth = 0


@contextmanager
def _probing_now() -> Iterator[None]:
    """Mark this thread as inside a probe: a guarded function called by the
    block (a @guard Layer's call(), a partial of a guarded function) must not
    add its own note to the message the probe classifies."""
    _probing.depth = getattr(_probing, "depth", 0) + 1
    try:
        yield
    finally:
        _probing.depth -= 1


@contextmanager
def enriched_errors(describe_call: Callable[[], str]) -> Iterator[None]:
    """For a normal call of a guarded function: when a shape or config error
    escapes, add what shapeguard knows to its message, keeping its type."""
    if "keras" not in sys.modules or getattr(_probing, "depth", 0):  # nothing Keras raised yet / a probe reports it itself
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


def _is_user(filename: str, user_files: frozenset) -> bool:
    """The user's code: anything not internal, and the target's own files
    wherever they are installed (``keras.src.applications.resnet``)."""
    if not _is_internal(filename):
        return True
    return bool(user_files) and not filename.startswith("<") and _realpath(filename) in user_files


@lru_cache(maxsize=4096)
def _realpath(filename: str) -> str:
    return os.path.realpath(filename)


def _input_shapes(frame) -> tuple:
    """Shapes of the tensors an operation was called with, batch dim as None:
    KerasTensors, or the backend's tensors inside a traced ``call()``."""
    import keras

    code = frame.f_code
    count = code.co_argcount + code.co_kwonlyargcount
    count += bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
    names = code.co_varnames[:count]
    values = [frame.f_locals[n] for n in names if n != "self" and n in frame.f_locals]
    shapes = []
    for value in keras.tree.flatten(values):
        if type(value) in PLAIN_TYPES:  # TensorFlow's tensor test is slow on them
            continue
        if isinstance(value, keras.KerasTensor) or keras.ops.is_tensor(value):
            try:
                shapes.append(tuple(None if d is None else int(d) for d in value.shape))
            except (TypeError, ValueError):  # a shape of unknown rank
                continue
    return tuple(shapes)


_WRAPPER_HEAD = re.compile(r"^Exception encountered when calling [^\n]*?\.\s*$")
_ARGUMENTS_RECEIVED = re.compile(r"^Arguments received by ")
_CODE_BLOCK = re.compile(r"```.*?```", re.S)
_LIKELY_DOING = re.compile(r"[^.]*\bsomething like:\s*")
_FUNCTION_NODE = re.compile(r"\{\{function_node [^}]*\}\}\s*")
_DEVICE_TAIL = re.compile(r" on /job:.*$", re.S)


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
        return branches(tensors, type(frame.f_locals.get("self")).__name__, getattr(_call_sites, "map", None))
    except Exception:  # provenance is a courtesy: never let it hide the failure
        return ()


def _clean_message(exc: BaseException) -> str:
    """Keras's message on one line, keeping what went wrong and what to do:
    colour codes, Keras's wrappers ("Exception encountered when calling X.call()",
    "Could not automatically infer the output shape ... Error encountered:",
    "Arguments received by ..."), code samples and TensorFlow's device details
    are left out."""
    text = _ANSI.sub("", str(exc)).strip()
    if "Error encountered:" in text:  # the inner cause of a traced call()
        text = text.rsplit("Error encountered:", 1)[1].strip()
    text = _CODE_BLOCK.sub("\n\n", text)
    text = _LIKELY_DOING.sub("", text)
    paragraphs = []
    for paragraph in (p.strip() for p in text.split("\n\n")):
        if _ARGUMENTS_RECEIVED.match(paragraph):
            break
        if paragraph and not _WRAPPER_HEAD.match(paragraph):
            paragraphs.append(paragraph)
    text = _FUNCTION_NODE.sub("", " ".join(paragraphs))
    text = _DEVICE_TAIL.sub("", text) if "OOM when allocating" in text else text
    text = " ".join(text.split())
    return text or type(exc).__name__


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
        from . import _keras_state

        with _keras_state.isolated():
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


def _own_copy(value):
    """A list, dict or set value as a copy of its own for this call, as the
    literal a user would write is: a block that changes it (``sizes.pop()``)
    must not change the next probe's."""
    if type(value) not in (list, dict, set):
        return value
    import copy

    try:
        return copy.deepcopy(value)
    except Exception:  # noqa: BLE001 - something in it cannot be copied: pass it as it is
        return value


def _call_arguments(space: Space, point: tuple[int, ...]) -> tuple[list, dict, dict]:
    """``(args, kwargs, {name: value})`` of the call at ``point``, with a
    fresh `keras.Input` for each tensor (a list of them for a list template)."""
    from ._standin import keras_input

    args, kwargs, by_name = [], {}, {}
    for arg in space.arguments(point):
        if isinstance(arg.shape, list):
            value = [keras_input(shape, f"{arg.name}[{i}]") for i, shape in enumerate(arg.shape)]
        else:
            value = keras_input(arg.shape, arg.name) if arg.shape is not None else _own_copy(arg.value)
        by_name[arg.name] = value
        if arg.positional:
            args.append(value)
        else:
            kwargs[arg.name] = value
    return args, kwargs, by_name
