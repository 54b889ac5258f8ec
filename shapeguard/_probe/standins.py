"""Stand-ins for Keras's own layers: answers Keras already gave, not asked again.

A block is probed at many points, and most of its layers are built with the
same arguments and called on the same shapes at many of them (the stem
``Conv2D(64, 1)`` of a ResNeXt block does not change when ``strides`` does).
For a layer class of Keras's own (`KNOWN`) that the user's code creates
directly, a probe on the fast path gets a *stand-in*: an instance of a
subclass of that class which records the constructor's arguments instead of
running it. When the stand-in is called on `keras.KerasTensor` inputs, the
output shape and dtype come from a memo keyed by everything they can depend
on: the class, the constructor's arguments, Keras's global configuration
(image data format, floatx, dtype policy), the inputs' shapes and dtypes, the
call's other arguments and the autocast scope. Anything the memo has not seen
is asked of Keras itself: the stand-in builds the real layer with the same
arguments (so the real ``__init__`` and ``build`` raise, from the user's own
line, whatever they would raise) and calls it; a successful answer is
remembered. The memo only ever holds what Keras answered, so the shape rules
are Keras's, not shapeguard's.

Where the stand-in would differ from the real layer, Keras answers instead:

* arguments that are not plain data (initializer or regularizer objects,
  closures): no stand-in, the real layer is made;
* an input with a mask, a non-symbolic input, more than one positional
  argument, an output that is not one tensor, an additive merge of unequal
  shapes (whose broadcast `broadcasts.watching_broadcasts` has to see): the
  real layer answers, and nothing is remembered;
* any other use of a stand-in that was never called (reading or setting an
  attribute, ``get_config``): the real layer is made then and answers for it;
* any use of a stand-in after the memo answered a call for it (a second
  call, a ``keras.Model`` built over it on TensorFlow, whose object tracking
  reads its attributes, reading its weights): the probe is
  abandoned and run again without stand-ins (`StandInUnsupported`; see
  `run.probe`), and that function is not given stand-ins again;
* a stand-in the block keeps beyond its probe (a module-level cache of
  layers) makes its real layer when it is next used.

Only layers made by a function get stand-ins (the block, a helper it calls,
Keras's own application builders); a layer made in a method (a
`MultiHeadAttention`'s sublayers, a user's Layer subclass's, a
``from_config``) belongs to an object that may use it in ways a stand-in does
not support, and is always real. The memo is process-wide and bounded, and
kept between processes in the cache folder (`memo_file`), for the same
Keras, backend, configuration and shapeguard only; a layer class patched
after its answers were remembered is not asked again within one process
(rare in block builders), and answers for a class whose methods are not all
Keras's own are never kept.
"""

from __future__ import annotations

import sys
import types
from contextlib import contextmanager
from functools import lru_cache
from typing import Callable, Iterator

from .fast import PLAIN_TYPES, config_of, deferred_weights
from .patches import KerasCalls, hooked

# Keras layer classes whose symbolic output depends only on their arguments,
# Keras's configuration and the inputs' shapes and dtypes (no masks made, no
# sublayers, no state between calls).
KNOWN = (
    "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
    "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
    "Dense", "BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization",
    "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax",
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise", "GaussianDropout",
    "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate",
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
    "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "Cropping1D", "Cropping2D", "Cropping3D",
    "UpSampling1D", "UpSampling2D", "UpSampling3D", "Reshape", "Flatten", "Permute", "RepeatVector",
    "Identity", "Rescaling",
)
_BROADCASTING = ("Add", "Subtract", "Average")  # merges whose broadcasts are warned about
_MEMO_SIZE = 16_384  # entries kept in each table below; a full table is emptied


class StandInUnsupported(BaseException):
    """A stand-in was used in a way only the real layer supports; the probe is
    run again without stand-ins. A BaseException, so that a block's own
    ``except Exception`` does not swallow it."""


class _Unfrozen(Exception):
    """A value that cannot be part of a memo key."""


