"""What a check found, as plain data, and its renderings (text and JSON).

The JSON form is a contract (README, "JSON output"): fields are only ever added.
"""

from __future__ import annotations

import json
import linecache
import os
from dataclasses import dataclass, field

from ._version import __version__
from .probe import TIMEOUT
from .space import show_value


@dataclass(frozen=True)
class Location:
    file: str  # absolute; shown relative to the current directory when under it
    line: int

    def shown(self) -> str:
        return f"{relative_path(self.file)}:{self.line}"

    def source(self) -> str:
        return linecache.getline(self.file, self.line).strip()


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
    branches: tuple = ()  # _graph.Branch per input of a failing merge
    condition: dict | None = None  # explain.condition_of: text, checked_on ("all" or "sample"), axes
    hint: str | None = None  # a fix, for recognised patterns only
    nearest_pass: dict | None = None  # changed axes, example, call

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "layer": {"class": self.layer_class, "name": self.layer_name},
            "location": _location_dict(self.location),
            "message": self.message,
            "input_shapes": [list(s) for s in self.input_shapes],
            "example": self.example,
            "call": self.call,
            "failing": self.failing,
            "of": self.of,
            "cause": self.cause,
            "chain": _chain_list(self.chain),
            "branches": [b.to_dict() for b in self.branches],
            "condition": self.condition,
            "hint": self.hint,
            "nearest_pass": self.nearest_pass,
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

    def to_dict(self) -> dict:
        return {
            "type": self.type,
            "message": self.message,
            "location": _location_dict(self.location),
            "example": self.example,
            "call": self.call,
            "failing": self.failing,
            "of": self.of,
            "cause": self.cause,
            "chain": _chain_list(self.chain),
        }


@dataclass
class Report:
    target: str
    mode: str  # "search" or "exhaustive"
    probes: int
    space: dict
    size: int  # number of combinations in the space, skipped ones included
    seed: int
    skipped: int | None = 0  # combinations the contract rules out (None: not counted)
    failures: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    interrupted: bool = False
    notes: list = field(default_factory=list)  # how the target was called (a factory)
    unchecked: int = 0  # combinations probed that called no Keras layer or operation
    stopped: str = ""  # why the search ended early, if it did ("most calls hung")
    outcomes: list = field(default_factory=list, repr=False, compare=False)  # (example, Outcome) per probe
    axis_summary: dict = field(default_factory=dict)  # size axis -> passing/failing values (explain.py)
    warnings: list = field(default_factory=list)  # explain.BroadcastWarning
    strict: bool = False  # warnings fail the check
    grid: dict | None = None  # explain.grid

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
        return self.status == "pass"

    def raise_for_failures(self) -> "Report":
        """Raise `ShapeCheckFailed` (an AssertionError) carrying this report's
        text unless everything passed; return the report otherwise."""
        __tracebackhide__ = True
        if not self.ok:
            from .errors import ShapeCheckFailed

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
        return data

    def to_json(self, indent: int | None = 2) -> str:
        return reports_to_json([self], indent=indent)

    def __str__(self) -> str:
        return render_text(self)

    def render(self, call_lines: bool = False) -> str:
        """The text report; ``call_lines=True`` names, for each layer on a
        failing merge's branches, the line of the user's code that called it."""
        return render_text(self, call_lines)

    def _repr_html_(self) -> str:
        from .explain import render_html

        return render_html(self)


def reports_to_json(reports, indent: int | None = 2) -> str:
    """The documented JSON document for one or more targets."""
    document = {"shapeguard": __version__, "targets": [r.to_dict() for r in reports]}
    return json.dumps(document, indent=indent, default=show_value)


