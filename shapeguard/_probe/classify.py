"""Judge what a block raised: the kind, the layer, the user's line, the cause.

How a failure is attributed: Keras's traceback filtering is switched off for
the call, so the traceback keeps Keras's own frames. The user's code is every
frame `shapeguard._usercode` says is the user's. The innermost frame of the
user's code is the *location*, and the user frames from the target down are
the *chain*; the first Keras `Operation` (layer or op) called after the
location is the *layer*, looking inside models (a `Sequential` passes its
input on to the layer that rejects it); a model that rejects its own input
(a functional model's input spec) is the layer when none inside it raised. The rule of kinds (docs/explanation/probing.md, "What a
probe reports"):

* **shape**: a layer rejected the shapes it got;
* **config**: a layer rejected its own arguments (in ``__init__``, or when
  ``build`` validates them), the user's own Layer subclasses included;
* **declared**: a layer's declared output shape is not what its ``call()`` makes;
* **error**: anything else, e.g. the block's own exception, a non-tensor given
  where a tensor was expected, or running out of memory.
"""

from __future__ import annotations

import inspect
import os
import re

from .._outcome import CONFIG, DECLARED, ERROR, SHAPE, Outcome
from .._usercode import AUTOGRAPH_PREFIX
from .._usercode import frames as _frames
from .._usercode import function_name as _function
from .._usercode import is_user as _is_user
from . import causes as _causes
from .declared import DeclaredShapeMismatch, in_keras, in_trace
from .fast import PLAIN_TYPES, config_of
from .provenance import branches, call_sites

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def classify(exc: BaseException, user_files: frozenset = frozenset()) -> Outcome:
    """Turn an exception raised by a block into an `Outcome` (see module doc)."""
    from keras.src.ops.operation import Operation

    frames = _frames(exc.__traceback__)
    metadata = _autograph_metadata(exc)
    sites = _sites(frames, metadata)
    user = [i for i, (file, _, _) in enumerate(sites) if _is_user(file, user_files)]
    last_user = user[-1] if user else -1
    file, line = sites[last_user][:2] if user else (None, None)
    chain = tuple(sites[i] for i in user)

    from keras.src.models.model import Model

    op, in_init, in_build, shapes, model = None, False, False, (), None
    for frame, _ in frames[last_user + 1 :]:
        owner = frame.f_locals.get("self")
        # A model (Sequential, functional) only passes its inputs on to its
        # layers: the layer that rejected them is inside it.
        if not isinstance(owner, Operation) or (op is None and isinstance(owner, Model)):
            if model is None and isinstance(owner, Model):
                model = (owner, frame)
            continue
        if op is None:
            op, op_frame = owner, frame
            shapes = _input_shapes(frame)
            op_frame = frame
        if owner is op:
            in_init = in_init or frame.f_code.co_name == "__init__"
            in_build = in_build or frame.f_code.co_name == "build"
    if op is None and model is not None:  # no layer inside it raised: the model rejected its own inputs
        op, op_frame = model
        shapes = _input_shapes(op_frame)
    message = _clean_message(exc, metadata)
    error_type = type(exc).__name__
    rule = _causes.from_message(error_type, message)
    within = _within([frames[i][0] for i in user], op)
    traced = any(in_trace(frame) for frame, _ in frames)
    common = dict(file=file, line=line, message=message, error_type=error_type, chain=chain)
    try:  # the layout is a courtesy of the cause: never let it hide the failure
        channels_first = op is not None and _channels_first(op, op_frame)
    except Exception:  # noqa: BLE001
        channels_first = False

    if rule is not None and rule.kind == ERROR:
        return Outcome(ERROR, cause=rule.cause, **common)
    backend = _causes.backend_shape_error(message) if op is None and within else None
    if backend is not None:  # a TensorFlow or numpy op inside the user's call() rejected its operands
        return Outcome(SHAPE, layer_class=backend.op, input_shapes=backend.shapes, cause=backend.cause,
                       within=within, traced=traced, **common)
    if op is None:
        own = _own_validation(frames, user, exc)
        if own is None:
            return Outcome(ERROR, cause=_causes.GENERIC[ERROR], **common)
        op, caller = own
        if caller is not None:
            common.update(file=sites[caller][0], line=sites[caller][1])
        return Outcome(CONFIG, layer_class=type(op).__name__, layer_name=_name(op),
                       cause=rule.cause if rule else _causes.GENERIC[CONFIG], **common)

    if isinstance(exc, DeclaredShapeMismatch):
        kind, cause = DECLARED, "declared output shape differs from call()"
        if common["file"] is None and exc.where[0] is not None:  # no line of the user's called the layer
            common.update(file=exc.where[0], line=exc.where[1])
    elif _causes.is_merge(message):
        kind = SHAPE
        # A disagreement the shapes do not show (unknown sizes, tensors inside a traced call) is
        # the generic shape cause, which docs/explanation/probing.md's table documents.
        cause = _causes.merge_cause(shapes, _concat_axis(op), channels_first) or _causes.GENERIC[SHAPE]
    elif rule is not None:
        kind, cause = rule.kind or _kind_by_place(op, in_init, in_build), rule.cause
    else:
        kind = _kind_by_place(op, in_init, in_build)
        cause = _causes.GENERIC[kind]
    return Outcome(
        kind,
        layer_class=type(op).__name__,
        layer_name=_name(op),
        input_shapes=() if in_init else shapes,
        cause=cause,
        branches=() if kind == CONFIG else _branches(op_frame),
        within=within,
        traced=traced and kind != DECLARED,
        channels_first=channels_first,
        **common,
    )


