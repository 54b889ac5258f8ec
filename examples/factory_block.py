"""A factory-style block (as Keras's own EfficientNetV2 and MobileNet blocks
are written): ``InvertedResidual(filters, ...)`` returns the function to apply.

    shapeguard check examples/factory_block.py:InvertedResidual

shapeguard calls the factory with the searched values and applies what it
returns to the input. The bug: the residual ``Add`` is used whenever the
channel count is kept, also with ``strides=2``, where the block halves the
input's height and width. The fixed twin is ``factory_block_fixed.py``.
"""

from keras import layers

from shapeguard import guard


@guard(C=[16, 32], filters=[16, 32], strides=[1, 2], H=[7], inputs={"inputs": "H,H,C"})
def InvertedResidual(filters, expansion=2, strides=1):
    def apply(inputs):
        channels = inputs.shape[-1]
        x = layers.Conv2D(channels * expansion, 1, activation="relu")(inputs)
        x = layers.DepthwiseConv2D(3, strides=strides, padding="same", activation="relu")(x)
        x = layers.Conv2D(filters, 1)(x)
        if filters == channels:
            x = layers.Add()([inputs, x])
        return x

    return apply
