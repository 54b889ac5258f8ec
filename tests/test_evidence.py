"""Values from the code: what a block's own source says about its parameters
(`shapeguard._evidence`) and the values the space then tries (no Keras needed:
the blocks below are read, never run)."""

import enum
import textwrap
from typing import Literal

from shapeguard._callee import resolve
from shapeguard._evidence import evidence
from shapeguard._inference import RELU
from shapeguard._show import call_string, show_value
from shapeguard.space import build_space


class Kind(enum.Enum):
    PLAIN = "plain"
    BOTTLENECK = "bottleneck"


def literal_mode(x, mode: Literal["add", "concat"] = "add"):
    return x if mode == "add" else [x, x]


def enum_kind(x, kind: Kind = Kind.PLAIN):
    return x, kind


def documented(x, merge="sum"):
    """A block.

    Args:
        x: the input.
        merge: how the branches join, one of "sum", "concat" or "mul".
    """
    return x, merge


def numpy_documented(x, pool=None):
    """A block.

    Parameters
    ----------
    pool : {'avg', 'max'}, optional
        The pooling.
    """
    return x, pool


def inception_resnet_block(x, scale, block_type, block_idx, activation="relu"):
    if block_type == "block35":
        branches = [x]
    elif block_type in ("block17", "block8"):
        branches = [x, x]
    else:
        raise ValueError(block_type)
    return branches, scale, block_idx, activation


def padded(x, filters, padding="same", strides=(1, 1)):
    return layers.Conv2D(filters, 3, padding=padding, strides=strides)(x)  # noqa: F821 - read, never run


def calls_activation(x, filters, activation):
    return activation(layers.Conv2D(filters, 1)(x))  # noqa: F821 - read, never run


def passes_activation(x, units, activation):
    return layers.Dense(units, activation=activation)(x)  # noqa: F821 - read, never run


def string_activation(x, act="swish"):
    return layers.Activation(act)(x)  # noqa: F821 - read, never run


def builder(input_shape=None, weights="imagenet", classes=1000):
    return input_shape, weights, classes


def unknown(x, knob):
    return x * knob


def never_used(x, growth_rate, spare):
    return x * growth_rate


class Merge:
    def __init__(self, mode, units=8):
        self.mode = mode
        self.units = units

    def __call__(self, x):
        match self.mode:
            case "add":
                return x
            case "mul" | "max":
                return x
        return layers.Dense(self.units)(x)  # noqa: F821 - read, never run


def values(fn, axes=None, inputs=None):
    return build_space(fn, axes, inputs or {"x": "H,H,C"}).as_dict()


def rules(fn, axes=None, inputs=None):
    return build_space(fn, axes, inputs or {"x": "H,H,C"}).inferred()["axes"]


def test_a_literal_annotation_gives_its_choices_default_first():
    assert values(literal_mode)["mode"] == ["add", "concat"]
    assert rules(literal_mode)["mode"] == "a Literal annotation"


def test_an_enum_annotation_gives_its_members_written_as_the_code_names_them():
    assert values(enum_kind)["kind"] == [Kind.PLAIN, Kind.BOTTLENECK]
    assert show_value(Kind.BOTTLENECK) == "test_evidence.Kind.BOTTLENECK"


def test_a_docstring_that_lists_the_choices_gives_them():
    assert values(documented)["merge"] == ["sum", "concat", "mul"]
    assert rules(documented)["merge"] == "its docstring"
    assert values(numpy_documented)["pool"] == [None, "avg", "max"]


def test_the_literals_the_code_compares_with_are_the_choices():
    space = values(inception_resnet_block)
    assert space["block_type"] == ["block35", "block17", "block8"]
    assert rules(inception_resnet_block)["block_type"] == "what the code compares it with"
    assert space["scale"] == [1.0] and space["block_idx"] == [0]  # no default, nothing said: one guess each
    assert "activation" not in space  # a default the code does nothing with but pass on: kept


