"""The fast probe path (`shapeguard._probe.fast`: valueless weights, cached
signatures, no GC) against plain Keras, layer by layer: on a Hypothesis-made
corpus of single layers and inputs, both agree on pass or fail, on the class
of the layer that failed, and on the output shapes. (Whole random blocks are
compared in test_fuzz.py.) `--fuzz-examples N` makes the corpus larger."""

from __future__ import annotations

import keras
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from keras import layers, ops

from shapeguard._probe import fast as _fast, isolation as _keras_state

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


def verdict(make, shapes, fast: bool):
    """('pass', output shapes) or ('fail', innermost Keras operation class)."""
    from keras.src.ops.operation import Operation

    with _keras_state.isolated(), _fast.cheap_keras(fast):
        try:
            out = make(*(keras.Input(shape=s) for s in shapes))
        except Exception as exc:  # noqa: BLE001 - the verdict is the point
            layer, tb = None, exc.__traceback__
            while tb is not None:
                owner = tb.tb_frame.f_locals.get("self")
                if isinstance(owner, Operation):
                    layer = type(owner).__name__
                tb = tb.tb_next
            return "fail", layer, type(exc).__name__
        return "pass", tuple(tuple(t.shape) for t in keras.tree.flatten(out))


@pytest.fixture(scope="module")
def tally():
    counts = {"layers": 0, "failing": 0}
    yield counts
    print(f"\ndifferential: {counts['layers']} single layers compared, {counts['failing']} failing in both")


def test_the_fast_path_is_available_here():
    if tuple(int(part) for part in keras.__version__.split(".")[:2]) < (3, 5):
        pytest.skip("the fast path needs Keras >= 3.5; this Keras runs every probe on the plain path")
    assert _fast.available()  # else every probe runs the plain path and this file proves nothing


def test_fast_and_plain_keras_agree_layer_by_layer(request, tally):
    examples = max(60, request.config.getoption("fuzz_examples", 15) * 4)

    @settings(max_examples=examples, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(single_layers())
    def agree(case):
        description, make, shapes = case
        plain, fast = verdict(make, shapes, fast=False), verdict(make, shapes, fast=True)
        assert fast == plain, f"{description} on {shapes}: fast {fast} != plain {plain}"
        tally["layers"] += 1
        tally["failing"] += plain[0] == "fail"

    agree()
    assert tally["failing"] > 0 and tally["failing"] < tally["layers"]  # both verdicts were exercised
