"""`residual_layer.py` fixed: a 1x1 projection on the shortcut when the
channel count changes, decided in ``build`` from the input's shape.

    shapeguard check examples/residual_layer_fixed.py:ResidualBlock
"""

import keras
from keras import layers

from shapeguard import guard


@guard(C=[16, 32], filters=[16, 32], H=[8], inputs={"x": "H,H,C"})
class ResidualBlock(layers.Layer):
    def __init__(self, filters=16, kernel_size=3, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.conv1 = layers.Conv2D(filters, kernel_size, padding="same", activation="relu")
        self.conv2 = layers.Conv2D(filters, kernel_size, padding="same")
        self.add = layers.Add()
        self.project = None

    def build(self, input_shape):
        if input_shape[-1] != self.filters:
            self.project = layers.Conv2D(self.filters, 1)

    def call(self, x):
        y = self.conv2(self.conv1(x))
        shortcut = self.project(x) if self.project is not None else x
        return keras.activations.relu(self.add([shortcut, y]))
