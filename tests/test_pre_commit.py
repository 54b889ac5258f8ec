"""The pre-commit hook (.pre-commit-hooks.yaml), run as pre-commit runs it:
its entry, then the staged files. A commit of files without Keras code pays no
Keras or TensorFlow import, in any process the command starts; the hook says
what it checked.

The first test's runs import no TensorFlow (under a second each); the second
imports it once (seconds)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.command_line import REPO, child_env, shapeguard

EXAMPLE = "shapeguard/examples/resnext_block.py"
FIXED = "shapeguard/examples/resnext_block_fixed.py"

# Loaded by every Python process the command starts (PYTHONPATH): at exit, what
# it had imported. A process that started Keras, even in a child, is seen.
RECORDER = '''
import atexit, json, os, sys


def _record():
    heavy = sorted(name for name in ("tensorflow", "keras", "hypothesis") if name in sys.modules)
    with open(os.path.join(os.environ["IMPORTS_SEEN"], f"{os.getpid()}.json"), "w") as out:
        json.dump({"argv": sys.argv, "heavy": heavy}, out)


atexit.register(_record)
'''


def hook() -> dict:
    import yaml  # pre-commit's own format, read as pre-commit reads it

    [entry] = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    return entry


def run_hook(files: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *hook()["entry"].split(), *files], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("cache", ["on", "off"])
def test_a_commit_without_keras_code_imports_no_tensorflow_and_says_so(tmp_path, cache):
    site, seen, work = tmp_path / "site", tmp_path / "seen", tmp_path / "work"
    for folder in (site, seen, work):
        folder.mkdir()
    (site / "sitecustomize.py").write_text(RECORDER)
    staged = ["train.py", "data.py", "utils.py", "plots.py", "setup.py"]
    for name in staged:
        (work / name).write_text("import numpy\n\n\ndef f(x):\n    return x + 1\n")
    env = {**child_env(), "IMPORTS_SEEN": str(seen), "SHAPEGUARD_CACHE_DIR": str(tmp_path / "cache"),
           "PYTHONPATH": os.pathsep.join([str(site), child_env()["PYTHONPATH"]])}
    env["SHAPEGUARD_NO_CACHE"] = "1" if cache == "off" else ""
    done = run_hook(staged, work, env)
    assert (done.returncode, done.stdout) == (0, ""), done.stderr
    assert done.stderr == (
        "shapeguard: nothing to check: no Keras block builders in train.py, data.py, utils.py and 2 more files "
        "(no function or class there builds Keras layers; files that never mention keras are not imported); "
        "name one as path/to/file.py:function.\n")
    processes = [json.loads(path.read_text()) for path in seen.iterdir()]
    assert processes and all(p["argv"][1:] == ["check", *staged] for p in processes), processes
    assert [p["heavy"] for p in processes] == [[]] * len(processes)


@pytest.mark.keras
def test_the_hook_checks_the_staged_files_with_blocks_and_names_them(tmp_path):
    entry = hook()
    assert (entry["id"], entry["language"], entry["types"]) == ("shapeguard", "python", ["python"])
    assert entry["pass_filenames"] is True and entry["require_serial"] is True
    program, *options = entry["entry"].split()
    assert [program, *options] == ["shapeguard", "check"]  # not --quiet: pre-commit -v shows what was checked
    script = tmp_path / "train.py"
    script.write_text("raise SystemExit('imported')\n")  # never mentions keras: not imported
    run = shapeguard(*options, EXAMPLE, FIXED, str(script))
    assert run.code == 1, run
    assert run.stderr == ""  # off a terminal: no progress line
    assert f"{EXAMPLE}:block: FAIL" in run.stdout and f"{FIXED}:block: OK" in run.stdout
    assert run.stdout.splitlines()[-1] == (f"shapeguard: found 4 blocks in {EXAMPLE}, {FIXED}: "
                                           "checked 4 (1 failed with 4 failure modes, 3 passed)")
    assert "train.py" not in run.stdout
