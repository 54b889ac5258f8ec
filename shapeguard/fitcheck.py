"""`check_fit`, `assert_fits` and `watch`: the model against its data and loss.

Most shape faults of a Keras program are not inside the model but between it
and what it is trained with: data of the wrong rank or width, ``predict`` on
one sample, an output that kept its spatial axes, integer labels under a
categorical loss. Keras 3 forgives some of what older Keras did not (a
missing trailing axis of size 1, ``(N,)`` labels for an ``(N, 1)`` output),
so the check follows the installed Keras (`shapeguard._probe.fit`) instead of
a rule of its own, and every failure it reports is confirmed by a tiny real
``fit`` or ``predict`` before it is reported.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, TypeVar

from ._fitdata import FitDataError, dataset_parts, describe, reproduce, show
from ._outcome import INTERNAL, SHAPE
from ._probe import (built, check_loss_names, check_model, compiled_loss, compiled_metrics, confirm, is_model,
                     loss_name, metrics_name, zero_shapes)
from .errors import SUBJECT, BuilderArgsOption, ShapeCheckFailed
from ._usercode import definition
from .report import BlockError, Failure, Location, Report

MODES = ("fit", "predict")


class FitCheckFailed(ShapeCheckFailed):
    """Raised by `assert_fits`: an AssertionError whose message is the report."""


def check_fit(model_or_builder: Any, x: Any, y: Any = None, *, loss: Any = None, metrics: Any = None,
              batch_size: int | None = None, mode: str = "fit", **builder_args: Any) -> Report:
    """Check that one ``model.fit(x, y)`` (or ``model.predict(x)``, ``mode="predict"``)
    step would run, without training, and return a `Report`.

    ``model_or_builder``: a built Keras model (compiled or not) or a function
    returning one, called with ``builder_args``. ``x``, ``y``: numpy arrays (only
    their shape and dtype are read), shape tuples with the sample count first
    (``(60000, 28, 28)``), ``.npy`` paths (the header only), lists or dicts of
    those for several inputs or outputs (matched by position or input name, as
    Keras matches them), or a ``tf.data.Dataset`` (its ``element_spec``) or
    ``keras.utils.PyDataset`` (its first batch) holding both. ``loss``: a name,
    a loss object or function; the model's compiled loss when not given.
    ``metrics``: as for ``compile``; the model's compiled metrics when not given.
    ``batch_size``: ``fit``'s (default 32); the model is checked with the batch
    axis unknown, the loss that way and then, like the metrics, on the batches
    ``fit`` makes (of that size, and the last, smaller one), since a broadcast
    between the batch axis and another depends on it.
    Arrays whose sample counts differ are a failure, as in ``fit``.

    Each failure says its ``side`` (``"input"``: the data against the model's
    inputs; ``"output"``: the labels and loss against its outputs), the layer
    or loss, both shapes (batch None), and a fix for known patterns. Raises
    `FitDataError` (a `ShapeguardError`) for data whose shape cannot be read,
    a dict key the model has no input for, or a builder that needs arguments.
    """
    if mode not in MODES:
        raise FitDataError(f"mode={mode!r}: check_fit checks mode='fit' or mode='predict'.")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise FitDataError(f"batch_size={batch_size!r}: a batch size is a positive integer.")
    model, target = _model(model_or_builder, builder_args)
    where = None if model is model_or_builder else definition(model_or_builder)
    parts = dataset_parts(x)
    metrics = compiled_metrics(model) if metrics is None else metrics
    if parts is not None:
        if y is not None:
            raise FitDataError("y is given with a dataset for x: a dataset holds its labels; give y=None.")
        x, y = parts
    xs = describe(x, "x")
    ys = describe(y, "y") if y is not None and mode == "fit" else None
    loss = compiled_loss(model) if loss is None else loss
    if ys is not None and loss is None:
        raise FitDataError(f"{target} is not compiled and no loss is given: give loss=..., e.g. "
                           "loss='sparse_categorical_crossentropy'.")
    if ys is not None:
        check_loss_names(loss)
    report = Report(target=target, mode=mode, probes=1, space={}, size=1, seed=0,
                    fit={"mode": mode, "x": show(xs), "y": show(ys) if ys is not None else None,
                         "loss": loss_name(loss) if ys is not None else None,
                         **({"metrics": metrics_name(metrics)} if ys is not None and metrics else {})},
                    definition=Location(*where) if where else None)  # where SARIF puts a failure
    model, finding = built(model, xs)
    finding = finding or check_model(model, xs, ys, loss, mode, metrics=metrics, batch_size=batch_size,
                                     dataset=parts is not None)
    if finding is None:
        return report
    step = mode if ys is not None else "predict"  # without labels, the inputs are confirmed by a forward pass
    shapes = dict(batch=finding.batch or 2, counts=finding.rejected_by == "samples")
    call = reproduce(zero_shapes(xs, **shapes), zero_shapes(ys, xs, **shapes), step, shapes["batch"])
    raised = confirm(model, xs, ys, loss, step, metrics=metrics, batch=finding.batch,
                     counts=shapes["counts"])
    if raised is None:  # never a report plain Keras does not confirm
        report.errors.append(BlockError(
            INTERNAL, f"shapeguard found {finding.layer_class} rejecting the {finding.side} side ({finding.message}),"
            f" but plain Keras ran {call}: please report this disagreement", None, {}, call))
        return report
    report.failures.append(Failure(
        kind=SHAPE, layer_class=finding.layer_class, layer_name=finding.layer_name, location=None,
        message=finding.message, input_shapes=finding.input_shapes, example=report.fit, call=call,
        hint=finding.hint, side=finding.side, data_shape=finding.data_shape,
        model_shape=finding.model_shape, rejected_by=finding.rejected_by))
    return report


def assert_fits(model_or_builder: Any, x: Any, y: Any = None, **options: Any) -> Report:
    """`check_fit`, raising `FitCheckFailed` (an AssertionError whose message is
    the report) unless one step would run; returns the report otherwise."""
    __tracebackhide__ = True
    report = check_fit(model_or_builder, x, y, **options)
    if not report.ok:
        raise FitCheckFailed(report) from None
    return report


M = TypeVar("M")


def watch(model: M) -> M:
    """Wrap ``model.fit``, ``evaluate`` and ``predict`` (on this model object)
    so that a shape error escaping them gains shapeguard's diagnosis: the side,
    the layer or loss, both shapes and a fix. The error keeps its type. Returns
    the model. Raises `FitDataError` for anything that is not a Keras model."""
    if not is_model(model):
        raise FitDataError(f"watch() takes a Keras model, not {type(model).__name__}: "
                           "e.g. model = shapeguard.watch(model).")
    for name in ("fit", "evaluate", "predict"):
        method = getattr(model, name)
        if getattr(method, "_shapeguard_watched", False):
            continue
        setattr(model, name, _watched(model, name, method))
    return model


def _watched(model, name: str, method: Callable) -> Callable:
    @functools.wraps(method)
    def call(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except Exception as exc:
            _add_diagnosis(exc, model, name, args, kwargs)
            raise

    call._shapeguard_watched = True
    return call


def _add_diagnosis(exc: BaseException, model, name: str, args, kwargs) -> None:
    """The fit check's failure line, appended to the message of an error that escaped ``name``."""
    try:
        bound = inspect.signature(getattr(type(model), name)).bind(model, *args, **kwargs).arguments
        mode = "predict" if name == "predict" else "fit"
        x, y = bound.get("x"), bound.get("y") if mode == "fit" else None
        parts = dataset_parts(x)
        if parts is not None:
            x, y = parts
        xs, ys = describe(x, "x"), describe(y, "y") if y is not None else None
        ready, finding = built(model, xs)
        finding = finding or check_model(ready, xs, ys, compiled_loss(model), mode, metrics=compiled_metrics(model),
                                         batch_size=bound.get("batch_size"), dataset=parts is not None)
    except Exception:  # noqa: BLE001 - the diagnosis is a courtesy: never hide the user's error behind ours
        return
    if finding is None or not (exc.args and isinstance(exc.args[0], str)):
        return
    text = (f"shapeguard: {finding.side} side: {'data' if finding.side == 'input' else 'labels'} "
            f"{finding.data_shape}" + (f" against {finding.model_shape}" if finding.model_shape else "")
            + f", rejected by {finding.layer_class}"
            + (f"; fix: {finding.hint}" if finding.hint else ""))
    exc.args = (f"{exc.args[0]}\n\n{text}",) + exc.args[1:]


