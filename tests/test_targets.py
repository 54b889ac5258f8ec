"""Layer subclasses, factories and model builders as targets: each is called
as its user calls it, every reported failure is confirmed with plain Keras
(and eagerly on numpy arrays for a Layer), and a target that builds nothing
is never a pass."""

import importlib
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import layers
from keras.src.applications import efficientnet_v2

from helpers.command_line import shapeguard_here
from helpers.plain_keras import confirm, run_call
from shapeguard import ShapeguardError, check, guard
from shapeguard._collect import collect, resolve_attribute
from shapeguard._spec import find_guarded, spec_of

pytestmark = pytest.mark.keras

residual = importlib.import_module("examples.residual_layer")
residual_fixed = importlib.import_module("examples.residual_layer_fixed")
factory = importlib.import_module("examples.factory_block")
factory_fixed = importlib.import_module("examples.factory_block_fixed")


def line_of(module, text: str) -> int:
    with open(module.__file__) as f:
        return next(i for i, line in enumerate(f, 1) if text in line)


def only_failure(report):
    assert len(report.failures) == 1 and report.errors == [], report
    return report.failures[0]


# --- a Layer subclass -------------------------------------------------------


@pytest.fixture(scope="module")
def residual_report():
    return check(residual.ResidualBlock, kernel_size=[3])


def test_layer_subclass_identity_shortcut_bug_is_found(residual_report):
    add = only_failure(residual_report)
    assert add.layer_class == "Add"
    assert add.location.file == residual.__file__
    assert add.location.line == line_of(residual, "self.add([x, y])")
    assert add.example == {"C": 16, "filters": 32, "H": 8, "kernel_size": 3}
    assert add.call == "ResidualBlock(filters=32, kernel_size=3)(keras.Input(shape=(8, 8, 16)))"
    assert add.failing == 2 and add.of == 4  # filters != C, either way round


def test_layer_subclass_failure_confirmed_in_plain_keras_and_on_data(residual_report):
    exc = confirm(only_failure(residual_report), vars(residual))
    assert "Inputs have incompatible shapes" in str(exc)
    with pytest.raises(ValueError, match="Inputs have incompatible shapes"):
        residual.ResidualBlock(filters=32)(np.zeros((1, 8, 8, 16), "float32"))


def test_layer_subclass_fixed_twin_passes_with_a_fresh_instance_per_probe():
    # One shared instance would build conv1 for 16 channels at the first point
    # and reject the 32-channel points: a false report.
    report = check(residual_fixed.ResidualBlock, kernel_size=[3])
    assert report.ok, report
    assert report.probes == 4 and report.size == 4
    assert residual_fixed.ResidualBlock(filters=32)(np.zeros((1, 8, 8, 16), "float32")).shape == (1, 8, 8, 32)


def test_guarded_layer_stays_a_class():
    block_class = residual.ResidualBlock
    assert spec_of(block_class).inputs == {"x": "H,H,C"}

    class Deeper(block_class):
        pass

    assert isinstance(Deeper(filters=8), block_class) and isinstance(Deeper(), layers.Layer)
    assert spec_of(Deeper) is None  # a subclass is guarded only when decorated itself
    assert block_class(filters=8)(keras.Input(shape=(8, 8, 8))).shape == (None, 8, 8, 8)


def test_guarded_layer_classes_are_found_and_call_means_the_class():
    assert [name for name, _ in find_guarded(residual)] == ["ResidualBlock"]
    [target] = collect("examples/residual_layer.py")
    assert target.name == "examples/residual_layer.py:ResidualBlock"
    assert resolve_attribute(residual, "ResidualBlock.call", "examples.residual_layer") is residual.ResidualBlock


class TwoInputs(layers.Layer):
    """A layer called on two tensors: both templates, training left alone."""

    def __init__(self, units=8, **kwargs):
        super().__init__(**kwargs)
        self.dense = layers.Dense(units)

    def call(self, x, skip, training=None):
        return layers.Add()([self.dense(x), skip])


def test_a_misspelt_constructor_axis_fails_at_decoration():
    with pytest.raises(ShapeguardError, match="axis 'unit' names neither.*Did you mean 'units'"):
        guard(unit=[8])(TwoInputs)
    assert spec_of(TwoInputs) is None


