"""`conv1d_residual_layer.py` fixed: when the input's channels differ from
``filters``, the shortcut is a 1x1 ``Conv1D`` projection, created in
``build()`` where the input's shape is known; otherwise it stays the identity.

    shapeguard check examples/conv1d_residual_layer_fixed.py:CausalResidualBlock
"""

import keras
from keras import layers


class CausalResidualBlock(layers.Layer):
    """Two dilated causal convolutions with dropout and a residual connection.
    Input (batch, T, C); output (batch, T, filters)."""

    def __init__(self, filters=64, kernel_size=3, dilation_rate=1, dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.conv1 = layers.Conv1D(filters, kernel_size, padding="causal", dilation_rate=dilation_rate)
        self.conv2 = layers.Conv1D(filters, kernel_size, padding="causal", dilation_rate=dilation_rate)
        self.drop1 = layers.Dropout(dropout)
        self.drop2 = layers.Dropout(dropout)
        self.add = layers.Add()
        self.project = None

    def build(self, input_shape):
        if input_shape[-1] != self.filters:
            self.project = layers.Conv1D(self.filters, 1)

    def call(self, inputs, training=None):
        y = keras.activations.relu(self.conv1(inputs))
        y = self.drop1(y, training=training)
        y = keras.activations.relu(self.conv2(y))
        y = self.drop2(y, training=training)
        shortcut = self.project(inputs) if self.project is not None else inputs
        return keras.activations.relu(self.add([shortcut, y]))
