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
