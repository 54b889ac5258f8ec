"""Explanations against plain Keras (issue 17, "Trust, round 2"): every
`when:`, nearest pass and probed `fix:` of an exhaustive check is checked
against the whole enumeration and plain Keras.

On random blocks (tests/helpers/fuzz_blocks.py, each also in a channels_first
variant: templates written channels-first, Keras's image data format set to
channels_first for the check and for plain Keras), on the shipped examples and
on tests/helpers/trust_blocks.py:

* every exact condition holds at every point failing in its mode and at no
  passing point of the enumeration (for random blocks every point's verdict is
  also compared with plain Keras, `fuzz_blocks.compare`);
* every nearest pass passes in plain Keras;
* every probed fix's call (``hint_probe``) passes in plain Keras, and every
  shortcut projection a fix names, applied to the shortcut in plain Keras,
  merges with the main path;
* a search's conditions (a small budget, its verification sample) hold at
  every point of the exhaustive enumeration of the same space.

Disagreements are counted, not stopped at; the session ends with the tally
(`explain: N blocks, ...`). A small corpus runs in every session;
``python -m pytest -m fuzz --fuzz-examples 400 tests/test_explain_differential.py``
runs a large one.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from contextlib import contextmanager
from functools import lru_cache

import pytest

from helpers import fuzz_blocks
from helpers.command_line import REPO
from helpers.eager_keras import confirm_plain_or_eager, run_eager

import shapeguard

pytestmark = pytest.mark.keras

CHUNK = 25  # random blocks per test item
SMALL = 15  # random blocks (each in both layouts) when --fuzz-examples is left at its default
SEARCH_BUDGET = 8  # max_examples of the search whose conditions are checked against the enumeration
trust = importlib.import_module("helpers.trust_blocks")

# trust_blocks' blocks and the spaces they are checked on (tiny, enumerated)
TRUST = {
    "cf_residual": dict(inputs={"x": "H,W,C"}, H=[4], W=[5], C=[4, 8], filters=[8],
                        data_format=["channels_last", "channels_first"]),
    "cf_strided": dict(inputs={"x": "C,H,W"}, C=[4], H=[4], W=[6, 8], strides=[1, 2]),
    "cf_global": dict(inputs={"x": "C,H,W"}, C=[4, 8], H=[4], W=[5]),
    "se_gate": dict(inputs={"x": "4,4,C"}, C=[4, 8]),
    "strided_valid": dict(inputs={"x": "H,H,4"}, H=[8, 9]),
    "strided_pointwise": dict(inputs={"x": "H,H,4"}, H=[8, 9]),
    "grouped_filters": dict(inputs={"x": "4,4,8"}, filters=[6, 8], groups=[2, 4]),
    "valid_param": dict(inputs={"x": "T,4"}, T=[8, 9], padding=["valid", "same"]),
    "valid_then_long": dict(inputs={"x": "T,4"}, T=[8, 16]),
    "fixed_kernel": dict(inputs={"x": "T,4"}, T=[8, 9], kernel_size=[1, 3, 5]),
    "upsampled_residual": dict(inputs={"x": "H,H,4"}, H=[4]),
}
# The examples in every session; a large run (--fuzz-examples given) takes every one.
SEED = "shapeguard/examples/resnext_block.py"  # shipped in the package for the quick start
SMALL_EXAMPLES = (SEED, "examples/tcn_block.py")


def _blocks(config) -> int:
    from conftest import DEFAULT_FUZZ_EXAMPLES

    n = config.getoption("--fuzz-examples")
    return SMALL if n == DEFAULT_FUZZ_EXAMPLES else max(n, 0)


def _examples(config) -> list[str]:
    from conftest import DEFAULT_FUZZ_EXAMPLES

    if config.getoption("--fuzz-examples") == DEFAULT_FUZZ_EXAMPLES:
        return list(SMALL_EXAMPLES)
    return [SEED] + sorted(f"examples/{name}" for name in os.listdir(REPO / "examples")
                           if name.endswith(".py") and not name.endswith("_fixed.py") and name != "__init__.py")


def pytest_generate_tests(metafunc):
    if "chunk" in metafunc.fixturenames:
        n = _blocks(metafunc.config)
        starts = range(0, n, CHUNK)
        metafunc.parametrize("chunk", [(s, min(s + CHUNK, n)) for s in starts],
                             ids=[f"blocks{s}-{min(s + CHUNK, n) - 1}" for s in starts])
    if "example" in metafunc.fixturenames:
        metafunc.parametrize("example", _examples(metafunc.config))


@lru_cache(maxsize=1)
def corpus(n: int) -> list:
    return fuzz_blocks.corpus(n)


class Tally:
    """What was checked and what disagreed, for the session's summary line."""

    def __init__(self):
        self.blocks = self.conditions = self.nearest = self.hints = 0
        self.problems: list[str] = []

    def record(self, request) -> None:
        request.node.user_properties.append(
            ("explain", (self.blocks, self.conditions, self.nearest, self.hints, len(self.problems))))


