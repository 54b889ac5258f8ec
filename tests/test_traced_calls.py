"""The call() of user layers that Keras does not run symbolically (issue 17):
subclasses of Keras layers that override call(), @tf.function calls, errors of
TensorFlow's own ops inside call(), and failures that only data shows. Each
failure is confirmed by plain Keras: symbolically where it fails there, else
eagerly on arrays of zeros (the report's `reproduce on data` call)."""

import json
import runpy
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from helpers.command_line import shapeguard
from helpers.eager_keras import run_eager
from helpers.plain_keras import raising_layer_classes, run_call
from shapeguard import check

pytestmark = pytest.mark.keras

THIS_FILE = __file__
ON_DATA = "fails only when run on data: symbolic Keras does not run call()"


def line_of(text: str) -> int:
    with open(THIS_FILE) as f:
        return next(i for i, line in enumerate(f, 1) if text in line and "line_of" not in line)


def passes_symbolically(call: str) -> bool:
    """Plain symbolic Keras, as a user pasting the reproduce line runs it."""
    try:
        eval(call, {**globals(), "keras": keras})
    except Exception:  # noqa: BLE001 - any error means it does not pass
        return False
    return True


def on_data(call: str) -> BaseException | None:
    """The report's `reproduce on data` call, run as printed (numpy's zeros)."""
    try:
        eval(call, {**globals(), "keras": keras, "np": np})
    except Exception as exc:  # noqa: BLE001 - the test inspects it
        return exc
    return None


class ResConv(keras.layers.Conv2D):
    """A residual convolution: inherits Conv2D's compute_output_shape, so Keras never runs this call()."""

    def call(self, x):
        return super().call(x) + x  # residual add of ResConv


def res_block(x, filters=8):
    return ResConv(filters, 3, padding="same")(x)  # calls ResConv


def test_a_keras_subclass_that_overrides_call_has_its_call_traced():
    report = check(res_block, C=[8], H=[4], filters=[8, 16], inputs={"x": "H,H,C"})
    (failure,) = report.failures
    assert failure.kind == "shape" and failure.layer_class == "Add" and failure.cause == "channels"
    assert failure.within == ("ResConv", "res_conv")
    assert failure.example == {"C": 8, "H": 4, "filters": 16}  # filters == C passes
    assert (failure.location.file, failure.location.line) == (THIS_FILE, line_of("# residual add of ResConv"))
    assert failure.input_shapes == ((None, 4, 4, 16), (None, 4, 4, 8))
    assert failure.hint and "axis -1 is 16 against 8" in failure.hint
    assert "shape failure: Add in ResConv 'res_conv' rejected input shapes (None, 4, 4, 16) and (None, 4, 4, 8)" \
        in str(report)
    # Plain symbolic Keras accepts the reported call; data does not.
    assert passes_symbolically(failure.call)
    exc = run_eager(failure.call, globals())
    assert exc is not None and "Incompatible shapes: [2,4,4,16] vs. [2,4,4,8]" in str(exc)
    assert "ResConv" in raising_layer_classes(exc)


def test_a_subclass_that_does_not_override_call_is_left_to_keras():
    class Renamed(keras.layers.Conv2D):  # only __init__: Keras's call and shape agree
        def __init__(self, filters, **kw):
            super().__init__(filters, 3, padding="same", **kw)

    def renamed(x, filters=8):
        return Renamed(filters)(x)

    assert check(renamed, C=[8], H=[4], filters=[8, 16], inputs={"x": "H,H,C"}).ok
    assert tuple(renamed(np.zeros((1, 4, 4, 8), "float32"), filters=16).shape) == (1, 4, 4, 16)


class PadConv(keras.layers.Conv2D):
    """Pads each spatial side by `pad`, then convolves; the pad widths are written for a rank-3 input."""

    def __init__(self, filters, kernel_size, pad=1, **kw):
        super().__init__(filters, kernel_size, **kw)
        self.pad = pad

    def call(self, x):
        p = self.pad
        return super().call(keras.ops.pad(x, [[0, 0], [p, p], [p, p]]))  # pad of PadConv


def pad_block(x, filters=8):
    return PadConv(filters, 3)(x)  # calls PadConv


def test_a_failure_inside_the_subclass_names_the_users_layer_and_line():
    report = check(pad_block, C=[8], H=[4], filters=[8], inputs={"x": "H,H,C"})
    (failure,) = report.failures
    assert failure.kind == "shape" and failure.layer_class == "Pad"
    assert failure.within == ("PadConv", "pad_conv")
    assert (failure.location.file, failure.location.line) == (THIS_FILE, line_of("# pad of PadConv"))
    assert [fn for _, _, fn in failure.chain] == ["pad_block", "PadConv.call"]
    assert "shape failure: Pad 'pad' in PadConv 'pad_conv' rejected" in str(report)
    assert json.loads(report.to_json())["targets"][0]["failures"][0]["within"] == {"class": "PadConv",
                                                                                    "name": "pad_conv"}
    assert passes_symbolically(failure.call)
    exc = run_eager(failure.call, globals())
    assert exc is not None and "`pad_width` must have the same length as `x.shape`" in str(exc)
    assert failure.message.startswith("`pad_width` must have the same length as `x.shape`")


