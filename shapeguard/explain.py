"""Reports that explain (docs/explanation/reports.md): for each failure
mode, under which condition it fails, which input sizes work, the nearest
passing call and, for recognised patterns, how to fix it; per target, a
pass/fail grid of the two axes that matter most and silent broadcasts.

Everything is read from the probes that were run (an exhaustive run gives the
whole table). A search adds a few probes first: every one-axis change of each
minimal failing example, and a verification sample drawn with the check's
seed across the whole space (not only where the search went), so that a
condition is never learnt from the search's corner alone. A stated condition
agrees with every probe that passed or failed in its mode; calls that failed
in another mode never reached the layer, or may not have, so they are not
counted for or against it. It names only axes that varied, never a constant.
A fix that is one argument of the call is probed, through the same prober,
and printed only when that call passes.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from dataclasses import dataclass
from typing import Callable

from ._hints import Hint, hint_for
from ._outcome import ERROR, PASS, TIMEOUT, Outcome
from ._probe.broadcasts import Broadcast
from ._show import show_value
from .report import BroadcastWarning, Location
from .search import Prober, StopSearch
from .space import Axis, Space, TensorList

MAX_TERMS = 3  # a condition is an "or" of at most this many "and"s...
MAX_ATOMS = 3  # ...of at most this many simple tests each
BISECT_LIMIT = 12  # probes spent finding one size threshold between two tried sizes
VERIFY_SAMPLE = 32  # points a search draws across the whole space to check its conditions on


# ---- the entry point ---------------------------------------------------------


def explain(report, space: Space, result, prober: Prober, call_of: Callable, extra_budget: int) -> None:
    """Fill ``report``'s explanations in place (see module doc). Every probe
    goes through the search's ``prober`` (its guards, counting and crash
    record); ``call_of(point)`` is the reproducing call (``call_of(point,
    space)`` at a point of another space). In a search, probes up
    to ``extra_budget`` one-axis neighbours of the minimal examples first (kept
    in ``result`` and the report like every other probe)."""
    sample: set = set()  # the verification sample's points
    if report.mode == "search" and not report.interrupted:
        # the sample verifies conditions: a search that found no failure has none to verify
        count = min(VERIFY_SAMPLE, extra_budget) if result.minimal else 0
        sample = set(_sample(space, report.seed, count))
        fresh = [p for p in sorted(sample) if p not in result.outcomes]
        try:
            _probe_neighbours(result, space, prober, extra_budget - len(fresh))
            for point in fresh:
                if prober(point).error_type == TIMEOUT:
                    break
        except KeyboardInterrupt:
            report.interrupted = True
        except StopSearch:  # the process died at a neighbour before, or most calls hung
            pass
        report.outcomes = [(space.values(p), o) for p, o in result.outcomes.items()]
        report.probes = len(result.outcomes)
    rows = [(space.values(p), p, o) for p, o in result.outcomes.items()]
    complete = report.mode == "exhaustive" and not report.interrupted and result.counts is not None
    sample = {p for p in sample if p in result.outcomes}

    bisected: list = []  # (example, None, Outcome) of probes between two tried sizes
    try:  # bisection probes sizes between tried ones, unless the check was interrupted
        report.axis_summary = axis_summaries(rows, space, None if report.interrupted else prober.at, bisected,
                                             complete)
    except KeyboardInterrupt:  # Ctrl-C (or a block raising it) while bisecting: keep the report
        report.interrupted = True
        bisected.clear()
        report.axis_summary = axis_summaries(rows, space, None, bisected, complete)
    failures = list(report.failures)
    for mode_key, point in result.minimal.items():
        outcome = result.outcomes[point]
        if outcome.status == ERROR:
            continue
        example = space.values(point)
        for i, failure in enumerate(failures):
            if failure.example == example and failure.layer_class == outcome.layer_class:
                hint = hint_for(failure, outcome.branches, outcome.channels_first)
                try:  # after Ctrl-C no more probes: a fix that needs one is left out
                    text, probed = _probed_hint(hint, point, space, None if report.interrupted else prober, call_of)
                except KeyboardInterrupt:
                    report.interrupted = True
                    text, probed = _probed_hint(hint, point, space, None, call_of)
                failures[i] = dataclasses.replace(
                    failure,
                    branches=tuple(outcome.branches),
                    condition=condition_of(mode_key, rows, space, complete, bisected, sample),
                    hint=text,
                    hint_probe=probed,
                    nearest_pass=nearest_pass(point, rows, space, call_of),
                )
    report.failures[:] = failures
    report.grid = grid(rows, space)
    report.warnings = broadcast_warnings(rows, call_of)
    if report.mode == "search":  # a probed fix's point of the space counts as a probe
        report.outcomes = [(space.values(p), o) for p, o in result.outcomes.items()]
        report.probes = len(result.outcomes)


def _sample(space: Space, seed, count: int) -> list:
    """``count`` valid points drawn uniformly across the whole space with the
    check's seed (the same points on every run)."""
    rng = random.Random(f"shapeguard-verify-{seed}")
    if count <= 0:
        return []
    if space.valid_points is not None:
        points = list(space.valid_points)
        return points if len(points) <= count else rng.sample(points, count)
    drawn: list = []
    for _ in range(20 * count):
        point = tuple(rng.randrange(len(axis.values)) for axis in space.axes)
        if point not in drawn and space.is_valid(point):
            drawn.append(point)
            if len(drawn) == count:
                break
    return drawn


