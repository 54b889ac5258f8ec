"""The ``shapeguard`` command (docs/reference/cli.md).

    shapeguard check shapeguard.examples.resnext_block:block

Only the standard library loads at start, so ``--help`` and ``--version``
answer at once; TensorFlow, Keras and Hypothesis load when the first target is
imported or probed, with their native start-up noise kept off the terminal.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
from typing import Any, NamedTuple

from . import _cache, _cachedir, _fitcli
from . import report as _report
from ._callee import resolve
from ._config import project_config
from ._collect import Target, collect, collect_file, is_file_path, module_name_for, python_files_under, split_target
from ._expr import parse_condition, split_top_level
from ._optional_imports import skip_in_this_process
from ._options import COLOR_CHOICES, FORMATS, positive_int, positive_seconds
from ._outcome import DIED, ERROR, INTERNAL, Outcome
from ._quiet import silenced_native_output
from ._settings import CheckSettings
from ._supervise import Channel, in_child, supervise
from ._terminal import Progress, isatty, wants_colour
from ._usercode import definition
from ._version import __version__
from .errors import ShapeguardError, WhereOption

_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")  # an axis value that names a function or class

EXIT_PASSED = 0  # every target passed
EXIT_FAILED = 1  # at least one shape or config failure
EXIT_USAGE = 2  # bad options, or a target that cannot be imported, found or called
EXIT_BLOCK_ERRORS = 3  # no shape failures, but a block raised errors of its own, or a found block was not checked
EXIT_INTERRUPTED = 130  # Ctrl-C; what was found so far is reported


_EPILOG = """\
targets:
  package.module:function     a function (or factory, or model builder) in a module
  path/to/file.py:Layer       a keras Layer/Model subclass (also :Layer.call): a fresh
                              instance per probe, its __init__ parameters searched
  path/to/file.py:function    a function in a file
  path/to/file.py:Class.method  a method; the class is created with no arguments
  path/to/file.py, package.module
                              every block builder defined in it, decorated or
                              not: each function (or method of a top-level
                              class) that builds Keras layers or calls
                              keras.ops, each keras Layer/Model subclass; a
                              file that never mentions keras, shapeguard or
                              @guard is not imported
  path/to/folder              every such block in the .py files under it
                              (the files pytest --shapeguard would collect)
  A block found this way that cannot be checked without options is listed
  as "could not check" with the option it needs; the others are checked.

exit status:
  0    every target passed (or no Keras block was found: a note says so)
  1    at least one shape or config failure
  2    usage error, or a target that cannot be imported, found or called
  3    no shape failures, but a block raised errors of its own (or hung,
       exited, killed its process, or called no Keras layer at all), or a
       block that was found could not be checked
  130  interrupted (Ctrl-C); what was found so far is reported

