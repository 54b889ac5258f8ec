"""Run a block once on symbolic inputs and say what happened (`probe`).

Every call goes through `probe`: Keras's global state isolated (`isolation`),
the process's own state kept (`shapeguard._interpreter`: working directory,
``sys.path``, modules, signals, forks),
the fast path on (`fast`, `standins`), silent broadcasts watched
(`broadcasts`), the ``call()`` of layers that declare their shape traced
(`declared`), the call sites of layers recorded (`provenance`) and a time
limit (`shapeguard._timeout`); what the block raised is judged by `classify`.
Search and reports only see the `Outcome`.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from contextlib import contextmanager, nullcontext
from typing import Callable, Iterator

from .._inference import INFERRED_TEMPLATES, TOKEN_TEMPLATE
from .._interpreter import Kept
from .._outcome import ERROR, FORKED, PASS, PASSED, TIMEOUT, Outcome
from .._timeout import time_limit
from .._usercode import definition, innermost
from ..space import Space
from . import declared, fit, isolation, memo_file, patches
from . import fast as fast_path
from . import standins as _standins
from .broadcasts import watching_broadcasts
from .causes import GENERIC
from .classify import classify
from .enrich import probing
from .provenance import recording_call_sites


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
    trace: bool = True,
    eager: bool = False,
    real_weights: bool = False,
) -> Outcome:
    """Call ``fn`` once at ``point`` with `keras.Input` tensors; nothing is trained.
    A call running past ``timeout`` seconds is stopped and reported as an error
    at the line it was running (only in the main thread, where signals work).
    ``user_files`` (see `shapeguard._usercode.target_files`) are the user's
    code even inside an installed package. Keras's global configuration is the
    same before and after the call, whatever the block changed. ``fast`` makes
    weights valueless, skips bookkeeping a shape check does not need (`fast`)
    and gives the user's code stand-ins for Keras's own layers that answer from
    what Keras answered before (`standins`); ``fast=False`` is the plain Keras
    path, which confirms every failure, with Keras's deferred variables
    for weights (`fast.deferred_variables`) unless ``real_weights`` (or
    ``eager``: arrays of zeros go through real weights). ``trace=False`` (plain path only) runs
    Keras alone, which never runs the ``call()`` of a layer that declares its
    shape (`declared`); ``eager=True`` calls ``fn`` on arrays of zeros (batch
    1) instead of `keras.Input` tensors, as data would: how a failure found in
    such a ``call()`` is shown to be real (an error when a template has an
    unknown or a very large size)."""
    if not fast:
        with session():
            return _probe(fn, space, point, timeout, user_files, False, standins=False, trace=trace and not eager,
                          eager=eager, deferred=not (real_weights or eager))
    key = _key(fn)
    with session():
        if fast and _standins.available() and key not in _without_standins:
            outcome = _probe(fn, space, point, timeout, user_files, fast, standins=True)
            if outcome is not None:
                return outcome
            if len(_without_standins) >= 4096:
                _without_standins.clear()
            _without_standins[key] = True  # used beyond what stand-ins support: not again
        outcome = _probe(fn, space, point, timeout, user_files, fast, standins=False)
    assert outcome is not None
    return outcome


@contextmanager
def session() -> Iterator[None]:
    """A context to run many probes in (a check): Keras's special methods are
    wrapped once for all of them (`patches.installed`) instead of once per
    probe, and the outermost session starts from the stand-ins' answers kept
    on disk and adds its own when it ends (`memo_file.save_soon`)."""
    with patches.installed() if patches.available() else nullcontext():
        if _sessions[0]:
            _sessions[0] += 1
            try:
                yield
            finally:
                _sessions[0] -= 1
            return
        memo_file.load()
        _sessions[0] = 1
        try:
            yield
        finally:
            _sessions[0] = 0
            memo_file.save_soon()


_sessions = [0]  # how deep the sessions open now are


_without_standins: dict = {}  # functions whose probes run without stand-ins (bounded, see _key)


def forget_functions() -> None:
    """Give stand-ins again to every function `probe` stopped giving them to,
    as in a new process."""
    _without_standins.clear()


def _key(fn: Callable):
    """What identifies ``fn`` across probes: the function under bound methods
    and partials, so the per-call objects made for them share one entry."""
    fn = innermost(fn)
    return id(fn), getattr(fn, "__qualname__", None)


def _probe(fn, space, point, timeout, user_files, fast, standins: bool, trace: bool = True,
           eager: bool = False, deferred: bool = False) -> Outcome | None:
    """One probe (see `probe`); None when stand-ins were on and the block used
    one beyond what it supports, so the probe has to run again without them."""
    with isolation.isolated(), fast_path.cheap_keras(fast), fast_path.deferred_variables(deferred), probing(), \
            fit.confirming(not (fast or deferred or eager)), watching_broadcasts() as broadcasts, recording_call_sites(user_files) as note_call, \
            (_standins.standing_in(note_call) if standins else nullcontext()) as session:
        try:
            args, kwargs, _ = _call_arguments(space, point, eager)
            kept = Kept(user_files, timeout)
            try:
                with kept, (declared.traced_calls() if trace else nullcontext()), _time_limit(timeout):
                    fn(*args, **kwargs)
            except ProbeTimeout as exc:
                outcome = classify(exc, user_files)
                outcome = Outcome(ERROR, file=outcome.file, line=outcome.line, error_type=TIMEOUT,
                                  message=f"the call did not return within {timeout:g} s",
                                  cause="timeout", chain=outcome.chain)
            except KeyboardInterrupt as exc:
                if kept.interrupted:  # a real Ctrl-C: it stops the run
                    raise
                outcome = classify(exc, user_files)  # raised by the block itself: its own error
            except _standins.StandInUnsupported:
                raise
            except fit.FitRejected as exc:  # a data contract's fit step: Keras rejected one side
                where = definition(fn)  # the step has no line of the user's own: the builder's def
                outcome = replace(exc.outcome(), file=where[0], line=where[1]) if where else exc.outcome()
            except BaseException as exc:  # noqa: BLE001 - SystemExit, and a block's own BaseException subclass
                outcome = classify(exc, user_files)
            else:
                outcome = Outcome(PASS, warnings=tuple(broadcasts)) if broadcasts else PASSED
            if kept.forked is not None:
                file, line, message = kept.forked
                outcome = Outcome(ERROR, file=file, line=line, error_type=FORKED, message=message,
                                  cause=GENERIC[ERROR])
        except _standins.StandInUnsupported:  # raised only while stand-ins are on
            return None
        except NoArray as exc:  # an eager probe has no array for it: nothing was called
            return Outcome(ERROR, message=str(exc), error_type=type(exc).__name__, cause="no array")
        if session is not None and session.unsupported:  # the block swallowed StandInUnsupported
            return None
        return outcome


def _time_limit(seconds: float | None):
    return time_limit(seconds, ProbeTimeout)  # also stops blocks that swallow it, and in other threads


# The first Keras layer that constrains a tensor's rank decides its template
# (docs/explanation/probing.md, "Rank"). Layers that take any rank (normalization, activation,
# dropout, merges, the user's own Layer subclasses) are looked through.
_RANK_FREE = frozenset({
    "BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization", "RMSNormalization",
    "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "Dropout", "GaussianNoise", "GaussianDropout",
    "AlphaDropout", "ActivityRegularization", "Lambda", "Identity", "Rescaling", "Normalization", "Masking",
    "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "TFOpLambda",
})
_SEQUENCE = frozenset({
    "Conv1D", "SeparableConv1D", "DepthwiseConv1D", "Conv1DTranspose", "MaxPooling1D", "AveragePooling1D",
    "GlobalAveragePooling1D", "GlobalMaxPooling1D", "ZeroPadding1D", "UpSampling1D", "Cropping1D",
    "SpatialDropout1D", "LSTM", "GRU", "SimpleRNN", "RNN", "Bidirectional", "ConvLSTM1D", "MultiHeadAttention",
    "GroupedQueryAttention", "Attention", "AdditiveAttention",
})
_IMAGE = frozenset({
    "Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose", "MaxPooling2D", "AveragePooling2D",
    "GlobalAveragePooling2D", "GlobalMaxPooling2D", "ZeroPadding2D", "UpSampling2D", "Cropping2D",
    "SpatialDropout2D", "ConvLSTM2D", "Resizing", "CenterCrop", "RandomFlip", "RandomCrop",
})
_VOLUME = frozenset({
    "Conv3D", "Conv3DTranspose", "MaxPooling3D", "AveragePooling3D", "GlobalAveragePooling3D",
    "GlobalMaxPooling3D", "ZeroPadding3D", "UpSampling3D", "Cropping3D", "SpatialDropout3D", "ConvLSTM3D",
})
_DENSE = frozenset({"Dense", "EinsumDense"})
TEMPLATES = {"vector": INFERRED_TEMPLATES[1], "sequence": INFERRED_TEMPLATES[2], "image": INFERRED_TEMPLATES[3],
             "volume": INFERRED_TEMPLATES[4], "tokens": TOKEN_TEMPLATE}


def rank_hint(fn: Callable, space: Space, point: tuple[int, ...], timeout: float | None = None) -> tuple | None:
    """The template the block's layers ask for, from the Keras layers one call
    at ``point`` makes, in call order (inside the user's Layer subclasses too):
    the first that constrains rank decides: ``Conv1D``, pooling 1D, an RNN or
    attention: a sequence ``("T", "C")``; ``Conv3D``: a volume; ``Conv2D``: an
    image; ``Embedding``: tokens ``("T",)``; ``Dense`` first: a sequence when a
    sequence layer follows, else a vector ``("D",)``. None when no layer
    constrains it (or none was called); the call's outcome does not matter."""
    from keras.src.layers.layer import Layer

    original = Layer.__call__
    seen: list[str] = []

    def recording_call(self, *args, **kwargs):
        if type(self).__module__.startswith("keras"):
            seen.append(type(self).__name__)
        return original(self, *args, **kwargs)

    with patches.patched((Layer, "__call__", recording_call)), isolation.isolated():
        args, kwargs, _ = _call_arguments(space, point)
        kept = Kept(timeout=timeout)
        try:
            with kept, _time_limit(timeout):
                fn(*args, **kwargs)
        except KeyboardInterrupt:
            if kept.interrupted:
                raise
        except (Exception, SystemExit, ProbeTimeout):
            pass
    return _template_of(seen)


def _template_of(seen: list[str]) -> tuple | None:
    for i, name in enumerate(seen):
        if name in _RANK_FREE:
            continue
        if name in _SEQUENCE:
            return TEMPLATES["sequence"]
        if name in _IMAGE:
            return TEMPLATES["image"]
        if name in _VOLUME:
            return TEMPLATES["volume"]
        if name == "Embedding":
            return TEMPLATES["tokens"]
        if name in _DENSE:
            later = set(seen[i + 1:])
            return TEMPLATES["sequence"] if later & _SEQUENCE else TEMPLATES["vector"]
        return None  # a layer that reshapes or that shapeguard does not know: say nothing
    return None


ZEROS_LIMIT = 1 << 22  # values in one array of zeros (16 MB of float32): a larger one is not made


def _zeros(shape: tuple, name: str):
    """What data would be: ``np.zeros((1, *shape))`` (see `_show.call_string`'s ``on_data``)."""
    import math

    import numpy as np

    if any(size is None for size in shape):
        raise NoArray(f"{name} has a size of None: no array can stand for it")
    if math.prod(shape) > ZEROS_LIMIT:
        raise NoArray(f"{name} of shape {shape} is larger than an eager probe makes")
    return np.zeros((1, *shape), "float32")


class NoArray(ValueError):
    """An eager probe of a template with an unknown size, or too large to make."""


def _own_copy(value):
    """A list, dict or set value as a copy of its own for this call, as the
    literal a user would write is: a block that changes it (``sizes.pop()``)
    must not change the next probe's."""
    if type(value) not in (list, dict, set):
        return value
    try:
        return copy.deepcopy(value)
    except Exception:  # noqa: BLE001 - something in it cannot be copied: pass it as it is
        return value


def _call_arguments(space: Space, point: tuple[int, ...], eager: bool = False) -> tuple[list, dict, dict]:
    """``(args, kwargs, {name: value})`` of the call at ``point``, with a
    fresh `keras.Input` for each tensor (a list of them for a list template);
    with ``eager``, an array of zeros of batch 1 instead."""
    keras_input = _zeros if eager else _standins.keras_input
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
