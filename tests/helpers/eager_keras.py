"""Confirm a failure with real data: where Keras's symbolic path can lie (a
layer whose compute_output_shape hides its call()), run the reproducing call
eagerly on small numpy arrays instead of keras.Input tensors."""

from __future__ import annotations

import types


def run_eager(call: str, namespace: dict, batch: int = 2) -> BaseException | None:
    """Evaluate ``call`` with each ``keras.Input(shape=S)`` replaced by a numpy
    array of shape ``(batch, *S)``; return the exception raised, or None."""
    import keras
    import numpy as np

    rng = np.random.default_rng(0)

    def array(shape, **_):
        return rng.standard_normal((batch, *shape)).astype("float32")

    eager = types.SimpleNamespace(**{name: getattr(keras, name) for name in dir(keras) if not name.startswith("_")})
    eager.Input = array
    try:
        eval(call, {**namespace, "keras": eager})
    except Exception as exc:  # noqa: BLE001 - the test inspects it
        return exc
    return None


def confirm_plain_or_eager(call: str, layer_class: str | None, message: str, namespace: dict,
                           models: tuple = ()) -> None:
    """Assert that plain Keras raises at ``call``, in ``layer_class`` (or one
    of ``models``, a functional model rejecting its input) with ``message``;
    where the symbolic path wraps the layer's error (a Layer subclass's
    call()), that the same call on small real arrays raises it."""
    from .plain_keras import raising_layer_classes, run_call

    message = " ".join(message.split())
    exc = run_call(call, namespace)
    if message in " ".join(str(exc).split()) and (layer_class is None or layer_class
                                                   in raising_layer_classes(exc) + list(models)):
        return
    eager = run_eager(call, namespace)
    assert eager is not None, f"{call} runs on real arrays"
    assert layer_class in raising_layer_classes(eager) or message in " ".join(str(eager).split()), (call, eager)
