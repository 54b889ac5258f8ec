"""Issue 17, "Trust, round 2": the pytest plugin and the report renderers.

pytest's --lf / --ff / --sw rerun the shapeguard items that failed; one
``@guard`` is one item; every SARIF result has a location, at a
percent-encoded relative URI; an error-only report prints no empty size
line. Renderer tests are pure Python on hand-made reports (the fast lane);
the others are marked ``keras`` one by one, so importing this module imports
no Keras. Every failure a test relies on is confirmed with plain Keras.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest

from shapeguard.report import BlockError, BroadcastWarning, Failure, Location, Report, render

DATA = Path(__file__).parent / "data"
NO_DATABASE = "--shapeguard-no-database"


@pytest.fixture(scope="module")
def keras_loaded():
    """Keras and shapeguard's engine imported before `pytester` is made: an
    in-process pytester session drops the modules first imported in it, and
    TensorFlow must not be imported twice. Module scope, so it comes first."""
    import keras  # noqa: F401

    import shapeguard.engine  # noqa: F401


def outcomes(result: pytest.RunResult) -> dict[str, str]:
    """From the ``-rA`` summary: node id -> PASSED / FAILED."""
    return {m.group(2): m.group(1) for line in result.outlines
            if (m := re.match(r"(PASSED|FAILED|ERROR) (\S+)", line))}


def confirm_incompatible_add(text: str, namespace: dict) -> None:
    """The report's reproducing call fails in plain Keras with the merge's message."""
    from helpers.plain_keras import run_call

    calls = re.findall(r"^\s*reproduce: (.+)$", text, flags=re.MULTILINE)
    assert calls, text
    for call in calls:
        exc = run_call(call, namespace)
        assert isinstance(exc, ValueError) and "Inputs have incompatible shapes" in str(exc), (call, exc)


# -- 1: --lf, --ff and --sw rerun failing shapeguard items ---------------------

GUARDED = '''
from keras.layers import Add, Conv2D
from shapeguard import guard


@guard(C=[8], filters=[8], inputs={"x": "4,4,C"})
def fixed_block(x, filters):
    return Add()([Conv2D(filters, 1)(x), Conv2D(filters, 1)(x)])


@guard(C=[8, 16], filters=[8], inputs={"x": "4,4,C"})
def buggy_block(x, filters):
    return Add()([Conv2D(filters, 1)(x), x])
'''

ORDINARY = '''
def test_fails():
    assert 1 + 1 == 3


def test_passes():
    assert 1 + 1 == 2
'''

FIXED, BUGGY = "blocks.py::fixed_block[shapeguard]", "blocks.py::buggy_block[shapeguard]"
FAILS, PASSES = "test_plain.py::test_fails", "test_plain.py::test_passes"


@pytest.mark.keras
def test_last_failed_first_failed_and_stepwise_rerun_the_failing_guarded_block(keras_loaded, pytester):
    pytester.makepyfile(blocks=GUARDED, test_plain=ORDINARY)
    # Sessions in this process (Keras is loaded once); pytest's cache is the
    # scratch folder's .pytest_cache, kept from one session to the next.
    run = lambda *args: pytester.runpytest("--shapeguard", NO_DATABASE, "-rA", "-p", "no:randomly", *args)
    first = run()
    assert outcomes(first) == {FIXED: "PASSED", BUGGY: "FAILED", FAILS: "FAILED", PASSES: "PASSED"}
    namespace: dict = {}
    exec(compile(GUARDED, "blocks.py", "exec"), namespace)
    confirm_incompatible_add(first.stdout.str(), namespace)

    again = run("--lf")
    assert outcomes(again) == {BUGGY: "FAILED", FAILS: "FAILED"}
    assert "run-last-failure: rerun previous 2 failures" in again.stdout.str()
    # --ff runs both failures before the rest: buggy_block runs first (before
    # fixed_block, which comes first in the file), and --sw stops at it and remembers it.
    first_failed = run("--ff", "--sw")
    assert outcomes(first_failed) == {BUGGY: "FAILED"}
    # --sw starts again at buggy_block: fixed_block, which passed before it, is not run.
    stepwise = run("--sw")
    assert outcomes(stepwise) == {BUGGY: "FAILED"}
    assert "skipping 1 already passed items" in stepwise.stdout.str()
    confirm_incompatible_add(stepwise.stdout.str(), namespace)


# -- 2: one @guard, one item ------------------------------------------------

LAYERS = '''
import keras
from keras.layers import Add, Conv2D
from shapeguard import guard


class Residual(keras.layers.Layer):
    def __init__(self, filters=8, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters

    @guard(C=[8], inputs={"x": "4,4,C"})
    def call(self, x):
        return Add()([Conv2D(self.filters, 1)(x), x])


ResidualBlock = Residual  # the same class under a second name


@guard(C=[8], filters=[8], inputs={"x": "4,4,C"})
def widen(x, filters):
    return Add()([Conv2D(filters, 1)(x), x])


widen_block = widen
'''


@pytest.mark.keras
@pytest.mark.parametrize("guarded_only", [False, True], ids=["all", "guarded-only"])
def test_a_guarded_layer_call_is_one_item_under_one_name(keras_loaded, pytester, guarded_only):
    pytester.makepyfile(layers=LAYERS)
    args = ["--shapeguard", NO_DATABASE, *(["--shapeguard-guarded-only"] if guarded_only else [])]
    collected = pytester.runpytest(*args, "--collect-only", "-q", "layers.py")
    items = [line for line in collected.outlines if "[shapeguard]" in line]
    assert items == ["layers.py::Residual[shapeguard]", "layers.py::widen[shapeguard]"]
    result = pytester.runpytest(*args, "-rA", "layers.py")
    assert outcomes(result) == {"layers.py::Residual[shapeguard]": "PASSED", "layers.py::widen[shapeguard]": "PASSED"}


# -- 3 and 4: SARIF locations and URIs ---------------------------------------


def validated(text: str) -> list[dict]:
    """The results of a SARIF log, after validating it against the vendored
    schema with its URI formats checked (rfc3986-validator, a test extra)."""
    checker = jsonschema.FormatChecker()
    assert "uri-reference" in checker.checkers  # else the schema's URI formats go unchecked
    document = json.loads(text)
    jsonschema.validate(document, json.loads((DATA / "sarif-schema-2.1.0.json").read_text()),
                        format_checker=checker)
    return document["runs"][0]["results"]


def located(result: dict) -> tuple[str, int]:
    [where] = result["locations"]
    return where["physicalLocation"]["artifactLocation"]["uri"], where["physicalLocation"]["region"]["startLine"]


def path_of(uri: str) -> str:
    """The path a relative URI reference names: no scheme, no query, no fragment."""
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc, parts.query, parts.fragment) == ("", "", "", ""), uri
    return unquote(parts.path)


def report_at(file: Path, line: int, definition: Location | None) -> Report:
    """A report with one failure at ``file:line``, and one block error and one
    warning with no location."""
    report = Report(target="blocks.py:block", mode="exhaustive", probes=2, space={"C": [8]}, size=2, seed=0,
                    definition=definition)
    call, example = "block(keras.Input(shape=(4, 4, 8)))", {"C": 8}
    report.failures = [Failure("shape", "Add", "add", Location(str(file), line), "Inputs have incompatible shapes",
                               ((None, 4, 4, 8), (None, 4, 4, 16)), example, call)]
    report.errors = [BlockError("Died", "the process was killed by SIGKILL", None, example, call)]
    report.warnings = [BroadcastWarning("Add", "add_1", None, ((None, 8, 1), (None, 8, 32)), 2, example, call, 1)]
    return report


def test_every_sarif_result_without_a_line_is_placed_at_the_definition(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = tmp_path / "blocks.py"
    results = validated(render([report_at(blocks, 7, Location(str(blocks), 3))], "sarif"))
    assert [located(r) for r in results] == [("blocks.py", 7), ("blocks.py", 3), ("blocks.py", 3)]
    assert [r["ruleId"] for r in results] == ["shapeguard/shape", "shapeguard/block-error", "shapeguard/broadcast"]
    for result in results[1:]:  # said in the message: the line is not where it happened
        assert result["message"]["text"].endswith("shown at the block's definition: no line of its own is known")
    assert "definition" not in results[0]["message"]["text"]



def test_every_github_annotation_without_a_line_is_placed_at_the_definition(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = tmp_path / "blocks.py"
    annotations = render([report_at(blocks, 7, Location(str(blocks), 3))], "github").splitlines()[:3]
    assert [a.split("::")[1].split(",title=")[0] for a in annotations] == [
        "error file=blocks.py,line=7", "error file=blocks.py,line=3", "warning file=blocks.py,line=3"]
    for annotation in annotations[1:]:
        assert annotation.endswith("shown at the block's definition: no line of its own is known")


@pytest.mark.parametrize("relative", ["models dir/a b.py", "x#2/blöcke.py", "100%/ü?.py", "c:/blocks.py"])
def test_sarif_uris_are_percent_encoded_relative_references(tmp_path, monkeypatch, relative):
    monkeypatch.chdir(tmp_path)
    file = tmp_path / relative
    results = validated(render([report_at(file, 5, Location(str(file), 1))], "sarif"))
    uris = {located(r)[0] for r in results}
    assert len(uris) == 1
    [uri] = uris
    assert uri.isascii() and " " not in uri and "#" not in uri
    assert path_of(uri) == relative


def test_a_file_outside_the_working_folder_gets_a_relative_uri_from_the_repository_root(tmp_path, monkeypatch):
    repository = tmp_path / "repo"
    (repository / ".git").mkdir(parents=True)
    (repository / "tools").mkdir()
    monkeypatch.chdir(repository / "tools")  # run from a subfolder: GitHub resolves from the root
    inside, outside = repository / "models" / "blocks.py", tmp_path / "site packages" / "lib" / "blocks.py"
    results = validated(render([report_at(inside, 5, Location(str(outside), 2))], "sarif"))
    assert [located(r)[0] for r in results] == ["models/blocks.py", *["../site%20packages/lib/blocks.py"] * 2]
    assert all("file:" not in json.dumps(r["locations"]) for r in results)
    assert (repository / path_of(located(results[1])[0])).resolve() == outside.resolve()


HOSTILE = '''
import os
import signal

import keras

from shapeguard import guard


@guard(C=[8], H=[4], filters=[8, 16])
def killed(x, filters=8):
    y = keras.layers.Conv2D(filters, 1)(x)
    if filters == 16:
        os.kill(os.getpid(), signal.SIGKILL)
    return y
'''


@pytest.mark.keras
def test_a_block_that_killed_its_process_is_located_at_its_def_line_in_sarif(tmp_path, monkeypatch):
    from helpers.command_line import shapeguard

    # A process must die, so a real one (and its restart), each on Keras's numpy
    # backend, which imports in about half TensorFlow's time: the claim is the
    # supervisor's and the SARIF's, whatever the backend.
    monkeypatch.setenv("KERAS_BACKEND", "numpy")
    folder = tmp_path / "my blocks #2"
    folder.mkdir()
    (folder / "blöcke.py").write_text(HOSTILE)
    run = shapeguard("check", "my blocks #2/blöcke.py:killed", "--format", "sarif", "-q", cwd=tmp_path)
    assert run.code == 3, run.stderr  # a block error, not a failure
    [result] = validated(run.stdout)
    assert result["ruleId"] == "shapeguard/block-error" and "killed by SIGKILL" in result["message"]["text"]
    def_line = HOSTILE.splitlines().index("def killed(x, filters=8):") + 1
    assert located(result) == ("my%20blocks%20%232/bl%C3%B6cke.py", def_line)
    assert path_of(located(result)[0]) == "my blocks #2/blöcke.py"
    assert "shown at the block's definition" in result["message"]["text"]  # no line of the block was running


# -- 5: an error-only report prints no empty size line ------------------------

RAISES = '''
from keras.layers import Conv2D


def block(x):
    y = Conv2D(8, 1)(x)
    return y.shape[-1] + "channels"
'''


@pytest.mark.keras
@pytest.mark.parametrize("budget", [{}, {"max_examples": 2}], ids=["exhaustive", "search"])
def test_an_error_only_report_has_no_empty_size_line(budget):
    import shapeguard
    from helpers.plain_keras import run_call

    namespace: dict = {}
    exec(compile(RAISES, "raises.py", "exec"), namespace)
    report = shapeguard.check(namespace["block"], inputs={"x": "H,H,C"}, C=[8, 16], H=[4, 8], **budget)
    assert report.status == "error" and report.errors and not report.failures
    text = str(report)
    assert "  sizes:" not in text
    assert not [line for line in text.splitlines() if re.fullmatch(r"\s*\w+:\s*(\(in the probes of a search\))?", line)]
    for error in report.errors:
        assert isinstance(run_call(error.call, namespace), TypeError)
