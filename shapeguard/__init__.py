"""shapeguard: find tensor-shape bugs in Keras block builders before training.

    from shapeguard import guard, check, assert_ok
    from shapeguard import check_fit, assert_fits, watch   # the model against its data

Importing this package does not import Keras, TensorFlow or Hypothesis; they
load on the first check. Even ``guard`` (and wrapt) load on first use: pytest
imports this package for ``shapeguard.pytest_plugin`` in every session.
"""

from typing import TYPE_CHECKING

from ._version import __version__

if TYPE_CHECKING:
    from ._settings import CheckSettings
    from .decorator import Guarded, guard
    from .engine import assert_ok, check
    from .errors import ShapeCheckFailed, ShapeguardError
    from .fitcheck import FitCheckFailed, assert_fits, check_fit, watch
    from .report import BlockError, Failure, Report

__all__ = ["__version__", "guard", "check", "assert_ok", "CheckSettings", "Report", "Failure", "BlockError",
           "ShapeguardError", "ShapeCheckFailed", "check_fit", "assert_fits", "watch", "FitCheckFailed", "Guarded"]

_LAZY = {
    "CheckSettings": "._settings",
    "guard": ".decorator",
    "Guarded": ".decorator",
    "ShapeguardError": ".errors",
    "ShapeCheckFailed": ".errors",
    "check": ".engine",
    "assert_ok": ".engine",
    "Report": ".report",
    "Failure": ".report",
    "BlockError": ".report",
    "check_fit": ".fitcheck",
    "assert_fits": ".fitcheck",
    "watch": ".fitcheck",
    "FitCheckFailed": ".fitcheck",
}


def __dir__() -> list[str]:
    """The public names (for ``dir()`` and completion), though most load lazily."""
    return sorted(set(__all__) | {"__version__"})


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'shapeguard' has no attribute {name!r}")
