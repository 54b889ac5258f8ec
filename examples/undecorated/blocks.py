"""Two residual blocks sharing a convolution helper; ``bottleneck_block`` is
buggy (see README.md)."""

from keras import layers

from .layers import SqueezeExcite


def conv_bn(x, filters, kernel_size=3, strides=1, activation="relu"):
    """Conv2D + BatchNormalization (+ activation): the helper both blocks call."""
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.Activation(activation)(x) if activation else x


def basic_block(x, filters=64, strides=1, squeeze_excite=True):
    """Two 3x3 convolutions; the shortcut is projected whenever the size or
    the channels change. Correct."""
    y = conv_bn(x, filters, strides=strides)
    y = conv_bn(y, filters, activation=None)
    if squeeze_excite:
        y = SqueezeExcite()(y)
    if strides != 1 or x.shape[-1] != filters:
        x = conv_bn(x, filters, kernel_size=1, strides=strides, activation=None)
    return layers.Activation("relu")(layers.Add()([x, y]))


def bottleneck_block(x, filters=64, strides=1, expansion=4):
    """1x1 squeeze, 3x3 (strided), 1x1 expand to ``filters * expansion``.
    Buggy: the projection shortcut forgets ``strides``."""
    y = conv_bn(x, filters, kernel_size=1)
    y = conv_bn(y, filters, strides=strides)
    y = conv_bn(y, filters * expansion, kernel_size=1, activation=None)
    if x.shape[-1] != filters * expansion:
        x = conv_bn(x, filters * expansion, kernel_size=1, activation=None)
    return layers.Activation("relu")(layers.Add()([x, y]))
