"""`check` and `assert_ok`: space -> search -> report, for one function."""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
from dataclasses import dataclass
from typing import Any, Callable

from ._callee import FACTORY, SHAPE_PARAM_NAMES, NoTensor
from ._fitcontract import FitCallee, check_contract_loss, resolved
from ._fitdata import FitDataError
from ._outcome import ERROR, NO_KERAS_CALL
from ._inference import INFERRED_TEMPLATES, TENSOR_PARAM_NAMES
from ._probe import OWN_ERROR, rank_hint, session
from ._settings import CheckSettings, split_settings
from ._spec import refuse_lazy_functions, spec_of, unwrap
from ._usercode import definition
from ._working import RankRejected, find, grown_axes, rejects_rank
from .errors import SUBJECT, AxisOption, InputOption, InputShapeOption, ShapeguardError
from .explain import explain
from .report import BlockError, Failure, Location, Report
from .search import Prober, budget, measured_cost, search



@dataclass(frozen=True)
class Watch:
    """What the command line and the pytest plugin hook into one check (not
    public API): the report's name for the block, progress callbacks
    ``on_probe(probes, modes)`` and ``on_phase(phase, total)`` (`search.Prober.phase`), ``before_probe(point, call, timeout)`` before
    each new probe (the crash supervisor's record, with the probe's time limit) and ``known`` outcomes to use
    instead of probing (points that killed an earlier process)."""

    target: str | None = None
    on_probe: Callable[[int, int], None] | None = None
    on_phase: Callable[[str, int | None], None] | None = None
    before_probe: Callable[[tuple, str, float | None], None] | None = None
    known: dict | None = None


@dataclass(frozen=True)
class Plan:
    """The function to probe and what to probe it with: the call's contract
    over the decorator's, validated (`plan`)."""

    function: Callable
    name: str
    axes: dict
    inputs: dict | None
    input_shapes: dict | None
    where: Any
    settings: CheckSettings
    fit: Any = None  # a model builder's data contract (`_fitcontract`), as given


def check(
    fn: Callable,
    /,
    *,
    axes: dict[str, Any] | None = None,
    inputs: dict[str, Any] | None = None,
    input_shapes: dict[str, Any] | None = None,
    where: Any = None,
    settings: CheckSettings | None = None,
    fit: dict[str, Any] | None = None,
    **more_axes: Any,
) -> Report:
    """Search ``fn``'s parameter space for shape bugs and return a `Report`.

    ``fn`` is a block function, a Layer subclass (each probe builds a fresh
    instance), a factory returning the callable to apply, or a model builder
    (docs/how-to/targets.md). ``inputs`` maps tensor parameters to
    templates (``{"x": "H,W,C"}``); ``input_shapes`` maps parameters that take a
    shape tuple instead (``{"input_shape": "H,W,C"}``). A target that returns
    no tensor at any point raises `ShapeguardError`.

    ``axes`` maps axis names (parameters, or dimensions named in a template)
    to the values to try (``{"C": [16, 32], "filters": [32]}``), over the
    ones ``@guard`` declared. Other keyword arguments are axes too
    (``C=[16, 32]``), except the names of `CheckSettings` fields
    (``max_examples``, ``seed``, ``exhaustive``, ``database``, ``timeout``,
    ``strict``), which are read as settings: an axis with such a name goes in
    ``axes={"seed": [1, 2]}``. ``where`` is the contract's constraint: an
    expression over axis names (``"filters % groups == 0"``), a callable given
    the point as a dict, or a list of them; points where it does not hold are
    skipped (docs/how-to/contracts.md). ``fit``: a model builder's data
    contract, ``{"x": "N,H,W", "y": "N", "loss": ...}`` (templates with the
    sample count first; the loss defaults to the model's compiled one): each
    model the builder makes is also checked against one ``fit`` step on data
    of those shapes, a rejected side being a failure (docs/how-to/fit.md).
    ``settings``: how the
    search runs (`CheckSettings`: budget, seed, exhaustive, example database,
    time limit per call, strict). A bad option raises `ShapeguardError`; so
    does an ``async def`` or generator function (its body would not run).
    """
    settings, more_axes = split_settings(settings, dict(more_axes))
    if axes is not None and not isinstance(axes, dict):
        raise ShapeguardError(f"axes must be a dict of axis name to values, not {axes!r:.60}.")
    twice = sorted(set(axes or {}) & set(more_axes))
    if twice:
        raise ShapeguardError(f"axis {twice[0]!r} is given twice, in axes= and as a keyword; give it once.")
    planned = plan(fn, axes={**(axes or {}), **more_axes}, inputs=inputs, input_shapes=input_shapes, where=where,
                   settings=settings, fit=fit)
    return run(planned)


