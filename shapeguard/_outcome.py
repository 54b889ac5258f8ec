"""The vocabulary of outcomes, defined once: what one probe found (`Outcome`),
its kind (`Kind`), and the error types shapeguard writes itself (`ErrorType`).

Every module that judges, searches, explains or renders reads these names;
the words each renderer uses for a kind are in `shapeguard.report._words`.
Both enums are ``str`` enums, so a kind is written as its value in JSON and
text (``"shape"``) and compares equal to it. The rule of kinds: docs/explanation/probing.md, "What a probe reports".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class _StrEnum(str, enum.Enum):
    """`enum.StrEnum` (Python 3.11) for 3.10 too: ``str()`` and ``format()`` give the value."""

    __str__ = str.__str__
    __format__ = str.__format__


class Kind(_StrEnum):
    """What one probe found."""

    PASS = "pass"
    SHAPE = "shape"  # a layer or op rejected the shapes it was given
    CONFIG = "config"  # a layer rejected its own arguments for these inputs
    DECLARED = "declared"  # a layer's compute_output_shape disagrees with its call()
    ERROR = "error"  # the block raised by itself (or ran out of memory)


# The kinds of a failure (`report.Failure.kind`), as opposed to a pass or a block error.
FAILURE_KINDS = (Kind.SHAPE, Kind.CONFIG, Kind.DECLARED)


class ErrorType(_StrEnum):
    """``error_type`` of the block errors shapeguard writes itself (every
    other error type is the name of the exception the block raised)."""

    TIMEOUT = "Timeout"  # a call that ran past its time
    DIED = "Died"  # the checking process died at this point (command line)
    FORKED = "Forked"  # the block forked a copy of the checking process that went on with the check
    NO_KERAS_CALL = "NoKerasCall"  # no probe of the check called Keras
    INTERNAL = "InternalError"  # a fast-path verdict plain Keras does not confirm, or a bug in shapeguard


PASS, SHAPE, CONFIG, DECLARED, ERROR = Kind.PASS, Kind.SHAPE, Kind.CONFIG, Kind.DECLARED, Kind.ERROR
TIMEOUT, DIED, NO_KERAS_CALL, INTERNAL = (ErrorType.TIMEOUT, ErrorType.DIED, ErrorType.NO_KERAS_CALL,
                                          ErrorType.INTERNAL)
FORKED = ErrorType.FORKED


@dataclass(frozen=True)
class FitSide:
    """The side of one fit step that Keras rejected (a data contract's
    failure, `shapeguard._fitcontract`): ``side`` is ``"input"`` (the data
    against the model's inputs) or ``"output"`` (the labels and loss against
    its outputs); both shapes with the batch None; a fix for known patterns."""

    side: str
    data_shape: tuple
    model_shape: tuple | None
    hint: str | None = None
    rejected_by: str = "layer"  # "layer", "loss", "metric", "metrics" or "samples"
    batch: int | None = None  # the batch size it was found at (None: any); the reproducing fit's


@dataclass(frozen=True)
class Outcome:
    """What one probe found. Plain data: it holds no tensor, layer or frame,
    so keeping every outcome costs little memory."""

    status: str  # a Kind
    layer_class: str | None = None
    layer_name: str | None = None
    file: str | None = None
    line: int | None = None
    message: str = ""
    input_shapes: tuple = ()
    error_type: str | None = None
    cause: str = ""  # why, in a few words (shapeguard._probe.causes): "channels", "out of memory", ...
    chain: tuple = ()  # (file, line, function) of each user frame, the target's first
    branches: tuple = ()  # _probe.provenance.Branch per input of a failing merge
    warnings: tuple = ()  # _probe.broadcasts.Broadcast per silent broadcast of a passing call
    within: tuple = ()  # (class, name) of the user's layer whose call() holds the failing line, if not the layer
    traced: bool = False  # raised in a call() only shapeguard runs (plain symbolic Keras never does)
    channels_first: bool = False  # the failing layer's layout (its data_format, else Keras's at the point)
    fit: FitSide | None = None  # a fit step's failure: the model built at the point against the data contract

    @property
    def failed(self) -> bool:
        return self.status != PASS

    @property
    def mode(self) -> tuple | None:
        """The failure mode's key: failures of one mode have the same kind,
        come from the same layer (or exception type, for errors) at the same
        line of the user's code, and have the same cause."""
        if self.status == PASS:
            return None
        who = self.error_type if self.status == ERROR else self.layer_class or self.error_type
        return (self.status, who or "", self.file or "", self.line or 0, self.cause)


PASSED = Outcome(PASS)
