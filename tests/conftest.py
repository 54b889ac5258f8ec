"""Shared test setup. `pytester` runs pytest sessions in a temporary folder."""

import os
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]

# Child processes (the CLI, pytester subprocess runs) start TensorFlow quietly,
# and import shapeguard from this checkout, whatever their working folder (not
# another checkout an editable install points at).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
_paths = [path for path in os.environ.get("PYTHONPATH", "").split(os.pathsep) if path and path != str(REPO)]
os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO), *_paths])

# The fuzz test (tests/test_fuzz.py): a modest corpus of random blocks runs in
# every session; `python -m pytest -m fuzz --fuzz-examples 300` runs a large one.
DEFAULT_FUZZ_EXAMPLES = 15


def pytest_addoption(parser):
    parser.addoption(
        "--fuzz-examples",
        type=int,
        default=DEFAULT_FUZZ_EXAMPLES,
        metavar="N",
        help=f"random blocks the fuzz test compares with plain Keras (default {DEFAULT_FUZZ_EXAMPLES}).",
    )


def pytest_configure(config):
    config.addinivalue_line("markers", "fuzz: random blocks checked by shapeguard and by plain Keras")


_fuzz_tally = [0, 0, 0]  # blocks, points, disagreements


def pytest_runtest_logreport(report):
    """Add up the fuzz chunks' counts (user_properties travel from xdist workers)."""
    for name, value in report.user_properties:
        if name == "fuzz" and report.when == "call":
            for i, count in enumerate(value):
                _fuzz_tally[i] += count


def pytest_terminal_summary(terminalreporter, config):
    blocks, points, disagreements = _fuzz_tally
    if blocks:
        terminalreporter.write_line(
            f"fuzz: {blocks} random blocks, {points} points compared with plain Keras, "
            f"{disagreements} disagreements"
        )


@pytest.fixture
def fresh_standins():
    """An empty stand-in memo and no function marked as run without stand-ins,
    before the test and after it (the stand-in tests' marks use it, see
    helpers/standin_compare.py)."""
    from shapeguard._probe import run, standins

    standins.clear_memo(), run.forget_functions()
    yield
    standins.clear_memo(), run.forget_functions()
