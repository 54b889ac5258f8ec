"""Both doors read ``[tool.shapeguard]`` on real blocks: ``shapeguard check``
(in this process, `cli.run_check`) and ``pytest --shapeguard`` (a `pytester`
session in this process), with flags over the file. Each block has two points,
one of which Keras rejects (Add of 4 and 8 channels: `plain_keras.confirm`)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import keras  # noqa: F401  (imported before pytester: TensorFlow must not be imported twice)
import pytest
from helpers.command_line import check_here
from helpers.plain_keras import confirm

import shapeguard.engine  # noqa: F401

pytestmark = [pytest.mark.keras, pytest.mark.filterwarnings("ignore::UserWarning")]

BLOCKS = '''
from keras import layers
from shapeguard import guard


@guard(C=[4, 8], inputs={"x": "4,C"})
def plain(x):
    return layers.Add()([layers.Dense(4)(x), x])


@guard(C=[4, 8], inputs={"x": "4,C"}, max_examples=4)
def declared(x):
    return layers.Add()([layers.Dense(4)(x), x])
'''
LEGACY = '''
from keras import layers


def broken(x):
    layers.Dense(4)(x)
    raise ValueError("a block the project keeps out of its checks")
'''
PROJECT = """[tool.shapeguard]
format = "json"
max_examples = 3
exclude = ["legacy"]
"""


@pytest.fixture
def project(tmp_path):
    (tmp_path / "blocks.py").write_text(BLOCKS)
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "old.py").write_text(LEGACY)
    (tmp_path / "pyproject.toml").write_text(PROJECT)
    return tmp_path


def test_the_command_line_reads_the_project_and_its_flags_win(project, monkeypatch, capfd):
    assert check_here(project, monkeypatch, ".", "-q") == 1
    document = json.loads(capfd.readouterr().out)  # format = "json"
    budgets = {r["target"]: r["budget"] for r in document["targets"]}
    assert budgets == {"./blocks.py:plain": "2 combinations, within the budget of 3 probes",  # the project's
                       "./blocks.py:declared": "2 combinations, within the budget of 4 probes"}  # the decorator's
    assert document["summary"]["found"] == 2  # legacy/ is excluded
    (project / "pyproject.toml").write_text(PROJECT.replace('exclude = ["legacy"]', ""))
    assert check_here(project, monkeypatch, ".", "-q") == 1
    assert "./legacy/old.py:broken" in {r["target"] for r in json.loads(capfd.readouterr().out)["targets"]}
    (project / "pyproject.toml").write_text(PROJECT)

    assert check_here(project, monkeypatch, ".", "-q", "--format", "text", "--max-examples", "5") == 1
    out = capfd.readouterr().out
    assert out.count("within the budget of 5 probes") == 2 and not out.lstrip().startswith("{")

    namespace: dict = {}
    exec(compile(BLOCKS, str(project / "blocks.py"), "exec"), namespace)
    for target in document["targets"]:
        [failure] = target["failures"]
        confirm(SimpleNamespace(call=failure["call"], layer_class=failure["layer"]["class"],
                                message=failure["message"]), namespace)


def test_pytest_reads_the_project_and_excludes_its_files(project, pytester):
    for path in ("blocks.py", "legacy/old.py", "pyproject.toml"):
        (pytester.path / path).parent.mkdir(exist_ok=True)
        (pytester.path / path).write_text((project / path).read_text())
    result = pytester.runpytest("--shapeguard", "--shapeguard-no-database", "-p", "no:cacheprovider", ".")
    result.assert_outcomes(failed=2)  # plain and declared; nothing from legacy/
    assert "shapeguard: max examples as declared, else 3 ([tool.shapeguard]), seed as declared" in result.stdout.str()
    assert result.stdout.str().count("within the budget of 3 probes") == 1
    assert result.stdout.str().count("within the budget of 4 probes") == 1
    assert "legacy" not in result.stdout.str()

    (pytester.path / "pyproject.toml").write_text("[tool.shapeguard]\nmax_example = 3\n")
    result = pytester.runpytest("--shapeguard", ".")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert ("pyproject.toml: [tool.shapeguard] has no key 'max_example'; did you mean 'max_examples'?"
            in result.stderr.str())


def test_strict_from_the_project_and_no_strict_from_the_command_line(tmp_path, monkeypatch, capfd):
    """Add of (8, 32) and (8, 1) broadcasts: a warning, a failure under strict."""
    from helpers import explain_blocks

    (tmp_path / "pyproject.toml").write_text("[tool.shapeguard]\nstrict = true\n")
    target = f"{explain_blocks.__file__}:residual_1x1"
    args = (target, "--input", "x=8,C", "--axis", "C=1", "-q")
    assert check_here(tmp_path, monkeypatch, *args) == 1
    assert re.search(r"\[warning\] broadcast: Add '\w+' \(fails the check: strict\)", capfd.readouterr().out)
    assert check_here(tmp_path, monkeypatch, *args, "--no-strict") == 0
    out = capfd.readouterr().out
    assert re.search(r"\[warning\] broadcast: Add '\w+': ", out) and ": OK" in out.splitlines()[0]
