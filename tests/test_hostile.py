"""Blocks that try to fool the checker (issue 9, points 4-14): each must be
reported for what it is, never passed unchecked, never lose a report.

The command-line runs (a block that kills its process, one that swallows the
timeout, one that hangs at one point only, a directory without __init__.py)
start together in the background; the rest runs in this process on tiny spaces.
Every failure a test relies on is confirmed with plain Keras.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from keras import layers

from helpers.plain_keras import confirm
from shapeguard import ShapeguardError, check, guard

pytestmark = pytest.mark.keras

REPO = Path(__file__).resolve().parents[1]
SMALL = {"C": [8], "H": [4]}

HOSTILE = '''
import os
import signal
import time

import keras

from shapeguard import guard


@guard(C=[8], H=[4], filters=[8, 16])
def exits(x, filters=8):
    y = keras.layers.Conv2D(filters, 1)(x)
    if filters == 16:
        os._exit(0)
    return y


@guard(C=[8], H=[4], filters=[8, 16])
def killed(x, filters=8):
    y = keras.layers.Conv2D(filters, 1)(x)
    if filters == 16:
        os.kill(os.getpid(), signal.SIGKILL)
    return y


@guard(C=[8], H=[4], filters=[8, 16])
def swallows(x, filters=8):
    while filters == 16:
        try:
            time.sleep(0.2)
        except:  # noqa: E722 - a retry loop that catches everything
            pass
    return keras.layers.Conv2D(filters, 1)(x)


@guard(C=[16], H=[4], filters=[8, 16])
def hangs_at_16(x, filters=8):
    while filters == 16:
        time.sleep(0.05)
    y = keras.layers.Conv2D(filters, 1)(x)
    return keras.layers.Add()([x, y])


class Holder:
    @staticmethod
    @guard(C=[8], H=[4], filters=[0, 8])
    def sblock(x, filters=8):
        return keras.layers.Conv2D(filters, 1)(x)

    @classmethod
    @guard(C=[8], H=[4], filters=[0, 8])
    def cblock(cls, x, filters=8):
        return keras.layers.Conv2D(filters, 1)(x)
'''

IN_DIRECTORY = '''
import keras
from shapeguard import guard


@guard(C=[8, 16], H=[4], filters=[8])
def joined(x, filters=8):
    return keras.layers.Add()([x, keras.layers.Conv2D(filters, 1)(x)])
'''


def env() -> dict:
    """The child's environment: this checkout importable, and Keras's numpy
    backend, which imports in about half TensorFlow's time (the claims here are
    the supervisor's, whatever the backend; each restart imports Keras again)."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environment.get("PYTHONPATH")]))
    environment["KERAS_BACKEND"] = "numpy"
    return environment


def shapeguard_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shapeguard", *args], cwd=cwd, env=env(),
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    (root / "hostile.py").write_text(textwrap.dedent(HOSTILE).lstrip())
    (root / "models").mkdir()  # no __init__.py
    (root / "models" / "joined.py").write_text(IN_DIRECTORY.lstrip())
    (root / "models" / "script.py").write_text("# a safeguard against typos\nraise SystemExit(5)\n")
    (root / "models" / ".hidden").mkdir()
    (root / "models" / ".hidden" / "ignored.py").write_text("from shapeguard import guard\nraise SystemExit(6)\n")
    return root


@pytest.fixture(scope="module")
def runs(folder):
    """One command-line run for all (each run and each restart loads TensorFlow)."""
    pool = ThreadPoolExecutor(max_workers=1)
    run = pool.submit(shapeguard_cli, "check", "hostile.py", "models/", "--timeout", "3", "--format", "json", cwd=folder)
    yield {"hostile": run, "directory": run}
    pool.shutdown(wait=True)


def targets_of(run) -> dict:
    return {t["target"].split(":")[-1]: t for t in json.loads(run.stdout)["targets"]}


def target_names(run) -> list:
    return [t["target"] for t in json.loads(run.stdout)["targets"]]


# --- 7: a block that ends its process, or swallows the timeout ----------------


def test_os_exit_is_reported_at_its_line(runs, folder):
    run = runs["hostile"].result()
    assert run.returncode == 1, run.stderr  # hangs_at_16 has an Add failure
    [error] = targets_of(run)["exits"]["errors"]
    assert error["type"] == "ProcessExit" and "os._exit(0)" in error["message"]
    assert error["location"]["line"] == line_in(folder / "hostile.py", "os._exit(0)")
    assert error["example"] == {"C": 8, "H": 4, "filters": 16}


