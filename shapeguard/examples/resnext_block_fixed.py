"""The ResNeXt block with its shape bugs fixed; shapeguard passes it on the
same space as shapeguard/examples/resnext_block.py.

Two changes: the shortcut is projected (1x1 convolution) whenever the identity would
not match the main path, and `groups` is reduced to the largest count that divides
`filters`, so the grouped convolution always has whole groups.
"""

import math

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
    if filters % groups:  # a grouped convolution needs whole groups
        groups = math.gcd(filters, groups)
    if conv_shortcut or strides != 1 or x.shape[-1] != filters * 2:
        shortcut = Conv2D(filters * 2, (1, 1), strides=strides, padding="same", use_bias=False)(x)
        shortcut = BatchNormalization(epsilon=1.001e-5)(shortcut)
    else:
        shortcut = x
    x = Conv2D(filters, (1, 1), strides=1, padding="same", use_bias=False)(x)
    x = BatchNormalization(epsilon=1.001e-5)(x)
    x = ReLU()(x)
    g_channels = filters // groups
    x = grouped_convolution_block(x, strides, groups, g_channels)
    x = Conv2D(filters * 2, (1, 1), strides=1, padding="same", use_bias=False)(x)
    x = BatchNormalization(epsilon=1.001e-5)(x)
    x = Add()([x, shortcut])
    return ReLU()(x)
