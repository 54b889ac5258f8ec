"""What shapeguard infers when nobody said: the rules for axes and values,
as tables (docs/explanation/probing.md, "Inferred axes" and "Required parameters").

`space.build_space` asks `infer_param` for each parameter nobody gave values
for, with what the block's source says about it (`_evidence`): the default
first, then the choices the code names, then the values for the Keras
keyword it is passed as, then its name. A parameter without a default that
the code says nothing about is held at ONE guessed value, never a grid.
`infer_dim` answers for each template dimension and `guess_tensor_param` for
the parameter that takes the tensor. Every rule is a table entry or one small
function here, so a rule is added or changed in one place.
"""

from __future__ import annotations

import inspect
import re
from typing import Any, Callable, Mapping

from ._evidence import COMPARED, Evidence
from ._show import show_value

NO_DEFAULT = inspect.Parameter.empty
UNKNOWN = Evidence(used=True)  # no source to read: assume it is used, know nothing else

# Inference rules (documented in docs/explanation/probing.md, "Inferred axes").
TENSOR_PARAM_NAMES = ("x", "inputs", "input", "input_tensor", "tensor")
CHANNEL_VALUES = (8, 16, 32, 64)
SPATIAL_VALUES = (7, 8)  # always one odd size: odd sizes break stride-2 joins
NAMED_VALUES: Mapping[str, tuple] = {
    "filters": CHANNEL_VALUES,
    "units": CHANNEL_VALUES,
    "channels": CHANNEL_VALUES,
    "out_channels": CHANNEL_VALUES,
    "num_filters": CHANNEL_VALUES,
    "strides": (1, 2),
    "stride": (1, 2),
    "kernel_size": (1, 3, 5),
}
# Parameters without a default, recognised by name (docs/explanation/probing.md, "Inferred axes").
LABEL_NAMES = re.compile(r"^(name|prefix|scope|label|.*_name|.*_prefix|name_.*)$")
INDEX_NAMES = re.compile(r"^(block_id|block_idx|block_index|block_num|stage|stage_id|stage_idx|"
                         r"layer_id|layer_idx|idx|index|.*_id|.*_idx|.*_index)$")
CHANNEL_NAMES = re.compile(r"^(growth_rate|output_channels?|input_channels?|hidden_dim|hidden_size|"
                           r"intermediate_dim|intermediate_size|channel|embed_dim|embedding_dim|key_dim|"
                           r"value_dim|ff_dim|dim|width|filters_.*|.*_filters|.*_channels?|.*_dim|.*_units)$")
HEAD_NAMES = re.compile(r"^(num_heads|heads|n_heads|num_attention_heads)$")
ACTIVATION_NAMES = re.compile(r"^(activation|act|.*_activation)$")
# ONE value for a parameter without a default that the code says nothing about: a guess by name.
GUESSES: tuple[tuple[re.Pattern, Any], ...] = (
    (re.compile(r"^(filters|units|channels|out_channels|num_filters)$"), 64),
    (re.compile(r"^(strides?)$"), 1),
    (re.compile(r"^(kernel_size)$"), 3),
    (INDEX_NAMES, 0),
    (HEAD_NAMES, 2),
    (CHANNEL_NAMES, 64),
    (re.compile(r"^(se_ratio|squeeze_ratio|.*se_ratio)$"), 0.25),
    (re.compile(r"^(expansion|expand_ratio|expansion_factor|expansion_ratio|expand|t)$"), 6),
    (re.compile(r"^(mlp_ratio)$"), 4),
    (re.compile(r"^(reduction|reduction_ratio|compression)$"), 0.5),
    (re.compile(r"^(scale|residual_scale|layer_scale)$"), 1.0),
    (re.compile(r"^(dropout|dropout_rate|drop_rate|drop_path_rate|rate|.*_dropout)$"), 0.0),
    (re.compile(r"^(blocks|layers|repeats|num_blocks|num_layers|n_blocks|n_layers|.*_blocks|.*_layers|"
                r".*_repeats)$"), 2),
    (re.compile(r"^(init_values|layer_scale_init_value|epsilon|eps)$"), 1e-6),
    (re.compile(r"^(alpha|width_multiplier|depth_multiplier|width_coefficient|depth_coefficient|"
                r"width_mult|multiplier)$"), 1.0),
    (re.compile(r"^(num_row|num_col|kernel_h|kernel_w|kernel_rows|kernel_cols)$"), 3),
)
# Required parameters named like a switch (keras.applications' ResNet(preact, use_bias)).
FLAG_NAMES = re.compile(r"^(use_.*|with_.*|has_.*|is_.*|enable_.*|preact|.*_bias|bias|training|residual_scale_on)$")
# One value for an annotated parameter with no default and no other evidence (a count, a ratio).
ANNOTATION_GUESSES: Mapping[str, Any] = {"int": 2, "float": 0.5}
# Values for a parameter the code passes as one of Keras's keyword arguments (`_evidence`).
KEYWORD_VALUES: Mapping[str, tuple] = {
    "padding": ("same", "valid"),
    "data_format": ("channels_last", "channels_first"),
    "strides": NAMED_VALUES["strides"],
    "kernel_size": NAMED_VALUES["kernel_size"],
    "filters": CHANNEL_VALUES,
    "units": CHANNEL_VALUES,
}
# Parameters held at None whatever their default: nothing may download weights.
HELD_AT_NONE: Mapping[str, str] = {"weights": "held at None: never loads weights from a hub"}
TENSOR_LIKE_NAMES = re.compile(r"^(x|y|h|p|ip|z|inputs?|tensors?|skips?|skip_.*|.*_skip|.*_tensors?|"
                               r".*_inputs?|.*_list|features?|residual|shortcut|prev|previous|memory|"
                               r"context|query|key|value|encoder_outputs?|hidden_states?)$", re.IGNORECASE)
