"""`shapeguard check`, run as a user runs it: `python -m shapeguard` in a real
subprocess, from the repository root, with TensorFlow's own logging left on,
where the claim is about the process (no start-up noise, a terminal's
progress, Ctrl-C, the entry point, what is imported); the other claims (exit
status, output, files written) are checked in this process
(`helpers.command_line.shapeguard_here`), which has TensorFlow loaded already.

Runs that probe cost a TensorFlow import each (seconds), so they all start
together in the background when the first test needs one, and the tests read
their results. Every failure a test relies on is confirmed by making the
reported call with plain Keras in this process.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from helpers.command_line import REPO, child_env, shapeguard, shapeguard_here, shapeguard_on_terminal
from helpers.sample_blocks import LAZY_BLOCKS

pytestmark = pytest.mark.keras

EXAMPLE = "shapeguard/examples/resnext_block.py"
FIXED = "shapeguard/examples/resnext_block_fixed.py"


def import_file(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def confirm_with_keras(call: str, module, message: str) -> None:
    """Make the reported call with plain Keras: it must raise, with Keras's message."""
    import keras

    with pytest.raises(Exception) as raised:
        eval(call, {**vars(module), "keras": keras})
    assert " ".join(message.split()) in " ".join(str(raised.value).split())


# Blocks written for these tests, in a temporary folder that becomes the cwd
# (and LAZY_BLOCKS, shared with test_bad_input).
BLOCKS = '''
    import keras

    from shapeguard import guard


    @guard(C=[8, 16], filters=[8, 16], H=[4], inputs={"x": "H,H,C"})
    def residual(x, filters=8):
        y = keras.layers.Conv2D(filters, 1)(x)
        return keras.layers.Add()([x, y])


    class Blocks:
        @guard(units=[4, 8], T=[3], D=[4, 8], inputs={"x": "T,D"})
        def dense(self, x, units=4):
            return keras.layers.Dense(units)(x)


    def plain(x, filters=8):
        return keras.layers.Conv2D(filters, 3, padding="same")(x)
'''

OWN_ERROR = '''
    from shapeguard import guard


    @guard(filters=[8, 16])
    def broken(x, filters=8):
        return x.no_such_attribute
'''

HANGS = '''
    import time

    import keras

    from shapeguard import guard


    @guard(filters=[8, 16], C=[8], H=[4])
    def block(x, filters=8):
        while filters > 8:
            time.sleep(0.05)  # never returns
        return keras.layers.Conv2D(filters, 1)(x)
'''

# Odd blocks: each needs an option (or runs with no value at all), said in one sentence.
ODD = '''
    import keras
    from keras import layers

    CONFIG = {"units": 8}


    def kw_filters(x, **kwargs):
        return layers.Add()([x, layers.Conv2D(kwargs["filters"], 1)(x)])


    def kw_only(**kwargs):
        return layers.Dense(8)(kwargs["inputs"])


    class Configured:
        def __init__(self, config):
            self.config = config

        def __call__(self, x):
            return layers.Dense(self.config["units"])(x)


    class OnABackbone(keras.layers.Layer):
        def __init__(self, backbone: keras.Model, **kwargs):
            super().__init__(**kwargs)
            self.backbone = backbone

        def call(self, x):
            return self.backbone(x)


    def refuses(x, units=8):
        if x.shape[-1] != 5:  # no channel count tried is 5
            raise ValueError("expects 5 spectral bands")
        return layers.Dense(units)(x)
'''

INTERRUPTING = '''
    import os
    import signal

    import keras

    from shapeguard import guard


    @guard(C=[8, 16], filters=[8, 16, 32], strides=[1, 2], H=[7], inputs={"x": "H,H,C"})
    def block(x, filters=8, strides=1):
        if filters == 32:
            os.kill(os.getpid(), signal.SIGINT)  # as if Ctrl-C came while this point was probed
        y = keras.layers.Conv2D(filters, 1, strides=strides)(x)
        return keras.layers.Add()([x, y])
'''


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    files = {
        "lazy_blocks.py": LAZY_BLOCKS,
        "blocks.py": BLOCKS,
        "own_error.py": OWN_ERROR,
        "interrupting.py": INTERRUPTING,
        "hangs.py": HANGS,
        "odd_blocks.py": ODD,
        "broken_syntax.py": "def block(x):\n    return x +\n",
        "raises_at_import.py": 'raise ValueError("no GPU\\nconfigured")\n',
        "script.py": 'raise SystemExit("a script, run if imported")\n',
    }
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text).lstrip())
    return folder


