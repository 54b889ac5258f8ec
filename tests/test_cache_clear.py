"""``shapeguard cache clear`` deletes shapeguard's own folders in the cache
folder and nothing else, and says so when a file could not be removed."""

from __future__ import annotations

import os

from shapeguard import _cache
from shapeguard.cli import main


def _fill(root):
    for name in ("results/ab/ab12.pickle", "memo/0123.json.gz"):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def test_a_folder_of_the_users_keeps_its_own_files(tmp_path, monkeypatch, capsys):
    root = tmp_path / "mine"
    _fill(root)
    (root / "src").mkdir()
    (root / "src" / "thesis.txt").write_text("my thesis")
    monkeypatch.setenv("SHAPEGUARD_CACHE_DIR", str(root))
    assert main(["cache", "clear"]) == 0
    assert capsys.readouterr().out == f"shapeguard: cleared {root} (2 files removed).\n"
    assert (root / "src" / "thesis.txt").read_text() == "my thesis"
    assert sorted(p.name for p in root.iterdir()) == ["src"]


def test_the_cache_folder_goes_when_nothing_else_is_in_it(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    _fill(root)
    monkeypatch.setenv("SHAPEGUARD_CACHE_DIR", str(root))
    assert _cache.clear() == (2, [], str(root))
    assert not root.exists()


def test_a_file_that_cannot_be_removed_is_one_sentence_and_exit_2(tmp_path, monkeypatch, capsys):
    root = tmp_path / "cache"
    _fill(root)
    monkeypatch.setenv("SHAPEGUARD_CACHE_DIR", str(root))
    unlink = os.unlink

    def read_only(path, *args, **kwargs):
        if str(path).endswith(".pickle"):
            raise PermissionError(30, "Read-only file system")
        return unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", read_only)
    assert main(["cache", "clear"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"shapeguard: could not clear {root}: 1 file not removed "
                            f"({root / 'results' / 'ab' / 'ab12.pickle'}: Read-only file system); 1 removed.\n")
    assert (root / "results" / "ab" / "ab12.pickle").exists()
