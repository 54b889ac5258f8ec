"""`check` and `assert_ok`: space -> search -> report, for one function."""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
from typing import Any, Callable

from ._callee import NoTensor, resolve
from ._options import check_exhaustive, check_max_examples, check_seed, check_timeout
from ._outcome import ERROR, NO_KERAS_CALL
from ._probe import first_layer_rank, probe, session
from ._spec import refuse_lazy_functions, spec_of, unwrap
from ._usercode import target_files
from .errors import ShapeguardError
from .explain import explain
from .report import BlockError, Failure, Location, Report
from .search import search

DEFAULT_MAX_EXAMPLES = 100
DEFAULT_TIMEOUT = 60.0


def check(
    fn: Callable,
    /,
    *,
    inputs: dict[str, Any] | None = None,
    input_shapes: dict[str, Any] | None = None,
    max_examples: int | None = None,
    seed: int | None = None,
    exhaustive: bool | None = None,
    database: Any = None,
    target: str | None = None,
    on_probe: Callable[[int, int], None] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    where: Any = None,
    strict: bool = False,
    before_probe: Callable[[tuple, str], None] | None = None,
    known: dict | None = None,
    **axes: Any,
) -> Report:
    """Search ``fn``'s parameter space for shape bugs and return a `Report`.

    ``fn`` is a block function, a Layer subclass (each probe builds a fresh
    instance), a factory returning the callable to apply, or a model builder
    (README, "What can be checked"). ``inputs`` maps tensor parameters to
    templates (``{"x": "H,W,C"}``); ``input_shapes`` maps parameters that take a
    shape tuple instead (``{"input_shape": "H,W,C"}``). A target that returns
    no tensor at any point raises `ShapeguardError`.

    Keyword arguments not listed here are axes (``C=[16, 32]``, ``filters=[32]``)
    and override the ones ``@guard`` declared. ``max_examples`` is the probe
    budget (default 100): a space no larger is enumerated exhaustively, as is
    any space with ``exhaustive=True``. ``seed`` changes the search, not what it
    means (default 0: the same code gives the same report). ``database`` is off
    by default; ``True`` uses Hypothesis's (``.hypothesis/``), or pass an
    `ExampleDatabase` or a directory: failing examples saved there are probed
    first on the next run. A call running past ``timeout`` seconds (default 60;
    None for no limit) is stopped and reported as an error at that point; the
    search goes on with the others. ``where`` is the contract's constraint:
    an expression over axis names (``"filters % groups == 0"``), a callable
    given the point as a dict, or a list of them; points where it does not
    hold are skipped (README, "Telling shapeguard the contract").
    ``strict=True`` makes broadcast warnings fail the check (README, "Reports
    that explain"). A bad option raises `ShapeguardError`; so does an
    ``async def`` or generator function (its body would not run).
    """
    options = resolve_options(fn, inputs=inputs, input_shapes=input_shapes, max_examples=max_examples, seed=seed,
                              exhaustive=exhaustive, timeout=timeout, where=where, axes=axes)
    if target is not None and not isinstance(target, str):
        raise ShapeguardError(f"target must be a string naming the block, not {target!r:.60}.")
    callable_, name, where = options["function"], options["name"], options["where"]
    target = target or _default_target(callable_, name)
    call_name, note = _call_name(fn, name)
    callee = resolve(callable_, options["inputs"], options["input_shapes"], name=name, call_name=call_name)
    space = callee.space(options["axes"], where=where)
    space.valid_points  # noqa: B018 - the contract is checked before the first probe
    if callee.inputs is None:
        space = _space_of_inferred_rank(callee, space, options["axes"], where, timeout)
    call_of = lambda point: callee.render(space.arguments(point)) + note
    with session():  # Keras's special methods wrapped once for every probe of the check
        result = search(
            callee,
            space,
            max_examples=options["max_examples"],
            seed=options["seed"],
            exhaustive=exhaustive,
            database=_database(database),
            database_key=_database_key(callable_),
            on_probe=on_probe,
            timeout=timeout,
            before_probe=(lambda point: before_probe(point, call_of(point))) if before_probe else None,
            known=known,
        )
        _refuse_non_blocks(result.outcomes.values(), target)
        report = _report(callable_, target, space, result, options["seed"], call_of)
        report.notes.extend(callee.notes)
        if callee.inputs is None:
            _reject_wrong_rank(report, space, target)
        report.strict = bool(strict)
        files = target_files(callable_)
        explain(report, space, result, lambda space_, point: probe(callee, space_, point, timeout, user_files=files),
                call_of, extra_budget=options["max_examples"])
    return report