def relative_path(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive
        return path
    return path if rel.startswith(os.pardir) else rel


def _location_dict(location: Location | None) -> dict | None:
    return None if location is None else {"file": relative_path(location.file), "line": location.line}


def _chain_list(chain) -> list[str]:
    """``["blocks.py:40 MyStack.call", "blocks.py:12 ResidualUnit.call"]``"""
    return [f"{relative_path(file)}:{line} {function}" for file, line, function in chain]


def _format_example(example: dict) -> str:
    return ", ".join(f"{k}={show_value(v)}" for k, v in example.items())


def _format_shapes(shapes) -> str:
    return " and ".join(str(tuple(s)) for s in shapes)


def render_text(report: Report, call_lines: bool = False) -> str:
    """The terminal report (see `Report.render`)."""
    from .explain import failure_lines, report_lines

    n = len(report.failures)
    verdict = {
        "pass": _ok_verdict(report),
        "fail": f"FAIL, {n} failure mode{'s' * (n != 1)}" if n else
        f"FAIL, {len(report.warnings)} broadcast warning{'s' * (len(report.warnings) != 1)} (strict)",
        "error": "ERROR, the block raised by itself",
    }[report.status]
    to_probe = report.to_probe
    if report.status == "error" and {e.type for e in report.errors} == {"NoKerasCall"}:
        verdict = "NOT CHECKED, the block called no Keras layer or operation"
    if report.status == "pass" and report.checked < to_probe:
        how = "Hypothesis search" if report.mode == "search" else "exhaustive, stopped early"
        how += f", seed {report.seed}" if report.mode == "search" else ""
    elif report.mode == "search":
        how = f"Hypothesis search, {report.probes} probes of {to_probe} combinations, seed {report.seed}"
    elif report.probes == to_probe:
        how = "the only combination probed" if to_probe == 1 else f"all {to_probe} combinations probed"
    else:
        how = f"exhaustive, stopped after {report.probes} of {to_probe} combinations"
    lines = [f"{report.target}: {verdict} ({how})"]
    if report.interrupted:
        lines.append("  interrupted: what was found before Ctrl-C (failures not yet confirmed on plain Keras)")
    if report.stopped:
        lines.append(f"  stopped early: {report.stopped}")
    if report.unchecked:
        u = report.unchecked
        lines.append(f"  not checked: {u} combination{'s' * (u != 1)} called no Keras layer or operation")
    lines.append("  space: " + "  ".join(f"{k}=[{', '.join(map(show_value, v))}]" for k, v in report.space.items()))
    if report.skipped:
        lines.append(f"  skipped: {report.skipped} of {report.size} combinations, ruled out by the contract"
                     " or repeating another's call")
    elif report.skipped is None:
        lines.append(f"  skipped: not counted (a space of {report.size} combinations is too big to enumerate);"
                     " the search draws only points the contract allows")
    lines += [f"  note: {note}" for note in report.notes]
    for i, failure in enumerate(report.failures, 1):
        name = f" {failure.layer_name!r}" if failure.layer_name else ""
        shapes = f" for input shape {_format_shapes(failure.input_shapes)}" if failure.input_shapes else ""
        what = {
            "shape": f"rejected input shapes {_format_shapes(failure.input_shapes)}",
            "declared": "declares an output shape its call() does not produce" + shapes,
        }.get(failure.kind, "rejected its arguments" + shapes)
        cause = f" (cause: {failure.cause})" if failure.cause else ""
        lines += ["", f"  [{i}] {failure.kind} failure: {failure.layer_class}{name} {what}{cause}"]
        lines += _where(failure.location)
        lines += _cause_lines(failure, failure.layer_class)
        lines.append(f"      {'shapeguard' if failure.kind == 'declared' else 'keras'}: {failure.message}")
        lines += _example_lines(failure)
        lines += failure_lines(failure, call_lines)
    for error in report.errors:
        what = _ERROR_VERBS.get(error.type, f"raised {error.type}")
        lines += ["", f"  [error] the block {what}: {error.message}"]
        lines += _where(error.location)
        lines += _cause_lines(error, None)
        lines += _example_lines(error)
    lines += report_lines(report)
    return "\n".join(lines)


_ERROR_VERBS = {TIMEOUT: "hung", "Died": "could not be run to the end", "NoKerasCall": "checked nothing",
                "InternalError": "could not be checked"}


def _ok_verdict(report: Report) -> str:
    """``OK`` only of what was checked: ``OK in 100 of 128 combinations``."""
    return "OK" if report.checked >= report.to_probe else f"OK in {report.checked} of {report.to_probe} combinations"


def _where(location: Location | None) -> list[str]:
    if location is None:
        return []
    source = location.source()
    return [f"      at {location.shown()}" + (f":  {source}" if source else "")]


def _cause_lines(item, layer_class: str | None) -> list[str]:
    """``cause: out of memory`` for an error (a failure names its cause in its
    heading) and, when the failure is below the target's own line, the chain
    of the user's lines down to the layer."""
    lines = [f"      cause: {item.cause}"] if item.cause and layer_class is None else []
    if len(item.chain) > 1:
        steps = _chain_list(item.chain) + ([layer_class] if layer_class else [])
        lines.append("      chain: " + " -> ".join(steps))
    return lines


def _example_lines(item) -> list[str]:
    lines = [f"      minimal: {_format_example(item.example)}", f"      reproduce: {item.call}"]
    if item.failing is not None:
        lines.append(f"      fails at {item.failing} of {item.of} combination{'s' * (item.of != 1)}")
    return lines
