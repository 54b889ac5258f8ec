"""Everything that touches Keras internals, behind a small interface.

Search, explanations and the decorator use only what this module names:

* `probe`: one call of a block at one point of its space, on symbolic
  `keras.Input` tensors, judged as an `Outcome` (`run`, `classify`);
* `session`: the context a check's probes run in (`patches.installed`);
* `rank_hint`: the template the block's first rank-constraining layer asks for;
* `enriched_errors`, `describe_value`: the decorator's help on errors that
  escape a normal call (`enrich`);
* `KerasCalls`: how many Keras layers and ops were called (a probe that
  called none checked nothing);
* `check_model`, `check_loss_names`, `built`, `confirm`, `is_model`, `loss_name`, `compiled_loss`, `compiled_metrics`,
  `metrics_name`, `zero_shapes`: the model against its data, loss and metrics, symbolically and by a tiny real step (`fit`);
  `fit_step`: the same inside a probe (a data contract's), raising what the probe reports as a failure with its side;
* `OWN_ERROR`: the cause of an error no rule explains (the block's own).

Every change to a Keras class goes through `patches.patched`; nothing outside
this package imports ``keras.src`` (import-linter holds both, see
``pyproject.toml``). Keras is imported lazily, inside the functions that need
it, so importing this package costs nothing.
"""

from .._outcome import ERROR as _ERROR
from .causes import GENERIC as _GENERIC
from .enrich import describe_value, enriched_errors
from .fit import (built, check_loss_names, check_model, compiled_loss, compiled_metrics, confirm, fit_step, is_model,
                  loss_name, metrics_name, zero_shapes)
from .patches import KerasCalls
from .run import probe, rank_hint, session

OWN_ERROR = _GENERIC[_ERROR]

__all__ = ["OWN_ERROR", "KerasCalls", "built", "check_loss_names", "check_model", "compiled_loss", "compiled_metrics", "confirm", "describe_value", "enriched_errors", "fit_step",
           "is_model", "loss_name", "metrics_name", "probe", "rank_hint", "session", "zero_shapes"]
