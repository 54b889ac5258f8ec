"""The buggy/fixed example twins, confirmed with plain Keras alone (no
shapeguard): each buggy example fails at the call its docstring states, in
the layer and with the message it states, on ``keras.Input`` tensors and on
small numpy arrays; at its defaults it works (the bug is one people ship).
Each fixed twin passes at its defaults, at the buggy one's failing call and at
other sizes, symbolically and eagerly."""

from __future__ import annotations

import importlib

import pytest

from helpers.eager_keras import run_eager
from helpers.plain_keras import raising_layer_classes, run_call

pytestmark = pytest.mark.keras


def module(name: str) -> dict:
    return vars(importlib.import_module(f"examples.{name}"))


def passes(call: str, namespace: dict) -> None:
    """Run ``call`` with plain Keras symbolically, then eagerly on numpy arrays."""
    import keras

    eval(call, {**namespace, "keras": keras})
    assert run_eager(call, namespace) is None, call


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


# (buggy module, failing call, layer classes on the traceback, Keras's message
#  symbolically, eagerly); the fixed twin is the module's "_fixed" namesake.
FAILURES = [
    ("conv1d_residual_layer", "CausalResidualBlock(filters=64)(keras.Input(shape=(32, 8)))", ["Add"],
     "Could not automatically infer the output shape / dtype of 'causal_residual_block' "
     "(of type CausalResidualBlock). Either the `CausalResidualBlock.call()` method is incorrect, "
     "or you need to implement the `CausalResidualBlock.compute_output_spec() / compute_output_shape()` "
     "method. Error encountered: Inputs have incompatible shapes. Received shapes (32, 8) and (32, 64)",
     "Inputs have incompatible shapes. Received shapes (32, 8) and (32, 64)"),
    ("transformer_block", "transformer_block(keras.Input(shape=(16, 64)))", ["Add"],
     "Inputs have incompatible shapes. Received shapes (16, 64) and (16, 128)", None),
    ("conv3d_block", "conv3d_block(keras.Input(shape=(16, 16, 16, 32)), filters=32, strides=2)", ["Add"],
     "Inputs have incompatible shapes. Received shapes (16, 16, 16, 32) and (8, 8, 8, 32)", None),
    ("pooling_builder", "build_model((32, 32, 3))", ["Concatenate"],
     "A `Concatenate` layer requires inputs with matching shapes except for the concatenation axis. "
     "Received: input_shape=[(None, 4, 4, 64), (None, 3, 3, 32)]", None),
    ("pooling_builder", "build_model((64, 64, 1))", ["Concatenate"],
     "A `Concatenate` layer requires inputs with matching shapes except for the concatenation axis. "
     "Received: input_shape=[(None, 12, 12, 64), (None, 7, 7, 32)]", None),
    ("multi_model_builder", "build_autoencoder(latent_dim=16)", ["Functional"],
     "Input 0 with name 'code_in' of layer 'decoder' is incompatible with the layer: "
     "expected shape=(None, 32), found shape=(None, 16)", None),
    ("mode_block", "conv_block(keras.Input(shape=(16, 16, 32)), mode='bottleneck')", ["Add"],
     "Inputs have incompatible shapes. Received shapes (16, 16, 32) and (16, 16, 8)", None),
    ("mode_block", "conv_block(keras.Input(shape=(16, 16, 8)), filters=2, mode='bottleneck')", ["Conv2D"],
     "Invalid value for argument `filters`. Expected a strictly positive value. Received filters=0.", None),
    ("undecorated.blocks", "bottleneck_block(keras.Input(shape=(16, 16, 64)), filters=64, strides=2)", ["Add"],
     "Inputs have incompatible shapes. Received shapes (16, 16, 256) and (8, 8, 256)", None),
    ("undecorated.blocks", "bottleneck_block(keras.Input(shape=(16, 16, 256)), filters=64, strides=2)", ["Add"],
     "Inputs have incompatible shapes. Received shapes (16, 16, 256) and (8, 8, 256)", None),
]


