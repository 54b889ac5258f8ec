"""`shapeguard.check_fit`: the model against its data and loss, as the
installed Keras judges them. In-process and cheap: each model is a few small
layers. Every failure asserted here was confirmed by check_fit's own tiny real
step (a report never holds a failure plain Keras did not raise); every pass
the issue calls forgiving is checked against a real ``fit`` here too.
"""

from __future__ import annotations

import importlib
import json

import keras
import numpy as np
import pytest

import shapeguard
from shapeguard._fitdata import FitDataError

pytestmark = pytest.mark.keras


def cnn(head=True):
    layers = [keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3)]
    layers += [keras.layers.Flatten()] if head else []
    return keras.Sequential(layers + [keras.layers.Dense(10, activation="softmax")])


def really_fits(model, x_shape, y_shape, loss) -> bool:
    """Plain Keras, no shapeguard: one fit step of a clone on 2 zero samples."""
    clone = keras.models.clone_model(model)
    clone.compile(optimizer="sgd", loss=loss)
    try:
        clone.fit(np.zeros((2,) + x_shape[1:]), np.zeros((2,) + y_shape[1:]), epochs=1, verbose=0)
    except Exception:  # noqa: BLE001
        return False
    return True


@pytest.mark.parametrize("x, y, loss, output", [
    ((60000, 28, 28), (60000,), "sparse_categorical_crossentropy", 10),  # a trailing axis of size 1 added
    ((60000, 784), (60000,), "binary_crossentropy", 1),  # (N,) labels for an (N, 1) output
    ((60000, 784), (60000,), "mse", 1),
])
def test_what_keras_3_forgives_passes(x, y, loss, output):
    first = [keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3), keras.layers.Flatten()] if len(x) == 3 else \
        [keras.Input((784,))]
    model = keras.Sequential(first + [keras.layers.Dense(output)])
    report = shapeguard.check_fit(model, x, y, loss=loss)
    assert report.ok, report
    assert really_fits(model, x, y, loss)


def test_wrong_channels_is_the_input_side_with_both_shapes():
    report = shapeguard.check_fit(cnn(), (100, 28, 28, 3), (100,), loss="sparse_categorical_crossentropy")
    assert not report.ok
    (failure,) = report.failures
    assert (failure.side, failure.layer_class) == ("input", "Conv2D")
    assert failure.data_shape == (None, 28, 28, 3) and failure.model_shape == (None, 28, 28, 1)
    assert "keras.Input(shape=(28, 28, 3))" in failure.hint
    assert "input side: the data (None, 28, 28, 3) against the model's input (None, 28, 28, 1)" in str(report)
    assert not really_fits(cnn(), (100, 28, 28, 3), (100,), "sparse_categorical_crossentropy")


def test_the_compiled_loss_is_the_default_and_a_given_loss_overrides_it():
    model = cnn()
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    compiled = shapeguard.check_fit(model, (10, 28, 28, 1), (10,))
    assert [(f.side, f.layer_class) for f in compiled.failures] == [("output", "categorical_crossentropy")]
    assert "sparse_categorical_crossentropy" in compiled.failures[0].hint
    given = shapeguard.check_fit(model, (10, 28, 28, 1), (10,), loss=keras.losses.SparseCategoricalCrossentropy())
    assert given.ok, given


def test_every_kind_of_data_is_read_without_loading_it(tmp_path):
    """An array, a shape tuple, an .npy file (header only) and a tf.data.Dataset
    (its element spec) of the same shape get the same verdict."""
    import tensorflow as tf

    path = tmp_path / "x.npy"
    np.save(path, np.zeros((6, 28, 28, 3), dtype="float32"))
    dataset = tf.data.Dataset.from_tensor_slices((np.zeros((6, 28, 28, 3)), np.zeros(6))).batch(2)
    model, loss = cnn(), "sparse_categorical_crossentropy"
    reports = [shapeguard.check_fit(model, np.zeros((6, 28, 28, 3)), np.zeros(6), loss=loss),
               shapeguard.check_fit(model, (6, 28, 28, 3), (6,), loss=loss),
               shapeguard.check_fit(model, str(path), (6,), loss=loss),
               shapeguard.check_fit(model, dataset, loss=loss)]
    assert [(f.side, f.data_shape) for r in reports for f in r.failures] == [("input", (None, 28, 28, 3))] * 4


