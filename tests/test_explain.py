"""Reports that explain (issue 11): branches, conditions, sizes, grid, hints,
nearest pass, broadcast warnings, SARIF. Spaces are small and enumerated, so
every stated condition is checked against every point; every failure the
tests rely on is confirmed with plain Keras."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from helpers.command_line import check_here
from helpers.plain_keras import confirm

import shapeguard

pytestmark = pytest.mark.keras

blocks = importlib.import_module("helpers.explain_blocks")
resnext = importlib.import_module("shapeguard.examples.resnext_block")
DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[1]


def builds(call: str, namespace: dict) -> bool:
    """Whether plain Keras builds ``call`` without an error."""
    import keras

    try:
        eval(call, {**namespace, "keras": keras})
    except Exception:  # noqa: BLE001 - the test only asks whether it built
        return False
    return True


def outcome_at(report, example):
    return next(o for e, o in report.outcomes if e == example)


def assert_condition_holds(report, checked_on="all"):
    """No stated condition is contradicted by any probed point: every point
    failing in the mode satisfies it, and no passing point does."""
    assert report.failures
    for failure in report.failures:
        condition = failure.condition
        assert condition is not None and condition["checked_on"] == checked_on
        if condition["expression"] is None:
            continue
        mode = outcome_at(report, failure.example).mode
        judged = 0
        for example, outcome in report.outcomes:
            holds = eval(condition["expression"], {}, {**condition["constants"], **example})
            if outcome.mode == mode:
                assert holds, (condition["text"], example)
                judged += 1
            elif not outcome.failed:
                assert not holds, (condition["text"], example)
                judged += 1
        assert judged == condition["points"]


@pytest.fixture(scope="module")
def seed():
    return resnext.block.check(exhaustive=True)


@pytest.fixture(scope="module")
def unet():
    return shapeguard.check(blocks.up_block, inputs={"x": "H,H,8", "skip": "S,S,4"}, H=[4], S=[6, 7, 8, 9, 16])


@pytest.fixture(scope="module")
def valid():
    return shapeguard.check(blocks.valid_stack, inputs={"x": "T,3"}, T=[8, 16, 64])


@pytest.fixture(scope="module")
def grouped():
    return shapeguard.check(blocks.grouped, inputs={"x": "8,8,C"}, C=[4, 6, 8, 12], groups=[2, 4])


@pytest.fixture(scope="module")
def strided():
    return shapeguard.check(blocks.strided_residual, inputs={"x": "H,H,4"}, H=[6, 7, 8], strides=[1, 2])


def add_failures(report):
    found = [f for f in report.failures if f.layer_class == "Add"]
    assert found, report
    return found


# ---- the seed example ----------------------------------------------------------


def test_seed_branches_name_the_identity_shortcut_and_the_main_path(seed):
    for failure in add_failures(seed):
        confirm(failure, vars(resnext))
        identity = [b for b in failure.branches if b.identity]
        main = [b for b in failure.branches if not b.identity]
        assert len(identity) == 1 and len(main) == 1
        assert identity[0].source == "x" and "identity shortcut" in identity[0].text()
        classes = [s.layer_class for s in main[0].steps]
        assert classes[0] == "Conv2D" and "BatchNormalization" in classes and "ReLU" in classes
        assert main[0].parts_at is not None and main[0].steps[main[0].parts_at].layer_class == "Conv2D"
        assert tuple(main[0].shape) == tuple(failure.input_shapes[main[0].index])
        assert tuple(identity[0].shape) == tuple(failure.input_shapes[identity[0].index])


def test_seed_conditions_name_conv_shortcut_the_channel_relation_and_the_stride(seed):
    texts = [f.condition["text"] for f in add_failures(seed)]
    assert all("conv_shortcut=False" in t for t in texts)
    joined = " ".join(texts)
    assert "C != 2*filters" in joined and "strides=2" in joined
    assert_condition_holds(seed)


def test_seed_hint_projects_the_shortcut_and_the_nearest_pass_builds(seed):
    for failure in add_failures(seed):
        assert "project the shortcut" in failure.hint and "Conv2D(" in failure.hint and "1x1" in failure.hint
        nearest = failure.nearest_pass
        assert nearest is not None and builds(nearest["call"], vars(resnext))
        assert len(nearest["changed"]) == 1


def test_seed_text_report_fits_on_one_screen_and_json_carries_it_all(seed):
    text = str(seed)
    # One screen: at most 16 lines for each of the seed's four modes and 6 for the heading and grid each.
    assert len(text.splitlines()) <= 16 * len(seed.failures) + 12 and len(seed.failures) == 4
    assert "when: fails when conv_shortcut=False" in text and "fix: " in text and "nearest pass: " in text
    assert "grid (" in text
    data = json.loads(seed.to_json())["targets"][0]
    assert {"axis_summary", "warnings"} <= set(data)
    for failure in data["failures"]:
        assert {"branches", "condition", "hint", "nearest_pass"} <= set(failure)
        assert set(failure["condition"]) >= {"text", "checked_on"}


def test_html_shows_the_same_grid(seed):
    page = seed._repr_html_()
    g = seed.grid
    assert page.count("<table class='sg-grid'>") == 1
    grid = page.split("<table class='sg-grid'>")[1].split("</table>")[0]
    assert grid.count("<tr>") == len(g["row_values"]) + 1
    assert grid.count("<td") == len(g["row_values"]) * len(g["column_values"])


def test_grouped_convolution_hint_and_condition(grouped):
    assert_condition_holds(grouped)
    (failure,) = grouped.failures
    confirm(failure, vars(blocks))
    assert failure.kind == "config" and "multiple of `groups`" in failure.hint
    assert failure.condition["text"] == "fails when C is not a multiple of groups"


def test_stride_condition_on_a_residual_block(strided):
    assert_condition_holds(strided)
    for failure in strided.failures:
        confirm(failure, vars(blocks))
        assert "strides=2" in failure.condition["text"] and "project the shortcut" in failure.hint


def test_a_search_states_conditions_checked_on_a_sample_that_no_probe_contradicts():
    report = shapeguard.check(blocks.strided_residual, inputs={"x": "H,H,4"}, H=list(range(6, 14)), strides=[1, 2],
                              max_examples=6)
    assert report.mode == "search" and report.probes < 16
    assert_condition_holds(report, checked_on="sample")
    for failure in report.failures:  # it says what it was checked on: the probes, a sample among them
        assert failure.condition["sample_points"] > 0
        assert f"(checked on {failure.condition['points']} points, " in str(report)
        assert "all combinations" not in str(report)
    for failure in report.failures:
        confirm(failure, vars(blocks))
        assert failure.nearest_pass is None or builds(failure.nearest_pass["call"], vars(blocks))


# ---- which sizes work ----------------------------------------------------------


def test_unet_summary_lists_the_failing_skip_sizes(unet):
    assert_condition_holds(unet)
    (failure,) = unet.failures
    confirm(failure, vars(blocks))
    assert "2**1" in failure.hint and "Cropping2D" in failure.hint
    summary = unet.axis_summary["S"]
    for size in [6, 7, 8, 9, 16]:
        call = f"up_block(keras.Input(shape=(4, 4, 8)), keras.Input(shape=({size}, {size}, 4)))"
        assert (size in summary["passing"]) == builds(call, vars(blocks))
        assert (size in summary["failing"]) != builds(call, vars(blocks))
    assert "fails for S in {6, 7, 9, 16}" in summary["text"]


def test_valid_padding_summary_gives_the_shortest_length_that_works(valid):
    assert_condition_holds(valid)
    threshold = valid.axis_summary["T"]["threshold"]
    assert threshold["exact"]
    shortest = threshold["passes_from"]
    assert builds(f"valid_stack(keras.Input(shape=({shortest}, 3)))", vars(blocks))
    assert not builds(f"valid_stack(keras.Input(shape=({shortest - 1}, 3)))", vars(blocks))
    assert f"passes for T >= {shortest}" in str(valid)
    (failure,) = valid.failures
    confirm(failure, vars(blocks))
    assert failure.condition["text"] == f"fails when T < {shortest}"  # the sizes between tried ones count too
    assert "padding='same'" in failure.hint


def test_valid_padding_in_a_residual_branch_gets_its_hint():
    report = shapeguard.check(blocks.valid_residual, inputs={"x": "H,H,4"}, H=[5, 6])
    (failure,) = report.failures
    confirm(failure, vars(blocks))
    assert "padding='valid'" in failure.hint


def test_a_pointwise_convolution_changing_channels_gets_the_projection_hint_not_padding():
    report = shapeguard.check(blocks.pointwise_residual, inputs={"x": "4,4,C"}, C=[8], filters=[16])
    (failure,) = report.failures
    confirm(failure, vars(blocks))
    assert failure.cause == "channels" and "padding" not in failure.hint, failure.hint


def test_reshape_hint_names_the_input_size():
    report = shapeguard.check(blocks.flatten_to, inputs={"x": "4,4,C"}, C=[4, 8], size=[64])
    (failure,) = report.failures
    assert failure.layer_class == "Reshape" and "128 per example" in failure.hint


# ---- broadcasts ----------------------------------------------------------------


@pytest.mark.parametrize("block", [blocks.residual_1x1, blocks.residual_plus])
def test_residual_add_of_one_channel_is_a_broadcast_warning(block):
    report = shapeguard.check(block, inputs={"x": "8,C"}, C=[1, 32])
    assert report.ok and not report.failures
    (warning,) = report.warnings
    assert warning.kind == "broadcast" and warning.example == {"C": 1}
    assert {tuple(s) for s in warning.input_shapes} == {(None, 8, 1), (None, 8, 32)}
    assert warning.location.file == blocks.__file__
    assert builds(warning.call, vars(blocks))  # plain Keras builds it: a warning, not a failure
    strict = shapeguard.check(block, inputs={"x": "8,C"}, C=[1, 32], strict=True)
    assert strict.status == "fail" and "broadcast" in str(strict)


def test_squeeze_and_excitation_multiply_is_not_warned_about():
    report = shapeguard.check(blocks.se_block, inputs={"x": "4,4,C"}, C=[4, 8])
    assert report.ok and report.warnings == []


# ---- SARIF -----------------------------------------------------------------------


def test_sarif_validates_against_the_2_1_0_schema(seed, monkeypatch):
    import jsonschema  # the test extra's; the schema is vendored (tests/data/README.md)

    from shapeguard.report.sarif import render_sarif

    monkeypatch.chdir(REPO)  # URIs are from the repository's root (or the current folder, in an sdist)
    warned = shapeguard.check(blocks.residual_1x1, inputs={"x": "8,C"}, C=[1, 32])
    document = json.loads(render_sarif([seed, warned]))
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validate(document, schema, format_checker=jsonschema.FormatChecker())
    results = document["runs"][0]["results"]
    assert len(results) == len(seed.failures) + 1
    assert {r["level"] for r in results} == {"error", "warning"}
    add = next(r for r in results if "Add" in r["message"]["text"])
    assert add["locations"][0]["physicalLocation"]["region"]["startLine"] == seed.failures[-1].location.line
    artifacts = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in results]
    example = Path(resnext.__file__).relative_to(REPO).as_posix()
    assert {(a["uri"], a["uriBaseId"]) for a in artifacts[:-1]} == {(example, "%SRCROOT%")}
    prints = [r["partialFingerprints"]["shapeguard/v1"] for r in results]
    assert len(set(prints)) == len(prints) and all(p.endswith(":1") for p in prints)  # told apart by what they are


def test_cli_sarif_and_strict(tmp_path, monkeypatch):
    # The category, the format and the output file are the renderer's: the runs
    # are in this process (check_here), from a copy of the blocks' file at its
    # path, which the run category is named from.
    copy = tmp_path / "tests" / "helpers" / "explain_blocks.py"
    copy.parent.mkdir(parents=True)
    copy.write_text(Path(blocks.__file__).read_text())
    out = tmp_path / "report.sarif"
    args = [f"{copy}:residual_1x1", "--input", "x=8,C", "--axis", "C=1,32", "-q", "--output", str(out)]
    assert check_here(tmp_path, monkeypatch, *args, "--format", "sarif") == 0
    run = json.loads(out.read_text())["runs"][0]
    assert run["results"][0]["ruleId"] == "shapeguard/broadcast"
    assert run["automationDetails"] == {"id": "shapeguard/tests/helpers/explain_blocks.py:residual_1x1/"}
    monkeypatch.setenv("SHAPEGUARD_SARIF_CATEGORY", "keras-nightly")
    assert check_here(tmp_path, monkeypatch, *args, "--format", "sarif") == 0
    assert json.loads(out.read_text())["runs"][0]["automationDetails"] == {"id": "shapeguard/keras-nightly/"}
    assert check_here(tmp_path, monkeypatch, *args, "--strict") == 1
    assert "[warning] broadcast" in out.read_text()
    assert check_here(tmp_path, monkeypatch, *args, "--format", "github") == 0
    annotation = out.read_text()
    assert annotation.startswith("::warning file=") and "explain_blocks.py,line=" in annotation


def test_each_layer_on_a_branch_names_the_line_that_called_it_on_request(seed):
    add = next(f for f in seed.failures if f.layer_class == "Add")
    main = next(b for b in add.branches if not b.identity)
    lines = {line for step in main.steps for _, line in [step.location]}
    with open(resnext.__file__) as source:
        text = source.read().splitlines()
    for step in main.steps:
        file, line = step.location
        assert file == resnext.__file__ and step.layer_class in text[line - 1]  # the line that calls it
    assert len(lines) > 1
    assert "(shapeguard/examples/resnext_block.py:" not in str(seed)  # only on request
    assert f"Conv2D 1x1 32 (shapeguard/examples/resnext_block.py:{main.steps[0].location[1]})" in seed.render(call_lines=True)
    path = json.loads(seed.to_json())["targets"][0]["failures"]
    assert all(step["location"]["file"] == "shapeguard/examples/resnext_block.py"
               for failure in path for branch in failure["branches"] for step in branch["path"])
