"""What a check found, as plain data: `Report` and the records in it.

The records hold strings, numbers and tuples only (no tensor, layer or
frame). Each renders itself through the modules beside this one: text
(`text`), JSON (`json`, the contract: docs/reference/json.md; fields are only
ever added), GitHub annotations, SARIF and HTML.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .._show import show_example
from .._usercode import shown, source_line
from ..errors import ShapeCheckFailed
from .html import render_html
from .json import chain_list, location_dict, reports_to_json
from .text import ON_DATA, how_checked, render_text, verdict


@dataclass(frozen=True)
class Location:
    file: str  # absolute; shown relative to the current directory when under it
    line: int

    def shown(self) -> str:
        """``blocks.py:12``, or ``Cell In[3], line 5`` in a notebook (`_usercode.shown`)."""
        return shown((self.file, self.line))

    def source(self) -> str:
        return source_line(self.file, self.line).strip()


@dataclass(frozen=True)
class Failure:
    """One failure mode: a layer that rejected its inputs (``kind="shape"``),
    its own arguments (``kind="config"``), or whose declared output shape is not
    what its ``call()`` makes (``kind="declared"``), at one line, for one
    ``cause``, with its minimal example. ``chain`` holds (file, line, function)
    for each line of the user's code from the target down to the layer."""

    kind: str
    layer_class: str
    layer_name: str | None
    location: Location | None
    message: str
    input_shapes: tuple
    example: dict
    call: str
    failing: int | None = None  # exact count, exhaustive mode only
    of: int | None = None
    cause: str = ""
    chain: tuple = ()
    branches: tuple = ()  # _probe.provenance.Branch per input of a failing merge
    condition: dict | None = None  # explain.condition_of: text, checked_on ("all" or "sample"), axes
    hint: str | None = None  # a fix, for recognised patterns only
    nearest_pass: dict | None = None  # changed axes, example, call
    within: tuple = ()  # (class, name) of the user's layer whose call() holds the line, when not the layer
    on_data: str | None = None  # a call on arrays of zeros that fails, when only data fails
    hint_probe: dict | None = None  # the fix's one changed argument and the call that passed with it
    # check_fit only: "input" (the data against the model's inputs) or "output" (labels and loss against
    # its outputs), and the two sides' shapes, batch None (in the JSON only when set: fields are only added)
    side: str | None = None
    data_shape: tuple | None = None
    model_shape: tuple | None = None
    # check_fit only: what rejected it: "layer", "loss", "metric", "metrics" (their structure) or "samples"
    rejected_by: str | None = None

    def __repr__(self) -> str:
        """``<Failure shape Add 'add' (cause: channels) minimal: C=16, filters=32>``: the report has the rest."""
        name = f" {self.layer_name!r}" if self.layer_name else ""
        return f"<Failure {self.kind} {self.layer_class}{name}{_tail(self.cause, self.example)}>"

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "layer": {"class": self.layer_class, "name": self.layer_name},
            "location": location_dict(self.location),
            "message": self.message,
            "input_shapes": [list(s) for s in self.input_shapes],
            "example": self.example,
            "call": self.call,
            "failing": self.failing,
            "of": self.of,
            "cause": self.cause,
            "chain": chain_list(self.chain),
            "branches": [b.to_dict() for b in self.branches],
            "condition": self.condition,
            "hint": self.hint,
            "nearest_pass": self.nearest_pass,
            "within": {"class": self.within[0], "name": self.within[1]} if self.within else None,
            "on_data": None if self.on_data is None else {"text": ON_DATA, "call": self.on_data},
            "hint_probe": self.hint_probe,
            **({"side": self.side, "data_shape": list(self.data_shape),
                "model_shape": None if self.model_shape is None else list(self.model_shape),
                "rejected_by": self.rejected_by} if self.side else {}),
        }


@dataclass(frozen=True)
class BlockError:
    """The block raised by itself (e.g. a TypeError in its own code): not a
    shape bug, but the check could not judge these points."""

    type: str
    message: str
    location: Location | None
    example: dict
    call: str
    failing: int | None = None
    of: int | None = None
    cause: str = ""
    chain: tuple = ()

    def __repr__(self) -> str:
        """``<BlockError TypeError (cause: ...) minimal: C=16>``"""
        return f"<BlockError {self.type}{_tail(self.cause, self.example)}>"

    def to_dict(self) -> dict:
        return {
            "type": self.type,
            "message": self.message,
            "location": location_dict(self.location),
            "example": self.example,
            "call": self.call,
            "failing": self.failing,
            "of": self.of,
            "cause": self.cause,
            "chain": chain_list(self.chain),
        }