def test_predict_reads_the_first_axis_as_samples():
    report = shapeguard.check_fit(cnn(), np.zeros((28, 28, 1)), mode="predict")
    (failure,) = report.failures
    assert failure.side == "input" and "model.predict(x[None])" in failure.hint
    assert shapeguard.check_fit(cnn(), np.zeros((1, 28, 28, 1)), mode="predict").ok


def test_the_json_names_the_side_and_both_shapes():
    report = shapeguard.check_fit(cnn(head=False), (10, 28, 28, 1), (10,), loss="sparse_categorical_crossentropy")
    (failure,) = json.loads(report.to_json())["targets"][0]["failures"]
    assert failure["side"] == "output"
    assert failure["data_shape"] == [None] and failure["model_shape"] == [None, 26, 26, 10]
    assert failure["hint"].startswith("add Flatten() or GlobalAveragePooling2D() before the last Dense")
    assert failure["call"] == "model.fit(np.zeros((2, 28, 28, 1)), np.zeros((2,)), batch_size=2)"


def test_a_builder_is_called_with_its_arguments():
    report = shapeguard.check_fit(cnn, (10, 28, 28, 1), (10,), loss="sparse_categorical_crossentropy", head=False)
    assert report.target == "cnn" and [f.side for f in report.failures] == ["output"]


def test_a_multi_output_model_matches_labels_by_position():
    inputs = keras.Input((8,))
    model = keras.Model(inputs, [keras.layers.Dense(3)(inputs), keras.layers.Dense(1)(inputs)])
    ok = shapeguard.check_fit(model, (4, 8), [(4, 3), (4,)], loss=["categorical_crossentropy", "mse"])
    assert ok.ok, ok
    bad = shapeguard.check_fit(model, (4, 8), [(4, 5), (4,)], loss=["categorical_crossentropy", "mse"])
    (failure,) = bad.failures
    assert failure.side == "output" and failure.data_shape == (None, 5) and failure.model_shape == (None, 3)
    assert failure.hint.startswith("end the model with Dense(5)")


def test_assert_fits_fails_with_the_report_as_its_message():
    with pytest.raises(AssertionError) as raised:
        shapeguard.assert_fits(cnn(), (10, 28, 28, 3), (10,), loss="sparse_categorical_crossentropy")
    assert isinstance(raised.value, shapeguard.FitCheckFailed)
    assert str(raised.value) == str(raised.value.report)
    assert "input side: the data (None, 28, 28, 3)" in str(raised.value)
    assert shapeguard.assert_fits(cnn(), (10, 28, 28), (10,), loss="sparse_categorical_crossentropy").ok


def test_watch_adds_the_diagnosis_to_a_shape_error_escaping_fit_and_keeps_its_type():
    model = shapeguard.watch(cnn(head=False))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError) as raised:
        model.fit(np.zeros((4, 28, 28, 1)), np.zeros(4), epochs=1, verbose=0)
    message = str(raised.value)
    assert "rank (ndim)" in message  # Keras's own message, kept
    assert ("shapeguard: output side: labels (None,) against (None, 26, 26, 10), rejected by "
            "sparse_categorical_crossentropy; fix: add Flatten() or GlobalAveragePooling2D()") in message
    with pytest.raises(ValueError, match="shapeguard: input side: data .None, 28, 1. against .None, 28, 28, 1."):
        model.predict(np.zeros((28, 28, 1)), verbose=0)
    assert model.predict(np.zeros((1, 28, 28, 1)), verbose=0).shape == (1, 26, 26, 10)  # the wrapper's result


