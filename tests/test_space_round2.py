"""The parameter space, round 2 (issue 17, "Trust, round 2"): rare `where`
constraints drawn without rejection, values written canonically, Keras config
objects shown with their config, dotted command-line values limited to
functions, classes and constants, sizes no tensor can have, and offsets that
may be 0 or negative.

The Keras-free cases are unmarked (fast lane); those that probe are marked `keras`."""

from __future__ import annotations

import json
import textwrap

import pytest

from shapeguard import ShapeguardError, cli
from shapeguard._show import call_string
from shapeguard.space import build_space


def offset_block(x, filters=8):
    return x, filters


# --- 6. axes only inside template expressions may be 0 or negative -----------


def test_an_offset_inside_a_template_expression_may_be_zero_or_negative():
    space = build_space(offset_block, {"H": [4], "o": [-2, 0, 1], "C": [8]}, {"x": "2*H-o,H,C"})
    assert space.as_dict()["o"] == [-2, 0, 1]
    shapes = [space.arguments(p)[0].shape for p in space.valid_points]
    assert sorted(shapes) == [(7, 4, 8), (8, 4, 8), (10, 4, 8)]


def test_a_point_whose_template_dim_is_not_positive_is_skipped_like_a_where():
    space = build_space(offset_block, {"H": [4], "o": [0, 8, 9], "C": [8]}, {"x": "2*H-o,H,C"})
    assert space.skipped == 2  # 2*4-8 = 0 and 2*4-9 = -1 are no sizes
    assert [space.values(p)["o"] for p in space.valid_points] == [0]


def test_a_template_dim_positive_at_no_point_is_one_sentence():
    with pytest.raises(ShapeguardError) as raised:
        build_space(offset_block, {"H": [4], "o": [8, 9], "C": [8]}, {"x": "2*H-o,H,C"}).check_contract()
    message = str(raised.value)
    assert "2*H-o" in message and "positive" in message and "\n" not in message


def test_an_axis_that_is_itself_a_dimension_must_still_be_positive():
    with pytest.raises(ShapeguardError, match="'C': 0 is not a valid size"):
        build_space(offset_block, {"H": [4], "o": [0], "C": [0]}, {"x": "2*H-o,H,C"})


# --- 5. sizes no tensor dimension can have ------------------------------------


@pytest.mark.parametrize("axes, inputs", [
    ({"H": [99999999999999999999]}, {"x": "H,4"}),
    ({"H": [8, 2**31]}, {"x": "H,4"}),
    ({}, {"x": "99999999999999999999,4"}),
])
def test_a_size_above_int32_is_refused_in_one_sentence(axes, inputs):
    with pytest.raises(ShapeguardError) as raised:
        build_space(offset_block, axes, inputs)
    message = str(raised.value)
    assert "at most 2147483647" in message and "\n" not in message


def test_the_largest_int32_size_is_a_size():
    space = build_space(offset_block, {"H": [2**31 - 1]}, {"x": "H,4"})
    assert space.arguments((0,) * len(space.axes))[0].shape == (2**31 - 1, 4)


def test_a_template_expression_above_int32_is_not_a_valid_input():
    space = build_space(offset_block, {"H": [2**30, 4]}, {"x": "4*H,2"})
    assert [space.values(p)["H"] for p in space.valid_points] == [4]