# A second required tensor parameter (docs/explanation/probing.md, "Inferred axes"): a list of
# tensors when named like one, else one tensor at the first's size, double or half.
TENSOR_LIST_NAMES = re.compile(r"^(skips|tensors|.*_tensors|.*_list|features)$", re.IGNORECASE)
CHANNEL_DIMS = ("C", "channels", "D")
SPATIAL_DIMS = ("H", "W", "T", "L", "S", "depth", "height", "width")
# Templates inferred for the tensor parameter, by the rank its first layer wants.
INFERRED_TEMPLATES = {1: ("D",), 2: ("T", "C"), 3: ("H", "H", "C"), 4: ("depth", "H", "H", "C")}
INFERRED_TEMPLATE = INFERRED_TEMPLATES[3]
TOKEN_TEMPLATE = ("T",)  # integer ids for an Embedding first
INFERRED_KINDS = {("D",): "a vector", ("T",): "a sequence of token ids", ("T", "C"): "a sequence",
                  ("H", "H", "C"): "an image", ("depth", "H", "H", "C"): "a volume"}


def guess_tensor_param(params, axes) -> str | None:
    for candidate in TENSOR_PARAM_NAMES:
        if candidate in params and candidate not in axes:
            return candidate
    for p in params.values():
        if p.name not in axes and p.default is NO_DEFAULT:
            return p.name
    return None


def other_tensor_params(params, axes, first: str, evidence: Mapping | None = None) -> list[str]:
    """Required parameters besides ``first`` named like tensors (``skip``,
    ``residual``), or that the code calls a layer on (``Add()([x, g])``)."""
    evidence = evidence or {}
    return [p.name for p in params.values() if p.name != first and p.name not in axes and p.default is NO_DEFAULT
            and (TENSOR_LIKE_NAMES.match(p.name) or getattr(evidence.get(p.name), "tensor", False))]


def related_shapes(dims: tuple) -> tuple[tuple, ...]:
    """The shapes a second tensor is tried at, as template dims: the first's,
    its spatial sizes doubled, halved (a channel dim kept)."""
    spatial = [i for i, d in enumerate(dims) if d in SPATIAL_DIMS]
    if not spatial:
        return (dims,)
    scaled = lambda f: tuple(f(d) if i in spatial else d for i, d in enumerate(dims))
    return dims, scaled(lambda d: f"2*{d}"), scaled(lambda d: f"{d}//2")


def inferred_dim_values(dim: str) -> tuple | None:
    found = infer_dim(dim)
    return None if found is None else found[0]