def run(planned: Plan, watch: Watch = Watch()) -> Report:
    """The check of a `plan`, with the door's hooks (`Watch`): space, search,
    explanations, report. Every probe, the explanations' included, goes
    through the search's one prober."""
    settings = planned.settings
    if watch.target is not None and not isinstance(watch.target, str):
        raise ShapeguardError(f"target must be a string naming the block, not {watch.target!r:.60}.")
    callable_, name, where = planned.function, planned.name, planned.where
    target = watch.target or _default_target(callable_, name)
    call_name, note = _call_name(callable_, name)
    callee = resolved(callable_, planned.inputs, planned.input_shapes, planned.fit, name=name, call_name=call_name)
    check_contract_loss(callee)
    space = callee.space(planned.axes, where=where)
    space.check_contract()
    before_probe = None
    if watch.before_probe is not None:  # the supervisor's record: the point (or its values) and the call
        before_probe = lambda space_, point, record, timeout: watch.before_probe(
            record, callee.render(space_.arguments(point)) + note, timeout)
    prober = Prober(callee, space, timeout=settings.timeout, on_probe=watch.on_probe, on_phase=watch.on_phase,
                    before_probe=before_probe, known=watch.known)
    # Keras's special methods wrapped once, and the prober's guards kept on, for every probe of the check.
    with prober.guarded():
        # The rank hint records the Keras layers a plain call makes: before the
        # session's stand-ins answer for them.
        inferred = callee.inputs is None and space.templates
        hint = rank_hint(callee, space, _first(space), settings.timeout) if inferred else None
        if callee.kind == FACTORY and callee.built_calls:
            # Its first call returned built models: a model builder, whose space has no tensor axes.
            callee = callee.as_builder()
            space = callee.space(planned.axes, where=where)
            space.check_contract()
            prober = Prober(callee, space, timeout=settings.timeout, on_probe=watch.on_probe,
                            on_phase=watch.on_phase, before_probe=before_probe, known=watch.known)
        with session(), prober.guarded():
            return _checked(planned, callee, space, prober, hint, target, note)


def _checked(planned, callee, space, prober, hint, target, note) -> Report:
    """`run`'s check inside the session: working point, search, report, explanations."""
    settings, callable_, where = planned.settings, planned.function, planned.where
    working = _working_point(prober, callee, space, planned.axes, where, hint, target)
    original = space
    if working is not None:
        space = prober.space = working.space
    def call_of(point, in_space=None, batch=None):  # batch: a data contract's fit step, on as many samples
        arguments = (in_space or space).arguments(point)
        return (callee.render(arguments, batch=batch) if batch else callee.render(arguments)) + note
    counted = settings.given("max_examples") or settings.exhaustive is not None  # no time budget then
    cost = working.cost if working is not None else None if counted else measured_cost(prober)
    chosen = budget(space, cost, settings.max_examples,
                    given=settings.given("max_examples"), exhaustive=settings.exhaustive)
    result = search(
        prober,
        max_examples=chosen.max_examples,
        seed=settings.seed,
        exhaustive=chosen.exhaustive,
        database=_database(settings.database),
        database_key=_database_key(callable_),
    )
    _refuse_non_blocks(result.outcomes.values(), target)
    _refuse_unrunnable(result, callee, original, target, working)
    on_data = lambda point: callee.render(space.arguments(point), on_data=True) + note
    report = _report(callable_, target, space, result, settings.seed, call_of, on_data)
    report.notes.extend(callee.notes)
    report.budget = chosen.why
    report.templates = _templates_checked(space)
    if isinstance(callee, FitCallee):  # the arrays' templates as the contract wrote them, and what was checked
        report.templates = {**{k: v for k, v in report.templates.items() if k in callee.builder.shape_params},
                            **callee.contract.templates}
        report.notes.append(callee.contract.note(callee.name))
    if working is not None:
        report.working_point = working.as_dict()
    if callee.inputs is None and space.templates and working is None:
        _reject_wrong_rank(report, space, target)
    report.strict = settings.strict
    if working is None or working.works:
        prober.phase("explaining")
        explain(report, space, result, prober, call_of, extra_budget=chosen.max_examples)
    return report


