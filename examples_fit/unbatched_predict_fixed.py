"""predict on a batch of one image: x[None]."""

import keras


def build_model():
    return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(8, 3, activation="relu"),
                             keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10, activation="softmax")])


FIT = {"x": (1, 28, 28, 1), "mode": "predict"}
