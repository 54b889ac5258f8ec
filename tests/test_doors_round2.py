"""Issue 17, "Trust, round 2": the pytest plugin and the report renderers.

pytest's --lf / --ff / --sw rerun the shapeguard items that failed; one
``@guard`` is one item; every SARIF result has a location, at a
percent-encoded relative URI; an error-only report prints no empty size
line. Renderer tests are pure Python on hand-made reports (the fast lane);
the others are marked ``keras`` one by one, so importing this module imports
no Keras. Every failure a test relies on is confirmed with plain Keras.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest

from shapeguard.report import BlockError, BroadcastWarning, Failure, Location, Report, render

DATA = Path(__file__).parent / "data"
NO_DATABASE = "--shapeguard-no-database"


@pytest.fixture(scope="module")
def keras_loaded():
    """Keras and shapeguard's engine imported before `pytester` is made: an
    in-process pytester session drops the modules first imported in it, and
    TensorFlow must not be imported twice. Module scope, so it comes first."""
    import keras  # noqa: F401

    import shapeguard.engine  # noqa: F401


def outcomes(result: pytest.RunResult) -> dict[str, str]:
    """From the ``-rA`` summary: node id -> PASSED / FAILED."""
    return {m.group(2): m.group(1) for line in result.outlines
            if (m := re.match(r"(PASSED|FAILED|ERROR) (\S+)", line))}


def confirm_incompatible_add(text: str, namespace: dict) -> None:
    """The report's reproducing call fails in plain Keras with the merge's message."""
    from helpers.plain_keras import run_call

    calls = re.findall(r"^\s*reproduce: (.+)$", text, flags=re.MULTILINE)
    assert calls, text
    for call in calls:
        exc = run_call(call, namespace)
        assert isinstance(exc, ValueError) and "Inputs have incompatible shapes" in str(exc), (call, exc)


# -- 5: an error-only report prints no empty size line ------------------------

RAISES = '''
from keras.layers import Conv2D


def block(x):
    y = Conv2D(8, 1)(x)
    return y.shape[-1] + "channels"
'''


@pytest.mark.keras
@pytest.mark.parametrize("budget", [{}, {"max_examples": 2}], ids=["exhaustive", "search"])
def test_an_error_only_report_has_no_empty_size_line(budget):
    import shapeguard
    from helpers.plain_keras import run_call

    namespace: dict = {}
    exec(compile(RAISES, "raises.py", "exec"), namespace)
    report = shapeguard.check(namespace["block"], inputs={"x": "H,H,C"}, C=[8, 16], H=[4, 8], **budget)
    assert report.status == "error" and report.errors and not report.failures
    text = str(report)
    assert "  sizes:" not in text
    assert not [line for line in text.splitlines() if re.fullmatch(r"\s*\w+:\s*(\(in the probes of a search\))?", line)]
    for error in report.errors:
        assert isinstance(run_call(error.call, namespace), TypeError)
