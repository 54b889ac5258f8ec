"""The benchmarks still run: their generators make what they claim and the
script parses its options. Cheap on purpose (no Keras import, no check run) and
never a timing assertion: timing claims live in benchmarks/speed.py."""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from shapeguard._discover import definitions

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name: str):
    """A benchmark script as a module, without putting benchmarks/ on sys.path."""
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


blocks_repo = _load("blocks_repo")
speed = _load("speed")


def test_blocks_repo_writes_60_files_each_one_block(tmp_path):
    folder = blocks_repo.write(tmp_path)
    files = sorted(folder.glob("*.py"))
    assert len(files) == 60
    for path in files:
        tree = ast.parse(path.read_text())
        functions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
        assert functions == [path.stem]
        # discovery (ast only) finds exactly that function as a block, so a folder check checks all 60
        assert [(d.qualname, d.builds) for d in definitions(path.read_text())] == [(path.stem, True)]
        assert "guard" not in path.read_text()  # zero-config: no decorator


def test_blocks_repo_is_the_same_every_time():
    assert blocks_repo.sources() == blocks_repo.sources()


def test_same_calls_script_compiles_and_calls_every_combination(tmp_path):
    block = tmp_path / "blocks.py"
    block.write_text("def block(x, filters=8, strides=1):\n    return x\n")
    axes = {"C": [8, 16], "H": [7], "filters": [8, 16, 32], "strides": [1, 2]}
    source = speed.same_calls_script(block, "block", axes, {"x": "H,H,C"})
    compile(source, "same_calls.py", "exec")
    tree = ast.parse(source)
    assigned = {t.id: n.value for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
                if isinstance(t, ast.Name)}
    assert ast.literal_eval(assigned["AXES"]) == axes
    assert ast.literal_eval(assigned["PARAMETERS"]) == ["x", "filters", "strides"]
    assert ast.literal_eval(assigned["CLEAR_SESSION"]) is False
    assert "12 combinations" in source


def test_same_calls_script_refuses_templates_it_cannot_write(tmp_path):
    block = tmp_path / "blocks.py"
    block.write_text("def block(x, skips):\n    return x\n")
    with pytest.raises(ValueError):
        speed.same_calls_script(block, "block", {"H": [8]}, {"x": "H,H,8", "skips": "[H,H,8; H,H,8]"})


def test_without_cached_drops_only_the_cached_fields():
    document = {"targets": [{"target": "a", "cached": True, "failures": [{"cached": 1, "kind": "shape"}]}]}
    assert speed.without_cached(document) == {"targets": [{"target": "a", "failures": [{"kind": "shape"}]}]}


def test_ratio_verdicts():
    assert speed.Ratio("x", 0.2, "<= 0.25").verdict == "MET"
    assert speed.Ratio("x", 0.3, "<= 0.25").verdict == "NOT MET"
    assert speed.Ratio("x", 15.0, ">= 15").verdict == "MET"
    assert speed.Ratio("x", 1, "== 0").verdict == "NOT MET"
    assert speed.Ratio("x", 3.0, "").verdict == ""


def test_failure_modes_reads_kind_layer_and_cause():
    report = {"targets": [{"failures": [{"kind": "shape", "layer": {"class": "Add"}, "cause": "channels"},
                                        {"kind": "config", "layer": None, "cause": None}]}]}
    assert speed.failure_modes(report) == [("config", None, None), ("shape", "Add", "channels")]


def test_speed_help_exits_0():
    done = subprocess.run([sys.executable, str(BENCH / "speed.py"), "--help"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "--only" in done.stdout and "--json" in done.stdout


def test_the_wrapper_reports_a_process(tmp_path):
    result = speed.run_process([sys.executable, "-c", "print('hi')"], cwd=tmp_path, ok=(0,))
    assert result["rc"] == 0 and result["stdout"] == "hi\n" and result["peak_mb"] > 0
    json.dumps(result)
