"""The check_fit examples (examples_fit/) and two of Keras's own applications.

Each example is reported on its side with its fix, and its fixed twin
passes; every failure was confirmed by check_fit's tiny real fit or predict
(a report holds no failure plain Keras did not raise). In-process: about 10 s
on 2 cores, most of it building and stepping the two MobileNets.
"""

from __future__ import annotations

import importlib

import keras
import pytest

import shapeguard

EXPECTED = {  # example -> (side, the layer or loss, the start of the fix)
    "data_rank": ("input", "Sequential", "reshape the data to the model's input: x.reshape((-1, 784))"),
    "data_width": ("input", "Dense", "give the model keras.Input(shape=(13,))"),
    "unbatched_predict": ("input", "Conv2D", "add the batch axis: model.predict(x[None])"),
    "missing_flatten": ("output", "sparse_categorical_crossentropy",
                        "add Flatten() or GlobalAveragePooling2D() before the last Dense"),
    "units": ("output", "categorical_crossentropy", "end the model with Dense(3)"),
    "onehot_sparse": ("output", "sparse_categorical_crossentropy",
                      "the labels are one-hot: use loss='categorical_crossentropy'"),
    "ids_categorical": ("output", "categorical_crossentropy",
                        "the labels are class ids: use loss='sparse_categorical_crossentropy'"),
    "two_inputs": ("input", "Functional", "give the model keras.Input(shape=(5,))"),
}

pytestmark = pytest.mark.keras


def example(name):
    return importlib.import_module(f"examples_fit.{name}")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_example_is_reported_on_its_side_with_its_fix_and_its_twin_passes(name):
    side, who, fix = EXPECTED[name]
    buggy = example(name)
    report = shapeguard.check_fit(buggy.build_model, **buggy.FIT)
    assert [(f.side, f.layer_class) for f in report.failures] == [(side, who)], report
    assert report.failures[0].hint.startswith(fix), report.failures[0].hint
    assert not report.errors  # no disagreement with the confirming step
    fixed = example(name + "_fixed")
    assert shapeguard.check_fit(fixed.build_model, **fixed.FIT).ok


def test_examples_fit_is_not_under_the_folder_the_golden_check_walks():
    from shapeguard._collect import python_files_under

    assert not [path for path in python_files_under("examples") if "examples_fit" in path]


def test_keras_applications_pass_at_their_size_and_fail_on_the_input_side_otherwise():
    v2 = keras.applications.MobileNetV2(alpha=0.35, input_shape=(96, 96, 3), weights=None, classes=10)
    loss = "sparse_categorical_crossentropy"
    assert shapeguard.check_fit(v2, (8, 96, 96, 3), (8,), loss=loss).ok
    (channels,) = shapeguard.check_fit(v2, (8, 96, 96, 1), (8,), loss=loss).failures
    assert (channels.side, channels.data_shape, channels.model_shape) == ("input", (None, 96, 96, 1),
                                                                          (None, 96, 96, 3))
    v3 = keras.applications.MobileNetV3Small(input_shape=(32, 32, 3), minimalistic=True, weights=None,
                                             classes=10, include_preprocessing=False)
    assert shapeguard.check_fit(v3, (8, 32, 32, 3), mode="predict").ok
    (size,) = shapeguard.check_fit(v3, (8, 48, 48, 3), mode="predict").failures
    assert (size.side, size.data_shape, size.model_shape) == ("input", (None, 48, 48, 3), (None, 32, 32, 3))
