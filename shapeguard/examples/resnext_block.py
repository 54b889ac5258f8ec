"""The ResNeXt block from the article shapeguard started from, bugs included.

    shapeguard check shapeguard.examples.resnext_block:block

finds that Add() breaks when conv_shortcut=False and the input's channels are not
filters * 2, or strides=2 (the identity shortcut keeps the input's size), and that
the grouped convolution breaks when filters is not a multiple of groups.
"""

from keras.layers import Add, BatchNormalization, Conv2D, ReLU

from shapeguard import guard


@guard(H=[7], C=[32, 64], strides=[1, 2], groups=[32], g_channels=[1, 2], inputs={"x": "H,H,C"})
def grouped_convolution_block(x, strides, groups, g_channels):
    return Conv2D(g_channels * groups, 3, strides=strides, padding="same", groups=groups)(x)


@guard(
    C=[16, 32, 64, 128],
    H=[7, 8],
    filters=[16, 32, 48, 64],
    strides=[1, 2],
    conv_shortcut=[True, False],
    inputs={"x": "H,H,C"},
)
def block(x, filters, strides=1, groups=32, conv_shortcut=True):
    if conv_shortcut:
        shortcut = Conv2D(filters * 2, (1, 1), strides=strides, padding="same", use_bias=False)(x)
        shortcut = BatchNormalization(epsilon=1.001e-5)(shortcut)
    else:
        shortcut = x
    x = Conv2D(filters, (1, 1), strides=1, padding="same", use_bias=False)(x)
    x = BatchNormalization(epsilon=1.001e-5)(x)
    x = ReLU()(x)
    g_channels = int(filters / groups)
    x = grouped_convolution_block(x, strides, groups, g_channels)
    x = Conv2D(filters * 2, (1, 1), strides=1, padding="same", use_bias=False)(x)
    x = BatchNormalization(epsilon=1.001e-5)(x)
    x = Add()([x, shortcut])
    return ReLU()(x)