# docs/reference/json.md: the example at its identity-shortcut failure, one combination.
DOCS_JSON_AXES = ("--axis", "C=16", "--axis", "H=7", "--axis", "filters=32", "--axis", "strides=1",
                    "--axis", "conv_shortcut=false")


@pytest.fixture(scope="module")
def runs(workdir):
    """Every run that probes, started at once; ``runs[name].result()`` waits."""
    jobs = {
        "text": lambda: shapeguard("check", f"{EXAMPLE}:block"),
        "json": lambda: shapeguard("check", f"{EXAMPLE}:block", "--format", "json"),
        "fixed": lambda: shapeguard_on_terminal("check", f"{FIXED}:block", "--max-examples", "30", "--seed", "7"),
        "module": lambda: shapeguard_on_terminal(
            "check", "blocks:plain", "blocks.py", "--format", "json", "--quiet", cwd=workdir
        ),
        "interrupted": lambda: shapeguard("check", "interrupting.py:block", cwd=workdir),
    }
    pool = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2))
    futures = {name: pool.submit(job) for name, job in jobs.items()}
    yield futures
    pool.shutdown(wait=True)


@pytest.fixture(scope="module")
def example():
    return import_file(REPO / EXAMPLE, "cli_test_resnext_block")


@pytest.fixture
def example_copy(tmp_path) -> Path:
    """A folder holding a copy of the example at its path (its reports name the
    same files and lines), for a run in this process whose modules are dropped
    after it (`check_here`), never the checkout's own."""
    (tmp_path / EXAMPLE).parent.mkdir(parents=True)
    (tmp_path / EXAMPLE).write_text((REPO / EXAMPLE).read_text())
    return tmp_path


def line_of(path: Path, pattern: str) -> int:
    """The number of the first line of ``path`` that contains ``pattern``."""
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if pattern in line)


def example_line(pattern: str) -> int:
    return line_of(REPO / EXAMPLE, pattern)


# --- the example, as text ---------------------------------------------------


def test_example_fails_with_the_add_failure_and_its_minimal_call(runs, example):
    run = runs["text"].result()
    assert run.code == 1, run.stderr
    assert run.stderr == ""  # no TensorFlow start-up noise
    assert run.stdout.startswith(f"{EXAMPLE}:block: FAIL")
    add = run.stdout[run.stdout.index("shape failure: Add"):]
    assert f"at {EXAMPLE}:{example_line('Add()(')}" in add
    call = re.search(r"reproduce: (.*)", add).group(1)
    assert call.startswith("block(keras.Input(shape=")
    confirm_with_keras(call, example, "Inputs have incompatible shapes")


def test_fixed_example_passes_with_progress_on_a_terminal(runs):
    run = runs["fixed"].result()
    assert run.code == 0, run.stderr
    # 30 of 128 combinations probed: "OK" says how much was checked (issue 9, point 8)
    assert run.stdout.startswith(f"{FIXED}:block: OK in 30 of 128 combinations (Hypothesis search, seed 7)")
    assert "seed 7" in run.stdout
    probes = re.search(r"OK in (\d+) of 128", run.stdout).group(1)
    progress = run.stderr.split("\r")
    counts = f": probing {probes}/30 · 0 modes"
    [last] = [p.strip() for p in progress if p.strip().endswith(counts)]
    # a target too long for the 80 columns keeps its end: "...uard/examples/resnext_block_fixed.py:block"
    assert f"{FIXED}:block".endswith(last.removesuffix(counts).removeprefix("...")) and len(last) < 80
    assert run.stderr.endswith("\r") and progress[-2].strip() == ""  # the line is cleared
    assert "absl" not in run.stderr and "cuda" not in run.stderr.lower()


# --- JSON -------------------------------------------------------------------