class SamePadConv(keras.layers.Conv2D):
    """Pads by one with a ZeroPadding2D, then a valid 3x3 convolution: keeps the size, which
    Conv2D's compute_output_shape (valid padding: two less) does not say."""

    def __init__(self, filters, **kw):
        super().__init__(filters, 3, **kw)
        self.zero_pad = layers.ZeroPadding2D(1)

    def call(self, x):
        return super().call(self.zero_pad(x))


def same_pad_block(x, filters=8):
    return SamePadConv(filters)(x)  # calls SamePadConv


def test_a_subclass_whose_call_disagrees_with_the_inherited_shape_is_a_declared_failure():
    report = check(same_pad_block, C=[8], H=[4], filters=[8], inputs={"x": "H,H,C"})
    (failure,) = report.failures
    assert failure.kind == "declared" and (failure.layer_class, failure.layer_name) == ("SamePadConv",
                                                                                          "same_pad_conv")
    assert failure.location.line == line_of("# calls SamePadConv")
    assert failure.message == "SamePadConv.compute_output_shape says (None, 2, 2, 8), call() produces (None, 4, 4, 8)"
    # On data the layer gives what call() makes, not what it declares.
    layer = SamePadConv(8)
    assert tuple(layer(np.zeros((1, 4, 4, 8), "float32")).shape) == (1, 4, 4, 8)
    assert tuple(layer.compute_output_shape((1, 4, 4, 8))) == (1, 2, 2, 8)


class Declares(layers.Layer):
    """A layer checked on its own whose declared shape forgets a valid convolution's shrink."""

    def __init__(self, kernel_size=3, **kwargs):
        super().__init__(**kwargs)
        self.conv = layers.Conv1D(8, kernel_size)

    def call(self, x):
        return self.conv(x)

    def compute_output_shape(self, input_shape):  # declares Declares's shape
        return (input_shape[0], input_shape[1], 8)


def test_a_declared_failure_of_a_layer_checked_on_its_own_is_located_at_its_shape_method():
    (failure,) = check(Declares, kernel_size=[3], inputs={"x": "T,C"}, T=[8], C=[4]).failures
    assert failure.kind == "declared" and failure.location is not None
    assert (Path(failure.location.file).name, failure.location.line) == (Path(__file__).name,
                                                                         line_of("# declares Declares's shape"))
    layer = Declares(3)  # on data the layer gives what call() makes, not what it declares
    assert tuple(layer(np.zeros((1, 8, 4), "float32")).shape) == (1, 6, 8)
    assert tuple(layer.compute_output_shape((1, 8, 4))) == (1, 8, 8)


class Biased(layers.Layer):
    """Adds a learned-looking constant of a fixed width; declares that it keeps the shape."""

    def call(self, x):
        return x + keras.ops.ones((1, 5))  # broadcast of Biased

    def compute_output_shape(self, input_shape):
        return input_shape


def biased_block(x):
    return Biased()(x)  # calls Biased


def test_a_broadcast_inside_call_is_a_shape_failure_with_cause_layer_and_hint():
    report = check(biased_block, T=[4], D=[8], inputs={"x": "T,D"})
    assert not report.errors
    (failure,) = report.failures
    assert failure.kind == "shape" and failure.layer_class == "Add" and failure.cause == "channels"
    assert failure.within == ("Biased", "biased")
    assert failure.input_shapes == ((None, 4, 8), (1, 5))
    assert failure.location.line == line_of("# broadcast of Biased")
    assert failure.message == ("Dimensions must be equal, but are 8 and 5 for AddV2 with input shapes: "
                               "[?,4,8], [1,5].")
    assert "axis -1 is 8 against 5" in failure.hint
    assert failure.on_data == "biased_block(np.zeros((1, 4, 8)))"
    exc = on_data(failure.on_data)
    assert exc is not None and "Incompatible shapes: [1,4,8] vs. [1,5]" in str(exc)
    assert passes_symbolically(failure.call)


def _join(a, b):
    return a + b  # join of the helper


class Joined(layers.Layer):
    """Joins its input with a narrower constant through a helper function."""

    def call(self, x):
        return _join(x, keras.ops.ones((1, 3)))

    def compute_output_shape(self, input_shape):
        return input_shape


def joined_block(x):
    return Joined()(x)


def test_a_failure_in_a_helper_of_call_names_the_layer_that_called_it():
    report = check(joined_block, T=[4], D=[8], inputs={"x": "T,D"})
    (failure,) = report.failures
    assert failure.location.line == line_of("# join of the helper")
    assert (failure.layer_class, failure.within) == ("Add", ("Joined", "joined"))
    assert [fn for _, _, fn in failure.chain] == ["joined_block", "Joined.call", "_join"]
    exc = on_data(failure.on_data)
    assert exc is not None and "Incompatible shapes: [1,4,8] vs. [1,3]" in str(exc)
    assert passes_symbolically(failure.call)


