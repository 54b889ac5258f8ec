"""What a search keeps around every probe, so that a block cannot end the
process that checks it or write into the user's folder.

* `no_process_exit` turns ``os._exit(n)`` inside the block into an exception
  raised at the block's line (`ProcessExit`), reported like any error of the
  block's own, instead of ending the check with no report.
* `private_hypothesis_home` points Hypothesis's storage (it writes a cache of
  constants under ``.hypothesis/`` on every search) at a folder under the
  system's temporary directory while a search without an example database runs,
  so such a check writes nothing to the working directory.

(Counting Keras calls, the third thing kept around a search, patches Keras and
so lives in `shapeguard._probe.patches`.)
"""

from __future__ import annotations

import os
import tempfile
import threading
from contextlib import contextmanager
from typing import Iterator


class ProcessExit(SystemExit):
    """The block called ``os._exit``; raised in its place during a probe."""


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
