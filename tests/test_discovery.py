"""Discovery (issue 16): a bare file, module or folder of code nobody
decorated checks every block builder defined there, says what it found, and
never passes having checked nothing.

The command-line runs are `shapeguard check` in the test's own process
(`shapeguard_here`: its exit status and what it wrote, no new process importing
TensorFlow; the claims are the command's, not the process's). The folder is
written in a temporary directory; every failure a test relies on is confirmed
with plain Keras (`plain_keras.confirm`).
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import keras  # noqa: F401 - imported before any pytester session (see test_pytest_plugin)
import pytest
from helpers.command_line import check_here, shapeguard_here
from helpers.plain_keras import confirm, run_call

import shapeguard.engine  # noqa: F401

pytestmark = pytest.mark.keras

REPO = Path(__file__).resolve().parents[1]

# The folder of docs/reference/cli.md, "Discovery": undecorated files, one of each kind.
RESIDUAL = '''
from keras import layers


def residual(x, filters=16):
    y = layers.Conv2D(filters, 3, padding="same")(x)
    return layers.Add()([x, y])
'''

RESIDUAL_FIXED = '''
import keras


def conv_bn(x, filters):
    y = keras.layers.Conv2D(filters, 3, padding="same")(x)
    return keras.layers.BatchNormalization()(y)


def residual(x, filters=16):
    shortcut = x if x.shape[-1] == filters else keras.layers.Conv2D(filters, 1)(x)
    return keras.layers.Add()([shortcut, conv_bn(x, filters)])
'''

SCALE = '''
import keras


class Projection(keras.layers.Layer):
    def __init__(self, units=8, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(units)

    def call(self, x):
        return self.dense(x)
'''

TILED = '''
from keras.layers import Concatenate


def tiled(x, copies):
    return Concatenate()([x] * copies)
'''

TRAIN = '''
"""A training script: importing it runs it (and here, ends the process)."""
raise SystemExit(7)
'''

RETURNS_NOTHING = '''
import keras


def log_shapes(x):
    keras.layers.Dense(2)(x)  # and returns None
'''

UTILS = '''
import keras


def channel_axis():
    return -1 if keras.config.image_data_format() == "channels_last" else 1
'''

FOLDER = {"residual.py": RESIDUAL, "residual_fixed.py": RESIDUAL_FIXED, "scale.py": SCALE, "tiled.py": TILED,
          "train.py": TRAIN}
BUGGY = ("residual.py", "tiled.py")  # a shape bug, and a block that cannot be checked as it is

TILED_REASON = ("parameter with no default and no values to try; give values for copies "
                "(--axis copies=8,16).")


def write(folder: Path, files: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text).lstrip())
    return folder


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("discovery")
    write(root / "blocks", FOLDER)
    write(root / "clean", {n: t for n, t in FOLDER.items() if n not in BUGGY})
    write(root / "stuck", {"returns_nothing.py": RETURNS_NOTHING, "tiled.py": TILED})
    write(root / "scripts", {"train.py": TRAIN, "utils.py": UTILS})
    return root


def namespace_of(source: str) -> dict:
    namespace: dict = {"__name__": "discovery_confirmation"}
    exec(compile(textwrap.dedent(source), "<block>", "exec"), namespace)
    return namespace


def as_failure(data: dict):
    return SimpleNamespace(call=data["call"], layer_class=data["layer"]["class"], message=data["message"])


def line_of(source: str, text: str) -> int:
    return next(i for i, line in enumerate(textwrap.dedent(source).lstrip().splitlines(), 1) if text in line)


# --- a folder nobody decorated ----------------------------------------------------


def test_every_block_of_a_folder_is_checked_and_the_summary_says_what_was_found(root, monkeypatch, capfd):
    run = shapeguard_here(root, monkeypatch, capfd, "blocks/")
    assert run.code == 1, run.stderr  # the identity-shortcut bug
    assert run.stderr == ""
    headings = [line.split(": ", 1)[0] for line in run.stdout.splitlines() if re.match(r"^blocks/\S+: ", line)]
    assert headings == ["blocks/residual.py:residual", "blocks/residual_fixed.py:conv_bn",
                        "blocks/residual_fixed.py:residual", "blocks/scale.py:Projection"]
    *_, summary, not_checked = run.stdout.rstrip("\n").splitlines()
    assert summary == ("shapeguard: found 5 blocks in blocks/: checked 4 (1 failed with 1 failure mode, 3 passed), "
                       "could not check 1")
    assert not_checked == f"  could not check blocks/tiled.py:tiled: {TILED_REASON}"
    assert "train.py" not in run.stdout  # never imported: it would have ended the run with status 7
    # The buggy block's one failure, confirmed with plain Keras; the helper was checked on its own.
    assert "blocks/residual.py:residual: FAIL, 1 failure mode" in run.stdout
    assert "blocks/residual_fixed.py:conv_bn: OK" in run.stdout
    call = re.search(r"reproduce: (.*)", run.stdout).group(1)
    exc = run_call(call, namespace_of(RESIDUAL))
    assert "Inputs have incompatible shapes" in str(exc)


def test_the_docs_sample_is_what_the_folder_gives(root, monkeypatch, capfd):
    """docs/reference/cli.md, "Discovery": its sample is this folder's summary, line by line."""
    page = (REPO / "docs" / "reference" / "cli.md").read_text()
    sample = next(block for block in page.split("```\n") if block.startswith("shapeguard: found 5 blocks"))
    printed = shapeguard_here(root, monkeypatch, capfd, "blocks/").stdout.splitlines()
    for line in sample.rstrip("\n").splitlines():
        assert line in printed, line