class _Session:
    """What the current probe needs: whether stand-ins are on, the call-site
    recorder, and whether the probe must be run again."""

    active = False
    on_call: Callable | None = None
    unsupported = False
    failed: list = []  # (key, real layer, its state before and after its failed call), see _file_spares


_session = _Session()
_memo: dict = {}
_initialised: dict = {}  # init keys the real __init__ accepted (-> True)
_configs: dict = {}  # init key -> the real layer's get_config()
_spares: dict = {}  # call key -> a real layer whose call raised, unchanged (`_take_spare`)
fresh: list = []  # (table, key) remembered since `memo_file` last kept them
generation = [0]  # how many times the memo was cleared (`memo_file` reads it again after)


def clear_memo() -> None:
    """Forget every answer Keras gave (the memo and the tables kept beside it),
    as in a new process; the tables stay the same objects."""
    for table in (_memo, _initialised, _configs, _spares):
        table.clear()
    fresh.clear()
    generation[0] += 1


@lru_cache(maxsize=1)
def available() -> bool:
    """Whether the installed Keras has what stand-ins rely on (and what the
    fast path they run in relies on, `fast.available`)."""
    from . import fast

    try:
        import keras
        from keras.src.backend.common.keras_tensor import KerasTensor  # noqa: F401
        from keras.src.layers.layer import Layer
        from keras.src.ops.node import Node  # noqa: F401
    except ImportError:
        return False
    return fast.available() and "__new__" in vars(Layer) and hasattr(keras.layers, "Conv2D")


@lru_cache(maxsize=1)
def _standin_classes() -> dict:
    """{Keras class: its stand-in class}, made once."""
    import keras

    known = (getattr(keras.layers, name, None) for name in KNOWN)  # an older Keras may lack some
    return {cls: _make_class(cls) for cls in known if isinstance(cls, type)}


@lru_cache(maxsize=1)
def _input_class() -> type:
    from keras.src.layers.core.input_layer import InputLayer

    return _make_class(InputLayer, _StandInInput)


def _make_class(cls: type, methods: type | None = None) -> type:
    namespace = {name: value for name, value in vars(methods or _StandIn).items()
                 if name not in ("__dict__", "__weakref__", "__module__", "__doc__")}
    made = type(cls.__name__, (cls,), namespace)
    made.__qualname__, made.__module__ = cls.__qualname__, cls.__module__
    return made


@contextmanager
def standing_in(on_call: Callable | None = None) -> Iterator[_Session]:
    """Give functions stand-ins for `KNOWN` layers while the block runs;
    yields the session, whose ``unsupported`` says the probe must be run again
    without them."""
    classes = _standin_classes()

    def new(original, cls, args, kwargs):
        standin_class = classes.get(cls)
        if standin_class is not None and not _in_method(sys._getframe(2).f_code):  # 2: the caller of cls(...)
            configuration = _configuration()
            try:
                key = (cls, _frozen(args), _frozen(kwargs), *configuration[:2], configuration[2].name)
            except _Unfrozen:
                pass
            else:
                return _new_standin(standin_class, original, key, args, kwargs, configuration)
        return original(cls, *args, **kwargs)

    _session.active, _session.on_call, _session.unsupported, _session.failed = True, on_call, False, []
    try:
        with hooked("new", new):
            yield _session
    finally:
        _session.active, _session.on_call = False, None
        _file_spares(_session.failed)
        _session.failed = []


def _in_method(code) -> bool:
    """Whether ``code`` is a method's (its first parameter is ``self`` or
    ``cls``): a layer made there belongs to an object (a Keras layer's
    sublayers, a user's Layer subclass, a ``from_config``), which may use it
    in ways a stand-in does not support."""
    return code.co_argcount > 0 and code.co_varnames[0] in ("self", "cls")


