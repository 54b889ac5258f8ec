"""A TCN-style residual block written as a Layer subclass, with a bug that
symbolic Keras cannot see.

    shapeguard check examples/tcn_block.py:tcn_stack

`TemporalBlock` declares its output shape (`compute_output_shape`, as
keras-tcn's `ResidualBlock` does), so Keras never runs its `call()` on a
`keras.Input`: `tcn_stack(keras.Input(shape=(16, 8)))` builds a model without
complaint. On real data the two `padding="valid"` convolutions shorten the
sequence by `2 * (kernel_size - 1) * dilation_rate` steps and the `Add` of the
residual connection fails ("Inputs have incompatible shapes"). shapeguard runs
`call()` at every probe and reports that `Add`.
"""

from keras import layers

from shapeguard import guard


@guard(T=[16, 64], C=[8], filters=[16], kernel_size=[1, 2, 3], inputs={"x": "T,C"})
class TemporalBlock(layers.Layer):
    """Two dilated 1-D convolutions and a residual connection.
    Input (batch, T, C); output (batch, T, filters)."""

    def __init__(self, filters, kernel_size=2, dilation_rate=1, padding="valid", **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.conv1 = layers.Conv1D(filters, kernel_size, dilation_rate=dilation_rate, padding=padding)
        self.conv2 = layers.Conv1D(filters, kernel_size, dilation_rate=dilation_rate, padding=padding)
        self.shortcut = layers.Conv1D(filters, 1)
        self.add = layers.Add()

    def build(self, input_shape):
        self.conv1.build(input_shape)
        self.conv2.build(self.conv1.compute_output_shape(input_shape))
        self.shortcut.build(input_shape)

    def call(self, x):
        y = self.conv1(x)
        y = self.conv2(y)
        return self.add([self.shortcut(x), y])  # residual add

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)


@guard(T=[16, 64], C=[8], filters=[16], kernel_size=[1, 2, 3], inputs={"x": "T,C"})
def tcn_stack(x, filters=16, kernel_size=2):
    x = TemporalBlock(filters, kernel_size)(x)  # the TCN block
    return layers.Dense(4)(x)