@dataclass
class Report:
    target: str
    mode: str  # "search" or "exhaustive"
    probes: int
    space: dict[str, list]
    size: int  # number of combinations in the space, skipped ones included
    seed: int
    skipped: int | None = 0  # combinations the contract rules out (None: not counted)
    failures: list[Failure] = field(default_factory=list)
    errors: list[BlockError] = field(default_factory=list)
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)  # how the target was called (a factory)
    unchecked: int = 0  # combinations probed that called no Keras layer or operation
    stopped: str = ""  # why the search ended early, if it did ("most calls hung")
    outcomes: list = field(default_factory=list, repr=False, compare=False)  # (example, Outcome) per probe
    axis_summary: dict = field(default_factory=dict)  # size axis -> passing/failing values (explain.py)
    warnings: list[BroadcastWarning] = field(default_factory=list)
    strict: bool = False  # warnings fail the check
    grid: dict | None = None  # explain.grid
    inferred: dict = field(default_factory=dict)  # space.Space.inferred: what nobody gave, and the rule for each
    working_point: dict | None = None  # _working.WorkingPoint.as_dict: where the block works at its defaults
    budget: str = ""  # why the check was exhaustive or a search (search.budget)
    templates: dict = field(default_factory=dict)  # tensor parameter -> the template it was checked on
    # The target's def or class line: where SARIF puts a result that has no line of its own (code
    # scanning refuses a log with one result without a location). Not in the JSON, which has "location".
    definition: Location | None = None
    cached: bool = False  # answered from the result cache (shapeguard._cache): nothing it depends on changed
    fit: dict | None = None  # check_fit only: mode, x, y and loss as checked (in the JSON only when set)

    @property
    def status(self) -> str:
        failed = self.failures or (self.strict and self.warnings)
        return "fail" if failed else "error" if self.errors else "pass"

    @property
    def checked(self) -> int:
        """Combinations probed in which Keras checked the shapes."""
        return self.probes - self.unchecked

    @property
    def to_probe(self) -> int:
        """Combinations the contract leaves to probe (`size` less `skipped`)."""
        return self.size - (self.skipped or 0)

    @property
    def ok(self) -> bool:
        """Passed, and checked to the end: an interrupted check is never ok."""
        return self.status == "pass" and not self.interrupted

    def raise_for_failures(self) -> "Report":
        """Raise `ShapeCheckFailed` (an AssertionError) carrying this report's
        text unless everything passed; return the report otherwise."""
        __tracebackhide__ = True
        if not self.ok:
            raise ShapeCheckFailed(self) from None
        return self

    def to_dict(self) -> dict:
        data = {
            "target": self.target,
            "status": self.status,
            "mode": self.mode,
            "probes": self.probes,
            "checked": self.checked,
            "space": self.space,
            "skipped": self.skipped,
            "failures": [f.to_dict() for f in self.failures],
            "errors": [e.to_dict() for e in self.errors],
        }
        if self.interrupted:
            data["interrupted"] = True
        if self.notes:
            data["notes"] = list(self.notes)
        if self.stopped:
            data["stopped"] = self.stopped
        data["axis_summary"] = self.axis_summary
        data["warnings"] = [w.to_dict() for w in self.warnings]
        data["grid"] = self.grid
        data["strict"] = self.strict
        data["inferred"] = self.inferred or {"axes": {}, "templates": {}}
        data["working_point"] = self.working_point
        data["budget"] = self.budget
        data["templates"] = dict(self.templates)
        if self.cached:
            data["cached"] = True
        if self.fit is not None:
            data["fit"] = dict(self.fit)
        return data

    def to_json(self, indent: int | None = 2) -> str:
        return reports_to_json([self], indent=indent)

    def __str__(self) -> str:
        return render_text(self)

    def __repr__(self) -> str:
        """``<Report blocks.py:block: FAIL, 2 failure modes (all 8 combinations probed)>``: its first line."""
        return f"<Report {self.target}: {verdict(self)} ({how_checked(self)})>"

    def render(self, call_lines: bool = False) -> str:
        """The text report; ``call_lines=True`` names, for each layer on a
        failing merge's branches, the line of the user's code that called it."""
        return render_text(self, call_lines)

    def _repr_html_(self) -> str:
        return render_html(self)


@dataclass(frozen=True)
class BroadcastWarning:
    """A merge that built only by broadcasting a channel of size 1
    (docs/explanation/reports.md): a warning, which fails the check only with strict."""

    layer_class: str
    layer_name: str | None
    location: Location | None
    input_shapes: tuple
    dim: int
    example: dict
    call: str
    count: int  # probes that met it

    kind = "broadcast"

    def __repr__(self) -> str:
        """``<BroadcastWarning Add 'add' minimal: C=1>``"""
        name = f" {self.layer_name!r}" if self.layer_name else ""
        return f"<BroadcastWarning {self.layer_class}{name}{_tail('', self.example)}>"

    @property
    def message(self) -> str:
        ones = [tuple(s) for s in self.input_shapes if s[self.dim] == 1]
        others = [tuple(s) for s in self.input_shapes if s[self.dim] != 1]
        return (f"{self.layer_class} broadcasts the channels of {ones[0]} against {others[0]}: Keras builds it "
                "without an error, but in a residual block it is almost always a shortcut that was never projected")

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "layer": {"class": self.layer_class, "name": self.layer_name},
            "location": location_dict(self.location),
            "message": self.message,
            "input_shapes": [list(s) for s in self.input_shapes],
            "dim": self.dim,
            "example": self.example,
            "call": self.call,
            "count": self.count,
        }


def _tail(cause: str, example: dict) -> str:
    """`` (cause: channels) minimal: C=16, filters=32``: the end of a record's short repr."""
    return (f" (cause: {cause})" if cause else "") + (f" minimal: {show_example(example)}" if example else "")