def infer_dim(dim: str) -> tuple[tuple, str] | None:
    """``(values, rule)`` for a template dimension nobody gave values for."""
    if dim in CHANNEL_DIMS:
        return CHANNEL_VALUES, "a channel dimension"
    if dim in SPATIAL_DIMS:
        return SPATIAL_VALUES, "a spatial or sequence dimension"
    return None


def infer_param(p: inspect.Parameter, evidence: Evidence | None = None, *, widen: bool = True
                ) -> tuple[tuple, str] | None:
    """``(values, rule)`` for a parameter nobody gave (docs/explanation/probing.md,
    "Inferred axes"), the rule in a few words (``"a bool"``, ``"passed as padding="``);
    None when it keeps its default, or has none and no rule fits.
    ``evidence`` is what the block's source says about it (`_evidence`; None:
    nothing is known). ``widen=False`` (the caller gave axes): a parameter
    with a default keeps it, one without is held at one value."""
    evidence = UNKNOWN if evidence is None else evidence
    if p.name in HELD_AT_NONE:
        return None if p.default is None else ((None,), HELD_AT_NONE[p.name])
    if p.default is NO_DEFAULT:
        found = _required(p, evidence)
        if found is not None and not widen and len(found[0]) > 1:
            guess = _guess(p.name)  # the name's guess when the code allows it, so widths agree
            value = guess if any(_same(guess, v) for v in found[0]) else found[0][0]
            return (value,), f"{found[1]}; held at one value: axes were given"
        return found
    return _with_default(p, evidence) if widen else _label(p, evidence)


def _with_default(p: inspect.Parameter, evidence: Evidence) -> tuple[tuple, str] | None:
    """A parameter with a default: its default first, then what the code says;
    None (it keeps its default) when that adds no other value."""
    found = _default_first(p, evidence)
    if found is None or all(_same(v, p.default) for v in found[0]):
        return None
    return found


def _default_first(p: inspect.Parameter, evidence: Evidence) -> tuple[tuple, str] | None:
    default, name = p.default, p.name
    if not evidence.used:
        return None  # nothing it could change
    if isinstance(default, bool) or _is_bool(p, evidence):
        return (default, not default) if isinstance(default, bool) else (default, False, True), "a bool"
    choices = tuple(c for c in evidence.choices if not _same(c, default))  # `if stride == 1`: nothing new
    if len(choices) > 1 or choices and evidence.choices_from != COMPARED:
        return (default, *choices), evidence.choices_from
    for keyword in evidence.keywords:
        values = _keyword_values(keyword, default)
        if values is not None:
            return values, f"passed as {keyword}="
    if name in NAMED_VALUES:
        values = _like_default(default, NAMED_VALUES[name])
        return None if values is None else (values, f"named {name!r}")
    if name == "data_format" and _other_layout(default) is not None:
        return _other_layout(default), "a data format"
    if choices:  # one literal it is compared with (`if groups == 1`): after the keyword and name rules
        return (default, *choices), evidence.choices_from
    return _label(p, evidence)


def _label(p: inspect.Parameter, evidence: Evidence) -> tuple[tuple, str] | None:
    """A label with no default or a None one: ONE fixed name (blocks build layer names from it,
    ``name + "_conv"``); held also when axes were given, as one value widens nothing."""
    if (p.default is not NO_DEFAULT and p.default is not None) or not evidence.used:
        return None
    if LABEL_NAMES.match(p.name) or p.annotation in (str, "str") or evidence.annotation == "str":
        return ("block_" if p.name.endswith("prefix") else "block",), "named like a label"
    return None


