"""A squeeze-and-excitation layer (correct): it reads the channel count in
``build()``, so it works for any input."""

import keras
from keras import layers

from .utils import make_divisible


class SqueezeExcite(layers.Layer):
    """Reweights the channels of a (batch, H, W, C) tensor; the output has the
    input's shape."""

    def __init__(self, ratio=0.25, **kwargs):
        super().__init__(**kwargs)
        self.ratio = ratio

    def build(self, input_shape):
        channels = input_shape[-1]
        self.pool = layers.GlobalAveragePooling2D(keepdims=True)
        self.reduce = layers.Dense(make_divisible(channels * self.ratio), activation="relu")
        self.expand = layers.Dense(channels, activation="sigmoid")

    def call(self, inputs):
        scale = self.expand(self.reduce(self.pool(inputs)))
        return inputs * scale

    def compute_output_shape(self, input_shape):
        return input_shape