class Unshaped(layers.Layer):
    """No compute_output_shape: Keras traces this call() itself, and fails symbolically too."""

    def call(self, x):
        return x * keras.ops.ones((1, 5))  # product of Unshaped


def unshaped_block(x):
    return Unshaped()(x)


def test_a_failure_symbolic_keras_shows_too_is_not_said_to_need_data():
    report = check(unshaped_block, T=[4], D=[8], inputs={"x": "T,D"})
    (failure,) = report.failures
    assert (failure.kind, failure.layer_class, failure.cause) == ("shape", "Multiply", "channels")
    assert failure.within == ("Unshaped", "unshaped")
    assert failure.location.line == line_of("# product of Unshaped")
    assert failure.on_data is None and ON_DATA not in str(report)
    exc = run_call(failure.call, globals())  # plain symbolic Keras fails at the same line
    assert "Dimensions must be equal, but are 8 and 5" in str(exc)


def test_a_data_only_failure_prints_an_eager_reproduction_that_fails():
    report = check(res_block, C=[8], H=[4], filters=[16], inputs={"x": "H,H,C"})
    (failure,) = report.failures
    assert failure.on_data == "res_block(np.zeros((1, 4, 4, 8)), filters=16)"
    text = str(report)
    assert f"      {ON_DATA}\n      reproduce on data: {failure.on_data}" in text
    data = json.loads(report.to_json())["targets"][0]["failures"][0]
    assert data["on_data"] == {"text": ON_DATA, "call": failure.on_data}
    assert passes_symbolically(failure.call)
    exc = on_data(failure.on_data)
    assert exc is not None and "Incompatible shapes: [1,4,4,16] vs. [1,4,4,8]" in str(exc)


class Scaled(layers.Layer):
    """call() under @tf.function: autograph runs a converted copy from a temporary file."""

    def __init__(self, width=5, **kw):
        super().__init__(**kw)
        self.width = width

    @tf.function
    def call(self, x):
        y = x * 2.0
        return y + tf.ones((1, self.width))  # broadcast of Scaled

    def compute_output_shape(self, input_shape):
        return input_shape


def scaled_block(x, width=5):
    return Scaled(width)(x)  # calls Scaled


def test_a_tf_function_call_is_located_in_the_users_file_with_the_keras_message():
    report = check(scaled_block, T=[4], D=[8], width=[5, 8], inputs={"x": "T,D"})
    (failure,) = report.failures
    assert (failure.location.file, failure.location.line) == (THIS_FILE, line_of("# broadcast of Scaled"))
    assert [(file, line) for file, line, _ in failure.chain] == [
        (THIS_FILE, line_of("# calls Scaled")), (THIS_FILE, failure.location.line)]
    assert "autograph" not in str(report) and "in user code" not in failure.message
    assert failure.message == ("Dimensions must be equal, but are 8 and 5 for AddV2 with input shapes: "
                               "[?,4,8], [1,5].")
    assert (failure.layer_class, failure.within, failure.cause) == ("Add", ("Scaled", "scaled"), "channels")
    assert failure.example["width"] == 5
    exc = on_data(failure.on_data)  # tf.function makes a graph of it on data too
    assert exc is not None and "Dimensions must be equal, but are 8 and 5" in str(exc)


TF_FUNCTION_BLOCK = '''
import keras
import tensorflow as tf


class Gated(keras.layers.Layer):
    @tf.function
    def call(self, x):
        return x * tf.ones((1, 3))  # the gate


def gated(x):
    return Gated()(x)
'''


def test_a_tf_function_report_is_byte_identical_from_run_to_run(tmp_path):
    (tmp_path / "gated.py").write_text(textwrap.dedent(TF_FUNCTION_BLOCK))
    args = ("check", "gated.py:gated", "--input", "x=T,D", "--axis", "T=4", "--axis", "D=8", "--format", "json")
    first, second = shapeguard(*args, cwd=tmp_path), shapeguard(*args, cwd=tmp_path)
    assert first.code == second.code == 1, first.stderr
    assert first.stdout == second.stdout
    (failure,) = json.loads(first.stdout)["targets"][0]["failures"]
    assert failure["location"] == {"file": "gated.py", "line": 9}
    assert failure["chain"] == ["gated.py:13 gated", "gated.py:9 Gated.call"]
    assert failure["message"] == "Dimensions must be equal, but are 8 and 3 for Mul with input shapes: [?,4,8], [1,3]."
    assert (failure["layer"]["class"], failure["within"], failure["cause"]) == (
        "Multiply", {"class": "Gated", "name": "gated"}, "channels")
    assert "autograph" not in first.stdout
    exc = run_call(failure["call"], runpy.run_path(str(tmp_path / "gated.py")))  # plain symbolic Keras fails too
    assert "Dimensions must be equal, but are 8 and 3" in str(exc)