@pytest.mark.parametrize("shape", [(0, 28, 28), (60000, -1), (60000, 28.0), (60000, "28"), (), (None, 28)])
def test_a_shape_that_is_not_positive_integers_is_one_sentence(shape):
    with pytest.raises(FitDataError) as raised:
        shapeguard.check_fit(cnn(), shape, (10,), loss="mse")
    assert str(raised.value) == (f"x={shape!r}: a shape is positive integers, the sample count first, "
                                 "such as (60000, 28, 28).")


def test_an_npy_file_is_read_for_its_header_only(tmp_path):
    """A header promising 3 TB of samples, and no data after it: the check runs on the header."""
    from numpy.lib import format as npy

    path = tmp_path / "huge.npy"
    with open(path, "wb") as f:
        npy.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (10**9, 28, 28, 3)})
    (failure,) = shapeguard.check_fit(cnn(), path, (10**9,), loss="sparse_categorical_crossentropy").failures
    assert failure.data_shape == (None, 28, 28, 3)
    text = tmp_path / "labels.npy"
    text.write_text("0,1,2\n")
    with pytest.raises(FitDataError, match=r"^y='.*labels.npy': not a .npy file: it has no .npy header"):
        shapeguard.check_fit(cnn(), path, text, loss="mse")
    with pytest.raises(FitDataError, match=r"^x='nowhere.npy': no such file.$"):
        shapeguard.check_fit(cnn(), "nowhere.npy", (10,), loss="mse")


def test_a_dict_key_the_model_has_no_input_for_is_one_sentence():
    two = importlib.import_module("examples_fit.two_inputs").build_model()
    with pytest.raises(FitDataError) as raised:
        shapeguard.check_fit(two, {"image": (4, 32, 32, 3), "metadata": (4, 8)}, (4,))
    assert str(raised.value) == ("x has the key 'metadata', but the model has no input of that name "
                                 "(its inputs: 'image', 'meta').")


def test_a_loss_keras_does_not_know_is_one_sentence_not_a_shape_failure():
    # Plain Keras refuses the name itself, whatever the shapes, at the first fit of data that fits.
    model = cnn()
    model.compile(optimizer="adam", loss="nonsense")
    with pytest.raises(ValueError, match="Could not interpret loss identifier: nonsense"):
        model.fit(np.zeros((2, 28, 28, 1)), np.zeros((2,)), batch_size=2, verbose=0)
    assert shapeguard.check_fit(cnn(), (10, 28, 28, 1), (10,), loss="sparse_categorical_crossentropy").ok
    with pytest.raises(FitDataError) as raised:
        shapeguard.check_fit(cnn(), (10, 28, 28, 1), (10,), loss="nonsense")
    assert str(raised.value) == ("loss 'nonsense' is not a loss Keras knows (such as 'mse', "
                                 "'categorical_crossentropy', 'sparse_categorical_crossentropy').")


def test_watch_takes_a_model_and_says_so_in_one_sentence():
    with pytest.raises(FitDataError) as raised:
        shapeguard.watch(3)
    assert str(raised.value) == "watch() takes a Keras model, not int: e.g. model = shapeguard.watch(model)."


def test_a_builder_that_needs_arguments_is_one_sentence():
    def build(units, *, depth=2):
        raise AssertionError("never called")

    with pytest.raises(FitDataError) as raised:
        shapeguard.check_fit(build, (4, 8), (4,))
    assert str(raised.value) == ("build needs the arguments units: give them, e.g. "
                                 "check_fit(build, x, y, units=...).")