def test_layer_with_two_tensors_and_training_left_at_its_default():
    report = check(TwoInputs, inputs={"x": "T,C", "skip": "T,8"}, T=[4], C=[8], units=[8, 16])
    add = only_failure(report)
    assert add.example["units"] == 16
    assert add.call == "TwoInputs(units=16)(keras.Input(shape=(4, 8)), skip=keras.Input(shape=(4, 8)))"
    confirm(add, {"TwoInputs": TwoInputs})


class TinyNet(keras.Model):
    """A subclassed model whose head assumes 'same' padding."""

    def __init__(self, classes=4, kernel_size=3):
        super().__init__()
        self.conv = layers.Conv2D(8, kernel_size)
        self.reshape = layers.Reshape((8 * 8 * 8,))
        self.head = layers.Dense(classes)

    def call(self, inputs):
        return self.head(self.reshape(self.conv(inputs)))


def test_model_subclass_is_checked_as_a_layer():
    report = check(TinyNet, inputs={"inputs": "8,8,3"}, kernel_size=[1, 3])
    reshape = only_failure(report)
    assert reshape.layer_class == "Reshape" and reshape.example == {"kernel_size": 3}
    assert reshape.call == "TinyNet(kernel_size=3)(keras.Input(shape=(8, 8, 3)))"
    confirm(reshape, {"TinyNet": TinyNet})
    with pytest.raises(Exception, match="total size"):
        TinyNet(kernel_size=3)(np.zeros((1, 8, 8, 3), "float32"))


# --- factories ----------------------------------------------------------------


@pytest.fixture(scope="module")
def factory_report():
    return factory.InvertedResidual.check()


def test_factory_result_is_applied_to_the_inputs_and_the_report_says_so(factory_report):
    add = only_failure(factory_report)
    assert add.layer_class == "Add" and add.example["strides"] == 2 and add.example["filters"] == add.example["C"]
    assert add.location.line == line_of(factory, "layers.Add()([inputs, x])")
    assert add.call == "InvertedResidual(filters=16, strides=2)(keras.Input(shape=(7, 7, 16)))"
    assert "InvertedResidual is a factory: the callable it returns is applied to the inputs" in factory_report.notes
    assert "note: InvertedResidual is a factory" in str(factory_report)
    exc = confirm(add, vars(factory))
    assert "Inputs have incompatible shapes" in str(exc)
    with pytest.raises(ValueError, match="Inputs have incompatible shapes"):
        factory.InvertedResidual(filters=16, strides=2)(np.zeros((1, 7, 7, 16), "float32"))


def test_factory_fixed_twin_passes():
    report = factory_fixed.InvertedResidual.check()
    assert report.ok and report.probes == report.size == 8, report


EFFICIENTNET_AXES = dict(input_filters=[8, 16], output_filters=[8, 16], H=[7], kernel_size=[3], strides=[1, 2])


@pytest.fixture(scope="module", params=["FusedMBConvBlock", "MBConvBlock"])
def efficientnet_block(request):
    return request.param, getattr(efficientnet_v2, request.param)


def test_keras_efficientnet_factories_are_no_false_pass(efficientnet_block):
    name, block = efficientnet_block
    report = check(block, H=[7], kernel_size=[3], strides=[1])  # input_filters, output_filters: widths by name
    assert report.mode == "exhaustive" and not report.ok, report
    assert {"input_filters", "output_filters", "C"} <= set(report.space)
    for failure in report.failures:
        confirm(failure, {name: block})


def test_keras_efficientnet_factories_with_a_free_channel_count_report_the_input_filters_contract(efficientnet_block):
    name, block = efficientnet_block
    report = check(block, C=[8, 16], **EFFICIENTNET_AXES)
    add = only_failure(report)
    assert add.layer_class == "Add"
    example = add.example
    assert example["input_filters"] == example["output_filters"] != example["C"] and example["strides"] == 1
    assert add.call.startswith(f"{name}(input_filters=") and add.call.endswith("(keras.Input(shape=(7, 7, 16)))")
    assert "name='block'" in add.call  # name=None makes these factories raise AttributeError (get_uid)
    assert report.space["name"] == ["block"]
    confirm(add, {name: block})


def test_keras_efficientnet_factories_pass_with_input_filters_bound_to_the_channels(efficientnet_block):
    name, block = efficientnet_block
    report = check(block, inputs={"inputs": "H,H,input_filters"}, **EFFICIENTNET_AXES)
    assert report.ok and report.probes == report.size == 8, report


