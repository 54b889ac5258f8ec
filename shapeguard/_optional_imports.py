"""Optional imports that a shape check never uses, skipped in the checking
process of ``shapeguard check`` (docs/explanation/speed.md).

Keras and TensorFlow import two optional packages when they are installed,
each in a ``try: ... except ImportError`` of their own, and a check pays for
both at every start: Keras's file editor imports IPython (about 0.4 s, for
its notebook display) and TensorFlow Lite's converter imports JAX when JAX is
installed beside TensorFlow (about 0.5 s, for converting JAX functions). In
the checking process those two importers are told the package is absent, as
on a machine without it; every other importer, the block's own code
included, imports the package as usual. A notebook, the decorator and the
pytest plugin run in the user's own process and are left alone.
"""

from __future__ import annotations

import importlib.abc
import sys

# (the importing module, the top-level package it imports optionally)
SKIPPED = frozenset({
    ("keras.src.saving.file_editor", "IPython"),
    ("tensorflow.lite.python.util", "jax"),
})


class SkipOptional(importlib.abc.MetaPathFinder):
    """A finder that raises ``ModuleNotFoundError`` (what an absent package
    raises) for the ``(importer, package)`` pairs it is given, and defers
    to the next finder for everything else."""

    def __init__(self, pairs: frozenset = SKIPPED):
        self.pairs = pairs
        self.packages = {package for _, package in pairs}

    def find_spec(self, name, path=None, target=None):
        package = name.partition(".")[0]
        if package not in self.packages:
            return None
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename.startswith("<frozen importlib"):
            frame = frame.f_back
        importer = frame.f_globals.get("__name__") if frame is not None else None
        if (importer, package) in self.pairs:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


def skip_in_this_process() -> None:
    """Install `SkipOptional` first on ``sys.meta_path`` (once); called by
    the checking process before it imports the targets."""
    if not any(isinstance(finder, SkipOptional) for finder in sys.meta_path):
        sys.meta_path.insert(0, SkipOptional())