def _within(user_frames: list, op) -> tuple:
    """``(class, name)`` of the innermost layer of the user's whose
    ``call()`` (or other method) is on the way to the failing line, when that
    layer is not the one reported: a failure in an op inside ``PadConv.call``
    (or in a helper it calls) names ``PadConv 'pad_conv'`` too."""
    from keras.src.layers.layer import Layer

    for frame in reversed(user_frames):
        owner = frame.f_locals.get("self")
        if isinstance(owner, Layer) and not in_keras(type(owner)):
            return () if owner is op else (type(owner).__name__, _name(owner))
    return ()


def _autograph_metadata(exc: BaseException):
    """What TensorFlow's autograph attached to an error raised in a
    ``@tf.function`` (``ag_error_metadata``: the user's lines and the inner
    message), on the exception or one it was raised from; None otherwise."""
    seen = 0
    while exc is not None and seen < 10:
        metadata = getattr(exc, "ag_error_metadata", None)
        if metadata is not None and hasattr(metadata, "translated_stack"):
            return metadata
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def _sites(frames: list, metadata) -> list:
    """``(file, line, function)`` of each frame; a frame of the code autograph
    generated for a ``@tf.function`` is the user's line it was made from
    (autograph's own map, innermost frames matched first), never the temporary file."""
    sites = [(frame.f_code.co_filename, line, _function(frame)) for frame, line in frames]
    generated = [i for i, (file, _, _) in enumerate(sites) if os.path.basename(file).startswith(AUTOGRAPH_PREFIX)]
    if not generated or metadata is None:
        return sites
    # translated_stack lists the user's lines innermost first; the converted ones are the generated frames'.
    origins = [f for f in metadata.translated_stack if getattr(f, "is_converted", False)]
    for index, origin in zip(reversed(generated), origins):
        owner = frames[index][0].f_locals.get("self")
        function = origin.function_name if owner is None else f"{type(owner).__name__}.{origin.function_name}"
        sites[index] = (origin.filename, origin.lineno, function)
    return sites


def _kind_by_place(op, in_init: bool, in_build: bool) -> str:
    """Without a rule: raised while the layer was created, or built (except by
    a merge layer, which checks its inputs' shapes in build), is config."""
    from keras.src.layers.merging.base_merge import Merge

    return CONFIG if in_init or (in_build and not isinstance(op, Merge)) else SHAPE


def _own_validation(frames: list, user: list, exc: BaseException):
    """A ValueError raised by a layer's own ``__init__`` or ``build`` written
    outside Keras (the user's or a library's Layer subclass): that layer, and
    the index of the user frame that created or called it (None if none)."""
    from keras.src.ops.operation import Operation

    if not isinstance(exc, ValueError):
        return None
    for index in range(len(frames) - 1, -1, -1):
        owner = frames[index][0].f_locals.get("self")
        if isinstance(owner, Operation):
            break
    else:
        return None
    mine = [i for i, (frame, _) in enumerate(frames) if frame.f_locals.get("self") is owner]
    if not any(frames[i][0].f_code.co_name in ("__init__", "build") for i in mine):
        return None
    callers = [i for i in user if i < mine[0]]
    return owner, (callers[-1] if callers else None)


def _channels_first(op, frame) -> bool:
    """The failing layer's layout: its own ``data_format``; for a merge or op
    without one, that of the nearest layer with one on its inputs' paths
    (followed as `provenance` follows them, each layer's first input); else
    Keras's ``image_data_format`` at the point (the block may have set it).
    Layers on the paths are read through ``get_config`` and the walk stops at
    an `InputLayer`, as `provenance` does, so a stand-in is never used beyond
    what it supports."""
    import keras
    from keras.src.layers.core.input_layer import InputLayer

    def layout(layer):
        try:
            found = (config_of(layer) or {}).get("data_format")
        except Exception:  # noqa: BLE001 - an op or user layer without a usable config
            return None
        return found if found in ("channels_first", "channels_last") else None

    own = layout(op)
    if own is not None:
        return own == "channels_first"
    tensors = [v for v in keras.tree.flatten(_arguments(frame)) if isinstance(v, keras.KerasTensor)]
    for tensor in tensors:
        for _ in range(200):
            history = getattr(tensor, "_keras_history", None)
            layer = getattr(history, "operation", None)
            if layer is None or isinstance(layer, InputLayer):
                break
            found = layout(layer)
            if found is not None:
                return found == "channels_first"
            node = layer._inbound_nodes[history.node_index]
            if not node.input_tensors:
                break
            tensor = node.input_tensors[0]
    return keras.config.image_data_format() == "channels_first"


