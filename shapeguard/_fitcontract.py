"""A data contract on a model builder: ``@guard(fit={"x": "N,H,W", "y": "N"})``.

The builder's space is searched as any target's is, and at each point the
model it built is also checked against data of the contract's shapes at that
point: one ``fit`` step, symbolically (`shapeguard._probe.fit_step`). So a
side Keras rejects (the data against the model's input, the labels and loss
against its output) is a failure found, shrunk, explained and confirmed like
a layer's, the confirmation being a tiny real ``fit`` (`_probe.fit.confirm`).

A template's dimensions are axes as in ``inputs=``: a builder's parameter by
its name (``"N,look_back,features"`` follows ``look_back``), else a dimension
of its own, searched. The first dimension of each template is the sample
count; the check never varies it (the batch axis is unknown), and counts
written as numbers must agree, as Keras requires.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, replace
from typing import Any, Mapping

from ._callee import BUILDER, FACTORY, FUNCTION, Callee, NoTensor, resolve
from ._expr import Expr
from ._fitdata import Array, FitDataError, reproduce
from ._probe import check_loss_names, compiled_loss, fit_step, is_model, loss_name as _loss_name
from .errors import SUBJECT, ShapeguardError
from .space import Argument, parse_template

KEYS = ("x", "y", "loss")


@dataclass(frozen=True)
class Leaf:
    """One array of the contract: the probe's tensor parameter standing for
    it, where it sits in ``x`` or ``y`` (None: alone; an index; a dict key),
    its template as written, and its sample count when written as a number."""

    param: str
    role: str
    key: Any
    text: str
    count: int | None


@dataclass(frozen=True)
class FitContract:
    """What ``fit=`` declares: templates for ``x`` and ``y`` (each a template,
    or a list or dict of them, as ``model.fit`` takes arrays), and the loss
    (the model's compiled loss when None)."""

    x: Any
    y: Any = None
    loss: Any = None
    leaves: tuple = ()

    @property
    def templates(self) -> dict:
        """``{"x": "N,H,W", "y": "N"}``: each array's template as written, keyed as the report shows them."""
        return {_shown(leaf): leaf.text for leaf in self.leaves}

    def note(self, builder: str) -> str:
        """What the report says was checked besides the builder's own calls."""
        data = ", ".join(f"{k} {v}" for k, v in self.templates.items())
        loss = "the model's compiled loss" if self.loss is None else f"loss {_loss_name(self.loss)}"
        labels = f", with {loss}" if self.y is not None else " (no labels: the inputs only)"
        return (f"data contract: each model {builder} returns is checked against one fit step on data {data}"
                f"{labels}, symbolically; each failure is confirmed by a real fit on arrays of zeros (its reproduce line)")


def contract_of(fit: Any, name: str) -> FitContract:
    """``fit`` (a dict: ``x``, optional ``y`` and ``loss``) as a `FitContract`;
    `ShapeguardError` naming what is wrong, in Python's syntax."""
    if not isinstance(fit, Mapping):
        raise ShapeguardError(f"fit must be a dict such as fit={{'x': 'N,H,W', 'y': 'N'}}, not {fit!r:.60}.",
                              subject=name)
    unknown = [k for k in fit if k not in KEYS]
    if unknown:
        raise ShapeguardError(f"fit has no key {unknown[0]!r}; its keys are 'x', 'y' and 'loss', e.g. "
                              "fit={'x': 'N,H,W', 'y': 'N', 'loss': 'sparse_categorical_crossentropy'}.",
                              subject=name)
    if "x" not in fit:
        raise ShapeguardError("fit needs the data's template under 'x', e.g. fit={'x': 'N,H,W', 'y': 'N'}.",
                              subject=name)
    leaves = [*_leaves(fit["x"], "x", name), *(_leaves(fit["y"], "y", name) if fit.get("y") is not None else [])]
    counts = {leaf.count for leaf in leaves if leaf.count is not None}
    if len(counts) > 1:
        raise ShapeguardError(f"fit gives {' and '.join(map(str, sorted(counts)))} samples: the first dimension "
                              "of each template is the sample count, the same for x and y (or a name, such as N).",
                              subject=name)
    return FitContract(fit["x"], fit.get("y"), fit.get("loss"), tuple(leaves))


def _leaves(value: Any, role: str, name: str) -> list[Leaf]:
    if isinstance(value, Mapping):
        return [_leaf(text, role, key, f"{role}_{key}" if str(key).isidentifier() else f"{role}{i}", name)
                for i, (key, text) in enumerate(value.items())]
    if isinstance(value, list):
        return [_leaf(text, role, i, f"{role}{i}", name) for i, text in enumerate(value)]
    return [_leaf(value, role, None, role, name)]


def _leaf(text: Any, role: str, key: Any, param: str, name: str) -> Leaf:
    where = role if key is None else f"{role}[{key!r}]"
    if isinstance(text, tuple):
        text = ",".join(map(str, text))
    if not isinstance(text, str):
        raise ShapeguardError(f"fit's {where} is {text!r:.60}; give a template such as 'N,H,W' (the sample "
                              "count first).", subject=name)
    try:
        choices = parse_template(text)
    except ShapeguardError as exc:
        raise ShapeguardError((f"fit's {where} template {text!r}: ", exc), subject=name) from None
    if len(choices) != 1 or not isinstance(choices[0], tuple):
        raise ShapeguardError(f"fit's {where} template {text!r} is one array's shape, such as 'N,H,W': no "
                              "choices (|) or lists in it.", subject=name)
    first, *rest = choices[0]
    if first is None or (isinstance(first, Expr) and len(first.names) != 1) or \
            (isinstance(first, Expr) and first.text not in first.names):
        raise ShapeguardError(f"fit's {where} template {text!r} starts with {first}: the first dimension is the "
                              "sample count, a number or a name such as N.", subject=name)
    return Leaf(param, role, key, text, first if isinstance(first, int) else None)


def _shown(leaf: Leaf) -> str:
    return leaf.role if leaf.key is None else f"{leaf.role}[{leaf.key!r}]"


def _per_sample(leaf: Leaf) -> str:
    """The probe's template for the leaf: a leading 1 where the sample count
    was, so that a label of one number per sample (``"N"``) is a tensor too."""
    dims = [d.text if isinstance(d, Expr) else str(d) for d in parse_template(leaf.text)[0][1:]]
    return ",".join(["1", *dims])


@dataclass
class FitCallee(Callee):
    """A model builder called with a data contract: each call builds the
    model at the point and checks one ``fit`` step of it on arrays of the
    contract's shapes there (`shapeguard._probe.fit_step`). Its tensor
    parameters stand for the arrays (a template with a leading 1 for the
    sample count); the reproducing call is the builder's and the fit step."""

    builder: Callee | None = None
    contract: FitContract | None = None

    def __call__(self, *args, **kwargs):
        _, values = self.bound_values(*args, **kwargs)  # as the builder's own call gets them
        data = {leaf.param: values.pop(leaf.param) for leaf in self.contract.leaves}
        model = self.target(**values)
        if not is_model(model):
            raise NoTensor(f"{self.name} returned {type(model).__name__}, not a Keras model: a data contract "
                           "(fit=) checks the model a builder returns")
        arrays = {leaf.param: Array((leaf.count,) + tuple(data[leaf.param].shape[2:]), "float32")
                  for leaf in self.contract.leaves}
        x, y = self._structure("x", arrays), self._structure("y", arrays)
        loss = self.contract.loss if self.contract.loss is not None else compiled_loss(model)
        if y is not None and loss is None:
            raise FitDataError(f"{self.name}() returns a model that is not compiled, and fit= gives no loss: add "
                               "one, e.g. fit={..., 'loss': 'sparse_categorical_crossentropy'}")
        fit_step(model, x, y, loss)
        return model

    def _structure(self, role: str, arrays: dict) -> Any:
        """The arrays of ``role`` in the structure the contract wrote them in (one, a list, a dict)."""
        leaves = [leaf for leaf in self.contract.leaves if leaf.role == role]
        if not leaves:
            return None
        if leaves[0].key is None:
            return arrays[leaves[0].param]
        if isinstance(getattr(self.contract, role), list):
            return [arrays[leaf.param] for leaf in leaves]
        return {leaf.key: arrays[leaf.param] for leaf in leaves}

    def render(self, arguments: list[Argument], on_data: bool = False, batch: int = 2) -> str:
        """``model = build(classes=10); model.fit(np.zeros((2, 28, 28)), np.zeros((2,)), batch_size=2)``:
        the builder's call and the fit step on ``batch`` samples of zeros."""
        params = {leaf.param for leaf in self.contract.leaves}
        shapes = {a.name: a.shape for a in arguments if a.name in params}
        call = self.builder.render([a for a in arguments if a.name not in params], on_data)
        arrays = {p: Array((batch,) + tuple(s[1:]), "float32") for p, s in shapes.items()}
        x, y = self._structure("x", arrays), self._structure("y", arrays)
        return f"model = {call}; {reproduce(x, y, 'fit' if y is not None else 'predict', batch)}"


def contract_callee(callee: Callee, fit: Any, input_shapes: Mapping | None) -> Callee:
    """``callee`` (a resolved model builder) checked against the data contract
    ``fit`` (`FitContract`); `ShapeguardError` for a target that is not a
    model builder, a contract that does not parse, or a template parameter
    the builder already has."""
    contract = contract_of(fit, callee.label or callee.name)
    if callee.kind == FACTORY:  # no keras.Input in its source (Sequential([...])): its model is the result
        callee = callee.as_builder()
    elif callee.kind == FUNCTION and callee.shape_params and not input_shapes:
        # A builder taking input_shape=(28, 28, 1) keeps its default shape: the data contract is what varies.
        params = [p for p in inspect.signature(callee.target).parameters.values() if p.name not in ("self", "cls")]
        callee = replace(callee, kind=BUILDER, signature=inspect.Signature(params), inputs=None,
                         shape_params=frozenset())
    elif callee.kind != BUILDER and not (callee.kind == FUNCTION and callee.shape_params):
        raise ShapeguardError((SUBJECT, " takes tensors: fit= is a data contract for a model builder (a function "
                                        "returning a Keras model)."), subject=callee.label)
    names = set(callee.signature.parameters)
    clash = next((leaf.param for leaf in contract.leaves if leaf.param in names), None)
    if clash is not None:
        raise ShapeguardError(f"fit= names its arrays {clash}, which is a parameter of {callee.name} too; rename "
                              "the parameter.", subject=callee.label)
    listed = [p for p in callee.signature.parameters.values() if p.kind != p.VAR_KEYWORD]
    var_keyword = [p for p in callee.signature.parameters.values() if p.kind == p.VAR_KEYWORD]
    data = [inspect.Parameter(leaf.param, inspect.Parameter.KEYWORD_ONLY) for leaf in contract.leaves]
    signature = inspect.Signature([*listed, *data, *var_keyword])
    inputs = {**(callee.inputs or {}), **{leaf.param: _per_sample(leaf) for leaf in contract.leaves}}
    return FitCallee(callee.name, BUILDER, callee.target, signature, inputs, shape_params=callee.shape_params,
                     notes=list(callee.notes), label=callee.label, shape_defaults=callee.shape_defaults,
                     builder=callee, contract=contract)


def resolved(target: Any, inputs: Mapping | None, input_shapes: Mapping | None, fit: Any, *,
             name: str | None = None, call_name: str | None = None) -> Callee:
    """`shapeguard._callee.resolve`; with a data contract ``fit``, the model
    builder checked against it (`contract_callee`)."""
    if fit is not None and inputs:
        raise ShapeguardError("inputs= is for a block that takes tensors, and fit= for a model builder, which "
                              "makes its own inputs: give one of them.", subject=name)
    callee = resolve(target, inputs, input_shapes, name=name, call_name=call_name)
    return callee if fit is None else contract_callee(callee, fit, input_shapes)


def check_contract_loss(callee: Callee) -> None:
    """A loss named by a string Keras does not know is the caller's mistake: one sentence before any probe."""
    if isinstance(callee, FitCallee) and callee.contract.loss is not None:
        check_loss_names(callee.contract.loss)


__all__ = ["FitCallee", "FitContract", "check_contract_loss", "contract_callee", "contract_of", "resolved"]
