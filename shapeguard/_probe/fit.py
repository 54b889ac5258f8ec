"""The model against its data and loss, as the installed Keras judges them.

`check_model` runs what one ``fit`` (or ``predict``) step runs, on symbolic
tensors of the data's shapes with the batch axis unknown: the model's own
``call`` (so a functional model's input rules apply: a trailing axis of size 1
added or dropped, dicts matched by input name) and, for ``fit``, Keras's
``CompileLoss`` over the labels and the outputs (so a ``(N,)`` label against
an ``(N, 1)`` output, or a broadcast under ``mse``, passes as it does in
Keras), then its ``CompileMetrics`` over the same, on a batch of the size
``fit`` gives them (a metric's broadcast depends on it). Before any of that,
Keras's own sample-count rule (``check_data_cardinality``) over the arrays.
It never trains and makes no weights. `confirm` is the tiny real step that
every reported failure must survive: ``fit`` of a clone on 2 samples of zeros
(as many as the metric's batch, for a metric; counts that disagree as the
given ones do, for a count), or ``predict``.
"""

from __future__ import annotations

import functools
import math
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Iterator

from .._fitdata import Array, FitDataError, leaves
from .._outcome import SHAPE, FitSide, Outcome
from .classify import classify

INPUT, OUTPUT = "input", "output"
FIT_BATCH = 32  # Keras's batch size when fit is given none


@dataclass(frozen=True)
class Finding:
    """One side that Keras rejects: ``side`` is ``"input"`` (the data against
    the model's inputs) or ``"output"`` (the labels and loss against its
    outputs); ``data_shape`` and ``model_shape`` are the two sides, batch None
    (for a sample count, the two arrays' whole shapes). ``rejected_by`` is
    ``"layer"``, ``"loss"``, ``"metric"``, ``"metrics"`` (their structure) or
    ``"samples"``; ``batch`` the batch size it was found at (None: any), for
    `confirm` to step on as many samples."""

    side: str
    layer_class: str
    layer_name: str | None
    message: str
    input_shapes: tuple
    data_shape: tuple
    model_shape: tuple | None
    hint: str | None
    rejected_by: str = "layer"
    batch: int | None = None


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


def compiled_metrics(model) -> Any:
    """The ``metrics`` the model was compiled with (a list or dict, as given to
    ``compile``), or None. Its ``weighted_metrics`` are not checked."""
    compiled = getattr(model, "_compile_metrics", None)
    return getattr(compiled, "_user_metrics", None) or None


def metrics_name(metrics: Any) -> str | None:
    """``['accuracy', 'AUC']``: how the report names the metrics."""
    return str(_names(metrics)) if metrics else None


def _names(m):
    if isinstance(m, (list, tuple)):
        return [_names(v) for v in m]
    if isinstance(m, dict):
        return {k: _names(v) for k, v in m.items()}
    return m if isinstance(m, str) else (getattr(m, "name", None) or getattr(m, "__name__", None)
                                          or type(m).__name__)


def fresh_metrics(metrics: Any) -> Any:
    """``metrics`` with each metric object replaced by a new one of its config,
    so that neither the check nor the confirming step touches the user's metric
    state; an object that cannot be remade is left out (not checked)."""
    import keras

    def fresh(m):
        if isinstance(m, (list, tuple)):
            return [f for f in (fresh(v) for v in m) if f is not None]
        if isinstance(m, dict):
            return {k: f for k, f in ((k, fresh(v)) for k, v in m.items()) if f is not None}
        if isinstance(m, keras.metrics.Metric):
            try:
                return type(m).from_config(m.get_config())
            except Exception:  # noqa: BLE001 - a custom metric without a config: not checked
                return None
        return m

    return fresh(metrics) if metrics else None


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


