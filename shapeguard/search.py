"""Find every failure mode in a space and the minimal point of each.

Two ways, and the report says which ran:

* **exhaustive**, when the space has no more points than the example budget:
  every point is probed; counts per mode are exact.
* **search**, otherwise: Hypothesis explores the space within the budget
  (`@given` over one index per axis, nothing is raised, every outcome is
  kept); then each mode found is shrunk by Hypothesis (`find`, starting from
  the best failing point seen, replayed from an in-memory example database).

Every probe of a check, the explanations' included, goes through one
`Prober`: around each, Keras calls are counted (a probe that called none
checked nothing: it is recorded in ``unchecked``, not as a pass),
``os._exit`` raises instead of ending the process (`shapeguard._sandbox`),
and the crash supervisor is told the point first. A point whose call hangs is
stopped (``timeout``) and recorded as an error of the block; the search goes
on with the other points. Hypothesis's storage is kept out of the working
directory when there is no example database.

Either way a last pass makes the example *minimal*: no other failing point of
the same mode is at least as preferred on every axis (index <= on each axis).
That pass probes the points below the example, in order of total index, and
is exact while there are at most `PARETO_LIMIT` of them; above that it checks
each axis on its own (no single axis can move to a preferred value).
"""

from __future__ import annotations

import itertools
import json
import random
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

from ._options import MAX_TIMEOUT
from ._outcome import DIED, ERROR, FAILURE_KINDS, FORKED, INTERNAL, PASS, TIMEOUT, Outcome
from ._probe import KerasCalls, probe
from ._sandbox import no_process_exit, private_hypothesis_home
from ._show import show_value
from ._usercode import remember_source, target_files
from ._version import DOCS_URL
from .space import Space

PARETO_LIMIT = 256
Point = tuple  # one index per axis


@dataclass
class SearchResult:
    mode: str  # "exhaustive" or "search"
    outcomes: dict = field(default_factory=dict)  # Point -> Outcome, in probe order
    minimal: dict = field(default_factory=dict)  # Outcome.mode -> Point
    counts: dict | None = None  # Outcome.mode -> failing points (exhaustive only)
    interrupted: bool = False
    unchecked: set = field(default_factory=set)  # points that passed without calling Keras
    unrun: set = field(default_factory=set)  # points where the block raised before calling Keras
    stopped: str = ""  # why the search ended early, other than Ctrl-C
    on_data: set = field(default_factory=set)  # modes that fail only on data, shown so (`Prober.only_on_data`)


class StopSearch(BaseException):
    """End the search early: most probes hung (rather than wait for each), or
    the point that killed an earlier process was reached (``result.stopped``)."""


HUNG_OUT = 5  # stop after this many timeouts, when they are more than half the probes


