"""A tabular classifier builder that takes the number of classes but ends in
a Dense of 10: one-hot labels of any other width do not fit its output."""

import keras
from keras import layers

from shapeguard import guard


@guard(fit={"x": "N,features", "y": "N,classes"}, classes=[2, 10], features=[8, 20])
def build_model(features=20, classes=10, hidden=64):
    inputs = keras.Input((features,))
    x = layers.Dense(hidden, activation="relu")(inputs)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model
