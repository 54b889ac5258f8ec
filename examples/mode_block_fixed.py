"""`mode_block.py` fixed: the ``"bottleneck"`` body expands back to
``filters`` channels with its last 1x1 convolution, so the residual ``Add``
matches in every mode. Its squeezed width is at least 1, so ``filters`` below
4 no longer asks for a convolution with 0 filters.

    shapeguard check examples/mode_block_fixed.py:conv_block
"""

from typing import Callable, Literal

import keras
from keras import layers


def conv_block(
    x,
    filters: int = 32,
    mode: Literal["plain", "bottleneck", "inverted"] = "plain",
    activation: Callable = keras.activations.relu,
):
    if x.shape[-1] == filters:
        shortcut = x
    else:
        shortcut = layers.Conv2D(filters, 1, use_bias=False)(x)

    if mode == "plain":
        y = activation(layers.Conv2D(filters, 3, padding="same")(x))
        y = layers.Conv2D(filters, 3, padding="same")(y)
    elif mode == "bottleneck":
        squeezed = max(filters // 4, 1)
        y = activation(layers.Conv2D(squeezed, 1)(x))
        y = activation(layers.Conv2D(squeezed, 3, padding="same")(y))
        y = layers.Conv2D(filters, 1)(y)
    elif mode == "inverted":
        y = activation(layers.Conv2D(filters * 4, 1)(x))
        y = activation(layers.DepthwiseConv2D(3, padding="same")(y))
        y = layers.Conv2D(filters, 1)(y)
    else:
        raise ValueError(f"unknown mode {mode!r}")
    y = layers.BatchNormalization()(y)
    return activation(layers.Add()([shortcut, y]))
