"""A pre-activation residual block for volumes (3-D medical images, video),
with the shortcut ignoring ``strides``.

    shapeguard check examples/conv3d_block.py:conv3d_block

The block starts with ``BatchNormalization`` and ``Activation`` (pre-activation
ResNet) and projects the shortcut only when the channel count changes. With
the default ``strides=1`` that is enough; with ``strides=2`` (a downsampling
stage) and unchanged channels the identity shortcut keeps the full size:
``conv3d_block(keras.Input(shape=(16, 16, 16, 32)), filters=32, strides=2)``:
the ``Add`` gets (None, 16, 16, 16, 32) and (None, 8, 8, 8, 32) and Keras
raises "Inputs have incompatible shapes". The fix (``conv3d_block_fixed.py``): a strided
1x1x1 ``Conv3D`` shortcut when ``strides != 1`` or the channels differ.
"""

from keras import layers


def conv3d_block(x, filters=32, kernel_size=3, strides=1, activation="relu"):
    y = layers.BatchNormalization()(x)
    y = layers.Activation(activation)(y)
    if x.shape[-1] != filters:
        shortcut = layers.Conv3D(filters, 1, strides=strides)(y)
    else:
        shortcut = x
    y = layers.Conv3D(filters, kernel_size, strides=strides, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization()(y)
    y = layers.Activation(activation)(y)
    y = layers.Conv3D(filters, kernel_size, padding="same", use_bias=False)(y)
    return layers.Add()([shortcut, y])
