"""MNIST images (N, 28, 28) fed to an MLP built for flat vectors (784,)."""

import keras


def build_model():
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


FIT = {"x": (60000, 28, 28), "y": (60000,)}
