"""The stand-ins' memo kept between processes (shapeguard/_probe/memo_file.py):
a new process asks Keras only about the layers no earlier check taught it,
gives the same report as with an empty memo, and never reads back an answer
it could not trust (another environment, a patched layer class, a file that
is corrupt or names anything but plain data)."""

import gzip
import json
import os
from pathlib import Path

import keras
import pytest
from keras import layers

from helpers.command_line import shapeguard
from shapeguard.examples import resnext_block, resnext_block_fixed

pytestmark = pytest.mark.keras


@pytest.fixture
def cache_on(tmp_path, monkeypatch, fresh_standins):
    """The cache on, in a folder of the test's own, and the memo empty."""
    monkeypatch.delenv("SHAPEGUARD_NO_CACHE", raising=False)
    monkeypatch.setenv("SHAPEGUARD_CACHE_DIR", str(tmp_path / "cache"))
    from shapeguard._probe import memo_file

    memo_file._seen.update(path=None, stat=None, generation=None)
    memo_file._saving.update(last=None, took=0.0)
    memo_file._last_read.update(path=None, stat=None, tables={})
    return tmp_path / "cache"


def memo_files(cache: Path) -> list[Path]:
    return sorted((cache / "memo").glob("*.json.gz"))


def checked(fn, asked: list):
    """shapeguard.check(fn), noting how many answers it asked of Keras."""
    import shapeguard
    from shapeguard._probe import memo_file, standins

    save = memo_file.save

    def counting_save():
        asked.append(len(standins.fresh))
        save()

    memo_file.save = counting_save
    try:
        return shapeguard.check(fn)
    finally:
        memo_file.save = save


def new_process():
    """What a new process starts with: no answer in memory, nothing saved yet."""
    from shapeguard._probe import memo_file, run, standins

    standins.clear_memo(), run.forget_functions()
    memo_file._saving.update(last=None, took=0.0)
    memo_file._last_read.update(path=None, stat=None, tables={})


def test_a_new_process_starts_from_the_answers_earlier_checks_got(cache_on):
    cold: list = []
    alone = checked(resnext_block_fixed.block, cold).to_dict()
    (path,) = memo_files(cache_on)
    path.unlink()
    new_process()
    checked(resnext_block.block, [])  # the seed block teaches most of the fixed block's layers
    assert memo_files(cache_on)
    new_process()
    warm: list = []
    after = checked(resnext_block_fixed.block, warm).to_dict()
    assert warm[0] < cold[0] / 3, (warm, cold)
    assert after == alone  # the same report, its budget included


def test_a_probe_costs_the_same_keras_calls_answered_or_asked(fresh_standins):
    """A check's budget is counted in Keras calls: an answer from the memo
    counts the calls Keras made for it, so a warm memo never changes the budget."""
    from shapeguard._probe import KerasCalls, probe
    from shapeguard.space import build_space

    space = build_space(resnext_block.block)
    point = sorted(space.valid_points)[0]
    counts = []
    for _ in range(2):
        calls = KerasCalls()
        with calls.counting():
            before = calls.count
            probe(resnext_block.block, space, point)
            counts.append(calls.count - before)
    assert counts[0] == counts[1] > 0


def test_the_command_line_keeps_the_memo_and_cache_clear_removes_it(tmp_path, monkeypatch):
    # The memo a process keeps for the next: real processes, on Keras's numpy
    # backend, which imports in about half TensorFlow's time (the claim is the
    # memo file's, whatever the backend).
    monkeypatch.setenv("KERAS_BACKEND", "numpy")
    env_cache = tmp_path / "cache"
    os.environ.pop("SHAPEGUARD_NO_CACHE", None)
    try:
        os.environ["SHAPEGUARD_CACHE_DIR"] = str(env_cache)
        done = shapeguard("check", "shapeguard.examples.resnext_block:block", "-q")
        assert done.code == 1, done.stderr
        (path,) = memo_files(env_cache)
        data = json.loads(gzip.decompress(path.read_bytes()))
        assert data["memo"] and data["schema"] == 1
        assert shapeguard("cache", "clear").code == 0
        assert not memo_files(env_cache)  # (--no-cache keeps nothing, the memo included: tests/test_cache.py)
    finally:
        os.environ["SHAPEGUARD_NO_CACHE"] = "1"
        os.environ.pop("SHAPEGUARD_CACHE_DIR")


def gelu_of_mine(x):
    return keras.ops.gelu(x)


def with_my_activation(x, filters=8):
    return layers.Add()([layers.Activation(gelu_of_mine)(layers.Dense(filters)(x)), x])


def test_only_plain_data_is_kept_and_a_foreign_or_corrupt_file_is_ignored(cache_on):
    from shapeguard._probe import memo_file, standins

    report = checked(with_my_activation, [])
    (path,) = memo_files(cache_on)
    data = json.loads(gzip.decompress(path.read_bytes()))
    assert "gelu_of_mine" not in json.dumps(data)  # an answer keyed by a function is not kept
    assert data["memo"]
    # A file that names anything but the plain types and Keras's layer classes, or is not one at all.
    data["memo"] = [[{"t": [{"c": "os.system"}, "echo hacked"]}, 1]] + data["memo"]
    path.write_bytes(gzip.compress(json.dumps(data).encode()))
    new_process()
    memo_file.load()
    assert len(standins._memo) == len(data["memo"]) - 1  # the foreign entry alone is left out
    path.write_bytes(b"not gzip at all")
    new_process()
    assert checked(with_my_activation, []).to_dict() == report.to_dict()
    assert json.loads(gzip.decompress(path.read_bytes()))["memo"]  # replaced by a good file


def test_a_patched_layer_class_is_neither_kept_nor_read(cache_on, monkeypatch):
    from shapeguard._probe import memo_file, standins

    checked(with_my_activation, [])
    new_process()
    original = layers.Dense.compute_output_spec

    def spec_of_mine(self, *args, **kwargs):  # the user's own patch of a Keras layer
        return original(self, *args, **kwargs)

    monkeypatch.setattr(layers.Dense, "compute_output_spec", spec_of_mine)
    memo_file.load()
    assert standins._memo and not [k for k in standins._memo if k[0][0] is layers.Dense]
    (path,) = memo_files(cache_on)
    path.unlink()
    new_process()
    checked(with_my_activation, [])
    data = json.loads(gzip.decompress(memo_files(cache_on)[0].read_bytes()))
    assert "layer:Dense" not in json.dumps(data) and "layer:Add" in json.dumps(data)


def test_another_environment_has_a_memo_of_its_own(cache_on, monkeypatch):
    from shapeguard._probe import memo_file

    checked(with_my_activation, [])
    monkeypatch.setattr(memo_file, "_environment_digest", lambda: "another-keras")
    new_process()
    memo_file.load()
    from shapeguard._probe import standins

    assert not standins._memo
