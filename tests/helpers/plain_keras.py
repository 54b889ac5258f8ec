"""Confirm a reported failure independently of shapeguard: run the report's
reproducing call with plain Keras and see which layer raised what."""

from __future__ import annotations


def run_call(call: str, namespace: dict) -> BaseException:
    """Evaluate ``call`` (e.g. ``block(keras.Input(shape=(7, 7, 16)), ...)``)
    with plain Keras and return the exception it raised. Layer names are
    counted afresh, as in the new Python session a user would paste the call
    into (a message may name a layer: ``variable path='dense/kernel'``), and
    the test process's counters are put back afterwards."""
    import collections

    import keras
    from keras.src.backend.common import global_state

    counters = global_state.get_global_attribute("object_name_uids")
    global_state.set_global_attribute("object_name_uids", collections.defaultdict(int))
    keras.config.disable_traceback_filtering()
    try:
        eval(call, {**namespace, "keras": keras})
    except Exception as exc:  # noqa: BLE001 - the test inspects it
        return exc
    finally:
        keras.config.enable_traceback_filtering()
        global_state.set_global_attribute("object_name_uids", counters)
    raise AssertionError(f"plain Keras accepted {call}")


def raising_layer_classes(exc: BaseException) -> list[str]:
    """Class names of the Keras layers/ops whose methods are on the traceback."""
    from keras.src.ops.operation import Operation

    names, tb = [], exc.__traceback__
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        if isinstance(owner, Operation) and type(owner).__name__ not in names:
            names.append(type(owner).__name__)
        tb = tb.tb_next
    return names


def confirm(failure, namespace: dict) -> BaseException:
    """Assert that plain Keras fails on ``failure.call`` in the reported layer
    with the reported message; return the exception."""
    exc = run_call(failure.call, namespace)
    assert failure.layer_class in raising_layer_classes(exc), (failure.layer_class, exc)
    assert " ".join(failure.message.split()) in " ".join(str(exc).split()), (failure.message, str(exc))
    return exc