def resolve_options(fn: Callable, *, inputs=None, input_shapes=None, max_examples=None, seed=None,
                    exhaustive=None, timeout=None, where=None, axes=None) -> dict:
    """The function to probe and the options to probe it with: ``check``'s
    arguments over the decorator's, each validated, so that a bad value is the
    caller's `ShapeguardError` before anything is probed (the command line
    calls this for every target before checking the first)."""
    check_max_examples(max_examples)
    check_seed(seed)
    check_timeout(timeout)
    check_exhaustive(exhaustive)
    if not callable(fn):
        raise ShapeguardError(f"check needs a function, not {type(fn).__name__} {fn!r:.60}.")
    for option, value in (("inputs", inputs), ("input_shapes", input_shapes)):
        if value is not None and not isinstance(value, dict):
            raise ShapeguardError(f"{option} must be a dict of parameter name to template, not {value!r:.60}.")
    spec = spec_of(fn)
    axes = dict(axes or {})
    callable_ = unwrap(fn)
    if spec is not None:
        axes = {**spec.axes, **axes}
        inputs = inputs if inputs is not None else spec.inputs
        input_shapes = input_shapes if input_shapes is not None else spec.input_shapes
        max_examples = max_examples if max_examples is not None else spec.max_examples
        seed = seed if seed is not None else spec.seed
        where = where if where is not None else spec.where
    inner = callable_.func if isinstance(callable_, functools.partial) else callable_
    name = getattr(inner, "__name__", None) or type(inner).__name__
    refuse_lazy_functions(callable_, name)
    return {
        "function": callable_,
        "name": name,
        "axes": axes,
        "inputs": inputs,
        "input_shapes": input_shapes,
        "where": where,
        "max_examples": DEFAULT_MAX_EXAMPLES if max_examples is None else max_examples,
        "seed": 0 if seed is None else seed,
    }


def _default_target(fn: Callable, name: str) -> str:
    inner = fn.func if isinstance(fn, functools.partial) else fn
    return f"{getattr(inner, '__module__', '?')}:{getattr(inner, '__qualname__', name)}"


def _report(callable_, target, space, result, seed, call_of) -> Report:
    report = Report(
        target=target,
        mode=result.mode,
        probes=len(result.outcomes),
        space=space.as_dict(),
        size=space.size,
        skipped=space.skipped,
        seed=seed,
        interrupted=result.interrupted,
        unchecked=len(result.unchecked),
        stopped=result.stopped,
        outcomes=[(space.values(p), o) for p, o in result.outcomes.items()],
    )
    for mode_key, point in result.minimal.items():
        outcome = result.outcomes[point]
        location = Location(outcome.file, outcome.line) if outcome.file else None
        counts = {}
        if result.counts is not None:
            counts = {"failing": result.counts[mode_key], "of": space.probe_count}
        example = space.values(point)
        if outcome.status == ERROR:
            report.errors.append(
                BlockError(outcome.error_type, outcome.message, location, example, call_of(point), **counts,
                           cause=outcome.cause, chain=outcome.chain)
            )
        else:
            report.failures.append(
                Failure(outcome.status, outcome.layer_class, outcome.layer_name, location,
                        outcome.message, outcome.input_shapes, example, call_of(point), **counts,
                        cause=outcome.cause, chain=outcome.chain)
            )
    if result.outcomes and len(result.unchecked) == len(result.outcomes):
        # Nothing failed, and nothing was checked either: not a pass.
        first = min(result.unchecked, key=lambda p: (sum(p), p))
        n = len(result.outcomes)
        report.errors.append(BlockError(
            NO_KERAS_CALL,
            f"no Keras layer or operation was called at any of the {n} combination{'s' * (n != 1)} "
            "probed, so no shape was checked",
            _definition(callable_), space.values(first), call_of(first),
        ))
    order = lambda item: (item.location.file, item.location.line) if item.location else ("", 0)
    report.failures.sort(key=lambda f: (order(f), f.kind, f.layer_class, f.cause))
    report.errors.sort(key=lambda e: (order(e), e.type, e.cause))
    return report


def _space_of_inferred_rank(callee, space, axes, where, timeout):
    """With no template given, the first layer that gets the tensor decides
    its rank: a `Conv1D`, `LSTM` or `Dense` first means a sequence (``T,C``), a
    `Conv3D` a volume (``depth,H,H,C``); an image (``H,H,C``) otherwise."""
    template = space.templates[0]
    rank = first_layer_rank(callee, space, space.valid_points[0] if space.valid_points else next(space.points()),
                            template.param, timeout)
    if rank is None or rank == len(template.dims):
        return space
    inferred = callee.space(axes, where=where, rank=rank)
    inferred.valid_points  # noqa: B018 - the contract is checked before the first probe
    return inferred