def test_the_json_document_counts_what_was_found_checked_and_not(root, monkeypatch, capfd):
    run = shapeguard_here(root, monkeypatch, capfd, "blocks/", "--format", "json", "-q")
    assert run.code == 1 and run.stderr == ""
    document = json.loads(run.stdout)
    assert document["summary"] == {"found": 5, "checked": 4, "not_checked": 1, "failed": 1, "failure_modes": 1,
                                   "block_errors": 0, "passed": 3}
    assert document["not_checked"] == [{
        "target": "blocks/tiled.py:tiled", "reason": TILED_REASON,
        "location": {"file": "blocks/tiled.py", "line": line_of(TILED, "def tiled")},
    }]
    statuses = {t["target"]: t["status"] for t in document["targets"]}
    assert statuses == {"blocks/residual.py:residual": "fail", "blocks/residual_fixed.py:conv_bn": "pass",
                        "blocks/residual_fixed.py:residual": "pass", "blocks/scale.py:Projection": "pass"}
    [buggy] = [t for t in document["targets"] if t["status"] == "fail"]
    [failure] = buggy["failures"]
    assert failure["layer"]["class"] == "Add" and failure["cause"] == "channels"
    assert failure["location"] == {"file": "blocks/residual.py", "line": line_of(RESIDUAL, "Add()")}
    confirm(as_failure(failure), namespace_of(RESIDUAL))


def test_github_annotations_warn_at_a_block_that_was_not_checked(root, monkeypatch, capfd):
    run = shapeguard_here(root, monkeypatch, capfd, "blocks/", "--format", "github", "-q")
    assert run.code == 1 and run.stderr == ""
    lines = run.stdout.splitlines()
    warning = (f"::warning file=blocks/tiled.py,line={line_of(TILED, 'def tiled')},title=shapeguard%3A not checked::"
               f"blocks/tiled.py:tiled: {TILED_REASON}")
    assert warning in lines
    assert lines[-1] == ("shapeguard: found 5 blocks in blocks/: checked 4 (1 failed with 1 failure mode, "
                         "3 passed), could not check 1")
    assert sum(line.startswith("::error file=blocks/residual.py,") for line in lines) == 1


def test_the_folder_without_its_buggy_files_passes(root, monkeypatch, capfd):
    run = shapeguard_here(root, monkeypatch, capfd, "clean")
    assert run.code == 0, run.stdout + run.stderr
    assert run.stdout.rstrip("\n").splitlines()[-1] == "shapeguard: found 3 blocks in clean: checked 3 (3 passed)"


def test_a_folder_whose_blocks_cannot_be_checked_exits_3(root, monkeypatch, capfd):
    """One cannot be planned (tiled), one is probed but returns no tensor at any point."""
    assert check_here(root, monkeypatch, "stuck") == 3
    out, err = capfd.readouterr()
    assert out == (
        "shapeguard: found 2 blocks in stuck: checked 0, could not check 2\n"
        "  could not check stuck/returns_nothing.py:log_shapes: log_shapes returned None, not a tensor: "
        "nothing was built from the inputs.\n"
        f"  could not check stuck/tiled.py:tiled: {TILED_REASON}\n")
    assert err == ""


