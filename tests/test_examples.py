"""The user's story: the ResNeXt block from the seed article, checked on the
space its decorator declares."""

import importlib

import pytest

from plain_keras import confirm, run_call

buggy = importlib.import_module("examples.resnext_block")
fixed = importlib.import_module("examples.resnext_block_fixed")


def line_of(module, text: str) -> int:
    with open(module.__file__) as f:
        return next(i for i, line in enumerate(f, 1) if text in line)


@pytest.fixture(scope="module")
def report():
    return buggy.block.check()


@pytest.fixture(scope="module")
def exhaustive():
    return buggy.block.check(exhaustive=True)


def by_layer(report, layer_class):
    found = [f for f in report.failures if f.layer_class == layer_class]
    assert len(found) == 1, report
    return found[0]


def test_add_mode_found_with_identity_shortcut(report):
    assert report.mode == "search"  # 128 combinations > the default budget of 100
    add = by_layer(report, "Add")
    assert add.kind == "shape"
    assert add.example["conv_shortcut"] is False
    assert add.location.line == line_of(buggy, "x = Add()([x, shortcut])")
    assert add.location.file == buggy.__file__
    assert len(add.input_shapes) == 2 and add.input_shapes[0] != add.input_shapes[1]
    assert add.call.startswith("block(keras.Input(shape=")


def test_add_example_fails_in_plain_keras_with_the_same_layer(report):
    add = by_layer(report, "Add")
    exc = confirm(add, vars(buggy))
    assert isinstance(exc, ValueError)
    assert "Inputs have incompatible shapes" in str(exc)


def test_grouped_convolution_mode_reported_separately(report):
    conv = by_layer(report, "Conv2D")
    assert conv.kind == "config"
    assert conv.location.line == line_of(buggy, "groups=groups)(x)")
    assert conv.example["filters"] % 32 != 0  # groups=32 by default
    confirm(conv, vars(buggy))
    assert len(report.failures) == 2 and report.errors == []


def preference_index(report, example):
    return tuple(report.space[name].index(value) for name, value in example.items())


@pytest.mark.parametrize("layer_class", ["Add", "Conv2D"])
def test_examples_are_minimal_against_exhaustive_enumeration(report, exhaustive, layer_class):
    found = by_layer(report, layer_class)
    mode = (found.layer_class, found.location.line)
    failing = [
        preference_index(exhaustive, example)
        for example, outcome in exhaustive.outcomes
        if outcome.failed and (outcome.layer_class, outcome.line) == mode
    ]
    mine = preference_index(report, found.example)
    assert mine in failing
    dominating = [q for q in failing if q != mine and all(a <= b for a, b in zip(q, mine))]
    assert dominating == [], (found.example, dominating)
    # The exhaustive run's own example is minimal in the same sense.
    assert by_layer(exhaustive, layer_class).example == found.example


def test_exhaustive_counts_are_exact(exhaustive):
    assert exhaustive.mode == "exhaustive" and exhaustive.probes == 128
    for failure in exhaustive.failures:
        counted = sum(
            1 for _, o in exhaustive.outcomes
            if o.failed and (o.layer_class, o.line) == (failure.layer_class, failure.location.line)
        )
        assert failure.failing == counted and failure.of == 128
    assert "fails at" in str(exhaustive)


def test_add_fails_exactly_when_identity_shortcut_mismatches(exhaustive):
    """The hand analysis of the article, point by point: with the identity
    shortcut, Add breaks unless C == filters * 2 and strides == 1."""
    for example, outcome in exhaustive.outcomes:
        if example["filters"] % 32:  # the grouped convolution fails first
            assert outcome.layer_class == "Conv2D"
            continue
        mismatch = not example["conv_shortcut"] and (
            example["C"] != example["filters"] * 2 or example["strides"] == 2
        )
        assert (outcome.layer_class == "Add") == mismatch, example
    spatial = [e for e, o in exhaustive.outcomes
               if o.layer_class == "Add" and e["C"] == e["filters"] * 2]
    assert spatial and all(e["strides"] == 2 for e in spatial)
    example = spatial[0]
    call = ("block(keras.Input(shape=({H}, {H}, {C})), filters={filters}, strides=2, "
            "conv_shortcut=False)").format(**example)
    assert "Inputs have incompatible shapes" in str(run_call(call, vars(buggy)))


def test_fixed_block_passes_on_the_same_space(report):
    checked = fixed.block.check(exhaustive=True)
    assert checked.ok and checked.status == "pass", checked
    assert checked.space == report.space and checked.probes == 128


def test_two_runs_give_identical_reports(report):
    again = buggy.block.check()
    assert again.to_json() == report.to_json()
    assert str(again) == str(report)


def test_another_seed_finds_the_same_modes(report):
    other = buggy.block.check(seed=12345)
    modes = lambda r: sorted((f.kind, f.layer_class, f.location.line) for f in r.failures)
    assert modes(other) == modes(report)
    for failure in other.failures:
        confirm(failure, vars(buggy))


def test_text_report_names_layer_shapes_line_and_call(report):
    text = str(report)
    add = by_layer(report, "Add")
    assert "FAIL, 2 failure modes" in text
    assert "Add 'add'" in text and str(add.input_shapes[0]) in text
    assert f"resnext_block.py:{add.location.line}" in text
    assert add.call in text and "Hypothesis search" in text
