"""``[tool.shapeguard]`` in pyproject.toml, as a project writes it: the
sentence for a key or value shapeguard cannot use (read before anything is
imported, so the command runs in this process and imports no Keras), which
pyproject.toml is read, the files ``exclude`` keeps a folder check from, and
the order flag > decorator > project > default. Pure Python (the fast lane);
the doors reading it on real blocks are tests/test_config_doors.py."""

from __future__ import annotations

import os

import pytest

from shapeguard import CheckSettings
from shapeguard._collect import python_files_under
from shapeguard._config import KEYS, project_config
from shapeguard.cli import EXIT_USAGE, main


def refused(tmp_path, monkeypatch, capsys, table: str) -> str:
    (tmp_path / "pyproject.toml").write_text("[tool.shapeguard]\n" + table + "\n")
    monkeypatch.chdir(tmp_path)
    assert main(["check", "."]) == EXIT_USAGE
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    return err.strip()


def test_an_unknown_key_names_the_closest_one(tmp_path, monkeypatch, capsys):
    assert refused(tmp_path, monkeypatch, capsys, "max_example = 3") == (
        "shapeguard: pyproject.toml: [tool.shapeguard] has no key 'max_example'; did you mean 'max_examples'?")
    assert refused(tmp_path, monkeypatch, capsys, "colour = true") == (
        "shapeguard: pyproject.toml: [tool.shapeguard] has no key 'colour'; the keys are "
        + ", ".join(KEYS) + ".")


@pytest.mark.parametrize("table, sentence", [
    ("max_examples = 0", "max_examples must be a positive integer, not 0."),
    ("seed = '5'", 'seed must be an integer, not "5".'),
    ("timeout = -1", "timeout must be a positive number of seconds up to 604,800 (a week), not -1."),
    ("strict = 'yes'", 'strict must be true or false, not "yes".'),
    ("exclude = 'legacy'", 'exclude must be a list of glob patterns (strings), not "legacy".'),
    ("format = 'xml'", 'format must be one of "text", "json", "github", "sarif", not "xml".'),
    ("cache = 1", "cache must be true or false, not 1."),
])
def test_a_value_of_the_wrong_type_is_one_sentence_in_toml(tmp_path, monkeypatch, capsys, table, sentence):
    assert refused(tmp_path, monkeypatch, capsys, table) == f"shapeguard: pyproject.toml: [tool.shapeguard] {sentence}"


def test_the_nearest_pyproject_with_a_shapeguard_table_is_read(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.shapeguard]\nseed = 5\n")
    inner = tmp_path / "models"
    inner.mkdir()
    (inner / "pyproject.toml").write_text("[project]\nname = 'models'\n")  # no table of ours: read on up
    assert project_config(str(inner)).settings() == {"seed": 5}
    (inner / "pyproject.toml").write_text("[tool.shapeguard]\nmax_examples = 20\n")
    found = project_config(str(inner))
    assert found.path == str(inner / "pyproject.toml") and found.settings() == {"max_examples": 20}


def test_a_folder_check_skips_what_exclude_names(tmp_path):
    """A bare name matches a file or folder anywhere; a pattern with a slash,
    the path from the pyproject.toml's folder."""
    for path in ("blocks.py", "legacy/old.py", "models/legacy/older.py", "models/resnet_old.py",
                 "models/resnet.py", "examples/vendored/theirs.py", "vendored/mine.py"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("import keras\n")
    (tmp_path / "pyproject.toml").write_text(
        "[tool.shapeguard]\nexclude = ['legacy', '*_old.py', 'examples/vendored/']\n")
    project = project_config(str(tmp_path))
    found = [os.path.relpath(path, tmp_path) for path in python_files_under(str(tmp_path), project.excludes)]
    assert found == ["blocks.py", "models/resnet.py", "vendored/mine.py"]
    assert project.excludes(str(tmp_path / "models" / "legacy" / "older.py"))  # as the pytest plugin asks, per file
    assert not project.excludes(str(tmp_path / "vendored" / "mine.py"))


def test_a_folder_whose_blocks_are_all_excluded_says_exclude_skipped_them(tmp_path, monkeypatch, capfd):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "blocks_old.py").write_text(
        "import keras\ndef blk(x, filters=8):\n    return keras.layers.Add()([x, keras.layers.Conv2D(filters, 1)(x)])\n")
    (tmp_path / "pyproject.toml").write_text("[tool.shapeguard]\nexclude = ['sub/blocks_old.py']\n")
    monkeypatch.chdir(tmp_path / "sub")
    assert main(["check", "."]) == 0
    out, err = capfd.readouterr()
    assert out == "" and err == (
        "shapeguard: nothing to check: no Keras block builders in . (no function or class there builds Keras "
        "layers; files that never mention keras are not imported, and ../pyproject.toml's [tool.shapeguard] "
        "exclude skips 'sub/blocks_old.py'); name one as path/to/file.py:function.\n")


def test_a_flag_beats_the_decorator_which_beats_the_project():
    declared = CheckSettings(strict=True, max_examples=50)
    project = {"max_examples": 20, "seed": 5, "strict": False, "timeout": 10}
    settings = CheckSettings(seed=7).over(declared).under(project)
    assert (settings.seed, settings.strict, settings.max_examples, settings.timeout) == (7, True, 50, 10)
    unset = CheckSettings().over(None).under(project)
    assert (unset.seed, unset.strict, unset.max_examples, unset.timeout) == (5, False, 20, 10)
    assert unset.given("max_examples")  # the project asked for that budget: no time budget then