def _model(model_or_builder: Any, builder_args: dict) -> tuple[Any, str]:
    """The model, and the report's name for it."""
    if is_model(model_or_builder):
        if builder_args:
            raise FitDataError(f"{', '.join(builder_args)}: arguments are for a builder, and a built model "
                               "is given.")
        return model_or_builder, getattr(model_or_builder, "name", "model")
    if not callable(model_or_builder):
        raise FitDataError(f"check_fit takes a Keras model or a function returning one, not "
                           f"{type(model_or_builder).__name__}.")
    name = getattr(model_or_builder, "__name__", None) or "the builder"
    try:
        inspect.signature(model_or_builder).bind(**builder_args)
    except TypeError:
        needed = [p.name for p in inspect.signature(model_or_builder).parameters.values()
                  if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                  and p.name not in builder_args]
        if needed:
            raise FitDataError((SUBJECT, f" needs the arguments {', '.join(needed)}: give them, e.g. ",
                                BuilderArgsOption(name, tuple(needed)), "."), subject=name) from None
        raise FitDataError(f"{name} takes no argument {', '.join(builder_args)}.") from None
    except ValueError:  # no signature to read: call it
        pass
    model = model_or_builder(**builder_args)
    if not is_model(model):
        raise FitDataError(f"{name} returned {type(model).__name__}, not a Keras model.")
    return model, name
