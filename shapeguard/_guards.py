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
from contextlib import contextmanager
from typing import Iterator


class ProcessExit(SystemExit):
    """The block called ``os._exit``; raised in its place during a probe."""


class KerasCalls:
    """``count`` goes up by one for every call of a Keras layer or operation
    while `counting` is active (patched on the class for the search's time)."""

    def __init__(self) -> None:
        self.count = 0

    @contextmanager
    def counting(self) -> Iterator["KerasCalls"]:
        from keras.src.ops.operation import Operation

        originals = {name: Operation.__dict__[name] for name in ("__call__", "symbolic_call")}
        counter = self

        def counted(original):
            def call(self, *args, **kwargs):
                counter.count += 1
                return original(self, *args, **kwargs)

            call.__wrapped__ = original
            return call

        for name, original in originals.items():
            setattr(Operation, name, counted(original))
        try:
            yield self
        finally:
            for name, original in originals.items():
                setattr(Operation, name, original)


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


@contextmanager
def private_hypothesis_home() -> Iterator[None]:
    from hypothesis import configuration

    previous = vars(configuration).get("__hypothesis_home_directory")
    home = os.path.join(tempfile.gettempdir(), f"shapeguard-hypothesis-{os.getuid() if hasattr(os, 'getuid') else 0}")
    configuration.set_hypothesis_home_dir(home)
    try:
        yield
    finally:
        configuration.set_hypothesis_home_dir(previous)