def test_a_class_is_read_through_self_attributes():
    found = evidence(Merge)
    assert found["mode"].choices == ("add", "mul", "max") and found["units"].keywords == ("units",)
    space = resolve(Merge).space({})  # a callable class: __init__'s parameters, __call__'s tensor
    assert space.as_dict()["mode"] == ["add", "mul", "max"] and space.as_dict()["units"] == [8, 16, 32, 64]


def test_a_parameter_passed_as_padding_or_strides_gets_those_values_in_its_defaults_type():
    space = values(padded)
    assert space["padding"] == ["same", "valid"]
    assert space["strides"] == [(1, 1), (2, 2)]
    assert space["filters"] == [8, 16, 32, 64]  # Conv2D's first argument: filters
    assert rules(padded)["padding"] == "passed as padding="


def test_an_activation_the_code_calls_is_a_keras_function_and_one_it_passes_on_a_string():
    called = build_space(calls_activation, {}, {"x": "H,H,C"})
    assert called.as_dict()["activation"] == [RELU]
    assert called.inferred()["axes"]["activation"] == "no default, called as a function: guessed keras.activations.relu"
    call = call_string("calls_activation", called.arguments((0,) * len(called.axes)))
    assert call.endswith("activation=keras.activations.relu)")  # the reproducing call stays Python
    assert values(passes_activation)["activation"] == ["relu"]
    assert values(string_activation)["act"] == ["swish", "relu"]  # a string default stays a string


def test_weights_are_held_at_none():
    space = build_space(builder, {}, {"input_shape": "H,H,C"})
    assert space.as_dict()["weights"] == [None]
    assert "never loads weights" in space.inferred()["axes"]["weights"]
    given = build_space(builder, {"classes": [10]}, {"input_shape": "H,H,C"})
    assert given.as_dict()["weights"] == [None]  # given axes or not


def test_a_parameter_without_default_or_evidence_is_held_at_one_value():
    def block(x, filters, growth_rate):
        return x * filters * growth_rate

    space = build_space(block, {}, {"x": "H,H,C"})
    assert space.as_dict()["filters"] == [64] and space.as_dict()["growth_rate"] == [64]
    assert space.inferred()["axes"]["growth_rate"] == "no default: guessed 64 from its name"


def test_an_unused_parameter_without_default_is_held_at_none():
    space = build_space(never_used, {}, {"x": "H,H,C"})
    assert space.as_dict()["spare"] == [None]
    assert space.inferred()["axes"]["spare"] == "never used by the code"


def test_given_axes_are_never_widened():
    space = build_space(padded, {"filters": [16]}, {"x": "H,H,C"})
    assert "padding" not in space.as_dict() and "strides" not in space.as_dict()
    assert set(space.as_dict()) == {"filters", "H", "C"}  # the dims nobody gave are still inferred
    held = build_space(padded, {"padding": ["valid"]}, {"x": "H,H,C"})
    assert held.as_dict()["filters"] == [64]  # no default: one value (its name's guess), not a grid
    assert held.inferred()["axes"]["filters"] == "passed as filters=; held at one value: axes were given"


def test_a_parameter_the_code_says_nothing_about_and_no_name_fits_is_asked_for():
    import pytest

    from shapeguard import ShapeguardError

    with pytest.raises(ShapeguardError, match="knob"):
        build_space(unknown, {}, {"x": "H,H,C"})


def test_source_that_cannot_be_read_is_no_evidence_and_no_error(tmp_path):
    assert evidence(len) == {} and evidence(lambda x: x) is not None
    namespace = {}
    exec(compile("def made(x, mode='a'):\n    return x\n", "<made>", "exec"), namespace)
    assert evidence(namespace["made"]) == {}
    assert build_space(namespace["made"], {}, {"x": "H,H,C"}).as_dict()["H"] == [7, 8]