def plan(fn: Callable, *, axes: dict | None = None, inputs=None, input_shapes=None, where=None,
         settings: CheckSettings | None = None, fit=None) -> Plan:
    """The function to probe and the contract and settings to probe it with:
    these over the decorator's, each validated, so that a bad value is the
    caller's `ShapeguardError` before anything is probed (the command line
    plans every target before checking the first)."""
    if not callable(fn):
        raise ShapeguardError(f"check needs a function, not {type(fn).__name__} {fn!r:.60}.")
    for option, value in (("inputs", inputs), ("input_shapes", input_shapes)):
        if value is not None and not isinstance(value, dict):
            raise ShapeguardError(f"{option} must be a dict of parameter name to template, not {value!r:.60}.")
    spec = spec_of(fn)
    axes = dict(axes or {})
    callable_ = unwrap(fn)
    settings = settings or CheckSettings()
    if spec is not None:
        axes = {**spec.axes, **axes}
        inputs = inputs if inputs is not None else spec.inputs
        input_shapes = input_shapes if input_shapes is not None else spec.input_shapes
        where = where if where is not None else spec.where
        fit = fit if fit is not None else spec.fit
    settings = settings.over(spec.settings if spec is not None else None)
    inner = callable_.func if isinstance(callable_, functools.partial) else callable_
    name = getattr(inner, "__name__", None) or type(inner).__name__
    refuse_lazy_functions(callable_, name)
    return Plan(callable_, name, axes, inputs, input_shapes, where, settings, fit)


def _default_target(fn: Callable, name: str) -> str:
    inner = fn.func if isinstance(fn, functools.partial) else fn
    return f"{getattr(inner, '__module__', '?')}:{getattr(inner, '__qualname__', name)}"