def test_sarif_warns_of_each_block_that_could_not_be_checked(root, monkeypatch, capfd):
    """A run that checked nothing is no clean run on code scanning: each block not checked is a located warning."""
    import jsonschema

    assert check_here(root, monkeypatch, "stuck", "--format", "sarif") == 3
    log = json.loads(capfd.readouterr().out)
    jsonschema.validate(log, json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text()))
    results = log["runs"][0]["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [("shapeguard/block-error", "warning")] * 2
    assert [r["message"]["text"] for r in results] == [
        "stuck/returns_nothing.py:log_shapes: not checked: log_shapes returned None, not a tensor: "
        "nothing was built from the inputs.",
        f"stuck/tiled.py:tiled: not checked: {TILED_REASON}"]
    tiled = results[1]["locations"][0]["physicalLocation"]
    assert tiled["region"]["startLine"] == line_of(TILED, "def tiled")
    assert tiled["artifactLocation"]["uri"].endswith("stuck/tiled.py")


def test_a_folder_without_keras_blocks_has_nothing_to_check(root, monkeypatch, capfd):
    """train.py never mentions Keras: not imported (it would exit 7); utils.py
    uses Keras's config but builds nothing: no block."""
    assert check_here(root, monkeypatch, "scripts") == 0
    out, err = capfd.readouterr()
    assert out == ""
    assert err.startswith("shapeguard: nothing to check: no Keras block builders in scripts")


def test_a_named_block_that_cannot_be_planned_is_still_a_usage_error(root, monkeypatch, capfd):
    assert check_here(root, monkeypatch, "blocks/tiled.py:tiled") == 2
    assert capfd.readouterr() == ("", f"shapeguard: blocks/tiled.py:tiled: {TILED_REASON}\n")


# --- what counts as a block, read from the source ------------------------------


def test_block_builders_are_recognised_from_the_source():
    from shapeguard._discover import definitions

    source = textwrap.dedent('''
        import keras
        import tensorflow as tf
        from keras import layers as kl, ops
        from keras.layers import Dense
        from tensorflow.keras import layers

        Conv = keras.layers.Conv2D


        def through_keras(x):
            return keras.layers.Dense(4)(x)

        def through_tf(x):
            return tf.keras.layers.Dense(4)(x)

        def through_alias(x):
            return kl.ReLU()(x)

        def through_name(x):
            return Dense(4)(x)

        def through_tf_import(x):
            return layers.Flatten()(x)

        def through_assignment(x):
            return Conv(4, 1)(x)

        def an_op(x):
            return ops.add(x, x)

        def a_model_builder(input_shape=(8, 8, 3)):
            inputs = keras.Input(shape=input_shape)
            return keras.Model(inputs, through_keras(inputs))

        def a_factory(units=4):
            def apply(x):
                return Dense(units)(x)
            return apply

        def a_stage(x, n=2):
            for _ in range(n):
                x = through_name(x)
            return x

        def config_only():
            return keras.backend.image_data_format()

        def no_keras(x):
            return x

        def train(epochs=1):
            model = a_model_builder()
            model.fit(None, epochs=epochs)

        def main():
            return a_model_builder()

        def test_the_block():
            return through_keras(keras.Input((4,)))

        class Projection(keras.layers.Layer):
            def call(self, x):
                return self.dense(x)

        class Blocks:
            def __init__(self):
                self.units = 4

            def wide(self, x):
                return Dense(self.units)(x)

            def twice(self, x):
                return self.wide(self.wide(x))

            def plain(self, x):
                return x

        class TestBlocks:
            def test_wide(self):
                return Dense(2)
    ''')
    found = {d.qualname: d for d in definitions(source)}
    building = [name for name, d in found.items() if d.builds]
    assert building == [
        "through_keras", "through_tf", "through_alias", "through_name", "through_tf_import", "through_assignment",
        "an_op", "a_model_builder", "a_factory", "a_stage", "Projection", "Blocks", "Blocks.wide", "Blocks.twice",
    ]
    assert not found["config_only"].builds and not found["no_keras"].builds
    assert not found["train"].builds and not found["main"].builds  # running them would train
    assert not found["test_the_block"].builds and "TestBlocks" not in found
    assert found["Projection"].kind == "class" and "Projection.call" not in found  # not a method: the class is
    assert "Blocks.plain" not in found and "Blocks.__init__" not in found


def test_a_module_lists_each_block_once_in_file_order(tmp_path, monkeypatch):
    """A guarded block is listed once, with its spec; a method bound to its
    class, a Layer's guarded call() as the Layer; a method whose class needs
    arguments is kept, with the sentence saying why it cannot be checked."""
    from shapeguard._collect import collect
    from shapeguard._spec import spec_of

    mixed = textwrap.dedent('''
        import keras
        from shapeguard import guard


        def helper(x, filters=8):
            return keras.layers.Conv2D(filters, 1)(x)


        @guard(filters=[8, 16])
        def block(x, filters=8):
            return keras.layers.Add()([x, helper(x, filters)])


        class Guarded(keras.layers.Layer):
            @guard(C=[8])
            def call(self, x):
                return x


        class Blocks:
            def wide(self, x):
                return keras.layers.Dense(4)(x)


        class NeedsWidth:
            def __init__(self, width):
                self.width = width

            def block(self, x):
                return keras.layers.Dense(self.width)(x)
    ''').lstrip()
    (tmp_path / "mixed.py").write_text(mixed)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "mixed", raising=False)  # and again when the test ends
    targets = collect("mixed.py")
    assert [t.name for t in targets] == ["mixed.py:helper", "mixed.py:block", "mixed.py:Guarded",
                                         "mixed.py:Blocks.wide", "mixed.py:NeedsWidth.block"]
    assert all(t.found for t in targets)
    by_name = {t.name: t for t in targets}
    assert spec_of(by_name["mixed.py:block"].function).axes == {"filters": [8, 16]}
    assert by_name["mixed.py:Blocks.wide"].function.__self__.__class__.__name__ == "Blocks"
    needs = by_name["mixed.py:NeedsWidth.block"]
    assert needs.function is None and "cannot create NeedsWidth()" in needs.problem.for_cli()
    assert needs.defined_at == (str(tmp_path / "mixed.py"), line_of(mixed, "def block(self, x)"))
    [named] = collect("mixed.py:helper")
    assert not named.found