def _new_standin(standin_class, original_new, key, args, kwargs, configuration):
    """A stand-in for ``cls(*args, **kwargs)`` (``cls`` is ``key[0]``); the
    real layer is made at once (raising what it raises) unless Keras accepted
    these arguments before."""
    cls = key[0]
    standin = object.__new__(standin_class)
    state = vars(standin)
    real = None
    if key not in _initialised:
        real = original_new(cls, *args, **kwargs)
        real.__init__(*args, **kwargs)
        _remember(_initialised, key, True)
    state.update(
        _standin_key=key,  # (class, frozen args, frozen kwargs, configuration)
        _standin_new=original_new,  # Keras's Layer.__new__, to make the real layer
        _standin_configuration=configuration,
        _standin_real=real,
        _standin_called=False,
        _standin_touched=False,  # used other than by calling it: the memo no longer speaks for it
        _standin_answered=None,  # (memo entry, args, kwargs) of the call the memo answered
        name=real.name if real is not None else
        kwargs["name"] if kwargs.get("name") is not None else _auto_name(cls.__name__),
        _inbound_nodes=[],
        _outbound_nodes=[],
    )
    return standin


def _remember(table: dict, key, value) -> None:
    """``table[key] = value``, emptying the table first when it is full; an
    answer of Keras's is also noted as one to keep (`fresh`)."""
    if len(table) >= _MEMO_SIZE:
        table.clear()
    table[key] = value
    if table is not _spares:
        if len(fresh) >= 3 * _MEMO_SIZE:  # nobody keeps them (the cache is off): the oldest go
            del fresh[:_MEMO_SIZE]
        fresh.append((table, key))


def tables() -> dict:
    """The tables of Keras's answers by name (``memo``: a call's output
    spec, the layer's config and the Keras calls the real call made;
    ``initialised``: constructor arguments Keras accepted; ``configs``: an
    unbuilt layer's config), for `memo_file` to keep between processes."""
    return {"memo": _memo, "initialised": _initialised, "configs": _configs}


def _real(standin, built: bool = True):
    """The real layer the stand-in stands for, made now if it was not. When
    the memo answered a call for the stand-in, the real layer would not be
    built as the stand-in's graph says: while the probe runs, only what does
    not depend on that (``built=False``: its config) can be asked of it; a
    stand-in kept beyond its probe has its real layer called as the memo's
    answer was (so it is built on the same shapes, as in plain Keras)."""
    state = vars(standin)
    answered = state["_standin_answered"]
    if built and answered is not None and _session.active:
        _give_up()
    if state["_standin_real"] is None:
        key = state["_standin_key"]
        cls, args, kwargs = key[0], _thawed(key[1]), {**_thawed(key[2]), "name": state["name"]}  # as made
        with _configured(state["_standin_configuration"]):
            real = state["_standin_new"](cls, *args, **kwargs)
            real.__init__(*args, **kwargs)
        state["_standin_real"] = real
        if built and answered is not None:
            _, call_args, call_kwargs = answered
            real(*call_args, **call_kwargs)
            state["_standin_answered"] = None
        failed = state.get("_standin_failed")
        if failed is not None:  # used again after its call raised: make it as that call left it
            try:
                with deferred_weights():
                    real(*failed[0], **failed[1])
            except Exception:  # noqa: BLE001 - the error the block already caught
                pass
            state["_standin_failed"] = None
    return state["_standin_real"]


def _give_up():
    """Abandon this probe's stand-ins (only ever while a probe runs: a
    stand-in kept beyond its probe makes its real layer instead)."""
    _session.unsupported = True
    raise StandInUnsupported("a stand-in was used beyond what it supports")