def test_keras_efficientnet_factory_fails_in_plain_keras_without_a_name():
    exc = run_call("FusedMBConvBlock(input_filters=8, output_filters=8)(keras.Input(shape=(7, 7, 8)))",
                   {"FusedMBConvBlock": efficientnet_v2.FusedMBConvBlock})
    assert isinstance(exc, AttributeError) and "get_uid" in str(exc)


# --- model builders taking a shape ------------------------------------------------


def build_model(input_shape, filters=8, classes=4):
    """A builder in the keras.applications style, whose head assumes 'same' padding."""
    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(filters, 3)(inputs)
    x = layers.Reshape((input_shape[0] * input_shape[1] * filters,))(x)
    return keras.Model(inputs, layers.Dense(classes)(x))


def build_model_fixed(input_shape, filters=8, classes=4):
    inputs = keras.Input(shape=input_shape)
    x = layers.Flatten()(layers.Conv2D(filters, 3)(inputs))
    return keras.Model(inputs, layers.Dense(classes)(x))


def build_sequential(input_shape, units=8):
    """Returns a model that is not built yet: shapeguard traces it on the shape."""
    return keras.Sequential([layers.Flatten(), layers.Dense(units), layers.Reshape((input_shape[1], -1))])


def test_model_builder_is_driven_with_the_shape_as_a_tuple():
    report = check(build_model, input_shapes={"input_shape": "H,H,3"}, H=[8], filters=[8])
    reshape = only_failure(report)
    assert reshape.layer_class == "Reshape"
    assert reshape.call == "build_model(input_shape=(8, 8, 3), filters=8)"
    confirm(reshape, {"build_model": build_model})


def test_model_builder_input_shape_is_recognised_without_options():
    report = check(build_model_fixed, max_examples=4, classes=[4], filters=[8], H=[7])
    assert report.ok, report
    assert set(report.space) == {"H", "C", "filters", "classes"}
    # a builder's image input works at 3 channels first, and an image's channels are held (README, "Working point")
    assert report.space["C"] == [3] and report.size == 1
    assert all(outcome.status == "pass" for _, outcome in report.outcomes)


def test_unbuilt_model_returned_by_a_builder_is_traced_on_the_shape():
    report = check(build_sequential, input_shapes={"input_shape": "H,W,2"}, H=[4], W=[4, 5], units=[8])
    reshape = only_failure(report)
    # The failing layer is inside the model: Reshape, or the model itself until nested causes are reported.
    assert reshape.layer_class in ("Reshape", "Sequential") and reshape.example["W"] == 5  # 8 cannot make 5 rows
    assert reshape.call == "build_sequential(input_shape=(4, 5, 2), units=8)(keras.Input(shape=(4, 5, 2)))"
    confirm(reshape, {"build_sequential": build_sequential})


# --- model builders that make their own inputs ------------------------------------


def build_forecaster(look_back=10, n_features=1, units=8):
    """The tutorials' builder: the input's shape comes from int parameters."""
    inp = keras.Input(shape=(look_back, n_features))
    return keras.Model(inp, layers.Dense(1)(layers.LSTM(units)(inp)))


def build_text_model(maxlen=10, units=8):
    """Its head assumes one value more than the embeddings hold."""
    inp = keras.Input(shape=(maxlen,))
    x = layers.Embedding(100, units)(inp)
    return keras.Model(inp, layers.Reshape((maxlen * units + 1,))(x))


def _sequence_model(units, timesteps):
    inp = keras.Input(shape=(timesteps, 4))
    return keras.Model(inp, layers.Dense(units)(inp))


def build_through_a_helper(units=4, timesteps=12):
    """A builder whose own source makes no keras.Input: its first call shows it."""
    model = _sequence_model(units, timesteps)
    return keras.Model(model.input, layers.Reshape((timesteps * 4,))(model.output))  # right for units=4 only


def test_a_builder_of_int_shapes_returns_a_built_model_and_passes_without_a_second_call():
    from shapeguard._callee import BUILDER

    assert resolve_callee(build_forecaster).kind == BUILDER
    report = check(build_forecaster, units=[8, 16])
    assert report.ok and report.probes == 2, report
    assert report.space == {"units": [8, 16]} and report.inferred["templates"] == {}  # no tensor axes: it takes no tensor
    assert not any("factory" in note for note in report.notes) and "factory" not in str(report)


def test_a_failing_builder_is_reproduced_by_its_own_call():
    reshape = only_failure(report := check(build_text_model, units=[8]))
    assert reshape.layer_class == "Reshape" and reshape.call == "build_text_model(units=8)"
    assert "factory" not in str(report)
    confirm(reshape, {"build_text_model": build_text_model})