configuration:
  [tool.shapeguard] in the nearest pyproject.toml (from the current folder up):
  max_examples, seed, timeout, strict (under a decorator's own settings),
  format, exclude (glob patterns of files and folders a folder check skips),
  cache; a flag given wins

environment:
  NO_COLOR             any value: no colour (--color wins)
  FORCE_COLOR          any value: colour even when not on a terminal
  SHAPEGUARD_CACHE_DIR the cache folder (default: the user cache folder)
  SHAPEGUARD_NO_CACHE  any value but 0: no cache, as --no-cache
  SHAPEGUARD_TRACEBACK any value: an internal error shows its traceback
  SHAPEGUARD_SARIF_CATEGORY  the SARIF run's category: automationDetails.id
                       becomes shapeguard/VALUE/ instead of shapeguard/TARGETS/
  KERAS_BACKEND        the backend Keras runs on (part of the cache key)
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
        "functions, classes or constants (keras.activations.relu) or strings, split at top-level commas; repeatable",
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
    check.add_argument(
        "--input-shape", action="append", default=[], metavar="PARAM=TEMPLATE",
        help="template of a parameter that takes a shape tuple instead of a tensor (a model builder's "
        "input_shape=H,W,C); repeatable",
    )
    _fitcli.add_arguments(check)  # --fit, --loss, --predict: the model against its data
    check.add_argument("--max-examples", type=positive_int, metavar="N",
                       help="probe budget per target (default: the decorator's, else 100)")
    check.add_argument("--exhaustive", action="store_true", help="probe every combination, whatever the budget")
    check.add_argument("--seed", type=int, metavar="N", help="seed of the search (default: the decorator's, else 0)")
    check.add_argument("--timeout", type=positive_seconds, metavar="SECONDS",
                       help="longest one call of a block may take; a block that hangs is stopped and "
                       "reported as an error (exit status 3) (default: the decorator's, else 60)")
    check.add_argument("--format", choices=FORMATS,
                       help="text (default, or [tool.shapeguard] format), json, github (workflow annotations), "
                       "or sarif (SARIF 2.1.0, for code scanning dashboards)")
    check.add_argument("--strict", action=argparse.BooleanOptionalAction,
                       help="broadcast warnings fail the check too (exit status 1); --no-strict: they do not, "
                       "whatever the decorator or [tool.shapeguard] says")
    check.add_argument("--output", metavar="FILE", help="write the report to FILE instead of standard output")
    check.add_argument("--lines", action="store_true",
                       help="in the text report, name the line of your code that called each layer on a "
                       "failing merge's branches")
    check.add_argument("--color", choices=COLOR_CHOICES, default="auto",
                       help="colour the text report: auto (default) only when standard output is a terminal and "
                       "NO_COLOR is not set (FORCE_COLOR forces it); never in json, github or sarif, nor in an "
                       "--output file")
    check.add_argument("-q", "--quiet", action="store_true", help="no progress line and no notes on standard error")
    check.add_argument("--no-cache", action="store_true",
                       help="probe every target again, and keep nothing: neither its reports nor the layers' "
                       "answers (the cache is in the folder `shapeguard cache dir` prints)")
    cache = commands.add_parser(
        "cache", help="the folder of reports and layer answers kept between runs",
        description="shapeguard keeps each target's reports until anything they depend on changes (its "
        "source, the user's code it imports, the options, the versions of Python, Keras and its backend, "
        "keras.json): an unchanged target is answered without importing Keras.",
    )
    cache.add_argument("action", choices=("clear", "dir"),
                       help="clear: delete shapeguard's results and memo in the cache folder; dir: print where it is")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``shapeguard`` and ``python -m shapeguard``; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    if args.command == "cache":
        return run_cache(args)
    try:
        return run_check(args, argv)
    except KeyboardInterrupt:  # outside the search (which reports what it found)
        print("shapeguard: interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED


def run_cache(args: argparse.Namespace) -> int:
    """`shapeguard cache clear` and `shapeguard cache dir`."""
    if args.action == "dir":
        print(_cachedir.directory())
        return EXIT_PASSED
    removed, failed, folder = _cache.clear()
    if failed:
        print(f"shapeguard: could not clear {folder}: {len(failed)} file{'s' * (len(failed) != 1)} not removed "
              f"({failed[0]}); {removed} removed.", file=sys.stderr)
        return EXIT_USAGE
    print(f"shapeguard: cleared {folder} ({removed} file{'s' * (removed != 1)} removed).")
    return EXIT_PASSED


def run_check(args: argparse.Namespace, argv: list[str] | None = None) -> int:
    """`shapeguard check`: options, targets, reports, exit status.

    What can be checked without importing anything is checked here, at once.
    Then, unless this process is already the child, the check runs in a child
    process watched by this one (`shapeguard._supervise`), so that a block
    that kills its process is still reported."""
    try:
        parse_axes(args.axis, import_names=False)
        inputs = (parse_inputs(args.input), _parse_assignments(args.input_shape, "--input-shape", "PARAM=TEMPLATE"))
        where = parse_where(args.where)
        check_output_path(args.output, args.targets)
    except ShapeguardError as exc:
        print(f"shapeguard: {exc.for_cli()}", file=sys.stderr)
        return EXIT_USAGE
    try:
        config = project_config()
    except ShapeguardError as exc:
        print(f"shapeguard: {exc}", file=sys.stderr)
        return EXIT_USAGE
    args = with_project(args, config)
    if args.fit or args.loss or args.predict:
        return _run_fit(args)  # the model against its data: no space, no child process
    if args.no_cache or config.get("cache") is False:
        _cachedir.turn_off()  # for the child too, and for the layers' answers
    if argv is not None and not in_child():
        units = _cache_units(args)
        if units and all(unit.entry is not None for unit in units):
            return _run_here(args, inputs, where, units)  # nothing to probe: no child, no Keras
        return supervise(argv, args.timeout or config.get("timeout"), args.quiet)
    return _run_here(args, inputs, where)


def _run_fit(args: argparse.Namespace) -> int:
    """``--fit``: one model against its data (`shapeguard._fitcli`), in this process: no space to search."""
    try:
        with silenced_native_output():
            report = _fitcli.check(args, parse_axes(args.axis))
            text = _report.render([report], args.format)
    except ShapeguardError as exc:
        print(f"shapeguard: {exc.for_cli()}", file=sys.stderr)
        return EXIT_USAGE
    if not _emit(text, args, sys):  # this process's own streams, the native output back on
        return EXIT_USAGE
    return exit_status([report])


def _emit(text: str, args: argparse.Namespace, terminal) -> bool:
    """Write the rendered reports to ``--output`` or ``terminal.stdout`` (a
    text report coloured as ``--color`` says); False, with the sentence said on
    ``terminal.stderr``, when the file cannot be written."""
    if args.output is None:
        if args.format == "text" and wants_colour(args.color, terminal.stdout):
            from .report.ansi import highlight

            text = highlight(text)
        _write(text, terminal.stdout)
        return True
    try:
        write_atomically(args.output, text)
    except OSError as exc:
        print(f"shapeguard: cannot write --output {getattr(args, 'output_as_given', args.output)}: "
              f"{exc.strerror or exc}.", file=terminal.stderr)
        return False
    return True


def with_project(args: argparse.Namespace, config) -> argparse.Namespace:
    """``args`` with the project's ``[tool.shapeguard]`` (`shapeguard._config`)
    where no flag was given: ``format`` here; the settings under each
    block's decorator (`_plan`), and ``exclude`` for a folder, through ``project``."""
    return argparse.Namespace(**{**vars(args), "format": args.format or config.get("format") or "text",
                                 "project": config})


def _cache_units(args: argparse.Namespace) -> list | None:
    """The run's cache units (`shapeguard._cache`), each with its entry when
    the cache has one; None when the cache is off."""
    if not _cachedir.enabled():
        return None
    options = {name: getattr(args, name) for name in
               ("axis", "input", "input_shape", "where", "max_examples", "seed", "timeout", "exhaustive", "strict")}
    options["config"] = args.project.table
    options["dotted_names"] = sorted({value for values in parse_axes(args.axis, import_names=False).values()
                                      for value in values if isinstance(value, str) and _DOTTED.fullmatch(value)})
    files_under = lambda folder: python_files_under(folder, args.project.excludes)
    units = _cache.units(args.targets, options, files_under, split_target, is_file_path, module_name_for)
    for unit in units:
        unit.entry = _cache.load(unit)
    return units


def _run_here(args: argparse.Namespace, inputs: tuple[dict, dict], where: list, units: list | None = None) -> int:
    channel = Channel() if in_child() else None
    output = args.output
    if output is not None:  # resolved before the first probe: a block may change the working directory
        args = argparse.Namespace(**{**vars(args), "output": os.path.abspath(output), "output_as_given": output})
    if channel is not None:
        import gc

        gc.disable()  # while the targets import TensorFlow: see _freeze_imported_objects
        skip_in_this_process()  # what Keras and TensorFlow import optionally and a check never uses
    try:
        if units is None:
            units = _cache_units(args)
        if not (units and all(unit.entry is not None for unit in units)):
            try:
                with silenced_native_output():  # a dotted value (keras.activations.relu) imports TensorFlow
                    parse_axes(args.axis)
            except ShapeguardError as exc:
                print(f"shapeguard: {exc.for_cli()}", file=sys.stderr)
                return EXIT_USAGE
        return _run_with(args, inputs, where, channel, units)
    finally:
        if channel is not None:  # however it ends, unless the process dies: the parent knows
            channel.done()


def _run_with(args: argparse.Namespace, inputs: tuple[dict, dict], where: list, channel, units) -> int:
    show_progress = not args.quiet and isatty(sys.stderr)
    with silenced_native_output() as terminal:
        try:
            run = _check_all(args, inputs, where, terminal.stderr if show_progress else None, channel, units)
            targets, reports, not_checked, interrupted = run.targets, run.reports, run.not_checked, run.interrupted
        except ShapeguardError as exc:
            print(f"shapeguard: {exc.for_cli()}", file=terminal.stderr)
            return EXIT_USAGE
        except Exception as exc:  # a bug in shapeguard outside any one target's check
            if os.environ.get("SHAPEGUARD_TRACEBACK"):
                raise
            print(f"shapeguard: internal error: {_internal(exc)}", file=terminal.stderr)
            return EXIT_USAGE

        scope = _report.Scope(paths=tuple(run.found_in), discovered=any(_is_bare(t) for t in args.targets),
                              found=len(targets), not_checked=tuple(not_checked), targets=tuple(args.targets),
                              category=os.environ.get("SHAPEGUARD_SARIF_CATEGORY", "").strip())
        if not _emit(_report.render(reports, args.format, args.lines, scope), args, terminal):
            return EXIT_USAGE
        if interrupted:
            found = "; reported what was found so far" if reports else ""
            print(f"shapeguard: interrupted{found}.", file=terminal.stderr)
        elif not targets and not args.quiet:
            project = getattr(args, "project", None)
            skipped = (f", and {os.path.relpath(project.path)}'s [tool.shapeguard] exclude skips "
                       + ", ".join(map(repr, project.get("exclude"))) if project and project.get("exclude") else "")
            print(
                "shapeguard: nothing to check: no Keras block builders in " + _listed(args.targets)
                + " (no function or class there builds Keras layers; files that never mention keras are not"
                f" imported{skipped}); name one as path/to/file.py:function.",
                file=terminal.stderr,
            )
    return exit_status(reports, interrupted, not_checked)


def _listed(targets: list[str], shown: int = 3) -> str:
    """The targets for one sentence: all of them, or the first ``shown`` and
    how many more (pre-commit passes every staged file)."""
    if len(targets) <= shown + 1:
        return ", ".join(targets)
    return f"{', '.join(targets[:shown])} and {len(targets) - shown} more files"


def _is_bare(text: str) -> bool:
    """A bare module, file or folder: its blocks are found, not named."""
    if os.path.isdir(text):
        return True
    try:
        return split_target(text)[1] is None
    except ShapeguardError:
        return False


def _internal(exc: BaseException) -> str:
    return (f"{type(exc).__name__}: {' '.join(str(exc).split())}"
            " (a bug in shapeguard; set SHAPEGUARD_TRACEBACK=1 to see where, and please report it).")


class _Run(NamedTuple):
    targets: list  # every block found or named, each once
    reports: list
    not_checked: list  # report.NotChecked, in file order
    interrupted: bool
    found_in: list  # the target texts as given that found or named a block


def _check_all(args: argparse.Namespace, inputs: tuple[dict, dict], where: list, progress_stream,
               channel=None, units=None) -> _Run:
    """The targets, their reports, the blocks not checked and whether Ctrl-C
    stopped the run (`_Run`). Every target is imported, its space built and its options validated before the first is
    probed, so a bad one fails at once; Ctrl-C keeps the reports made so far.
    A block found in a bare module, file or folder (not named) that cannot be
    planned or checked (a parameter nothing gives values to, a class that
    needs arguments, no tensor returned) is not an error of the run: it goes
    to ``not_checked`` (`report.NotChecked`, in file order) with the sentence
    saying what it needs, and the others are still checked. A bug in
    shapeguard while checking one target makes that target's report an
    ``InternalError`` and the others are still checked. A unit the result
    cache has (``units``, `shapeguard._cache`) is answered from it, and each
    unit checked here is kept there."""
    targets: list = []
    done: dict = {}  # target index -> ("report", Report) or ("not_checked", NotChecked)
    found_in: list = []
    resolved = None
    try:
        collecting = Progress(progress_stream, "shapeguard", "collecting") if progress_stream is not None else None
        if collecting is not None:
            collecting.show()
        try:
            resolved = _resolve_all(args.targets, units, args.project.excludes)
        finally:
            if collecting is not None:
                collecting.clear()
        targets, found_in = resolved.targets, resolved.found_in
        done.update(resolved.cached)
        plans = []
        axes = None
        for i, target in enumerate(targets):
            if i in done:
                continue
            if target.problem is not None:
                done[i] = ("not_checked", _not_checked(target, target.problem.for_cli()))
                continue
            try:
                if axes is None:
                    axes = parse_axes(args.axis)
                plans.append((i, target, _plan(target, axes, inputs, where, args)))
            except ShapeguardError as exc:
                if not target.found:
                    raise
                done[i] = ("not_checked", _not_checked(target, exc.for_cli()))
        if channel is not None:
            _freeze_imported_objects()
        for i, target, plan in plans:
            before = set(sys.modules)
            try:
                report = _check(target, plan, progress_stream, channel)
            except (KeyboardInterrupt, MemoryError):
                raise
            except ShapeguardError as exc:  # e.g. a target that returns no tensor at any point
                if target.found:
                    done[i] = ("not_checked", _not_checked(target, exc.with_context(subject=target.name).for_cli()))
                    continue
                raise exc.with_context(subject=target.name) from None
            except Exception as exc:
                if os.environ.get("SHAPEGUARD_TRACEBACK"):
                    raise
                report = _internal_error_report(target, plan, exc)
            done[i] = ("report", report)
            resolved.loaded_while_checking(i, set(sys.modules) - before)
            if report.interrupted:
                return _finished(targets, done, True, found_in)
    except KeyboardInterrupt:
        return _finished(targets, done, True, found_in)
    if resolved is not None:
        resolved.keep(done)
    return _finished(targets, done, False, found_in)


def _finished(targets: list, done: dict, interrupted: bool, found_in: list) -> _Run:
    """The `_Run` of what is done, in target order."""
    items = [done[i] for i in sorted(done)]
    return _Run(targets, [r for kind, r in items if kind == "report"], [r for kind, r in items if kind == "not_checked"],
                interrupted, found_in)


def _not_checked(target, message: str):
    """The entry of a found block that could not be checked: the sentence
    without the target's name in front (the summary names it; a sentence
    naming it inline reads "it raised ...")."""
    reason = message.removeprefix(f"{target.name}: ")
    if reason.startswith(f"{target.name} "):  # a sentence that names the block inline: "X raised ..."
        reason = "it " + reason.removeprefix(f"{target.name} ")
    file, line = target.defined_at or (None, None)
    return _report.NotChecked(target.name, reason, file, line)


def _freeze_imported_objects() -> None:
    """In the checking process (which ends with the check): the garbage
    collector was off while the targets were imported (TensorFlow's import
    makes hundreds of thousands of objects, and collecting among them made
    the import about a fifth slower); what the imports made is then moved out
    of the collector's sight (``gc.freeze``), so that a full collection, which
    Hypothesis runs once per process, takes microseconds instead of 0.2 s,
    and collection is on again for the check."""
    import gc

    gc.freeze()
    gc.enable()


def _internal_error_report(target, plan: dict, exc: BaseException):
    found = definition(target.function) if target.function is not None else target.defined_at
    report = _report.Report(target=target.name, mode="search", probes=0, space={}, size=0, seed=0,
                            definition=_report.Location(*found) if found else None)
    report.errors.append(_report.BlockError(INTERNAL, _internal(exc), None, {}, ""))
    return report


def exit_status(reports, interrupted: bool = False, not_checked=()) -> int:
    """130 when interrupted; 1 for a shape or config failure; 3 for block
    errors, or for a found block that could not be checked (blocks found and
    none checked is never a pass); else 0, nothing found included (the run
    says so on standard error)."""
    if interrupted:
        return EXIT_INTERRUPTED
    statuses = {r.status for r in reports}
    if "fail" in statuses:
        return EXIT_FAILED
    if "error" in statuses or not_checked:
        return EXIT_BLOCK_ERRORS
    return EXIT_PASSED


def parse_axes(items: list[str], import_names: bool = True) -> dict[str, list]:
    """``["C=16,32", "kernel_size=(3,3),(1,3)"]`` -> ``{"C": [16, 32], "kernel_size":
    [(3, 3), (1, 3)]}``: values split at top-level commas only. Dotted names
    are imported unless ``import_names`` is False (the watching parent
    process, which stays light, leaves them to the child)."""
    axes = {}
    for name, values in _parse_assignments(items, "--axis", "NAME=V1,V2").items():
        pieces = split_top_level(values, ",", f"--axis {name}")
        if any(not piece.strip() for piece in pieces):
            raise ShapeguardError(f"--axis {name}={values}: a value is empty; write --axis {name}=V1,V2.")
        axes[name] = [parse_value(v, import_names) for v in pieces]
    return axes


def parse_where(items: list[str]) -> list[str]:
    """Each ``--where EXPR``, checked to parse now (its names are checked
    against each target's axes with the space)."""
    for item in items:
        parse_condition(item, WhereOption(item))
    return list(items)


def parse_inputs(items: list[str]) -> dict[str, str]:
    """``["x=H,W,C"]`` -> ``{"x": "H,W,C"}``; the template is checked with the space."""
    return _parse_assignments(items, "--input", "PARAM=TEMPLATE")


def _parse_assignments(items: list[str], option: str, form: str) -> dict[str, str]:
    """Repeated ``NAME=VALUE`` options -> ``{NAME: VALUE}``; a name given twice is an error."""
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


def parse_value(text: str, import_names: bool = True) -> Any:
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
    if _DOTTED.fullmatch(text):
        return _import_dotted(text) if import_names else text
    return text


def _import_dotted(text: str) -> Any:
    """``keras.activations.relu`` -> the object; one sentence if it cannot be had."""
    import importlib

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
        _refuse_imported_object(text, obj, parts[:cut])
        return obj
    raise ShapeguardError(f"--axis value {text!r} looks like a dotted name, but no module {parts[0]!r} can be "
                          "imported; quote it to pass a string ('\"a.b\"').")


def _is_constant(value: Any) -> bool:
    if isinstance(value, tuple):
        return all(_is_constant(v) for v in value)
    return value is None or isinstance(value, (int, float, str, bool))


def _refuse_imported_object(text: str, obj: Any, module_path: list) -> None:
    """A dotted ``--axis`` value is imported as a function, class, constant
    (numbers, strings, booleans, None, tuples of those) or enum member. A
    module never is, and another object (a mapping such as ``os.environ``, an
    instance) only from the user's own code: from the standard library or a
    library it would put whatever it holds into the report."""
    import enum
    import inspect
    from collections.abc import Mapping

    from ._usercode import is_internal

    if inspect.isroutine(obj) or inspect.isclass(obj) or isinstance(obj, enum.Enum) or _is_constant(obj):
        return
    if inspect.ismodule(obj):
        raise ShapeguardError(f"--axis value {text!r} is a module, not a function, class or constant; "
                              "name something in it, or quote it to pass a string ('\"a.b\"').")
    module = sys.modules.get(".".join(module_path))
    source = getattr(module, "__file__", None)
    if source is None or is_internal(source):
        kind = "a mapping" if isinstance(obj, Mapping) else "an instance"
        raise ShapeguardError(f"--axis value {text!r} is {kind} ({type(obj).__module__}.{type(obj).__qualname__}), "
                              "not a function, class or constant, the only values imported from the standard library "
                              "and the libraries shapeguard runs on (an object of your own module may be given).")


def check_output_path(path: str | None, targets: list[str]) -> None:
    """Refuse, before anything runs, an ``--output`` that cannot be written or
    that is one of the targets (it would replace the source being checked).
    The file itself is written only when the report is ready (`write_atomically`)."""
    if path is None:
        return
    if not path.strip():
        raise ShapeguardError("--output needs a file name.")
    real = os.path.realpath(path)
    if os.path.isdir(real):
        raise ShapeguardError(f"cannot write --output {path}: it is a directory.")
    folder = os.path.dirname(real)
    if not os.path.isdir(folder):
        raise ShapeguardError(f"cannot write --output {path}: no such directory {os.path.dirname(path) or '.'}.")
    if not os.access(folder, os.W_OK | os.X_OK) or (os.path.exists(real) and not os.access(real, os.W_OK)):
        raise ShapeguardError(f"cannot write --output {path}: permission denied.")
    for text in targets:
        if os.path.isdir(text):
            if real.endswith(".py") and real.startswith(os.path.join(os.path.realpath(text), "")):
                raise ShapeguardError(f"--output {path} is a Python file under the target {text}; write the report elsewhere.")
            continue
        try:
            module_part, _ = split_target(text)
        except ShapeguardError:
            continue  # reported when the targets are resolved
        if is_file_path(module_part):
            candidates = [module_part]
        else:
            base = os.path.join(*module_part.split("."))
            candidates = [base + ".py", os.path.join(base, "__init__.py")]
        if any(os.path.realpath(c) == real for c in candidates):
            raise ShapeguardError(f"--output {path} is the target {text}; write the report to another file.")


def write_atomically(path: str, text: str) -> None:
    """Write a temporary file next to ``path`` and rename it over ``path``: a
    reader never sees half a report, and a run that fails leaves the old file.
    A path that is not a regular file (a device, a FIFO) is written into."""
    import stat
    import tempfile

    real = os.path.realpath(path)
    if os.path.exists(real) and not stat.S_ISREG(os.stat(real).st_mode):
        # A device or a pipe (/dev/null, a FIFO): written into, never replaced.
        with open(real, "w", encoding="utf-8") as stream:
            stream.write(text)
        return
    folder = os.path.dirname(real)
    try:
        mode = os.stat(real).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    descriptor, temporary = tempfile.mkstemp(prefix=".shapeguard-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, real)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


class _Resolved:
    """The run's targets in order (`_collect.Target`), the texts that found
    or named one, the items the cache answered (target index -> item) and,
    for each unit checked here, the indices of its targets (to keep them)."""

    def __init__(self) -> None:
        self.targets: list = []
        self.found_in: list = []
        self.cached: dict = {}
        self.live: list = []  # (unit, [target indices], loaded files)

    def loaded_while_checking(self, index: int, modules: set) -> None:
        """Modules the check of target ``index`` imported (a block's own
        ``import`` inside its body) count among its unit's loaded files."""
        for unit, indices, loaded in self.live:
            if indices is not None and index in indices:
                loaded.update(_cache.loaded_files(modules))

    def keep(self, done: dict) -> None:
        """Keep each unit whose every target was checked here (`_cache.store`)."""
        for unit, indices, loaded in self.live:
            if indices is not None and all(i in done for i in indices):
                _cache.store(unit, [done[i] for i in indices], loaded)


def _resolve_all(texts: list[str], units: list | None = None, excluded=None) -> _Resolved:
    """Every target's blocks, all imported before any is probed, so a bad
    target fails at once, and the texts that found or named one. A block
    reached twice (the same name, or the same function through a file and its
    module name, a bare file and one of its functions) is checked once, under
    its first name; named by the user either time, it counts as named
    (`_collect.Target.found` is False). A unit of ``units`` with a cache
    entry is not imported: its targets are the entry's. ``excluded(path)``:
    what a folder's walk skips (`_config.ProjectConfig.excludes`)."""
    resolved = _Resolved()
    targets = resolved.targets
    by_name: dict = {}
    by_object: dict = {}
    for unit in units if units is not None else [_cache.Unit(text, text, None) for text in texts]:
        entry = unit.entry
        if entry is not None and not any(_item_name(item) in by_name for item in entry.items):
            for item in entry.items:
                by_name[_item_name(item)] = len(targets)
                resolved.cached[len(targets)] = _cache.as_cached(item)
                targets.append(Target(_item_name(item), None, found=True))
            if entry.items and unit.given not in resolved.found_in:
                resolved.found_in.append(unit.given)
            continue
        before = set(sys.modules)
        collected = collect_file(unit.text) if unit.text != unit.given else collect(unit.text, excluded)
        loaded = _cache.loaded_files(set(sys.modules) - before)
        if collected and unit.given not in resolved.found_in:
            resolved.found_in.append(unit.given)
        indices: list | None = []
        for target in collected:
            key = _identity(target.function)
            index = by_name.get(target.name, by_object.get(key))
            if index is None:
                by_name[target.name] = len(targets)
                if key is not None:
                    by_object[key] = len(targets)
                indices.append(len(targets))
                targets.append(target)
            else:
                indices = None  # checked under another unit's name: this unit is not kept
                if targets[index].found and not target.found:
                    targets[index] = dataclasses.replace(targets[index], found=False)
        resolved.live.append((unit, indices, loaded))
    return resolved


def _item_name(item) -> str:
    kind, record = item
    return record.target


def _identity(function) -> int | None:
    """The same block whichever way it was reached: a bound method by its
    function (each resolution makes a fresh instance), else the object."""
    if function is None:
        return None
    underlying = getattr(function, "__func__", None)
    return id(underlying if underlying is not None else function)


def _plan(target, axes: dict, inputs: tuple[dict, dict], where: list, args: argparse.Namespace):
    """The `engine.Plan` to check ``target`` on: the decorator's contract,
    with the command line's on top (``inputs`` is (--input, --input-shape)),
    and the flags as settings, over the decorator's, over the project's
    (``[tool.shapeguard]``). Resolving the target, building its space and
    validating the settings now reports a bad axis, or a decorator's bad
    setting, before any target is probed, in a message that names the target."""
    from . import engine  # the pipeline: only the checking process needs it

    tensors, shapes = inputs
    try:
        flags = {"max_examples": args.max_examples, "seed": args.seed, "timeout": args.timeout,
                 "exhaustive": True if args.exhaustive else None, "strict": args.strict}
        settings = CheckSettings(**{name: value for name, value in flags.items() if value is not None})
        planned = engine.plan(target.function, axes=axes, settings=settings)
        planned = dataclasses.replace(planned, settings=planned.settings.under(args.project.settings()))
        declared_where = planned.where
        if declared_where is None:
            declared_where = []
        elif not isinstance(declared_where, (list, tuple)):
            declared_where = [declared_where]
        planned = dataclasses.replace(
            planned,
            inputs={**(planned.inputs or {}), **tensors} or None,
            input_shapes={**(planned.input_shapes or {}), **shapes} or None,
            where=[*declared_where, *where] or None,
        )
        callee = resolve(planned.function, planned.inputs, planned.input_shapes, name=target.name)
        callee.space(planned.axes, where=planned.where).check_contract()
    except ShapeguardError as exc:
        raise exc.with_context(subject=target.name) from None
    return planned


def _check(target, planned, progress_stream, channel=None):
    """One target's report; with a stream, a progress line while it searches;
    with a channel, a record before each probe and the points that killed an
    earlier process reported without being called."""
    from . import engine

    progress = Progress(progress_stream, target.name) if progress_stream is not None else None
    before_probe, known = None, None
    if channel is not None:
        before_probe = lambda point, call, timeout: channel.probing(target.name, point, call, timeout)
        known = _known_deaths(channel.deaths.get(target.name))
    watch = engine.Watch(target=target.name, on_probe=progress.update if progress is not None else None,
                         on_phase=progress.phase if progress is not None else None,
                         before_probe=before_probe, known=known)
    try:
        return engine.run(planned, watch)
    finally:
        if progress is not None:
            progress.clear()


def _known_deaths(death: dict | None) -> dict | None:
    if not death:
        return None
    outcome = Outcome(ERROR, file=death.get("file"), line=death.get("line"), message=death["message"],
                      error_type=DIED)
    return {tuple(death["point"]): outcome}


def _write(text: str, stream) -> None:
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:  # the reader left (| head): the exit status still tells
        pass
