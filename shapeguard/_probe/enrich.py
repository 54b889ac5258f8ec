"""The decorator's runtime help: a shape error escaping a normal call of a
guarded function gains what shapeguard knows (the layer, its input shapes,
the call's arguments), keeping its type and traceback.
"""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

from .._outcome import CONFIG, SHAPE, Outcome
from .classify import classify

_probing = threading.local()  # .depth: probes running in this thread


@contextmanager
def probing() -> Iterator[None]:
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


def _append_to_message(exc: BaseException, extra: str) -> None:
    if exc.args and isinstance(exc.args[0], str):
        exc.args = (f"{exc.args[0]}\n\n{extra}",) + exc.args[1:]
    else:
        exc.add_note(extra)