def test_an_unbuilt_model_is_built_on_the_data_as_fit_builds_it_and_stays_unbuilt():
    model = keras.Sequential([keras.layers.Conv2D(4, 3), keras.layers.Flatten(), keras.layers.Dense(2)])
    assert shapeguard.check_fit(model, (10, 8, 8, 1), (10, 2), loss="mse").ok
    (failure,) = shapeguard.check_fit(model, (10, 8), (10, 2), loss="mse").failures
    assert (failure.side, failure.layer_class, failure.data_shape, failure.model_shape) == (
        "input", "Conv2D", (None, 8), None)
    assert not model.built


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(3)

    def call(self, x):
        return self.dense(x)


def test_a_subclassed_model_is_checked_and_confirmed_on_arrays():
    model = Subclassed()
    model(np.zeros((1, 4)))
    assert shapeguard.check_fit(model, (10, 4), (10, 3), loss="mse").ok
    (failure,) = shapeguard.check_fit(model, (10, 4), (10, 2), loss="mse").failures
    assert (failure.side, failure.data_shape, failure.model_shape) == ("output", (None, 2), (None, 3))
    assert "input side: the data (None, 5), rejected by Dense" in str(shapeguard.check_fit(model, (10, 5)))


def test_a_py_dataset_is_read_from_its_first_batch_as_keras_reads_it():
    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, index):
            return np.zeros((4, 28, 28, 3)), np.zeros(4)

    (failure,) = shapeguard.check_fit(cnn(), Batches(), loss="sparse_categorical_crossentropy").failures
    assert (failure.side, failure.data_shape) == ("input", (None, 28, 28, 3))
    with pytest.raises(FitDataError, match="^y is given with a dataset for x"):
        shapeguard.check_fit(cnn(), Batches(), (4,), loss="mse")


def classifier(metrics, loss):
    inputs = keras.Input((8,))
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(inputs))
    model.compile(optimizer="sgd", loss=loss, metrics=metrics)
    return model


def really_fits_compiled(model, x, y) -> bool:
    """Plain Keras, no shapeguard: the compiled model (loss and metrics) fit on zeros of those shapes."""
    try:
        model.fit(np.zeros(x), np.zeros(y), batch_size=32, epochs=1, verbose=0)
    except Exception:  # noqa: BLE001
        return False
    return True


@pytest.mark.parametrize("metric, y, loss, fix, twin", [
    ("sparse_categorical_accuracy", (64, 10), "categorical_crossentropy",
     "the labels are one-hot: use metrics=['categorical_accuracy']", "categorical_accuracy"),
    ("top_k_categorical_accuracy", (64,), "sparse_categorical_crossentropy",
     "the labels are class ids: use metrics=['sparse_top_k_categorical_accuracy']",
     "sparse_top_k_categorical_accuracy"),
    ("sparse_top_k_categorical_accuracy", (64, 10), "categorical_crossentropy",
     "the labels are one-hot: use metrics=['top_k_categorical_accuracy']", "top_k_categorical_accuracy"),
    ("mae", (64,), "sparse_categorical_crossentropy", None, None),
])
def test_a_compiled_metric_that_rejects_labels_the_loss_accepts_is_the_output_side(metric, y, loss, fix, twin):
    model = classifier([metric], loss)
    (failure,) = shapeguard.check_fit(model, (64, 8), y).failures
    assert (failure.side, failure.layer_class, failure.rejected_by) == ("output", metric, "metric")
    assert failure.hint == fix
    assert failure.call == f"model.fit(np.zeros((32, 8)), np.zeros({(32,) + y[1:]}), batch_size=32)"
    assert f"rejected by the metric {metric}" in str(shapeguard.check_fit(model, (64, 8), y))
    assert really_fits_compiled(classifier(None, loss), (64, 8), y)  # the loss alone runs
    assert not really_fits_compiled(classifier([metric], loss), (64, 8), y)
    if twin:
        assert shapeguard.check_fit(classifier([twin], loss), (64, 8), y).ok
        assert really_fits_compiled(classifier([twin], loss), (64, 8), y)