def plain(call: str, namespace: dict):
    """`fuzz_blocks.plain_keras`, Keras's image data format put back after
    (a block may set it, as trust_blocks.cf_global does)."""
    import keras

    with image_format(keras.config.image_data_format()):
        return fuzz_blocks.plain_keras(call, namespace)


def holds(condition: dict, example: dict) -> bool:
    """The condition's Python expression at a point (shapeguard's own output,
    over the axis names; no builtins)."""
    return bool(eval(condition["expression"], {"__builtins__": {}}, {**condition["constants"], **example}))


def outcome_at(report, example):
    return next(o for e, o in report.outcomes if e == example)


def projection_matches(failure) -> bool:
    """The hint's projection, applied to the shortcut in plain Keras, can be
    merged with the main path: the failing merge layer builds on the main
    path's shape and the projected shortcut (a size of 1 broadcasts, as in
    Keras's merges)."""
    import re

    import keras

    found = re.search(r"(Conv[123]D\([^()]*\))\(\w+\)$", failure.hint)
    if found is None:
        return False
    identity = next(b for b in failure.branches if b.identity)
    main = next(b for b in failure.branches if not b.identity)
    layer = eval(found.group(1), {"__builtins__": {}, **{n: getattr(keras.layers, n) for n in
                                                          ("Conv1D", "Conv2D", "Conv3D")}})
    projected = layer(keras.Input(shape=identity.shape[1:]))
    merge = getattr(keras.layers, failure.layer_class)()
    try:
        merge([keras.Input(shape=main.shape[1:]), projected])
    except ValueError:
        return False
    return True


def check_report(report, namespace: dict, tally: Tally, where: str, enumeration=None) -> None:
    """Every exact condition of ``report`` against ``enumeration`` (the
    exhaustive report of the same space; ``report`` itself by default), its
    nearest passes and probed fixes against plain Keras."""
    enumeration = enumeration or report
    assert enumeration.mode == "exhaustive" and not enumeration.interrupted, where
    for failure in report.failures:
        condition = failure.condition
        if condition is not None and condition["expression"] is not None:
            mode = outcome_at(report, failure.example).mode
            tally.conditions += 1
            for example, outcome in enumeration.outcomes:
                if outcome.mode == mode and not holds(condition, example):
                    tally.problems.append(f"{where}: 'when: {condition['text']}' is false at {example}, "
                                          "which fails in its mode")
                elif not outcome.failed and holds(condition, example):
                    tally.problems.append(f"{where}: 'when: {condition['text']}' is true at {example}, "
                                          "which passes")
        if failure.nearest_pass is not None:
            tally.nearest += 1
            exc = plain(failure.nearest_pass["call"], namespace)
            if exc is not None:
                tally.problems.append(f"{where}: nearest pass {failure.nearest_pass['call']} fails in plain "
                                      f"Keras: {type(exc).__name__}: {str(exc)[:200]}")
        if failure.hint_probe is not None:
            tally.hints += 1
            exc = plain(failure.hint_probe["call"], namespace)
            if exc is not None:
                tally.problems.append(f"{where}: the fix's call {failure.hint_probe['call']} fails in plain "
                                      f"Keras: {type(exc).__name__}: {str(exc)[:200]}")
            if "(probed: " not in (failure.hint or ""):
                tally.problems.append(f"{where}: a probed fix does not say so: {failure.hint}")
        elif failure.hint is not None and "project the shortcut" in failure.hint:
            tally.hints += 1  # a change of the block's code: the projection it names, applied in plain Keras
            if not projection_matches(failure):
                tally.problems.append(f"{where}: the projection in {failure.hint!r} does not merge with the "
                                      "main path in plain Keras")


