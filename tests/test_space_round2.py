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


def test_command_line_a_size_above_int32_is_a_usage_error_not_an_internal_one(tmp_path, monkeypatch, capfd):
    (tmp_path / "lazy.py").write_text(textwrap.dedent(RARE_BLOCK).lstrip())
    monkeypatch.chdir(tmp_path)
    status = cli.main(["check", "lazy.py:block", "--input", "x=4,4,W", "--axis", "W=99999999999999999999"])
    out, err = capfd.readouterr()
    assert status == 2 and out == ""
    assert err == ("shapeguard: lazy.py:block: axis 'W': 99999999999999999999 is too large; a tensor dimension "
                   "can be at most 2147483647 (2**31-1).\n")


def test_the_largest_int32_size_is_a_size():
    space = build_space(offset_block, {"H": [2**31 - 1]}, {"x": "H,4"})
    assert space.arguments((0,) * len(space.axes))[0].shape == (2**31 - 1, 4)


def test_a_template_expression_above_int32_is_not_a_valid_input():
    space = build_space(offset_block, {"H": [2**30, 4]}, {"x": "4*H,2"})
    assert [space.values(p)["H"] for p in space.valid_points] == [4]


# --- 1. a rare but satisfiable where is drawn without rejection ---------------

SIX = {name: list(range(1, 101)) for name in "ABCDEF"}  # 1e12 combinations


def six_axes(x, A=1, B=1, C=1, D=1, E=1, F=1):
    return x, A, B, C, D, E, F


def test_equalities_and_bounds_leave_a_sub_grid_small_enough_to_enumerate_exactly():
    where = "A == B and C <= 2 and D == C + 1 and E < 3 and F == 2*E"
    space = build_space(six_axes, SIX, {"x": "4,4,8"}, where=where)
    assert space.size == 10**12
    assert space.probe_count == 100 * 2 * 2  # A from B, C in {1, 2}, D from C, E in {1, 2}, F from E
    values = [space.values(p) for p in space.valid_points]
    assert all(v["A"] == v["B"] and v["C"] <= 2 and v["D"] == v["C"] + 1 and v["E"] < 3 and v["F"] == 2 * v["E"]
               for v in values)
    assert values[0] == {"A": 1, "B": 1, "C": 1, "D": 2, "E": 1, "F": 2}  # the most preferred allowed point
    assert space.skipped == 10**12 - 400


def test_a_rare_where_over_a_space_too_big_even_for_its_grid_finds_an_allowed_point():
    where = "A == B + 5 and C == D and E < 3"  # keeps about 1e-4 of the space, not the first point
    space = build_space(six_axes, SIX, {"x": "4,4,8"}, where=where)
    space.check_contract()
    assert space.valid_points is None  # 95 * 100 * 2 * 100 points to draw from: not enumerated
    (point,) = space.found_points
    v = space.values(point)
    assert v["A"] == v["B"] + 5 and v["C"] == v["D"] and v["E"] < 3


@pytest.mark.parametrize("where", ["A == B + 500 and C == D and E < 3 and F == 1", "A > 200", "A == B + 500"])
def test_a_where_that_holds_nowhere_in_a_huge_space_is_the_callers_error_in_one_sentence(where):
    with pytest.raises(ShapeguardError) as raised:
        build_space(six_axes, SIX, {"x": "4,4,8"}, where=where).check_contract()
    message = str(raised.value)
    assert f"where={where!r}" in message and "loosen it" in message and "\n" not in message
    assert "bug" not in message
    assert f"--where {where!r}" in raised.value.for_cli()


RARE_BLOCK = '''
    def block(x, A=1, B=1, C=1, D=1, E=1, F=1):
        import keras

        y = keras.layers.Conv2D(A + B + C + D + E + F, 1)(x)
        return keras.layers.Add()([x, y])
'''


def _rare_cli(tmp_path, monkeypatch, capfd, where):
    (tmp_path / "rare.py").write_text(textwrap.dedent(RARE_BLOCK).lstrip())
    monkeypatch.chdir(tmp_path)
    args = ["check", "rare.py:block", "--input", "x=4,4,8", "--where", where, "--max-examples", "10"]
    for name in "ABCDEF":
        args += ["--axis", f"{name}=" + ",".join(str(v) for v in range(1, 101))]
    status = cli.main(args)
    return status, *capfd.readouterr()


def test_command_line_a_where_that_holds_nowhere_is_a_usage_error(tmp_path, monkeypatch, capfd):
    status, out, err = _rare_cli(tmp_path, monkeypatch, capfd, "A == B + 500")
    assert status == 2 and out == ""
    assert err.startswith("shapeguard: rare.py:block: no combination found where the constraint --where "
                          "'A == B + 500' holds"), err
    assert err.count("\n") == 1 and "Traceback" not in err and "bug" not in err