def check_model(model, x, y, loss, mode: str, *, metrics: Any = None, batch_size: int | None = None,
                dataset: bool = False) -> Finding | None:
    """The first side Keras rejects (as `Finding`), or None when one step of
    ``mode`` (``"fit"``, ``"predict"``) would run. ``x``, ``y``: `Array`
    structures (`shapeguard._fitdata.describe`), ``y`` None to check the inputs only.
    ``metrics``: as given to ``compile`` (`compiled_metrics`), checked after the
    loss on the batches ``fit`` makes of the samples (``batch_size``, default 32,
    and the last, smaller one). ``dataset``: the first axes are one batch's, not sample counts."""
    from keras.src import backend, tree
    from keras.src.backend import KerasTensor

    _match_keys(x, input_names(model), "x", "input")
    if y is not None and mode == "fit":
        _match_keys(y, output_names(model), "y", "output")
    if not dataset:
        counted = _count_finding(x, y if mode == "fit" else None, mode)
        if counted is not None:
            return counted

    def symbolic(data):
        return tree.map_structure(lambda a: KerasTensor((None,) + tuple(a.shape[1:]), dtype=a.dtype), data)

    with _unfiltered():
        try:
            out = backend.compute_output_spec(lambda xs: model(xs, training=mode == "fit"), symbolic(x))
        except Exception as exc:  # noqa: BLE001 - whatever Keras raised is the data's: the model builds on its Input
            return _input_finding(model, x, exc, mode)
    if y is None or mode != "fit":
        return None
    # With any batch first (a failure that is not the batch's: confirmed on 2 samples), then on the batches
    # fit makes of the samples (``batch_size``, default 32, then the last, smaller one): a broadcast between
    # the batch axis and another holds or fails with the batch's size, at runtime.
    n, size = leaves(x)[0].shape[0], batch_size or FIT_BATCH
    batches = [None] if n is None else [min(size, n)] + ([n % size] if n > size and n % size else [])
    for batch in dict.fromkeys([None, *batches]):
        finding = _loss_finding(model, loss, y, out, batch)
        if finding is not None:
            return finding
    metrics = fresh_metrics(metrics)
    if not metrics:
        return None
    for batch in batches:  # the full batch, then the last, smaller one
        finding = _metric_finding(model, metrics, y, out, batch)
        if finding is not None:
            return finding
    return None


def _batched(t, batch: int | None):
    """An `Array` or an output spec as a symbolic tensor on a batch of ``batch`` (None: unknown)."""
    from keras.src.backend import KerasTensor

    return KerasTensor((batch,) + tuple(t.shape[1:]), dtype=t.dtype)


def _loss_finding(model, loss, y, out, batch: int | None) -> Finding | None:
    """Keras's ``CompileLoss`` over the labels and the outputs, on a batch of ``batch``."""
    from keras.src import backend, tree
    from keras.src.trainers.compile_utils import CompileLoss

    compile_loss = CompileLoss(loss, None, output_names=getattr(model, "output_names", None))

    def step(y_true, y_pred):
        compile_loss.build(y_true, y_pred)
        return compile_loss(y_true, y_pred)

    batched = lambda t: _batched(t, batch)
    with _unfiltered():
        try:
            backend.compute_output_spec(step, tree.map_structure(batched, y), tree.map_structure(batched, out))
        except Exception as exc:  # noqa: BLE001 - the loss rejected the labels against the outputs
            return replace(_output_finding(loss, y, out, exc), batch=batch)
    return None


def _metric_finding(model, metrics, y, out, batch: int | None) -> Finding | None:
    """Keras's ``CompileMetrics`` over the labels and outputs, on a batch of
    ``batch``: built (the metrics' structure against the outputs'), then each
    metric's ``update_state``, so the one that raises is named."""
    from keras.src import backend, tree
    from keras.src.trainers.compile_utils import CompileMetrics

    batched = lambda t: _batched(t, batch)
    y_true, y_pred = tree.map_structure(batched, y), tree.map_structure(batched, out)
    compiled = CompileMetrics(metrics, None, output_names=output_names(model) or None)
    with _unfiltered():
        try:
            backend.compute_output_spec(compiled.build, y_true, y_pred)
        except Exception as exc:  # noqa: BLE001 - the metrics do not match the outputs' structure
            labels, outputs = leaves(y), [tuple(o.shape) for o in tree.flatten(out)]
            return Finding(OUTPUT, f"metrics={metrics_name(metrics)}", None, classify(exc).message,
                           ((None,) + labels[0].shape[1:], outputs[0]), (None,) + labels[0].shape[1:],
                           outputs[0], _structure_hint(metrics, output_names(model), len(outputs)),
                           "metrics", batch)
        for listed, t, p in zip(compiled._flat_metrics, compiled._flatten_y(y_true), compiled._flatten_y(y_pred)):
            for metric in (listed.metrics if listed is not None else []):
                try:
                    backend.compute_output_spec(metric.update_state, t, p)
                except Exception as exc:  # noqa: BLE001 - this metric rejected the labels against the output
                    label, output = (None,) + tuple(t.shape[1:]), (None,) + tuple(p.shape[1:])
                    return Finding(OUTPUT, metric.name, None, classify(exc).message, (label, output), label,
                                   output, _metric_hint(metric, label, output, metric.name in _strings(metrics)),
                                   "metric", batch)
    return None


