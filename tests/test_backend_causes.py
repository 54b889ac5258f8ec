"""Shape errors of the backend's own ops (TensorFlow's graph and eager
messages, numpy's broadcasting) read as shape failures with a cause
(`shapeguard._probe.causes.backend_shape_error`: text only, no Keras). The
TensorFlow messages are as TensorFlow 2.21 words them (tests/test_traced_calls.py
meets them on real tensors); numpy's is made here by numpy itself."""

import numpy as np
import pytest

from shapeguard._probe.causes import backend_shape_error


@pytest.mark.parametrize("message, op, shapes, cause", [
    ("Dimensions must be equal, but are 16 and 8 for '{{node add}} = AddV2[T=DT_FLOAT](BiasAdd, Placeholder)' "
     "with input shapes: [?,4,4,16], [?,4,4,8].", "Add", ((None, 4, 4, 16), (None, 4, 4, 8)), "channels"),
    ("Dimensions must be equal, but are 7 and 4 for Mul with input shapes: [?,7,7,8], [?,4,4,8].",
     "Multiply", ((None, 7, 7, 8), (None, 4, 4, 8)), "spatial"),
    ("{{function_node __wrapped__AddV2_device_/job:localhost/replica:0/task:0/device:CPU:0}} Incompatible "
     "shapes: [1,4,8] vs. [1,5] [Op:AddV2] name: ", "Add", ((1, 4, 8), (1, 5)), "channels"),
    # a MatMul is no broadcast: it rejected its input, whatever the shapes' ranks
    ("Dimensions must be equal, but are 8 and 5 for MatMul with input shapes: [?,8], [5,3].",
     "MatMul", ((None, 8), (5, 3)), "rejected its input"),
])
def test_tensorflow_shape_errors_name_the_op_the_operands_and_the_cause(message, op, shapes, cause):
    found = backend_shape_error(message)
    assert (found.op, found.shapes, found.cause) == (op, shapes, cause)


def test_numpy_broadcast_errors_align_the_last_axes():
    with pytest.raises(ValueError) as raised:
        np.zeros((1, 4, 8)) + np.zeros((1, 5))
    found = backend_shape_error(str(raised.value))
    assert (found.op, found.shapes, found.cause) == ("broadcast", ((1, 4, 8), (1, 5)), "channels")


def test_other_messages_are_not_backend_shape_errors():
    assert backend_shape_error("Inputs have incompatible shapes. Received shapes (7, 7, 64) and (7, 7, 16)") is None
    assert backend_shape_error("unsupported operand type(s) for +: 'int' and 'str'") is None
