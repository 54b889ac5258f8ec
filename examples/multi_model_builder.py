"""A dense autoencoder builder returning the autoencoder, its encoder and its
decoder (as in the Keras blog's "Building Autoencoders in Keras"), with the
decoder's input size written down once too often.

    shapeguard check examples/multi_model_builder.py:build_autoencoder

The decoder's ``Input`` has the literal 32 (the blog's encoding size) instead
of ``latent_dim``. At the default ``latent_dim=32`` it works; with any other
size the decoder cannot take the encoder's output:
``build_autoencoder(latent_dim=16)`` raises "Input 0 with name ... of layer
'decoder' is incompatible with the layer: expected shape=(None, 32), found
shape=(None, 16)". The fix (``multi_model_builder_fixed.py``): the decoder's
input is ``keras.Input(shape=(latent_dim,))``.
"""

import keras
from keras import layers


def build_autoencoder(input_dim=784, latent_dim=32):
    inputs = keras.Input(shape=(input_dim,), name="image")
    h = layers.Dense(128, activation="relu")(inputs)
    latent = layers.Dense(latent_dim, activation="relu", name="code")(h)
    encoder = keras.Model(inputs, latent, name="encoder")

    code = keras.Input(shape=(32,), name="code_in")  # the encoding size
    h = layers.Dense(128, activation="relu")(code)
    reconstruction = layers.Dense(input_dim, activation="sigmoid")(h)
    decoder = keras.Model(code, reconstruction, name="decoder")

    autoencoder = keras.Model(inputs, decoder(encoder(inputs)), name="autoencoder")
    return autoencoder, encoder, decoder