class Prober:
    """The one way a check probes: each point of the space once, kept in
    ``result``; points of another space (`at`: a size between two tried ones)
    through the same guards. Around every probe: Keras calls counted (a pass
    that called none checked nothing), ``os._exit`` turned into the block's
    error, the crash supervisor told first (``before_probe(space, point, record,
    timeout)``),
    and ``known`` outcomes (points that killed an earlier process) used
    instead of probing. Progress goes to ``on_probe(probes, modes)`` and
    ``on_phase(phase, total)`` (`phase`)."""

    def __init__(self, fn: Callable, space: Space, *, timeout: float | None = None,
                 on_probe: Callable | None = None, on_phase: Callable | None = None,
                 before_probe: Callable | None = None, known: dict | None = None):
        self.fn, self.space, self.timeout, self.on_probe, self.on_phase = fn, space, timeout, on_probe, on_phase
        self.before_probe, self.known = before_probe, known or {}
        self.result = SearchResult("search")
        self.modes: set = set()
        self.user_files = target_files(fn)  # the target's own file is the user's code
        remember_source(self.user_files)  # before the first probe: the block may delete its file
        self.calls = KerasCalls()
        self.timeouts = 0
        self.last_calls = 0  # Keras calls the last probe made (its cost, for the time budget)
        self._guards: ExitStack | None = None

    @contextmanager
    def guarded(self) -> Iterator["Prober"]:
        """Keep the guards on for every probe made inside (re-entrant)."""
        if self._guards is not None:
            yield self
            return
        with ExitStack() as guards:
            guards.enter_context(self.calls.counting())
            guards.enter_context(no_process_exit())
            self._guards = guards
            try:
                yield self
            finally:
                self._guards = None

    def __call__(self, point: Point) -> Outcome:
        outcome = self.result.outcomes.get(point)
        if outcome is None:
            outcome = self.known.get(point)
            if outcome is None:
                outcome, calls = self._probe(self.space, point, point)
                if outcome.status == PASS and calls == 0:
                    self.result.unchecked.add(point)
                elif outcome.status == ERROR and calls == 0:
                    self.result.unrun.add(point)
            self.result.outcomes[point] = outcome
            if outcome.failed:
                if outcome.mode not in self.modes and outcome.file not in self.user_files:
                    remember_source([outcome.file])  # a helper's file: kept from its first report on
                self.modes.add(outcome.mode)
            if self.on_probe is not None:
                self.on_probe(len(self.result.outcomes), len(self.modes))
            if outcome.error_type == DIED:  # it would kill the process again: stop here
                self.result.stopped = "the process died at one combination"
                raise StopSearch
            if outcome.error_type == TIMEOUT:
                self.timeouts += 1
                if self.timeouts >= HUNG_OUT and 2 * self.timeouts > len(self.result.outcomes):
                    self.result.stopped = "most calls hung"
                    raise StopSearch
        return outcome

    def phase(self, name: str, total: int | None = None) -> None:
        """Tell the progress line what the probes are for now (``probing``
        with its budget as ``total``, ``shrinking``, ``confirming``,
        ``explaining``: `shapeguard._terminal.Progress`)."""
        if self.on_phase is not None:
            self.on_phase(name, total)

    def at(self, space: Space, point: Point) -> Outcome:
        """One probe at a point of ``space`` (values outside the search's
        space), not kept in the result; its record for the supervisor is
        keyed by its values, so a death there is known on the next run."""
        key = outside_key(space, point)
        outcome = self.known.get(key)
        return outcome if outcome is not None else self._probe(space, point, key)[0]

    def confirm(self, point: Point, real_weights: bool = False) -> Outcome:
        """The plain Keras path at ``point`` (see `_confirm_on_plain_path`),
        with deferred weights unless ``real_weights``."""
        return self._probe(self.space, point, point, fast=False, real_weights=real_weights)[0]

    def again(self, point: Point) -> Outcome:
        """The fast path at ``point`` once more, without recording it: a block
        whose result changes from call to call is told from a path that disagrees."""
        return self._probe(self.space, point, point)[0]

    def only_on_data(self, point: Point, found: Outcome) -> bool:
        """A failure found in a ``call()`` only shapeguard runs (``found.traced``)
        fails only on data: True when plain symbolic Keras passes at ``point``
        and the same call on arrays of zeros fails at the same line."""
        if not found.traced:
            return False
        if self._probe(self.space, point, point, fast=False, trace=False)[0].failed:
            return False
        on_data = self._probe(self.space, point, point, fast=False, eager=True)[0]
        return on_data.failed and on_data.error_type != TIMEOUT and (on_data.file, on_data.line) == (found.file,
                                                                                                      found.line)

    def _probe(self, space: Space, point: Point, record, fast: bool = True, **plain) -> tuple[Outcome, int]:
        """The outcome, and how many Keras layers and ops the call made
        (``plain``: `probe`'s ``trace`` and ``eager``, on the plain path)."""
        with self.guarded():
            timeout = self.timeout if fast else _confirmation_timeout(self.timeout)
            if self.before_probe is not None:
                self.before_probe(space, point, record, timeout)
            before = self.calls.count
            outcome = probe(self.fn, space, point, timeout, user_files=self.user_files, fast=fast, **plain)
            self.last_calls = self.calls.count - before
            return outcome, self.last_calls


