"""Cheaper probes: what a shape check does not need from Keras, switched off
for the duration of one probe (benchmarks/speed.py measures it).

* **Valueless weights.** A layer's `build` creates its variables as
  TensorFlow *uninitialized* resource variables: shape, dtype and a handle,
  but no buffer and no random initial value. Symbolic calls only read shapes,
  and a traced `call()` only captures the handle, so verdicts do not change,
  while the memory a probe needs no longer grows with the layer's width (a
  4,096-channel convolution allocates nothing). On JAX, NumPy and the other
  backends, which have no such variable, the weights are Keras's deferred
  variables (`deferred_variables`), and TensorFlow is never imported.
* **Cached signatures.** `Operation.__new__` reads ``inspect.signature`` and
  ``inspect.getfullargspec`` of the layer's ``__init__`` at every
  construction; both are cached per function while a probe runs.
* **Plain attributes set plainly.** `Layer.__setattr__` runs Keras's tracker
  and TensorFlow's ``AutoTrackable`` on every ``self.x = ...``; for a value
  that is plain data (a number, string, None, or a tuple of them) both end by
  storing it unchanged, so it is stored directly (``object.__setattr__``,
  which still runs property setters). Variables, layers and containers go
  the tracked way.
* **No cyclic garbage collection** while a probe runs (its garbage is freed
  when the probe ends).

The plain path, which confirms every failure the fast path finds, patches
one thing only, on every backend: `deferred_variables` makes weights Keras's
own *deferred* variables (what Keras makes inside a ``StatelessScope``),
whose initial value is computed only if it is read, so a confirmation runs
Keras's code unchanged, and a block that reads a weight reads what it would
read in plain Keras.

Everything here patches private Keras internals, so it is pinned in this one
module: `available()` checks that each internal it relies on exists (and has
the expected signature) in the installed Keras, and when one is missing the
probe runs on the plain path. Patches are process-wide and restored after
every probe, so code outside a probe (the user's tests, other libraries)
never sees them; they are not thread-safe, like the probe's timeout.
A block that reads a weight's *value* while being checked (rare in block
builders) raises; the failure it causes is confirmed on the plain path
before it is reported (see `search`), so it is never a false report.
"""

from __future__ import annotations

import functools
import gc
import inspect
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

from .patches import hooked, patched


@functools.lru_cache(maxsize=1)
def available() -> bool:
    """Whether the installed Keras has the internals the fast path patches.
    TensorFlow is imported only when it is the backend Keras runs on."""
    import keras
    from keras.src.layers.layer import Layer
    from keras.src.ops.operation import Operation

    if "__setattr__" not in vars(Layer) or Layer._setattr_hook is not Operation._setattr_hook:
        return False  # a backend that rewrites attributes as they are set
    if keras.backend.backend() != "tensorflow":
        return deferrable()  # weights: Keras's own deferred variables
    try:
        from keras.src.backend.tensorflow import core
        from tensorflow.python.ops.resource_variable_ops import UninitializedVariable  # noqa: F401
    except ImportError:
        return False
    method = getattr(core.Variable, "_initialize_with_initializer", None)
    return method is not None and list(inspect.signature(method).parameters) == ["self", "initializer"]


@functools.lru_cache(maxsize=1)
def deferrable() -> bool:
    """Whether the backend's variables can be deferred (`deferred_variables`):
    the method Keras calls to initialise a variable from a callable
    initializer exists, with the signature relied on."""
    from keras.src import backend

    variable = getattr(backend, "Variable", None)
    method = getattr(variable, "_initialize_with_initializer", None)
    return (method is not None and list(inspect.signature(method).parameters) == ["self", "initializer"]
            and callable(getattr(variable, "_deferred_initialize", None)))


def _defer(self, initializer) -> None:
    """Stands in for ``Variable._initialize_with_initializer`` on the plain
    path: what Keras's ``Variable.__init__`` does itself in a stateless scope
    (the value is left None and the initializer kept; reading ``.value``
    computes it then, as Keras does for such a variable)."""
    self._value, self._initializer = None, initializer


@contextmanager
def deferred_variables(enabled: bool = True) -> Iterator[bool]:
    """While on, a weight made from a callable initializer (every
    ``add_weight``) is a deferred variable: its shape and dtype, no value and
    no backend resource. Keras reads only shapes in a symbolic call, so what
    it raises is unchanged; a block that reads a weight's value gets the
    initializer's value then. Yields whether it is on (False when not
    ``enabled`` or not `deferrable`)."""
    if not (enabled and deferrable()):
        yield False
        return
    with patched(*_deferring()):
        yield True


def _deferring() -> tuple:
    """The patches that make the backend's variables deferred (`patched`'s
    ``(owner, name, value)``)."""
    from keras.src import backend

    initialize_later = backend.Variable._deferred_initialize

    def stay_deferred(self) -> None:
        # Keras initialises, when a StatelessScope ends (a Layer subclass
        # built by tracing its call()), the variables made in it: one made
        # here stays deferred, its initializer kept.
        if self._value is not None:
            initialize_later(self)

    return ((backend.Variable, "_initialize_with_initializer", _defer),
            (backend.Variable, "_deferred_initialize", stay_deferred))