def test_a_block_killed_by_a_signal_is_reported_and_the_others_still_checked(runs):
    run = runs["hostile"].result()
    report = targets_of(run)
    [error] = report["killed"]["errors"]
    assert error["type"] == "Died" and "SIGKILL" in error["message"]
    assert error["call"] == "killed(keras.Input(shape=(4, 4, 8)), filters=16)"
    assert "hostile.py:killed: the process was killed by SIGKILL" in run.stderr
    assert set(report) == {"exits", "killed", "swallows", "hangs_at_16", "Holder.sblock", "Holder.cblock", "joined"}


def test_a_bare_except_in_a_retry_loop_does_not_defeat_the_timeout(runs, folder):
    [error] = targets_of(runs["hostile"].result())["swallows"]["errors"]
    assert error["type"] == "Timeout" and error["example"]["filters"] == 16


# --- 11: a hang at one point does not end the search -------------------------


def test_a_hang_at_one_point_leaves_the_failures_elsewhere_found(runs, folder):
    report = targets_of(runs["hostile"].result())["hangs_at_16"]
    assert report["status"] == "fail"
    [failure] = report["failures"]
    assert failure["layer"]["class"] == "Add"
    [hang] = report["errors"]
    assert hang["type"] == "Timeout" and hang["example"]["filters"] == 16
    namespace = {}
    exec(textwrap.dedent(HOSTILE), namespace)
    confirm(_as_failure(failure), namespace)


def _as_failure(data: dict):
    from types import SimpleNamespace

    return SimpleNamespace(call=data["call"], layer_class=data["layer"]["class"], message=data["message"])


def test_a_check_outside_the_main_thread_honours_its_timeout():
    def spins(x, filters=8):
        y = layers.Conv2D(filters, 1)(x)
        while filters == 16:
            pass
        return y

    reports = []
    worker = threading.Thread(target=lambda: reports.append(check(spins, filters=[8, 16], timeout=0.5, **SMALL)))
    worker.start()
    worker.join(60)
    assert not worker.is_alive()
    [error] = reports[0].errors
    assert error.type == "Timeout" and error.example["filters"] == 16


# --- 5: static and class methods written over @guard ---------------------------


def test_static_and_class_methods_are_collected_and_reproducible(runs, folder):
    report = targets_of(runs["hostile"].result())
    namespace = {}
    exec(textwrap.dedent(HOSTILE), namespace)
    for call in ("Holder.sblock", "Holder.cblock"):
        [failure] = report[call]["failures"]
        assert failure["call"].startswith(call + "(keras.Input(")
        confirm(_as_failure(failure), namespace)


def test_pytest_collects_static_and_class_methods(pytester):
    pytester.makepyfile(blocks="import keras\nfrom shapeguard import guard\n\n\nclass Holder:"
                        + HOSTILE.split("class Holder:")[1])
    result = pytester.runpytest("--shapeguard", "--shapeguard-no-database", "-p", "no:cacheprovider",
                                "-k", "Holder", "blocks.py")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*blocks.py::Holder.sblock*", "*blocks.py::Holder.cblock*"])


# --- 6: a directory target ----------------------------------------------------


def test_a_directory_without_init_is_checked_like_pytest_would(runs, folder):
    run = runs["directory"].result()
    assert [n for n in target_names(run) if n.startswith("models")] == ["models/joined.py:joined"]
    assert targets_of(run)["joined"]["status"] == "fail"
    assert "script" not in run.stdout and "ignored" not in run.stdout
    assert not (folder / ".hypothesis").exists()  # no example database: nothing written here


def test_a_package_directory_is_checked_with_package_names(tmp_path, monkeypatch):
    from shapeguard._collect import collect

    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "blocks.py").write_text(IN_DIRECTORY.lstrip())
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for text in ("pkg", "pkg/"):
        [target] = collect(text)
        assert target.name == os.path.join("pkg", "blocks.py") + ":joined"
        assert target.function.__module__ == "pkg.blocks"


@pytest.mark.parametrize("text", ["models", "models/", "./models"])
def test_directory_targets_resolve_the_same_files(folder, monkeypatch, text):
    from shapeguard._collect import python_files_under

    monkeypatch.chdir(folder)
    assert [os.path.normpath(p) for p in python_files_under(text)] == [os.path.join("models", "joined.py")]