def confirmed(failure, namespace: dict) -> None:
    """Plain Keras raises at the failure's call, in its layer, with its message;
    where the symbolic path accepts it (a layer that declares its output
    shape) or wraps the error, the same call on small real arrays raises."""
    if plain(failure.call, namespace) is None:
        exc = run_eager(failure.call, namespace)
        assert exc is not None and " ".join(failure.message.split()) in " ".join(str(exc).split()), (
            failure.call, exc)
        return
    import keras

    with image_format(keras.config.image_data_format()):
        confirm_plain_or_eager(failure.call, failure.layer_class, failure.message, namespace, models=("Functional",))


def check_search(fn, options: dict, enumeration, namespace: dict, tally: Tally, where: str) -> None:
    """A search of the same space on a small budget: its conditions hold on the whole enumeration."""
    if enumeration.probes <= SEARCH_BUDGET:
        return
    searched = shapeguard.check(fn, **options, max_examples=SEARCH_BUDGET, exhaustive=False)
    assert searched.mode == "search", where
    check_report(searched, namespace, tally, f"{where} (search)", enumeration)


@contextmanager
def image_format(layout: str):
    import keras

    before = keras.config.image_data_format()
    keras.config.set_image_data_format(layout)
    try:
        yield
    finally:
        keras.config.set_image_data_format(before)


def channels_first(spec: fuzz_blocks.BlockSpec) -> fuzz_blocks.BlockSpec:
    """The same block with every template written channels-first (``H,W,C`` -> ``C,H,W``)."""
    rotated = {}
    for name, template in spec.inputs.items():
        dims = template.split(",")
        rotated[name] = ",".join(dims[-1:] + dims[:-1])
    return dataclasses.replace(spec, inputs=rotated)


@pytest.mark.fuzz
def test_random_blocks_explanations_agree_with_plain_keras(chunk, request, tmp_path):
    start, stop = chunk
    specs = corpus(max(_blocks(request.config), stop))
    tally, layouts_failing = Tally(), set()
    for index in range(start, stop):
        for layout in ("channels_last", "channels_first"):
            spec = specs[index] if layout == "channels_last" else channels_first(specs[index])
            module = fuzz_blocks.write_module(spec, tmp_path, f"explain_block_{index:04d}_{layout}")
            where = f"block {index} ({layout}), inputs {spec.inputs}, axes {spec.axes}"
            with image_format(layout):
                report, problems = fuzz_blocks.compare(spec, module)  # every point's verdict, against plain Keras
                tally.problems += [f"{where}: {p}" for p in problems]
                check_report(report, vars(module), tally, where)
            tally.blocks += 1
            if report.failures:
                layouts_failing.add(layout)
            if any(where in p for p in tally.problems):
                tally.problems.append(f"{where}: source:\n{spec.source()}")
    tally.record(request)
    assert not tally.problems, f"{len(tally.problems)} disagreements:\n" + "\n".join(tally.problems)
    assert layouts_failing == {"channels_last", "channels_first"}, "a layout whose blocks never fail tests nothing"
    assert tally.conditions, "no condition was stated: the corpus tests nothing"


@pytest.mark.fuzz
def test_example_explanations_agree_with_plain_keras(example, request):
    from shapeguard._collect import collect

    tally = Tally()
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        targets = [t for t in collect(example) if t.function is not None]
    finally:
        os.chdir(cwd)
    assert targets, example
    for target in targets:
        fn = target.function
        report = shapeguard.check(fn, exhaustive=True)
        namespace = vars(importlib.import_module(getattr(fn, "__module__", None)
                                                 or type(fn).__module__))
        for failure in report.failures:  # what is explained is a real failure
            confirmed(failure, namespace)
        check_report(report, namespace, tally, target.name)
        for failure in report.failures:  # a layer that declares its shape passes symbolically: real arrays too
            for call in [p["call"] for p in (failure.nearest_pass, failure.hint_probe) if p is not None]:
                exc = run_eager(call, namespace)
                if exc is not None:
                    tally.problems.append(f"{target.name}: {call} fails on real arrays: {exc!r:.200}")
        check_search(fn, {}, report, namespace, tally, target.name)
        tally.blocks += 1
    tally.record(request)
    assert not tally.problems, f"{len(tally.problems)} disagreements:\n" + "\n".join(tally.problems)


