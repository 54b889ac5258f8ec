"""Shared test setup (see tests/README.md): the markers, ``--fuzz-examples``, ``--slow``,
the fast lane's collection rule, and fixtures more than one module uses.
`pytester` runs pytest sessions in a temporary folder."""

import ast
import itertools
import os
import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent

# Child processes (the CLI, pytester subprocess runs) start TensorFlow quietly,
# and import shapeguard from this checkout, whatever their working folder (not
# another checkout an editable install points at).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
_paths = [path for path in os.environ.get("PYTHONPATH", "").split(os.pathsep) if path and path != str(REPO)]
os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO), *_paths])

# Every test and the processes it starts probe for real, with the user's cache
# folder untouched: the result cache and the persisted memo are off and point
# at a folder of this session's own; the tests of the cache turn it on
# (monkeypatch.delenv("SHAPEGUARD_NO_CACHE")) with a folder of their own.
import tempfile  # noqa: E402

os.environ["SHAPEGUARD_NO_CACHE"] = "1"
os.environ["SHAPEGUARD_CACHE_DIR"] = tempfile.mkdtemp(prefix="shapeguard-test-cache-")

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
    parser.addoption(
        "--slow",
        action="store_true",
        help="also run the tests marked slow (minutes each: Keras's whole applications folder).",
    )


def pytest_configure(config):
    config.addinivalue_line("markers", "fuzz: random blocks checked by shapeguard and by plain Keras")
    config.addinivalue_line("markers", "slow: takes minutes; runs only with --slow (kept out of the 5-minute suite)")
    config.addinivalue_line(
        "markers",
        "keras: imports Keras or TensorFlow, or runs shapeguard on a block (which does); "
        "-m 'not keras' is the fast lane",
    )


# The fast lane. Marks are read only after a module is imported, and a module
# marked keras as a whole imports Keras at the top, so a run that deselects
# every test marked keras (-m "not keras") does not collect those modules at
# all: a module is one when its own ``pytestmark = ...`` names pytest.mark.keras
# (read from its source, not imported). Every other module must not import
# Keras or TensorFlow when imported (test_fast_lane.py holds that).


def pytest_ignore_collect(collection_path, config):
    if collection_path.suffix == ".py" and collection_path.parent == TESTS and collection_path.name.startswith("test_"):
        if _keras_deselected(config) and _marked_keras(collection_path):
            return True
    return None


def _marked_keras(path: Path) -> bool:
    """Whether the module's own ``pytestmark`` includes pytest.mark.keras."""
    for node in ast.parse(path.read_bytes(), str(path)).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "pytestmark" for t in node.targets):
            return any(ast.unparse(n) == "pytest.mark.keras" for n in ast.walk(node.value)
                       if isinstance(n, ast.Attribute))
    return False


def _keras_deselected(config) -> bool:
    """Whether ``-m`` deselects every test marked keras, whatever its other marks."""
    markexpr = config.getoption("markexpr", "")
    if not markexpr:
        return False
    try:
        from _pytest.mark.expression import Expression  # pytest's own parser for -m

        expression = Expression.compile(markexpr)
    except Exception:  # noqa: BLE001 - another pytest: collect everything, deselect as usual
        return False
    names = set(re.findall(r"(?:\w|:|\+|-|\.|\[|\]|\\|/)+", markexpr)) - {"and", "or", "not", "keras"}
    others = sorted(names)
    if len(others) > 10:
        return False
    for values in itertools.product([False, True], repeat=len(others)):
        marks = {"keras", *(name for name, on in zip(others, values) if on)}
        if expression.evaluate(lambda name, **kwargs: name in marks):
            return False
    return True


_fuzz_tally = [0, 0, 0]  # blocks, points, disagreements


_explain_tally = [0, 0, 0, 0, 0]  # blocks, conditions, nearest passes, fixes checked, disagreements


def pytest_runtest_logreport(report):
    """Add up the fuzz chunks' counts (user_properties travel from xdist workers)."""
    for name, value in report.user_properties:
        if name in ("fuzz", "explain") and report.when == "call":
            tally = _fuzz_tally if name == "fuzz" else _explain_tally
            for i, count in enumerate(value):
                tally[i] += count


def pytest_terminal_summary(terminalreporter, config):
    blocks, points, disagreements = _fuzz_tally
    if blocks:
        terminalreporter.write_line(
            f"fuzz: {blocks} random blocks, {points} points compared with plain Keras, "
            f"{disagreements} disagreements"
        )
    blocks, conditions, nearest, hints, disagreements = _explain_tally  # tests/test_explain_differential.py
    if blocks:
        terminalreporter.write_line(
            f"explain: {blocks} blocks, {conditions} conditions checked on their whole enumeration, "
            f"{nearest} nearest passes and {hints} fixes (probed calls, shortcut projections) run in plain Keras, "
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


def pytest_collection_modifyitems(config, items):
    """Tests marked slow run only with ``--slow``."""
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
