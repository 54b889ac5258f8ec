"""A model builder's data contract, ``@guard(fit={"x": "N,H,W", "y": "N"})``.

The builder's space is searched against one fit step on data of the
contract's shapes. Every failure a test here sees is run again in plain
Keras (the report's own reproducing call, a real ``fit`` on zeros) and every
nearest pass too; the fixed twins in examples_fit/ pass. In-process.
"""

from __future__ import annotations

import importlib
import json

import keras
import numpy as np
import pytest

import shapeguard
from shapeguard import guard

pytestmark = pytest.mark.keras

EXPECTED = {  # example -> (side, the layer or loss, cause, the start of the fix, when)
    "contract_head": ("output", "sparse_categorical_crossentropy", "rank",
                      "add Flatten() or GlobalAveragePooling2D() before the last Dense", "fails when head='dense'"),
    "contract_classes": ("output", "categorical_crossentropy", "size", "end the model with Dense(2)",
                         "fails when classes=2"),
    "contract_features": ("input", "Conv1D", "size", "give the model keras.Input(shape=(10, 3))",
                          "fails when features=3"),
}


def run(call: str, builder) -> None:
    """The report's reproducing call (``model = build_model(...); model.fit(...)``), in plain Keras,
    with the builder (the function under ``@guard``) under its own name."""
    exec(call, {builder.__name__: builder, "np": np})  # noqa: S102 - shapeguard's own output, not user text


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_contract_example_fails_on_its_side_in_plain_keras_and_its_twin_passes(name):
    side, who, cause, fix, when = EXPECTED[name]
    buggy = importlib.import_module(f"examples_fit.{name}")
    report = buggy.build_model.check()
    assert [(f.side, f.layer_class, f.cause) for f in report.failures] == [(side, who, cause)], report
    (failure,) = report.failures
    assert failure.hint.startswith(fix), failure.hint
    assert failure.condition["text"] == when
    with pytest.raises(ValueError):  # plain Keras's own fit fails there, as reported
        run(failure.call, buggy.build_model.__wrapped__)
    run(failure.nearest_pass["call"], buggy.build_model.__wrapped__)  # and the nearest pass fits
    fixed = importlib.import_module(f"examples_fit.{name}_fixed")
    assert fixed.build_model.check().ok


def test_what_keras_3_forgives_passes_under_a_contract_too():
    # Images without their channel axis into Input((28, 28, 1)), and (N,) labels for an (N, 1) output under mse.
    @guard(fit={"x": "N,28,28", "y": "N"}, units=[8, 16])
    def regressor(units=8):
        model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(units),
                                  keras.layers.Dense(1)])
        model.compile(loss="mse")
        return model

    report = regressor.check()
    assert report.ok, report
    assert report.templates == {"x": "N,28,28", "y": "N"}
    regressor(units=16).fit(np.zeros((2, 28, 28)), np.zeros((2,)), verbose=0)  # as Keras itself runs it


def test_dimensions_follow_the_builders_parameters_and_the_others_are_searched():
    @guard(fit={"x": "N,T,features", "y": "N"}, features=[2, 5], T=[6, 12])
    def sequence(features=2, look_back=12):
        inputs = keras.Input((look_back, features))
        model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.GRU(4)(inputs)))
        model.compile(loss="mse")
        return model

    report = sequence.check()
    (failure,) = report.failures
    assert (failure.side, failure.example, failure.condition["text"]) == ("input", {"features": 2, "T": 6},
                                                                          "fails when T < 12"), report
    assert failure.data_shape == (None, 6, 2) and failure.model_shape == (None, 12, 2)
    with pytest.raises(ValueError):
        run(failure.call, sequence.__wrapped__)


def test_a_finding_the_real_fit_does_not_reproduce_is_an_internal_error_never_a_failure(monkeypatch):
    from shapeguard._probe import fit

    monkeypatch.setattr(fit, "confirm", lambda *args, **kwargs: None)  # as if plain Keras ran the step
    report = importlib.import_module("examples_fit.contract_classes").build_model.check()
    assert not report.failures and not report.ok
    (error,) = report.errors
    assert error.type == "InternalError" and "plain Keras found a pass" in error.message
    assert "the block could not be checked" in str(report)


def test_a_builder_taking_input_shape_keeps_its_default_or_follows_the_contract():
    def build(input_shape=(32, 32, 3), classes=10):
        inputs = keras.Input(input_shape)
        x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(8, 3)(inputs))
        model = keras.Model(inputs, keras.layers.Dense(classes, activation="softmax")(x))
        model.compile(loss="sparse_categorical_crossentropy")
        return model

    kept = shapeguard.check(build, fit={"x": "N,32,32,1", "y": "N"})  # the default (32, 32, 3): 1 channel fails
    assert [(f.side, f.data_shape, f.model_shape) for f in kept.failures] == [
        ("input", (None, 32, 32, 1), (None, 32, 32, 3))], kept
    followed = shapeguard.check(build, fit={"x": "N,H,H,C", "y": "N"}, input_shapes={"input_shape": "H,H,C"},
                                H=[16, 32], C=[1, 3])
    assert followed.ok, followed
    assert followed.templates == {"input_shape": "H,H,C", "x": "N,H,H,C", "y": "N"}


