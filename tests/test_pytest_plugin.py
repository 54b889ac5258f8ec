"""The pytest plugin: shape checks as ordinary tests.

Every run here is a real pytest session in a scratch folder (`pytester`).
Sessions that check imports, xdist or the example database run in a child
process; the others run in this process with the database off, so that they
neither pay for TensorFlow again nor write to this checkout's `.hypothesis/`.
Every failure a test relies on is confirmed with plain Keras (`confirm_report`).
"""

from __future__ import annotations

import re
import runpy
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import keras  # noqa: F401
import pytest

import shapeguard.engine  # noqa: F401
from helpers.plain_keras import run_call

# keras and shapeguard's engine (with Hypothesis) are imported above, not first
# in a session in this process: pytester drops modules first imported during a
# test, and TensorFlow must not be imported twice.

pytestmark = pytest.mark.keras

SEED = Path(__file__).resolve().parents[1] / "shapeguard" / "examples"  # the seed example and its fixed twin
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"  # the other examples

# Four points per block: C in (8, 16), conv_shortcut in (False, True).
BLOCKS = '''
from keras.layers import Add, Conv2D
from shapeguard import guard


@guard(C=[8, 16], filters=[8], conv_shortcut=[False, True], inputs={"x": "4,4,C"})
def buggy_block(x, filters, conv_shortcut=False):
    shortcut = Conv2D(filters, 1)(x) if conv_shortcut else x
    y = Conv2D(filters, 1)(x)
    return Add()([y, shortcut])


@guard(C=[8, 16], filters=[8], conv_shortcut=[False, True], inputs={"x": "4,4,C"})
def fixed_block(x, filters, conv_shortcut=False):
    if conv_shortcut or x.shape[-1] != filters:
        shortcut = Conv2D(filters, 1)(x)
    else:
        shortcut = x
    return Add()([Conv2D(filters, 1)(x), shortcut])


class Blocks:
    @guard(C=[8], filters=[8, 16], inputs={"x": "4,4,C"})
    def widen(self, x, filters):
        return Add()([Conv2D(filters, 1)(x), x])


def helper(x):  # not guarded: never an item
    return x
'''

TESTS_WITH_ASSERT_OK = '''
import shapeguard
from blocks import buggy_block, fixed_block


def test_buggy_block_is_ok():
    shapeguard.assert_ok(buggy_block)


def test_fixed_block_is_ok():
    shapeguard.assert_ok(fixed_block)
'''

BUGGY_MINIMAL = "minimal: C=16, filters=8, conv_shortcut=False"
BUGGY_CALL = "buggy_block(keras.Input(shape=(4, 4, 16)), filters=8, conv_shortcut=False)"
BUGGY_SHAPES = "(None, 4, 4, 8) and (None, 4, 4, 16)"
WIDEN_CALL = "Blocks().widen(keras.Input(shape=(4, 4, 8)), filters=16)"

NO_DATABASE = "--shapeguard-no-database"  # for sessions in this process (see module doc)


# Report lines, also as pytest shows an exception's message ("E   " in front).
REPORT_LINE = r"^(?:E\s)?\s*{}: (.+)$"


def reproduce_calls(text: str) -> list[str]:
    return re.findall(REPORT_LINE.format("reproduce"), text, flags=re.MULTILINE)


def confirm_report(text: str, namespace: dict) -> None:
    """Every failure in a report fails in plain Keras too: its reproducing call
    raises a ValueError carrying the message the report quotes from Keras."""
    calls = reproduce_calls(text)
    messages = re.findall(REPORT_LINE.format("keras"), text, flags=re.MULTILINE)
    assert calls and len(calls) == len(messages), text
    for call, message in zip(calls, messages):
        exc = run_call(call, namespace)
        assert isinstance(exc, ValueError), (call, exc)
        assert message in " ".join(str(exc).split()), (call, message, exc)


def line_in_blocks(text: str) -> int:
    """Line number of ``text`` in blocks.py as pytester writes it (stripped)."""
    return next(i for i, line in enumerate(BLOCKS.strip().splitlines(), 1) if text in line)