def test_the_bare_file_rule_ignores_safeguard_in_a_comment(tmp_path):
    from shapeguard._collect import may_define_blocks

    cases = {"# a safeguard\n": False, "import shapeguard\n": True, "@guard\ndef f(x): ...\n": True,
             "from shapeguard import guard\n": True, "guardian = 1\n": False}
    keras = {"import keras\n": True, "from tensorflow import keras\n": True, "tf.keras.layers.Dense(2)\n": True,
             "import tensorflow as tf\n": False}
    for text, expected in {**cases, **keras}.items():
        (tmp_path / "f.py").write_text(text)
        assert may_define_blocks(str(tmp_path / "f.py")) is expected, text
    for text, expected in cases.items():  # --shapeguard-guarded-only: today's rule
        (tmp_path / "f.py").write_text(text)
        assert may_define_blocks(str(tmp_path / "f.py"), guarded_only=True) is expected, text
    (tmp_path / "f.py").write_text("import keras\n")
    assert may_define_blocks(str(tmp_path / "f.py"), guarded_only=True) is False


# --- 4: blocks that would pass without running ---------------------------------


def test_async_and_generator_blocks_are_usage_errors():
    async def coroutine_block(x):
        return layers.Dense(2)(x)

    def generator_block(x):
        yield layers.Dense(2)(x)

    with pytest.raises(ShapeguardError, match="async function"):
        check(coroutine_block, **SMALL)
    with pytest.raises(ShapeguardError, match="generator function"):
        check(generator_block, **SMALL)
    with pytest.raises(ShapeguardError, match="async function"):
        guard(C=[8])(coroutine_block)


def test_a_block_that_calls_no_keras_is_not_a_pass():
    report = check(lambda x: x, **SMALL)
    assert report.status == "error" and not report.ok
    [error] = report.errors
    assert error.type == "NoKerasCall"
    assert "NOT CHECKED" in str(report).splitlines()[0]


def test_points_that_call_no_keras_are_not_counted_as_checked():
    def sometimes(x, filters=8):
        if filters == 16:
            return x  # nothing checked here
        return layers.Conv2D(filters, 1)(x)

    report = check(sometimes, filters=[8, 16], **SMALL)
    assert report.ok and (report.probes, report.unchecked, report.checked) == (2, 1, 1)
    heading = str(report).splitlines()[0]
    assert "OK in 1 of 2 combinations" in heading
    assert json.loads(report.to_json())["targets"][0]["checked"] == 1


# --- 8: OK only of what was checked ------------------------------------------------


def test_ok_of_a_search_says_how_much_it_covered():
    def dense(x, units=8):
        return layers.Dense(units)(x)

    report = check(dense, units=[2, 3, 4, 5, 6, 7], inputs={"x": "D"}, D=[2, 3, 4], max_examples=5)
    assert report.mode == "search" and report.ok and report.probes < 18
    assert f": OK in {report.probes} of 18 combinations (Hypothesis search, seed 0)" in str(report).splitlines()[0]


def test_ok_of_an_interrupted_exhaustive_run_says_how_much_it_covered():
    def interrupted_at_32(x, filters=8):
        if filters == 32:
            os.kill(os.getpid(), signal.SIGINT)  # as if Ctrl-C came while this point was probed
        return layers.Conv2D(filters, 1)(x)

    report = check(interrupted_at_32, filters=[8, 16, 32, 64], **SMALL)
    assert report.interrupted and not report.ok and report.probes == 2  # an interrupted check is never ok
    assert str(report).splitlines()[0].endswith(": OK in 2 of 4 combinations (exhaustive, stopped early)")


# --- 11: a crash inside shapeguard reports that target and checks the others ---


def test_an_internal_crash_fails_one_target_and_the_others_are_checked(monkeypatch, folder, capfd):
    from shapeguard import cli, engine

    real_run = engine.run

    def crashing(planned, watch):
        if watch.target.endswith(":Holder.sblock"):
            raise RuntimeError("simulated bug")
        return real_run(planned, watch)

    monkeypatch.setattr(engine, "run", crashing)
    monkeypatch.chdir(folder)
    args = cli.build_parser().parse_args(["check", "hostile.py:Holder.sblock", "hostile.py:Holder.cblock",
                                          "--format", "json"])
    status = cli.run_check(args)  # no argv: in this process
    out = json.loads(capfd.readouterr().out)
    sblock, cblock = out["targets"]
    assert sblock["status"] == "error" and sblock["errors"][0]["type"] == "InternalError"
    assert "simulated bug" in sblock["errors"][0]["message"]
    assert cblock["status"] == "fail" and status == 1


