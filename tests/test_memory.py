"""Probing does not leak: memory stays flat over 2,000 probes."""

import gc

import pytest
from keras import layers

from shapeguard._probe import probe
from shapeguard.space import build_space

pytestmark = pytest.mark.keras


def small_block(x, filters=8, residual=True):
    y = layers.Conv2D(filters, 3, padding="same")(x)
    y = layers.BatchNormalization()(y)
    return layers.Add()([x, y]) if residual else y


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def test_memory_does_not_grow_over_2000_probes():
    space = build_space(small_block, {"C": [8, 16], "H": [4]})
    points = list(space.points())  # half pass, half fail in Add
    outcomes = set()

    def run(n):
        for i in range(n):
            outcomes.add(probe(small_block, space, points[i % len(points)]).status)
        gc.collect()

    run(300)  # warm up TensorFlow's caches
    start_mib, start_objects = rss_mib(), len(gc.get_objects())
    run(1700)
    grown_mib, grown_objects = rss_mib() - start_mib, len(gc.get_objects()) - start_objects
    assert outcomes == {"pass", "shape"}
    # Generous bounds: a leak of one layer with its weights per probe would
    # be far above both (hundreds of MiB, tens of thousands of objects).
    assert grown_mib < 64, f"RSS grew {grown_mib:.1f} MiB over 1,700 probes"
    assert grown_objects < 2000, f"{grown_objects} more live objects after 1,700 probes"
