"""The fast lane: ``python -m pytest -m "not keras"`` runs the tests that need
no Keras, and imports neither Keras nor TensorFlow (conftest.py leaves the
modules marked keras uncollected; the others must not import them).

Collecting the lane (where a test module's imports run) is checked in every
session, in about 3 s; running the whole lane a second time (about 25 s of
the 5-minute budget, for tests the session runs anyway) only with ``--slow``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
INNER = "SHAPEGUARD_FAST_LANE_INNER"  # set in the inner run, where this test skips itself

# Loaded into the inner run with -p: at session end, what it ran and imported.
PLUGIN = '''
import json
import os
import sys

_outcomes = {}
_collected = []


def pytest_collection_finish(session):
    _collected.extend(item.nodeid for item in session.items)


def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        _outcomes[report.nodeid] = report.outcome


def pytest_sessionfinish(session, exitstatus):
    heavy = sorted(name for name in ("tensorflow", "keras") if name in sys.modules)
    with open(os.environ["FAST_LANE_REPORT"], "w") as out:
        json.dump({"heavy": heavy, "outcomes": _outcomes, "collected": _collected}, out)
'''


def inner_lane(tmp_path, *options: str) -> dict:
    """``pytest -m "not keras"`` in a process of its own: what it collected, ran and imported."""
    (tmp_path / "fast_lane_report.py").write_text(textwrap.dedent(PLUGIN))
    report = tmp_path / "report.json"
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("PYTEST_")}  # not this run's xdist worker or options
    env.update({INNER: "1", "FAST_LANE_REPORT": str(report),
                "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))})
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "not keras", "-q", "-p", "no:cacheprovider",
         "-p", "fast_lane_report", *options, str(TESTS)],
        cwd=TESTS.parent, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(report.read_text())


@pytest.mark.skipif(os.environ.get(INNER) == "1", reason="the fast lane's own inner run")
def test_collecting_the_fast_lane_imports_neither_keras_nor_tensorflow(tmp_path):
    result = inner_lane(tmp_path, "--collect-only")
    assert result["heavy"] == [], f"collecting the fast lane imported {result['heavy']}"
    assert len(result["collected"]) > 200 and any(n.startswith("tests/test_space.py::") for n in result["collected"])
    assert not [nodeid for nodeid in result["collected"] if nodeid.startswith("tests/test_probe.py::")]


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get(INNER) == "1", reason="the fast lane's own inner run")
def test_the_fast_lane_imports_neither_keras_nor_tensorflow(tmp_path):
    result = inner_lane(tmp_path)
    assert result["heavy"] == [], f"the fast lane imported {result['heavy']}"
    passed = [nodeid for nodeid, outcome in result["outcomes"].items() if outcome == "passed"]
    assert len(passed) > 20, result["outcomes"]
    assert any(nodeid.startswith("tests/test_space.py::") for nodeid in passed)
    assert not [nodeid for nodeid in result["outcomes"] if nodeid.startswith("tests/test_probe.py::")]