def check_schema(document: dict) -> None:
    """The JSON output contract (docs/reference/json.md), key by key."""
    assert set(document) == {"shapeguard", "targets", "summary", "not_checked"}
    assert document["shapeguard"] == "0.1.0"
    check_summary(document)
    for target in document["targets"]:
        assert set(target) - {"interrupted", "stopped", "notes"} == {
            "target", "status", "mode", "probes", "checked", "space", "skipped", "failures", "errors",
            "axis_summary", "warnings", "grid", "strict",  # docs/explanation/reports.md
            "inferred",  # what nobody gave, and the rule for each
            "working_point", "budget",  # where it works at its defaults; why exhaustive or a search
            "templates",  # what each tensor parameter was checked on
        }
        assert set(target["inferred"]) == {"axes", "templates"}
        working = target["working_point"]
        assert working is None or (set(working) == {"works", "at", "probes", "tried", "smallest"} and working["probes"] > 0)
        assert isinstance(target["budget"], str) and target["budget"]
        assert target["status"] in ("pass", "fail", "error")
        assert target["mode"] in ("search", "exhaustive")
        assert isinstance(target["probes"], int) and target["probes"] > 0
        assert all(isinstance(values, list) and values for values in target["space"].values())
        exhaustive = target["mode"] == "exhaustive" and not target.get("interrupted")
        for failure in target["failures"]:
            assert set(failure) == {
                "kind", "layer", "location", "message", "input_shapes", "example", "call", "failing", "of",
                "cause", "chain", "branches", "condition", "hint", "nearest_pass", "within", "on_data", "hint_probe",
            }
            assert failure["kind"] in ("shape", "config", "declared")
            assert isinstance(failure["cause"], str) and failure["cause"]
            assert all(isinstance(step, str) for step in failure["chain"])
            assert set(failure["layer"]) == {"class", "name"} and isinstance(failure["layer"]["class"], str)
            check_location(failure["location"])
            assert isinstance(failure["message"], str) and failure["message"]
            for shape in failure["input_shapes"]:
                assert shape[0] is None and all(isinstance(d, int) for d in shape[1:])
            check_example(failure, target, exhaustive)
        for error in target["errors"]:
            assert set(error) == {"type", "message", "location", "example", "call", "failing", "of", "cause", "chain"}
            assert isinstance(error["type"], str) and isinstance(error["message"], str)
            check_location(error["location"])
            check_example(error, target, exhaustive)
        assert target["status"] == ("fail" if target["failures"] else "error" if target["errors"] else "pass")


def check_summary(document: dict) -> None:
    """The counts agree with the reports and the blocks not checked."""
    summary, targets, not_checked = document["summary"], document["targets"], document["not_checked"]
    assert set(summary) == {"found", "checked", "not_checked", "failed", "failure_modes", "block_errors", "passed"}
    assert all(isinstance(v, int) and not isinstance(v, bool) for v in summary.values())
    assert summary["checked"] == len(targets) and summary["not_checked"] == len(not_checked)
    assert summary["found"] >= summary["checked"] + summary["not_checked"]
    statuses = [t["status"] for t in targets]
    assert (summary["failed"], summary["block_errors"], summary["passed"]) == (
        statuses.count("fail"), statuses.count("error"), statuses.count("pass"))
    assert summary["failure_modes"] == sum(len(t["failures"]) for t in targets)
    for entry in not_checked:
        assert set(entry) == {"target", "reason", "location"}
        assert isinstance(entry["target"], str) and isinstance(entry["reason"], str) and entry["reason"]
        if entry["location"] is not None:
            check_location(entry["location"])


def check_location(location) -> None:
    assert set(location) == {"file", "line"}
    assert not os.path.isabs(location["file"])  # relative to the cwd, which holds it
    assert isinstance(location["line"], int)


def check_example(item: dict, target: dict, exhaustive: bool) -> None:
    assert list(item["example"]) == list(target["space"])
    assert all(item["example"][k] in target["space"][k] for k in item["example"])
    assert isinstance(item["call"], str)
    if exhaustive:
        size = 1
        for values in target["space"].values():
            size *= len(values)
        assert item["of"] == size and 0 < item["failing"] <= size
    else:
        assert item["failing"] is None and item["of"] is None