_deferred = threading.local()  # .on: weights made now are Keras's deferred variables (see `deferred_weights`)


@contextmanager
def deferred_weights() -> Iterator[None]:
    """While a Keras layer of `standins.KNOWN` is built for a symbolic call
    (a stand-in's real layer), its weights are Keras's own *deferred*
    variables (``_value`` None, what ``keras.StatelessScope`` makes): a shape,
    a dtype and the initializer, and no TensorFlow resource at all. Only a
    traced ``call()``, which captures variable handles, needs more, and no
    such call happens there."""
    before = getattr(_deferred, "on", False)
    _deferred.on = True
    try:
        yield
    finally:
        _deferred.on = before


def _valueless_initialize(self, initializer) -> None:
    """Stands in for ``Variable._initialize_with_initializer``: a resource
    variable with this shape and dtype, holding no value (or, in
    `deferred_weights`, no resource either)."""
    if getattr(_deferred, "on", False):
        self._value, self._initializer = None, initializer
        return
    from tensorflow.python.ops.resource_variable_ops import UninitializedVariable

    self._value = UninitializedVariable(
        shape=self._shape, dtype=self._dtype, trainable=self.trainable, name=self.name
    )


def _shaped_finalize_state(self) -> None:
    """Stands in for ``Normalization.finalize_state``, which reads the adapt
    weights (valueless here: a reshape of nothing) to make its mean and
    variance: constants of the same broadcast shape and dtype instead, all a
    symbolic call needs (keras.applications' EfficientNets normalise first)."""
    if self.input_mean is not None or not self.built:
        return
    from keras import ops

    self.mean = ops.zeros(self._broadcast_shape, dtype=self.compute_dtype)
    self.variance = ops.ones(self._broadcast_shape, dtype=self.compute_dtype)


def _cached(function):
    """``function`` with a cache for functions defined at module or class
    level (a class's ``__init__``, what `Operation.__new__` asks about): they
    live as long as their class. Anything else (a bound method or a closure
    made per call, which would keep its layer alive in the cache) goes to
    ``function`` directly, and so do wrappers made per layer (Keras wraps
    each layer's ``build`` in a function named like the method)."""
    cached = functools.lru_cache(maxsize=4096)(function)

    def long_lived(obj) -> bool:
        return inspect.isfunction(obj) and "<locals>" not in obj.__qualname__ and not hasattr(obj, "__wrapped__")

    @functools.wraps(function)
    def lookup(obj, *args, **kwargs):
        if long_lived(obj):
            return cached(obj, *args, **kwargs)
        if bound is not None and not args and not kwargs and inspect.ismethod(obj) and long_lived(obj.__func__):
            # Layer.__init__ asks for the signature of its own bound ``call``:
            # what inspect does for a bound method, from the function's cached one.
            return bound(cached(obj.__func__))
        return function(obj, *args, **kwargs)

    bound = getattr(inspect, "_signature_bound_method", None) if function is inspect.signature else None
    return lookup


PLAIN_TYPES = frozenset({bool, int, float, str, bytes, type(None)})  # also used by run and standins


def _plain_setattr(tracked_setattr, self, name, value) -> None:
    """``Layer.__setattr__`` that stores plain data directly (see module doc)."""
    kind = type(value)
    if kind in PLAIN_TYPES or (kind is tuple and all(type(v) in PLAIN_TYPES for v in value)):
        object.__setattr__(self, name, value)
    else:
        tracked_setattr(self, name, value)


_cached_signature = _cached(inspect.signature)
_cached_argspec = _cached(inspect.getfullargspec)


@contextmanager
def cheap_keras(enabled: bool = True) -> Iterator[bool]:
    """Patch Keras for one probe and restore it after; yields whether the
    fast path is on (False when ``enabled`` is False or `available()` is not)."""
    if not (enabled and available()):
        yield False
        return
    from keras.src import backend
    from keras.src.layers.preprocessing.normalization import Normalization

    if backend.backend() == "tensorflow":
        weights = ((backend.Variable, "_initialize_with_initializer", _valueless_initialize),)
    else:
        weights = _deferring()  # no resource to hold: a deferred variable is all a symbolic call needs
    collecting = gc.isenabled()
    gc.disable()
    try:
        with patched(*weights, (Normalization, "finalize_state", _shaped_finalize_state),
                     (inspect, "signature", _cached_signature), (inspect, "getfullargspec", _cached_argspec)), \
                hooked("setattr", _plain_setattr):
            yield True
    finally:
        if collecting:
            gc.enable()


def config_of(layer) -> dict:
    """``layer.get_config()``, without importing TensorFlow on another backend.

    Keras's serializer asks whether TensorFlow is installed (which imports
    it: about 3 s and 460 MB) only to test ``isinstance(value,
    tf.TensorShape)`` and the like. While TensorFlow is not imported no such
    value exists, so "not available" is the exact answer, given for the
    duration of this call only."""
    if "tensorflow" in sys.modules:
        return layer.get_config()
    from keras.src.utils import module_utils

    lazy = getattr(module_utils, "tensorflow", None)
    if lazy is None or vars(lazy).get("_available", True) is not None:
        return layer.get_config()  # already answered (or another Keras): nothing to spare
    with patched((lazy, "_available", False)):
        return layer.get_config()