def rare_block(x, A=1, B=1, C=1, D=1, E=1, F=1):
    import keras

    y = keras.layers.Conv2D(A + B + C + D + E + F, 1)(x)
    return keras.layers.Add()([x, y])


@pytest.mark.keras
def test_a_rare_where_is_searched_and_its_minimal_failure_confirmed_by_plain_keras():
    from helpers.plain_keras import confirm

    import shapeguard

    where = "A == B + 5 and C == D and E < 3"
    report = shapeguard.check(rare_block, axes=SIX, inputs={"x": "4,4,8"}, where=where, max_examples=10)
    assert report.probes > 0 and not report.errors, report
    (failure,) = report.failures
    v = failure.example
    assert v["A"] == v["B"] + 5 and v["C"] == v["D"] and v["E"] < 3
    assert v == {"A": 6, "B": 1, "C": 1, "D": 1, "E": 1, "F": 1}  # the most preferred allowed point
    confirm(failure, {"rare_block": rare_block})


# --- 4. dotted command-line values: functions, classes, constants only --------


@pytest.mark.parametrize("text, what", [
    ("os.environ", "is a mapping (os._Environ)"),
    ("os.path", "is a module"),
    ("decimal.DefaultContext", "is an instance (decimal.Context)"),
])
def test_a_dotted_value_that_is_not_a_function_class_or_constant_is_refused(text, what):
    with pytest.raises(ShapeguardError) as raised:
        cli.parse_value(text)
    message = raised.value.for_cli()
    assert message.startswith(f"--axis value {text!r} {what}") and "\n" not in message


def test_dotted_functions_classes_constants_and_enum_members_are_imported():
    import collections
    import math
    import os.path
    import signal

    assert cli.parse_value("os.path.join") is os.path.join
    assert cli.parse_value("collections.OrderedDict") is collections.OrderedDict
    assert cli.parse_value("math.pi") == math.pi
    assert cli.parse_value("signal.Signals.SIGINT") is signal.Signals.SIGINT


