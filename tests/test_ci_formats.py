"""The CI formats on real checks (issue 19, point 5): SARIF fingerprints that
follow a bug when the lines above it move, and GitHub annotations titled by
their mode with the fix line. Each check is in this process, on a 4-point
space (about a second each); every failure is confirmed with plain Keras."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from helpers.plain_keras import confirm

import shapeguard
from shapeguard.report import render

pytestmark = pytest.mark.keras

# An unprojected shortcut: the Add fails for its channels (filters=16) and for
# its spatial size (strides=2): two modes at one line, told apart only by cause.
BLOCK = '''
import keras


def block(x, filters=8, strides=1):
    y = keras.layers.Conv2D(filters, 1, strides=strides)(x)
    return keras.layers.Add()([x, y])
'''


def checked(repository: Path, source: str, name: str):
    """The report of ``block`` in ``repository/models/blocks.py`` (written
    from ``source``), each mode confirmed with plain Keras."""
    (repository / ".git").mkdir(parents=True)
    file = repository / "models" / "blocks.py"
    file.parent.mkdir()
    file.write_text(source)
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    report = shapeguard.check(module.block, inputs={"x": "4,4,8"}, filters=[8, 16], strides=[1, 2],
                              exhaustive=True)
    for failure in report.failures:
        confirm(failure, vars(module))  # plain Keras rejects it too, in that layer
    return report


def sarif_results(report, repository: Path, monkeypatch) -> list[dict]:
    monkeypatch.chdir(repository)  # the repository's root: where code scanning resolves the URIs from
    return json.loads(render([report], "sarif"))["runs"][0]["results"]


@pytest.fixture(scope="module")
def moved(tmp_path_factory):
    """One block checked twice: as written, and with six blank lines above it."""
    root = tmp_path_factory.mktemp("fingerprints")
    return (root / "before", checked(root / "before", BLOCK, "sg_fingerprint_before"),
            root / "after", checked(root / "after", "\n" * 6 + BLOCK, "sg_fingerprint_after"))


def test_a_fingerprint_stays_when_the_lines_move_and_differs_by_cause(moved, monkeypatch):
    before_root, before, after_root, after = moved
    causes = sorted(f.cause for f in before.failures)
    assert {"channels", "spatial"} <= set(causes), causes
    old = sarif_results(before, before_root, monkeypatch)
    new = sarif_results(after, after_root, monkeypatch)
    line = lambda result: result["locations"][0]["physicalLocation"]["region"]["startLine"]
    assert [line(r) + 6 for r in old] == [line(r) for r in new]  # the bug moved down six lines
    assert [r["partialFingerprints"] for r in old] == [r["partialFingerprints"] for r in new]
    assert len({r["partialFingerprints"]["shapeguard/v1"] for r in old}) == len(old)  # one per cause


def test_an_annotation_is_titled_by_its_mode_and_carries_the_fix(moved, monkeypatch):
    before_root, before, _, _ = moved
    monkeypatch.chdir(before_root)
    annotations = render([before], "github").splitlines()[:-1]
    assert len(annotations) == len(before.failures)
    for failure, annotation in zip(before.failures, annotations):
        command, message = annotation.split("::")[1:]
        assert command.endswith(f",title=shapeguard%3A Add ({failure.cause})")
        if failure.hint:
            assert f"%0Afix: {failure.hint}" in message
    assert any(failure.hint for failure in before.failures)  # the channels mode's projection
