"""The words every renderer uses for a kind, in one table.

A renderer never spells a kind itself: the text report, GitHub annotations,
SARIF and HTML all read `FAILURE_WORDS` (for failures), `error_verb` (for
block errors) and `WARNING_WORDS`, so a kind added to `shapeguard._outcome`
is added here once and shows everywhere (tests/test_renderers.py renders
every kind through every format).
"""

from __future__ import annotations

from dataclasses import dataclass

from .._outcome import CONFIG, DECLARED, DIED, INTERNAL, NO_KERAS_CALL, SHAPE, TIMEOUT


@dataclass(frozen=True)
class Words:
    label: str  # "shape failure"
    what: str  # what the layer did; {shapes}: the input shapes, {for_shapes}: " for input shape ..." or ""
    source: str  # who wrote the message: "keras" (the layer's own) or "shapeguard"
    rule: str  # SARIF rule id
    short: str  # SARIF rule's short description
    full: str  # SARIF rule's full description
    help: str  # SARIF rule's help, in Markdown (backticks only: the plain text drops them)


FAILURE_WORDS = {
    SHAPE: Words("shape failure", "rejected input shapes {shapes}", "keras", "shapeguard/shape",
                 "A layer rejected the shapes it was given",
                 "A Keras layer or op rejected its input shapes for some arguments of the block.",
                 help="A layer or op of the block raised because the shapes reaching it do not fit together, "
                 "for some values of the block's arguments; with other values it builds. The result names the "
                 "layer, its line, the cause (`channels`, `spatial`, ...) and the minimal call that fails; run "
                 "that call to see Keras's own error. A shortcut whose channels differ usually needs a 1x1 "
                 "`Conv2D` projection; one whose spatial size differs, the same strides as the main branch."),
    CONFIG: Words("config failure", "rejected its arguments{for_shapes}", "keras", "shapeguard/config",
                  "A layer rejected its own arguments",
                  "A Keras layer rejected its own arguments for some arguments of the block.",
                  help="A layer of the block refused the arguments it was built with (for example `Conv2D` "
                  "with input channels not divisible by `groups`), for some values of the block's arguments. "
                  "The result names the layer, its line, the cause and the minimal call that fails; derive the "
                  "layer's argument from the block's, or rule the combination out with a `where=` "
                  "constraint (`--where`) if the block is never meant to be called so."),
    DECLARED: Words("declared failure", "declares an output shape its call() does not produce{for_shapes}",
                    "shapeguard", "shapeguard/declared",
                    "A layer's declared output shape is not what its call() makes",
                    "A layer's compute_output_shape (or compute_output_spec) gives another shape than its "
                    "call() produces, so the symbolic check and real data disagree.",
                    help="A layer of your own declares, in `compute_output_shape` (or `compute_output_spec`), "
                    "another shape than its `call()` returns, so models built on symbolic inputs and runs on "
                    "real data see different shapes. The result gives both shapes and the minimal call; make "
                    "the declaration compute what `call()` does, or remove it and let Keras trace `call()`."),
}

ERROR_WORDS = Words("block error", "", "", "shapeguard/block-error", "The block raised by itself",
                    "The block raised an exception of its own: not a shape bug, but these calls could not be judged.",
                    help="The block itself raised (a `TypeError` in its own code, for example), hung past the "
                    "timeout, died, or called no Keras layer at all, for some values of its arguments, so "
                    "shapeguard could not judge those calls. It is not a shape failure; run the call the result gives to see the error, then "
                    "fix the block or leave those values out of the space it is checked on.")
WARNING_WORDS = Words("broadcast warning", "", "", "shapeguard/broadcast", "A merge broadcast a channel of size 1",
                      "An additive merge built only by broadcasting a channel of size 1, usually an unprojected "
                      "shortcut.",
                      help="An `Add` (or another additive merge) built only because one input has a single "
                      "channel that Keras broadcast against the other's. Keras raises nothing, but in a residual "
                      "block this is almost always a shortcut that was never projected. It is a warning (an "
                      "error with `--strict`); project the shortcut with a 1x1 `Conv2D` if the broadcast is not "
                      "meant.")
# In the order SARIF lists its rules (a rule added later goes last: rule indexes stay as they were).
ALL_RULES = (FAILURE_WORDS[SHAPE], FAILURE_WORDS[CONFIG], ERROR_WORDS, WARNING_WORDS, FAILURE_WORDS[DECLARED])

_ERROR_VERBS = {TIMEOUT: "hung", DIED: "could not be run to the end", NO_KERAS_CALL: "checked nothing",
                INTERNAL: "could not be checked"}


def error_verb(error_type: str) -> str:
    """What the block did, for a block error: ``hung``, ``raised TypeError``."""
    return _ERROR_VERBS.get(error_type, f"raised {error_type}")


def shapes_text(shapes) -> str:
    return " and ".join(str(tuple(s)) for s in shapes)


def headline(failure) -> str:
    """``shape failure: Add 'add' rejected input shapes (None, 7, 7, 64) and (None, 7, 7, 16)``"""
    words = FAILURE_WORDS[failure.kind]
    name = f" {failure.layer_name!r}" if failure.layer_name else ""
    side = getattr(failure, "side", None)
    if side:  # check_fit: ``input side: the data (None, 100) against the model's input (None, 784), ...``
        data, model = ("the data", "the model's input") if side == "input" else ("the labels", "the output")
        rejected_by = getattr(failure, "rejected_by", None) or ("loss" if side == "output" else "layer")
        if rejected_by == "samples":  # ``output side: the labels (59999,) have 59999 samples, the data (60000, 4) ...``
            mine, other = tuple(failure.data_shape), tuple(failure.model_shape)
            return (f"{side} side: {data} {mine} have {mine[0]} samples, the data {other} {other[0]}, "
                    f"rejected by {failure.layer_class}")
        by = {"loss": f"the loss {failure.layer_class}", "metric": f"the metric {failure.layer_class}",
              "metrics": failure.layer_class}.get(rejected_by, f"{failure.layer_class}{name}")
        against = f" against {model} {tuple(failure.model_shape)}" if failure.model_shape is not None else ""
        return f"{side} side: {data} {tuple(failure.data_shape)}{against}, rejected by {by}"
    within = getattr(failure, "within", ())
    if within:  # the op inside the user's layer: ``Add in ResConv 'res_conv'``
        name += f" in {within[0]}" + (f" {within[1]!r}" if within[1] else "")
    shapes = shapes_text(failure.input_shapes)
    what = words.what.format(shapes=shapes, for_shapes=f" for input shape {shapes}" if shapes else "")
    return f"{words.label}: {failure.layer_class}{name} {what}"


# The pass/fail grid's marks (text and HTML) and what each means.
MARKS = {"pass": ".", "fail": "#", "some": "+", "none": " "}
MEANINGS = {"pass": "passes", "fail": "fails", "some": "fails for some values of the other axes",
            "none": "not probed"}
LEGEND = "   ".join(f"{MARKS[c]} {MEANINGS[c]}" if MARKS[c].strip() else f"blank: {MEANINGS[c]}" for c in MARKS)


def checked_on(condition: dict) -> str:
    """What a condition was checked on, exactly: every combination only after
    an exhaustive run; else the probed points, and how many of them were the
    verification sample drawn across the whole space."""
    if condition["checked_on"] == "all":
        return "all combinations"
    points = condition["points"]
    where = f"{points} point{'s' * (points != 1)}"
    sample = condition.get("sample_points", 0)
    if sample:
        where += f", {sample} of them drawn across the whole space"
    return where