def _probed_hint(hint: Hint | None, point: tuple, space: Space, prober: Prober | None,
                 call_of: Callable) -> tuple[str | None, dict | None]:
    """The fix's text and, for a fix that is one argument of the call
    (``padding='same'``), the probe that showed it: such a fix is printed only
    when the call with that argument changed passes, probed through the
    search's prober, as a point of the space when the argument is an axis
    with that value, else as the call with one argument changed. A change of
    the block's own source (no such parameter) cannot be probed: the pattern
    alone says it, and the text is the pattern's. Without a ``prober`` (the
    check was interrupted) a fix that needs a probe is left out."""
    if hint is None or not hint.change:
        return (None if hint is None else hint.text), None
    ((name, value),) = hint.change.items()
    index = next((i for i, a in enumerate(space.axes) if a.name == name), None)
    if index is None and name not in space.signature.parameters:
        return hint.text, None
    if prober is None:
        return None, None
    try:
        if index is not None and any(_same(v, value) for v in space.axes[index].values):
            j = next(j for j, v in enumerate(space.axes[index].values) if _same(v, value))
            q = point[:index] + (j,) + point[index + 1:]
            if not space.is_valid(q):
                return None, None
            outcome, call = prober(q), call_of(q)
        else:
            changed = _with_axis(space, name, value)
            values = {**space.values(point), name: value}
            outcome = _probe_values(prober.at, changed, values)
            call = call_of((0,) * len(changed.axes), _single(changed, values))
    except StopSearch:
        return None, None
    if outcome is None or outcome.status != PASS:
        return None, None
    shown = f"{name}={show_value(value)}"
    return f"{hint.text} (probed: the same call with {shown} passes)", {"change": {name: value}, "call": call}


def _with_axis(space: Space, name: str, value) -> Space:
    """``space`` with ``name`` an axis of the one value (a parameter kept at its default, or another value)."""
    axes = [a for a in space.axes if a.name != name] + [Axis(name, (value,))]
    constants = tuple((n, v) for n, v in space.constants if n != name)
    return dataclasses.replace(space, axes=tuple(axes), constants=constants)


def _probe_neighbours(result, space: Space, prober: Prober, budget: int) -> None:
    for point in list(result.minimal.values()):
        for axis, index in itertools.product(range(len(point)), range(max(len(a.values) for a in space.axes))):
            if index >= len(space.axes[axis].values) or index == point[axis]:
                continue
            q = point[:axis] + (index,) + point[axis + 1 :]
            if q in result.outcomes or not space.is_valid(q):
                continue
            if budget <= 0:
                return
            budget -= 1
            outcome = prober(q)  # kept in result.outcomes
            if outcome.error_type == TIMEOUT:
                return


# ---- conditions --------------------------------------------------------------


