"""Settings apart from axes: `CheckSettings`, ``axes={...}`` that frees the
keyword namespace, the decorator's settings under a check's, and the one
prober that explanation probes go through too."""

from __future__ import annotations

import os
import signal

import pytest
from helpers.plain_keras import confirm
from keras import layers

from shapeguard import CheckSettings, ShapeguardError, check, guard

pytestmark = [pytest.mark.keras, pytest.mark.filterwarnings("ignore::UserWarning")]


def gated(x, seed=1, strict=False):
    """A block whose parameters are called like two of check()'s settings."""
    y = layers.Dense(4)(x)
    if strict:
        y = layers.Dense(8)(y)
    return layers.Add()([x, y])


def test_axes_named_like_settings_are_searched():
    report = check(gated, axes={"seed": [1, 2], "strict": [False, True]}, inputs={"x": "D"}, D=[4])
    assert report.space == {"D": [4], "seed": [1, 2], "strict": [False, True]}
    assert report.mode == "exhaustive" and report.probes == 4
    [failure] = report.failures
    assert failure.example == {"D": 4, "seed": 1, "strict": True}
    assert failure.failing == 2  # at both seeds
    confirm(failure, {"gated": gated})


def test_settings_are_validated_once_in_python_spelling():
    with pytest.raises(ShapeguardError, match=r"max_examples must be a positive integer, not 0\."):
        CheckSettings(max_examples=0)
    with pytest.raises(ShapeguardError, match=r"timeout must be a positive number"):
        CheckSettings(timeout=-1)
    with pytest.raises(ShapeguardError, match=r"give seed in settings=CheckSettings\(...\) or as keywords"):
        check(gated, settings=CheckSettings(), seed=3, inputs={"x": "D"}, D=[4])
    with pytest.raises(AttributeError):
        CheckSettings().seed = 3  # frozen


def test_settings_object_and_keywords_do_the_same():
    by_object = check(gated, settings=CheckSettings(exhaustive=True, seed=5), inputs={"x": "D"}, D=[4])
    by_keyword = check(gated, exhaustive=True, seed=5, inputs={"x": "D"}, D=[4])
    assert by_object.to_dict() == by_keyword.to_dict()
    assert by_object.seed == 5 and by_object.mode == "exhaustive"


def test_the_decorator_declares_settings_a_check_overrides():
    @guard(inputs={"x": "D"}, D=[4], strict=True, max_examples=3, seed=7)
    def declared(x, units=4):
        return layers.Dense(units)(x)

    report = declared.check()
    assert report.strict is True and report.seed == 7
    assert check(declared, seed=9).seed == 9
    with pytest.raises(ShapeguardError, match="timeout must be"):
        guard(timeout=0)  # validated at decoration, like max_examples and seed


def exits_between_sizes(x):
    """Fails below 12, passes from 12, and ends its process at any size the
    search did not try: only a bisection of the size (an explanation probe)
    gets there."""
    if x.shape[1] not in (8, 32):
        os._exit(3)
    return layers.Conv1D(4, 12, padding="valid")(x)


def test_explanation_probes_go_through_the_guards():
    """Bisection probes a size between two tried ones; an ``os._exit`` there
    is the block's error at that size, not the end of the process."""
    report = check(exits_between_sizes, inputs={"x": "T,C"}, T=[8, 32], C=[4])
    [failure] = report.failures
    assert failure.example == {"T": 8, "C": 4} and failure.cause == "kernel larger than the input"
    confirm(failure, {"exits_between_sizes": exits_between_sizes})
    threshold = report.axis_summary["T"]["threshold"]
    assert threshold["probes"] == 1  # the first size between stopped the bisection, as a block error does
    assert (threshold["passes_from"], threshold["fails_at"]) == (32, 8)


def test_a_checks_own_setting_wins_even_at_its_default():
    @guard(inputs={"x": "D"}, D=[4], strict=True, timeout=5)
    def declared(x, units=4):
        return layers.Dense(units)(x)

    report = check(declared, strict=False, timeout=60)
    assert report.strict is False
    from shapeguard import engine

    assert engine.plan(declared, settings=CheckSettings(timeout=60)).settings.timeout == 60
    assert engine.plan(declared).settings.timeout == 5  # the decorator's, when the check says nothing


def test_the_decorator_refuses_bad_settings_and_templates_at_import():
    with pytest.raises(ShapeguardError, match="settings must be a shapeguard.CheckSettings"):
        guard(settings={"max_examples": 3})
    with pytest.raises(ShapeguardError, match="input_shapes must be a dict"):
        guard(input_shapes="H,W,3")
    with pytest.raises(ShapeguardError, match="CheckSettings has no setting 'sed'. Did you mean 'seed'"):
        CheckSettings(sed=1)


def interrupts_at_16(x, units=8):
    if units == 16:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C (a KeyboardInterrupt the block raises is its own error)
    return layers.Dense(units)(x)


def test_an_interrupted_check_is_never_ok():
    report = check(interrupts_at_16, inputs={"x": "D"}, D=[4], units=[8, 16, 32])
    assert report.interrupted and report.status == "pass" and not report.ok
    with pytest.raises(AssertionError, match="interrupted"):
        report.raise_for_failures()


def interrupts_between_sizes(x):
    if x.shape[1] not in (8, 32):
        os.kill(os.getpid(), signal.SIGINT)
    return layers.Conv1D(4, 12, padding="valid")(x)


def test_ctrl_c_while_bisecting_keeps_the_report():
    report = check(interrupts_between_sizes, inputs={"x": "T,C"}, T=[8, 32], C=[4])
    assert report.interrupted and not report.ok
    [failure] = report.failures
    assert failure.example == {"T": 8, "C": 4}
    confirm(failure, {"interrupts_between_sizes": interrupts_between_sizes})


def test_a_copy_keeps_the_resolved_budget_and_seed_without_giving_them():
    """The pytest plugin copies the planned settings (``replace(database=True)``):
    the seed stays 0, so every run repeats, and the budget nobody gave stays
    not given, so the time budget still decides."""
    resolved = CheckSettings().over(None)
    copy = resolved.replace(database=True)
    assert (copy.seed, copy.max_examples) == (0, 100)
    assert not copy.given("seed") and not copy.given("max_examples") and copy.given("database")
    assert CheckSettings(seed=5).over(None).replace(database=True).seed == 5
