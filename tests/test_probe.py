"""One probe: what counts as a shape failure, a config failure, a user error,
and where it is attributed. Each failure is confirmed with plain Keras."""

import gc

import keras
import pytest
from keras import layers, ops

from helpers.plain_keras import confirm
from shapeguard import check
from shapeguard._probe import fast as _fast
from shapeguard._probe import probe
from shapeguard.space import build_space

pytestmark = pytest.mark.keras

KERAS = tuple(int(part) for part in keras.__version__.split(".")[:2])

THIS_FILE = __file__


def line_of(text: str) -> int:
    with open(THIS_FILE) as f:
        return next(i for i, line in enumerate(f, 1) if text in line and "line_of" not in line)


def add_operator(x, filters=8):
    y = layers.Conv2D(filters, 1)(x)
    return x + y  # operator add


def ops_concat(x, strides=1):
    y = layers.Conv2D(4, 1, strides=strides)(x)
    return ops.concatenate([x, y], axis=-1)  # ops concatenate


def dense_twice(x, units=8):
    dense = layers.Dense(units)
    y = dense(x)
    return dense(y)  # input check of a shared layer


def reshape(x, units=8):
    return layers.Reshape((units, 2))(x)  # reshape to a size that may not fit


def zero_filters(x, filters=8):
    return layers.Conv2D(filters // 16, 1)(x)  # zero filters


def typo(x, filters=8):
    y = layers.Conv2D(filters, 1)(x)
    return y + "1"  # not a tensor


def user_type_error(x, filters=8):
    if filters > 8:
        raise TypeError("filters must be small")  # the block's own error
    return layers.Conv2D(filters, 1)(x)


SMALL = dict(C=[8, 16], H=[4], max_examples=50)


def only_failure(report):
    assert len(report.failures) == 1 and report.errors == [], report
    return report.failures[0]


def test_operator_add_is_a_shape_failure_at_the_user_line():
    failure = only_failure(check(add_operator, filters=[8, 16], **SMALL))
    assert failure.kind == "shape" and failure.layer_class == "Add" and failure.cause == "channels"
    assert failure.location.file == THIS_FILE and failure.location.line == line_of("# operator add")
    # filters keeps its default (preferred), so the input's channels move
    assert failure.input_shapes == ((None, 4, 4, 16), (None, 4, 4, 8))
    assert failure.example == {"C": 16, "H": 4, "filters": 8}
    confirm(failure, globals())


def test_ops_concatenate_is_a_shape_failure():
    failure = only_failure(check(ops_concat, strides=[1, 2], C=[8], H=[4, 5], max_examples=50))
    assert failure.kind == "shape" and failure.layer_class == "Concatenate"
    assert failure.location.line == line_of("# ops concatenate")
    assert failure.example["strides"] == 2
    confirm(failure, globals())


def test_failed_input_check_is_a_shape_failure():
    failure = only_failure(check(dense_twice, units=[8, 16], inputs={"x": "C"}, C=[8], max_examples=50))
    assert failure.kind == "shape" and failure.layer_class == "Dense"
    assert failure.cause == "input channels do not match the built layer"
    assert failure.location.line == line_of("# input check of a shared layer")
    assert failure.example == {"C": 8, "units": 16}
    confirm(failure, globals())  # counts layer names afresh: the message names the layer ('dense')


def test_layer_that_cannot_compute_its_output_is_a_shape_failure():
    failure = only_failure(check(reshape, units=[8, 5], inputs={"x": "4,C"}, C=[4], max_examples=50))
    assert failure.kind == "shape" and failure.layer_class == "Reshape"
    assert failure.cause == "reshape size mismatch"
    assert failure.example["units"] == 5
    confirm(failure, globals())


def test_layer_rejecting_its_arguments_is_a_config_failure():
    failure = only_failure(check(zero_filters, filters=[16, 8], **SMALL))
    assert failure.kind == "config" and failure.layer_class == "Conv2D"
    assert failure.cause == "invalid argument value"
    assert failure.location.line == line_of("# zero filters")
    assert failure.example["filters"] == 8 and failure.input_shapes == ()
    assert "strictly positive" in failure.message
    confirm(failure, globals())


def test_user_error_is_reported_as_error_not_as_shape_bug():
    report = check(user_type_error, filters=[8, 16], **SMALL)
    assert report.failures == [] and report.status == "error" and not report.ok
    (error,) = report.errors
    assert error.type == "TypeError" and error.message == "filters must be small"
    assert error.location.line == line_of("# the block's own error")
    assert error.example["filters"] == 16
    assert "raised TypeError" in str(report)


def test_a_non_tensor_operand_is_an_error_of_the_block_not_a_shape_failure():
    report = check(typo, filters=[8], **SMALL)
    assert report.failures == [] and report.status == "error"
    (error,) = report.errors
    assert error.cause == "not a tensor" and error.location.line == line_of("# not a tensor")


def list_operand(x, filters=8):
    y = layers.Conv2D(filters, 1)(x)
    return y + [x]  # a list, not a tensor


def extra_positional(x, filters=8):
    return layers.Conv2D(filters, 1)(x, "oops")  # a string as second input


def too_wide(x, filters=8):
    return layers.Conv2D(filters, 1)(x)  # too large to allocate


@pytest.mark.parametrize("block, cause, text", [
    (list_operand, "not a tensor", "Invalid dtype: list"),
    (extra_positional, "non-tensor positional argument", "Only input tensors may be passed as positional"),
])
def test_wrong_values_given_to_a_layer_are_errors_of_the_block(block, cause, text):
    report = check(block, filters=[8], C=[8], H=[4])
    assert report.failures == [] and report.status == "error", report
    (error,) = report.errors
    assert error.cause == cause and text in error.message
    assert error.location.file == THIS_FILE and error.location.line == line_of(
        {list_operand: "# a list, not", extra_positional: "# a string as second"}[block])


@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="plain Keras on JAX and NumPy builds a symbolic call's weights deferred: it passes")
def test_running_out_of_memory_is_an_error_not_a_config_failure():
    """2**31-1 input channels (the largest size a space takes) and 2**20
    filters on the plain Keras path with real weights: the kernel cannot be
    allocated (TensorFlow's ResourceExhaustedError, "OOM when allocating"), at
    once, on any machine. That is an error of the check, not a config failure."""
    space = build_space(too_wide, {"filters": [2**20], "C": [2**31 - 1], "H": [4]})
    outcome = probe(too_wide, space, (0, 0, 0), fast=False, real_weights=True)
    assert outcome.status == "error" and outcome.error_type == "ResourceExhaustedError"
    assert outcome.cause == "out of memory" and outcome.line == line_of("# too large to allocate")
    assert outcome.message.startswith("OOM when allocating tensor with shape[1,1,2147483647,1048576]")


