"""A small CNN classifier builder with a skip connection that only lines up
at the input size it was written for.

    shapeguard check examples/pooling_builder.py:build_model

Three ``Conv2D(padding="valid")`` stages with ``MaxPooling2D``; the first
stage's features are pooled by 4 and concatenated with the third stage's
convolution. At the default (28, 28, 1) both are 3x3 (28 -> 26 -> 13 ->
11 -> 5 -> 3, and 13 // 4 = 3), so the model builds and trains. The sizes
agree only by arithmetic luck: they match for inputs 22 to 29 pixels high,
not for 32 or 64. ``build_model((32, 32, 3))`` concatenates (None, 4, 4, 64)
with (None, 3, 3, 32) and Keras raises "A `Concatenate` layer requires inputs
with matching shapes except for the concatenation axis". The fix
(``pooling_builder_fixed.py``): ``padding="same"``, and the skip pooled by the
same factor as the main path between the two feature maps.
"""

import keras
from keras import layers


def build_model(input_shape=(28, 28, 1), num_classes=10):
    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(32, 3, padding="valid", activation="relu")(inputs)
    stage1 = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 3, padding="valid", activation="relu")(stage1)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 3, padding="valid", activation="relu")(x)
    skip = layers.MaxPooling2D(4)(stage1)  # bring stage 1 down to stage 3's size
    x = layers.Concatenate()([x, skip])
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="pooling_cnn")
