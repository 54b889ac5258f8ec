"""A TCN-style residual block as a Layer subclass (causal, dilated Conv1D),
with the classic shortcut bug.

    shapeguard check examples/conv1d_residual_layer.py:CausalResidualBlock

The shortcut is always the identity: the author stacked blocks whose input
already had ``filters`` channels (64 in, 64 out) and never projected it. It
bites on the first block of a stack, whose input has other channels: for
``CausalResidualBlock(filters=64)(keras.Input(shape=(32, 8)))`` the ``Add``
in ``call()`` gets (None, 32, 8) and (None, 32, 64). On a ``keras.Input``
Keras wraps the error ("Could not automatically infer the output shape /
dtype of 'causal_residual_block' ... Error encountered: Inputs have
incompatible shapes"); on real data it is the ``Add``'s own "Inputs have
incompatible shapes". The fix (``conv1d_residual_layer_fixed.py``):
a 1x1 ``Conv1D`` projection on the shortcut when the input's channels differ
from ``filters``, decided in ``build()`` from the input's shape.
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

    def call(self, inputs, training=None):
        y = keras.activations.relu(self.conv1(inputs))
        y = self.drop1(y, training=training)
        y = keras.activations.relu(self.conv2(y))
        y = self.drop2(y, training=training)
        return keras.activations.relu(self.add([inputs, y]))  # identity shortcut