def _required(p: inspect.Parameter, evidence: Evidence) -> tuple[tuple, str] | None:
    """A parameter without a default: what the code says, else ONE guess."""
    name = p.name
    if not evidence.used:
        return (None,), "never used by the code"
    if _is_bool(p, evidence):
        return (False, True), "a bool"
    if FLAG_NAMES.match(name):
        return (False, True), "named like a flag"
    choices = evidence.choices
    if len(choices) > 1 or choices and evidence.choices_from != COMPARED:
        return choices, evidence.choices_from
    for keyword in evidence.keywords:
        if keyword == "activation":
            return _activation(evidence, "passed as activation=")
        values = _keyword_values(keyword, NO_DEFAULT)
        if values is not None:
            return values, f"passed as {keyword}="
    if choices:  # one literal it is compared with (`if stride == 1`): after the keyword rules
        return choices, evidence.choices_from
    if ACTIVATION_NAMES.match(name):
        return _activation(evidence, "from its name")
    if _label(p, evidence) is not None:
        return _label(p, evidence)
    guess = None if evidence.indexed else _guess(name)  # DenseNet's blocks[0]: a list, no number will do
    if guess is not None:
        return (guess,), f"no default: guessed {show_value(guess)} from its name"
    kind = evidence.annotation or {int: "int", float: "float"}.get(p.annotation, p.annotation)
    if kind in ANNOTATION_GUESSES:
        guess = ANNOTATION_GUESSES[kind]
        return (guess,), f"no default: guessed {show_value(guess)} from its {kind} annotation"
    return None


def _guess(name: str) -> Any:
    """The one value `GUESSES` gives a name, or None."""
    return next((value for pattern, value in GUESSES if pattern.match(name)), None)


def _same(a: Any, b: Any) -> bool:
    return a is b or (type(a) is type(b) and a == b)


def _is_bool(p: inspect.Parameter, evidence: Evidence) -> bool:
    return p.annotation in (bool, "bool") or evidence.annotation == "bool"


def _keyword_values(keyword: str, default: Any) -> tuple | None:
    """The values for a parameter passed as a Keras keyword (`KEYWORD_VALUES`), in its default's type."""
    if keyword == "data_format":
        return KEYWORD_VALUES[keyword] if default is NO_DEFAULT else _other_layout(default)
    if keyword == "padding":
        if default is NO_DEFAULT:
            return KEYWORD_VALUES[keyword]
        return (default, *KEYWORD_VALUES[keyword]) if default is None or isinstance(default, str) else None
    if keyword == "shape":  # a size of the model's input: its default, the odd one above, its double
        if isinstance(default, int) and not isinstance(default, bool) and default > 0:
            return default, default + 1, 2 * default
        return None if default is not NO_DEFAULT else (8, 9, 16)
    if keyword == "activation":  # a string stays a string; a function (or None) stays as it is
        return (default, "relu") if isinstance(default, str) else None
    return _like_default(default, KEYWORD_VALUES[keyword])


def _other_layout(default: Any) -> tuple | None:
    """The default layout and the other one (``None`` is Keras's channels_last)."""
    if not (default is None or isinstance(default, str) and default in ("channels_last", "channels_first")):
        return None
    return default, "channels_last" if default == "channels_first" else "channels_first"


def _activation(evidence: Evidence, why: str) -> tuple[tuple, str]:
    """An activation nobody gave: a Keras function when the code calls it, else the string."""
    if evidence.called:
        return (RELU,), f"no default, called as a function: guessed {RELU!r}"
    return ("relu",), f"no default, {why}: guessed 'relu'"


class KerasFunction:
    """A Keras function by its public name (``keras.activations.relu``):
    building a space imports no Keras, reports print the name (valid Python
    after ``import keras``), and `_callee` hands the block the real function
    (`resolve`), which Keras can serialize."""

    def __init__(self, path: str):
        self.path = path

    def resolve(self) -> Callable:
        import importlib

        module, _, name = self.path.rpartition(".")
        return getattr(importlib.import_module(module), name)

    def __call__(self, *args, **kwargs):
        return self.resolve()(*args, **kwargs)

    def __repr__(self) -> str:
        return self.path

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)


RELU = KerasFunction("keras.activations.relu")


def _like_default(default: Any, values: tuple) -> tuple | None:
    """Named values in the default's type: a tuple default ``(1, 1)`` searches
    ``(1, 1), (2, 2)``; a default that is not one size repeated (``(3, 6, 12)``)
    is never mixed with plain integers, so it stays as it is."""
    if default is NO_DEFAULT or default is None:
        return values if default is NO_DEFAULT else (default, *values)
    if isinstance(default, (tuple, list)):
        if default and all(isinstance(v, int) and not isinstance(v, bool) for v in default) and len(set(default)) == 1:
            return (default, *(type(default)([v] * len(default)) for v in values))
        return None
    if isinstance(default, int) and not isinstance(default, bool):
        return (default, *values)
    return None