def test_a_source_file_is_read_not_run(tmp_path, monkeypatch):
    path = tmp_path / "blocks_for_evidence.py"
    path.write_text(textwrap.dedent('''
        import sys
        from typing import Literal

        import enum

        class Kind(enum.Enum):
            A = "a"
            B = "b"

        def block(x, mode: "Literal['a', 'b']" = "a", flag=None, *, pad="same", kind: "Kind" = Kind.A):
            """flag: 'on' or 'off'."""
            if flag != "on":
                pass
            return conv(x, padding=pad, mode=mode)
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    import blocks_for_evidence

    found = evidence(blocks_for_evidence.block)
    assert found["mode"].choices == ("a", "b")
    assert found["flag"].choices == ("on", "off") and found["flag"].choices_from == "its docstring"
    assert found["pad"].keywords == ("padding",)
    assert [k.name for k in found["kind"].choices] == ["A", "B"]  # a string annotation: looked up, not evaluated


def test_a_comparison_with_the_default_alone_leaves_the_name_rule_in_charge():
    def block(x, stride=1, groups=32, activation="relu"):
        if stride == 1 and groups != 1:
            return layers.Conv2D(8, 1, activation=activation)(x)  # noqa: F821 - read, never run
        return x

    space = build_space(block, {}, {"x": "H,H,C"}).as_dict()
    assert space["stride"] == [1, 2] and space["groups"] == [32, 1]
    assert "activation" not in space  # "relu" and "relu": nothing else to try

    def required(x, strides):
        return x if strides == 1 else layers.Conv2D(8, 3, strides=strides)(x)  # noqa: F821 - read, never run

    assert build_space(required, {}, {"x": "H,H,C"}).as_dict()["strides"] == [1, 2]  # passed as strides=


def test_self_attributes_set_together_are_followed_and_a_none_label_is_held_even_with_axes():
    class Tower:
        def __init__(self, mode, name=None):
            self.mode, self.name = mode, name

        def __call__(self, x):
            return x if self.mode in ("sum", "max") else layers.Dense(8, name=self.name + "_d")(x)  # noqa: F821

    assert evidence(Tower)["mode"].choices == ("sum", "max")
    space = resolve(Tower).space({"C": [8]})
    assert space.as_dict()["mode"] == ["sum"] and space.as_dict()["name"] == ["block"]


def lstm_builder(timesteps=20, n_features=4, units=32):
    import keras

    inputs = keras.Input(shape=(timesteps, n_features))
    return keras.Model(inputs, keras.layers.LSTM(units)(inputs))


def test_a_builders_input_sizes_are_searched_around_their_defaults():
    """A builder's own Input(shape=(timesteps, n_features)): its sizes are
    what the model is built for, so they are searched (default, odd, double)."""
    space = build_space(lstm_builder, {}, {}, tensors=False)
    assert space.as_dict()["timesteps"] == [20, 21, 40] and space.as_dict()["n_features"] == [4, 5, 8]
    assert space.inferred()["axes"]["timesteps"] == "passed as shape="


def stacked(x, blocks):
    for i in range(blocks[0]):
        x = x + i
    return x


def test_a_count_the_code_indexes_is_a_sequence_and_is_asked_for():
    """DenseNet(blocks): ``blocks[0]`` makes it a list, so no count is guessed."""
    import pytest

    from shapeguard import ShapeguardError

    with pytest.raises(ShapeguardError, match="blocks"):
        build_space(stacked, {}, {"x": "H,H,C"})


def gated(x, g, filters=16):
    from keras import layers

    return layers.Multiply()([layers.Conv2D(filters, 1)(x), layers.Conv2D(filters, 1)(g)])


def test_a_parameter_the_code_calls_a_layer_on_is_a_tensor_whatever_its_name():
    space = build_space(gated, {}, None)
    assert [t.param for t in space.templates] == ["x", "g"]
    assert space.templates[1].text == "H,H,C|2*H,2*H,C|H//2,H//2,C"


def scaled(x, projection_dim):
    from keras import layers

    gamma = layers.Dense(1).add_weight(shape=(projection_dim,))
    return x * gamma


def test_a_weights_shape_is_not_an_input_size():
    """Only keras.Input(shape=...) gives input sizes; a weight's shape= says nothing."""
    space = build_space(scaled, {}, {"x": "H,H,C"})
    assert space.inferred()["axes"].get("projection_dim") != "passed as shape="
