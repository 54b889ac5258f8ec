"""The fast probe path (`shapeguard._probe.fast`: valueless weights, cached
signatures, no GC) against plain Keras, layer by layer: on a Hypothesis-made
corpus of single layers and inputs (`helpers.layer_cases`), both agree on
pass or fail, on the class of the layer that failed, and on the output
shapes. (Whole random blocks are compared in test_fuzz.py.) `--fuzz-examples
N` makes the corpus larger."""

from __future__ import annotations

import keras
import pytest
from hypothesis import HealthCheck, given, settings

from helpers.layer_cases import single_layers
from shapeguard._probe import fast as _fast, isolation as _keras_state

pytestmark = pytest.mark.keras


def verdict(make, shapes, fast: bool):
    """('pass', output shapes) or ('fail', innermost Keras operation class)."""
    from keras.src.ops.operation import Operation

    with _keras_state.isolated(), _fast.cheap_keras(fast):
        try:
            out = make(*(keras.Input(shape=s) for s in shapes))
        except Exception as exc:  # noqa: BLE001 - the verdict is the point
            layer, tb = None, exc.__traceback__
            while tb is not None:
                owner = tb.tb_frame.f_locals.get("self")
                if isinstance(owner, Operation):
                    layer = type(owner).__name__
                tb = tb.tb_next
            return "fail", layer, type(exc).__name__
        return "pass", tuple(tuple(t.shape) for t in keras.tree.flatten(out))


@pytest.fixture(scope="module")
def tally():
    counts = {"layers": 0, "failing": 0}
    yield counts
    print(f"\ndifferential: {counts['layers']} single layers compared, {counts['failing']} failing in both")


def test_the_fast_path_is_available_here():
    if tuple(int(part) for part in keras.__version__.split(".")[:2]) < (3, 5):
        pytest.skip("the fast path needs Keras >= 3.5; this Keras runs every probe on the plain path")
    assert _fast.available()  # else every probe runs the plain path and this file proves nothing


def test_fast_and_plain_keras_agree_layer_by_layer(request, tally):
    examples = max(60, request.config.getoption("fuzz_examples", 15) * 4)

    @settings(max_examples=examples, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(single_layers())
    def agree(case):
        description, make, shapes = case
        plain, fast = verdict(make, shapes, fast=False), verdict(make, shapes, fast=True)
        assert fast == plain, f"{description} on {shapes}: fast {fast} != plain {plain}"
        tally["layers"] += 1
        tally["failing"] += plain[0] == "fail"

    agree()
    assert tally["failing"] > 0 and tally["failing"] < tally["layers"]  # both verdicts were exercised
