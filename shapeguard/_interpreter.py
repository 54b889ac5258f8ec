"""The checking process's own state around each call of a block
(docs/explanation/isolation.md): what a block may change in the process
that checks it, put back as soon as the call ends, before shapeguard runs
another line of its own.

`Kept` is that one place. Around the call it keeps:

* the working directory, ``sys.path``, ``sys.argv``, ``os.environ``, the
  recursion limit, ``sys.stdin``/``stdout``/``stderr``, the ``SIGINT`` and
  ``SIGTERM`` handlers, and every module that was in ``sys.modules`` (a
  module the block removed or replaced is put back; modules it imported stay):
  a block that clears ``sys.path`` or drops shapeguard's modules must not make
  the next probe, or shapeguard itself, fail. The recursion limit may be
  raised during the call but not lowered (``sys.setrecursionlimit(50)`` is
  taken as the current limit): Keras's calls inside the block need their
  depth, and the plain path, which confirms a failure, needs more than the
  fast one;
* Python's ``random`` and (when imported) NumPy's global generator, seeded
  with 0 for the call and put back after it, as Hypothesis does for each
  example: a block that draws from them gives the same report run to run, and
  its confirmation in plain Keras sees the same draw (a shape that depends on
  a random draw is checked at that one draw);
* which ``KeyboardInterrupt`` is a real Ctrl-C: a ``SIGINT`` handler notes
  that the signal arrived during the call (`interrupted`), so one the block
  raises by itself is its own error, and a real one still stops the run
  (also when the block swallowed it);
* the checker's pid: a copy made by ``os.fork`` that returns from the call
  (both processes go on) ends there at once (``os._exit``, nothing flushed,
  no report); the checker learns of it through a pipe made at the fork, waits
  for the copy (at most the call's time limit, then kills it) and reports the
  fork as the block's error at the line that forked (`forked`). A copy that
  ends or ``exec``s by itself (multiprocessing, ``subprocess``) is left alone.

Only the standard library is used, so this sits below the probe and the search.
"""

from __future__ import annotations

import os
import random
import select
import signal
import sys
import threading
import time

from ._usercode import is_user

FORK_WAIT = 60.0  # seconds to wait for a forked copy when the call has no time limit
_RETURNED = b"returned\n"
_local = threading.local()  # the Kept of the call running in this thread, for the fork hooks
_hooks_installed = False


class Kept:
    """``with Kept(user_files, timeout) as kept: block(...)``; afterwards
    `interrupted` (a real SIGINT arrived during the call) and `forked`
    (``(file, line, message)`` when the block forked a copy that went on, else None)."""

    def __init__(self, user_files: frozenset = frozenset(), timeout: float | None = None):
        self.user_files, self.timeout = user_files, timeout
        self.interrupted = False
        self.forked: tuple | None = None
        self.pid = os.getpid()
        self._copies: list = []  # [read end, (file, line)] per fork made during the call
        self._pending = None  # (read end, write end, site) between the fork hooks
        self._to_parent = None  # in a forked copy: the pipe's write end

    def __enter__(self) -> "Kept":
        _install_fork_hooks()
        self._outer = getattr(_local, "kept", None)
        _local.kept = self
        try:
            self._cwd = os.getcwd()
        except OSError:  # the directory was removed before the check: nothing to go back to
            self._cwd = None
        self._path, self._path_items = sys.path, list(sys.path)
        self._argv, self._argv_items = sys.argv, list(getattr(sys, "argv", []))
        self._environ = _environment()
        self._modules = sys.modules.copy()
        self._limit = sys.getrecursionlimit()
        self._setrecursionlimit = sys.setrecursionlimit
        sys.setrecursionlimit = self._no_lower_limit
        self._streams = (sys.stdin, sys.stdout, sys.stderr)
        self._random = _seeded_generators()
        self._handlers = None
        if threading.current_thread() is threading.main_thread():
            self._handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
            signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def _no_lower_limit(self, limit: int) -> None:
        """During the call the limit may be raised, never lowered: Keras's own
        calls need the depth they had (the plain path more than the fast one)."""
        self._setrecursionlimit(max(limit, self._limit))

    def _on_sigint(self, signum, frame):
        self.interrupted = True
        previous = self._handlers[signal.SIGINT]
        if callable(previous):
            return previous(signum, frame)
        if previous != signal.SIG_IGN:
            raise KeyboardInterrupt

    def __exit__(self, exc_type, exc, tb) -> None:
        if os.getpid() != self.pid:  # a copy made by os.fork, back from the block: it must not go on
            if self._to_parent is not None:
                try:
                    os.write(self._to_parent, _RETURNED)
                except OSError:
                    pass
            os._exit(0)
        _local.kept = self._outer
        self._restore()
        if self._copies:
            self._wait_for_copies()
        if self.interrupted and not (exc_type is not None and issubclass(exc_type, KeyboardInterrupt)):
            raise KeyboardInterrupt  # the block swallowed a real Ctrl-C (and returned, or raised something else)

    def _restore(self) -> None:
        _put_back_generators(self._random)
        if _modules_changed(self._modules):  # first: shapeguard imports lazily
            for name, module in self._modules.items():
                if sys.modules.get(name) is not module:
                    sys.modules[name] = module
        if sys.path is not self._path:
            sys.path = self._path
        if self._path != self._path_items:
            self._path[:] = self._path_items
        if getattr(sys, "argv", None) is not self._argv:
            sys.argv = self._argv
        if self._argv != self._argv_items:
            self._argv[:] = self._argv_items
        if _environment() != self._environ:
            saved = {os.fsdecode(k): os.fsdecode(v) for k, v in self._environ.items()}
            for name in [n for n in os.environ if n not in saved]:
                del os.environ[name]
            for name, value in saved.items():
                if os.environ.get(name) != value:
                    os.environ[name] = value
        sys.setrecursionlimit = self._setrecursionlimit
        if sys.getrecursionlimit() != self._limit:
            sys.setrecursionlimit(self._limit)
        sys.stdin, sys.stdout, sys.stderr = self._streams
        if self._cwd is not None:
            try:
                moved = os.getcwd() != self._cwd
            except OSError:
                moved = True
            if moved:
                try:
                    os.chdir(self._cwd)
                except OSError:
                    pass
        if self._handlers is not None:
            for signum, handler in self._handlers.items():
                signal.signal(signum, handler if handler is not None else signal.SIG_DFL)

    def _wait_for_copies(self) -> None:
        """Each fork's copy either ends or execs by itself (the pipe closes:
        not an error), or comes back from the call (it says so, and ends), or
        is still in the block's code when the time is up (killed)."""
        limit = self.timeout or FORK_WAIT
        deadline = time.monotonic() + limit
        copies, self._copies = self._copies, []
        for read_end, site in copies:
            received, ended = b"", False
            try:
                while _RETURNED not in received:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not select.select([read_end], [], [], remaining)[0]:
                        break
                    chunk = os.read(read_end, 64)
                    if not chunk:
                        ended = True
                        break
                    received += chunk
            finally:
                os.close(read_end)
            pid = _pid_of(received)
            if _RETURNED in received:
                what = "and the copy went on with the check; shapeguard ended the copy when the call returned"
            elif ended:
                continue  # it ended or exec'd by itself: the block's own business
            else:
                if pid is not None:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                what = (f"and the copy was still running the block {limit:g} s after the call returned; "
                        "shapeguard killed it")
            if pid is not None:
                _reap(pid)
            if self.forked is None:
                self.forked = (*site, f"the block forked a process (os.fork) {what}")