def test_json_follows_the_schema_and_every_failure_reproduces(runs, example):
    run = runs["json"].result()
    assert run.code == 1 and run.stderr == ""
    document = json.loads(run.stdout)
    check_schema(document)
    [target] = document["targets"]
    assert target["target"] == f"{EXAMPLE}:block"
    assert (target["status"], target["mode"]) == ("fail", "exhaustive")  # 128 combinations fit the time budget
    assert target["space"] == {
        "C": [16, 32, 64, 128], "H": [7, 8], "filters": [16, 32, 48, 64],
        "strides": [1, 2], "conv_shortcut": [True, False],
    }
    add = next(f for f in target["failures"] if f["layer"]["class"] == "Add")
    assert add["kind"] == "shape"
    assert add["location"] == {"file": EXAMPLE, "line": example_line("Add()(")}
    assert add["message"].startswith("Inputs have incompatible shapes")
    for failure in target["failures"]:
        confirm_with_keras(failure["call"], example, failure["message"])


def test_json_is_identical_across_runs(runs):
    """The same target as the folder check of test_golden.py, run in another
    process at another time: the same document, byte for byte, but for how
    the target was named."""
    first = json.loads(runs["json"].result().stdout)["targets"]
    golden = json.loads((REPO / "tests" / "data" / "golden" / "examples.json").read_text())["targets"]
    [same] = [t for t in golden if t["target"] == f"{EXAMPLE}:block"]
    assert json.dumps(first) == json.dumps([same])


def test_the_docs_samples_are_what_the_tool_prints(runs, example_copy, monkeypatch, capfd):
    """docs/reference/json.md's sample is the JSON document the example
    gives at one combination (the command it names), and the text samples of
    docs/reference/cli.md and the README's excerpt are lines it prints."""
    docs = REPO / "docs" / "reference"
    page = (docs / "json.md").read_text()
    assert " ".join(DOCS_JSON_AXES) in page
    documented = json.loads(page.split("```json\n", 1)[1].split("```", 1)[0])
    sample = shapeguard_here(example_copy, monkeypatch, capfd, f"{EXAMPLE}:block", "--format", "json",
                             *DOCS_JSON_AXES)
    actual = json.loads(sample.stdout)
    assert documented == actual
    section = (docs / "cli.md").read_text()
    readme = (REPO / "README.md").read_text().split("## Try it on the example", 1)[1]
    printed = runs["text"].result().stdout.splitlines()
    for text in (section, readme):
        sample = text.split("\n\n```\n", 1)[1].split("\n```", 1)[0]
        for line in sample.splitlines():
            if line.strip() != "...":
                assert line in printed, line


# --- GitHub annotations -------------------------------------------------------


def test_github_annotations_point_at_the_failing_lines(example_copy, monkeypatch, capfd, example):
    run = shapeguard_here(example_copy, monkeypatch, capfd, f"{EXAMPLE}:block", "--format", "github",
                          "--exhaustive")
    assert run.code == 1 and run.stderr == ""
    *annotations, summary = run.stdout.splitlines()
    assert summary == "shapeguard: 1 target: 1 failed (4 failure modes)"  # Add and Conv2D, two causes each
    parsed = []
    for line in annotations:  # titled by the mode: the layer class and the cause
        match = re.fullmatch(r"::error file=([^,]*),line=(\d+),title=shapeguard%3A (\w+) \(([^)]*)\)::(.*)", line)
        assert match, line
        parsed.append((match.group(1), int(match.group(2)), match.group(5)))
        assert f"{match.group(3)} " in match.group(5).split("%0A")[0]  # the layer the headline names
    titles = sorted(re.search(r"title=shapeguard%3A ([^:]*)::", line).group(1) for line in annotations)
    assert titles == ["Add (channels)", "Add (spatial)", "Conv2D (channels not divisible by groups)",
                      "Conv2D (invalid argument value)"]
    add = next(p for p in parsed if "shape failure: Add" in p[2])
    assert add[:2] == (EXAMPLE, example_line("Add()("))
    message = add[2].split("%0A")
    assert re.fullmatch(rf"{EXAMPLE}:block: shape failure: Add 'add' rejected input shapes \(None, .*\)", message[0])
    assert message[1].startswith("keras: Inputs have incompatible shapes")
    call = next(part for part in message if part.startswith("minimal call: "))[len("minimal call: "):]
    confirm_with_keras(call, example, "Inputs have incompatible shapes")
    assert re.fullmatch(r"fails at \d+ of 128 combinations", message[-2])
    assert message[-1].startswith("fix: the identity shortcut keeps x's shape")  # the text report's fix line
    conv = next(p for p in parsed if "config failure: Conv2D" in p[2])
    assert conv[:2] == (EXAMPLE, example_line("return Conv2D(g_channels"))


