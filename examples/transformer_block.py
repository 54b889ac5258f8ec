"""A transformer encoder block (post-norm, as in the Keras text-classification
example), with the FFN's last projection the wrong width.

    shapeguard check examples/transformer_block.py:transformer_block

The feed-forward network ends with ``Dense(ff_dim)`` instead of projecting
back to the model width, so its residual ``Add`` only works when the input's
last dimension happens to equal ``ff_dim`` (128 by default, the width the
author tried). With any other embedding size, e.g.
``transformer_block(keras.Input(shape=(16, 64)))``, the second ``Add`` gets
(None, 16, 64) and (None, 16, 128) and Keras raises "Inputs have incompatible
shapes". The fix (``transformer_block_fixed.py``): the FFN's last ``Dense``
has ``x.shape[-1]`` units.
"""

from keras import layers


def transformer_block(x, num_heads=4, key_dim=32, ff_dim=128, dropout=0.1):
    attention = layers.MultiHeadAttention(num_heads=num_heads, key_dim=key_dim)(x, x)
    attention = layers.Dropout(dropout)(attention)
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, attention]))

    ffn = layers.Dense(ff_dim, activation="relu")(x)
    ffn = layers.Dense(ff_dim)(ffn)  # should project back to the model width
    ffn = layers.Dropout(dropout)(ffn)
    return layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, ffn]))
