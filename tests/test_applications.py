"""Keras's own applications folder checked with no options, as docs/how-to/targets.md
reports it: the counts of blocks found, checked and not checked, and every
reported failure confirmed by its reproducing call in plain Keras (eagerly on
real arrays where the symbolic path wraps the layer's error): no false
report. Minutes long: runs with ``--slow``."""

import importlib
import json
import re
from pathlib import Path

import pytest

from helpers.command_line import REPO, shapeguard
from helpers.eager_keras import confirm_plain_or_eager

pytestmark = [pytest.mark.keras, pytest.mark.slow]


@pytest.fixture(scope="module")
def applications():
    import keras.src.applications as package

    folder = Path(package.__file__).parent
    run = shapeguard("check", str(folder), "--format", "json", timeout=1800)  # about 15 min on 2 cores
    assert run.code in (1, 3), run.stderr
    return json.loads(run.stdout)


def test_the_counts_are_the_docs(applications):
    summary = applications["summary"]
    page = (REPO / "docs" / "how-to" / "targets.md").read_text()
    stated = re.search(r"found (\d+)\s+blocks, checked (\d+), could not check (\d+)[^.]*?; (\d+) failed", page)
    assert stated, "docs/how-to/targets.md states the applications counts"
    found, checked, not_checked, failed = map(int, stated.groups())
    assert (summary["found"], summary["checked"], summary["not_checked"], summary["failed"]) == (
        found, checked, not_checked, failed)
    assert len(applications["not_checked"]) == not_checked
    for entry in applications["not_checked"]:
        assert entry["reason"].endswith(".") and "\n" not in entry["reason"] and "Traceback" not in entry["reason"]


def test_every_failure_is_confirmed_by_plain_keras(applications):
    failures = [(t["target"], f) for t in applications["targets"] for f in t["failures"]]
    assert failures
    for target, failure in failures:
        module = importlib.import_module("keras.src.applications." + Path(target.split(":")[0]).stem)
        confirm_plain_or_eager(failure["call"], failure["layer"]["class"], failure["message"], vars(module))