# --- targets: modules, methods, plain functions, block errors, Ctrl-C -------


def test_bare_file_checks_every_guarded_function_and_method(runs, workdir):
    """Also: a module named from the current directory, an undecorated function
    (which the bare file finds too, and checks once), and --quiet keeping a
    terminal free of progress."""
    run = runs["module"].result()
    assert run.code == 1 and run.stderr == ""
    document = json.loads(run.stdout)
    check_schema(document)
    targets = {t["target"]: t for t in document["targets"]}
    assert list(targets) == ["blocks:plain", "blocks.py:residual", "blocks.py:Blocks.dense"]
    assert document["summary"]["found"] == 3 and document["not_checked"] == []
    assert targets["blocks.py:Blocks.dense"]["status"] == "pass"
    assert targets["blocks:plain"]["status"] == "pass"  # undecorated: space inferred
    assert set(targets["blocks:plain"]["space"]) == {"H", "C", "filters"}
    [failure] = targets["blocks.py:residual"]["failures"]
    assert failure["example"] == {"C": 8, "filters": 16, "H": 4}
    assert failure["location"] == {"file": "blocks.py", "line": line_of(workdir / "blocks.py", "Add()(")}
    confirm_with_keras(failure["call"], import_file(workdir / "blocks.py", "cli_test_blocks"),
                       "Inputs have incompatible shapes")


def test_block_errors_exit_3_and_options_reach_the_space(workdir, monkeypatch, capfd):
    run = shapeguard_here(workdir, monkeypatch, capfd, "own_error.py:broken", "--input", "x=T,D", "--axis", "T=2",
                          "--axis", "D=3", "--format", "json", "--output", "report.json")
    assert run.code == 3, run.stderr
    assert run.stdout == "" and run.stderr == ""
    document = json.loads((workdir / "report.json").read_text())
    check_schema(document)
    [target] = document["targets"]
    assert target["status"] == "error"
    assert target["space"] == {"filters": [8, 16], "T": [2], "D": [3]}
    [error] = target["errors"]
    assert error["type"] == "AttributeError"
    assert error["location"] == {"file": "own_error.py", "line": line_of(workdir / "own_error.py", "no_such_attribute")}
    assert error["call"] == "broken(keras.Input(shape=(2, 3)), filters=8)"


# The one sentence each odd block gets, as the command line spells it (after "shapeguard: odd_blocks.py:NAME").
ODD_SENTENCES = {
    "kw_filters": " raised KeyError ('filters') at odd_blocks.py:{line}, at every input size tried with "
                  "every parameter at its default (59 probes), "
                  "before calling any Keras layer, so no shape was checked; it reads **kwargs, which shapeguard "
                  "leaves empty: give what it reads there by name, e.g. --axis filters=8,16.",
    "kw_only": " raised KeyError ('inputs') at odd_blocks.py:{line}, at every input size tried with every "
               "parameter at its default (59 probes), "
               "before calling any Keras layer, so no shape was checked; it reads **kwargs, which shapeguard "
               "leaves empty: give what it reads there by name, e.g. --input inputs=H,W,C.",
    "Configured": ": config needs a value shapeguard cannot make (an object); give one, e.g. "
                  "--axis config=mymodule.CONFIG.",
    "OnABackbone": ": backbone needs a value shapeguard cannot make (a Model); give one, e.g. "
                   "--axis backbone=mymodule.BACKBONE.",
    "refuses": " raised ValueError (expects 5 spectral bands) at odd_blocks.py:{line}, at every input size "
               "tried with every parameter at its default (59 probes), before calling any Keras layer, so no shape was checked; give values it "
               "accepts (--axis units=8,16,32,64 were inferred), or its input's template (--input x=H,H,C was "
               "inferred).",
}
ODD_LINES = {"kw_filters": 'kwargs["filters"]', "kw_only": 'kwargs["inputs"]', "refuses": "raise ValueError"}