def blocks_namespace() -> dict:
    namespace: dict = {"__name__": "blocks_for_confirmation"}
    exec(compile(BLOCKS, "blocks.py", "exec"), namespace)
    return namespace


def summary_lines(result: pytest.RunResult) -> list[str]:
    """The FAILED and ERROR lines of the short test summary (``-ra``, ``-rA``)."""
    return [line for line in result.outlines if re.match(r"(FAILED|ERROR) \S+ - ", line)]


def outcomes_by_nodeid(result: pytest.RunResult) -> dict[str, str]:
    """From the ``-rA`` summary: node id -> PASSED / FAILED / ERROR."""
    found = {}
    for line in result.outlines:
        match = re.match(r"(PASSED|FAILED|ERROR|SKIPPED) (\S+)", line)
        if match:
            found[match.group(2)] = match.group(1)
    return found


def _between(result: pytest.RunResult, start: str, end: str) -> str:
    """The output from the line matching ``start`` to the next matching ``end``."""
    text = result.stdout.str()
    found = re.search(start, text, flags=re.MULTILINE)
    assert found, text
    rest = text[found.end():]
    stop = re.search(end, rest, flags=re.MULTILINE)
    return rest[: stop.start()] if stop else rest


def failure_section(result: pytest.RunResult, heading: str) -> str:
    """The text pytest prints under ``____ heading ____`` in FAILURES."""
    return _between(result, rf"^_+ {re.escape(heading)} _+$", r"^(_{3,} .* _{3,}|=+ .* =+)$")