def _report(callable_, target, space, result, seed, call_of, on_data) -> Report:
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
        inferred=space.inferred(),
        definition=_defined_at(callable_),
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
            side = {} if outcome.fit is None else {
                "side": outcome.fit.side, "data_shape": outcome.fit.data_shape,
                "model_shape": outcome.fit.model_shape, "hint": outcome.fit.hint,
                "rejected_by": outcome.fit.rejected_by}
            report.failures.append(
                Failure(outcome.status, outcome.layer_class, outcome.layer_name, location,
                        outcome.message, outcome.input_shapes, example,
                        call_of(point, batch=outcome.fit.batch) if outcome.fit else call_of(point), **counts,
                        cause=outcome.cause, chain=outcome.chain, within=outcome.within,
                        on_data=on_data(point) if mode_key in result.on_data else None, **side)
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


def _templates_checked(space) -> dict:
    """Each tensor parameter's template as probed: a template with choices
    shows the ones its axis kept (the working point picks one)."""
    axes = space.as_dict()
    return {t.param: "|".join("None" if v is None else str(v) for v in axes[t.param]) if len(t.choices) > 1
            else t.text for t in space.templates}


def _first(space):
    return space.first_point()


def _working_point(prober, callee, space, axes, where, hint, target):
    """`_working.find` over the candidate spaces: with no template given, the
    template the block's layers ask for first (`rank_hint`), then the other
    ranks. Every candidate rejected for its rank is one sentence naming the
    template to give, not a failure per point."""
    candidates = [space]
    if callee.inputs is None and space.templates:
        ranks = [hint] if hint is not None else []
        ranks += [r for r in (INFERRED_TEMPLATES[3], INFERRED_TEMPLATES[2], INFERRED_TEMPLATES[4],
                              INFERRED_TEMPLATES[1]) if r not in ranks]
        candidates = []
        for rank in ranks:
            if rank == space.templates[0].dims:
                candidates.append(space)
                continue
            try:  # the caller's axes may name dims another rank does not have (H for T,C)
                candidate = callee.space(axes, where=where, rank=rank)
                candidate.check_contract()
            except ShapeguardError:
                continue
            candidates.append(candidate)
        if candidates and not grown_axes(candidates[0]):  # the caller gave every dim of the first: that rank
            candidates = candidates[:1]
    try:
        return find(prober, candidates, getattr(callee, "shape_defaults", None), builder=_builds_models(callee))
    except RankRejected as rejected:
        inferred = callee.inputs is None
        raise _wrong_rank(rejected.space, rejected.outcome, target, others=inferred and len(candidates) > 1,
                          inferred=inferred) from None


def _reject_wrong_rank(report: Report, space, target: str) -> None:
    """A block that rejects the inferred template's rank at every point gets
    one sentence naming the template to give, not a failure per point."""
    outcomes = [o for _, o in report.outcomes]
    if outcomes and all(rejects_rank(o, space) for o in outcomes):
        raise _wrong_rank(space, outcomes[0], target, others=False)


def _builds_models(callee) -> bool:
    """A model builder (keras.applications' ``ResNet50(input_tensor=..., input_shape=...)``):
    its input is an image first, 3 or 1 channels."""
    return bool(callee.shape_params) or any(name in SHAPE_PARAM_NAMES for name in callee.signature.parameters)


def _wrong_rank(space, outcome, target: str, others: bool = True, inferred: bool = True) -> ShapeguardError:
    """The block rejects the template's rank (and, with ``others``, every
    other rank tried at its defaults): name the template to give. A template
    the caller gave (not ``inferred``) is called theirs, and no other rank was tried."""
    import re

    template = space.templates[0]
    wanted = re.search(r"(?:min_)?ndim=(\d)", outcome.message or "")
    suggestion = {3: "T,C", 4: "H,W,C", 5: "depth,H,W,C", 2: "C"}.get(int(wanted.group(1)) if wanted else 0, "T,C")
    failure = f"{outcome.layer_class or outcome.error_type}: {outcome.message}"
    also = ", and every other rank tried at its defaults," if others else \
        " at every point" if inferred else " at every size tried"
    whose = "the inferred input" if inferred else "the input template given,"
    return ShapeguardError((f"the block rejects {whose} {template.param}={template} "
                            f"(rank {len(template.dims)}){also} ({failure}); give the tensor's template, e.g. ",
                            InputOption(template.param, suggestion), "."), subject=target)


def _refuse_non_blocks(outcomes, target: str) -> None:
    """A target that returned no tensor at every point is not a block: a usage
    error (exit 2), not a report of errors."""
    outcomes = list(outcomes)
    for refusal in (NoTensor.__name__, FitDataError.__name__):  # a builder without a model, or a loss
        if outcomes and all(o.status == ERROR and o.error_type == refusal for o in outcomes):
            raise ShapeguardError(f"{outcomes[0].message}.", subject=target)


def _refuse_unrunnable(result, callee, space, target: str, working=None) -> None:
    """A block that refused every point probed (`REFUSALS`: a ValueError, a
    KeyError, ...) before calling any Keras layer never ran with any value
    shapeguard gave it: one
    usage-error sentence (exit 2) naming the error and the option it needs
    (values it reads from ``**kwargs``, other values, or the input's
    template), not a report of its errors."""
    outcomes = result.outcomes
    if not outcomes or result.interrupted or result.stopped:
        return
    if not all(o.status == ERROR and o.cause == OWN_ERROR and o.error_type in REFUSALS
               and p in result.unrun for p, o in outcomes.items()):
        return
    first = min(outcomes, key=lambda p: (sum(p), p))
    outcome = outcomes[first]
    what = outcome.error_type + (f" ({outcome.message})" if outcome.message else "")
    at = f" at {Location(outcome.file, outcome.line).shown()}" if outcome.file else ""
    n = len(outcomes)
    every = "at the one combination probed" if n == 1 else f"at every one of the {n} combinations probed"
    if working is not None and not working.works:
        every = f"at every input size tried with every parameter at its default ({working.probes} probes)"
    head = (SUBJECT, f" raised {what}{at}, {every}, before calling any Keras layer, so no shape was checked; ")
    raise ShapeguardError((*head, *_unrunnable_hint(outcome, callee, space), "."), subject=target)


# The errors with which a block refuses its values or misses one (raise ValueError("unsupported"),
# kwargs["filters"]); any other error at every point (a TypeError, an AttributeError) is a bug of the
# block, reported with its line as every block error is.
REFUSALS = ("ValueError", "KeyError", "IndexError", "LookupError", "AssertionError", "NotImplementedError")


def _unrunnable_hint(outcome, callee, space) -> tuple:
    """The option a block that never ran needs, as parts of a sentence."""
    option = lambda param, template: (InputShapeOption if param in callee.shape_params else InputOption)(
        param, template)
    try:
        own = inspect.signature(callee.target).parameters.values()
    except (TypeError, ValueError):
        own = []
    kinds = {p.kind for p in own}
    if inspect.Parameter.VAR_POSITIONAL in kinds and outcome.error_type != "KeyError":
        return ("it takes *args, which shapeguard leaves empty (it passes values by name): give the values it "
                "reads there parameters of their own, e.g. def block(x, filters=8)",)
    if inspect.Parameter.VAR_KEYWORD in kinds and (outcome.error_type == "KeyError" or not space.axes):
        key = outcome.message.strip("'\"") if outcome.error_type == "KeyError" else ""
        key = key if key.isidentifier() else "NAME"
        given = InputOption(key, "H,W,C") if key in TENSOR_PARAM_NAMES else AxisOption(key, (8, 16))
        return ("it reads **kwargs, which shapeguard leaves empty: give what it reads there by name, e.g. ", given)
    parts: list = []
    tried = next((a for a in space.axes if not a.is_dim and a.inferred), None)
    if tried is not None:
        parts += ["give values it accepts (", AxisOption(tried.name, tried.values), " were inferred)"]
    template = next((t for t in space.templates if t.inferred), None)
    if template is not None:
        parts += [", or " if parts else "give ", "its input's template (", option(template.param, template.text),
                  " was inferred)"]
    return tuple(parts) or ("it rejects every value it was given: give values it accepts",)



def _definition(fn: Callable) -> Location | None:
    inner = inspect.unwrap(fn.func if isinstance(fn, functools.partial) else fn)
    code = getattr(getattr(inner, "__func__", inner), "__code__", None)
    return Location(code.co_filename, code.co_firstlineno) if code is not None else None


def _defined_at(fn: Callable) -> Location | None:
    found = definition(fn)
    return Location(*found) if found else None


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
        from hypothesis import settings as hypothesis_settings

        return hypothesis_settings.default.database
    if isinstance(database, (str, os.PathLike)):
        from hypothesis.database import DirectoryBasedExampleDatabase

        return DirectoryBasedExampleDatabase(os.path.abspath(os.fspath(database)))  # wherever the block chdirs
    return database  # an ExampleDatabase (CheckSettings checked it)


def _database_key(fn: Callable) -> bytes:
    identity = f"shapeguard:{getattr(fn, '__module__', '')}:{getattr(fn, '__qualname__', '')}"
    return hashlib.sha256(identity.encode()).digest()
