"""What a search keeps around every probe, so that a block cannot end the
process that checks it or write into the user's folder.

* `no_process_exit` turns ``os._exit(n)`` inside the block, and a ``SIGTERM``
  it sends its own process (``os.kill(os.getpid(), signal.SIGTERM)``, its
  process group, ``signal.raise_signal``), into an exception raised at the
  block's line (`ProcessExit`), reported like any error of the block's own,
  instead of ending the check with no report. A ``SIGTERM`` from another
  process still stops the run: a signal carries no sender a handler could
  read, so only these calls tell the two apart (one sent through an alias
  taken before the check, ``from os import kill``, is not told apart).
* `private_hypothesis_home` points Hypothesis's storage (it writes a cache of
  constants under ``.hypothesis/`` on every search) at a folder under the
  system's temporary directory while a search without an example database runs,
  so such a check writes nothing to the working directory.

(Counting Keras calls, the third thing kept around a search, patches Keras and
so lives in `shapeguard._probe.patches`.)
"""

from __future__ import annotations

import os
import signal
import tempfile
import threading
from contextlib import contextmanager
from typing import Iterator


class ProcessExit(SystemExit):
    """The block called ``os._exit`` (or sent itself ``SIGTERM``); raised in its place during a probe."""


SUPERVISOR = "SHAPEGUARD_SUPERVISOR"  # set in a supervised child: the pid of the shapeguard that watches it


@contextmanager
def no_process_exit() -> Iterator[None]:
    real_exit, real_kill, real_raise = os._exit, os.kill, signal.raise_signal
    real_killpg = getattr(os, "killpg", None)  # POSIX only
    pid = os.getpid()
    own_group = lambda: os.getpgid(0) if hasattr(os, "getpgid") else None

    def exit_in_probe(status=0):
        if os.getpid() != pid:  # a forked child (multiprocessing) must still exit
            real_exit(status)
        raise ProcessExit(f"the block called os._exit({status!r}), which would have ended the check")

    def refuse(call: str) -> None:
        raise ProcessExit(f"the block sent SIGTERM to its own process ({call}), which would have ended the check")

    supervisor = os.environ.get(SUPERVISOR)

    def kill_in_probe(target, signum):
        if signum != 0 and os.getpid() == pid and supervisor is not None and str(target) == supervisor:
            raise ProcessExit(f"the block sent signal {signum} to the shapeguard process that runs the check "
                              f"(os.kill(os.getppid(), {signum})), which would have ended the check")
        if signum == signal.SIGTERM and os.getpid() == pid and (target in (pid, 0, -1) or -target == own_group()):
            refuse(f"os.kill({'os.getpid()' if target == pid else target}, SIGTERM)")
        return real_kill(target, signum)

    def killpg_in_probe(group, signum):
        if signum == signal.SIGTERM and os.getpid() == pid and group in (0, own_group()):
            refuse(f"os.killpg({group!r}, SIGTERM)")
        return real_killpg(group, signum)

    def raise_in_probe(signum):
        if signum == signal.SIGTERM and os.getpid() == pid:
            refuse("signal.raise_signal(SIGTERM)")
        return real_raise(signum)

    os._exit, os.kill, signal.raise_signal = exit_in_probe, kill_in_probe, raise_in_probe
    if real_killpg is not None:
        os.killpg = killpg_in_probe
    try:
        yield
    finally:
        os._exit, os.kill, signal.raise_signal = real_exit, real_kill, real_raise
        if real_killpg is not None:
            os.killpg = real_killpg


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