def _reject_wrong_rank(report: Report, space, target: str) -> None:
    """A block that rejects the inferred template's rank at every point gets
    one sentence naming the template to give, not a failure per point."""
    import re

    outcomes = [o for _, o in report.outcomes]
    if not outcomes or not all(o.failed and re.search(r"\bndim\b|\brank\b", o.message) for o in outcomes):
        return
    template = space.templates[0]
    wanted = re.search(r"(?:min_)?ndim=(\d)", outcomes[0].message)
    suggestion = {3: "T,C", 4: "H,W,C", 5: "depth,H,W,C", 2: "C"}.get(int(wanted.group(1)) if wanted else 0, "T,C")
    what = f"{outcomes[0].layer_class or outcomes[0].error_type}: {outcomes[0].message}"
    from .errors import InputOption

    raise ShapeguardError((f"the block rejects the inferred input {template.param}={template} (rank {len(template.dims)})"
                           f" at every point ({what}); give the tensor's template, e.g. ",
                           InputOption(template.param, suggestion), "."), subject=target)


def _refuse_non_blocks(outcomes, target: str) -> None:
    """A target that returned no tensor at every point is not a block: a usage
    error (exit 2), not a report of errors."""
    outcomes = list(outcomes)
    if outcomes and all(o.status == ERROR and o.error_type == NoTensor.__name__ for o in outcomes):
        raise ShapeguardError(f"{outcomes[0].message}.", subject=target)


def _definition(fn: Callable) -> Location | None:
    inner = inspect.unwrap(fn.func if isinstance(fn, functools.partial) else fn)
    code = getattr(getattr(inner, "__func__", inner), "__code__", None)
    return Location(code.co_filename, code.co_firstlineno) if code is not None else None


def assert_ok(fn: Callable, /, **options: Any) -> Report:
    """`check`, then fail (an AssertionError whose message is the report) unless
    the block passed. For use in tests; returns the report when it passed."""
    __tracebackhide__ = True
    return check(fn, **options).raise_for_failures()


def _call_name(fn: Callable, name: str) -> tuple[str, str]:
    """How the reproducing call names the function, and a note to append:
    ``block``; ``Blocks().block`` for a method; ``Holder.sblock`` for a static
    or class method; ``functools.partial(block, filters=8)`` for a partial.
    A lambda or a function defined inside another has no importable name: the
    call uses its bare name and the note (a Python comment) says so."""
    owner = getattr(fn, "__self__", None)
    if owner is not None and not inspect.ismodule(owner):
        cls = owner if inspect.isclass(owner) else type(owner)
        return f"{cls.__name__}{'' if inspect.isclass(owner) else '()'}.{name}", ""
    if isinstance(fn, functools.partial):
        inner, note = _call_name(fn.func, getattr(fn.func, "__name__", name))
        bound = [repr(a) for a in fn.args] + [f"{k}={v!r}" for k, v in fn.keywords.items()]
        return f"functools.partial({', '.join([inner, *bound])})", note
    qualname = getattr(fn, "__qualname__", name) or name
    if "<" not in qualname:
        return qualname, ""
    what = "a lambda" if name == "<lambda>" else f"defined inside {qualname.split('.<locals>')[0]}()"
    shown = "f" if name == "<lambda>" else name
    where = _definition(fn)
    at = f" at {where.shown()}" if where is not None else ""
    return shown, f"  # {shown} is {what}{at}: it has no importable name"


def _database(database: Any):
    if database is None or database is False:
        return None
    if database is True:
        from hypothesis import settings

        return settings.default.database
    if isinstance(database, (str, os.PathLike)):
        from hypothesis.database import DirectoryBasedExampleDatabase

        return DirectoryBasedExampleDatabase(os.fspath(database))
    if not all(hasattr(database, m) for m in ("fetch", "save", "delete")):
        raise ShapeguardError(
            f"database must be True, False, None, a directory or an ExampleDatabase, not {database!r:.60}."
        )
    return database


def _database_key(fn: Callable) -> bytes:
    identity = f"shapeguard:{getattr(fn, '__module__', '')}:{getattr(fn, '__qualname__', '')}"
    return hashlib.sha256(identity.encode()).digest()
