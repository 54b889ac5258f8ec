"""Small blocks for tests/test_explain.py, each with a known shape bug (or a
silent broadcast), small enough to be checked exhaustively."""

from keras import layers


def up_block(x, skip):
    """U-Net up-block: upsample by 2, then concatenate with the skip."""
    up = layers.UpSampling2D(2)(x)
    return layers.Concatenate()([up, skip])


def valid_stack(x):
    """Three Conv1D with padding='valid': each takes 10 steps off the sequence."""
    for _ in range(3):
        x = layers.Conv1D(4, 11, padding="valid")(x)
    return x


def grouped(x, groups=2):
    return layers.Conv2D(8, 3, padding="same", groups=groups)(x)


def strided_residual(x, strides=1):
    """A residual block whose identity shortcut forgets the stride."""
    y = layers.Conv2D(x.shape[-1], 3, strides=strides, padding="same")(x)
    return layers.Add()([y, x])


def valid_residual(x):
    """A residual block whose main path uses padding='valid'."""
    y = layers.Conv2D(x.shape[-1], 3, padding="valid")(x)
    return layers.Add()([y, x])


def flatten_to(x, size=64):
    return layers.Reshape((size,))(x)


def residual_1x1(x):
    """Residual Add of (T, C) and (T, 32): with C=1 it broadcasts silently."""
    y = layers.Conv1D(32, 3, padding="same")(x)
    return layers.Add()([y, x])


def residual_plus(x):
    """The same, with the + operator."""
    return layers.Conv1D(32, 3, padding="same")(x) + x


def se_block(x):
    """Squeeze-and-excitation: a deliberate broadcast of (1, 1, C) over (H, W, C)."""
    s = layers.GlobalAveragePooling2D(keepdims=True)(x)
    s = layers.Dense(x.shape[-1] // 2, activation="relu")(s)
    s = layers.Dense(x.shape[-1], activation="sigmoid")(s)
    return layers.Multiply()([x, s])


def pointwise_residual(x, filters=8):
    """A 1x1 convolution (padding 'valid' by default) that changes the channels
    before an identity shortcut: a channels failure, which padding cannot fix."""
    return layers.Add()([layers.Conv2D(filters, 1)(x), x])