def _environment() -> dict:
    """The environment as os.environ holds it (its encoded mapping: copied
    in a fraction of a microsecond, where ``dict(os.environ)`` decodes every entry)."""
    data = getattr(os.environ, "_data", None)
    if isinstance(data, dict):
        return data.copy()
    return {os.fsencode(k): os.fsencode(v) for k, v in os.environ.items()}


_watched: list = [0, ()]  # len(sys.modules) when made, and the (name, module) pairs to compare after a call
_WATCHED = ("shapeguard", "keras", "tensorflow", "hypothesis", "numpy")


def _modules_changed(saved: dict) -> bool:
    """Whether the call removed a module, or replaced shapeguard's or one of
    the big packages'. Comparing every entry costs a tenth of a millisecond a
    call; fewer modules than before, or a changed entry among the watched
    ones, finds what a block does (``del sys.modules[...]``)."""
    if len(sys.modules) < len(saved):
        return True
    if _watched[0] != len(saved):
        _watched[:] = [len(saved), tuple((name, module) for name, module in saved.items()
                                         if name in _WATCHED or name.startswith("shapeguard."))]
    return any(sys.modules.get(name) is not module for name, module in _watched[1])


def _pid_of(received: bytes) -> int | None:
    first, newline, _ = received.partition(b"\n")
    return int(first) if newline and first.isdigit() else None


def _reap(pid: int) -> None:
    for _ in range(100):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        time.sleep(0.05)


def _install_fork_hooks() -> None:
    global _hooks_installed
    if not _hooks_installed and hasattr(os, "register_at_fork"):
        os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                            after_in_child=_after_fork_in_child)
        _hooks_installed = True


def _before_fork() -> None:
    kept = getattr(_local, "kept", None)
    if kept is None or os.getpid() != kept.pid:
        return
    read_end, write_end = os.pipe()  # not inherited by a program the copy execs
    kept._pending = (read_end, write_end, _call_site(kept.user_files))


def _after_fork_in_parent() -> None:
    kept = getattr(_local, "kept", None)
    if kept is not None and kept._pending is not None:
        read_end, write_end, site = kept._pending
        kept._pending = None
        os.close(write_end)
        kept._copies.append((read_end, site))


def _after_fork_in_child() -> None:
    kept = getattr(_local, "kept", None)
    if kept is not None and kept._pending is not None:
        read_end, write_end, _ = kept._pending
        kept._pending = None
        os.close(read_end)
        kept._copies = []
        kept._to_parent = write_end
        try:
            os.write(write_end, b"%d\n" % os.getpid())
        except OSError:
            pass


def _call_site(user_files: frozenset) -> tuple:
    """``(file, line)`` of the innermost frame of the user's code that is forking."""
    frame = sys._getframe(2)
    while frame is not None:
        if is_user(frame.f_code.co_filename, user_files):
            return frame.f_code.co_filename, frame.f_lineno
        frame = frame.f_back
    return None, None


def _seeded_generators() -> list:
    """Seed Python's and NumPy's global generators with 0; their states before."""
    kept = [(random.setstate, random.getstate())]
    random.seed(0)
    numpy = sys.modules.get("numpy")
    legacy = getattr(getattr(numpy, "random", None), "get_state", None)
    if legacy is not None:
        kept.append((numpy.random.set_state, legacy()))
        numpy.random.seed(0)
    return kept


def _put_back_generators(kept: list) -> None:
    for set_state, state in kept:
        set_state(state)
