"""A residual convolution block with three body styles picked by ``mode``
(a plain ResNet pair, a ResNet bottleneck, a MobileNetV2-style inverted
residual) and a pluggable ``activation`` called directly on the tensors;
one mode is broken.

    shapeguard check examples/mode_block.py:conv_block

``"plain"`` and ``"inverted"`` end with ``filters`` channels; the
``"bottleneck"`` body's last 1x1 convolution keeps the squeezed width,
``filters // 4``, instead of expanding back to ``filters``. The default mode
works, so the bug shows only when someone asks for a bottleneck:
``conv_block(keras.Input(shape=(16, 16, 32)), mode="bottleneck")``: the
``Add`` gets (None, 16, 16, 32) and (None, 16, 16, 8) and Keras raises
"Inputs have incompatible shapes". The fix (``mode_block_fixed.py``): the
bottleneck's last convolution has ``filters`` channels (and the squeezed
width is at least 1: here ``filters`` below 4 also fails, with a 0-filter
``Conv2D``).
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
        y = activation(layers.Conv2D(filters // 4, 1)(x))
        y = activation(layers.Conv2D(filters // 4, 3, padding="same")(y))
        y = layers.Conv2D(filters // 4, 1)(y)  # should expand back to filters
    elif mode == "inverted":
        y = activation(layers.Conv2D(filters * 4, 1)(x))
        y = activation(layers.DepthwiseConv2D(3, padding="same")(y))
        y = layers.Conv2D(filters, 1)(y)
    else:
        raise ValueError(f"unknown mode {mode!r}")
    y = layers.BatchNormalization()(y)
    return activation(layers.Add()([shortcut, y]))