def _count_finding(x, y, mode: str) -> Finding | None:
    """Keras's own rule (``check_data_cardinality``): every array of ``x`` and
    ``y`` has the same number of samples. ``"output"`` when ``y``'s differs
    from ``x``'s, ``"input"`` when ``x``'s arrays differ among themselves."""
    from keras.src.trainers.data_adapters.data_adapter_utils import check_data_cardinality

    xs, ys = _named(x, "x"), _named(y, "y") if y is not None else []
    if any(a.shape[0] is None for _, a in xs + ys):
        return None
    try:
        check_data_cardinality((leaves(x), leaves(y)) if y is not None else (leaves(x),))
        return None
    except ValueError as exc:
        message = " ".join(str(exc).split())
    first, ref = xs[0]
    odd = next(((n, a) for n, a in xs if a.shape[0] != ref.shape[0]), None)
    side = INPUT if odd else OUTPUT
    name, data = odd or next((n, a) for n, a in ys if a.shape[0] != ref.shape[0])
    whom = "every input" if side == INPUT else ("both" if len(xs) == len(ys) == 1 else "x and y")
    hint = (f"{first} has {ref.shape[0]} samples, {name} has {data.shape[0]}: give {whom} the same number of "
            "samples")
    return Finding(side, mode, None, message, (data.shape, ref.shape), data.shape, ref.shape, hint, "samples")


def _named(data, role: str) -> list[tuple[str, Array]]:
    """``[("x['image']", Array), ...]``: each leaf with the name a user gave it."""
    if isinstance(data, Array):
        return [(role, data)]
    items = data.items() if isinstance(data, dict) else enumerate(data)
    return [pair for key, v in items for pair in _named(v, f"{role}[{key!r}]")]