@pytest.mark.parametrize("name, call, classes, message, eager_message", FAILURES,
                         ids=[f"{f[0]}:{f[1].split('(')[0]}-{i}" for i, f in enumerate(FAILURES)])
def test_buggy_example_fails_in_plain_keras(name, call, classes, message, eager_message):
    namespace = module(name)
    exc = run_call(call, namespace)
    assert isinstance(exc, ValueError)
    assert set(classes) <= set(raising_layer_classes(exc)), raising_layer_classes(exc)
    assert message in one_line(exc)
    eager = run_eager(call, namespace)
    assert isinstance(eager, ValueError), call
    assert (eager_message or message) in one_line(eager)


# The buggy examples at their defaults (or the sizes their authors tried): they work.
BUGGY_PASSES = [
    ("conv1d_residual_layer", "CausalResidualBlock()(keras.Input(shape=(16, 64)))"),
    ("conv1d_residual_layer", "CausalResidualBlock(filters=8, dilation_rate=4)(keras.Input(shape=(33, 8)))"),
    ("transformer_block", "transformer_block(keras.Input(shape=(16, 128)))"),
    ("conv3d_block", "conv3d_block(keras.Input(shape=(8, 8, 8, 16)))"),
    ("conv3d_block", "conv3d_block(keras.Input(shape=(8, 8, 8, 8)), filters=16, strides=2)"),
    ("mode_block", "conv_block(keras.Input(shape=(16, 16, 8)))"),
    ("mode_block", "conv_block(keras.Input(shape=(16, 16, 8)), mode='inverted')"),
    ("undecorated.blocks", "bottleneck_block(keras.Input(shape=(16, 16, 64)))"),
]


@pytest.mark.parametrize("name, call", BUGGY_PASSES)
def test_buggy_example_works_where_its_author_tried_it(name, call):
    passes(call, module(name))


def test_buggy_builders_work_at_their_defaults():
    import numpy as np

    model = module("pooling_builder")["build_model"]()
    assert model.output_shape == (None, 10)
    assert model(np.zeros((2, 28, 28, 1), "float32")).shape == (2, 10)
    # The skip only lines up for inputs 22 to 29 pixels high.
    for size in (22, 29):
        module("pooling_builder")["build_model"]((size, size, 1))
    for size in (21, 30, 32, 64):
        assert "Concatenate" in str(run_call(f"build_model(({size}, {size}, 1))", module("pooling_builder")))
    autoencoder, encoder, decoder = module("multi_model_builder")["build_autoencoder"]()
    assert autoencoder.output_shape == (None, 784) and decoder.input_shape == (None, 32)


# -- the fixed twins ----------------------------------------------------------

def fixed_calls():
    calls = [
        ("conv1d_residual_layer", "CausalResidualBlock()(keras.Input(shape=(16, 64)))"),
        ("conv1d_residual_layer", "CausalResidualBlock(filters=64)(keras.Input(shape=(32, 8)))"),
    ]
    for t, c, filters, dilation in [(16, 8, 16, 1), (33, 16, 16, 2), (64, 64, 16, 4), (33, 8, 8, 4), (16, 64, 8, 1)]:
        calls.append(("conv1d_residual_layer",
                      f"CausalResidualBlock(filters={filters}, kernel_size=2, dilation_rate={dilation})"
                      f"(keras.Input(shape=({t}, {c})))"))
    calls.append(("transformer_block", "transformer_block(keras.Input(shape=(16, 128)))"))
    for t, d in [(16, 8), (33, 16), (64, 64), (33, 8)]:
        calls.append(("transformer_block", f"transformer_block(keras.Input(shape=({t}, {d})), num_heads=2, "
                                           f"key_dim=8, ff_dim=32)"))
    calls.append(("conv3d_block", "conv3d_block(keras.Input(shape=(16, 16, 16, 32)), filters=32, strides=2)"))
    for d, c, filters, strides in [(8, 8, 8, 1), (8, 8, 8, 2), (9, 8, 16, 1), (9, 16, 8, 2), (9, 16, 16, 2)]:
        calls.append(("conv3d_block", f"conv3d_block(keras.Input(shape=({d}, {d}, {d}, {c})), "
                                      f"filters={filters}, strides={strides})"))
    for mode in ("plain", "bottleneck", "inverted"):
        calls.append(("mode_block", f"conv_block(keras.Input(shape=(16, 16, 32)), mode='{mode}')"))
        calls.append(("mode_block", f"conv_block(keras.Input(shape=(16, 16, 8)), filters=2, mode='{mode}')"))
        for h, c in [(16, 16), (33, 8), (16, 64)]:
            calls.append(("mode_block", f"conv_block(keras.Input(shape=({h}, {h}, {c})), filters=16, mode='{mode}', "
                                        f"activation=keras.activations.gelu)"))
    return calls


