"""Layers that declare their output shape (compute_output_shape) hide their
call() from symbolic Keras; shapeguard runs call() too. Every failure here is
confirmed with eager execution on small real arrays."""

import importlib

import keras
import pytest
from keras import layers

from helpers.eager_keras import run_eager
from shapeguard import check

pytestmark = pytest.mark.keras

buggy = importlib.import_module("examples.tcn_block")
fixed = importlib.import_module("examples.tcn_block_fixed")


def line_of(path: str, text: str) -> int:
    with open(path) as f:
        return next(i for i, line in enumerate(f, 1) if text in line and "line_of" not in line)


@pytest.fixture(scope="module")
def report():
    return buggy.tcn_stack.check()


def test_tcn_add_bug_is_found_inside_call(report):
    (failure,) = report.failures
    assert failure.kind == "shape" and failure.layer_class == "Add"
    assert failure.cause == "sequence length"
    assert failure.example == {"T": 16, "C": 8, "filters": 16, "kernel_size": 2}
    assert failure.location.file == buggy.__file__
    assert failure.location.line == line_of(buggy.__file__, "# residual add")
    assert failure.input_shapes == ((None, 16, 16), (None, 14, 16))
    # from the target down to the Add: the builder's line, then call()'s line
    assert [(line, fn) for _, line, fn in failure.chain] == [
        (line_of(buggy.__file__, "# the TCN block"), "tcn_stack"),
        (failure.location.line, "TemporalBlock.call"),
    ]
    assert "TemporalBlock.call -> Add" in str(report)
    assert failure.failing == 4 and failure.of == 6  # kernel_size 1 keeps the length


def test_tcn_failure_is_real_on_data_though_symbolic_keras_accepts_it(report):
    (failure,) = report.failures
    namespace = vars(buggy)
    eval(failure.call, {**namespace, "keras": keras})  # plain symbolic Keras: no error
    exc = run_eager(failure.call, namespace)
    assert isinstance(exc, ValueError), exc
    assert "Inputs have incompatible shapes" in str(exc) and "(16, 16) and (14, 16)" in str(exc)


def test_tcn_fixed_twin_passes_and_runs_on_data():
    checked = fixed.tcn_stack.check()
    assert checked.ok, checked
    assert run_eager("tcn_stack(keras.Input(shape=(16, 8)), filters=16, kernel_size=3)", vars(fixed)) is None


class Trimmed(layers.Layer):
    """Declares it keeps the length; call() trims the first steps (no crash)."""

    def __init__(self, trim=0, **kwargs):
        super().__init__(**kwargs)
        self.trim = trim

    def call(self, x):
        return x[:, self.trim :, :]

    def compute_output_shape(self, input_shape):
        return input_shape


def trims(x, trim=0):
    y = Trimmed(trim)(x)  # declared shape
    return layers.Dense(4)(y)


def test_declared_shape_that_call_does_not_produce_is_its_own_kind():
    report = check(trims, trim=[0, 2], inputs={"x": "T,C"}, T=[16], C=[4])
    (failure,) = report.failures
    assert failure.kind == "declared" and failure.layer_class == "Trimmed"
    assert failure.example["trim"] == 2
    assert failure.message == "Trimmed.compute_output_shape says (None, 16, 4), call() produces (None, 14, 4)"
    assert failure.location.line == line_of(__file__, "# declared shape")
    assert failure.input_shapes == ((None, 16, 4),)
    assert "declared failure: Trimmed" in str(report)
    # Real data: call() makes 14 steps where the layer says 16.
    out = Trimmed(2)(run_eager_array((2, 16, 4)))
    assert tuple(out.shape) == (2, 14, 4)
    assert Trimmed(2).compute_output_shape((2, 16, 4)) == (2, 16, 4)


def run_eager_array(shape):
    import numpy as np

    return np.zeros(shape, "float32")
