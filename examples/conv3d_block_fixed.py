"""`conv3d_block.py` fixed: the shortcut is a strided 1x1x1 ``Conv3D`` (on
the pre-activated input) whenever ``strides != 1`` or the channels differ,
so it always has the main path's size and channels.

    shapeguard check examples/conv3d_block_fixed.py:conv3d_block
"""

from keras import layers


def conv3d_block(x, filters=32, kernel_size=3, strides=1, activation="relu"):
    y = layers.BatchNormalization()(x)
    y = layers.Activation(activation)(y)
    if strides != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv3D(filters, 1, strides=strides, padding="same")(y)
    else:
        shortcut = x
    y = layers.Conv3D(filters, kernel_size, strides=strides, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization()(y)
    y = layers.Activation(activation)(y)
    y = layers.Conv3D(filters, kernel_size, padding="same", use_bias=False)(y)
    return layers.Add()([shortcut, y])
