"""`check` and `assert_ok`: space -> search -> report, for one function."""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
from typing import Any, Callable

from ._options import check_exhaustive, check_max_examples, check_seed, check_timeout
from .decorator import spec_of
from .errors import ShapeguardError
from .probe import ERROR
from .report import BlockError, Failure, Location, Report
from .space import build_space, call_string

DEFAULT_MAX_EXAMPLES = 100
DEFAULT_TIMEOUT = 60.0
NO_KERAS_CALL = "NoKerasCall"  # BlockError.type of a check in which no probe called Keras


def check(
    fn: Callable,
    /,
    *,
    inputs: dict[str, Any] | None = None,
    max_examples: int | None = None,
    seed: int | None = None,
    exhaustive: bool | None = None,
    database: Any = None,
    target: str | None = None,
    on_probe: Callable[[int, int], None] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    before_probe: Callable[[tuple, str], None] | None = None,
    known: dict | None = None,
    **axes: Any,
) -> Report:
    """Search ``fn``'s parameter space for shape bugs and return a `Report`.

    Keyword arguments not listed here are axes (``C=[16, 32]``, ``filters=[32]``)
    and override the ones ``@guard`` declared. ``max_examples`` is the probe
    budget (default 100): a space no larger is enumerated exhaustively, as is
    any space with ``exhaustive=True``. ``seed`` changes the search, not what it
    means (default 0: the same code gives the same report). ``database`` is off
    by default; ``True`` uses Hypothesis's (``.hypothesis/``), or pass an
    `ExampleDatabase` or a directory: failing examples saved there are probed
    first on the next run. A call running past ``timeout`` seconds (default 60;
    None for no limit) is stopped and reported as an error at that point; the
    search goes on with the others. A bad option raises `ShapeguardError`;
    so does an ``async def`` or generator function (its body would not run).
    """
    from .search import search

    options = resolve_options(fn, inputs=inputs, max_examples=max_examples, seed=seed,
                              exhaustive=exhaustive, timeout=timeout, axes=axes)
    if target is not None and not isinstance(target, str):
        raise ShapeguardError(f"target must be a string naming the block, not {target!r:.60}.")
    callable_, name = options["function"], options["name"]
    target = target or _default_target(callable_, name)
    space = build_space(callable_, options["axes"], options["inputs"], name=name)
    call_name, note = _call_name(fn, name)
    call_of = lambda point: call_string(call_name, space.arguments(point)) + note
    result = search(
        callable_,
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
    return _report(callable_, target, space, result, options["seed"], call_of)


def resolve_options(fn: Callable, *, inputs=None, max_examples=None, seed=None, exhaustive=None,
                    timeout=None, axes=None) -> dict:
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
    if inputs is not None and not isinstance(inputs, dict):
        raise ShapeguardError(f"inputs must be a dict of parameter name to template, not {inputs!r:.60}.")
    spec = spec_of(fn)
    axes = dict(axes or {})
    callable_ = fn.__wrapped__ if spec is not None else fn
    if spec is not None:
        axes = {**spec.axes, **axes}
        inputs = inputs if inputs is not None else spec.inputs
        max_examples = max_examples if max_examples is not None else spec.max_examples
        seed = seed if seed is not None else spec.seed
    inner = callable_.func if isinstance(callable_, functools.partial) else callable_
    name = getattr(inner, "__name__", None) or type(inner).__name__
    _refuse_lazy_functions(callable_, name)
    return {
        "function": callable_,
        "name": name,
        "axes": axes,
        "inputs": inputs,
        "max_examples": DEFAULT_MAX_EXAMPLES if max_examples is None else max_examples,
        "seed": 0 if seed is None else seed,
    }


def _refuse_lazy_functions(fn: Callable, name: str) -> None:
    """An ``async def`` or a generator function returns at once without running
    its body: every probe would pass having checked nothing."""
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        raise ShapeguardError(
            f"{name} is an async function: calling it returns a coroutine without running its body, "
            "so no layer would be checked; check a plain def that builds the layers."
        )
    if inspect.isgeneratorfunction(fn):
        raise ShapeguardError(
            f"{name} is a generator function (it has a yield): calling it returns a generator without "
            "running its body, so no layer would be checked; check a function that returns the output."
        )


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
            counts = {"failing": result.counts[mode_key], "of": space.size}
        example = space.values(point)
        if outcome.status == ERROR:
            report.errors.append(
                BlockError(outcome.error_type, outcome.message, location, example, call_of(point), **counts)
            )
        else:
            report.failures.append(
                Failure(outcome.status, outcome.layer_class, outcome.layer_name, location,
                        outcome.message, outcome.input_shapes, example, call_of(point), **counts)
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
    report.failures.sort(key=lambda f: (order(f), f.kind, f.layer_class))
    report.errors.sort(key=lambda e: (order(e), e.type))
    return report


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
