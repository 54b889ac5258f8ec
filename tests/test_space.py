"""Axes, templates and the inference rules (no Keras needed)."""

import pytest

from shapeguard import ShapeguardError
from shapeguard._show import call_string
from shapeguard.space import build_space


def block(x, filters, strides=1, groups=32, conv_shortcut=True, kernel_size=3, name="b"):
    return x, filters, strides, groups, conv_shortcut, kernel_size, name  # uses each: the source is evidence


def test_inferred_space_follows_the_documented_rules():
    space = build_space(block)
    assert [t.param for t in space.templates] == ["x"]
    assert space.templates[0].dims == ("H", "H", "C")
    assert space.as_dict() == {
        "H": [7, 8],
        "C": [8, 16, 32, 64],
        "filters": [64],  # no default, and the code says nothing about it: one guess, never a grid
        "strides": [1, 2],
        "conv_shortcut": [True, False],
        "kernel_size": [3, 1, 5],
    }
    assert any(v % 2 for v in space.as_dict()["H"])  # always an odd size


def test_given_axes_keep_their_order_default_first_then_ascending():
    space = build_space(block, {"strides": [2, 1], "filters": [64, 16, 32], "W": [9, 4]}, {"x": "H,W,C"})
    values = space.as_dict()
    assert list(values)[:3] == ["strides", "filters", "W"]
    assert values["strides"] == [1, 2] and values["filters"] == [16, 32, 64] and values["W"] == [4, 9]
    assert build_space(block, {"conv_shortcut": [False, True]}).as_dict()["conv_shortcut"] == [True, False]


def test_template_with_fixed_dims_and_call_string():
    space = build_space(block, {"filters": [32]}, {"x": "8,8,C"})
    point = (0,) * len(space.axes)
    # axes were given: the parameters not named keep their defaults, so the call leaves them out
    assert call_string("block", space.arguments(point)) == "block(keras.Input(shape=(8, 8, 8)), filters=32)"


def test_keyword_only_tensor_is_passed_by_keyword():
    def f(*, inputs, units=4):
        return inputs, units

    space = build_space(f, {}, {"inputs": "T,D"}, name="f")
    args = space.arguments((0,) * len(space.axes))
    assert call_string("f", args) == "f(inputs=keras.Input(shape=(7, 8)), units=4)"


@pytest.mark.parametrize(
    "axes, inputs, message",
    [
        ({"filter": [8]}, None, "Did you mean 'filters'"),
        ({"C": [0]}, None, "0 is not a valid size"),
        ({"C": ["abc"]}, None, "'abc' is not an integer"),
        ({"C": []}, None, "has no values"),
        ({}, {"y": "H,C"}, "not a parameter"),
        ({}, {"x": "H,,C"}, "not a template"),
        ({}, {"x": "H,0"}, "must be a positive integer"),
        ({}, {"x": "H,Q"}, "'Q' has no values"),
        ({"x": [1]}, {"x": "H,C"}, "tensor parameter"),
    ],
)
def test_bad_input_gives_one_clear_sentence(axes, inputs, message):
    with pytest.raises(ShapeguardError, match=message) as caught:
        build_space(block, axes, inputs)
    assert "\n" not in str(caught.value)


def test_parameter_without_default_or_values_is_an_error():
    def f(x, depth):
        return x * depth

    with pytest.raises(ShapeguardError, match="no default and no values to try; give values for depth"):
        build_space(f)
    assert build_space(f, {"depth": [1, 2]}).as_dict()["depth"] == [1, 2]


def test_every_inferred_axis_and_template_is_named_with_its_rule():
    def block(x, filters, strides=1, use_bias=True, groups=32):
        return x, filters, strides, use_bias, groups

    template = {"x": {"template": "H,H,C", "from": "no template given: taken as an image"}}
    assert build_space(block).inferred() == {
        "axes": {"H": "a spatial or sequence dimension", "C": "a channel dimension",
                 "filters": "no default: guessed 64 from its name", "strides": "named 'strides'", "use_bias": "a bool"},
        "templates": template,
    }
    # C given: the parameters with a default keep it (given axes are never widened), the one without is
    # held at its guess, and the dims nobody gave are inferred all the same, and said so
    space = build_space(block, {"C": [16]}, None)
    assert space.inferred() == {
        "axes": {"H": "a spatial or sequence dimension", "filters": "no default: guessed 64 from its name"},
        "templates": template,
    }
    given = build_space(block, {"filters": [8], "strides": [1], "use_bias": [True], "C": [8], "H": [7]},
                        {"x": "H,H,C"})
    assert given.inferred() == {"axes": {}, "templates": {}}  # groups keeps its default: nothing to say


def test_the_text_report_names_what_was_inferred():
    from shapeguard.report import Report

    report = Report(target="b.py:block", mode="exhaustive", probes=1, space={"C": [8]}, size=1, seed=0,
                    inferred={"axes": {"strides": "named 'strides'"},
                              "templates": {"x": {"template": "H,H,C", "from": "no template given: taken as an image"}}})
    assert "  inferred: strides (named 'strides'); x=H,H,C (no template given: taken as an image)" in str(report)