# --- the pytest plugin ------------------------------------------------------------

GUARDED = '''
from keras import layers

from shapeguard import guard


@guard(C=[8], filters=[8], inputs={"x": "4,4,C"})
def guarded(x, filters=8):
    return layers.Conv2D(filters, 1)(x)
'''


@pytest.fixture
def plugin_project(pytester: pytest.Pytester) -> pytest.Pytester:
    write(pytester.path / "blocks", {**FOLDER, "guarded.py": GUARDED})
    return pytester


ITEMS = ["blocks/guarded.py::guarded[shapeguard]", "blocks/residual.py::residual[shapeguard]",
         "blocks/residual_fixed.py::conv_bn[shapeguard]", "blocks/residual_fixed.py::residual[shapeguard]",
         "blocks/scale.py::Projection[shapeguard]", "blocks/tiled.py::tiled[shapeguard]"]


def test_pytest_collects_every_block_of_the_folder(plugin_project):
    result = plugin_project.runpytest("--shapeguard", "--collect-only", "-q", "blocks")
    assert [line for line in result.outlines if "[shapeguard]" in line] == ITEMS
    assert "train.py" not in result.stdout.str()  # never imported: it would exit 7


def test_pytest_guarded_only_keeps_to_guard_blocks(plugin_project):
    result = plugin_project.runpytest("--shapeguard", "--shapeguard-guarded-only", "--collect-only", "-q", "blocks")
    assert [line for line in result.outlines if "[shapeguard]" in line] == ["blocks/guarded.py::guarded[shapeguard]"]


def test_pytest_items_fail_with_the_report_or_the_sentence(plugin_project):
    result = plugin_project.runpytest("--shapeguard", "--shapeguard-no-database", "-p", "no:cacheprovider", "-rA",
                                      "blocks")
    outcomes = {}
    for line in result.outlines:
        match = re.match(r"(PASSED|FAILED|ERROR) (\S+)", line)
        if match:
            outcomes[match.group(2)] = match.group(1)
    assert outcomes == {
        "blocks/guarded.py::guarded[shapeguard]": "PASSED",
        "blocks/residual.py::residual[shapeguard]": "FAILED",
        "blocks/residual_fixed.py::conv_bn[shapeguard]": "PASSED",
        "blocks/residual_fixed.py::residual[shapeguard]": "PASSED",
        "blocks/scale.py::Projection[shapeguard]": "PASSED",
        "blocks/tiled.py::tiled[shapeguard]": "FAILED",
    }
    text = result.stdout.str()
    assert ("blocks/tiled.py::tiled: parameter with no default and no values to try; give values for copies "
            "(copies=[8, 16]).") in result.outlines
    assert "Traceback" not in text and "site-packages" not in text
    call = re.search(r"reproduce: (.*)", text).group(1)
    exc = run_call(call, namespace_of(RESIDUAL))
    assert "Inputs have incompatible shapes" in str(exc)


def test_a_file_of_the_folder_that_cannot_be_imported_is_not_checked_and_the_others_are(tmp_path, monkeypatch,
                                                                                       capfd):
    (tmp_path / "good.py").write_text("from keras import layers\n\n\ndef good(x, filters=8):\n"
                                      "    return layers.Conv2D(filters, 1)(x)\n")
    (tmp_path / "broken.py").write_text("import keras\n\n\ndef bad(x)\n    return x\n")
    run = shapeguard_here(tmp_path, monkeypatch, capfd, str(tmp_path), "--format", "json")
    assert run.code == 3 and "Traceback" not in run.stderr, run.stderr
    document = json.loads(run.stdout)
    assert [t["target"].split(":")[-1] for t in document["targets"]] == ["good"]
    assert document["targets"][0]["status"] == "pass"
    (entry,) = document["not_checked"]
    assert entry["reason"].startswith("cannot import") and "SyntaxError" in entry["reason"]
