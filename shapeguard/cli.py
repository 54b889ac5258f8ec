"""The ``shapeguard`` command (README, "Command line").

    shapeguard check examples/resnext_block.py:block

Only the standard library loads at start, so ``--help`` and ``--version``
answer at once; TensorFlow, Keras and Hypothesis load when the first target is
imported or probed, with their native start-up noise kept off the terminal.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Any

from ._options import positive_int, positive_seconds
from ._version import __version__

EXIT_PASSED = 0  # every target passed
EXIT_FAILED = 1  # at least one shape or config failure
EXIT_USAGE = 2  # bad options, or a target that cannot be imported, found or called
EXIT_BLOCK_ERRORS = 3  # no shape failures, but a block raised errors of its own
EXIT_INTERRUPTED = 130  # Ctrl-C; what was found so far is reported

FORMATS = ("text", "json", "github", "sarif")

_EPILOG = """\
targets:
  package.module:function     a function in an importable module
  path/to/file.py:function    a function in a file
  path/to/file.py:Class.method  a method; the class is created with no arguments
  path/to/file.py, package.module
                              every @guard-decorated function in it

exit status:
  0    every target passed
  1    at least one shape or config failure
  2    usage error, or a target that cannot be imported, found or called
  3    no shape failures, but a block raised errors of its own
  130  interrupted (Ctrl-C); what was found so far is reported
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        """One line and status 2, like every other usage error."""
        self.exit(EXIT_USAGE, f"shapeguard: {message} (see '{self.prog} --help').\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="shapeguard",
        description="Find tensor-shape bugs in Keras block builders before training.",
    )
    parser.add_argument("--version", action="version", version=f"shapeguard {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    check = commands.add_parser(
        "check",
        help="probe block builders on symbolic inputs and report the minimal failing calls",
        description="Probe block builders on symbolic keras.Input tensors across a space of\n"
        "parameters and report, for each layer that breaks, the minimal call that breaks it.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("targets", nargs="+", metavar="TARGET", help="what to check (see targets below)")
    check.add_argument(
        "--axis", action="append", default=[], metavar="NAME=V1,V2,...",
        help="values to try for an axis (a parameter or a template dimension); overrides the "
        "decorator's; values are Python literals ((3,3), [4,5]), true/false/none, dotted names of "
        "functions (keras.activations.relu) or strings, split at top-level commas; repeatable",
    )
    check.add_argument(
        "--input", action="append", default=[], metavar="PARAM=TEMPLATE",
        help="shape template of a tensor parameter without the batch dimension, e.g. x=H,W,C or "
        "skip=2*H,2*H,C; none for an unknown size; [A; B] for a list of tensors; T1|T2|none for "
        "choices; repeatable",
    )
    check.add_argument(
        "--where", action="append", default=[], metavar="EXPR",
        help="a constraint over axis names, e.g. 'filters %% groups == 0'; points where it does "
        "not hold are skipped; repeatable (all must hold)",
    )
    check.add_argument("--max-examples", type=positive_int, metavar="N",
                       help="probe budget per target (default: the decorator's, else 100)")
    check.add_argument("--exhaustive", action="store_true", help="probe every combination, whatever the budget")
    check.add_argument("--seed", type=int, metavar="N", help="seed of the search (default: the decorator's, else 0)")
    check.add_argument("--timeout", type=positive_seconds, default=60.0, metavar="SECONDS",
                       help="longest one call of a block may take; a block that hangs is stopped and "
                       "reported as an error (exit status 3) (default: 60)")
    check.add_argument("--format", choices=FORMATS, default="text",
                       help="text (default), json, github (workflow annotations), or sarif (SARIF 2.1.0, "
                       "for code scanning dashboards)")
    check.add_argument("--strict", action="store_true",
                       help="broadcast warnings fail the check too (exit status 1)")
    check.add_argument("--output", metavar="FILE", help="write the report to FILE instead of standard output")
    check.add_argument("-q", "--quiet", action="store_true", help="no progress line and no notes on standard error")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``shapeguard`` and ``python -m shapeguard``; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return run_check(args)
    except KeyboardInterrupt:  # outside the search (which reports what it found)
        print("shapeguard: interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED


def run_check(args: argparse.Namespace) -> int:
    """`shapeguard check`: options, targets, reports, exit status."""
    from ._quiet import silenced_native_output
    from .errors import ShapeguardError

    try:
        with silenced_native_output():  # a dotted value (keras.activations.relu) imports TensorFlow
            axes = parse_axes(args.axis)
        inputs = parse_inputs(args.input)
        where = parse_where(args.where)
        output = _open_output(args.output)
    except ShapeguardError as exc:
        print(f"shapeguard: {exc.for_cli()}", file=sys.stderr)
        return EXIT_USAGE

    show_progress = not args.quiet and _isatty(sys.stderr)
    try:
        with silenced_native_output() as terminal:
            try:
                targets, reports, interrupted = _check_all(
                    args, axes, inputs, where, terminal.stderr if show_progress else None
                )
            except ShapeguardError as exc:
                print(f"shapeguard: {exc.for_cli()}", file=terminal.stderr)
                return EXIT_USAGE
            except Exception as exc:  # a bug in shapeguard: the user's code cannot get here
                if os.environ.get("SHAPEGUARD_TRACEBACK"):
                    raise
                print(
                    f"shapeguard: internal error: {type(exc).__name__}: {' '.join(str(exc).split())}"
                    " (a bug in shapeguard; set SHAPEGUARD_TRACEBACK=1 to see where, and please report it).",
                    file=terminal.stderr,
                )
                return EXIT_USAGE

            _write(render(reports, args.format), output or terminal.stdout)
            if interrupted:
                found = "; reported what was found so far" if reports else ""
                print(f"shapeguard: interrupted{found}.", file=terminal.stderr)
            elif not targets and not args.quiet:
                print(
                    "shapeguard: nothing to check: no @guard-decorated functions in "
                    + ", ".join(args.targets) + "; name one as path/to/file.py:function.",
                    file=terminal.stderr,
                )
    finally:
        if output is not None:
            output.close()
    return exit_status(reports, interrupted)


def _check_all(args: argparse.Namespace, axes: dict, inputs: dict, where: list, progress_stream) -> tuple[list, list, bool]:
    """``(targets, reports, interrupted)``. Every target is imported and its
    space built before the first is probed, so a bad one fails at once; Ctrl-C
    keeps the reports made so far."""
    from .errors import ShapeguardError

    targets: list = []
    reports: list = []
    try:
        targets = _resolve_all(args.targets)
        plans = [(target, _plan(target, axes, inputs, where)) for target in targets]
        for target, plan in plans:
            try:
                report = _check(target, plan, args, progress_stream)
            except ShapeguardError as exc:  # e.g. a bad max_examples in the decorator
                message = exc.for_cli()
                raise ShapeguardError(
                    message if message.startswith(target.name) else f"{target.name}: {message}"
                ) from None
            reports.append(report)
            if report.interrupted:
                return targets, reports, True
    except KeyboardInterrupt:
        return targets, reports, True
    return targets, reports, False


def exit_status(reports, interrupted: bool = False) -> int:
    if interrupted:
        return EXIT_INTERRUPTED
    statuses = {r.status for r in reports}
    if "fail" in statuses:
        return EXIT_FAILED
    if "error" in statuses:
        return EXIT_BLOCK_ERRORS
    return EXIT_PASSED


def parse_axes(items: list[str]) -> dict[str, list]:
    """``["C=16,32", "kernel_size=(3,3),(1,3)"]`` -> ``{"C": [16, 32], "kernel_size":
    [(3, 3), (1, 3)]}``: values split at top-level commas only."""
    from ._expr import split_top_level

    axes = {}
    for name, values in _parse_assignments(items, "--axis", "NAME=V1,V2").items():
        pieces = split_top_level(values, ",", f"--axis {name}")
        if any(not piece.strip() for piece in pieces):
            from .errors import ShapeguardError

            raise ShapeguardError(f"--axis {name}={values}: a value is empty; write --axis {name}=V1,V2.")
        axes[name] = [parse_value(v) for v in pieces]
    return axes


def parse_where(items: list[str]) -> list[str]:
    """Each ``--where EXPR``, checked to parse now (its names are checked
    against each target's axes with the space)."""
    from ._expr import parse_condition
    from .errors import ShapeguardError

    for item in items:
        try:
            parse_condition(item, "--where")
        except ShapeguardError as exc:
            raise ShapeguardError(str(exc).replace("--where: ", f"--where {item!r}: ", 1)
                                  .replace(f"--where {item!r}: {item.strip()!r} ", f"--where {item!r} ", 1)) from None
    return list(items)


def parse_inputs(items: list[str]) -> dict[str, str]:
    """``["x=H,W,C"]`` -> ``{"x": "H,W,C"}``; the template is checked with the space."""
    return _parse_assignments(items, "--input", "PARAM=TEMPLATE")


def _parse_assignments(items: list[str], option: str, form: str) -> dict[str, str]:
    """Repeated ``NAME=VALUE`` options -> ``{NAME: VALUE}``; a name given twice is an error."""
    from .errors import ShapeguardError

    assigned: dict[str, str] = {}
    for item in items:
        name, equals, value = item.partition("=")
        name = name.strip()
        if not equals or not name.isidentifier() or not value.strip():
            raise ShapeguardError(f"{option} {item!r} is not of the form {form}.")
        if name in assigned:
            raise ShapeguardError(
                f"{option} {name} is given twice; give it once: {option} {name}={form.partition('=')[2]}."
            )
        assigned[name] = value
    return assigned


def parse_value(text: str) -> Any:
    """An axis value: a Python literal (``8``, ``0.5``, ``(3, 3)``, ``[4, 5]``,
    ``'8'``), true/false/none in any case, a function by dotted name
    (``keras.activations.relu``, imported), else the string itself."""
    import ast

    text = text.strip()
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    if re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+", text):
        return _import_dotted(text)
    return text


def _import_dotted(text: str) -> Any:
    """``keras.activations.relu`` -> the object; one sentence if it cannot be had."""
    import importlib

    from .errors import ShapeguardError

    parts = text.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        except Exception as exc:  # the module raised while importing
            raise ShapeguardError(f"--axis value {text!r}: importing {'.'.join(parts[:cut])} raised "
                                  f"{type(exc).__name__}.") from None
        try:
            for part in parts[cut:]:
                obj = getattr(obj, part)
        except AttributeError:
            raise ShapeguardError(f"--axis value {text!r}: {'.'.join(parts[:cut])} has no {'.'.join(parts[cut:])!r};"
                                  " quote it to pass a string ('\"a.b\"').") from None
        return obj
    raise ShapeguardError(f"--axis value {text!r} looks like a dotted name, but no module {parts[0]!r} can be "
                          "imported; quote it to pass a string ('\"a.b\"').")


def _open_output(path: str | None):
    """Opened before any probing, so a bad path fails at once, not after the search."""
    from .errors import ShapeguardError

    if path is None:
        return None
    try:
        return open(path, "w", encoding="utf-8")
    except OSError as exc:
        raise ShapeguardError(f"cannot write --output {path}: {exc.strerror or exc}.") from None


def _resolve_all(texts: list[str]) -> list:
    """Every target's functions, all imported before any is probed, so a bad
    target fails at once; repeats are checked once."""
    from ._target import resolve

    targets, seen = [], set()
    for text in texts:
        for target in resolve(text):
            if target.name not in seen:
                seen.add(target.name)
                targets.append(target)
    return targets


def _plan(target, axes: dict, inputs: dict, where: list) -> dict:
    """The axes and templates to check ``target`` on: the decorator's, with the
    command line's on top. Building the space now reports a bad axis before
    any target is probed, in a message that names the target."""
    from .decorator import spec_of
    from .space import build_space

    spec = spec_of(target.function)
    declared_axes = dict(spec.axes) if spec is not None else {}
    declared_inputs = dict(spec.inputs or {}) if spec is not None else {}
    declared_where = spec.where if spec is not None else None
    declared_where = [] if declared_where is None else list(declared_where) if isinstance(declared_where, (list, tuple)) else [declared_where]
    plan = {"axes": {**declared_axes, **axes}, "inputs": {**declared_inputs, **inputs} or None,
            "where": declared_where + where or None}
    function = target.function.__wrapped__ if spec is not None else target.function
    build_space(function, plan["axes"], plan["inputs"], name=target.name, where=plan["where"]).valid_points
    return plan


def _check(target, plan: dict, args: argparse.Namespace, progress_stream):
    """One target's report; with a stream, a progress line while it searches."""
    from .engine import check

    progress = _Progress(progress_stream, target.name) if progress_stream is not None else None
    try:
        return check(
            target.function,
            inputs=plan["inputs"],
            max_examples=args.max_examples,
            seed=args.seed,
            exhaustive=True if args.exhaustive else None,
            timeout=args.timeout,
            where=plan["where"],
            strict=args.strict,
            target=target.name,
            on_probe=progress.update if progress is not None else None,
            **plan["axes"],
        )
    finally:
        if progress is not None:
            progress.clear()


class _Progress:
    """One status line on the terminal, rewritten after every probe."""

    def __init__(self, stream, target: str):
        self.stream, self.target, self.shown = stream, target, 0

    def update(self, probes: int, modes: int) -> None:
        counts = f": {probes} probes, {modes} failure mode{'s' * (modes != 1)} so far"
        room = max(_terminal_width(self.stream) - 1 - len(counts), 12)  # a wrapped line cannot be rewritten
        target = self.target if len(self.target) <= room else "..." + self.target[-(room - 3):]
        text = target + counts
        self.stream.write("\r" + text.ljust(self.shown))
        self.stream.flush()
        self.shown = len(text)

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * self.shown + "\r")
            self.stream.flush()
            self.shown = 0


def render(reports: list, fmt: str) -> str:
    """The whole output for ``fmt``, ending with a newline."""
    if fmt == "json":
        from .report import reports_to_json

        return reports_to_json(reports) + "\n"
    if fmt == "github":
        return "".join(line + "\n" for line in github_lines(reports))
    if fmt == "sarif":
        from .sarif import render_sarif

        return render_sarif(reports) + "\n"
    parts = [str(report) for report in reports]
    if len(reports) > 1:
        parts.append(summary(reports))
    return "".join(part + "\n\n" for part in parts[:-1]) + (parts[-1] + "\n" if parts else "")


def summary(reports: list) -> str:
    """``shapeguard: 3 targets: 1 failed (2 failure modes), 1 error, 1 passed``."""
    counts = {status: sum(r.status == status for r in reports) for status in ("fail", "error", "pass")}
    modes = sum(len(r.failures) for r in reports)
    parts = []
    if counts["fail"]:
        parts.append(f"{counts['fail']} failed ({modes} failure mode{'s' * (modes != 1)})")
    if counts["error"]:
        parts.append(f"{counts['error']} with block errors")
    if counts["pass"]:
        parts.append(f"{counts['pass']} passed")
    n = len(reports)
    return f"shapeguard: {n} target{'s' * (n != 1)}: " + (", ".join(parts) or "nothing checked")


def github_lines(reports: list) -> list[str]:
    """One workflow command per failure mode and per block error, then the
    summary line (GitHub shows the annotations on the lines they name)."""
    lines = []
    for report in reports:
        for failure in report.failures:
            name = f" {failure.layer_name!r}" if failure.layer_name else ""
            if failure.kind == "shape":
                what = f"shape failure: {failure.layer_class}{name} rejected input shapes " + " and ".join(
                    str(tuple(s)) for s in failure.input_shapes
                )
            else:
                what = f"config failure: {failure.layer_class}{name} rejected its arguments"
            body = [what, f"keras: {failure.message}", f"minimal call: {failure.call}"]
            body += _counts(failure)
            lines.append(_annotation(failure.location, "shapeguard", [f"{report.target}: {body[0]}", *body[1:]]))
        for error in report.errors:
            body = [f"{report.target}: the block raised {error.type}: {error.message}", f"call: {error.call}"]
            lines.append(_annotation(error.location, f"shapeguard: block raised {error.type}", body + _counts(error)))
        for warning in report.warnings:  # README, "Reports that explain"
            body = [f"{report.target}: {warning.message}", f"call: {warning.call}"]
            level = "error" if report.strict else "warning"
            lines.append(_annotation(warning.location, "shapeguard: broadcast", body, level))
    lines.append(summary(reports))
    return lines


def _counts(item) -> list[str]:
    return [f"fails at {item.failing} of {item.of} combinations"] if item.failing is not None else []


def _annotation(location, title: str, body: list[str], level: str = "error") -> str:
    from .report import relative_path

    props = []
    if location is not None:
        props += [f"file={_escape_property(relative_path(location.file))}", f"line={location.line}"]
    props.append(f"title={_escape_property(title)}")
    return f"::{level} {','.join(props)}::{_escape_data(chr(10).join(body))}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _write(text: str, stream) -> None:
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:  # the reader left (| head): the exit status still tells
        pass


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _terminal_width(stream) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, OSError, ValueError):
        return 80
