"""`transformer_block.py` fixed: the FFN expands to ``ff_dim`` and projects
back to the input's width, ``x.shape[-1]``, so both residual ``Add`` layers
match for any embedding size.

    shapeguard check examples/transformer_block_fixed.py:transformer_block
"""

from keras import layers


def transformer_block(x, num_heads=4, key_dim=32, ff_dim=128, dropout=0.1):
    attention = layers.MultiHeadAttention(num_heads=num_heads, key_dim=key_dim)(x, x)
    attention = layers.Dropout(dropout)(attention)
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, attention]))

    ffn = layers.Dense(ff_dim, activation="relu")(x)
    ffn = layers.Dense(x.shape[-1])(ffn)
    ffn = layers.Dropout(dropout)(ffn)
    return layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, ffn]))