class _StandIn:
    """Methods of every stand-in class (copied into each; see `_make_class`).
    Their first parameter is not called ``self``, so that `classify.classify`,
    which attributes a failure to the first Keras operation on the stack,
    skips them and finds the real layer."""

    def __new__(cls, *args, **kwargs):
        # type(standin)(...), or from_config on it: the Keras class's own layer.
        return cls.__mro__[1](*args, **kwargs)

    def __init__(standin, *args, **kwargs):  # the arguments were kept by the __new__ hook
        pass

    def __call__(standin, *args, **kwargs):
        state = vars(standin)
        if not _session.active:  # kept by the block beyond its probe: the real layer answers
            return _real(standin)(*args, **kwargs)
        if state["_standin_answered"] is not None:
            _give_up()
        first, state["_standin_called"] = not state["_standin_called"], True
        key = None
        if first and not state["_standin_touched"]:
            key = _call_key(state["_standin_key"], args, kwargs)
        if key is not None:
            entry = _memo.get(key)
            if entry is not None:
                if _session.on_call is not None:
                    _session.on_call(standin, sys._getframe(1))
                KerasCalls.note_call(entry[2])  # with what the real call made: the same cost either way
                return _answer(standin, entry, args, kwargs)
        KerasCalls.note_call()
        if key is not None and state["_standin_real"] is None:
            _take_spare(standin, key)
        real = _real(standin)
        # The real layer's graph nodes are the ones now: reads of the stand-in's
        # own (empty) lists would hide them (``layer.output``).
        state.pop("_inbound_nodes", None), state.pop("_outbound_nodes", None)
        if key is None:
            return real(*args, **kwargs)
        before, calls = _state_of(real), KerasCalls.noted()
        with deferred_weights():  # a symbolic call of a Keras layer: no weight is read
            try:
                outputs = real(*args, **kwargs)
            except Exception:
                # The real layer may become a spare when the probe ends; the
                # stand-in lets it go, and makes it again if the block goes on using it.
                _session.failed.append((key, real, before, _state_of(real)))
                state["_standin_real"], state["_standin_failed"] = None, (args, kwargs)
                raise
        spec = _spec(real, args[0], outputs)
        if spec is not None:
            _remember(_memo, key, (spec, config_of(real), KerasCalls.noted() - calls))
        return outputs

    def __getattr__(standin, name):
        if name.startswith("__") or name.startswith("_standin"):
            raise AttributeError(name)
        vars(standin)["_standin_touched"] = True
        return getattr(_real(standin), name)

    def __setattr__(standin, name, value):
        state = vars(standin)
        state["_standin_touched"] = True
        setattr(_real(standin), name, value)
        if name in state:  # name, _inbound_nodes: read from the stand-in itself
            state[name] = getattr(state["_standin_real"], name)

    def __reduce_ex__(standin, protocol):  # pickle, copy: the real layer's
        vars(standin)["_standin_touched"] = True
        return _real(standin).__reduce_ex__(protocol)

    def get_config(standin):
        # Asked for every layer on a failing merge's paths (`provenance`): a
        # layer the memo answered for has the config its real layer had
        # after the same call; one never called, that of an unbuilt layer.
        state = vars(standin)
        if state["_standin_answered"] is not None:
            config = state["_standin_answered"][0][1]
        elif state["_standin_real"] is not None:
            return config_of(state["_standin_real"])
        else:
            key = state["_standin_key"]
            config = _configs.get(key)
            if config is None:
                config = config_of(_real(standin, built=False))
                _remember(_configs, key, config)
        return {**config, "name": state["name"]}

    def __repr__(standin):
        state = vars(standin)
        real = state["_standin_real"]
        built = state["_standin_answered"] is not None or (real is not None and real.built)
        return f"<{type(standin).__name__} name={state['name']}, built={built}>"


class _StandInInput(_StandIn):
    """The `InputLayer` behind a probe's input tensor (see `keras_input`)."""

    def __getattr__(standin, name):
        if _session.active and not (name.startswith("__") or name.startswith("_standin")):
            _give_up()
        raise AttributeError(name)

    def __setattr__(standin, name, value):
        if _session.active:
            _give_up()
        raise AttributeError(f"{name}: the input layer of a finished probe is read-only")

    def __call__(standin, *args, **kwargs):
        if _session.active:
            _give_up()
        raise TypeError("the input layer of a finished probe cannot be called")

    def __reduce_ex__(standin, protocol):
        if _session.active:
            _give_up()
        raise TypeError("the input layer of a finished probe cannot be copied")

    def get_config(standin):
        state = vars(standin)
        return {"batch_shape": state["_standin_batch_shape"], "dtype": state["_standin_dtype"], "sparse": False,
                "ragged": False, "name": state["name"], "optional": False}


