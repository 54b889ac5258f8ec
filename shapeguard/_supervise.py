"""The command line's watch over the checking process (docs/reference/cli.md).

``shapeguard check`` runs the checks in a child process (``python -m
shapeguard`` again, with `CHANNEL` set) and stays light itself: it imports
neither TensorFlow nor Hypothesis, so it costs a Python start-up (a few tens
of milliseconds). The child writes one line to a channel file before each
probe (the target, the point, its values and the reproducing call), and
``faulthandler`` writes the Python stack there if the process dies by a
fatal signal. When the child ends without saying it is done (killed by a
signal, or ended by C code), the parent knows the point it was probing and,
from that stack, the line of the block it was running. It then runs the check
again, telling the child (`DEATHS`) to report that point as an error of the
block (``Died``) without calling it, and to end that target's search there.

A child ended by ``SIGTERM`` was stopped from outside (the SIGTERM a block
sends its own process is refused inside the child and reported as its error),
so the run stops there, as it does when the parent itself gets ``SIGTERM``.

The parent is also the last resort against a hang that the in-process timeout
cannot stop (C code that never returns to Python): a probe running past twice
``--timeout`` plus `GRACE` seconds gets ``SIGABRT`` (so faulthandler writes
the stack), then ``SIGKILL``, and is reported the same way.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

from ._sandbox import SUPERVISOR
from ._usercode import is_internal, shown

CHANNEL = "SHAPEGUARD_CHANNEL"  # set in the child: where to write its probe records
DEATHS = "SHAPEGUARD_DEATHS"  # set in the child: {target: {point, message, file, line}}
GRACE = 10.0  # seconds, on top of twice --timeout, before the parent stops a probe itself
MAX_RESTARTS = 10


def in_child() -> bool:
    return CHANNEL in os.environ


def supervise(argv: list[str], timeout: float | None, quiet: bool) -> int:
    """Run ``shapeguard`` with ``argv`` in a child until it ends by itself;
    returns its exit status."""
    folder = tempfile.mkdtemp(prefix="shapeguard-")
    records, fault = os.path.join(folder, "probes.jsonl"), os.path.join(folder, "fault.txt")
    deaths: dict = {}
    try:
        for _ in range(MAX_RESTARTS + 1):
            for path in (records, fault):
                open(path, "w").close()
            env = {**os.environ, CHANNEL: folder, DEATHS: json.dumps(deaths), SUPERVISOR: str(os.getpid())}
            status, hung_past, terminated = _run_child(argv, env, records, timeout)
            last, done = _read_records(records)
            if done:
                return status
            if terminated:  # SIGTERM was for shapeguard, not a death of the block's
                print("shapeguard: terminated.", file=sys.stderr)
                return 128 + signal.SIGTERM
            if status == -signal.SIGTERM and hung_past is None:
                # The child turns a SIGTERM its block sends itself into the block's
                # error (`_sandbox.no_process_exit`): this one came from outside.
                print("shapeguard: the checking process was terminated (SIGTERM from another process); "
                      "no report.", file=sys.stderr)
                return 128 + signal.SIGTERM
            cause = _cause(status, hung_past)
            if last is None:  # it never got to probe, nor said why (os._exit or a signal while importing)
                print(f"shapeguard: the checking process {cause} before it probed anything"
                      " (does a target's module end the process when imported?).", file=sys.stderr)
                return 2
            file, line = _user_frame(fault)
            previous = deaths.get(last["target"])
            if previous is not None and previous["point"] == last["point"]:
                break  # died at a point it was told not to call: give up
            deaths[last["target"]] = {"point": last["point"], "message": f"the process {cause}",
                                      "file": file, "line": line}
            if not quiet:
                where = f" at {shown((file, line))}" if file else ""
                print(f"shapeguard: {last['target']}: the process {cause}{where} while probing "
                      f"{last['call']}; checking again without that call.", file=sys.stderr)
        print(f"shapeguard: the checking process kept dying (last: {cause}); no report.", file=sys.stderr)
        return 3
    finally:
        for path in (records, fault):
            try:
                os.unlink(path)
            except OSError:
                pass
        try:
            os.rmdir(folder)
        except OSError:
            pass


def _run_child(argv: list[str], env: dict, records: str, timeout: float | None) -> tuple[int, float | None, bool]:
    """``(exit status, the time limit it hung past when we killed it (else
    None), SIGTERM received)``. Each probe's record carries its time limit
    (``timeout``: the target's setting, the decorator's included, or the
    plain-Keras confirmation's longer one); ``timeout`` is for records without
    one. Ctrl-C and SIGTERM sent to the parent are passed on to the child;
    after Ctrl-C it reports what it found."""
    # Its own process group: Ctrl-C at the terminal reaches the parent only,
    # which passes it on once (a group-wide signal would reach the child twice).
    if os.name != "posix":
        group = {}
    elif sys.version_info >= (3, 11):
        group = {"process_group": 0}
    else:
        group = {"preexec_fn": os.setpgrp}
    process = subprocess.Popen([sys.executable, "-m", "shapeguard", *argv], env=env, **group)
    forwarded = {}
    received: set = set()

    def forward(signum, frame):
        received.add(signum)
        try:
            process.send_signal(signum)
        except OSError:
            pass

    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            forwarded[signum] = signal.signal(signum, forward)
        except ValueError:  # not the main thread: leave signals alone
            pass
    probe_timeout = timeout
    killed = None
    try:
        seen, since = -1, time.monotonic()
        while True:
            try:
                return process.wait(timeout=0.5), killed, signal.SIGTERM in received
            except subprocess.TimeoutExpired:
                pass
            size = _size(records)
            if size != seen:  # a new probe started: its own time limit
                seen, since = size, time.monotonic()
                last, _ = _read_records(records)
                probe_timeout = last.get("timeout", timeout) if last else timeout
            limit = None if not probe_timeout else 2 * probe_timeout + GRACE
            if limit is not None and size > 0 and time.monotonic() - since > limit and killed is None:
                killed = probe_timeout
                process.send_signal(signal.SIGABRT)  # faulthandler writes the stack
                try:
                    return process.wait(timeout=5), killed, signal.SIGTERM in received
                except subprocess.TimeoutExpired:
                    process.kill()
    finally:
        for signum, handler in forwarded.items():
            signal.signal(signum, handler)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return -1


def _read_records(path: str) -> tuple[dict | None, bool]:
    """The last probe record, and whether the child said it was done."""
    last, done = None, False
    try:
        with open(path, encoding="utf-8") as lines:
            for text in lines:
                try:
                    record = json.loads(text)
                except ValueError:
                    continue  # a line cut short by the death
                if record.get("done"):
                    done = True
                elif "target" in record:
                    last, done = record, False
    except OSError:
        pass
    return last, done


def _cause(status: int, hung_past: float | None) -> str:
    if hung_past is not None:
        return (f"hung beyond twice its time limit ({hung_past:g} s) where shapeguard could not stop it, "
                "and was killed")
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        return f"was killed by {name}"
    return f"ended with status {status}"


_FRAME = re.compile(r'^\s*File "(?P<file>.*)", line (?P<line>\d+) in ')


def _user_frame(fault_path: str) -> tuple[str | None, int | None]:
    """The innermost frame of the user's code in faulthandler's dump (most
    recent call first), else ``(None, None)``."""
    try:
        with open(fault_path, encoding="utf-8", errors="replace") as dump:
            text = dump.read()
    except OSError:
        return None, None
    current = text.split("Current thread", 1)[-1] if "Current thread" in text else text
    for line in current.splitlines():
        match = _FRAME.match(line)
        if match and not is_internal(match["file"]):
            return match["file"], int(match["line"])
    return None, None


# --- in the child ------------------------------------------------------------


class Channel:
    """The child's side: one JSON line before each probe, and one when done."""

    def __init__(self) -> None:
        import faulthandler

        # Taken out of the environment: a block that runs `shapeguard check`
        # itself must start a watched run of its own, not write to this one.
        folder = os.environ.pop(CHANNEL)
        deaths = os.environ.pop(DEATHS, None)
        self._records = open(os.path.join(folder, "probes.jsonl"), "a", encoding="utf-8")
        self._fault = open(os.path.join(folder, "fault.txt"), "w")
        faulthandler.enable(file=self._fault, all_threads=False)
        try:
            self.deaths = json.loads(deaths or "{}")
        except ValueError:
            self.deaths = {}

    def probing(self, target: str, point: tuple, call: str, timeout: float | None = None) -> None:
        self._write({"target": target, "point": list(point), "call": call, "timeout": timeout})

    def done(self) -> None:
        self._write({"done": True})

    def _write(self, record: dict) -> None:
        self._records.write(json.dumps(record) + "\n")
        self._records.flush()
