"""Keras's process-wide state, saved before a probe and put back after it.

A block may change Keras's configuration and never restore it
(``keras.config.set_image_data_format("channels_first")``, ``set_floatx``,
``keras.mixed_precision.set_global_policy``, ``keras.backend.clear_session``).
Without this, the next probe, the next target and the user's own tests would
run under that changed configuration. Two places hold it in Keras 3:

* the module globals of ``keras.src.backend.config`` (``_FLOATX``,
  ``_EPSILON``, ``_IMAGE_DATA_FORMAT``, ``_BACKEND``, ...), saved by name;
* ``keras.src.backend.common.global_state``: two thread-local trackers (dtype
  policy, layer-name counters, traceback filtering, name scopes, ...), saved
  whole, including the tracker objects themselves (``clear_session`` replaces
  them).

Keras is imported lazily, when a snapshot is taken.
"""

from __future__ import annotations

import collections
import re
from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

_CONFIG_NAME = re.compile(r"_[A-Z][A-Z0-9_]*$")
_SIMPLE = (str, int, float, bool, type(None))
_TRACKERS = ("GLOBAL_STATE_TRACKER", "GLOBAL_SETTINGS_TRACKER")


@lru_cache(maxsize=4)
def _config_names(count: int) -> tuple:
    """The names in Keras's config module that hold its configuration (found
    again whenever the module's number of globals changes)."""
    from keras.src.backend import config

    return tuple(name for name in list(vars(config)) if _CONFIG_NAME.match(name))


class Snapshot:
    """Keras's global configuration and state at one moment, restorable."""

    def __init__(self) -> None:
        from keras.src.backend import config
        from keras.src.backend.common import global_state

        self._config_module, self._state_module = config, global_state
        names = vars(config)
        self.config = {name: names[name] for name in _config_names(len(names)) if isinstance(names[name], _SIMPLE)}
        self.trackers = {}
        for name in _TRACKERS:
            tracker = getattr(global_state, name, None)
            if tracker is None:
                continue
            # A list (a scope stack) is pushed and popped in place: keep its contents.
            contents = {k: (v, list(v) if isinstance(v, list) else None) for k, v in vars(tracker).items()}
            self.trackers[name] = (tracker, contents)

    def restore(self) -> None:
        for name, value in self.config.items():
            setattr(self._config_module, name, value)
        for name, (tracker, contents) in self.trackers.items():
            setattr(self._state_module, name, tracker)
            attributes = vars(tracker)
            attributes.clear()
            for key, (value, items) in contents.items():
                if items is not None:
                    value[:] = items
                attributes[key] = value


@contextmanager
def isolated() -> Iterator[None]:
    """Run a probe in Keras's current configuration, with fresh layer-name
    counters (so names are the same on every run and the counters do not grow
    probe after probe) and full tracebacks; afterwards every piece of Keras's
    global state is as it was before, whatever the block changed."""
    from keras.src.backend.common import global_state
    from keras.src.utils import traceback_utils

    snapshot = Snapshot()
    global_state.set_global_attribute("object_name_uids", collections.defaultdict(int))
    traceback_utils.disable_traceback_filtering()
    try:
        yield
    finally:
        snapshot.restore()
