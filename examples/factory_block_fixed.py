"""A factory-style block, its bug fixed.

    shapeguard check examples/factory_block_fixed.py:InvertedResidual

`factory_block.py` fixed: the residual ``Add`` is used only when the block
keeps both the channel count and the size (``strides=1``).
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
        if strides == 1 and filters == channels:
            x = layers.Add()([inputs, x])
        return x

    return apply
