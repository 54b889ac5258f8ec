"""What shapeguard infers when nobody said: the naming rules for axes and
values, as tables (README, "Inferred axes" and "Required parameters").

`space.build_space` asks `inferred_param_values` for each parameter nobody
gave values for, `inferred_dim_values` for each template dimension, and
`guess_tensor_param` for the parameter that takes the tensor. Every rule is a
table entry here, so a rule is added or changed in one place.
"""

from __future__ import annotations

import inspect
import re
from typing import Any, Mapping

NO_DEFAULT = inspect.Parameter.empty

# Inference rules (documented in the README under "Inferred axes").
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
# Parameters without a default, recognised by name (README, "Required parameters").
LABEL_NAMES = re.compile(r"^(name|prefix|scope|label|.*_name|.*_prefix|name_.*)$")
INDEX_NAMES = re.compile(r"^(block_id|block_idx|block_index|block_num|stage|stage_id|stage_idx|"
                         r"layer_id|layer_idx|idx|index|.*_id|.*_idx|.*_index)$")
CHANNEL_NAMES = re.compile(r"^(growth_rate|output_channels?|input_channels?|hidden_dim|hidden_size|"
                           r"intermediate_dim|intermediate_size|channel|embed_dim|embedding_dim|key_dim|"
                           r"value_dim|ff_dim|dim|width|filters_.*|.*_filters|.*_channels?|.*_dim|.*_units)$")
HEAD_NAMES = re.compile(r"^(num_heads|heads|n_heads|num_attention_heads)$")
RATIO_VALUES: tuple[tuple[re.Pattern, tuple], ...] = (
    (re.compile(r"^(se_ratio|squeeze_ratio|.*se_ratio)$"), (0.25,)),
    (re.compile(r"^(expansion|expand_ratio|expansion_factor|expansion_ratio|expand|t)$"), (1, 6)),
    (re.compile(r"^(mlp_ratio)$"), (4,)),
    (re.compile(r"^(reduction|reduction_ratio|compression)$"), (0.5,)),
    (re.compile(r"^(scale|residual_scale|layer_scale)$"), (0.2, 1.0)),
    (re.compile(r"^(dropout|dropout_rate|drop_rate|drop_path_rate|rate|.*_dropout)$"), (0.0,)),
)
TENSOR_LIKE_NAMES = re.compile(r"^(x|y|h|p|ip|z|inputs?|tensors?|skips?|skip_.*|.*_skip|.*_tensors?|"
                               r".*_inputs?|.*_list|features?|residual|shortcut|prev|previous|memory|"
                               r"context|query|key|value|encoder_outputs?|hidden_states?)$", re.IGNORECASE)
# A second required tensor parameter (README, "Inferred axes"): a list of
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


def other_tensor_params(params, axes, first: str) -> list[str]:
    """Required parameters besides ``first`` named like tensors (``skip``, ``residual``)."""
    return [p.name for p in params.values() if p.name != first and p.name not in axes
            and p.default is NO_DEFAULT and TENSOR_LIKE_NAMES.match(p.name)]


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


def inferred_param_values(p: inspect.Parameter) -> tuple | None:
    found = infer_param(p)
    return None if found is None else found[0]


def infer_param(p: inspect.Parameter) -> tuple[tuple, str] | None:
    """``(values, rule)`` for a parameter nobody gave (README, "Inferred
    axes"), the rule in a few words (``"a bool"``, ``"named like a channel
    count"``); None when it keeps its default, or has none and no rule fits."""
    default, name = p.default, p.name
    if isinstance(default, bool) or p.annotation in (bool, "bool"):
        return ((False, True) if default is NO_DEFAULT else (default, not default)), "a bool"
    if name in NAMED_VALUES:
        values = _like_default(default, NAMED_VALUES[name])
        return None if values is None else (values, f"named {name!r}")
    if name == "data_format" and default in (None, "channels_last", "channels_first"):
        return (default, "channels_last" if default == "channels_first" else "channels_first"), "a data format"
    if LABEL_NAMES.match(name) or p.annotation in (str, "str"):
        if default is NO_DEFAULT or default is None:
            return ("block_" if name.endswith("prefix") else "block",), "named like a label"
        return None
    if default is not NO_DEFAULT:
        return None
    if INDEX_NAMES.match(name):
        return (0, 1), "named like an index"
    if HEAD_NAMES.match(name):
        return (1, 2, 4), "named like a head count"
    if CHANNEL_NAMES.match(name):
        return CHANNEL_VALUES, "named like a channel count"
    for pattern, values in RATIO_VALUES:
        if pattern.match(name):
            return values, "named like a ratio or rate"
    if name in ("activation", "act"):
        return ("relu",), "named like an activation"
    return None


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
