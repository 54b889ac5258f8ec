"""`check` and `assert_ok`: space -> search -> report, for one function."""

from __future__ import annotations

import hashlib
import inspect
import os
from typing import Any, Callable

from .decorator import spec_of
from .errors import ShapeguardError
from .explain import explain
from .probe import ERROR
from .report import BlockError, Failure, Location, Report
from .space import build_space, call_string

DEFAULT_MAX_EXAMPLES = 100
DEFAULT_TIMEOUT = 60.0


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
    where: Any = None,
    strict: bool = False,
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
    None for no limit) stops the check and is reported as an error.
    ``where`` is the contract's constraint: an expression over axis names
    (``"filters % groups == 0"``), a callable given the point as a dict, or a
    list of them; points where it does not hold are skipped (README, "Telling
    shapeguard the contract"). ``strict=True`` makes broadcast warnings fail
    the check (README, "Reports that explain"). Raises `ShapeguardError` for bad input.
    """
    from .search import search

    spec = spec_of(fn)
    callable_ = fn.__wrapped__ if spec is not None else fn
    if spec is not None:
        axes = {**spec.axes, **axes}
        inputs = inputs if inputs is not None else spec.inputs
        max_examples = max_examples if max_examples is not None else spec.max_examples
        seed = seed if seed is not None else spec.seed
        where = where if where is not None else spec.where
    max_examples = DEFAULT_MAX_EXAMPLES if max_examples is None else max_examples
    seed = 0 if seed is None else seed
    if not isinstance(max_examples, int) or isinstance(max_examples, bool) or max_examples < 1:
        raise ShapeguardError(f"max_examples must be a positive integer, not {max_examples!r}.")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ShapeguardError(f"seed must be an integer, not {seed!r}.")

    name = getattr(callable_, "__name__", "fn")
    target = target or f"{getattr(callable_, '__module__', '?')}:{getattr(callable_, '__qualname__', name)}"
    space = build_space(callable_, axes, inputs, name=name, where=where)
    space.valid_points  # the contract is checked before the first probe
    if not inputs:
        space = _space_of_inferred_rank(callable_, space, axes, name, where, timeout)
    result = search(
        callable_,
        space,
        max_examples=max_examples,
        seed=seed,
        exhaustive=exhaustive,
        database=_database(database),
        database_key=_database_key(callable_),
        on_probe=on_probe,
        timeout=timeout,
    )

    call_name = _call_name(fn, name)
    report = Report(
        target=target,
        mode=result.mode,
        probes=len(result.outcomes),
        space=space.as_dict(),
        size=space.size,
        skipped=space.skipped,
        seed=seed,
        interrupted=result.interrupted,
        outcomes=[(space.values(p), o) for p, o in result.outcomes.items()],
    )
    for mode_key, point in result.minimal.items():
        outcome = result.outcomes[point]
        location = Location(outcome.file, outcome.line) if outcome.file else None
        counts = {}
        if result.counts is not None:
            counts = {"failing": result.counts[mode_key], "of": space.probe_count}
        example = space.values(point)
        call = call_string(call_name, space.arguments(point))
        if outcome.status == ERROR:
            report.errors.append(
                BlockError(outcome.error_type, outcome.message, location, example, call, **counts)
            )
        else:
            report.failures.append(
                Failure(outcome.status, outcome.layer_class, outcome.layer_name, location,
                        outcome.message, outcome.input_shapes, example, call, **counts)
            )
    if not inputs:
        _reject_wrong_rank(report, space, target)
    report.strict = bool(strict)
    explain(report, space, result, callable_, call_name, timeout, extra_budget=max_examples)
    order = lambda item: (item.location.file, item.location.line) if item.location else ("", 0)
    report.failures.sort(key=lambda f: (order(f), f.kind, f.layer_class))
    report.errors.sort(key=lambda e: (order(e), e.type))
    return report


def _space_of_inferred_rank(fn, space, axes, name, where, timeout):
    """With no template given, the first layer that gets the tensor decides
    its rank: a `Conv1D`, `LSTM` or `Dense` first means a sequence (``T,C``), a
    `Conv3D` a volume (``depth,H,H,C``); an image (``H,H,C``) otherwise."""
    from .probe import first_layer_rank

    template = space.templates[0]
    rank = first_layer_rank(fn, space, space.valid_points[0] if space.valid_points else next(space.points()),
                            template.param, timeout)
    if rank is None or rank == len(template.dims):
        return space
    inferred = build_space(fn, axes, None, name=name, where=where, rank=rank)
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
    head = (f"{target}: the block rejects the inferred input {template.param}={template} (rank {len(template.dims)})"
            f" at every point ({what}); give the tensor's template, e.g. ")
    raise ShapeguardError(head + f"inputs={{{template.param!r}: {suggestion!r}}}.",
                          cli=head + f"--input {template.param}={suggestion}.")


def assert_ok(fn: Callable, /, **options: Any) -> Report:
    """`check`, then fail (an AssertionError whose message is the report) unless
    the block passed. For use in tests; returns the report when it passed."""
    __tracebackhide__ = True
    return check(fn, **options).raise_for_failures()


def _call_name(fn: Callable, name: str) -> str:
    """How the reproducing call names the function: ``block`` or, for a
    method, ``Blocks().block``."""
    owner = getattr(fn, "__self__", None)
    if owner is not None and not inspect.ismodule(owner):
        cls = owner if inspect.isclass(owner) else type(owner)
        return f"{cls.__name__}{'' if inspect.isclass(owner) else '()'}.{name}"
    return name


def _database(database: Any):
    if database is None or database is False:
        return None
    if database is True:
        from hypothesis import settings

        return settings.default.database
    if isinstance(database, (str, os.PathLike)):
        from hypothesis.database import DirectoryBasedExampleDatabase

        return DirectoryBasedExampleDatabase(os.fspath(database))
    return database


def _database_key(fn: Callable) -> bytes:
    identity = f"shapeguard:{getattr(fn, '__module__', '')}:{getattr(fn, '__qualname__', '')}"
    return hashlib.sha256(identity.encode()).digest()