def test_a_builder_that_makes_its_inputs_in_a_helper_is_a_builder_from_its_first_result():
    report = check(build_through_a_helper, units=[4, 8])
    reshape = only_failure(report)
    assert report.space == {"units": [4, 8]} and reshape.example == {"units": 8}
    assert reshape.call == "build_through_a_helper(units=8)" and "factory" not in str(report)
    confirm(reshape, {"build_through_a_helper": build_through_a_helper})


def resolve_callee(target, **options):
    from shapeguard._callee import resolve

    return resolve(target, **options)


# --- builders taking a shape under another name ------------------------------------


def build_classifier(img_shape=(28, 28, 1), classes=10):
    """Its head assumes 'same' padding."""
    inp = keras.Input(shape=img_shape)
    x = layers.Conv2D(8, 3)(inp)
    x = layers.Reshape((img_shape[0] * img_shape[1] * 8,))(x)
    return keras.Model(inp, layers.Dense(classes)(x))


def build_sequence_classifier(data_shape=(10, 4), units=8):
    inp = keras.Input(shape=data_shape)
    x = layers.Conv1D(units, 3)(inp)
    return keras.Model(inp, layers.Reshape((data_shape[0] * units,))(x))


@pytest.mark.parametrize("param", ["input_shape", "data_shape", "img_shape", "image_shape", "shape"])
def test_a_shape_parameter_takes_the_template_of_its_defaults_rank(param):
    three = eval(f"lambda {param}=(28, 28, 1), filters=8: None")
    two = eval(f"lambda {param}=(10, 4), filters=8: None")
    none = eval(f"lambda {param}=None, filters=8: None")
    for fn, template, default in ((three, "H,H,C", (28, 28, 1)), (two, "T,C", (10, 4)), (none, "H,H,C", None)):
        callee = resolve_callee(fn)
        assert callee.shape_params == {param} and callee.inputs == {param: template}
        assert callee.shape_defaults == ({param: default} if default else {})


def test_an_image_shape_parameter_drives_a_builder():
    reshape = only_failure(check(build_classifier, H=[8], C=[1], classes=[10]))
    assert reshape.layer_class == "Reshape" and reshape.call == "build_classifier(img_shape=(8, 8, 1), classes=10)"
    confirm(reshape, {"build_classifier": build_classifier})


def test_a_two_tuple_default_makes_a_sequence_template():
    report = check(build_sequence_classifier, T=[7], C=[4], units=[8])
    reshape = only_failure(report)
    assert set(report.space) == {"T", "C", "units"}
    assert reshape.call == "build_sequence_classifier(data_shape=(7, 4), units=8)"
    confirm(reshape, {"build_sequence_classifier": build_sequence_classifier})


# --- builders returning several models ---------------------------------------------


def _autoencoder(input_shape, latent):
    inp = keras.Input(shape=input_shape)
    z = layers.Dense(latent)(layers.Flatten()(inp))
    encoder = keras.Model(inp, z)
    z_in = keras.Input(shape=(latent,))
    size = input_shape[0] * input_shape[1] * input_shape[2]
    decoder = keras.Model(z_in, layers.Reshape(input_shape)(layers.Dense(size)(z_in)))
    return keras.Model(inp, decoder(encoder(inp))), encoder, decoder


def build_autoencoder(input_shape=(8, 8, 1), latent=4):
    autoencoder, encoder, decoder = _autoencoder(input_shape, latent)
    return autoencoder, encoder, decoder


def build_autoencoder_dict(input_shape=(8, 8, 1), latent=4):
    autoencoder, encoder, decoder = _autoencoder(input_shape, latent)
    return {"autoencoder": autoencoder, "parts": [encoder, decoder]}


def build_with_an_unbuilt_decoder(input_shape=(8, 8, 1), latent=4):
    _, encoder, _ = _autoencoder(input_shape, latent)
    return encoder, keras.Sequential([layers.Dense(latent)])


@pytest.mark.parametrize("builder", [build_autoencoder, build_autoencoder_dict])
def test_a_builder_returning_several_built_models_passes(builder):
    report = check(builder, H=[8], C=[1, 3])
    assert report.ok and report.probes == 2, report


