"""One probe: what counts as a shape failure, a config failure, a user error,
and where it is attributed. Each failure is confirmed with plain Keras."""

import gc

import keras
import pytest
from keras import layers, ops

from plain_keras import confirm
from shapeguard import check

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
    assert failure.kind == "shape" and failure.layer_class == "Add"
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
    assert failure.location.line == line_of("# input check of a shared layer")
    assert failure.example == {"C": 8, "units": 16}
    confirm(failure, globals())


def test_layer_that_cannot_compute_its_output_is_a_shape_failure():
    failure = only_failure(check(reshape, units=[8, 5], inputs={"x": "4,C"}, C=[4], max_examples=50))
    assert failure.kind == "shape" and failure.layer_class == "Reshape"
    assert failure.example["units"] == 5
    confirm(failure, globals())


def test_layer_rejecting_its_arguments_is_a_config_failure():
    failure = only_failure(check(zero_filters, filters=[16, 8], **SMALL))
    assert failure.kind == "config" and failure.layer_class == "Conv2D"
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


def test_keras_rejecting_a_non_tensor_is_attributed_to_the_op():
    failure = only_failure(check(typo, filters=[8], **SMALL))
    assert failure.layer_class == "Add" and failure.location.line == line_of("# not a tensor")


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
