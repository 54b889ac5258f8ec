"""The user's story: the ResNeXt block from the seed article, checked on the
space its decorator declares."""

import importlib

import pytest

from helpers.plain_keras import confirm, run_call

pytestmark = pytest.mark.keras

buggy = importlib.import_module("shapeguard.examples.resnext_block")
fixed = importlib.import_module("shapeguard.examples.resnext_block_fixed")


def line_of(module, text: str) -> int:
    with open(module.__file__) as f:
        return next(i for i, line in enumerate(f, 1) if text in line)


@pytest.fixture(scope="module")
def report():
    return buggy.block.check()


@pytest.fixture(scope="module")
def exhaustive():
    return buggy.block.check(exhaustive=True)


def by_mode(report, layer_class, cause):
    found = [f for f in report.failures if (f.layer_class, f.cause) == (layer_class, cause)]
    assert len(found) == 1, report
    return found[0]


MODES = [("Add", "channels"), ("Add", "spatial"),
         ("Conv2D", "channels not divisible by groups"), ("Conv2D", "invalid argument value")]


def test_report_has_one_mode_per_cause(report):
    assert sorted((f.layer_class, f.cause) for f in report.failures) == sorted(MODES)
    assert report.errors == []


def test_add_channel_mode_found_with_identity_shortcut(report):
    # 128 combinations fit the time budget at the measured probe cost: every one is probed
    assert report.mode == "exhaustive" and "time budget" in report.budget
    add = by_mode(report, "Add", "channels")
    assert add.kind == "shape"
    example = add.example
    assert example["conv_shortcut"] is False and example["strides"] == 1
    assert example["C"] != 2 * example["filters"]
    assert add.location.line == line_of(buggy, "x = Add()([x, shortcut])")
    assert add.location.file == buggy.__file__
    (a, b) = add.input_shapes
    assert a[:3] == b[:3] and a[3] != b[3]
    assert add.call.startswith("block(keras.Input(shape=")


def test_add_spatial_mode_has_its_own_minimal_example(report):
    """The seed article's second Add bug, no longer hidden behind the channel
    contract: with matching channels, strides=2 breaks the identity shortcut."""
    add = by_mode(report, "Add", "spatial")
    assert add.kind == "shape"
    example = add.example
    assert example["conv_shortcut"] is False and example["strides"] == 2
    assert example["C"] == 2 * example["filters"]
    assert add.location.line == line_of(buggy, "x = Add()([x, shortcut])")
    (a, b) = add.input_shapes
    assert a[1:3] != b[1:3] and a[3] == b[3]


@pytest.mark.parametrize("cause", ["channels", "spatial"])
def test_add_examples_fail_in_plain_keras_with_the_same_layer(report, cause):
    add = by_mode(report, "Add", cause)
    exc = confirm(add, vars(buggy))
    assert isinstance(exc, ValueError)
    assert "Inputs have incompatible shapes" in str(exc)


def test_grouped_convolution_modes_reported_separately(report):
    groups = by_mode(report, "Conv2D", "channels not divisible by groups")
    zero = by_mode(report, "Conv2D", "invalid argument value")
    for conv in (groups, zero):
        assert conv.kind == "config"
        assert conv.location.line == line_of(buggy, "groups=groups)(x)")
        assert conv.example["filters"] % 32 != 0  # groups=32 by default
        confirm(conv, vars(buggy))
    assert zero.example["filters"] < 32  # int(filters / groups) == 0 filters
    assert groups.example["filters"] > 32 and groups.input_shapes


def preference_index(report, example):
    return tuple(report.space[name].index(value) for name, value in example.items())


def mode_of(failure):
    return (failure.kind, failure.layer_class, failure.location.file, failure.location.line, failure.cause)


@pytest.mark.parametrize("layer_class, cause", MODES)
def test_examples_are_minimal_against_exhaustive_enumeration(report, exhaustive, layer_class, cause):
    found = by_mode(report, layer_class, cause)
    failing = [
        preference_index(exhaustive, example)
        for example, outcome in exhaustive.outcomes
        if outcome.mode == mode_of(found)
    ]
    mine = preference_index(report, found.example)
    assert mine in failing
    dominating = [q for q in failing if q != mine and all(a <= b for a, b in zip(q, mine))]
    assert dominating == [], (found.example, dominating)
    # The exhaustive run's own example is minimal in the same sense.
    assert by_mode(exhaustive, layer_class, cause).example == found.example


def test_exhaustive_counts_are_exact(exhaustive):
    assert exhaustive.mode == "exhaustive" and exhaustive.probes == 128
    for failure in exhaustive.failures:
        counted = sum(1 for _, o in exhaustive.outcomes if o.mode == mode_of(failure))
        assert failure.failing == counted and failure.of == 128
    assert sum(f.failing for f in exhaustive.failures) == sum(1 for _, o in exhaustive.outcomes if o.failed)
    assert "fails at" in str(exhaustive)


def test_add_fails_exactly_when_identity_shortcut_mismatches(exhaustive):
    """The hand analysis of the article, point by point: with the identity
    shortcut, Add breaks unless C == filters * 2 and strides == 1; the cause is
    the channels when they differ, else the spatial size."""
    for example, outcome in exhaustive.outcomes:
        if example["filters"] % 32:  # the grouped convolution fails first
            assert outcome.layer_class == "Conv2D"
            continue
        identity = not example["conv_shortcut"]
        channels = identity and example["C"] != example["filters"] * 2
        spatial = identity and example["strides"] == 2
        assert (outcome.layer_class == "Add") == (channels or spatial), example
        if channels or spatial:
            assert outcome.cause == ("channels" if channels else "spatial"), example
    spatial = [e for e, o in exhaustive.outcomes if o.layer_class == "Add" and o.cause == "spatial"]
    assert spatial and all(e["strides"] == 2 and e["C"] == e["filters"] * 2 for e in spatial)
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
    modes = lambda r: sorted(mode_of(f) for f in r.failures)
    assert modes(other) == modes(report)
    for failure in other.failures:
        confirm(failure, vars(buggy))


def test_text_report_names_layer_shapes_line_and_call(report):
    text = str(report)
    add = by_mode(report, "Add", "spatial")
    assert "FAIL, 4 failure modes" in text
    assert "Add 'add'" in text and str(add.input_shapes[0]) in text
    assert "(None, 7, 7, 16) (cause: channels)" in text and "(cause: spatial)" in text
    assert f"resnext_block.py:{add.location.line}" in text
    assert add.call in text and "all 128 combinations probed" in text
