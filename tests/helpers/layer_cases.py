"""A Hypothesis strategy of single Keras layers and the inputs to call them on
(`single_layers`), shared by the fast path's differential
(tests/test_differential.py) and the stand-ins' (tests/test_standin.py)."""

from __future__ import annotations

from hypothesis import strategies as st
from keras import layers, ops

sizes = st.integers(1, 9)
channels = st.sampled_from([1, 2, 3, 4, 6, 8])
padding = st.sampled_from(["valid", "same"])


@st.composite
def single_layers(draw):
    """(description, a function making the layer's output from inputs, input shapes)."""
    kind = draw(st.sampled_from([
        "conv", "conv_transpose", "depthwise", "separable", "pool", "dense", "norm", "reshape", "flatten",
        "upsample", "crop", "pad", "merge", "operator", "attention", "recurrent",
    ]))
    rank = draw(st.sampled_from([1, 2])) if kind in ("conv", "pool", "upsample", "crop", "pad") else 2
    spatial = tuple(draw(sizes) for _ in range(rank))
    c = draw(channels)
    shape = (*spatial, c)
    if kind == "conv":
        filters, kernel = draw(st.integers(1, 8)), draw(st.integers(1, 5))
        strides, dilation = draw(st.integers(1, 3)), draw(st.integers(1, 2))
        if strides > 1:
            dilation = 1  # Keras refuses both at once before any shape is seen
        groups = draw(st.sampled_from([1, 2, 3]))
        cls = layers.Conv1D if rank == 1 else layers.Conv2D
        pad = draw(padding)
        return (f"{cls.__name__}({filters}, {kernel}, strides={strides}, padding={pad!r}, dilation_rate={dilation},"
                f" groups={groups})", lambda x: cls(filters, kernel, strides=strides, padding=pad,
                                                   dilation_rate=dilation, groups=groups)(x), [shape])
    if kind == "conv_transpose":
        filters, kernel, strides, pad = draw(st.integers(1, 8)), draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(padding)
        return (f"Conv2DTranspose({filters}, {kernel}, strides={strides}, padding={pad!r})",
                lambda x: layers.Conv2DTranspose(filters, kernel, strides=strides, padding=pad)(x), [shape])
    if kind == "depthwise":
        kernel, mult = draw(st.integers(1, 5)), draw(st.integers(1, 2))
        return (f"DepthwiseConv2D({kernel}, depth_multiplier={mult})",
                lambda x: layers.DepthwiseConv2D(kernel, depth_multiplier=mult)(x), [shape])
    if kind == "separable":
        filters, kernel, pad = draw(st.integers(1, 8)), draw(st.integers(1, 5)), draw(padding)
        return (f"SeparableConv2D({filters}, {kernel}, padding={pad!r})",
                lambda x: layers.SeparableConv2D(filters, kernel, padding=pad)(x), [shape])
    if kind == "pool":
        size, strides, pad = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(padding)
        cls = draw(st.sampled_from([layers.MaxPooling1D, layers.AveragePooling1D] if rank == 1
                                   else [layers.MaxPooling2D, layers.AveragePooling2D]))
        return (f"{cls.__name__}({size}, strides={strides}, padding={pad!r})",
                lambda x: cls(size, strides=strides, padding=pad)(x), [shape])
    if kind == "dense":
        units = draw(st.integers(1, 8))
        return f"Dense({units})", lambda x: layers.Dense(units)(x), [shape]
    if kind == "norm":
        cls = draw(st.sampled_from([layers.BatchNormalization, layers.LayerNormalization]))
        axis = draw(st.sampled_from([-1, 1, 3]))
        return f"{cls.__name__}(axis={axis})", lambda x: cls(axis=axis)(x), [shape]
    if kind == "reshape":
        target = (draw(st.integers(1, 6)), -1) if draw(st.booleans()) else (draw(st.integers(1, 6)), draw(st.integers(1, 6)))
        return f"Reshape({target})", lambda x: layers.Reshape(target)(x), [shape]
    if kind == "flatten":
        units = draw(st.integers(1, 4))
        unknown = draw(st.booleans())
        return (f"Flatten then Dense({units}), unknown={unknown}",
                lambda x: layers.Dense(units)(layers.Flatten()(x)), [(None, None, c) if unknown else shape])
    if kind == "upsample":
        size = draw(st.integers(1, 3))
        cls = layers.UpSampling1D if rank == 1 else layers.UpSampling2D
        return f"{cls.__name__}({size})", lambda x: cls(size)(x), [shape]
    if kind == "crop":
        crop = draw(st.integers(0, 4))
        cls = layers.Cropping1D if rank == 1 else layers.Cropping2D
        return f"{cls.__name__}({crop})", lambda x: cls(crop)(x), [shape]
    if kind == "pad":
        pad = draw(st.integers(0, 3))
        cls = layers.ZeroPadding1D if rank == 1 else layers.ZeroPadding2D
        return f"{cls.__name__}({pad})", lambda x: cls(pad)(x), [shape]
    other = (*tuple(draw(st.sampled_from([s, 1, s + 1])) for s in spatial), draw(st.sampled_from([c, 1, c + 1])))
    if kind == "merge":
        cls = draw(st.sampled_from([layers.Add, layers.Multiply, layers.Concatenate, layers.Subtract]))
        return f"{cls.__name__} of {shape} and {other}", lambda x, y: cls()([x, y]), [shape, other]
    if kind == "operator":
        op = draw(st.sampled_from(["+", "ops.add", "ops.concatenate"]))
        make = {"+": lambda x, y: x + y, "ops.add": lambda x, y: ops.add(x, y),
                "ops.concatenate": lambda x, y: ops.concatenate([x, y], axis=-1)}[op]
        return f"{op} of {shape} and {other}", make, [shape, other]
    if kind == "attention":
        heads, key_dim = draw(st.integers(1, 3)), draw(st.integers(1, 4))
        return (f"MultiHeadAttention({heads}, {key_dim}) of {shape} and {other}",
                lambda q, v: layers.MultiHeadAttention(heads, key_dim)(q, v), [shape, other])
    units, seq = draw(st.integers(1, 6)), draw(st.booleans())
    cls = draw(st.sampled_from([layers.LSTM, layers.GRU, layers.SimpleRNN]))
    return (f"{cls.__name__}({units}, return_sequences={seq})",
            lambda x: cls(units, return_sequences=seq)(x), [shape])
