"""The result cache (shapeguard/_cache.py): an unchanged target is answered
from it without importing Keras, with the same report but for the
``from cache`` note (``"cached": true`` in JSON); anything its verdict
depends on (its file, a helper it imports, an installed dependency's version,
Keras's version, keras.json) changes, and it is probed again."""

import json
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from helpers.command_line import REPO, child_env, shapeguard

pytestmark = pytest.mark.keras

BLOCK = '''\
import keras
from keras import layers

from helper import width


def block(x, filters=16):
    """The shortcut is projected to filters channels; the main path ends with width(filters)."""
    shortcut = layers.Conv2D(filters, 1)(x)
    y = layers.Conv2D(width(filters), 3, padding="same")(x)
    return layers.Add()([shortcut, y])
'''

OTHER = '''\
from keras import layers


def head(x, units=8):
    return layers.Dense(units)(layers.Flatten()(x))
'''

HELPER_TWICE = "def width(filters):\n    return filters * 2\n"
HELPER_SAME = "def width(filters):\n    return filters\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A folder of two block files and a helper, with a cache of its own (on)."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "blocks.py").write_text(BLOCK)
    (root / "heads.py").write_text(OTHER)
    (root / "helper.py").write_text(HELPER_TWICE)
    monkeypatch.delenv("SHAPEGUARD_NO_CACHE", raising=False)
    monkeypatch.setenv("SHAPEGUARD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))  # keras.json of the test's own
    return root


@pytest.fixture
def light_backend(monkeypatch):
    """The runs of a test whose claim is the cache's, whatever the backend, on
    Keras's numpy backend: it imports in about half TensorFlow's time (a
    test whose runs are compared with this process's, TensorFlow, keeps it)."""
    monkeypatch.setenv("KERAS_BACKEND", "numpy")


def check_json(root: Path, *more: str):
    run = shapeguard("check", ".", "--format", "json", "-q", *more, cwd=root)
    assert run.code in (0, 1), run.stderr
    return json.loads(run.stdout), run


def cached(document) -> dict:
    return {t["target"]: t.get("cached", False) for t in document["targets"]}


def without_cached(document) -> dict:
    return {**document, "targets": [{k: v for k, v in t.items() if k != "cached"} for t in document["targets"]]}


def statuses(document) -> dict:
    return {t["target"]: t["status"] for t in document["targets"]}


def test_an_unchanged_folder_is_answered_from_the_cache_and_each_change_probes_again(project, tmp_path, light_backend):
    cold, _ = check_json(project)
    assert cached(cold) == {"./blocks.py:block": False, "./heads.py:head": False}
    assert statuses(cold) == {"./blocks.py:block": "fail", "./heads.py:head": "pass"}

    warm, _ = check_json(project)
    assert cached(warm) == {"./blocks.py:block": True, "./heads.py:head": True}
    assert without_cached(warm) == cold  # the same report, but for "cached"

    # A helper the block imports changes its verdict: that file is probed again, the other is not.
    (project / "helper.py").write_text(HELPER_SAME)
    edited, _ = check_json(project)
    assert cached(edited) == {"./blocks.py:block": False, "./heads.py:head": True}
    assert statuses(edited)["./blocks.py:block"] == "pass"

    # keras.json (image data format): every verdict depends on it.
    (tmp_path / "keras-home").mkdir(exist_ok=True)
    (tmp_path / "keras-home" / "keras.json").write_text(json.dumps(
        {"floatx": "float32", "epsilon": 1e-07, "backend": "tensorflow", "image_data_format": "channels_first"}))
    first, _ = check_json(project)
    assert cached(first) == {"./blocks.py:block": False, "./heads.py:head": False}


def test_a_dependency_version_and_the_keras_version_are_part_of_the_key(project, tmp_path, monkeypatch, light_backend):
    """An installed package the block imports, and Keras itself, as their
    metadata says (a distribution folder earlier on the path shadows the
    installed metadata, as an upgrade would change it)."""
    site = tmp_path / "extra" / "site-packages"
    (site / "fakedep").mkdir(parents=True)
    (site / "fakedep" / "__init__.py").write_text("SCALE = 1\n")

    def install(name: str, version: str, top_level: str) -> None:
        for old in site.glob(f"{name}-*.dist-info"):
            for f in old.iterdir():
                f.unlink()
            old.rmdir()
        info = site / f"{name}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        (info / "top_level.txt").write_text(top_level + "\n")

    install("fakedep", "1.0", "fakedep")
    (project / "heads.py").write_text("import fakedep\n" + OTHER)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    check_json(project)
    assert set(cached(check_json(project)[0]).values()) == {True}

    install("fakedep", "2.0", "fakedep")
    assert cached(check_json(project)[0]) == {"./blocks.py:block": True, "./heads.py:head": False}

    install("keras", "99.0.0", "keras")  # the metadata only: the real Keras is still the one imported
    assert set(cached(check_json(project)[0]).values()) == {False}


def test_a_cached_run_imports_neither_keras_nor_a_backend_nor_hypothesis(project, light_backend):
    fresh = shapeguard("check", ".", "-q", "--output", "fresh.txt", cwd=project)  # probes, and keeps the reports
    assert fresh.code == 1, fresh.stderr
    script = textwrap.dedent("""
        import json, sys
        from shapeguard.cli import main
        code = main(["check", ".", "-q", "--output", "report.txt"])
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("keras", "tensorflow", "jax", "torch", "hypothesis"))
        print(json.dumps({"code": code, "heavy": heavy}))
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=project, env=child_env(), capture_output=True,
                          text=True, timeout=300)
    result = json.loads(done.stdout.splitlines()[-1])
    assert result == {"code": 1, "heavy": []}
    text = (project / "report.txt").read_text()
    assert text.count("from cache: nothing this report depends on changed") == 2
    assert [line for line in text.splitlines() if "from cache" not in line] == (
        (project / "fresh.txt").read_text().splitlines())


def test_no_cache_and_the_project_setting_probe_and_keep_nothing(project, tmp_path, light_backend):
    check_json(project, "--no-cache")
    assert not (tmp_path / "cache").exists()
    (project / "pyproject.toml").write_text("[tool.shapeguard]\ncache = false\n")
    check_json(project)
    assert not (tmp_path / "cache").exists()

    (project / "pyproject.toml").write_text("[tool.shapeguard]\ncache = 'no'\n")
    run = shapeguard("check", ".", cwd=project)
    assert run.code == 2
    assert run.stderr.strip() == "shapeguard: pyproject.toml: [tool.shapeguard] cache must be true or false, not \"no\"."
    (project / "pyproject.toml").write_text("[tool.shapeguard]\ncahce = false\n")
    run = shapeguard("check", ".", cwd=project)
    assert run.code == 2
    assert run.stderr.strip() == "shapeguard: pyproject.toml: [tool.shapeguard] has no key 'cahce'; did you mean 'cache'?"


def test_cache_dir_and_clear(project, tmp_path):
    # What a run keeps (a real run's, then clear: tests/test_memo_file.py; what clear leaves: test_cache_clear.py)
    for kept in ("results/ab/entry.pickle", "memo/env.json.gz"):
        (tmp_path / "cache" / kept).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "cache" / kept).write_bytes(b"kept")
    run = shapeguard("cache", "dir", cwd=project)
    assert (run.code, run.stdout.strip()) == (0, str(tmp_path / "cache"))
    run = shapeguard("cache", "clear", cwd=project)
    assert run.code == 0 and run.stdout.startswith(f"shapeguard: cleared {tmp_path / 'cache'} (")
    assert not (tmp_path / "cache").exists()


def test_concurrent_runs_and_a_corrupt_entry(project, tmp_path, light_backend):
    """Two runs at once write the same entries safely; a corrupt entry is a
    miss, probed again and replaced."""
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda _: check_json(project)[0], range(2))
    assert without_cached(first) == without_cached(second)
    entries = sorted((tmp_path / "cache" / "results").rglob("*.pickle"))
    assert len(entries) == 2
    assert not list((tmp_path / "cache" / "results").rglob(".tmp-*"))
    entries[0].write_bytes(b"not a pickle")
    document, _ = check_json(project)
    assert sorted(cached(document).values()) == [False, True]
    assert set(cached(check_json(project)[0]).values()) == {True}


def test_an_entry_never_runs_code(tmp_path, monkeypatch):
    """A file in the cache folder that would run code when read is refused."""
    import pickle

    from shapeguard import _cache

    monkeypatch.setenv("SHAPEGUARD_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("SHAPEGUARD_NO_CACHE")
    unit = _cache.Unit("x.py", "x.py", str(tmp_path / "x.py"), key="ab" + "0" * 62)

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo ran > " + str(tmp_path / "ran"),))

    path = Path(_cache._path(unit.key))
    path.parent.mkdir(parents=True)
    path.write_bytes(pickle.dumps({"schema": _cache.SCHEMA, "items": [Evil()], "loaded": {}}))
    assert _cache.load(unit) is None
    assert not (tmp_path / "ran").exists()


def test_the_folder_is_bounded(tmp_path, monkeypatch):
    from shapeguard import _cache

    monkeypatch.setenv("SHAPEGUARD_CACHE_DIR", str(tmp_path))
    folder = tmp_path / _cache.FOLDER / "ab"
    folder.mkdir(parents=True)
    for i in range(5):
        entry = folder / f"ab{i}.pickle"
        entry.write_bytes(b"x" * 10)
        os.utime(entry, (1000 + i, 1000 + i))
    _cache.prune(max_entries=3)
    assert sorted(p.name for p in folder.iterdir()) == ["ab2.pickle", "ab3.pickle", "ab4.pickle"]
    _cache.prune(max_entries=10, max_bytes=15)
    assert sorted(p.name for p in folder.iterdir()) == ["ab4.pickle"]


def test_reports_a_run_would_not_make_again_are_not_kept():
    from shapeguard import _cache
    from shapeguard.report import BlockError, Report

    def report(**more):
        return Report(target="t", mode="search", probes=1, space={}, size=1, seed=0, **more)

    assert _cache.storable([("report", report())])
    assert not _cache.storable([("report", report(interrupted=True))])
    assert not _cache.storable([("report", report(stopped="most calls hung"))])
    for kind in ("Timeout", "Died", "Forked", "InternalError"):
        assert not _cache.storable([("report", report(errors=[BlockError(kind, "m", None, {}, "")]))])
    assert not _cache.storable([("report", report(errors=[BlockError("E", "m", None, {}, "", cause="out of memory")]))])


def test_pytest_answers_unchanged_blocks_from_the_cache_without_importing_keras(project, pytester):
    """``pytest --shapeguard``: the same outcomes, the failure's report with
    its ``from cache`` line, and neither the file nor Keras imported."""
    for path in project.iterdir():
        (pytester.path / path.name).write_text(path.read_text())
    pytester.makeconftest("""
        import sys
        def pytest_sessionfinish(session):
            heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("keras", "tensorflow", "hypothesis"))
            print("heavy modules:", heavy[:3])
    """)
    # The first probing run is in this process (Keras is loaded here already); the cached one in a new one, to see
    # what it loads; the one after an edit in a new one too (this process would import the edited file afresh).
    first = pytester.runpytest("--shapeguard", "-p", "no:randomly", "-p", "no:cacheprovider", "-s")
    first.assert_outcomes(passed=1, failed=1)
    assert "from cache" not in first.stdout.str()
    second = pytester.runpytest_subprocess("--shapeguard", "-p", "no:randomly", "-p", "no:cacheprovider", "-s")
    second.assert_outcomes(passed=1, failed=1)
    assert "heavy modules: []" in second.stdout.str()
    failure = lambda run: [line for line in run.stdout.lines if "blocks.py:" in line and "FAIL" in line]
    assert failure(second) == failure(first)
    assert "from cache: nothing this report depends on changed" in second.stdout.str()
    (pytester.path / "helper.py").write_text(HELPER_SAME)
    third = pytester.runpytest_subprocess("--shapeguard", "-p", "no:randomly", "-p", "no:cacheprovider", "-s")
    third.assert_outcomes(passed=2)