def failures_text(result: pytest.RunResult) -> str:
    """The FAILURES part of a session's output."""
    return _between(result, r"^=+ FAILURES =+$", r"^=+ .* =+$")


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A folder with guarded blocks, a test using assert_ok, and files the
    plugin must leave alone."""
    pytester.makepyfile(blocks=BLOCKS, test_blocks=TESTS_WITH_ASSERT_OK)
    pytester.mkdir("scripts")
    never_import = 'raise SystemExit("scripts/train.py must not be imported")\n'
    (pytester.path / "scripts" / "train.py").write_text(never_import)
    pytester.makeconftest("from shapeguard import guard  # a conftest is never collected as a module\n")
    pytester.syspathinsert()  # test_blocks imports blocks, as in a project
    return pytester


# -- loading ------------------------------------------------------------------

def test_loading_the_plugin_imports_no_tensorflow_keras_hypothesis_or_engine(pytester):
    pytester.makepyfile(
        test_trivial='''
        import sys

        HEAVY = ("tensorflow", "keras", "hypothesis", "shapeguard.engine", "shapeguard.search",
                 "shapeguard.probe")
        # Loaded only with --shapeguard, to look for @guard functions in files
        # that mention guard (this one does).
        DECORATOR = ("wrapt", "shapeguard.decorator")

        def test_nothing_heavy_is_loaded(pytestconfig):
            assert pytestconfig.pluginmanager.hasplugin("shapeguard")
            assert "shapeguard.pytest_plugin" in sys.modules
            assert [name for name in HEAVY if name in sys.modules] == []
            if not pytestconfig.getoption("shapeguard"):
                assert [name for name in DECORATOR if name in sys.modules] == []
        '''
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    # --shapeguard is only understood when the plugin is loaded.
    pytester.runpytest_subprocess("--shapeguard", "-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_without_the_option_nothing_extra_is_collected(project):
    result = project.runpytest("--collect-only", "-q")
    assert "[shapeguard]" not in result.stdout.str()
    assert result.stdout.lines[:2] == [
        "test_blocks.py::test_buggy_block_is_ok",
        "test_blocks.py::test_fixed_block_is_ok",
    ]
    assert "--shapeguard-max-examples=N" in project.runpytest("--help").stdout.str()


def test_bad_option_values_are_usage_errors(pytester):
    result = pytester.runpytest("--shapeguard-max-examples", "0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--shapeguard-max-examples: expected a positive integer, got '0'*"])
    result = pytester.runpytest("--shapeguard-seed", "x")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--shapeguard-seed: invalid int value: 'x'*"])


# -- collected items ---------------------------------------------------------

def test_guarded_functions_are_collected_as_items(project):
    result = project.runpytest("--shapeguard", "--collect-only", "-q", ".")
    shapeguard_items = [line for line in result.outlines if "[shapeguard]" in line]
    assert shapeguard_items == [
        "blocks.py::buggy_block[shapeguard]",
        "blocks.py::fixed_block[shapeguard]",
        "blocks.py::Blocks.widen[shapeguard]",
    ]
    assert "scripts/train.py" not in result.stdout.str()  # never imported: it would exit
    deselected = project.runpytest("--shapeguard", "--collect-only", "-q", "-m", "not shapeguard", ".")
    assert "[shapeguard]" not in deselected.stdout.str()
    assert "test_blocks.py::test_fixed_block_is_ok" in deselected.stdout.str()


def test_buggy_block_fails_as_a_collected_item_with_the_report(project):
    result = project.runpytest("--shapeguard", NO_DATABASE, "-rA", "blocks.py")
    assert outcomes_by_nodeid(result) == {
        "blocks.py::buggy_block[shapeguard]": "FAILED",
        "blocks.py::fixed_block[shapeguard]": "PASSED",
        "blocks.py::Blocks.widen[shapeguard]": "FAILED",
    }
    # The short summary names the mode, not the report's first 40 characters.
    assert summary_lines(result) == [
        "FAILED blocks.py::buggy_block[shapeguard] - 1 failure mode: Add (channels)",
        "FAILED blocks.py::Blocks.widen[shapeguard] - 1 failure mode: Add (channels)",
    ]
    report = failure_section(result, "buggy_block [shapeguard]")
    assert report.lstrip().startswith("blocks.py::buggy_block: FAIL, 1 failure mode")
    assert BUGGY_MINIMAL in report and f"reproduce: {BUGGY_CALL}" in report
    assert f"Add 'add' rejected input shapes {BUGGY_SHAPES}" in report
    add_line = "return Add()([y, shortcut])"
    assert f"at blocks.py:{line_in_blocks(add_line)}:  {add_line}" in report
    # The report alone: no traceback through shapeguard, Keras or pytest.
    assert "Traceback" not in result.stdout.str() and "site-packages" not in result.stdout.str()
    assert f"reproduce: {WIDEN_CALL}" in failure_section(result, "Blocks.widen [shapeguard]")
    failures = failures_text(result)
    assert reproduce_calls(failures) == [BUGGY_CALL, WIDEN_CALL]
    confirm_report(failures, blocks_namespace())
    plain = run_call(BUGGY_CALL, blocks_namespace())
    assert isinstance(plain, ValueError) and "Inputs have incompatible shapes" in str(plain)


def test_budget_and_seed_options_reach_the_check(project):
    result = project.runpytest("--shapeguard", NO_DATABASE, "--shapeguard-max-examples", "3",
                               "--shapeguard-seed", "5", "blocks.py")
    result.assert_outcomes(passed=1, failed=2)
    assert "shapeguard: max examples 3, seed 5, example database off" in result.stdout.str()
    # 3 < the 4 points of buggy_block's space: a search with seed 5, not an enumeration.
    result.stdout.fnmatch_lines([
        "blocks.py::buggy_block: FAIL, 1 failure mode (Hypothesis search, * of 4 combinations, seed 5)",
    ])
    failures = failures_text(result)
    assert reproduce_calls(failures) == [BUGGY_CALL, WIDEN_CALL]
    confirm_report(failures, blocks_namespace())


def test_a_file_collected_by_both_plugins_is_imported_once(pytester):
    pytester.makepyfile(
        test_inline=BLOCKS + '''
import pathlib
with pathlib.Path("imports.log").open("a") as log:
    log.write("imported\\n")


def test_fixed_block_works():
    assert fixed_block(__import__("keras").Input(shape=(4, 4, 8)), filters=8) is not None
'''
    )
    result = pytester.runpytest("--shapeguard", NO_DATABASE, "-rA")
    assert outcomes_by_nodeid(result) == {
        "test_inline.py::test_fixed_block_works": "PASSED",
        "test_inline.py::buggy_block[shapeguard]": "FAILED",
        "test_inline.py::fixed_block[shapeguard]": "PASSED",
        "test_inline.py::Blocks.widen[shapeguard]": "FAILED",
    }
    assert (pytester.path / "imports.log").read_text() == "imported\n"
    confirm_report(failures_text(result), blocks_namespace())


def test_a_method_whose_class_needs_arguments_fails_with_advice(pytester):
    pytester.makepyfile(
        needs_args='''
        from shapeguard import guard

        class Tower:
            def __init__(self, depth):
                self.depth = depth

            @guard(C=[8], inputs={"x": "4,4,C"})
            def block(self, x):
                return x
        '''
    )
    result = pytester.runpytest("--shapeguard", NO_DATABASE, "needs_args.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "needs_args.py:Tower.block: cannot create Tower() to call its method "
        "(missing a required argument: 'depth'); give Tower's parameters defaults, *",
    ])
    assert "Traceback" not in result.stdout.str()


def test_a_block_that_raises_by_itself_fails_its_item(pytester, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # the summary line whole, as pytest shows it on a wide terminal
    pytester.makepyfile(
        raising='''
        from shapeguard import guard

        @guard(C=[8], inputs={"x": "4,4,C"})
        def block(x):
            return x.shape[-1] + "channels"
        '''
    )
    result = pytester.runpytest("--shapeguard", NO_DATABASE, "-ra", "raising.py")
    result.assert_outcomes(failed=1)
    assert summary_lines(result) == ["FAILED raising.py::block[shapeguard] - 1 block error: the block raised "
                                     "TypeError: unsupported operand type(s) for +: 'int' and 'str'"]
    result.stdout.fnmatch_lines([
        "raising.py::block: ERROR, the block raised by itself*",
        "*[[]error[]] the block raised TypeError: unsupported operand type(s) for +: 'int' and 'str'",
        "*reproduce: block(keras.Input(shape=(4, 4, 8)))",
    ])
    namespace = runpy.run_path(str(pytester.path / "raising.py"))
    assert isinstance(run_call("block(keras.Input(shape=(4, 4, 8)))", namespace), TypeError)


# -- assert_ok in a test -------------------------------------------------------

def test_assert_ok_fails_a_test_with_the_report_and_no_keras_traceback(project, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    result = project.runpytest(NO_DATABASE, "-rA", "test_blocks.py")
    assert outcomes_by_nodeid(result) == {
        "test_blocks.py::test_buggy_block_is_ok": "FAILED",
        "test_blocks.py::test_fixed_block_is_ok": "PASSED",
    }
    # Not "- shapeguard.errors.ShapeCheckFailed...": the block and its modes.
    assert summary_lines(result) == [
        "FAILED test_blocks.py::test_buggy_block_is_ok - blocks:buggy_block: 1 failure mode: Add (channels)"]
    failure = failure_section(result, "test_buggy_block_is_ok")
    assert "shapeguard.assert_ok(buggy_block)" in failure  # the test's own line
    assert "ShapeCheckFailed: blocks:buggy_block: FAIL, 1 failure mode" in failure
    assert BUGGY_MINIMAL in failure and f"reproduce: {BUGGY_CALL}" in failure and BUGGY_SHAPES in failure
    assert "keras/src" not in failure and "shapeguard/engine.py" not in failure and "Traceback" not in failure
    confirm_report(failure, blocks_namespace())


# -- --tb styles and warnings ---------------------------------------------------

BUGGY_HEADLINE = f"shape failure: Add 'add' rejected input shapes {BUGGY_SHAPES} (cause: channels)"
WIDEN_HEADLINE = "shape failure: Add 'add' rejected input shapes (None, 4, 4, 16) and (None, 4, 4, 8) (cause: channels)"
# The two failing items and the failing assert_ok test, not the passing ones.
FAILING_ONLY = ["-k", "buggy or widen", "blocks.py", "test_blocks.py"]


def test_tb_line_is_one_line_per_failure_at_the_first_modes_line(project, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    result = project.runpytest("--shapeguard", NO_DATABASE, "--tb=line", "-ra", *FAILING_ONLY)
    result.assert_outcomes(failed=3)
    add, widen_add = line_in_blocks("return Add()([y, shortcut])"), line_in_blocks("return Add()([Conv2D(filters, 1)(x), x])")
    assert failures_text(result).strip().splitlines() == [
        f"blocks.py:{add}: {BUGGY_HEADLINE}",  # the item
        f"blocks.py:{widen_add}: {WIDEN_HEADLINE}",
        f"blocks.py:{add}: {BUGGY_HEADLINE}",  # assert_ok in a test: where the bug is, not the test's line
    ]
    assert [line.split(" - ", 1)[1] for line in summary_lines(result)] == [BUGGY_HEADLINE, WIDEN_HEADLINE,
                                                                           BUGGY_HEADLINE]


def test_tb_short_is_the_headline_place_and_calls_of_each_mode(project, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    result = project.runpytest("--shapeguard", NO_DATABASE, "--tb=short", "-ra", *FAILING_ONLY)
    result.assert_outcomes(failed=3)
    add = "return Add()([y, shortcut])"
    item = failure_section(result, "buggy_block [shapeguard]").strip().splitlines()
    assert item == [
        "blocks.py::buggy_block: FAIL, 1 failure mode (all 4 combinations probed)",
        f"  [1] {BUGGY_HEADLINE}",
        f"      at blocks.py:{line_in_blocks(add)}:  {add}",
        f"      {BUGGY_MINIMAL}",
        f"      reproduce: {BUGGY_CALL}",
        "      fails at 1 of 4 combinations",
    ]
    # In a test: pytest's short traceback of the test, with the same short report as its message.
    in_test = failure_section(result, "test_buggy_block_is_ok").strip().splitlines()
    test_line = TESTS_WITH_ASSERT_OK.strip().splitlines().index("    shapeguard.assert_ok(buggy_block)") + 1
    assert in_test == [
        f"test_blocks.py:{test_line}: in test_buggy_block_is_ok",
        "    shapeguard.assert_ok(buggy_block)",
        "E   shapeguard.errors.ShapeCheckFailed: blocks:buggy_block: FAIL, 1 failure mode (all 4 combinations probed)",
        *(f"E   {line}" for line in item[1:]),
    ]
    failures = failures_text(result)
    for explanation in ("keras: ", "branches", "when: ", "fix: ", "grid ("):  # the full report's, left out
        assert explanation not in failures
    assert reproduce_calls(failures) == [BUGGY_CALL, WIDEN_CALL, BUGGY_CALL]
    for call in (BUGGY_CALL, WIDEN_CALL):  # real Keras failures
        plain = run_call(call, blocks_namespace())
        assert isinstance(plain, ValueError) and "Inputs have incompatible shapes" in str(plain)
    assert summary_lines(result) == [
        "FAILED blocks.py::buggy_block[shapeguard] - 1 failure mode: Add (channels)",
        "FAILED blocks.py::Blocks.widen[shapeguard] - 1 failure mode: Add (channels)",
        "FAILED test_blocks.py::test_buggy_block_is_ok - blocks:buggy_block: 1 failure mode: Add (channels)",
    ]


def test_keras_warnings_of_a_check_are_not_summarised_and_tb_no_prints_no_report(pytester, monkeypatch):
    # A Layer subclass whose call() fails makes Keras warn of its "unbuilt
    # state" at each failing probe; the user's own test warns too.
    shutil.copy(EXAMPLES / "residual_layer.py", pytester.path / "residual_layer.py")
    pytester.makepyfile(test_own="""
        import warnings

        def test_warns_by_itself():
            warnings.warn("the user's own warning", UserWarning)
        """)
    monkeypatch.setenv("COLUMNS", "200")
    result = pytester.runpytest("--shapeguard", NO_DATABASE, "--tb=no", "-rA", "--junitxml=junit.xml")
    assert outcomes_by_nodeid(result) == {"residual_layer.py::ResidualBlock[shapeguard]": "FAILED",
                                          "test_own.py::test_warns_by_itself": "PASSED"}
    assert "FAILURES" not in result.stdout.str()  # --tb=no: the summary only
    assert summary_lines(result) == [
        "FAILED residual_layer.py::ResidualBlock[shapeguard] - 1 failure mode: Add (channels)"]
    warned = _between(result, r"^=+ warnings summary =+$", r"^-- Docs: ")
    assert [line for line in warned.splitlines() if line and not line.startswith(" ")] == [
        "test_own.py::test_warns_by_itself"]  # the tests that warned: not the check
    assert "the user's own warning" in warned and "unbuilt state" not in warned
    assert result.parseoutcomes()["warnings"] == 1
    # The report still reaches JUnit XML, and its failure is one of plain Keras's.
    case = next(c for c in ET.parse(pytester.path / "junit.xml").iter("testcase")
                if c.get("name") == "ResidualBlock[shapeguard]")
    assert case.find("failure").get("message") == "1 failure mode: Add (channels)"
    with pytest.warns(UserWarning, match="unbuilt state"):  # what the check kept out of the summary
        confirm_report(case.find("failure").text, runpy.run_path(str(pytester.path / "residual_layer.py")))


# -- reports for CI ------------------------------------------------------------

def test_junit_xml_carries_the_report_of_each_failing_item(project):
    result = project.runpytest("--shapeguard", NO_DATABASE, "--junitxml=junit.xml", "blocks.py")
    result.assert_outcomes(passed=1, failed=2)
    cases = {case.get("name"): case for case in ET.parse(project.path / "junit.xml").iter("testcase")}
    assert set(cases) == {"buggy_block[shapeguard]", "fixed_block[shapeguard]", "Blocks.widen[shapeguard]"}
    assert cases["fixed_block[shapeguard]"].find("failure") is None
    text = cases["buggy_block[shapeguard]"].find("failure").text
    assert text.startswith("blocks.py::buggy_block: FAIL, 1 failure mode")
    assert BUGGY_MINIMAL in text and f"reproduce: {BUGGY_CALL}" in text and BUGGY_SHAPES in text
    assert f"reproduce: {WIDEN_CALL}" in cases["Blocks.widen[shapeguard]"].find("failure").text
    confirm_report(text, blocks_namespace())


# -- child processes: xdist and the example database --------------------------

def test_xdist_gives_the_same_outcomes_and_reports(pytester, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")  # the short summary's lines whole
    # The seed's two examples only: other examples are other stories (and cost probes).
    (pytester.path / "examples").mkdir()
    for name in ("resnext_block.py", "resnext_block_fixed.py"):
        shutil.copy(SEED / name, pytester.path / "examples" / name)
    pytester.makepyfile(blocks=BLOCKS)
    # Without the database, so that the first run cannot change the second's
    # search (saved examples are probed first, which changes the probe count).
    args = ["--shapeguard", NO_DATABASE, "--shapeguard-max-examples", "20", "-rA",
            "-p", "no:cacheprovider", "examples", "blocks.py"]
    serial = pytester.runpytest(*args, "--junitxml=serial.xml")  # in this process: Keras is loaded already
    parallel = pytester.runpytest_subprocess(*args, "-n", "2", "--junitxml=parallel.xml")
    assert "2 workers [7 items]" in parallel.stdout.str()
    expected = {
        "examples/resnext_block.py::grouped_convolution_block[shapeguard]": "PASSED",
        "examples/resnext_block.py::block[shapeguard]": "FAILED",
        "examples/resnext_block_fixed.py::grouped_convolution_block[shapeguard]": "PASSED",
        "examples/resnext_block_fixed.py::block[shapeguard]": "PASSED",
        "blocks.py::buggy_block[shapeguard]": "FAILED",
        "blocks.py::fixed_block[shapeguard]": "PASSED",
        "blocks.py::Blocks.widen[shapeguard]": "FAILED",
    }
    assert outcomes_by_nodeid(serial) == expected
    assert outcomes_by_nodeid(parallel) == expected

    def failures(junit: str) -> dict:
        root = ET.parse(pytester.path / junit)
        return {(c.get("classname"), c.get("name")): c.find("failure").text
                for c in root.iter("testcase") if c.find("failure") is not None}

    assert failures("serial.xml") == failures("parallel.xml")
    texts = failures("serial.xml")
    # A worker's failure reaches the summary as it would serially: the modes the report lists.
    assert sorted(summary_lines(serial)) == sorted(summary_lines(parallel)) != []  # workers finish in any order
    resnext = texts[("examples.resnext_block", "block[shapeguard]")]
    modes = re.findall(r"^  \[\d+\] \w+ failure: (\w+) .* \(cause: ([^()]+)\)$", resnext, flags=re.MULTILINE)
    assert len(modes) > 1
    named = ", ".join(f"{layer} ({cause})" for layer, cause in modes)
    assert (f"FAILED examples/resnext_block.py::block[shapeguard] - {len(modes)} failure modes: {named}"
            in summary_lines(parallel))
    confirm_report(texts[("examples.resnext_block", "block[shapeguard]")],
                   runpy.run_path(str(pytester.path / "examples" / "resnext_block.py")))
    confirm_report(texts[("blocks", "buggy_block[shapeguard]")], blocks_namespace())


@pytest.fixture
def light_backend(monkeypatch):
    """Child sessions on Keras's numpy backend, which imports in about half
    TensorFlow's time: the claims of the database's tests are Hypothesis's and
    the plugin's, whatever the backend (sessions in this process keep TensorFlow)."""
    monkeypatch.setenv("KERAS_BACKEND", "numpy")