def test_several_inputs_are_matched_by_position_or_by_name():
    def two(width=8):
        a, b = keras.Input((width,), name="a"), keras.Input((4,), name="b")
        model = keras.Model({"a": a, "b": b}, keras.layers.Dense(1)(keras.layers.Concatenate()([a, b])))
        model.compile(loss="mse")
        return model

    assert shapeguard.check(two, fit={"x": ["N,8", "N,4"], "y": "N"}).ok
    report = shapeguard.check(two, fit={"x": {"a": "N,8", "b": "N,4"}, "y": "N"}, width=[8, 9])
    (failure,) = report.failures
    assert (failure.example, failure.side, failure.data_shape) == ({"width": 9}, "input", (None, 8))
    assert "model.fit({'a': np.zeros((2, 8)), 'b': np.zeros((2, 4))}, np.zeros((2,)), batch_size=2)" in failure.call


def test_the_json_and_the_command_line_show_the_side_and_the_contract(monkeypatch, capfd):
    from helpers.command_line import check_here
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    assert check_here(root, monkeypatch, "examples_fit/contract_classes.py", "--format", "json", "--no-cache") == 1
    (target,) = json.loads(capfd.readouterr().out)["targets"]
    (failure,) = target["failures"]
    assert (failure["side"], failure["data_shape"], failure["model_shape"]) == ("output", [None, 2], [None, 10])
    assert target["templates"] == {"x": "N,features", "y": "N,classes"}
    assert any(note.startswith("data contract: ") for note in target["notes"])


def test_a_guarded_builder_still_builds_its_model():
    module = importlib.import_module("examples_fit.contract_head")
    model = module.build_model(head="flatten")
    assert isinstance(model, keras.Model) and model.output.shape == (None, 10)


def uncompiled(classes=10):
    return keras.Sequential([keras.Input((8,)), keras.layers.Dense(classes)])


def dense_block(x, units=8):
    return keras.layers.Dense(units)(x)


def no_model(units=8):
    keras.Input((8,))
    return None


@pytest.mark.parametrize("target, options, sentence", [
    (uncompiled, {"fit": "N,8"}, "fit must be a dict such as fit={'x': 'N,H,W', 'y': 'N'}"),
    (uncompiled, {"fit": {"x": "N,8", "z": "N"}}, "fit has no key 'z'; its keys are 'x', 'y' and 'loss'"),
    (uncompiled, {"fit": {"y": "N"}}, "fit needs the data's template under 'x'"),
    (uncompiled, {"fit": {"x": "60000,8", "y": "59999"}}, "fit gives 59999 and 60000 samples"),
    (uncompiled, {"fit": {"x": "N,8|N,9"}}, "is one array's shape, such as 'N,H,W': no choices (|)"),
    (uncompiled, {"fit": {"x": "2*N,8"}}, "the first dimension is the sample count"),
    (uncompiled, {"fit": {"x": 5}}, "fit's x is 5; give a template such as 'N,H,W'"),
    (uncompiled, {"fit": {"x": "N,8", "y": "N"}},
     "uncompiled() returns a model that is not compiled, and fit= gives no loss"),
    (uncompiled, {"fit": {"x": "N,8", "y": "N", "loss": "nonsense"}}, "loss 'nonsense' is not a loss Keras knows"),
    (uncompiled, {"fit": {"x": "N,8"}, "inputs": {"x": "H,W"}}, "inputs= is for a block that takes tensors"),
    (dense_block, {"fit": {"x": "N,8"}}, "dense_block takes tensors: fit= is a data contract for a model builder"),
    (no_model, {"fit": {"x": "N,8"}}, "no_model returned NoneType, not a Keras model"),
    (uncompiled, {"fit": {"x": "N,span", "y": "N", "loss": "mse"}}, "template dimension 'span' has no values"),
])
def test_a_contract_that_cannot_be_checked_is_one_sentence(target, options, sentence):
    with pytest.raises(shapeguard.ShapeguardError) as caught:
        shapeguard.check(target, **options)
    assert sentence in str(caught.value)
    assert "\n" not in str(caught.value) and "Traceback" not in str(caught.value)


def test_the_decorator_refuses_a_bad_contract_when_the_module_is_imported():
    with pytest.raises(shapeguard.ShapeguardError, match="fit has no key 'lables'"):
        guard(fit={"x": "N,8", "lables": "N"})(uncompiled)