@pytest.mark.skipif(not _fast.available(), reason="the fast path needs Keras >= 3.5; this Keras uses the plain path")
def test_shapes_are_checked_without_making_weights():
    """The probe's weights hold no value: a layer far too wide to allocate
    still has its shapes checked, and passes (README, "What a probe reports")."""
    report = check(too_wide, filters=[2**20], C=[2**31 - 1], H=[4])
    assert report.ok and report.probes == 1, report


def short_conv(x, kernel_size=1):
    return layers.Conv1D(4, kernel_size)(x)  # valid convolution


def short_pool(x, kernel_size=1):
    return layers.MaxPooling1D(kernel_size)(x)  # valid pooling


@pytest.mark.parametrize("block, layer_class", [
    (short_conv, "Conv1D"),
    pytest.param(short_pool, "MaxPooling1D", marks=pytest.mark.skipif(
        KERAS < (3, 13), reason="Keras before 3.13 gives a pooled length of 0 instead of raising")),
])
def test_a_sequence_too_short_is_the_same_kind_whatever_the_layer(block, layer_class):
    failure = only_failure(check(block, kernel_size=[1, 7], inputs={"x": "T,C"}, T=[5], C=[4]))
    assert failure.kind == "shape" and failure.layer_class == layer_class
    assert failure.cause == "kernel larger than the input" and failure.example["kernel_size"] == 7
    assert failure.input_shapes == ((None, 5, 4),)
    confirm(failure, globals())


def tf_function(x, filters=8):
    import tensorflow as tf

    return tf.nn.relu(layers.Conv2D(filters, 1)(x))  # a TensorFlow function


def test_wrapped_messages_keep_what_went_wrong_and_what_to_do():
    report = check(tf_function, filters=[8], C=[8], H=[4])
    (error,) = report.errors
    assert error.message.startswith("A KerasTensor cannot be used as input to a TensorFlow function.")
    assert "What you should do instead is wrap `tf_fn` in a layer" in error.message
    assert "```" not in error.message and "something like" not in error.message
    assert error.location.line == line_of("# a TensorFlow function")


def test_ops_concatenate_cause_leaves_out_the_concat_axis():
    failure = only_failure(check(ops_concat, strides=[1, 2], C=[8], H=[4, 5], max_examples=50))
    assert failure.cause == "spatial"


def test_layer_names_and_keras_counters_are_untouched():
    from keras.src.backend.common import global_state

    layers.Dense(2)  # the user's own counters
    before = dict(global_state.get_global_attribute("object_name_uids"))
    first = check(add_operator, filters=[8, 16], **SMALL)
    second = check(add_operator, filters=[8, 16], **SMALL)
    assert first.failures[0].layer_name == second.failures[0].layer_name == "add"
    assert dict(global_state.get_global_attribute("object_name_uids")) == before
    assert keras.config.is_traceback_filtering_enabled()


def hangs_on_wide(x, filters=8):
    y = layers.Conv2D(filters, 1)(x)
    while filters > 8:
        try:
            pass  # spins, and swallows ordinary exceptions
        except Exception:
            pass
    return y


def test_a_block_that_hangs_is_stopped_and_reported_as_an_error():
    report = check(hangs_on_wide, filters=[8, 16, 32], C=[8], H=[4], timeout=0.5)
    assert report.status == "error" and report.failures == []
    (error,) = report.errors
    assert error.type == "Timeout" and "did not return within 0.5 s" in error.message
    assert error.example["filters"] == 16
    assert error.location.line in range(line_of("while filters > 8"), line_of("except Exception:") + 2)
    assert report.probes == 3  # a hang ends that call, not the search (issue 9, point 11)
    assert (error.failing, error.of) == (2, 3)
    assert "the block hung" in str(report) and "all 3 combinations probed" in str(report)


@pytest.mark.skipif(KERAS < (3, 12), reason="Keras before 3.12 does not wrap a layer's error in this message")
def test_keras_call_wrapper_is_left_out_of_the_message():
    """With Keras's traceback filtering on (a normal call), a failing call is
    re-raised as 'Exception encountered when calling Reshape.call(). ...
    Arguments received by ...': the message keeps the middle, the cause."""
    from shapeguard._probe.classify import classify

    assert keras.config.is_traceback_filtering_enabled()
    with pytest.raises(ValueError) as caught:
        layers.Reshape((3, 2))(keras.Input((5, 8)))
    assert "Exception encountered when calling" in str(caught.value)
    message = classify(caught.value).message
    assert message == "The total size of the tensor must be unchanged. Received: input_shape=(5, 8), target_shape=(3, 2)"