FIXED_CALLS = fixed_calls()


@pytest.mark.parametrize("name", sorted({name for name, _ in FIXED_CALLS}))
def test_fixed_twin_passes_at_its_defaults_the_failing_calls_and_other_sizes(name):
    fixed = module(name + "_fixed")
    for call in [call for n, call in FIXED_CALLS if n == name]:
        passes(call, fixed)


def test_fixed_pooling_builder_accepts_sizes_from_8():
    import numpy as np

    namespace = module("pooling_builder_fixed")
    build_model = namespace["build_model"]
    assert build_model().output_shape == (None, 10)
    for shape in [(8, 8, 1), (9, 9, 1), (16, 16, 3), (28, 28, 1), (32, 32, 3), (33, 33, 1), (64, 64, 3),
                  (32, 48, 3), (100, 37, 1)]:
        model = build_model(shape, num_classes=5)
        assert model(np.zeros((2, *shape), "float32")).shape == (2, 5), shape
    for size in (10, 11, 12, 13, 14, 15, 17, 23, 31, 40, 47, 63, 65):
        build_model((size, size, 1))
    exc = run_call("build_model((7, 7, 1))", namespace)
    assert "Computed output size would be zero or negative" in str(exc)


def test_fixed_autoencoder_builds_for_every_latent_size():
    import numpy as np

    build_autoencoder = module("multi_model_builder_fixed")["build_autoencoder"]
    for input_dim, latent_dim in [(784, 8), (784, 16), (64, 32), (64, 64)]:
        autoencoder, encoder, decoder = build_autoencoder(input_dim, latent_dim)
        assert encoder.output_shape == decoder.input_shape == (None, latent_dim)
        data = np.random.default_rng(0).random((2, input_dim)).astype("float32")
        assert autoencoder(data).shape == (2, input_dim)
        assert decoder(encoder(data)).shape == (2, input_dim)


# -- the undecorated project --------------------------------------------------

def test_undecorated_project_correct_parts():
    import keras
    import numpy as np

    blocks = module("undecorated.blocks")
    for h, c, filters, strides in [(16, 8, 8, 1), (16, 16, 16, 1), (33, 8, 16, 2), (16, 16, 16, 2), (33, 64, 8, 1)]:
        passes(f"basic_block(keras.Input(shape=({h}, {h}, {c})), filters={filters}, strides={strides})", blocks)
    for c in (16, 64, 256):  # the buggy block is right with strides=1
        passes(f"bottleneck_block(keras.Input(shape=(16, 16, {c})), filters=64)", blocks)
    squeeze = module("undecorated.layers")["SqueezeExcite"]
    for c in (8, 16, 64):
        assert squeeze()(keras.Input(shape=(16, 16, c))).shape == (None, 16, 16, c)
        assert squeeze(ratio=0.5)(np.ones((2, 9, 9, c), "float32")).shape == (2, 9, 9, c)
    utils = importlib.import_module("examples.undecorated.utils")
    assert utils.make_divisible(37) == 40 and utils.stage_widths(32, 3, 0.5) == [16, 32, 64]
