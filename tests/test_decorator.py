"""A guarded function behaves exactly as before, except that a shape error
escaping a normal call says more."""

import inspect

import keras
import pytest
from keras import layers

import shapeguard
from shapeguard import ShapeguardError, guard

pytestmark = pytest.mark.keras


def plain_block(x, filters, strides=1, conv_shortcut=True):
    """Docstring of the block."""
    shortcut = layers.Conv2D(filters, 1, strides=strides)(x) if conv_shortcut else x
    y = layers.Conv2D(filters, 3, strides=strides, padding="same")(x)
    return layers.Add()([y, shortcut])


guarded_block = guard(C=[8, 16], filters=[8, 16], inputs={"x": "H,H,C"})(plain_block)


def test_name_docstring_signature_preserved():
    assert guarded_block.__name__ == "plain_block"
    assert guarded_block.__doc__ == "Docstring of the block."
    assert inspect.signature(guarded_block) == inspect.signature(plain_block)
    assert guarded_block.__wrapped__ is plain_block


def test_same_result_as_the_plain_function():
    x = keras.Input(shape=(8, 8, 8))
    assert guarded_block(x, 16).shape == plain_block(x, 16).shape == (None, 8, 8, 16)
    assert guard(lambda a, b=2: a * b)(3) == 6


def test_same_exception_type_and_original_message_kept():
    x = keras.Input(shape=(8, 8, 8))
    with pytest.raises(ValueError) as plain:
        plain_block(x, 16, conv_shortcut=False)
    with pytest.raises(ValueError) as guarded:
        guarded_block(x, 16, conv_shortcut=False)
    assert type(guarded.value) is type(plain.value)
    assert str(guarded.value).startswith(str(plain.value))


def test_escaping_shape_error_is_enriched_with_layer_shapes_and_arguments():
    x = keras.Input(shape=(8, 8, 8))
    with pytest.raises(ValueError) as caught:
        guarded_block(x, 16, conv_shortcut=False)
    message = str(caught.value)
    assert "Inputs have incompatible shapes" in message
    assert "shapeguard: Add" in message
    assert "(None, 8, 8, 16), (None, 8, 8, 8)" in message
    assert "test_decorator.py:" in message
    assert "plain_block(<KerasTensor shape=(None, 8, 8, 8)>, 16, conv_shortcut=False)" in message


def test_nested_guarded_calls_enrich_once():
    @guard
    def outer(x, filters=16):
        return guarded_block(x, filters, conv_shortcut=False)

    with pytest.raises(ValueError) as caught:
        outer(keras.Input(shape=(8, 8, 8)))
    assert str(caught.value).count("shapeguard:") == 1


def test_other_exceptions_pass_through_untouched():
    @guard(flag=[True])
    def raises(x, flag=True):
        raise KeyError("mine")

    with pytest.raises(KeyError) as caught:
        raises(1)
    assert caught.value.args == ("mine",)


class Blocks:
    def __init__(self, width=8):
        self.width = width

    @guard(C=[8, 16], residual=[True, False], inputs={"x": "4,4,C"})  # named: given axes are never widened
    def block(self, x, residual=True):
        """A method."""
        y = layers.Conv2D(self.width, 1)(x)
        return layers.Add()([x, y]) if residual else y


def test_methods_work_and_can_be_checked():
    blocks = Blocks()
    assert blocks.block.__doc__ == "A method."
    assert list(inspect.signature(blocks.block).parameters) == ["x", "residual"]
    assert blocks.block(keras.Input(shape=(4, 4, 8))).shape == (None, 4, 4, 8)
    report = blocks.block.check()
    assert report.mode == "exhaustive" and [f.layer_class for f in report.failures] == ["Add"]
    failure = report.failures[0]
    assert failure.example == {"C": 16, "residual": True}
    assert failure.call == "Blocks().block(keras.Input(shape=(4, 4, 16)), residual=True)"
    from helpers.plain_keras import confirm

    confirm(failure, globals())


def test_check_is_reachable_from_the_module_and_the_function():
    searched = dict(filters=[8], C=[8], H=[3], strides=[1, 2], conv_shortcut=[True, False])
    report = shapeguard.check(guarded_block, **searched)
    assert report.space == {"C": [8], "filters": [8], "H": [3], "strides": [1, 2], "conv_shortcut": [True, False]}
    assert guarded_block.check(**searched).to_json() == report.to_json()
    # an odd size and an identity shortcut: stride 2 breaks the join
    (failure,) = report.failures
    assert failure.example == {"C": 8, "filters": 8, "H": 3, "strides": 2, "conv_shortcut": False}
    from helpers.plain_keras import confirm

    confirm(failure, globals())


def test_bad_axis_fails_at_decoration_with_a_suggestion():
    with pytest.raises(ShapeguardError, match="Did you mean 'filters'"):
        guard(filter=[8])(plain_block)