@dataclass(frozen=True)
class Atom:
    text: str
    test: Callable[[dict], bool]
    rank: int  # lower reads simpler: equality, relation, threshold, modulus, inequality
    expr: str = ""  # the same test as a Python expression over the axis names


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def atoms_for(space: Space, sizes: dict | None = None) -> list[Atom]:
    """The simple tests a condition is built from, over the axes that vary
    (a constant is never named): ``axis=value``, ``axis != value``,
    thresholds, parity and divisibility of a numeric axis, and relations
    between two numeric axes (``C != 2*filters``, ``C is not a multiple of
    groups``). Ranks order them simplest first: a test of one axis reads
    simpler than a relation between two, so a relation is stated only where
    no test of one axis is true at the same probes."""
    atoms: list[Atom] = []
    numeric = []
    for axis in space.axes:
        values = list(axis.values)
        if len(values) < 2:
            continue
        name = axis.name
        for v in values:
            shown = show_value(v)
            atoms.append(Atom(f"{name}={shown}", lambda e, n=name, v=v: _same(e[n], v), 0, f"{name} == {shown}"))
            if len(values) > 2:
                atoms.append(Atom(f"{name} != {shown}", lambda e, n=name, v=v: not _same(e[n], v), 4,
                                  f"{name} != {shown}"))
        if all(_is_int(v) for v in values):
            numeric.append(name)
            ordered = sorted(set(values) | set((sizes or {}).get(name, ())))
            for t in ordered[1:]:
                atoms.append(Atom(f"{name} < {t}", lambda e, n=name, t=t: e[n] < t, 2, f"{name} < {t}"))
                atoms.append(Atom(f"{name} >= {t}", lambda e, n=name, t=t: e[n] >= t, 2, f"{name} >= {t}"))
            for m in (2, 4, 8, 16, 32):
                if m < max(ordered):
                    odd = "odd" if m == 2 else f"not a multiple of {m}"
                    even = "even" if m == 2 else f"a multiple of {m}"
                    atoms.append(Atom(f"{name} is {odd}", lambda e, n=name, m=m: e[n] % m != 0, 3,
                                      f"{name} % {m} != 0"))
                    atoms.append(Atom(f"{name} is {even}", lambda e, n=name, m=m: e[n] % m == 0, 3,
                                      f"{name} % {m} == 0"))
    for a in numeric:
        for b in numeric:
            if a == b:
                continue
            for k in (1, 2, 4, 8):
                times = f"{k}*{b}" if k != 1 else b
                rank = 5 if k == 1 else 6
                atoms.append(Atom(f"{a} = {times}", lambda e, a=a, b=b, k=k: e[a] == k * e[b], rank,
                                  f"{a} == {times}"))
                atoms.append(Atom(f"{a} != {times}", lambda e, a=a, b=b, k=k: e[a] != k * e[b], rank,
                                  f"{a} != {times}"))
            atoms.append(Atom(f"{a} < {b}", lambda e, a=a, b=b: e[a] < e[b], 5, f"{a} < {b}"))
            atoms.append(Atom(f"{a} >= {b}", lambda e, a=a, b=b: e[a] >= e[b], 5, f"{a} >= {b}"))
            atoms.append(Atom(f"{a} is not a multiple of {b}",
                              lambda e, a=a, b=b: e[b] != 0 and e[a] % e[b] != 0, 6, f"{b} != 0 and {a} % {b} != 0"))
    return atoms


def _same(a, b) -> bool:
    return type(a) is type(b) and a == b


def learn(positives: list[dict], negatives: list[dict], atoms: list[Atom]) -> list[list[Atom]] | None:
    """The simplest "or" of "and"s of atoms true at every positive and at no
    negative, or None when none of at most MAX_TERMS x MAX_ATOMS fits."""
    rows = positives + negatives
    full = (1 << len(rows)) - 1
    pos = (1 << len(positives)) - 1
    neg = full & ~pos
    masks = []
    seen = set()
    for atom in sorted(atoms, key=lambda a: a.rank):  # of tests true at the same probes, the simplest
        mask = 0
        for i, row in enumerate(rows):
            try:
                if atom.test(row):
                    mask |= 1 << i
            except (TypeError, ZeroDivisionError, KeyError):
                mask = None
                break
        if mask is None or not mask & pos or mask == full or mask in seen:
            continue
        seen.add(mask)
        masks.append((atom, mask))
    candidates = []  # (atoms, mask) that no negative satisfies
    for size in range(1, MAX_ATOMS + 1):
        pool = masks if size < 3 else sorted(masks, key=lambda am: -bin(am[1] & pos).count("1"))[:40]
        for combo in itertools.combinations(pool, size):
            mask = full
            for _, m in combo:
                mask &= m
            if mask & pos and not mask & neg:
                candidates.append(([a for a, _ in combo], mask))
        if _cover(candidates, pos) is not None:
            break
    return _cover(candidates, pos)


