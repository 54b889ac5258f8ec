"""A sequence regressor builder written for one feature per time step: its
Input has 1 channel whatever `features` says, so data with more features per
step does not fit (one feature fits: Keras adds the trailing axis of size 1)."""

import keras
from keras import layers

from shapeguard import guard


@guard(fit={"x": "N,look_back,features", "y": "N"}, features=[1, 3], look_back=[10, 30])
def build_model(look_back=10, features=1, units=32):
    inputs = keras.Input((look_back, 1))
    x = layers.Conv1D(16, 3, activation="relu")(inputs)
    x = layers.LSTM(units)(x)
    outputs = layers.Dense(1)(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    return model