def test_several_models_not_all_built_are_no_pass():
    with pytest.raises(ShapeguardError) as raised:
        check(build_with_an_unbuilt_decoder, H=[8], C=[1])
    assert "build_with_an_unbuilt_decoder returned a tuple of 2 models, not all built (unbuilt: Sequential)" \
        in str(raised.value)


# --- no tensor, no pass -------------------------------------------------------------


def maybe_nothing(x, filters=8, skip_all=False):
    if skip_all:
        return None
    return layers.Conv2D(filters, 1)(x)


def test_a_point_that_returns_no_tensor_is_an_error_not_a_pass():
    report = check(maybe_nothing, inputs={"x": "4,4,C"}, C=[8], filters=[8], skip_all=[False, True])
    assert report.status == "error" and report.failures == []
    [error] = report.errors
    assert error.type == "NoTensor" and error.example["skip_all"] is True
    assert error.message == "maybe_nothing returned None, not a tensor: nothing was built from the inputs"
    assert error.call == "maybe_nothing(keras.Input(shape=(4, 4, 8)), filters=8, skip_all=True)"


# --- bad input: one sentence ---------------------------------------------------------


class NotABlock:
    def __init__(self, width=1):
        self.width = width


class NeedsWidthAndDepth(layers.Layer):
    def __init__(self, zeta, omega, width, **kwargs):  # width has a value by name; zeta and omega none
        super().__init__(**kwargs)
        self.zeta, self.omega, self.width = zeta, omega, width  # used: none is held at None

    def call(self, x):
        return x


class NoTensorCall(layers.Layer):
    def call(self, training=None):
        return None


def returns_a_number(filters=8):
    return filters * 2


def takes_the_tensor_and_returns_a_function(n):
    return lambda y: y


@pytest.mark.parametrize(
    "target, message",
    [
        (NotABlock, "NotABlock is a class that is neither a keras Layer nor callable; name one of its methods"),
        (NeedsWidthAndDepth, "NeedsWidthAndDepth: parameters with no default and no values to try; give values "
                             "for zeta (zeta=[8, 16]), omega (omega=[8, 16])."),
        (NoTensorCall, "NoTensorCall.call() has no tensor parameter (training); a layer is called on at least one"),
        (returns_a_number, "returns_a_number returned an int (16), neither a tensor nor a callable"),
        (takes_the_tensor_and_returns_a_function,
         "returned a function (takes_the_tensor_and_returns_a_function.<locals>.<lambda>) after being given the "
         "tensor; if it is a factory, give the tensor its result takes a template under a name"),
    ],
)
def test_bad_targets_are_one_sentence(target, message):
    with pytest.raises(ShapeguardError) as raised:
        check(target, max_examples=2)
    text = str(raised.value)
    assert message in text and "\n" not in text


def test_cli_bad_layer_target_exits_2_with_one_line(cli_folder, monkeypatch, capfd):
    run = shapeguard_here(cli_folder, monkeypatch, capfd, "layers_bad.py:NeedsArgs.call")
    assert run.code == 2 and run.stdout == ""
    assert run.stderr == (
        "shapeguard: layers_bad.py:NeedsArgs.call: parameters with no default and no values to try; give values "
        "for zeta (--axis zeta=8,16), omega (--axis omega=8,16).\n"
    )


BUILDER = '''
import keras
from keras import layers


def build_model(input_shape, filters=8, classes=4):
    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(filters, 3)(inputs)
    x = layers.Reshape((input_shape[0] * input_shape[1] * filters,))(x)
    return keras.Model(inputs, layers.Dense(classes)(x))
'''


@pytest.fixture(scope="module")
def cli_folder(tmp_path_factory):
    """The files of the command-line runs, which are checked in the test's own
    process (`shapeguard_here`): a builder given a shape, a Layer whose
    constructor parameters have no values, and a copy of the residual example
    at its path (a Layer named by its call)."""
    folder = tmp_path_factory.mktemp("builders")
    (folder / "builders.py").write_text(BUILDER)
    (folder / "layers_bad.py").write_text(
        "from keras import layers\n\n"
        "class NeedsArgs(layers.Layer):\n"
        "    def __init__(self, zeta, omega, **kwargs):\n"
        "        super().__init__(**kwargs)\n"
        "        self.zeta, self.omega = zeta, omega\n\n"
        "    def call(self, x):\n"
        "        return x\n"
    )
    (folder / "examples").mkdir()
    (folder / "examples" / "residual_layer.py").write_text(Path(residual.__file__).read_text())
    return folder


