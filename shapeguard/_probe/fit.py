"""The model against its data and loss, as the installed Keras judges them.

`check_model` runs what one ``fit`` (or ``predict``) step runs, on symbolic
tensors of the data's shapes with the batch axis unknown: the model's own
``call`` (so a functional model's input rules apply: a trailing axis of size 1
added or dropped, dicts matched by input name) and, for ``fit``, Keras's
``CompileLoss`` over the labels and the outputs (so a ``(N,)`` label against
an ``(N, 1)`` output, or a broadcast under ``mse``, passes as it does in
Keras). It never trains and makes no weights. `confirm` is the tiny real step
that every reported failure must survive: ``fit`` of a clone on 2 samples of
zeros, or ``predict``.
"""

from __future__ import annotations

import math
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from .._fitdata import Array, FitDataError, leaves
from .._outcome import SHAPE, FitSide, Outcome
from .classify import classify

INPUT, OUTPUT = "input", "output"


@dataclass(frozen=True)
class Finding:
    """One side that Keras rejects: ``side`` is ``"input"`` (the data against
    the model's inputs) or ``"output"`` (the labels and loss against its
    outputs); ``data_shape`` and ``model_shape`` are the two sides, batch None."""

    side: str
    layer_class: str
    layer_name: str | None
    message: str
    input_shapes: tuple
    data_shape: tuple
    model_shape: tuple | None
    hint: str | None


def loss_name(loss: Any) -> str:
    """``categorical_crossentropy``, ``SparseCategoricalCrossentropy``: how the report names a loss."""
    if isinstance(loss, str):
        return loss
    if isinstance(loss, (list, tuple, dict)):
        return repr(loss)
    return getattr(loss, "__name__", None) or type(loss).__name__


def check_loss_names(loss: Any) -> None:
    """Raise `FitDataError` (one sentence) for a loss named by a string Keras
    does not know (``keras.losses.get``): that is the caller's mistake, not a
    shape failure of the labels."""
    import keras

    names = [loss] if isinstance(loss, str) else (
        [v for v in (loss.values() if isinstance(loss, dict) else loss) if isinstance(v, str)]
        if isinstance(loss, (list, tuple, dict)) else [])
    for name in names:
        try:
            keras.losses.get(name)
        except (ValueError, TypeError):
            raise FitDataError(f"loss {name!r} is not a loss Keras knows (such as 'mse', "
                               "'categorical_crossentropy', 'sparse_categorical_crossentropy').") from None


def compiled_loss(model) -> Any:
    """The loss the model was compiled with, or None."""
    return getattr(model, "loss", None)


def is_model(value: Any) -> bool:
    """A Keras model (built or not), as opposed to a builder of one."""
    import keras

    return isinstance(value, keras.Model)


def _inputs(model) -> list:
    try:
        return list(model.inputs or [])
    except (AttributeError, ValueError):  # a subclassed model has no symbolic inputs
        return []


def input_names(model) -> list[str]:
    return [t.name for t in _inputs(model)]


def output_names(model) -> list[str]:
    try:
        return list(getattr(model, "output_names", None) or [t.name for t in model.outputs])
    except (AttributeError, ValueError):
        return []


def built(model, x) -> tuple[Any, Finding | None]:
    """The model ready to check: itself when built, else a clone built on the
    data's shapes as ``fit`` builds it (the user's model stays unbuilt when it can be cloned), and
    the input-side `Finding` when building on them fails."""
    if model.built:
        return model, None
    import keras

    try:
        model = keras.models.clone_model(model)
    except Exception:  # noqa: BLE001 - a model that cannot be cloned is built as fit would build it
        pass
    shapes = [(None,) + tuple(a.shape[1:]) for a in leaves(x)]
    with _unfiltered():
        try:
            model.build(shapes[0] if len(shapes) == 1 else shapes)
        except Exception as exc:  # noqa: BLE001 - the layers rejected the data's shape
            return model, _input_finding(model, x, exc, "fit")
    return model, None


def check_model(model, x, y, loss, mode: str) -> Finding | None:
    """The first side Keras rejects (as `Finding`), or None when one step of
    ``mode`` (``"fit"``, ``"predict"``) would run. ``x``, ``y``: `Array`
    structures (`shapeguard._fitdata.describe`), ``y`` None to check the inputs only."""
    from keras.src import backend, tree
    from keras.src.backend import KerasTensor

    _match_keys(x, input_names(model), "x", "input")
    if y is not None and mode == "fit":
        _match_keys(y, output_names(model), "y", "output")

    def symbolic(data):
        return tree.map_structure(lambda a: KerasTensor((None,) + tuple(a.shape[1:]), dtype=a.dtype), data)

    with _unfiltered():
        try:
            out = backend.compute_output_spec(lambda xs: model(xs, training=mode == "fit"), symbolic(x))
        except Exception as exc:  # noqa: BLE001 - whatever Keras raised is the data's: the model builds on its Input
            return _input_finding(model, x, exc, mode)
    if y is None or mode != "fit":
        return None
    from keras.src.trainers.compile_utils import CompileLoss

    compile_loss = CompileLoss(loss, None, output_names=getattr(model, "output_names", None))

    def step(y_true, y_pred):
        compile_loss.build(y_true, y_pred)
        return compile_loss(y_true, y_pred)

    with _unfiltered():
        try:
            backend.compute_output_spec(step, symbolic(y), out)
        except Exception as exc:  # noqa: BLE001 - the loss rejected the labels against the outputs
            return _output_finding(loss, y, out, exc)
    return None