def test_a_precision_on_class_ids_is_told_to_take_one_hot_labels_and_passes_with_them():
    model = classifier([keras.metrics.Precision()], "sparse_categorical_crossentropy")
    (failure,) = shapeguard.check_fit(model, (64, 8), (64,)).failures
    assert (failure.layer_class, failure.hint) == ("precision", (
        "precision compares labels and outputs of the same shape: give one-hot labels, "
        "keras.utils.to_categorical(y, 10), with loss='categorical_crossentropy'"))
    fixed = classifier([keras.metrics.Precision()], "categorical_crossentropy")
    assert shapeguard.check_fit(fixed, (64, 8), (64, 10)).ok and really_fits_compiled(fixed, (64, 8), (64, 10))


def test_metrics_keras_matches_to_the_labels_pass_as_they_do_in_keras():
    # 'accuracy' becomes sparse for class ids; categorical_accuracy broadcasts class ids in Keras 3.
    for metrics, y, loss in ([["accuracy", "categorical_accuracy"], (64,), "sparse_categorical_crossentropy"],
                             [["accuracy", keras.metrics.F1Score()], (64, 10), "categorical_crossentropy"]):
        assert shapeguard.check_fit(classifier(metrics, loss), (64, 8), y).ok
        assert really_fits_compiled(classifier(metrics, loss), (64, 8), y)


def test_one_metric_list_for_two_outputs_is_told_to_give_each_output_its_own():
    inputs = keras.Input((8,))
    model = keras.Model(inputs, [keras.layers.Dense(3, name="a")(inputs), keras.layers.Dense(1, name="b")(inputs)])
    model.compile(optimizer="sgd", loss=["categorical_crossentropy", "mse"], metrics=["accuracy"])
    (failure,) = shapeguard.check_fit(model, (4, 8), [(4, 3), (4,)]).failures
    assert (failure.side, failure.layer_class, failure.rejected_by) == ("output", "metrics=['accuracy']", "metrics")
    assert failure.hint == ("give each of the 2 outputs its metrics: metrics=[['accuracy'], ['accuracy']], "
                            "or a dict by output name: metrics={'a': ['accuracy']}")
    assert shapeguard.check_fit(model, (4, 8), [(4, 3), (4,)], metrics=[["accuracy"], ["accuracy"]]).ok
    assert shapeguard.check_fit(model, (4, 8), [(4, 3), (4,)], metrics={"a": ["accuracy"]}).ok


def test_a_metric_failure_depends_on_the_batch_size_as_in_keras():
    """(N,) labels against a 10-unit output broadcast under 'mae' only on batches of 10 (or 1)."""
    model = classifier(["mae"], "sparse_categorical_crossentropy")
    assert shapeguard.check_fit(model, (60, 8), (60,), batch_size=10).ok
    model.fit(np.zeros((60, 8)), np.zeros(60), batch_size=10, epochs=1, verbose=0)  # plain Keras runs it too
    (last,) = shapeguard.check_fit(model, (64, 8), (64,), batch_size=10).failures  # the last batch has 4
    assert last.call == "model.fit(np.zeros((4, 8)), np.zeros((4,)), batch_size=4)"
    with pytest.raises(Exception, match=r"Incompatible shapes: \[4\] vs. \[4,10\]"):  # at runtime, the last batch
        model.fit(np.zeros((64, 8)), np.zeros(64), batch_size=10, epochs=1, verbose=0)


def test_a_loss_broadcast_that_fails_on_fits_batches_is_reported_as_keras_raises_it_at_runtime():
    """A sequence output (N, 24, 3) against (N, 3) labels under mse: with the batch unknown the two broadcast;
    on fit's batches of 32 they do not (and on a batch of 24 they would, silently)."""
    inputs = keras.Input((24, 3))
    model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.LSTM(4, return_sequences=True)(inputs)))
    model.compile(loss="mse")
    (failure,) = shapeguard.check_fit(model, (100, 24, 3), (100, 3)).failures
    assert (failure.side, failure.layer_class, failure.data_shape, failure.model_shape) == (
        "output", "mse", (None, 3), (None, 24, 3))
    assert failure.call == "model.fit(np.zeros((32, 24, 3)), np.zeros((32, 3)), batch_size=32)"
    with pytest.raises(Exception, match=r"Incompatible shapes|Dimensions must be equal"):  # plain Keras, at runtime
        model.fit(np.zeros((100, 24, 3)), np.zeros((100, 3)), epochs=1, verbose=0)


