"""`multi_model_builder.py` fixed: the decoder's input has ``latent_dim``
units, the width the encoder ends with, so the autoencoder builds for every
``input_dim`` and ``latent_dim``.

    shapeguard check examples/multi_model_builder_fixed.py:build_autoencoder
"""

import keras
from keras import layers


def build_autoencoder(input_dim=784, latent_dim=32):
    inputs = keras.Input(shape=(input_dim,), name="image")
    h = layers.Dense(128, activation="relu")(inputs)
    latent = layers.Dense(latent_dim, activation="relu", name="code")(h)
    encoder = keras.Model(inputs, latent, name="encoder")

    code = keras.Input(shape=(latent_dim,), name="code_in")
    h = layers.Dense(128, activation="relu")(code)
    reconstruction = layers.Dense(input_dim, activation="sigmoid")(h)
    decoder = keras.Model(code, reconstruction, name="decoder")

    autoencoder = keras.Model(inputs, decoder(encoder(inputs)), name="autoencoder")
    return autoencoder, encoder, decoder
