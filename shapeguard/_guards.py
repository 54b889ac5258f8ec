"""What a search keeps around every probe, so that a pass means the code ran
and a block cannot end the process that checks it.

* `KerasCalls` counts the Keras layers and operations called (eager or
  symbolic): a probe that called none checked no shape, so it is not a pass.
* `no_process_exit` turns ``os._exit(n)`` inside the block into an exception
  raised at the block's line (`ProcessExit`), reported like any error of the
  block's own, instead of ending the check with no report.
* `private_hypothesis_home` points Hypothesis's storage (it writes a cache of
  constants under ``.hypothesis/`` on every search) at a folder under the
  system's temporary directory while a search without an example database runs,
  so such a check writes nothing to the working directory.
"""

from __future__ import annotations

import os
import tempfile
import threading
from contextlib import contextmanager
from typing import Iterator


class ProcessExit(SystemExit):
    """The block called ``os._exit``; raised in its place during a probe."""


class KerasCalls:
    """``count`` is the number of Keras layer and operation calls (eager or
    symbolic) made in this thread while `counting` is active. The methods of
    Keras's ``Operation`` are wrapped while any check counts (one wrapper,
    however many checks run at once in other threads) and restored after."""

    _lock = threading.Lock()
    _users = 0
    _originals: dict = {}
    _local = threading.local()

    @property
    def count(self) -> int:
        return getattr(self._local, "count", 0)

    @classmethod
    def note_call(cls) -> None:
        """Count a layer call that does not go through ``Operation.__call__``
        (a stand-in's, answered from `_standin`'s memo)."""
        cls._local.count = getattr(cls._local, "count", 0) + 1

    @contextmanager
    def counting(self) -> Iterator["KerasCalls"]:
        cls = type(self)
        with cls._lock:
            if cls._users == 0:
                cls._install()
            cls._users += 1
        try:
            yield self
        finally:
            with cls._lock:
                cls._users -= 1
                if cls._users == 0:
                    cls._uninstall()

    @classmethod
    def _install(cls) -> None:
        from keras.src.ops.operation import Operation

        local = cls._local

        def counted(original):
            def call(self, *args, **kwargs):
                local.count = getattr(local, "count", 0) + 1
                return original(self, *args, **kwargs)

            call.__wrapped__ = original
            return call

        cls._originals = {name: Operation.__dict__[name] for name in ("__call__", "symbolic_call")}
        for name, original in cls._originals.items():
            setattr(Operation, name, counted(original))

    @classmethod
    def _uninstall(cls) -> None:
        from keras.src.ops.operation import Operation

        for name, original in cls._originals.items():
            setattr(Operation, name, original)
        cls._originals = {}


@contextmanager
def no_process_exit() -> Iterator[None]:
    real_exit, pid = os._exit, os.getpid()

    def exit_in_probe(status=0):
        if os.getpid() != pid:  # a forked child (multiprocessing) must still exit
            real_exit(status)
        raise ProcessExit(f"the block called os._exit({status!r}), which would have ended the check")

    os._exit = exit_in_probe
    try:
        yield
    finally:
        os._exit = real_exit


_home_lock = threading.Lock()
_home_users = [0, None]  # checks using the private home, and the home to restore


@contextmanager
def private_hypothesis_home() -> Iterator[None]:
    from hypothesis import configuration

    uid = os.getuid() if hasattr(os, "getuid") else 0
    with _home_lock:
        if _home_users[0] == 0:
            _home_users[1] = vars(configuration).get("__hypothesis_home_directory")
            configuration.set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), f"shapeguard-hypothesis-{uid}"))
        _home_users[0] += 1
    try:
        yield
    finally:
        with _home_lock:
            _home_users[0] -= 1
            if _home_users[0] == 0:
                configuration.set_hypothesis_home_dir(_home_users[1])
