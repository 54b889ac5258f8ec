"""The stand-in tests' comparison (tests/test_standin.py,
tests/test_standin_edge_cases.py): probe a point once on the plain path
(``fast=False``) and several times on the fast path, and compare each fast
`Outcome` with the plain one, field by field."""

from __future__ import annotations

import dataclasses

import pytest

from shapeguard._probe import probe, session
from shapeguard._probe import run as probe_module
from shapeguard._probe import standins as _standin
from shapeguard.space import build_space

# A stand-in test module's marks, after its own pytest.mark.keras: skipped on a
# Keras without stand-ins, each test from an empty memo (fixture
# `fresh_standins`, tests/conftest.py), Keras's warnings about what probes do
# on purpose silenced.
MARKS = [
    pytest.mark.skipif(not _standin.available(), reason="stand-ins need Keras 3's Layer.__new__"),
    pytest.mark.usefixtures("fresh_standins"),
    pytest.mark.filterwarnings("ignore:The object being serialized includes a `lambda`:UserWarning"),
    pytest.mark.filterwarnings("ignore:Layer '.*' looks like it has unbuilt state:UserWarning"),
]


def forget() -> None:
    """Empty the memo and what goes with it, and unmark every function."""
    _standin.clear_memo()
    probe_module.forget_functions()


def marked(fn) -> bool:
    """Whether `probe` runs ``fn`` without stand-ins from now on."""
    return bool(probe_module._without_standins.get(probe_module._key(fn)))


def space_of(fn, axes: dict, inputs: dict | None = None):
    return build_space(fn, axes, inputs or {"x": "H,H,C"})


def compare(fn, space, points, repeats: int = 3) -> tuple[list, list]:
    """For each point in order: the plain outcome, then ``repeats`` fast ones;
    returns the differences as (point, plain, fast) and the plain outcomes."""
    differences, plain_outcomes = [], []
    with session():
        for point in points:
            plain = probe(fn, space, point, fast=False)
            plain_outcomes.append(plain)
            for _ in range(repeats):
                fast = probe(fn, space, point)
                if fast != plain:
                    differences.append((point, plain, fast))
    return differences, plain_outcomes


def explain(differences) -> str:
    lines = []
    for point, plain, fast in differences[:3]:
        lines.append(f"at {point}:")
        for field in dataclasses.fields(plain):
            a, b = getattr(plain, field.name), getattr(fast, field.name)
            if a == b:
                continue
            if field.name == "branches" and len(a) == len(b):  # the steps that differ
                pairs = [(s, t) for x, y in zip(a, b) if x != y for s, t in zip(x.steps, y.steps) if s != t]
                if pairs:
                    a, b = pairs[0]
            lines.append(f"  {field.name}: plain {a!r}\n  {' ' * len(field.name)}  fast  {b!r}")
    return "\n".join(lines)


def assert_agree(fn, axes, inputs=None, order=None, repeats=3):
    """The plain outcomes at the points (all, or ``order``: dicts of axis
    values), after asserting every fast outcome equals them."""
    space = space_of(fn, axes, inputs)
    points = list(space.points()) if order is None else [space.index_of(values) for values in order]
    differences, plain = compare(fn, space, points, repeats)
    assert not differences, explain(differences)
    return plain