def database_entries(folder: Path) -> list[Path]:
    examples = folder / ".hypothesis" / "examples"
    return [p for p in examples.rglob("*") if p.is_file()] if examples.exists() else []


def test_failing_examples_are_kept_in_the_database_and_found_again(pytester, light_backend):
    pytester.makepyfile(blocks=BLOCKS)
    # Hypothesis's own "ci" profile, active wherever CI is set, has no database
    # (and shapeguard follows it); a project that keeps .hypothesis/ between CI
    # runs loads a profile with one, as here.
    pytester.makeconftest(
        """
        from hypothesis import settings

        settings.load_profile("default")
        """
    )
    # A budget below the space's 4 points: a search, which probes saved examples first.
    args = ["--shapeguard", "--shapeguard-max-examples", "3", "-p", "no:cacheprovider", "blocks.py"]
    first = pytester.runpytest_subprocess(*args)
    first.assert_outcomes(passed=1, failed=2)
    assert database_entries(pytester.path)
    second = pytester.runpytest_subprocess(*args, "-n", "2")  # workers share the database
    second.assert_outcomes(passed=1, failed=2)
    calls = [BUGGY_CALL, WIDEN_CALL]
    failures = failures_text(second)
    assert reproduce_calls(failures_text(first)) == reproduce_calls(failures) == calls
    confirm_report(failures, blocks_namespace())


def test_the_database_can_be_turned_off_by_option_or_hypothesis_profile(pytester, monkeypatch):
    pytester.makepyfile(blocks=BLOCKS)
    args = ["--shapeguard", "-p", "no:cacheprovider", "blocks.py"]
    result = pytester.runpytest(*args, NO_DATABASE)  # in this process: Keras is loaded here already
    result.assert_outcomes(passed=1, failed=2)
    assert database_entries(pytester.path) == []

    pytester.makeconftest(
        '''
        from hypothesis import settings

        settings.register_profile("no_database", database=None)
        settings.load_profile("no_database")
        '''
    )
    monkeypatch.setenv("KERAS_BACKEND", "numpy")  # as light_backend, for the child session only
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=1, failed=2)
    assert database_entries(pytester.path) == []
    confirm_report(failures_text(result), blocks_namespace())