def confirm(model, x, y, loss, mode: str) -> BaseException | None:
    """What plain Keras raises on a tiny real step (None when it runs): ``predict`` on
    2 samples of zeros, or ``fit`` of a clone (compiled with ``loss``, plain SGD), so
    the user's model and optimizer are left as they were."""
    import keras

    xs = _zeros(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            clone = None if mode == "predict" else keras.models.clone_model(model)
        except Exception:  # noqa: BLE001 - not clonable (a subclassed model without get_config)
            return _eager_step(model, xs, _zeros(y), loss)
        try:
            if clone is None:
                model.predict(xs, batch_size=2, verbose=0)
            else:
                clone.compile(optimizer="sgd", loss=loss)
                clone.fit(xs, _zeros(y), batch_size=2, epochs=1, verbose=0)
        except Exception as exc:  # noqa: BLE001 - the step failed: that is what is asked
            return exc
    return None


def _eager_step(model, xs, ys, loss) -> BaseException | None:
    """What a fit step computes, on arrays, without training: the model's call and the loss."""
    from keras.src.trainers.compile_utils import CompileLoss

    try:
        out = model(xs, training=False)
        compile_loss = CompileLoss(loss, None, output_names=getattr(model, "output_names", None))
        compile_loss.build(ys, out)
        compile_loss(ys, out)
    except Exception as exc:  # noqa: BLE001
        return exc
    return None


def _zeros(data):
    import numpy as np

    if isinstance(data, Array):
        return np.zeros((2,) + tuple(1 if d is None else d for d in data.shape[1:]), dtype=data.dtype)
    if isinstance(data, dict):
        return {k: _zeros(v) for k, v in data.items()}
    return [_zeros(v) for v in data]


def _match_keys(data, names: list[str], role: str, what: str) -> None:
    if not isinstance(data, dict):
        return
    unknown = [k for k in data if k not in names]
    if unknown:
        have = ", ".join(repr(n) for n in names)
        raise FitDataError(f"{role} has the key {unknown[0]!r}, but the model has no {what} of that name"
                           f" (its {what}s: {have}).")


class _unfiltered:
    """Keras's traceback filtering off, so `classify` sees the layer that raised."""

    def __enter__(self):
        from keras.src.utils import traceback_utils

        self.quiet = warnings.catch_warnings()  # Keras's own advice on the loss is not the report
        self.quiet.__enter__()
        warnings.simplefilter("ignore")
        self.was = traceback_utils.is_traceback_filtering_enabled()
        traceback_utils.disable_traceback_filtering()

    def __exit__(self, *exc_info):
        from keras.src.utils import traceback_utils

        if self.was:
            traceback_utils.enable_traceback_filtering()
        self.quiet.__exit__(*exc_info)
        return False


def _pairs(model, x) -> list[tuple[Array, tuple]]:
    """Each data array with the model input it goes to, as Keras matches them."""
    refs = [tuple(t.shape) for t in _inputs(model)]
    if isinstance(x, dict):
        names = input_names(model)
        return [(x[n], refs[i]) for i, n in enumerate(names) if n in x]
    return list(zip(leaves(x), refs))


def _input_finding(model, x, exc, mode) -> Finding:
    outcome = classify(exc)
    pairs = _pairs(model, x)
    wrong = next(((a, r) for a, r in pairs if not _fits(a.shape[1:], r[1:])), None)
    data, ref = wrong or (pairs[0] if pairs else (leaves(x)[0], None))  # no inputs: a subclassed model
    hint = _input_hint(data, ref, mode) if wrong else None
    return Finding(INPUT, outcome.layer_class or type(model).__name__, outcome.layer_name, outcome.message,
                   outcome.input_shapes, (None,) + tuple(data.shape[1:]), ref, hint)


def _fits(sample: tuple, ref: tuple) -> bool:
    """The sample shape is the input's, up to the trailing size-1 axis Keras adds or drops."""
    if len(sample) == len(ref) + 1 and sample[-1] == 1:
        sample = sample[:-1]
    elif len(sample) + 1 == len(ref) and ref[-1] == 1:
        ref = ref[:-1]
    return len(sample) == len(ref) and all(r is None or s is None or r == s for s, r in zip(sample, ref))


def _input_hint(data: Array, ref: tuple, mode: str) -> str:
    sample, want = tuple(data.shape[1:]), tuple(ref[1:])
    if mode == "predict" and _fits(tuple(data.shape), want):
        return ("add the batch axis: model.predict(x[None]) (np.expand_dims(x, 0)); predict reads the first "
                f"axis of {tuple(data.shape)} as {data.shape[0]} samples")
    if None not in want and None not in sample and math.prod(sample) == math.prod(want):
        return f"reshape the data to the model's input: x.reshape({(-1,) + want})"
    wanted = ", ".join(["N"] + ["?" if d is None else str(d) for d in want])
    return f"give the model keras.Input(shape={sample}) of the data's sample shape, or data of shape ({wanted})"


def _output_finding(loss, y, out, exc) -> Finding:
    from keras.src import tree

    outcome = classify(exc)
    labels, outputs = leaves(y), [tuple(o.shape) for o in tree.flatten(out)]
    label, output = labels[0], outputs[0]
    for a, o in zip(labels, outputs):
        if not _same(a.shape[1:], o[1:]):
            label, output = a, o
            break
    return Finding(OUTPUT, loss_name(loss), None, outcome.message, ((None,) + label.shape[1:], output),
                   (None,) + label.shape[1:], output, _output_hint(loss, label, output))


def _same(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))