# --- 13: the decorator is a drop-in ------------------------------------------------


@guard(C=[8], H=[4], filters=[0, 8])
def picklable(x, filters=8):
    return layers.Conv2D(filters, 1)(x)


class Holder:
    @staticmethod
    @guard(C=[8], H=[4], filters=[0, 8])
    def sblock(x, filters=8):
        return layers.Conv2D(filters, 1)(x)

    @guard(C=[8], H=[4], filters=[0, 8])
    def mblock(self, x, filters=8):
        return layers.Conv2D(filters, 1)(x)


def test_a_guarded_function_pickles_and_copies_like_the_plain_function():
    for obj in (picklable, Holder.sblock):
        assert pickle.loads(pickle.dumps(obj)) is obj
        assert copy.deepcopy(obj) is obj and copy.copy(obj) is obj
    bound = pickle.loads(pickle.dumps(Holder().mblock))
    assert bound.check().status == "fail"
    assert copy.deepcopy(Holder().mblock).__self__.__class__ is Holder


def test_reproducing_calls_are_python_for_partials_lambdas_and_static_methods():
    namespace = {"picklable": picklable, "Holder": Holder, "functools": functools}
    partial = check(functools.partial(picklable, filters=0), **SMALL)
    [failure] = partial.failures
    assert failure.call.startswith("functools.partial(picklable, filters=0)(keras.Input(")
    confirm(failure, namespace)
    [failure] = check(Holder.sblock).failures
    assert failure.call == "Holder.sblock(keras.Input(shape=(4, 4, 8)), filters=0)"
    confirm(failure, namespace)
    [failure] = check(lambda x: picklable(x, 0), **SMALL).failures
    assert "# f is a lambda at" in failure.call and "has no importable name" in failure.call
    compile(failure.call, "<call>", "eval")  # valid Python all the same
    confirm(failure, {**namespace, "f": lambda x: picklable(x, 0)})


# --- 14: writes nothing it was not asked to ----------------------------------------


def test_a_check_without_database_writes_nothing_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def dense(x, units=8):
        return layers.Dense(units)(x)

    report = check(dense, units=[2, 3, 4, 5], inputs={"x": "D"}, D=[2, 3], max_examples=3)
    assert report.mode == "search"
    assert list(tmp_path.iterdir()) == []


def line_in(path: Path, pattern: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if pattern in line)


# --- found by a newcomer's trial -------------------------------------------------------


def test_a_module_that_ends_the_process_when_imported_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "exits.py").write_text("import os\n\nos._exit(7)\n\n\ndef block(x):\n    return x\n")
    done = subprocess.run([sys.executable, "-m", "shapeguard", "check", "exits.py:block"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "ended with status 7 before it probed anything" in done.stderr


def test_a_target_that_never_returns_a_tensor_is_a_usage_error_on_the_command_line(tmp_path, monkeypatch, capfd):
    from shapeguard.cli import build_parser, run_check

    (tmp_path / "nothing.py").write_text("def block(x, filters=8):\n    return None\n")
    monkeypatch.chdir(tmp_path)
    assert run_check(build_parser().parse_args(["check", "nothing.py:block"])) == 2
    err = capfd.readouterr().err
    assert err == "shapeguard: nothing.py:block: block returned None, not a tensor: nothing was built from the inputs.\n"


def test_output_to_a_device_writes_into_it_and_never_replaces_it():
    from shapeguard.cli import write_atomically

    before = os.stat(os.devnull)
    write_atomically(os.devnull, "a report\n")
    after = os.stat(os.devnull)
    assert (after.st_mode, after.st_rdev, after.st_ino) == (before.st_mode, before.st_rdev, before.st_ino)


def test_a_file_that_is_not_python_is_refused_but_a_python_script_is_not(tmp_path, monkeypatch, capfd):
    from shapeguard.cli import build_parser, run_check

    (tmp_path / "notes.txt").write_text("name: guard\n")
    (tmp_path / "tool").write_text("#!/usr/bin/env python3\nprint('a script pre-commit calls Python')\n")
    monkeypatch.chdir(tmp_path)
    assert run_check(build_parser().parse_args(["check", "./notes.txt"])) == 2
    assert capfd.readouterr().err == (
        "shapeguard: cannot import ./notes.txt: not a Python file (name a .py file, a folder or a module).\n")
    assert run_check(build_parser().parse_args(["check", "-q", "./tool"])) == 0  # never mentions guard: skipped
