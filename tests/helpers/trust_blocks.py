"""Small blocks whose explanations were once wrong (issue 17, "Trust, round
2"), for tests/test_explain_differential.py: channels_first layouts, a
squeeze-and-excitation gate, strides and padding='valid', filters that
`groups` does not divide, a fix that is one argument of the call."""

import keras
from keras import layers


def cf_residual(x, filters=8, data_format="channels_last"):
    """A 1x1 convolution to `filters` channels added to its input: fails
    whenever the input's channels are not `filters`, in either layout."""
    y = layers.Conv2D(filters, 1, data_format=data_format)(x)
    return layers.Add()([y, x])


def cf_strided(x, strides=1):
    """channels_first; a stride on the width only, channels kept: the Add
    fails on the width (spatial), never on the channels."""
    y = layers.Conv2D(x.shape[1], 3, strides=(1, strides), padding="same", data_format="channels_first")(x)
    return layers.Add()([y, x])


def cf_global(x, filters=8):
    """The block sets Keras's layout itself; its layers read it."""
    keras.config.set_image_data_format("channels_first")
    y = layers.Conv2D(filters, 1)(x)
    return y + x


def se_gate(x):
    """Squeeze-and-excitation with a gate of a fixed 8 channels: Multiply of x
    and a (1, 1, 8) gate fails when x has other channels. No shortcut to project."""
    s = layers.GlobalAveragePooling2D(keepdims=True)(x)
    s = layers.Dense(8, activation="sigmoid")(s)
    return layers.Multiply()([x, s])


def strided_valid(x):
    """A strided 3x3 'valid' convolution on the main path: both the stride and
    the padding shrink it, so neither padding='same' nor a strided 1x1
    projection alone makes the sizes match."""
    y = layers.Conv2D(x.shape[-1], 3, strides=2, padding="valid")(x)
    return layers.Add()([y, x])


def strided_pointwise(x):
    """A strided 1x1 convolution ('valid', the default, shrinks nothing at
    kernel 1): the stride alone shrinks it; a strided projection fixes it."""
    y = layers.Conv2D(x.shape[-1], 1, strides=2)(x)
    return layers.Add()([y, x])


def grouped_filters(x, filters=6, groups=4):
    """Keras rejects `filters` not divisible by `groups` (the input's 8 channels are)."""
    return layers.Conv2D(filters, 3, padding="same", groups=groups)(x)


def valid_param(x, padding="valid"):
    """A 'valid' convolution before an identity shortcut, its padding a parameter."""
    y = layers.Conv1D(x.shape[-1], 3, padding=padding)(x)
    return layers.Add()([y, x])


def valid_twice(x, padding="valid"):
    """Two branches shrink the sequence; padding='same' on the first is not enough."""
    y = layers.Conv1D(4, 3, padding=padding)(x)
    w = layers.Conv1D(4, 5, padding="valid")(x)
    return layers.Add()([y, w])


def fixed_kernel(x, kernel_size=3, expansion=3):
    """Fails for every kernel_size but 3 (a hard-coded ZeroPadding1D(1));
    `expansion` is never varied and has nothing to do with it."""
    y = layers.ZeroPadding1D(1)(x)
    y = layers.Conv1D(x.shape[-1] * expansion // expansion, kernel_size, padding="valid")(y)
    return layers.Add()([y, x])


def valid_then_long(x, padding="valid"):
    """padding='same' mends the Add, then a hard-coded kernel of 9 meets the
    8 steps: the fix the pattern suggests does not make the call pass."""
    y = layers.Conv1D(x.shape[-1], 3, padding=padding)(x)
    y = layers.Add()([y, x])
    return layers.Conv1D(4, 9, padding="valid")(y)


def upsampled_residual(x):
    """A strided transposed convolution doubles the size before the Add: a
    strided 1x1 projection of the shortcut would halve it instead."""
    y = layers.Conv2DTranspose(x.shape[-1], 3, strides=2, padding="same")(x)
    return layers.Add()([y, x])