def test_an_object_of_the_users_own_module_may_still_be_given(tmp_path, monkeypatch):
    (tmp_path / "mine.py").write_text('CONFIG = {"units": 8}\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    assert cli.parse_value("mine.CONFIG") == {"units": 8}


def test_command_line_the_environment_never_reaches_a_report(tmp_path, monkeypatch, capfd):
    (tmp_path / "lazy.py").write_text(textwrap.dedent(RARE_BLOCK).lstrip())
    monkeypatch.chdir(tmp_path)
    status = cli.main(["check", "lazy.py:block", "--input", "x=4,4,8", "--axis", "A=os.environ"])
    out, err = capfd.readouterr()
    assert status == 2 and out == ""
    assert err == ("shapeguard: --axis value 'os.environ' is a mapping (os._Environ), not a function, class or "
                   "constant, the only values imported from the standard library and the libraries shapeguard "
                   "runs on (an object of your own module may be given).\n")


# --- 2. values written canonically, unstable ones refused ---------------------


def test_sets_and_dicts_are_written_sorted():
    from shapeguard._show import show_value

    assert show_value({"gamma", "alpha", "beta"}) == "{'alpha', 'beta', 'gamma'}"
    assert show_value(frozenset({3, 1})) == "frozenset({1, 3})"
    assert show_value({"z": 1, "a": {2, 1}}) == "{'a': {1, 2}, 'z': 1}"
    assert show_value((offset_block, 1)) == "(test_space_round2.offset_block, 1)"


def test_a_value_whose_repr_holds_a_memory_address_is_refused_naming_the_axis_and_its_type():
    class Opaque:
        pass

    with pytest.raises(ShapeguardError) as raised:
        build_space(offset_block, {"filters": [8, Opaque()]}, {"x": "4,C"})
    message = str(raised.value)
    assert "axis 'filters'" in message and "Opaque value has no stable form" in message and "\n" not in message


def test_a_dict_with_keys_json_cannot_take_is_written_as_one_string():
    from shapeguard.report.json import plain

    assert plain({"space": {"s": [{(1, 2): 3}, {"b", "a"}]}}) == {"space": {"s": ["{(1, 2): 3}", "{'a', 'b'}"]}}


SET_BLOCK = '''
    import keras


    def block(x, s=frozenset()):
        y = keras.layers.Dense(len(s))(x)
        return keras.layers.Add()([x, y])
'''


@pytest.mark.keras
def test_json_with_a_set_axis_is_byte_identical_across_runs_with_other_hash_seeds(tmp_path):
    import subprocess
    import sys

    from helpers.command_line import child_env

    (tmp_path / "sets.py").write_text(textwrap.dedent(SET_BLOCK).lstrip())
    args = [sys.executable, "-m", "shapeguard", "check", "sets.py:block", "--input", "x=4",
            "--axis", "s={'alpha','beta','gamma','delta','epsilon'},{'zeta','eta','theta'}", "--format", "json"]
    # Two processes, as the hash seed is read at start-up; on Keras's numpy backend,
    # which imports in about half TensorFlow's time (the claim is the report's order).
    runs = [subprocess.run(args, cwd=tmp_path, env={**child_env(), "PYTHONHASHSEED": seed, "KERAS_BACKEND": "numpy"},
                           capture_output=True, timeout=300) for seed in ("1", "2")]
    assert [r.returncode for r in runs] == [1, 1], runs[0].stderr
    assert runs[0].stdout == runs[1].stdout
    document = json.loads(runs[0].stdout)
    (target,) = document["targets"]
    assert target["space"]["s"] == ["{'alpha', 'beta', 'delta', 'epsilon', 'gamma'}", "{'eta', 'theta', 'zeta'}"]
    (failure,) = target["failures"]  # Dense(5) or Dense(3) added to 4 features
    assert failure["call"] == "block(keras.Input(shape=(4,)), s={'alpha', 'beta', 'delta', 'epsilon', 'gamma'})"
    _confirm_json_failure(failure, tmp_path / "sets.py")


def _confirm_json_failure(failure: dict, path) -> None:
    """Plain Keras fails at a JSON failure's call, in its layer, with its message."""
    import importlib.util
    from types import SimpleNamespace

    from helpers.plain_keras import confirm

    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    confirm(SimpleNamespace(call=failure["call"], layer_class=failure["layer"]["class"], message=failure["message"]),
            {"block": module.block})


# --- 3. Keras config objects shown and reproduced with their config ----------


@pytest.mark.keras
def test_keras_config_objects_are_written_with_what_differs_from_their_default_and_rebuild_the_same():
    import keras

    from shapeguard._show import show_value

    objects = [keras.initializers.HeNormal(seed=1), keras.initializers.HeNormal(), keras.regularizers.L2(0.5),
               keras.constraints.MaxNorm(3), keras.initializers.Constant(2.0)]
    shown = [show_value(o) for o in objects]
    assert shown == ["keras.initializers.HeNormal(seed=1)", "keras.initializers.HeNormal()",
                     "keras.regularizers.L2(l2=0.5)", "keras.constraints.MaxNorm(max_value=3)",
                     "keras.initializers.Constant(value=2.0)"]
    for text, original in zip(shown, objects):
        rebuilt = eval(text, {"keras": keras})  # noqa: S307 - the test's own text, as a user pastes it
        assert type(rebuilt) is type(original) and rebuilt.get_config() == original.get_config()


def init_block(x, filters=8, kernel_initializer="glorot_uniform"):
    import keras

    y = keras.layers.Conv2D(filters, 1, kernel_initializer=kernel_initializer)(x)
    return keras.layers.Add()([x, y])


@pytest.mark.keras
def test_the_reproducing_call_carries_the_initializers_seed():
    import keras
    from helpers.plain_keras import confirm

    import shapeguard

    initializer = keras.initializers.HeNormal(seed=1)
    report = shapeguard.check(init_block, axes={"filters": [8, 16], "kernel_initializer": [initializer],
                                                "C": [8], "H": [4]}, inputs={"x": "H,H,C"})
    (failure,) = report.failures
    assert failure.call == ("init_block(keras.Input(shape=(4, 4, 8)), filters=16, "
                            "kernel_initializer=keras.initializers.HeNormal(seed=1))")
    assert "HeNormal(seed=1)" in report.to_json() and " at 0x" not in report.to_json()
    confirm(failure, {"init_block": init_block})


def test_an_error_outside_any_point_prints_no_empty_minimal_or_reproduce_line():
    from shapeguard._outcome import INTERNAL
    from shapeguard.report import BlockError, Report

    report = Report(target="blocks.py:block", mode="search", probes=0, space={}, size=0, seed=0)
    report.errors.append(BlockError(INTERNAL, "RuntimeError: boom (a bug in shapeguard)", None, {}, ""))
    text = str(report)
    assert "RuntimeError: boom" in text
    assert "minimal:" not in text and "reproduce:" not in text


def test_an_equality_computes_the_axis_its_bounds_leave_free():
    # A == B and A < 3: B is computed from A's two values (not A from B's 100: 290,000 points to enumerate)
    for where in ("A == B and A < 3 and C == D and E < 30 and F == 1",
                  "A < 3 and B == A and C == D and E < 30 and F == 1"):
        space = build_space(six_axes, SIX, {"x": "4,4,8"}, where=where)
        assert space.probe_count == 2 * 100 * 29
        assert all(v["A"] == v["B"] < 3 for v in map(space.values, space.valid_points))