def _cover(candidates, pos: int) -> list[list[Atom]] | None:
    chosen, covered = [], 0
    while covered != pos and len(chosen) < MAX_TERMS:
        best = max(
            candidates,
            key=lambda c: (bin(c[1] & pos & ~covered).count("1"), -len(c[0]), -sum(a.rank for a in c[0]),
                           bin(c[1]).count("1")),
            default=None,
        )
        if best is None or not best[1] & pos & ~covered:
            return None
        chosen.append(best[0])
        covered |= best[1] & pos
    return chosen if covered == pos else None


def condition_text(terms: list[list[Atom]]) -> str:
    """``conv_shortcut=False and (C != 2*filters or strides=2)``."""
    texts = [[a.text for a in term] for term in terms]
    if len(texts) == 1:
        return " and ".join(texts[0])
    common = [t for t in texts[0] if all(t in other for other in texts[1:])]
    rests = [[t for t in term if t not in common] for term in texts]
    if common and all(rests):
        inner = " or ".join(" and ".join(r) for r in rests)
        return " and ".join(common) + f" and ({inner})"
    return " or ".join("(" + " and ".join(t) + ")" if len(t) > 1 else t[0] for t in texts)


def axes_that_matter(positives: list[dict], negatives: list[dict], names: list[str]) -> list[str]:
    """Axes for which some positive and some negative differ in that axis alone,
    the one with most such pairs first."""
    flips = {}
    for name in names:
        others = [n for n in names if n != name]
        key = lambda e: tuple(repr(e[n]) for n in others)
        pos_keys = {}
        for e in positives:
            pos_keys[key(e)] = pos_keys.get(key(e), 0) + 1
        count = sum(pos_keys.get(key(e), 0) for e in negatives)
        if count:
            flips[name] = count
    return sorted(flips, key=lambda n: (-flips[n], names.index(n)))


def condition_of(mode_key: tuple, rows: list, space: Space, complete: bool,
                 bisected: list = (), sample: set = frozenset()) -> dict:
    """``{"text", "checked_on", "axes", "points", "expression", ...}`` for one
    failure mode; ``bisected`` probes (sizes between tried ones) count too, and
    ``sample`` (points of a search's verification sample) are named in
    ``sample_points``."""
    positives = [dict(e) for e, _, o in [*rows, *bisected] if o.mode == mode_key]
    negatives = [dict(e) for e, _, o in [*rows, *bisected] if o.status == PASS]
    sizes: dict = {}
    for e, _, _ in bisected:
        for name in e:
            sizes.setdefault(name, set()).add(e[name])
    in_space = sum(1 for _, _, o in rows if o.mode == mode_key or o.status == PASS)
    names = [a.name for a in space.axes if len(a.values) > 1]
    matter = axes_that_matter(positives, negatives, names)
    checked = "all" if complete else "sample"
    judged_sample = sum(1 for _, p, o in rows if p in sample and (o.mode == mode_key or o.status == PASS))
    base = {"checked_on": checked, "points": in_space, "bisection_probes": len(bisected), "axes": matter,
            "sample_points": 0 if complete else judged_sample}
    if not negatives:
        return {"text": "fails at every probed call that got this far", **base, "exact": True,
                "expression": "True", "constants": {}}
    terms = learn(positives, negatives, atoms_for(space, sizes))
    if terms is not None and all(_holds(terms, e) for e in positives) and not any(_holds(terms, e) for e in negatives):
        used = [a.name for a in space.axes if any(a.name in atom.text.replace("(", " ").split()
                                                  for term in terms for atom in term)]
        expression = " or ".join("(" + " and ".join(f"({a.expr})" for a in term) + ")" for term in terms)
        return {"text": "fails when " + condition_text(terms), **base, "axes": matter or used, "exact": True,
                "expression": expression, "constants": {}}
    if matter:
        return {"text": f"fails depending on {_and(matter)}; no simple condition fits every probe", **base,
                "exact": False, "expression": None, "constants": {}}
    return {"text": "no single axis was seen to change the outcome on its own", **base, "exact": False,
            "expression": None, "constants": {}}


