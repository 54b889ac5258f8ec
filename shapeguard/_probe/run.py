"""Run a block once on symbolic inputs and say what happened (`probe`).

Every call goes through `probe`: Keras's global state isolated (`isolation`),
the fast path on (`fast`, `standins`), silent broadcasts watched
(`broadcasts`), the ``call()`` of layers that declare their shape traced
(`declared`), the call sites of layers recorded (`provenance`) and a time
limit (`shapeguard._timeout`); what the block raised is judged by `classify`.
Search and reports only see the `Outcome`.
"""

from __future__ import annotations

import copy
from contextlib import nullcontext
from typing import Callable

from .._outcome import ERROR, PASS, PASSED, TIMEOUT, Outcome
from .._timeout import time_limit
from .._usercode import innermost
from ..space import Space
from . import declared, isolation, patches
from . import fast as fast_path
from . import standins as _standins
from .broadcasts import watching_broadcasts
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
    path, which confirms every failure."""
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


def session():
    """A context to run many probes in (a check): Keras's special methods are
    wrapped once for all of them (`patches.installed`) instead of once per probe."""
    return patches.installed() if patches.available() else nullcontext()


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


def _probe(fn, space, point, timeout, user_files, fast, standins: bool) -> Outcome | None:
    """One probe (see `probe`); None when stand-ins were on and the block used
    one beyond what it supports, so the probe has to run again without them."""
    with isolation.isolated(), fast_path.cheap_keras(fast), probing(), watching_broadcasts() as broadcasts, \
            recording_call_sites(user_files) as note_call, \
            (_standins.standing_in(note_call) if standins else nullcontext()) as session:
        try:
            args, kwargs, _ = _call_arguments(space, point)
            try:
                with declared.traced_calls(), _time_limit(timeout):
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
        except _standins.StandInUnsupported:  # raised only while stand-ins are on
            return None
        if session is not None and session.unsupported:  # the block swallowed StandInUnsupported
            return None
        return outcome


def _time_limit(seconds: float | None):
    return time_limit(seconds, ProbeTimeout)  # also stops blocks that swallow it, and in other threads


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

    with patches.patched((Layer, "__call__", recording_call)), isolation.isolated():
        args, kwargs, by_name = _call_arguments(space, point)
        tensors.extend(keras.tree.flatten(by_name.get(param)))
        try:
            with _time_limit(timeout):
                fn(*args, **kwargs)
        except (Exception, SystemExit, ProbeTimeout):
            pass
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
    try:
        return copy.deepcopy(value)
    except Exception:  # noqa: BLE001 - something in it cannot be copied: pass it as it is
        return value


def _call_arguments(space: Space, point: tuple[int, ...]) -> tuple[list, dict, dict]:
    """``(args, kwargs, {name: value})`` of the call at ``point``, with a
    fresh `keras.Input` for each tensor (a list of them for a list template)."""
    keras_input = _standins.keras_input
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
