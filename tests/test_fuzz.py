"""Random blocks: shapeguard's exhaustive check against plain Keras.

For each block drawn by tests/helpers/fuzz_blocks.py (a fixed, derandomized corpus):
every failure shapeguard reports fails in plain Keras at its reproducing call,
in the same layer class, with the same message; every point it probed and
called passing passes in plain Keras; every point it called failing fails
there too, in the same layer. Disagreements are counted, not stopped at: the
test fails listing each, with the block's source as its reproducer.

A modest corpus runs in every session; `python -m pytest -m fuzz
--fuzz-examples 300` runs a large one (in chunks, so `-n 2` shares them).
"""

from functools import lru_cache

import pytest

from helpers import fuzz_blocks

pytestmark = pytest.mark.keras

CHUNK = 25  # blocks per test item


def pytest_generate_tests(metafunc):
    if "chunk" in metafunc.fixturenames:
        n = metafunc.config.getoption("--fuzz-examples")
        starts = range(0, max(n, 0), CHUNK)
        metafunc.parametrize(
            "chunk", [(start, min(start + CHUNK, n)) for start in starts],
            ids=[f"blocks{start}-{min(start + CHUNK, n) - 1}" for start in starts],
        )


@lru_cache(maxsize=1)
def corpus(n: int) -> list:
    return fuzz_blocks.corpus(n)


@pytest.mark.fuzz
def test_random_blocks_agree_with_plain_keras(chunk, request, tmp_path):
    start, stop = chunk
    specs = corpus(request.config.getoption("--fuzz-examples"))
    assert len(specs) == request.config.getoption("--fuzz-examples"), "the corpus repeats itself"
    points, disagreements, statuses, found = 0, 0, set(), []
    for index in range(start, stop):
        spec = specs[index]
        module = fuzz_blocks.write_module(spec, tmp_path, f"fuzz_block_{index:04d}")
        report, problems = fuzz_blocks.compare(spec, module)
        points += report.probes
        disagreements += len(problems)
        statuses.update(outcome.status for _, outcome in report.outcomes)
        if problems:
            found.append(f"block {index}, inputs {spec.inputs}, axes {spec.axes}:\n{spec.source()}"
                         + "".join(f"  - {p}\n" for p in problems))
    request.node.user_properties.append(("fuzz", (stop - start, points, disagreements)))
    assert not found, f"{disagreements} disagreements with plain Keras in {len(found)} blocks:\n\n" + "\n".join(found)
    # A corpus that never passes or never fails would test nothing.
    assert {"pass", "shape"} <= statuses, statuses


def test_corpus_is_fixed_and_small():
    first, again = fuzz_blocks.corpus(40), fuzz_blocks.corpus(40)
    assert [s.source() for s in first] == [s.source() for s in again]
    assert [s.axes for s in first] == [s.axes for s in again]
    assert fuzz_blocks.corpus(10) == first[:10]  # a larger run extends the modest one
    for spec in first:
        assert 4 <= spec.size <= 16, spec.axes
        compile(spec.source(), "<block>", "exec")


def test_a_false_pass_is_a_disagreement(monkeypatch, tmp_path):
    """The comparison can fail: a probe that calls every point passing is caught."""
    import shapeguard.search
    from shapeguard._outcome import PASSED

    spec = fuzz_blocks.BlockSpec(
        {"x": "H,C"}, {"H": [4, 5], "C": [4], "strides": [1, 2]},
        (fuzz_blocks.Step("Conv1D", "({0})", (0,), "layers.Conv1D(4, 1, strides=strides)"),
         fuzz_blocks.Step("+", "{0} + {1}", (0, 1))),
    )
    module = fuzz_blocks.write_module(spec, tmp_path, "fuzz_false_pass")
    report, problems = fuzz_blocks.compare(spec, module)
    assert problems == [] and len(report.failures) == 1 and report.failures[0].failing == 2  # strides=2
    monkeypatch.setattr(shapeguard.search, "probe", lambda *args, **kwargs: PASSED)
    report, problems = fuzz_blocks.compare(spec, module)
    assert len(problems) == 2 and all("plain Keras raised ValueError in ['Add']" in p for p in problems), problems