def odd_sentence(workdir: Path, name: str) -> str:
    line = line_of(workdir / "odd_blocks.py", ODD_LINES[name]) if name in ODD_LINES else 0
    return ODD_SENTENCES[name].format(line=line)


@pytest.mark.parametrize("name", list(ODD_SENTENCES))
def test_an_odd_block_named_exits_2_with_the_sentence_and_the_option_it_needs(workdir, monkeypatch, capfd, name):
    run = shapeguard_here(workdir, monkeypatch, capfd, f"odd_blocks.py:{name}")
    assert run.code == 2 and run.stdout == "", run.stderr
    assert run.stderr == f"shapeguard: odd_blocks.py:{name}{odd_sentence(workdir, name)}\n"


def test_odd_blocks_found_in_a_file_are_listed_as_not_checked_with_their_sentence(workdir, monkeypatch, capfd):
    run = shapeguard_here(workdir, monkeypatch, capfd, "odd_blocks.py")
    assert run.code == 3 and "Traceback" not in run.stdout + run.stderr, run.stderr
    for name in ODD_SENTENCES:
        sentence = odd_sentence(workdir, name)
        reason = sentence.removeprefix(": ") if sentence.startswith(": ") else "it" + sentence
        assert f"could not check odd_blocks.py:{name}: {reason}" in run.stdout + run.stderr, (name, run.stdout)


GIVEN = {
    "kw_only": ("--input", "inputs=4"),
    "Configured": ("--axis", "config=odd_blocks.CONFIG", "--input", "x=4"),
    "refuses": ("--input", "x=4,5"),
}


def test_the_options_the_sentences_name_make_the_odd_blocks_checkable(workdir, monkeypatch, capfd):
    given = shapeguard_here(workdir, monkeypatch, capfd, "odd_blocks.py:kw_filters", "--axis", "filters=8,16",
                            "--input", "x=4,4,C", "--axis", "C=8", "--format", "json")
    assert given.code == 1, given.stderr
    [target] = json.loads(given.stdout)["targets"]
    [failure] = target["failures"]
    assert failure["call"] == "kw_filters(keras.Input(shape=(4, 4, 8)), filters=16)"
    confirm_with_keras(failure["call"], import_file(workdir / "odd_blocks.py", "cli_test_odd_blocks"),
                       "Inputs have incompatible shapes")
    for name, options in GIVEN.items():
        run = shapeguard_here(workdir, monkeypatch, capfd, f"odd_blocks.py:{name}", *options)
        assert run.code == 0 and ": OK" in run.stdout, (name, run.stdout, run.stderr)


def test_a_block_that_hangs_is_stopped_by_timeout_and_exits_3(workdir, monkeypatch, capfd):
    run = shapeguard_here(workdir, monkeypatch, capfd, "hangs.py:block", "--timeout", "1")
    assert run.code == 3 and run.stderr == ""
    assert "the block hung: the call did not return within 1 s" in run.stdout
    assert f"hangs.py:{line_of(workdir / 'hangs.py', 'time.sleep')}" in run.stdout
    assert "reproduce: block(keras.Input(shape=(4, 4, 8)), filters=16)" in run.stdout


def test_ctrl_c_reports_what_was_found_and_exits_130(runs):
    run = runs["interrupted"].result()
    assert run.code == 130
    assert "interrupted: what was found before Ctrl-C" in run.stdout
    assert "shape failure: Add" in run.stdout
    assert run.stderr == "shapeguard: interrupted; reported what was found so far.\n"


def test_ctrl_c_while_importing_exits_130(workdir):
    (workdir / "interrupted_import.py").write_text("raise KeyboardInterrupt\n")
    run = shapeguard("check", "interrupted_import.py:block", cwd=workdir)
    assert (run.code, run.stdout, run.stderr) == (130, "", "shapeguard: interrupted.\n")


# --- bad targets and options: exit 2, one line -----------------------------