def test_cli_layer_call_means_the_layer_class(cli_folder, monkeypatch, capfd):
    import json

    run = shapeguard_here(cli_folder, monkeypatch, capfd, "examples/residual_layer.py:ResidualBlock.call",
                          "--axis", "kernel_size=3", "--format", "json")
    assert run.code == 1, run.stderr
    [target] = json.loads(run.stdout)["targets"]
    assert target["target"] == "examples/residual_layer.py:ResidualBlock.call"
    [failure] = target["failures"]
    assert failure["call"] == "ResidualBlock(filters=32, kernel_size=3)(keras.Input(shape=(8, 8, 16)))"
    assert "Inputs have incompatible shapes" in str(run_call(failure["call"], vars(residual)))


def test_cli_input_shape_drives_a_model_builder(cli_folder, monkeypatch, capfd):
    import json
    import runpy

    run = shapeguard_here(cli_folder, monkeypatch, capfd, "builders.py:build_model",
                          "--input-shape", "input_shape=H,H,3", "--axis", "H=8", "--axis", "filters=8",
                          "--format", "json")
    assert run.code == 1, run.stderr
    [target] = json.loads(run.stdout)["targets"]
    assert target["space"] == {"H": [8], "filters": [8]}
    [failure] = target["failures"]
    assert failure["layer"]["class"] == "Reshape"
    assert failure["call"] == "build_model(input_shape=(8, 8, 3), filters=8)"
    namespace = runpy.run_path(str(cli_folder / "builders.py"))
    assert "total size" in str(run_call(failure["call"], namespace))


class GuardedCall(layers.Layer):
    """@guard on call(): the space of the Layer, checked with a fresh instance per probe."""

    def __init__(self, units=8, **kwargs):
        super().__init__(**kwargs)
        self.dense = layers.Dense(units)

    @guard(inputs={"x": "3,C"}, C=[8], units=[8, 4])
    def call(self, x):
        return layers.Add()([x, self.dense(x)])


def test_guard_on_a_layers_call_declares_the_layers_space():
    from shapeguard._collect import resolve_attribute as follow

    target = follow(importlib.import_module(__name__), "GuardedCall.call", "test_targets")
    assert target is GuardedCall and spec_of(GuardedCall).axes == {"C": [8], "units": [8, 4]}
    add = only_failure(check(target))
    assert add.call == "GuardedCall(units=4)(keras.Input(shape=(3, 8)))"
    confirm(add, {"GuardedCall": GuardedCall})


def functional_builder(x, units=8):
    """Takes the input tensor, returns the model made from it: a pass, not a factory."""
    return keras.Model(x, layers.Dense(units)(x))


def test_a_function_returning_a_model_built_from_its_input_passes():
    report = check(functional_builder, inputs={"x": "4"}, units=[8])
    assert report.ok and report.probes == 1, report


class ShapedNet(keras.Model):
    """A subclassed model told its input shape, whose head trusts it."""

    def __init__(self, input_shape=(8, 8, 3), classes=4):
        super().__init__()
        self.conv = layers.Conv2D(4, 3, padding="same")
        self.reshape = layers.Reshape((input_shape[0] * input_shape[1] * 4,))
        self.head = layers.Dense(classes)

    def call(self, x):
        return self.head(self.reshape(self.conv(x)))


def test_a_constructor_parameter_can_take_the_shape():
    report = check(ShapedNet, input_shapes={"input_shape": "6,6,3"}, inputs={"x": "H,H,3"}, H=[6, 8], classes=[4])
    reshape = only_failure(report)
    assert reshape.example == {"H": 8, "classes": 4}
    assert reshape.call == "ShapedNet(input_shape=(6, 6, 3), classes=4)(keras.Input(shape=(8, 8, 3)))"
    confirm(reshape, {"ShapedNet": ShapedNet})


class CallableBlock:
    """Not a Layer, but called on tensors: checked the same way."""

    def __init__(self, filters=8):
        self.filters = filters

    def __call__(self, x):
        return layers.Add()([x, layers.Conv2D(self.filters, 1)(x)])


def test_a_callable_class_is_checked_like_a_layer():
    add = only_failure(check(CallableBlock, inputs={"x": "4,4,C"}, C=[8], filters=[8, 16]))
    assert add.call == "CallableBlock(filters=16)(keras.Input(shape=(4, 4, 8)))"
    assert add.location.line == CallableBlock.__call__.__code__.co_firstlineno + 1
    confirm(add, {"CallableBlock": CallableBlock})