def keras_input(shape: tuple, name: str):
    """``keras.Input(shape=shape, name=name)``: while stand-ins are on, its
    `InputLayer` is a stand-in too (the same tensor and graph node, without
    making a layer); any other use of that layer runs the probe again
    without stand-ins."""
    import keras

    if not _session.active:
        return keras.Input(shape=shape, name=name)
    from keras.src.backend import standardize_dtype
    from keras.src.backend.common.keras_tensor import KerasTensor
    from keras.src.ops.node import Node

    from keras.src.dtype_policies.dtype_policy import dtype_policy

    dtype_policy()  # as making an InputLayer does: fixes Keras's global policy from floatx if none is set
    standin = object.__new__(_input_class())
    tensor = KerasTensor((None, *shape), name=name)
    vars(standin).update(name=name, _inbound_nodes=[], _outbound_nodes=[], _standin_called=True,
                         _standin_answered=True, _standin_real=None, _standin_batch_shape=tensor.shape,
                         _standin_dtype=standardize_dtype(None))
    Node(operation=standin, call_args=(), call_kwargs={}, outputs=tensor)
    return tensor


def _take_spare(standin, key) -> None:
    """Give the stand-in a spare real layer for this call, if one is kept: a
    layer of the same arguments whose call on inputs like these raised in an
    earlier probe, put back as it was before that call (a failing merge, a
    grouped convolution refusing its channels). Keras raises the same again
    from it, for the cost of a call instead of making a layer; the spare is
    taken out while in use."""
    spare = _spares.pop(key, None)
    if spare is not None:
        state = vars(standin)
        spare.name = state["name"]
        state["_standin_real"] = spare


def _state_of(real) -> dict:
    """What a failing call could have changed on a layer: each attribute, and
    the size of each container (weights tracked in a list, say)."""
    return {name: (value, len(value) if isinstance(value, (list, dict, set)) else None)
            for name, value in vars(real).items()}


def _file_spares(failed: list) -> None:
    """When a probe ends: keep as spares the real layers whose call failed in
    it and that nothing used afterwards (their state is still what the failure
    left), when that failure only reassigned attributes (Keras sets
    ``_called``, the name-scope paths, an input spec in ``build``), which are
    put back as they were; not when it added an attribute or changed what a
    container holds (a weight made before the error)."""
    for key, real, before, after_failure in failed:
        after = _state_of(real)
        if after.keys() != before.keys() or after.keys() != after_failure.keys() or any(
            after[name][0] is not value or after[name][1] != size for name, (value, size) in after_failure.items()
        ):
            continue
        changed = []
        for name, (value, size) in before.items():
            new_value, new_size = after[name]
            if new_value is not value:
                if size is not None or new_size is not None:
                    break
                changed.append((name, value))
            elif new_size != size:
                break
        else:
            state = vars(real)
            for name, value in changed:
                state[name] = value
            _remember(_spares, key, real)


def _answer(standin, entry, args, kwargs):
    """The memo's output for this call, recorded in Keras's graph as the real
    layer's would be (a `Node` whose operation is the stand-in)."""
    from keras.src.backend.common.keras_tensor import KerasTensor
    from keras.src.ops.node import Node

    shape, dtype, sparse, ragged = entry[0]
    extra = {"ragged": ragged} if ragged else {}  # Keras < 3.9: a KerasTensor has no ragged
    outputs = KerasTensor(shape, dtype=dtype, sparse=sparse, name=_auto_name("KerasTensor"), **extra)
    Node(operation=standin, call_args=args, call_kwargs=kwargs, outputs=outputs)
    vars(standin)["_standin_answered"] = (entry, args, kwargs)
    return outputs


def _auto_name(class_name: str) -> str:
    """Keras's ``auto_name(class_name)`` (the next ``conv2d_3``), with the
    snake-case form of the class name computed once."""
    from keras.src.utils.naming import uniquify

    return uniquify(_snake_case(class_name))


@lru_cache(maxsize=256)
def _snake_case(class_name: str) -> str:
    from keras.src.utils.naming import to_snake_case

    return to_snake_case(class_name)