def _holds(terms, example) -> bool:
    return any(all(atom.test(example) for atom in term) for term in terms)


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# ---- nearest passing call ----------------------------------------------------


def nearest_pass(point: tuple, rows: list, space: Space, call_of: Callable) -> dict | None:
    """The probed passing call that changes the fewest axes of ``point`` (then
    the smallest moves in the axes' value order)."""
    best = None
    for example, p, outcome in rows:
        if outcome.status != PASS:
            continue
        changed = [i for i, (a, b) in enumerate(zip(point, p)) if a != b]
        key = (len(changed), sum(abs(point[i] - p[i]) for i in changed), sum(p), p)
        if best is None or key < best[0]:
            best = (key, example, p, changed)
    if best is None:
        return None
    _, example, p, changed = best
    return {
        "changed": {space.axes[i].name: example[space.axes[i].name] for i in changed},
        "example": example,
        "call": call_of(p),
    }


# ---- which sizes work --------------------------------------------------------


def size_axes(space: Space) -> list[str]:
    """Axes that are a spatial or sequence dimension of some template: read by
    a dim other than the last (channel) one, as templates are written channels-last."""
    names: list[str] = []

    def visit(choice):
        if choice is None:
            return
        if isinstance(choice, TensorList):
            for shape in choice.shapes:
                visit(shape)
            return
        for dim in choice[:-1]:
            for n in sorted(getattr(dim, "names", ()) or ()):
                if n not in names:
                    names.append(n)

    for template in space.templates:
        for choice in template.choices:
            visit(choice)
    return [a.name for a in space.axes if a.is_dim and a.name in names and len(a.values) > 1]


def axis_summaries(rows: list, space: Space, probe_at: Callable | None = None,
                   bisected: list | None = None, complete: bool = True) -> dict:
    """Per size axis: the values at which every probe passed, every probe
    failed, or both happened (``depends``), and a threshold where one fits."""
    summary = {}
    judged = [(e, o) for e, _, o in rows if o.status != ERROR]
    changing = axes_that_matter([e for e, o in judged if o.failed], [e for e, o in judged if not o.failed],
                                [a.name for a in space.axes if len(a.values) > 1])
    for name in size_axes(space):
        passed, failed = {}, {}
        for example, _, outcome in rows:
            if outcome.status == ERROR:
                continue
            bucket = passed if outcome.status == PASS else failed
            bucket[example[name]] = bucket.get(example[name], 0) + 1
        values = [v for v in dict.fromkeys(e[name] for e, _, _ in rows) if v in passed or v in failed]
        values.sort(key=lambda v: (v is None, v if _is_int(v) else 0))
        passing = [v for v in values if v in passed and v not in failed]
        failing = [v for v in values if v in failed and v not in passed]
        depends = [v for v in values if v in passed and v in failed]
        entry = {"passing": passing, "failing": failing, "depends": depends, "threshold": None}
        if passing and failing and not depends and all(_is_int(v) for v in passing + failing):
            if max(failing) < min(passing):
                entry["threshold"] = _threshold(name, max(failing), min(passing), rows, space, probe_at, True,
                                                bisected)
            elif max(passing) < min(failing):
                entry["threshold"] = _threshold(name, min(failing), max(passing), rows, space, probe_at, False,
                                                bisected)
        entry["checked_on"] = "all" if complete else "sample"
        entry["text"] = _summary_text(name, entry) + ("" if complete else " (in the probes of a search)")
        if depends and not passing and not failing and name not in changing:
            entry["inert"] = True  # left out of the text report
            entry["text"] = (f"changing {name} alone never changed the outcome "
                             f"({', '.join(map(show_value, depends))} tried)")
        summary[name] = entry
    return summary


def _threshold(name, fails_at, passes_at, rows, space, probe_at, up: bool, bisected: list | None) -> dict:
    """Narrow the gap between a failing and a passing size by bisection, at
    the other axes' values of a probe that passed at ``passes_at``."""
    base = next(e for e, _, o in rows if o.status == PASS and e[name] == passes_at)
    probes = 0
    if probe_at is not None:
        while abs(passes_at - fails_at) > 1 and probes < BISECT_LIMIT:
            middle = (passes_at + fails_at) // 2
            outcome = _probe_values(probe_at, space, {**base, name: middle})
            if outcome is None:
                break
            probes += 1
            if bisected is not None:
                bisected.append(({**base, name: middle}, None, outcome))
            if outcome.status == PASS:
                passes_at = middle
            elif outcome.status != ERROR:
                fails_at = middle
            else:
                break
    key = "passes_from" if up else "passes_up_to"
    return {key: passes_at, "fails_at": fails_at, "exact": abs(passes_at - fails_at) == 1,
            "bisected_at": {k: v for k, v in base.items() if k != name} if probes else None, "probes": probes}