@pytest.mark.parametrize("name", sorted(TRUST))
def test_trust_block_explanations_agree_with_plain_keras(name, request):
    tally = Tally()
    fn = getattr(trust, name)
    report = shapeguard.check(fn, exhaustive=True, **TRUST[name])
    assert report.failures, report
    for failure in report.failures:
        confirmed(failure, vars(trust))
    check_report(report, vars(trust), tally, name)
    check_search(fn, TRUST[name], report, vars(trust), tally, name)
    tally.blocks += 1
    tally.record(request)
    assert not tally.problems, "\n".join(tally.problems)


# ---- what a user reads in each trust block's report (each failure confirmed by plain Keras) ----


def checked(name: str, **changes):
    report = shapeguard.check(getattr(trust, name), exhaustive=True, **{**TRUST[name], **changes})
    for failure in report.failures:
        confirmed(failure, vars(trust))
    return report


def test_a_channel_mismatch_is_one_channels_mode_in_either_layout_and_the_fix_names_the_filters():
    report = checked("cf_residual")
    (failure,) = report.failures  # not one mode per layout
    assert failure.cause == "channels" and failure.failing == 2
    layouts = {e["data_format"] for e, o in report.outcomes if o.failed}
    assert layouts == {"channels_last", "channels_first"}
    first = checked("cf_residual", data_format=["channels_first"])
    (failure,) = first.failures
    assert failure.cause == "channels" and "Conv2D(8, 1, strides=1, data_format='channels_first')" in failure.hint
    assert projection_matches(failure)


def test_a_width_mismatch_in_channels_first_is_spatial():
    (failure,) = checked("cf_strided").failures
    assert failure.cause == "spatial" and failure.example["strides"] == 2


def test_keras_layout_set_by_the_block_is_read_at_the_point():
    (failure,) = checked("cf_global").failures
    assert failure.cause == "channels" and "Conv2D(8, 1, strides=1, data_format='channels_first')" in failure.hint
    import keras

    assert keras.config.image_data_format() == "channels_last"  # the probes put it back


def test_a_gate_is_not_a_shortcut_to_project():
    (failure,) = checked("se_gate").failures
    assert failure.layer_class == "Multiply" and failure.cause == "channels"
    assert failure.hint is None
    texts = [branch.text() for branch in failure.branches]  # the gated input is not called a shortcut
    assert not any("shortcut" in text for text in texts) and any("(unchanged)" in text for text in texts), texts


def test_a_stride_shrink_gets_no_padding_fix():
    (failure,) = checked("strided_valid").failures
    assert failure.hint is None  # neither padding='same' nor a strided 1x1 projection makes the sizes match
    (failure,) = checked("strided_pointwise").failures
    assert "padding" not in failure.hint and "strides=2" in failure.hint and projection_matches(failure)
    (failure,) = checked("upsampled_residual").failures
    assert failure.hint is None  # a transposed convolution grew it: a strided projection would shrink the shortcut


def test_filters_not_divisible_by_groups_is_named_as_filters():
    (failure,) = checked("grouped_filters").failures
    assert failure.cause == "filters not divisible by groups"
    assert "`filters`" in failure.hint and "input channels" not in failure.hint


def test_a_fix_that_is_one_argument_is_probed_before_it_is_printed():
    (failure,) = checked("valid_param").failures  # padding an axis: the point padding='same' of the space
    assert failure.hint_probe["call"] == "valid_param(keras.Input(shape=(8, 4)), padding='same')"
    assert "(probed: the same call with padding='same' passes)" in failure.hint
    assert plain(failure.hint_probe["call"], vars(trust)) is None
    (failure,) = checked("valid_param", padding=["valid"]).failures  # padding kept at its default: one argument changed
    assert failure.hint_probe["call"] == "valid_param(keras.Input(shape=(8, 4)), padding='same')"
    (failure,) = checked("valid_then_long").failures
    assert failure.hint is None and failure.hint_probe is None  # padding='same' does not make it pass:
    assert plain("valid_then_long(keras.Input(shape=(8, 4)), padding='same')", vars(trust)) is not None


def test_a_condition_never_names_a_constant_and_prefers_one_axis():
    report = checked("fixed_kernel")
    (failure,) = report.failures
    assert failure.condition["text"] == "fails when kernel_size != 3"
    assert "expansion" not in str(report)
