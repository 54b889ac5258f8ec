"""Blocks that change the process that checks them (issue 17, "Trust, round
2"): a probe must leave the checker's process as it found it, and report what
the block's shapes do.

Two command-line runs start in the background (one checks four hostile blocks
with ``--output rel.json``; the other is stopped by a SIGTERM from outside);
the rest runs in this process on tiny spaces. Every failure a test relies on
is confirmed with plain Keras, with the block's changes to this process undone
afterwards (`undone`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import keras
import pytest
from keras import layers

from helpers.command_line import child_env
from helpers.plain_keras import confirm
from shapeguard import check

pytestmark = pytest.mark.keras

SMALL = {"C": [8], "H": [4]}

PROCESS = '''
import os
import signal

import keras

from shapeguard import guard

ELSEWHERE = os.environ["ELSEWHERE"]
PIDS = os.environ["PIDS"]


@guard(C=[8], H=[4], filters=[8, 16])
def moves(x, filters=8):
    os.chdir(ELSEWHERE)
    y = keras.layers.Conv2D(filters, 1)(x)
    return keras.layers.Add()([x, y])


@guard(C=[8], H=[4], filters=[8, 16])
def forks(x, filters=8):
    os.fork()
    with open(PIDS, "a") as log:
        log.write(f"{os.getpid()}\\n")
    y = keras.layers.Conv2D(filters, 1)(x)
    return keras.layers.Add()([x, y])


@guard(C=[8], H=[4], filters=[8, 16, 32])
def interrupts(x, filters=8):
    y = keras.layers.Conv2D(filters, 1)(x)
    if filters == 16:
        raise KeyboardInterrupt
    return keras.layers.Add()([x, y])


@guard(C=[8], H=[4], filters=[8, 16, 32])
def terminates(x, filters=8):
    y = keras.layers.Conv2D(filters, 1)(x)
    if filters == 16:
        os.kill(os.getpid(), signal.SIGTERM)
    return keras.layers.Add()([x, y])


@guard(C=[8], H=[4], filters=[8, 16, 32])
def signals_checker(x, filters=8):
    y = keras.layers.Conv2D(filters, 1)(x)
    if filters == 16:
        os.kill(os.getppid(), signal.SIGTERM)  # the shapeguard that supervises this check
    return keras.layers.Add()([x, y])
'''

WAITS = '''
import os
import time

import keras

from shapeguard import guard


@guard(C=[8], H=[4], filters=[8, 16])
def waits(x, filters=8):
    if filters == 16:
        with open(os.environ["READY"], "w") as ready:
            ready.write(str(os.getpid()))
        time.sleep(120)
    return keras.layers.Conv2D(filters, 1)(x)
'''


def _cli(folder: Path, *args: str, **env: str) -> subprocess.Popen:
    """A real process (the claims are about it: its directory, its copies, its
    signals), on Keras's numpy backend, which imports in about half TensorFlow's time."""
    return subprocess.Popen([sys.executable, "-m", "shapeguard", "check", *args], cwd=folder,
                            env={**child_env(), "KERAS_BACKEND": "numpy", **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _main_run(folder: Path) -> subprocess.CompletedProcess:
    process = _cli(folder, "process.py", "--timeout", "5", "--format", "json", "--output", "rel.json",
                   ELSEWHERE=str(folder / "elsewhere"), PIDS=str(folder / "pids.txt"))
    out, err = process.communicate(timeout=600)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def _terminated_run(folder: Path) -> subprocess.CompletedProcess:
    """Checks `WAITS`, and sends SIGTERM to the checking process (the pid the
    block wrote) once it waits at filters=16."""
    ready = folder / "ready.txt"
    process = _cli(folder, "waits.py", "--timeout", "300", READY=str(ready))
    try:
        deadline = time.monotonic() + 300
        while not (ready.exists() and ready.read_text()) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        os.kill(int(ready.read_text()), signal.SIGTERM)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("process")
    (root / "process.py").write_text(textwrap.dedent(PROCESS).lstrip())
    (root / "waits.py").write_text(textwrap.dedent(WAITS).lstrip())
    (root / "elsewhere").mkdir()
    (root / "elsewhere" / "rel.json").write_text("an unrelated file\n")
    return root


@pytest.fixture(scope="module")
def runs(folder):
    """The two command-line runs, one after the other in the background."""
    pool = ThreadPoolExecutor(max_workers=1)
    main = pool.submit(_main_run, folder)
    terminated = pool.submit(_terminated_run, folder)
    yield {"main": main, "terminated": terminated}
    pool.shutdown(wait=True)


def _report(runs, folder: Path) -> dict:
    run = runs["main"].result()
    assert run.returncode == 1, run.stderr  # moves, interrupts and terminates have an Add failure
    assert run.stdout == ""
    return {t["target"].split(":")[-1]: t for t in json.loads((folder / "rel.json").read_text())["targets"]}


def line_of(path: Path, pattern: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if pattern in line)


def _namespace() -> dict:
    namespace = {}
    exec(textwrap.dedent(PROCESS).replace('os.environ["ELSEWHERE"]', "'.'").replace('os.environ["PIDS"]', "''"),
         namespace)
    return namespace


@contextmanager
def undone():
    """Runs a hostile block's reproducing call in this process, then undoes
    what it did to the process (the test's own business, not shapeguard's).
    As in a probe, the block may not lower the recursion limit meanwhile:
    plain Keras needs its depth, and the shape bug is what is confirmed."""
    cwd, path, modules, limit = os.getcwd(), list(sys.path), sys.modules.copy(), sys.getrecursionlimit()
    argv, environ, setrecursionlimit = list(sys.argv), dict(os.environ), sys.setrecursionlimit
    sys.setrecursionlimit = lambda new: setrecursionlimit(max(new, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit = setrecursionlimit
        os.chdir(cwd)
        sys.path[:] = path
        sys.modules.update(modules)
        sys.setrecursionlimit(limit)
        sys.argv[:] = argv
        os.environ.clear()
        os.environ.update(environ)


# --- 1: a block that changes the working directory ----------------------------------


def test_a_block_that_changes_directory_moves_neither_the_output_nor_the_locations(runs, folder):
    report = _report(runs, folder)
    assert (folder / "elsewhere" / "rel.json").read_text() == "an unrelated file\n"
    [failure] = report["moves"]["failures"]
    assert failure["location"] == {"file": "process.py", "line": line_of(folder / "process.py", "Add()([x, y])")}
    with undone():
        confirm(_as_failure(failure), _namespace())


def test_the_working_directory_is_put_back_after_every_probe(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    seen = []

    def moves(x, filters=8):
        seen.append(os.getcwd())
        os.chdir(tmp_path / "elsewhere")
        return layers.Add()([x, layers.Conv2D(filters, 1)(x)])

    report = check(moves, filters=[8, 16], **SMALL)
    assert seen and set(seen) == {str(tmp_path)} and os.getcwd() == str(tmp_path)
    [failure] = report.failures
    with undone():
        confirm(failure, {"moves": moves})


def _as_failure(data: dict):
    from types import SimpleNamespace

    return SimpleNamespace(call=data["call"], layer_class=data["layer"]["class"], message=data["message"])


# --- 2: a block that forks ---------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_forking_block_is_reported_once_and_its_copies_end(runs, folder):
    report = _report(runs, folder)
    [error] = report["forks"]["errors"]
    assert error["type"] == "Forked" and "forked a process (os.fork)" in error["message"]
    assert error["location"]["line"] == line_of(folder / "process.py", "os.fork()")
    assert set(report) == {"moves", "forks", "interrupts", "terminates", "signals_checker"}
    pids = (folder / "pids.txt").read_text().split()
    checker = max(set(pids), key=pids.count)  # the checking process logs once per probe, each copy once
    copies = [p for p in pids if p != checker]
    assert len(copies) == pids.count(checker) == len(set(copies))  # no copy went on to probe again
    assert not any(_alive(int(p)) for p in copies)
    assert "checking again" not in runs["main"].result().stderr


def test_a_fork_in_this_process_is_the_blocks_error_and_the_copy_is_gone(tmp_path):
    log = tmp_path / "pids.txt"

    def forks(x, filters=8):
        os.fork()
        with open(log, "a") as out:
            out.write(f"{os.getpid()}\n")
        return layers.Conv2D(filters, 1)(x)

    me = os.getpid()
    report = check(forks, filters=[8], timeout=10, **SMALL)
    assert os.getpid() == me
    [error] = report.errors
    assert error.type == "Forked" and error.location.line == forks.__code__.co_firstlineno + 1
    pids = [int(p) for p in log.read_text().split()]
    copies = [p for p in pids if p != me]
    assert copies and len(copies) == pids.count(me)
    assert not any(_alive(p) for p in copies)


def test_a_fork_whose_copy_keeps_running_is_killed_and_reported(tmp_path):
    log = tmp_path / "pids.txt"

    def forks_and_sleeps(x, filters=8):
        if os.fork() == 0:
            log.write_text(str(os.getpid()))
            time.sleep(60)
        return layers.Conv2D(filters, 1)(x)

    report = check(forks_and_sleeps, filters=[8], timeout=1, inputs={"x": "H,H,C"}, **SMALL)
    [error] = report.errors
    assert error.type == "Forked" and "still running" in error.message and "killed it" in error.message
    assert not _alive(int(log.read_text()))


def test_a_fork_whose_child_ends_by_itself_is_not_an_error():
    def forks_properly(x, filters=8):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        return layers.Conv2D(filters, 1)(x)

    report = check(forks_properly, filters=[8, 16], inputs={"x": "H,H,C"}, **SMALL)
    assert report.ok and not report.errors


# --- 3: KeyboardInterrupt from the block, and a real Ctrl-C ---------------------------


def test_a_keyboard_interrupt_the_block_raises_is_its_own_error(runs, folder):
    report = _report(runs, folder)
    [error] = report["interrupts"]["errors"]
    assert error["type"] == "KeyboardInterrupt" and error["example"]["filters"] == 16
    assert error["location"]["line"] == line_of(folder / "process.py", "raise KeyboardInterrupt")
    [failure] = report["interrupts"]["failures"]  # the search went on
    assert failure["example"]["filters"] == 32 and not report["interrupts"].get("interrupted")
    with undone():
        confirm(_as_failure(failure), _namespace())


def test_a_real_ctrl_c_still_interrupts_even_when_the_block_swallows_it():
    def raises(x, units=8):
        if units == 16:
            raise KeyboardInterrupt
        return layers.Dense(units)(x)

    def swallows(x, units=8):
        if units == 16:
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(1)  # the handler runs here
            except KeyboardInterrupt:
                pass
        return layers.Dense(units)(x)

    raised = check(raises, inputs={"x": "D"}, D=[4], units=[8, 16, 32])
    assert not raised.interrupted and raised.probes == 3
    [error] = raised.errors
    assert error.type == "KeyboardInterrupt" and error.example["units"] == 16
    def swallows_and_raises(x, units=8):
        if units == 16:
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(1)
            except KeyboardInterrupt:
                raise ValueError("something else") from None
        return layers.Dense(units)(x)

    for block in (swallows, swallows_and_raises):
        real = check(block, inputs={"x": "D"}, D=[4], units=[8, 16, 32])
        assert real.interrupted and real.probes == 1 and not real.ok and not real.errors


# --- 4: SIGTERM the block sends itself, and one from outside ---------------------------


def test_a_sigterm_the_block_sends_itself_is_its_own_error(runs, folder):
    report = _report(runs, folder)
    [error] = report["terminates"]["errors"]
    assert error["type"] == "ProcessExit" and "SIGTERM" in error["message"]
    assert error["location"]["line"] == line_of(folder / "process.py", "signal.SIGTERM)")
    [failure] = report["terminates"]["failures"]  # the search went on past it
    assert failure["example"]["filters"] == 32
    with undone():
        confirm(_as_failure(failure), _namespace())


def test_a_signal_the_block_sends_the_supervising_shapeguard_is_its_own_error(runs, folder):
    report = _report(runs, folder)
    [error] = report["signals_checker"]["errors"]
    assert error["type"] == "ProcessExit" and "the shapeguard process that runs the check" in error["message"]
    assert error["location"]["line"] == line_of(folder / "process.py", "os.getppid(), signal.SIGTERM")
    [failure] = report["signals_checker"]["failures"]  # the run went on, and reported
    assert failure["example"]["filters"] == 32
    with undone():
        confirm(_as_failure(failure), _namespace())


def test_a_sigterm_from_another_process_stops_the_run(runs):
    run = runs["terminated"].result()
    assert run.returncode == 128 + signal.SIGTERM and run.stdout == ""
    assert "SIGTERM from another process" in run.stderr and "checking again" not in run.stderr


def test_a_sigterm_the_block_sends_itself_in_this_process_is_its_own_error():
    def terminates(x, filters=8):
        if filters == 16:
            os.kill(os.getpid(), signal.SIGTERM)
        return layers.Conv2D(filters, 1)(x)

    report = check(terminates, filters=[8, 16], **SMALL)
    [error] = report.errors
    assert error.type == "ProcessExit" and "os.kill(os.getpid(), SIGTERM)" in error.message


# --- 5: a block that deletes its own source file -----------------------------------


DELETES = '''
import os

import keras


def block(x, filters=8):
    if filters == 32:
        os.remove(__file__)
    y = keras.layers.Conv2D(filters, 1)(x)
    return keras.layers.Add()([x, y])
'''


def test_a_block_that_deletes_its_file_keeps_its_lines_in_the_report(tmp_path, monkeypatch):
    import importlib

    (tmp_path / "deletes_itself.py").write_text(textwrap.dedent(DELETES).lstrip())
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("deletes_itself")
    report = check(module.block, filters=[8, 16, 32], **SMALL)
    assert not (tmp_path / "deletes_itself.py").exists()
    [failure] = report.failures
    assert failure.example["filters"] == 16 and report.probes == 3
    assert "return keras.layers.Add()([x, y])" in str(report)
    confirm(failure, {"block": module.block})


# --- 6: blocks that change the interpreter ----------------------------------------------


def clears_path(x, filters=8):
    sys.path.clear()
    return layers.Add()([x, layers.Conv2D(filters, 1)(x)])


def drops_modules(x, filters=8):
    for name in list(sys.modules):
        if name.startswith("shapeguard"):
            del sys.modules[name]
    return layers.Add()([x, layers.Conv2D(filters, 1)(x)])


def lowers_the_recursion_limit(x, filters=8):
    sys.setrecursionlimit(50)
    return layers.Add()([x, layers.Conv2D(filters, 1)(x)])


def changes_argv_and_environ(x, filters=8):
    sys.argv[:] = ["hostile"]
    os.environ["SHAPEGUARD_TEST_HOSTILE"] = "1"
    return layers.Add()([x, layers.Conv2D(filters, 1)(x)])


@pytest.mark.parametrize("block", [clears_path, drops_modules, lowers_the_recursion_limit, changes_argv_and_environ])
def test_a_block_that_changes_the_interpreter_is_checked_for_its_shapes(block):
    state = (list(sys.path), sys.modules.copy(), sys.getrecursionlimit(), list(sys.argv), dict(os.environ))
    for _ in range(2):  # the second check runs after the first one's probes
        report = check(block, filters=[8, 16], **SMALL)
        assert not report.errors, str(report)
        [failure] = report.failures
        assert failure.layer_class == "Add" and failure.example["filters"] == 16
    after = (list(sys.path), sys.modules.copy(), sys.getrecursionlimit(), list(sys.argv), dict(os.environ))
    assert after[0] == state[0] and after[2:] == state[2:]
    assert all(after[1].get(name) is module for name, module in state[1].items())
    with undone():
        confirm(failure, {block.__name__: block})


# --- Odd exceptions: a message that cannot be written, a BaseException of the block's own --


class _Unwritable(Exception):
    def __str__(self):
        raise RuntimeError("str broke")


class _OwnBase(BaseException):
    pass


def test_odd_exceptions_are_the_blocks_errors_and_the_real_failure_is_kept():
    def odd(x, filters=8, mode="a"):
        y = layers.Conv2D(filters, 1)(x)
        if mode == "b":
            raise _Unwritable()
        if mode == "c":
            raise _OwnBase("its own BaseException")
        return layers.Add()([x, y])

    report = check(odd, C=[8, 16], H=[4], filters=[8], mode=["a", "b", "c"])
    errors = {e.type: e for e in report.errors}
    assert set(errors) == {"_Unwritable", "_OwnBase"}, report
    assert "could not be written" in errors["_Unwritable"].message
    assert errors["_OwnBase"].message == "its own BaseException"
    [failure] = report.failures  # the Add at C=16 is still found
    assert failure.example == {"C": 16, "H": 4, "filters": 8, "mode": "a"}
    confirm(failure, {"odd": odd, "keras": __import__("keras")})


def test_a_block_that_draws_random_numbers_gives_the_same_report_each_run():
    import random

    import numpy as np

    def drawn(x):
        width = random.choice([4, 8, 16, 32]) * int(np.random.choice([1, 2]))
        return layers.Add()([x, layers.Conv2D(width, 1)(x)])

    random.seed(1234)
    before = random.random(), float(np.random.random())
    random.seed(1234)
    np.random.seed(None)
    reports = [check(drawn, C=[8, 16], H=[4]).to_json() for _ in range(3)]
    assert reports[0] == reports[1] == reports[2]
    assert random.random() == before[0]  # the caller's generator is where it was
    random.seed(0)
    np.random.seed(0)  # the draw each call saw
    width = random.choice([4, 8, 16, 32]) * int(np.random.choice([1, 2]))
    report = check(drawn, C=[8, 16], H=[4])
    assert {c for c in (8, 16) if c != width} == {c for values, o in report.outcomes if o.status != "pass"
                                                 for c in [values["C"]]}
    for failure in report.failures:
        random.seed(0)
        np.random.seed(0)
        confirm(failure, {"drawn": drawn, "keras": __import__("keras")})


def test_a_block_whose_result_changes_from_call_to_call_is_said_to_be_not_repeatable():
    calls = []

    def first_call_differs(x, filters=8):
        calls.append(None)  # state kept between calls: only the first call builds a wider branch
        width = 2 * filters if len(calls) == 1 else filters
        return layers.Add()([x, layers.Conv2D(width, 1)(x)])

    report = check(first_call_differs, inputs={"x": "H,H,C"}, C=[8], H=[4], filters=[8])
    [error] = report.errors
    assert error.type == "InternalError" and error.cause == "not repeatable", report
    assert "the block gave different results for the same call" in error.message
    assert "bug in shapeguard" not in error.message and not report.failures
    calls.clear()
    with pytest.raises(ValueError, match="incompatible shapes"):  # the first call in plain Keras fails...
        first_call_differs(keras.Input(shape=(4, 4, 8)))
    first_call_differs(keras.Input(shape=(4, 4, 8)))  # ...and the second passes
