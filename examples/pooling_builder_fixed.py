"""`pooling_builder.py` fixed: every convolution is ``padding="same"``, so
only the pooling changes the size, and the skip is pooled by 2, the factor
between stage 1's output and stage 3 (one ``MaxPooling2D(2)``), so both are
``H // 4`` for any input (floors included: 33 -> 16 -> 8 on both paths).

The smallest input it accepts is 8x8: below, the last ``MaxPooling2D(2)``
gets a 1x1 map and Keras refuses ("Computed output size would be zero or
negative").

    shapeguard check examples/pooling_builder_fixed.py:build_model
"""

import keras
from keras import layers


def build_model(input_shape=(28, 28, 1), num_classes=10):
    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    stage1 = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(stage1)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    skip = layers.MaxPooling2D(2)(stage1)  # the same pooling as the main path
    x = layers.Concatenate()([x, skip])
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="pooling_cnn")
