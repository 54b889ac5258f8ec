"""A residual block written as a Keras Layer subclass, with the classic bug.

    shapeguard check examples/residual_layer.py:ResidualBlock

The shortcut is the identity whatever ``filters`` is: when the block changes
the channel count (``filters`` != the input's channels) the ``Add`` in
``call()`` gets two different shapes. Keras only finds out when the layer is
first called with such an input. The fixed twin is ``residual_layer_fixed.py``.
"""

import keras
from keras import layers

from shapeguard import guard


@guard(C=[16, 32], filters=[16, 32], H=[8], inputs={"x": "H,H,C"})
class ResidualBlock(layers.Layer):
    def __init__(self, filters=16, kernel_size=3, **kwargs):
        super().__init__(**kwargs)
        self.conv1 = layers.Conv2D(filters, kernel_size, padding="same", activation="relu")
        self.conv2 = layers.Conv2D(filters, kernel_size, padding="same")
        self.add = layers.Add()

    def call(self, x):
        y = self.conv2(self.conv1(x))
        return keras.activations.relu(self.add([x, y]))