def _call_key(init_key, args, kwargs):
    """The memo key of calling the layer made from ``init_key``; None when the
    call is one the memo does not answer (see module doc)."""
    from keras.src.backend.common.keras_tensor import KerasTensor

    if len(args) != 1:
        return None
    inputs = args[0]
    tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    specs = []
    for tensor in tensors:
        if type(tensor) is not KerasTensor or getattr(tensor, "_keras_mask", None) is not None:
            return None
        specs.append((tensor.shape, tensor.dtype, tensor.sparse, getattr(tensor, "ragged", False),
                      tensor.record_history))
    if init_key[0].__name__ in _BROADCASTING and len({s[0] for s in specs}) > 1:
        return None
    try:
        frozen_kwargs = _frozen(kwargs)
    except _Unfrozen:
        return None
    from keras.src.backend import get_autocast_scope

    scope = get_autocast_scope()
    return (init_key, type(inputs), tuple(specs), frozen_kwargs, scope.dtype if scope is not None else None)


def _spec(real, inputs, outputs):
    """What the memo keeps of a call's output; None when the memo must not
    answer such calls: an output that is not one plain tensor, or inputs that
    Keras cast to the layer's dtype first (mixed precision: the cast is an
    operation of its own in the graph)."""
    from keras.src.backend.common.keras_tensor import KerasTensor

    if type(outputs) is not KerasTensor or getattr(outputs, "_keras_mask", None) is not None:
        return None
    if getattr(real, "_convert_input_args", True):
        wanted = getattr(real, "input_dtype", real.compute_dtype)
        tensors = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        if any(t.dtype != wanted for t in tensors):
            return None
    if getattr(outputs, "_ragged_rank", None) is not None or getattr(outputs, "_row_splits_dtype", None) is not None:
        return None
    return outputs.shape, outputs.dtype, outputs.sparse, getattr(outputs, "ragged", False)


def _configuration() -> tuple:
    """Keras's global configuration a layer reads when it is made:
    ``(image data format, floatx, dtype policy)``."""
    from keras.src.backend import config
    from keras.src.dtype_policies.dtype_policy import dtype_policy

    return config.image_data_format(), config.floatx(), dtype_policy()


@contextmanager
def _configured(configuration: tuple) -> Iterator[None]:
    """Keras's configuration as it was when a stand-in was made (a block may
    change it between making a layer and calling it), for making its real layer."""
    if _same_configuration(configuration, _configuration()):
        yield
        return
    from keras.src.backend import config
    from keras.src.dtype_policies.dtype_policy import set_dtype_policy

    now = _configuration()
    config.set_image_data_format(configuration[0]), config.set_floatx(configuration[1])
    set_dtype_policy(configuration[2])
    try:
        yield
    finally:
        config.set_image_data_format(now[0]), config.set_floatx(now[1])
        set_dtype_policy(now[2])


def _same_configuration(a: tuple, b: tuple) -> bool:
    return a[0] == b[0] and a[1] == b[1] and a[2] is b[2]


def _thawed(frozen):
    """The value `_frozen` made ``frozen`` from, as a new object (a block may
    change a list it passed to a layer after making the layer)."""
    kind, value = frozen
    if kind in (tuple, list):
        return kind(_thawed(v) for v in value)
    if kind is dict:
        return {k: _thawed(v) for k, v in value}
    return value


def _frozen(value):
    """``value`` as a hashable key that tells apart what Python's ``==`` would
    not (``1``, ``1.0`` and ``True``); raises _Unfrozen for anything but plain
    data and module-level functions."""
    kind = type(value)
    if kind in PLAIN_TYPES:
        return kind, value
    if kind in (tuple, list):
        return kind, tuple(_frozen(v) for v in value)
    if kind is dict:
        if not all(type(k) is str for k in value):
            raise _Unfrozen
        return kind, tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if kind in (types.FunctionType, types.BuiltinFunctionType) and "<" not in value.__qualname__:
        return kind, value
    raise _Unfrozen