def confirm(model, x, y, loss, mode: str, *, metrics: Any = None, batch: int | None = None,
            counts: bool = False) -> BaseException | None:
    """What plain Keras raises on a tiny real step (None when it runs): ``predict`` on
    2 samples of zeros, or ``fit`` of a clone (compiled with ``loss`` and a fresh copy
    of ``metrics``, plain SGD), so the user's model, optimizer and metrics are left as
    they were. ``batch``: as many samples (a metric's failure can depend on it);
    ``counts``: the samples disagree as the given counts do (`zero_shapes`)."""
    import keras

    shape = functools.partial(zero_shapes, batch=batch or 2, counts=counts)
    xs = _zeros(shape(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            clone = None if mode == "predict" else keras.models.clone_model(model)
        except Exception:  # noqa: BLE001 - not clonable (a subclassed model without get_config)
            return _eager_step(model, xs, _zeros(shape(y, x)), loss, fresh_metrics(metrics))
        try:
            if clone is None:
                model.predict(xs, batch_size=batch or 2, verbose=0)
            else:
                clone.compile(optimizer="sgd", loss=loss, metrics=fresh_metrics(metrics))
                clone.fit(xs, _zeros(shape(y, x)), batch_size=batch or 2, epochs=1, verbose=0)
        except Exception as exc:  # noqa: BLE001 - the step failed: that is what is asked
            return exc
    return None


def zero_shapes(data, x=None, *, batch: int = 2, counts: bool = False):
    """The `Array` (shape, dtype) of each of the tiny step's arrays of zeros, in ``data``'s structure:
    ``batch`` samples each, or, with ``counts``, as many samples as there are
    distinct counts before it (2, 3, ...), so arrays whose counts differ still
    differ, as cheaply as can be (``x``: the arrays counted before ``y``)."""
    seen: list = []
    if counts:
        for a in leaves(x) if x is not None else []:
            seen.append(a.shape[0]) if a.shape[0] not in seen else None

    def one(a: Array) -> Array:
        if counts and a.shape[0] not in seen:
            seen.append(a.shape[0])
        n = batch + seen.index(a.shape[0]) if counts else batch
        return Array((n,) + tuple(1 if d is None else d for d in a.shape[1:]), a.dtype)

    def walk(d):
        if d is None or isinstance(d, Array):
            return None if d is None else one(d)
        if isinstance(d, dict):
            return {k: walk(v) for k, v in d.items()}
        return [walk(v) for v in d]

    return walk(data)


def _eager_step(model, xs, ys, loss, metrics=None) -> BaseException | None:
    """What a fit step computes, on arrays, without training: the model's call, the loss and the metrics."""
    from keras.src.trainers.compile_utils import CompileLoss, CompileMetrics
    from keras.src.trainers.data_adapters.data_adapter_utils import check_data_cardinality

    try:
        check_data_cardinality((xs, ys))
        out = model(xs, training=False)
        compile_loss = CompileLoss(loss, None, output_names=getattr(model, "output_names", None))
        compile_loss.build(ys, out)
        compile_loss(ys, out)
        if metrics:
            compiled = CompileMetrics(metrics, None, output_names=output_names(model) or None)
            compiled.build(ys, out)
            compiled.update_state(ys, out)
    except Exception as exc:  # noqa: BLE001
        return exc
    return None


def _zeros(shapes):
    import numpy as np

    if shapes is None or isinstance(shapes, Array):
        return None if shapes is None else np.zeros(shapes.shape, dtype=shapes.dtype)
    if isinstance(shapes, dict):
        return {k: _zeros(v) for k, v in shapes.items()}
    return [_zeros(v) for v in shapes]


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
                   (None,) + label.shape[1:], output, _output_hint(loss, label, output), "loss")


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


# Metrics that compare labels and outputs of one shape: with class ids against a
# softmax, the fix is one-hot labels (each checked to pass with them in Keras 3.15).
_SAME_SHAPE = ("Precision", "Recall", "AUC", "F1Score", "FBetaScore")


def _strings(metrics) -> set:
    """The metrics named by a string."""
    if isinstance(metrics, str):
        return {metrics}
    if isinstance(metrics, (list, tuple, dict)):
        return set().union(*(_strings(v) for v in (metrics.values() if isinstance(metrics, dict) else metrics)))
    return set()


def _metric_hint(metric, label: tuple, out: tuple, by_string: bool) -> str | None:
    """The sparse or categorical twin of a metric that does not fit the labels'
    format, or one-hot labels for a metric that needs them; None otherwise."""
    cls, name = type(metric).__name__, metric.name
    one_hot = len(label) == len(out) and label[-1] == out[-1] and out[-1] not in (None, 1)
    class_ids = (len(label) == len(out) - 1 or (len(label) == len(out) and label[-1] == 1)) and out[-1] not in (
        None, 1)
    if cls.startswith("Sparse") and one_hot:
        twin = _twin(by_string, cls[len("Sparse"):], name.replace("sparse_", "", 1))
        return twin and f"the labels are one-hot: use metrics=[{twin}]"
    if "Categorical" in cls and not cls.startswith("Sparse") and class_ids:
        twin = _twin(by_string, f"Sparse{cls}", f"sparse_{name}")
        return twin and f"the labels are class ids: use metrics=[{twin}]"
    if cls in _SAME_SHAPE and class_ids:
        return (f"{name} compares labels and outputs of the same shape: give one-hot labels, "
                f"keras.utils.to_categorical(y, {out[-1]}), with loss='categorical_crossentropy'")
    return None


def _twin(by_string: bool, twin_class: str, twin_name: str) -> str | None:
    """``'categorical_accuracy'`` for a metric named by its string, else
    ``keras.metrics.CategoricalAccuracy()``; None when Keras has no such metric."""
    import keras

    if by_string:
        try:
            keras.metrics.get(twin_name)
        except ValueError:
            return None
        return repr(twin_name)
    return f"keras.metrics.{twin_class}()" if hasattr(keras.metrics, twin_class) else None


def _structure_hint(metrics, names: list[str], n: int) -> str | None:
    """One list of metrics per output, or a dict by output name, for a flat list
    that does not match a model of ``n`` outputs."""
    if not isinstance(metrics, (list, tuple)) or len(metrics) == n or not names:
        return None
    shown = _names(metrics)
    return (f"give each of the {n} outputs its metrics: metrics={[shown] * n!r}, or a dict by output name: "
            f"metrics={{{names[0]!r}: {shown!r}}}")


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
                       fit=FitSide(f.side, f.data_shape, f.model_shape, f.hint, f.rejected_by, f.batch))


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


def fit_step(model, x, y, loss, mode: str = "fit", *, metrics: Any = None) -> None:
    """One step of ``mode`` of ``model`` on data of the shapes ``x``, ``y``
    (`Array` structures), checked symbolically (`built`, `check_model`);
    raises `FitRejected` when Keras rejects a side. While `confirming`, a
    rejection is raised only when the tiny real step fails too: when it runs,
    this returns, and the search sees plain Keras disagree (an internal error,
    never a report). ``metrics``: the model's compiled ones when None."""
    metrics = compiled_metrics(model) if metrics is None else metrics  # before `built` clones it uncompiled
    ready, finding = built(model, x)
    finding = finding or check_model(ready, x, y if mode == "fit" else None, loss, mode, metrics=metrics)
    if finding is None:
        return
    if getattr(_confirming, "on", False):
        step = mode if y is not None else "predict"  # without labels the inputs are confirmed by a forward pass
        if confirm(ready, x, y, loss, step, metrics=metrics, batch=finding.batch,
                   counts=finding.rejected_by == "samples") is None:
            return
    raise FitRejected(finding)