@pytest.mark.parametrize(
    "args, expected",
    [
        (["no_such_module:block"], "shapeguard: cannot import no_such_module: no module named 'no_such_module'."),
        (["no_such_file.py:block"], "shapeguard: cannot import no_such_file.py: no such file."),
        (["lazy_blocks.py:blok"], "shapeguard: cannot find 'blok' in lazy_blocks.py. Did you mean 'block'?"),
        (["broken_syntax.py:block"],
         "shapeguard: cannot import broken_syntax.py: SyntaxError at broken_syntax.py:2: invalid syntax"),
        (["raises_at_import.py:block"],
         "shapeguard: cannot import raises_at_import.py: ValueError: no GPU configured"),
        (["lazy_blocks.py:LIMIT"], "shapeguard: lazy_blocks.py:LIMIT is an int, not a function."),
        (["lazy_blocks.py:NeedsWidth"], "shapeguard: lazy_blocks.py:NeedsWidth is a class, not a function;"),
        (["lazy_blocks.py:NeedsWidth.block"],
         "shapeguard: lazy_blocks.py:NeedsWidth.block: cannot create NeedsWidth() to call its method"),
        (["lazy_blocks.py:block", "--axis", "filter=8"],
         "shapeguard: lazy_blocks.py:block: axis 'filter' names neither a parameter nor a template dimension"),
        (["lazy_blocks.py:block", "--axis", "C=0"],
         "shapeguard: lazy_blocks.py:block: axis 'C': 0 is not a valid size"),
        (["lazy_blocks.py:block", "--axis", "C=abc"],
         "shapeguard: lazy_blocks.py:block: axis 'C': 'abc' is not an integer"),
        (["lazy_blocks.py:block", "--axis", "C"], "shapeguard: --axis 'C' is not of the form NAME=V1,V2."),
        (["lazy_blocks.py:block", "--input", "y=H,C"], "shapeguard: lazy_blocks.py:block: input template for 'y'"),
        (["lazy_blocks.py:block", "--max-examples", "0"], "shapeguard: argument --max-examples: expected a positive integer, got '0'"),
        (["lazy_blocks.py:block", "--output", "no/such/folder/report.json"],
         "shapeguard: cannot write --output no/such/folder/report.json"),
    ],
)
def test_bad_target_or_option_exits_2_with_one_line(workdir, monkeypatch, capfd, args, expected):
    run = shapeguard_here(workdir, monkeypatch, capfd, *args)
    assert run.code == 2
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    assert run.stderr.count("\n") == 1 and run.stderr.endswith("\n"), run.stderr
    assert run.stderr.startswith(expected), run.stderr


def test_unknown_axis_suggests_the_closest_name(workdir, monkeypatch, capfd):
    run = shapeguard_here(workdir, monkeypatch, capfd, "lazy_blocks.py:block", "--axis", "filter=8")
    assert run.stderr.rstrip().endswith("Did you mean 'filters'?")


def test_file_that_never_mentions_keras_is_not_imported(workdir, monkeypatch, capfd):
    """pre-commit passes every staged file; a script must not run."""
    run = shapeguard_here(workdir, monkeypatch, capfd, "script.py")
    assert run.code == 0 and run.stdout == ""
    assert run.stderr.startswith("shapeguard: nothing to check: no Keras block builders in script.py")


# --- the front door stays light ---------------------------------------------


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_import_no_tensorflow(flag):
    program = (
        "import sys\n"
        f"sys.argv = ['shapeguard', {flag!r}]\n"
        "from shapeguard.cli import main\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    code = exit.code\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'hypothesis') if m in sys.modules]\n"
        "print('CODE', code, 'HEAVY', heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], cwd=REPO, env=child_env(),
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.splitlines()[-1] == "CODE 0 HEAVY []"
    if flag == "--version":
        assert done.stdout.splitlines()[0] == "shapeguard 0.1.0"
    else:
        assert "check" in done.stdout


def test_python_dash_m_help_lists_the_exit_codes():
    run = shapeguard("check", "--help")
    assert run.code == 0
    for line in ["0    every target passed", "1    at least one shape or config failure",
                 "3    no shape failures, but a block raised errors of its own", "130  interrupted"]:
        assert line in run.stdout
