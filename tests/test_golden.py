"""The JSON report of every shipped example, byte for byte.

`tests/data/golden/examples.json` was written by `shapeguard check examples
shapeguard/examples --format json` (the seed example ships in the package) before
the code was moved into its present layout (issue 15):
a move of code must not change a report. Regenerate it only for a change that
is meant to change reports, and say in the commit which fields changed and why:

    python -m shapeguard check examples shapeguard/examples --format json -q > tests/data/golden/examples.json
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.keras

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "data" / "golden" / "examples.json"


def test_every_example_reports_what_it_reported_before():
    done = subprocess.run([sys.executable, "-m", "shapeguard", "check", "examples", "shapeguard/examples",
                           "--format", "json", "-q"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stderr  # the buggy examples fail, on purpose
    expected = GOLDEN.read_text()
    if done.stdout != expected:  # show which target differs, not a 6,000-line diff
        got = {t["target"]: t for t in json.loads(done.stdout)["targets"]}
        want = {t["target"]: t for t in json.loads(expected)["targets"]}
        assert list(got) == list(want)
        for name in want:
            assert got[name] == want[name], name
    assert done.stdout == expected