def _single(space: Space, values: dict) -> Space:
    """``space`` with each axis kept at its value in ``values``: one point, ``(0, ...)``."""
    return dataclasses.replace(space, axes=tuple(dataclasses.replace(a, values=(values[a.name],))
                                                 for a in space.axes))


def _probe_values(probe_at: Callable, space: Space, values: dict) -> Outcome | None:
    """One probe at values that need not be in the space (a size between two tried ones)."""
    single = _single(space, values)
    point = (0,) * len(single.axes)
    try:
        if single.call(point) is None:
            return None
    except Exception:  # a constraint that cannot judge this size
        return None
    return probe_at(single, point)


def _summary_text(name: str, entry: dict) -> str:
    parts = []
    threshold = entry["threshold"]
    if threshold is not None:
        if "passes_from" in threshold:
            parts.append(f"passes for {name} >= {threshold['passes_from']}")
            parts.append(f"{name} = {threshold['fails_at']} fails" if threshold["exact"]
                         else f"fails for {name} <= {threshold['fails_at']}")
        else:
            parts.append(f"passes for {name} <= {threshold['passes_up_to']}")
            parts.append(f"{name} = {threshold['fails_at']} fails" if threshold["exact"]
                         else f"fails for {name} >= {threshold['fails_at']}")
        return "; ".join(parts) + (" (found by bisection)" if threshold["probes"] else "")
    show = lambda vs: "{" + ", ".join(map(show_value, vs)) + "}"
    if entry["passing"]:
        parts.append(f"passes for {name} in {show(entry['passing'])}")
    if entry["failing"]:
        parts.append(f"fails for {name} in {show(entry['failing'])}")
    if entry["depends"]:
        parts.append(f"depends on other axes for {name} in {show(entry['depends'])}")
    return "; ".join(parts)


# ---- the grid ----------------------------------------------------------------

def grid(rows: list, space: Space) -> dict | None:
    """Pass/fail marks for the two axes that change the outcome most often
    on their own: ``{"rows": axis, "columns": axis, "row_values", "column_values", "cells"}``."""
    judged = [(e, o) for e, _, o in rows if o.status != ERROR]
    names = [a.name for a in space.axes if len(a.values) > 1]
    positives = [e for e, o in judged if o.failed]
    negatives = [e for e, o in judged if not o.failed]
    matter = axes_that_matter(positives, negatives, names)
    if len(matter) < 2:
        return None
    row_axis, column_axis = matter[0], matter[1]
    values = {a.name: list(a.values) for a in space.axes}
    cells = []
    for r in values[row_axis]:
        line = []
        for c in values[column_axis]:
            seen = [o.failed for e, o in judged if _same(e[row_axis], r) and _same(e[column_axis], c)]
            line.append("none" if not seen else "fail" if all(seen) else "pass" if not any(seen) else "some")
        cells.append(line)
    return {"rows": row_axis, "columns": column_axis, "row_values": values[row_axis],
            "column_values": values[column_axis], "cells": cells}


# ---- silent broadcasts -------------------------------------------------------


def broadcast_warnings(rows: list, call_of: Callable) -> list:
    """One warning per merge (class and line), at its most preferred probe."""
    best: dict = {}
    counts: dict = {}
    for example, point, outcome in rows:
        for found in outcome.warnings:
            if not isinstance(found, Broadcast):
                continue
            counts[found.mode] = counts.get(found.mode, 0) + 1
            rank = (sum(point), point)
            if found.mode not in best or rank < best[found.mode][0]:
                best[found.mode] = (rank, example, point, found)
    warnings = []
    for mode, (_, example, point, found) in sorted(best.items(), key=lambda kv: kv[0]):
        location = Location(found.file, found.line) if found.file else None
        warnings.append(BroadcastWarning(found.layer_class, found.layer_name, location, found.input_shapes,
                                         found.dim, example, call_of(point), counts[mode]))
    return warnings
