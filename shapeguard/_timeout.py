"""Stop a call that runs past its time, even one that swallows exceptions.

`time_limit(seconds, stop)` raises ``stop()`` (a `BaseException`, so an
``except Exception`` in the block cannot keep it) inside the code running in
the context once ``seconds`` have passed:

* in the main thread, by ``SIGALRM`` (which also interrupts ``time.sleep`` and
  blocking reads), re-raised every `REPEAT` seconds while the call goes on;
  from the second raise on, a trace function raises it again at every line
  of the block's code, so a bare ``except:`` inside a retry loop cannot keep
  it either (the raise inside the handler escapes the loop);
* in any other thread, where signals cannot reach, by asking the interpreter
  to raise it asynchronously in that thread (``PyThreadState_SetAsyncExc``),
  again every `REPEAT` seconds. Such a raise lands only when the thread runs
  Python code: a call blocked in C (a long ``time.sleep``) stops when it
  returns to Python, not before.

Frames of shapeguard itself are never traced or interrupted by the second
stage, so the probe that set the limit catches the exception.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

REPEAT = 0.2  # seconds between two raises while the call goes on
_OWN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "")


def can_interrupt() -> bool:
    """Whether this thread can stop a call at all (both ways need CPython)."""
    if threading.current_thread() is threading.main_thread():
        return hasattr(signal, "setitimer")
    return hasattr(ctypes, "pythonapi")


@contextmanager
def time_limit(seconds: float | None, stop: Callable[[], BaseException]) -> Iterator[None]:
    if not seconds:
        yield
        return
    if threading.current_thread() is threading.main_thread():
        if not hasattr(signal, "setitimer"):
            yield
            return
        with _by_signal(seconds, stop):
            yield
    elif hasattr(ctypes, "pythonapi"):
        with _by_async_exception(seconds, stop):
            yield
    else:  # pragma: no cover - not CPython
        yield


@contextmanager
def _by_signal(seconds: float, stop: Callable[[], BaseException]) -> Iterator[None]:
    raised = [0]
    previous_trace = sys.gettrace()
    outer = []  # the frames that were running before the call: never traced
    f = sys._getframe()
    while f is not None:
        outer.append(f)  # kept alive, so that no frame of the call can reuse an id
        f = f.f_back
    outer_ids = {id(f) for f in outer}
    marked: list = []

    def tracer(frame, event, arg):
        if frame.f_code.co_filename.startswith(_OWN_DIR):
            return None
        if event == "line":
            raise stop()
        return tracer

    def on_alarm(signum, frame):
        raised[0] += 1
        if raised[0] >= 2:  # the first was swallowed: raise at every line from now on
            sys.settrace(tracer)
            f = frame
            while f is not None and id(f) not in outer_ids:
                if not f.f_code.co_filename.startswith(_OWN_DIR):
                    f.f_trace = tracer
                    marked.append(f)
                f = f.f_back
        raise stop()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds, REPEAT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if raised[0] >= 2:
            sys.settrace(previous_trace)
            for f in marked:
                f.f_trace = None
            marked.clear()
        outer.clear()


@contextmanager
def _by_async_exception(seconds: float, stop: Callable[[], BaseException]) -> Iterator[None]:
    target = threading.get_ident()
    done = threading.Event()
    exc_type = type(stop())

    def watchdog():
        if done.wait(seconds):
            return
        while not done.is_set():
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(target), ctypes.py_object(exc_type))
            done.wait(REPEAT)

    thread = threading.Thread(target=watchdog, name="shapeguard-timeout", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        # An exception set just before `done` may still be pending: clear it.
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(target), None)