def _concat_axis(op) -> int | None:
    """The axis a concatenation joins on (left out of the comparison)."""
    if type(op).__name__ != "Concatenate":
        return None
    axis = getattr(op, "axis", None)
    return axis if isinstance(axis, int) else None


def _name(op) -> str | None:
    name = op.__dict__.get("name") if hasattr(op, "__dict__") else None
    return name if isinstance(name, str) else None


def _arguments(frame) -> list:
    """The values a frame's function was called with (``self`` left out)."""
    code = frame.f_code
    count = code.co_argcount + code.co_kwonlyargcount
    count += bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
    return [frame.f_locals[n] for n in code.co_varnames[:count] if n != "self" and n in frame.f_locals]


def _input_shapes(frame) -> tuple:
    """Shapes of the tensors an operation was called with, batch dim as None:
    KerasTensors, or the backend's tensors inside a traced ``call()``."""
    import keras

    shapes = []
    for value in keras.tree.flatten(_arguments(frame)):
        if type(value) in PLAIN_TYPES:  # TensorFlow's tensor test is slow on them
            continue
        if isinstance(value, keras.KerasTensor) or keras.ops.is_tensor(value):
            try:
                shapes.append(tuple(_dimension(d) for d in value.shape))
            except (TypeError, ValueError):  # a shape of unknown rank
                continue
    return tuple(shapes)


def _dimension(d) -> int | None:
    """A known size as an int, else None: the batch axis, TensorFlow's unknown
    dimension, or JAX's symbolic one (``int()`` of it raises
    ``InconclusiveDimensionOperation``) inside a traced ``call()``."""
    if d is None:
        return None
    try:
        return int(d)
    except Exception:  # noqa: BLE001 - a backend's own symbolic-dimension error
        return None


_WRAPPER_HEAD = re.compile(r"^Exception encountered when calling [^\n]*?\.\s*$")
_ARGUMENTS_RECEIVED = re.compile(r"^Arguments received by ")
_CODE_BLOCK = re.compile(r"```.*?```", re.S)
_LIKELY_DOING = re.compile(r"[^.]*\bsomething like:\s*")
_FUNCTION_NODE = re.compile(r"\{\{function_node [^}]*\}\}\s*")
_DEVICE_TAIL = re.compile(r" on /job:.*$", re.S)
_GRAPH_NODE = re.compile(r"'\{\{node [^}]*\}\} = (\w+)\[[^\]]*\]\([^)]*\)'")  # '{{node add}} = AddV2[T=...](a, b)'
_TYPE_PREFIX = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Warning): ")


def _branches(frame) -> tuple:
    """Provenance of the inputs of a failing merge (`provenance.branches`), as plain data."""
    import keras

    tensors = [v for v in keras.tree.flatten(_arguments(frame)) if isinstance(v, keras.KerasTensor)]
    try:
        return branches(tensors, type(frame.f_locals.get("self")).__name__, call_sites())
    except Exception:  # provenance is a courtesy: never let it hide the failure
        return ()


def _text(exc: BaseException) -> str:
    """``str(exc)``, or a sentence saying it could not be written: a block's
    exception whose ``__str__`` raises must not lose the report."""
    try:
        return str(exc)
    except Exception as inner:  # noqa: BLE001 - any error of the user's __str__
        return f"(its message could not be written: {type(inner).__name__} in {type(exc).__name__}.__str__)"


def _clean_message(exc: BaseException, metadata=None) -> str:
    """Keras's message on one line, keeping what went wrong and what to do:
    colour codes, Keras's wrappers ("Exception encountered when calling X.call()",
    "Could not automatically infer the output shape ... Error encountered:",
    "Arguments received by ..."), code samples, autograph's traceback of a
    ``@tf.function`` (its inner message is kept), TensorFlow's graph node
    names and device details are left out."""
    text = _ANSI.sub("", _text(exc)).strip()
    if metadata is not None and isinstance(getattr(metadata, "cause_message", None), str):
        text = _TYPE_PREFIX.sub("", _ANSI.sub("", metadata.cause_message).strip(), count=1)
    if "Error encountered:" in text:  # the inner cause of a traced call()
        text = text.rsplit("Error encountered:", 1)[1].strip()
    text = _CODE_BLOCK.sub("\n\n", text)
    text = _LIKELY_DOING.sub("", text)
    paragraphs = []
    for paragraph in (p.strip() for p in text.split("\n\n")):
        if _ARGUMENTS_RECEIVED.match(paragraph):
            break
        if paragraph and not _WRAPPER_HEAD.match(paragraph):
            paragraphs.append(paragraph)
    text = _FUNCTION_NODE.sub("", " ".join(paragraphs))
    text = _GRAPH_NODE.sub(r"\1", text)
    text = _DEVICE_TAIL.sub("", text) if "OOM when allocating" in text else text
    text = " ".join(text.split())
    return text or type(exc).__name__