def _output_hint(loss, label: Array, out: tuple) -> str | None:
    name = loss_name(loss).lower().replace("_", "")
    sparse = "sparsecategorical" in name
    categorical = not sparse and "categorical" in name
    t, o = (None,) + tuple(label.shape[1:]), out
    class_ids = len(t) == len(o) - 1 or (len(t) == len(o) and t[-1] == 1)
    expected_rank = len(t) + 1 if sparse and not (len(t) > 1 and t[-1] == 1) else len(t)
    if len(o) > max(expected_rank, 2) and len(o) in (3, 4, 5):
        pool = f"GlobalAveragePooling{len(o) - 2}D()"
        return f"add Flatten() or {pool} before the last Dense: the output {o} keeps axes the labels {t} do not have"
    if sparse and len(t) == len(o) and t[-1] == o[-1] and t[-1] != 1:
        return ("the labels are one-hot: use loss='categorical_crossentropy', or give class ids: "
                "y.argmax(axis=-1)")
    if categorical and class_ids and o[-1] not in (None, 1):
        return (f"the labels are class ids: use loss='sparse_categorical_crossentropy', or one-hot labels: "
                f"keras.utils.to_categorical(y, {o[-1]})")
    if len(t) == len(o) and t[1:-1] == o[1:-1] and t[-1] not in (None, 1) and o[-1] not in (None, t[-1]):
        return f"end the model with Dense({t[-1]}): the labels have {t[-1]} columns, the output {o[-1]}"
    return None


class FitRejected(Exception):
    """Raised by `fit_step` inside a probe: Keras rejects one side of the step
    (`Finding`); the probe reports it as a shape failure with its side (`outcome`)."""

    def __init__(self, finding: Finding):
        super().__init__(finding.message)
        self.finding = finding

    def outcome(self) -> Outcome:
        f = self.finding
        return Outcome(SHAPE, layer_class=f.layer_class, layer_name=f.layer_name, message=f.message,
                       input_shapes=f.input_shapes, cause=_cause(f),
                       fit=FitSide(f.side, f.data_shape, f.model_shape, f.hint))


def _cause(finding: Finding) -> str:
    """How the two sides differ, in a word (the heading names the sides): ``rank``,
    ``size``, or ``labels`` when the shapes agree and the loss rejects the labels' format."""
    data, model = finding.data_shape, finding.model_shape
    if model is None:
        return ""
    if len(data) != len(model):
        return "rank"
    return "size" if not _same(data, model) else "labels"


_confirming = threading.local()  # .on: this probe confirms (plain Keras, real weights): run the real step


@contextmanager
def confirming(on: bool) -> Iterator[None]:
    """While on, a `fit_step` that finds a failure also runs the tiny real
    step (`confirm`), as every fit failure must survive it; the probe runs on
    the plain path with real weights then (a fit trains, so its weights need values)."""
    before = getattr(_confirming, "on", False)
    _confirming.on = on
    try:
        yield
    finally:
        _confirming.on = before


def fit_step(model, x, y, loss, mode: str = "fit") -> None:
    """One step of ``mode`` of ``model`` on data of the shapes ``x``, ``y``
    (`Array` structures), checked symbolically (`built`, `check_model`);
    raises `FitRejected` when Keras rejects a side. While `confirming`, a
    rejection is raised only when the tiny real step fails too: when it runs,
    this returns, and the search sees plain Keras disagree (an internal error,
    never a report)."""
    ready, finding = built(model, x)
    finding = finding or check_model(ready, x, y if mode == "fit" else None, loss, mode)
    if finding is None:
        return
    if getattr(_confirming, "on", False):
        step = mode if y is not None else "predict"  # without labels the inputs are confirmed by a forward pass
        if confirm(ready, x, y, loss, step) is None:
            return
    raise FitRejected(finding)