def outside_key(space: Space, point: Point) -> tuple:
    """How a point outside the search's space is named in the supervisor's
    records: ``("values", "C=16", "H=9", ...)`` (JSON-safe, stable)."""
    return ("values", *(f"{k}={show_value(v)}" for k, v in sorted(space.values(point).items())))


# The time budget, in Keras layer and op calls: a probe's cost is the number of
# calls it makes (counted, so the same code gets the same report on any
# machine); about 0.1 ms a call on 2 cores makes this about 30 s of probing.
CALL_BUDGET = 300_000
MIN_SEARCH = 20  # probes a search makes however costly a probe is


@dataclass(frozen=True)
class Budget:
    """How the search runs and why, for the report: ``exhaustive``, the probe
    budget of a search, and the reason in a few words."""

    exhaustive: bool
    max_examples: int
    why: str


def budget(space: Space, cost: int | None, max_examples: int, *, given: bool = False,
           exhaustive: bool | None = None) -> Budget:
    """Exhaustive when every combination fits `CALL_BUDGET` at ``cost``
    Keras calls a probe, a Hypothesis search of as many probes as fit
    otherwise (at least `MIN_SEARCH`). A budget ``given`` (``max_examples``
    from the caller or the decorator) or ``exhaustive`` set wins: then the
    count rule (exhaustive when the space has no more points than the budget)."""
    n = space.probe_count
    combinations = f"{n} combination{'s' * (n != 1)}"
    if exhaustive is not None:
        return Budget(exhaustive, max_examples, "as asked")
    if given or cost is None:
        if n <= max_examples:
            return Budget(True, max_examples, f"{combinations}, within the budget of {max_examples} probes")
        return Budget(False, max_examples, f"{combinations}, over the budget of {max_examples} probes")
    # The count itself is left out of the reason: a warm process answers some
    # calls from the stand-ins' memo, and two runs must print the same report.
    cost = max(cost, 1)
    if n * cost <= CALL_BUDGET:
        fit = "fit" if n != 1 else "fits"
        return Budget(True, max_examples, f"{combinations} {fit} the time budget ({CALL_BUDGET:,} Keras calls)")
    examples = min(n, max(MIN_SEARCH, CALL_BUDGET // cost))
    return Budget(False, examples, f"{combinations} would pass the time budget ({CALL_BUDGET:,} Keras calls): "
                                   f"a search of {examples} probes")


def measured_cost(prober: Prober, count: int = 2) -> int | None:
    """Keras calls a probe makes: the most of the space's first ``count``
    points, probed through the prober (so the search reuses them); None when
    the space's points are not enumerated."""
    points = [p for p in (prober.space.valid_points or []) if p not in prober.known][:count]
    calls = []
    for point in points:
        try:
            prober(point)
        except StopSearch:  # the search meets it again, and stops there
            break
        except KeyboardInterrupt:  # Ctrl-C: the search keeps what was found (`search`)
            prober.result.interrupted = True
            break
        calls.append(prober.last_calls)
    return max(calls) if calls else None


def search(
    prober: Prober,
    *,
    max_examples: int = 100,
    seed: int = 0,
    exhaustive: bool | None = None,
    database=None,
    database_key: bytes = b"",
) -> SearchResult:
    """Probe ``prober``'s space through it. ``exhaustive=None`` decides by
    size. Ctrl-C stops the search and returns what was found so far
    (``interrupted``). A probe running past the prober's time limit is an
    error at that point (mode ``Timeout``, never shrunk: each shrinking step
    could hang as long), and the search goes on with the other points, unless
    most calls hang (`HUNG_OUT`)."""
    space = prober.space
    if exhaustive is None:
        exhaustive = space.probe_count <= max_examples
    result = prober.result
    result.mode = "exhaustive" if exhaustive else "search"
    with ExitStack() as guards:
        guards.enter_context(prober.guarded())
        if database is None:
            guards.enter_context(private_hypothesis_home())
        if result.interrupted:  # Ctrl-C before the search began (`measured_cost`)
            _keep_best_seen(result)
        else:
            prober.phase("probing", space.probe_count if exhaustive else max_examples)
            _run(prober, space, result, exhaustive, max_examples, seed, database, database_key)
        if not result.interrupted:
            if result.minimal:
                prober.phase("confirming")
            _confirm_on_plain_path(prober, result)
    if database is not None and not result.interrupted:
        _remember(space, database, database_key, result.minimal.values())
    return result


def _run(prober, space, result, exhaustive, max_examples, seed, database, database_key) -> None:
    try:
        if exhaustive:
            if space.valid_points is not None:  # in the order of space.points()
                points = sorted(space.valid_points)
            else:
                points = (p for p in space.grid.candidates() if p is not None and space.is_valid(p))
            for point in points:
                prober(point)
            result.counts = _count_modes(result.outcomes)
        else:
            for point in _replay(space, database, database_key):
                prober(point)
            if space.valid_points is None:  # a point the contract allows, found before (`found_points`)
                for point in space.found_points:
                    prober(point)
            _explore(prober, space, max_examples, seed)
        while True:  # shrinking may meet new modes: shrink those too
            pending = {k: p for k, p in _best_seen(result.outcomes).items() if k not in result.minimal}
            if not pending:
                break
            prober.phase("shrinking")
            mode_key = min(pending)
            if mode_key[1] == TIMEOUT or mode_key[1] == DIED:  # each step could hang again
                result.minimal[mode_key] = pending[mode_key]
                continue
            start = pending[mode_key] if exhaustive else _shrink(prober, space, mode_key, pending[mode_key], seed)
            result.minimal[mode_key] = _pareto_minimal(prober, mode_key, start)
    except (KeyboardInterrupt, StopSearch) as stop:
        result.interrupted = isinstance(stop, KeyboardInterrupt)
        _keep_best_seen(result)


def _keep_best_seen(result: SearchResult) -> None:
    """A search stopped early: no exact counts (not every point was probed),
    and each mode seen keeps its best point as its example."""
    result.counts = None
    for mode_key, point in _best_seen(result.outcomes).items():
        result.minimal.setdefault(mode_key, point)


def _confirm_on_plain_path(prober: Prober, result: SearchResult) -> None:
    """Probe each mode's minimal point once more on the plain Keras path
    (`probe(..., fast=False)`: Keras's own code, no stand-ins; the weights of
    a shape failure's confirmation hold no value), so that the fast path can
    never make a false report. Where that disagrees, the plain path runs once
    more with real weights; a point
    where the two paths still disagree becomes an internal error, never a
    silently dropped or unconfirmed failure."""
    for mode_key, point in list(result.minimal.items()):
        fast = result.outcomes[point]
        if fast.error_type in (TIMEOUT, DIED, FORKED) or point in prober.known:
            continue
        # A layer rejecting shapes or arguments does not depend on weight
        # values: confirmed with weights that hold none (`fast.deferred_variables`).
        # The block's own error may (it may read one): real weights.
        # A data contract's fit failure is confirmed by a tiny real fit, which trains: real weights.
        shapes_only = fast.status in FAILURE_KINDS and fast.fit is None
        plain = prober.confirm(point, real_weights=not shapes_only)
        if shapes_only and plain.mode != mode_key and plain.error_type != TIMEOUT:  # real weights decide
            plain = prober.confirm(point, real_weights=True)
        if plain.mode == mode_key:
            if prober.only_on_data(point, plain):
                result.on_data.add(mode_key)
            continue
        said = lambda o: "a pass" if not o.failed else f"{o.status} ({o.layer_class or o.error_type}: {o.message})"
        if plain.error_type == TIMEOUT or plain.cause == "out of memory":
            # Plain Keras makes real weights: it may not finish what the fast probe
            # judged. Then the failure is neither confirmed nor contradicted.
            why = "ran out of time" if plain.error_type == TIMEOUT else "ran out of memory"
            message = (f"shapeguard's fast probe found {said(fast)}, but plain Keras {why} confirming it at "
                       "this point, so it is not reported as a shape failure")
        else:
            message = (f"shapeguard's fast probe found {said(fast)}, but plain Keras found {said(plain)} at "
                       "this point: the block relies on something the fast probe does not imitate (its known "
                       f"limits: {DOCS_URL}explanation/confirmed/), or it is a bug in shapeguard; please report it")
        cause = "fast path disagrees"
        # The same call on the same path once more: another result is the block's doing, not the paths'.
        first, again = fast, prober.again(point)
        if again.mode == fast.mode and plain.error_type != TIMEOUT and plain.cause != "out of memory":
            first, again = plain, prober.confirm(point, real_weights=True)
        if again.mode != first.mode:
            cause = "not repeatable"
            message = (f"the block gave different results for the same call: {said(first)}, then {said(again)}; "
                       "it keeps state between calls (a mutable default argument, a counter, a cache) or draws "
                       "at random, so no verdict is given at this point")
        internal = Outcome(ERROR, file=fast.file, line=fast.line, error_type=INTERNAL, cause=cause,
                           message=message)
        result.outcomes[point] = internal
        del result.minimal[mode_key]
        result.minimal[internal.mode] = point
        if result.counts is not None:
            result.counts.pop(mode_key, None)
            result.counts[internal.mode] = result.counts.get(internal.mode, 0) + 1


def _confirmation_timeout(timeout: float | None) -> float | None:
    """The plain path makes real weights and is many times slower than the
    probe that found the failure: it gets 50 times the probe's time, and at
    least a minute (and at most the longest time limit there is)."""
    return None if timeout is None else min(max(50 * timeout, 60.0), MAX_TIMEOUT)


def _count_modes(outcomes: dict) -> dict:
    counts: dict = {}
    for outcome in outcomes.values():
        if outcome.failed:
            counts[outcome.mode] = counts.get(outcome.mode, 0) + 1
    return counts


def _best_seen(outcomes: dict) -> dict:
    """For each mode, its most preferred failing point probed so far."""
    best: dict = {}
    for point, outcome in outcomes.items():
        if outcome.failed and (outcome.mode not in best or _rank(point) < _rank(best[outcome.mode])):
            best[outcome.mode] = point
    return best


def _rank(point: Point) -> tuple:
    return (sum(point), point)


def _varying(space: Space) -> list[int]:
    """Axes with more than one value: the only ones Hypothesis draws."""
    return [i for i, axis in enumerate(space.axes) if len(axis.values) > 1]


def _indexed(space: Space) -> bool:
    """Whether Hypothesis draws an index into the points left by the contract
    (when it skips some and the space was enumerated) rather than one index
    per axis."""
    return bool(space.skipped)


def _strategy(space: Space):
    """What Hypothesis draws: one index per varying axis (shrinking moves each
    towards its preferred values), or, when the contract skips points, an
    index into the points left (index 0 is the most preferred point); in a
    space too big to enumerate, one index per free axis of the constraints'
    `Grid` (the values their bounds keep; axes their equalities give are
    computed), with the points the whole contract skips filtered out as drawn."""
    from hypothesis import strategies as st

    if _indexed(space):
        return st.tuples(st.integers(0, len(space.valid_points) - 1))
    if space.valid_points is None:
        drawn = st.tuples(*(st.integers(0, len(allowed) - 1) for _, allowed in space.grid.drawn))
        return drawn.filter(lambda d: (p := space.grid.expand(d)) is not None and space.is_valid(p))
    return st.tuples(*(st.integers(0, len(space.axes[i].values) - 1) for i in _varying(space)))


def _expand(space: Space, drawn: tuple) -> Point:
    if _indexed(space):
        return space.valid_points[drawn[0]]
    if space.valid_points is None:
        return space.grid.expand(drawn)
    point = [0] * len(space.axes)
    for i, index in zip(_varying(space), drawn):
        point[i] = index
    return tuple(point)


def _choices(space: Space, point: Point) -> tuple:
    """The inverse of `_expand`: what Hypothesis would draw to reach ``point``."""
    if _indexed(space):
        return (space.valid_points.index(point),)
    if space.valid_points is None:
        return space.grid.choices(point)
    return tuple(point[i] for i in _varying(space))


def _settings(**changes):
    from hypothesis import HealthCheck, Verbosity, settings

    # Every field that matters is set here, so a user's Hypothesis profile
    # cannot make shapeguard's search slow, noisy or random.
    return settings(
        deadline=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        print_blob=False,
        **changes,
    )


def _explore(prober: Prober, space: Space, max_examples: int, seed: int) -> None:
    from hypothesis import Phase, given
    from hypothesis import seed as fixed_seed

    @fixed_seed(seed)
    @_settings(max_examples=max_examples, phases=[Phase.generate], database=None)
    @given(_strategy(space))
    def explore(drawn):
        prober(_expand(space, drawn))

    from hypothesis.errors import Unsatisfiable

    try:
        explore()
    except Unsatisfiable:  # a rare contract: the points found before (`found_points`) were probed
        pass


def _shrink(prober: Prober, space: Space, mode_key: tuple, start: Point, seed: int) -> Point:
    """Hypothesis's shrinker, started from a known failing point of the mode."""
    from hypothesis import Phase, find
    from hypothesis.database import InMemoryExampleDatabase, choices_to_bytes
    from hypothesis.errors import HypothesisException, NoSuchExample

    db = InMemoryExampleDatabase()
    db.save(b"start", choices_to_bytes(_choices(space, start)))
    try:
        drawn = find(
            _strategy(space),
            lambda drawn: prober(_expand(space, drawn)).mode == mode_key,
            settings=_settings(
                max_examples=1, database=db, phases=[Phase.reuse, Phase.generate, Phase.shrink]
            ),
            random=random.Random(seed),
            database_key=b"start",
        )
    except (NoSuchExample, HypothesisException):  # e.g. the start did not fail again
        return start
    shrunk = _expand(space, drawn)
    return shrunk if _rank(shrunk) <= _rank(start) else start


def _pareto_minimal(prober: Prober, mode_key: tuple, point: Point) -> Point:
    """The first failing point of the mode below ``point`` in order of total
    index: nothing below it can fail in the mode, or it would have come first."""
    box = 1
    for index in point:
        box *= index + 1
    if box <= PARETO_LIMIT:
        below = sorted(itertools.product(*(range(i + 1) for i in point)), key=_rank)
        return next(q for q in below if q == point or (prober.space.is_valid(q) and prober(q).mode == mode_key))
    while True:  # too many points below: make sure no single axis can improve
        for axis, index in enumerate(point):
            better = next(
                (q for q in (point[:axis] + (j,) + point[axis + 1 :] for j in range(index))
                 if prober.space.is_valid(q) and prober(q).mode == mode_key),
                None,
            )
            if better is not None:
                point = better
                break
        else:
            return point


def _example_key(space: Space, point: Point) -> bytes:
    values = space.values(point)
    return json.dumps([[name, show_value(values[name])] for name in sorted(values)]).encode()


def _replay(space: Space, database, key: bytes) -> list[Point]:
    """Failing examples saved by an earlier run, probed first (as Hypothesis does)."""
    if database is None:
        return []
    by_key = {_example_key(space, p): p for p in _saved_points(space, database, key)}
    return [by_key[k] for k in sorted(by_key) if space.is_valid(by_key[k])]


def _saved_points(space: Space, database, key: bytes) -> list[Point]:
    points = []
    reprs = [{show_value(v): i for i, v in enumerate(axis.values)} for axis in space.axes]
    for raw in database.fetch(key):
        try:
            saved = dict(json.loads(raw))
            points.append(tuple(r[saved[a.name]] for a, r in zip(space.axes, reprs)))
        except (ValueError, KeyError, TypeError):
            database.delete(key, raw)  # from another space: forget it
    return points


def _remember(space: Space, database, key: bytes, points) -> None:
    keep = {_example_key(space, p) for p in points}
    for raw in list(database.fetch(key)):
        if raw not in keep:
            database.delete(key, raw)
    for raw in sorted(keep):
        database.save(key, raw)