@pytest.mark.parametrize("x, y, side, fix", [
    ((60000, 8), (59999,), "output", "x has 60000 samples, y has 59999: give both the same number of samples"),
    ({"image": (100, 8), "meta": (99, 3)}, (100,), "input",
     "x['image'] has 100 samples, x['meta'] has 99: give every input the same number of samples"),
])
def test_arrays_of_different_sample_counts_are_reported_as_fit_reports_them(x, y, side, fix):
    image, meta = keras.Input((8,), name="image"), keras.Input((3,), name="meta")
    model = keras.Model([image, meta], keras.layers.Dense(1)(keras.layers.Concatenate()([image, meta]))) \
        if isinstance(x, dict) else keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
    (failure,) = shapeguard.check_fit(model, x, y, loss="mse").failures
    assert (failure.side, failure.layer_class, failure.rejected_by, failure.hint) == (side, "fit", "samples", fix)
    assert "Data cardinality is ambiguous" in failure.message  # Keras's own words, from its confirming fit's rule
    model.compile(optimizer="sgd", loss="mse")
    arrays = {k: np.zeros(s) for k, s in x.items()} if isinstance(x, dict) else np.zeros((3, 8))
    with pytest.raises(ValueError, match="Data cardinality is ambiguous"):
        model.fit(arrays, np.zeros(100 if isinstance(x, dict) else 2), verbose=0)


def test_the_same_counts_pass_and_a_dataset_is_never_a_count_mismatch():
    import tensorflow as tf

    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
    assert shapeguard.check_fit(model, (60000, 8), (60000,), loss="mse").ok
    dataset = tf.data.Dataset.from_tensor_slices((np.zeros((6, 8)), np.zeros(6))).batch(4)
    assert shapeguard.check_fit(model, dataset, loss="mse").ok


def test_a_finding_plain_keras_does_not_confirm_is_an_internal_error_never_a_failure(monkeypatch):
    import shapeguard.fitcheck as fitcheck

    monkeypatch.setattr(fitcheck, "confirm", lambda *args, **kwargs: None)  # plain Keras "runs" the step
    report = shapeguard.check_fit(cnn(), (10, 28, 28, 3), (10,), loss="sparse_categorical_crossentropy")
    assert not report.ok and report.failures == []
    (error,) = report.errors
    assert error.type == "InternalError"
    assert error.message.startswith("shapeguard found Conv2D rejecting the input side (")
    assert error.message.endswith("but plain Keras ran model.fit(np.zeros((2, 28, 28, 3)), np.zeros((2,)), "
                                  "batch_size=2): please report this disagreement")
    text = str(report)
    assert text.startswith(f"{report.target}: ERROR, shapeguard could not check it (fit of x (10, 28, 28, 3)")
    assert "[error] the block could not be checked: shapeguard found Conv2D" in text
    assert text.endswith("\n      reproduce: model.fit(np.zeros((2, 28, 28, 3)), np.zeros((2,)), batch_size=2)")
    assert "minimal:" not in text  # a model checked once has no space, so no minimal example
    (target,) = json.loads(report.to_json())["targets"]
    assert target["status"] == "error" and target["failures"] == []
    assert target["errors"][0]["type"] == "InternalError"
    assert target["errors"][0]["call"] == "model.fit(np.zeros((2, 28, 28, 3)), np.zeros((2,)), batch_size=2)"
