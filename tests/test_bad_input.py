"""Bad input, table by table: every case is the caller's error, said in one
sentence, in the syntax of the door it came through (issue 9).

* command line: exit status 2, nothing on standard output, exactly one line on
  standard error starting ``shapeguard:``, no traceback, and no file of the
  working folder created, changed or removed (``keep.json`` included);
* API: a `ShapeguardError` whose message is one line, before anything runs.

The command line runs in this process (`shapeguard.cli.main`); the cases that
need a target imported start the light checking child, whose targets import no
Keras, so no case here pays for TensorFlow (every setting, ``database``
included, is refused by `CheckSettings` before anything is imported).
"""

from __future__ import annotations

import functools
import os
import textwrap
from pathlib import Path

import pytest

from shapeguard import ShapeguardError, check, cli, guard

from helpers.sample_blocks import LAZY_BLOCKS as LAZY

FILES = {
    "lazy.py": LAZY,
    "broken_syntax.py": "def block(x):\n    return x +\n",
    "raises_at_import.py": 'raise ValueError("no GPU\\nconfigured")\n',
    "bad_budget.py": "from shapeguard import guard\n\n@guard(max_examples=0)\ndef block(x):\n    return x\n",
    "bad_seed.py": "from shapeguard import guard\n\n@guard(seed='abc')\ndef block(x):\n    return x\n",
    "async_block.py": "async def block(x):\n    return x\n",
    "generator_block.py": "def block(x):\n    yield x\n",
    "async_guarded.py": "from shapeguard import guard\n\n@guard\nasync def block(x):\n    return x\n",
    "wrong_order.py": (
        "from shapeguard import guard\n\nclass Holder:\n    @guard\n    @staticmethod\n"
        "    def block(x):\n        return x\n"
    ),
    "keep.json": '{"kept": true}\n',
}

# (arguments after "check", the start of the one line on standard error)
CLI_CASES = [
    # refused by the parser or before anything is imported
    ([], "shapeguard: the following arguments are required: TARGET"),
    (["lazy.py:block", "--max-examples", "0"], "shapeguard: argument --max-examples: expected a positive integer"),
    (["lazy.py:block", "--max-examples", "-3"], "shapeguard: argument --max-examples: expected a positive integer"),
    (["lazy.py:block", "--max-examples", "ten"], "shapeguard: argument --max-examples: expected a positive integer"),
    (["lazy.py:block", "--seed", "abc"], "shapeguard: argument --seed: invalid int value: 'abc'"),
    (["lazy.py:block", "--timeout", "0"], "shapeguard: argument --timeout: expected a positive number of seconds"),
    (["lazy.py:block", "--timeout", "-1"], "shapeguard: argument --timeout: expected a positive number of seconds"),
    (["lazy.py:block", "--timeout", "nan"], "shapeguard: argument --timeout: expected a positive number of seconds"),
    (["lazy.py:block", "--timeout", "inf"], "shapeguard: argument --timeout: expected a positive number of seconds"),
    (["lazy.py:block", "--timeout", "1e9"], "shapeguard: argument --timeout: expected a positive number of seconds"),
    (["lazy.py:block", "--format", "xml"], "shapeguard: argument --format: invalid choice: 'xml'"),
    (["lazy.py:block", "--frobnicate"], "shapeguard: unrecognized arguments: --frobnicate"),
    (["lazy.py:block", "--axis", "C"], "shapeguard: --axis 'C' is not of the form NAME=V1,V2."),
    (["lazy.py:block", "--axis", "=8"], "shapeguard: --axis '=8' is not of the form NAME=V1,V2."),
    (["lazy.py:block", "--axis", "C="], "shapeguard: --axis 'C=' is not of the form NAME=V1,V2."),
    (["lazy.py:block", "--axis", "C=8", "--axis", "C=16"], "shapeguard: --axis C is given twice"),
    (["lazy.py:block", "--input", "x"], "shapeguard: --input 'x' is not of the form PARAM=TEMPLATE."),
    (["lazy.py:block", "--input", "1x=H,C"], "shapeguard: --input '1x=H,C' is not of the form PARAM=TEMPLATE."),
    (["lazy.py:block", "--output", "no/such/folder/report.json"], "shapeguard: cannot write --output no/such/folder/report.json"),
    (["lazy.py:block", "--output", "."], "shapeguard: cannot write --output .: it is a directory."),
    (["lazy.py:block", "--output", "lazy.py"], "shapeguard: --output lazy.py is the target lazy.py:block"),
    (["lazy.py", "--output", "./lazy.py"], "shapeguard: --output ./lazy.py is the target lazy.py"),
    ([".", "--output", "new.py"], "shapeguard: --output new.py is a Python file under the target ."),
    # refused when the targets are resolved, before the first probe
    (["no_such_module:block"], "shapeguard: cannot import no_such_module: no module named 'no_such_module'."),
    (["no_such_file.py:block"], "shapeguard: cannot import no_such_file.py: no such file."),
    (["lazy.py:blok"], "shapeguard: cannot find 'blok' in lazy.py. Did you mean 'block'?"),
    (["broken_syntax.py:block"], "shapeguard: cannot import broken_syntax.py: SyntaxError at broken_syntax.py:2"),
    (["raises_at_import.py:block"], "shapeguard: cannot import raises_at_import.py: ValueError: no GPU configured"),
    (["lazy.py:LIMIT"], "shapeguard: lazy.py:LIMIT is an int, not a function."),
    (["lazy.py:NeedsWidth"], "shapeguard: lazy.py:NeedsWidth is a class, not a function;"),
    (["lazy.py:NeedsWidth.block"], "shapeguard: lazy.py:NeedsWidth.block: cannot create NeedsWidth()"),
    ([":block"], "shapeguard: ':block' names no module"),
    (["lazy.py:1block"], "shapeguard: 'lazy.py:1block': '1block' after ':' is not a function name"),
    (["lazy.py:block", "--axis", "filter=8"], "shapeguard: lazy.py:block: axis 'filter' names neither"),
    (["lazy.py:block", "--axis", "C=0"], "shapeguard: lazy.py:block: axis 'C': 0 is not a valid size"),
    (["lazy.py:block", "--axis", "C=abc"], "shapeguard: lazy.py:block: axis 'C': 'abc' is not an integer"),
    (["lazy.py:block", "--input", "y=H,C"], "shapeguard: lazy.py:block: input template for 'y'"),
    (["async_block.py:block"], "shapeguard: async_block.py:block: block is an async function"),
    (["generator_block.py:block"], "shapeguard: generator_block.py:block: block is a generator function"),
    (["async_guarded.py"], "shapeguard: cannot import async_guarded.py: ShapeguardError: block is an async function"),
    (["wrong_order.py"], "shapeguard: cannot import wrong_order.py: ShapeguardError: @guard is written under @staticmethod"),
    # a later target's bad decorator fails before the first target is probed
    (["lazy.py:block", "bad_budget.py", "--output", "keep.json"],
     "shapeguard: cannot import bad_budget.py: ShapeguardError: max_examples must be a positive integer, not 0."),
    (["lazy.py:block", "bad_seed.py:block", "--output", "keep.json"],
     "shapeguard: cannot import bad_seed.py: ShapeguardError: seed must be an integer, not 'abc'."),
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bad_input")
    for name, text in FILES.items():
        (root / name).write_text(textwrap.dedent(text).lstrip())
    return root


def snapshot(root: Path) -> dict:
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*")) if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.mark.parametrize("args, expected", CLI_CASES, ids=[" ".join(a) or "no target" for a, _ in CLI_CASES])
def test_command_line(folder, monkeypatch, capfd, args, expected):
    monkeypatch.chdir(folder)
    before = snapshot(folder)
    try:
        status = cli.main(["check", *args])
    except SystemExit as exit:  # argparse
        status = exit.code
    out, err = capfd.readouterr()
    assert status == 2, err
    assert out == ""
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith(expected), err
    assert snapshot(folder) == before


def dense(x, units=8):
    import keras

    return keras.layers.Dense(units)(x)


async def coroutine_block(x):
    return x


def generator_block(x):
    yield x


def configured(x, config):
    return x[..., : config.width]


class Backbone:  # stands for keras.Model: any class that is not a number, string or sequence
    pass


def on_a_backbone(x, backbone: Backbone, depth: int):
    for _ in range(depth):
        x = backbone(x)
    return x


SMALL = {"inputs": {"x": "D"}, "D": [2]}

# (what to call, the start of the message)
API_CASES = [
    (lambda: check(dense, timeout=-1, **SMALL), "timeout must be a positive number of seconds"),
    (lambda: check(dense, timeout=0, **SMALL), "timeout must be a positive number of seconds"),
    (lambda: check(dense, timeout="5", **SMALL), "timeout must be a positive number of seconds"),
    (lambda: check(dense, timeout=True, **SMALL), "timeout must be a positive number of seconds"),
    (lambda: check(dense, timeout=float("nan"), **SMALL), "timeout must be a positive number of seconds"),
    (lambda: check(dense, timeout=1e9, **SMALL), "timeout must be a positive number of seconds up to 604,800"),
    (lambda: check(dense, max_examples=0, **SMALL), "max_examples must be a positive integer, not 0."),
    (lambda: check(dense, max_examples=2.5, **SMALL), "max_examples must be a positive integer, not 2.5."),
    (lambda: check(dense, max_examples=True, **SMALL), "max_examples must be a positive integer, not True."),
    (lambda: check(dense, seed="abc", **SMALL), "seed must be an integer, not 'abc'."),
    (lambda: check(dense, seed=1.5, **SMALL), "seed must be an integer, not 1.5."),
    (lambda: check(dense, exhaustive="yes", **SMALL), "exhaustive must be True, False or None"),
    (lambda: check(dense, database=42, **SMALL), "database must be True, False, None, a directory"),
    (lambda: check(42), "check needs a function, not int"),
    (lambda: check(dense, inputs="D", D=[2]), "inputs must be a dict"),
    (lambda: check(dense, target=5, **SMALL), "axis 'target' names neither"),  # not an option: a free axis name
    (lambda: check(dense, strict=[True, False], **SMALL), "strict must be True or False, not [True, False]; "
                                                          "to search an axis named strict, pass axes="),
    (lambda: check(dense, axes={"units": [4]}, units=[8], D=[2]), "axis 'units' is given twice"),
    (lambda: check(dense, axes=[4], **SMALL), "axes must be a dict"),
    (lambda: check(dense, settings={"seed": 1}, **SMALL), "settings must be a shapeguard.CheckSettings"),
    (lambda: check(coroutine_block, **SMALL), "coroutine_block is an async function"),
    (lambda: check(generator_block, **SMALL), "generator_block is a generator function"),
    (lambda: check(functools.partial(generator_block), **SMALL), "generator_block is a generator function"),
    (lambda: check(dense, unit=[4], **SMALL), "axis 'unit' names neither"),
    (lambda: check(dense, inputs={"x": "D"}, D=[0]), "axis 'D': 0 is not a valid size"),
    # a parameter holding an object: said to need one, given by name (no probe, no Keras)
    (lambda: check(configured, **SMALL), "configured: config needs a value shapeguard cannot make (an object); "
                                         "give one, e.g. config=[my_config]."),
    # (depth, an int the code uses, is held at one guessed value: only the object needs giving)
    (lambda: check(on_a_backbone, **SMALL), "on_a_backbone: backbone needs a value shapeguard cannot make (a "
                                            "Backbone); give one, e.g. backbone=[my_backbone]."),
    (lambda: guard(max_examples=0), "max_examples must be a positive integer, not 0."),
    (lambda: guard(max_examples=-5), "max_examples must be a positive integer, not -5."),
    (lambda: guard(seed="abc"), "seed must be an integer, not 'abc'."),
    (lambda: guard(inputs="H,W,C"), "inputs must be a dict"),
    (lambda: guard(staticmethod(dense)), "@guard is written under @staticmethod"),
    (lambda: guard(coroutine_block), "coroutine_block is an async function"),
    (lambda: guard(units=[4], unit=[8])(dense), "axis 'unit' names neither"),
]


@pytest.mark.parametrize("call, expected", [
    pytest.param(call, expected, id=expected[:40] + f" #{i}") for i, (call, expected) in enumerate(API_CASES)
])
def test_api(tmp_path, monkeypatch, call, expected):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ShapeguardError) as raised:
        call()
    message = str(raised.value)
    assert "\n" not in message and expected in message, message
    assert list(tmp_path.iterdir()) == []


def test_a_usage_error_after_a_good_run_leaves_the_output_file_alone(folder, monkeypatch, capfd):
    """The output is replaced only by a finished report (written atomically)."""
    monkeypatch.chdir(folder)
    before = (folder / "keep.json").read_bytes()
    assert cli.main(["check", "lazy.py:block", "--axis", "nosuch=1", "--output", "keep.json"]) == 2
    assert (folder / "keep.json").read_bytes() == before
    assert not [p for p in os.listdir(folder) if p.startswith(".shapeguard-")]
    capfd.readouterr()


def refuses(x, units=8):
    if x.shape[-1] != 5:  # no channel count tried is 5
        raise ValueError("expects 5 spectral bands")
    import keras

    return keras.layers.Dense(units)(x)


def reads_kwargs(x, **kwargs):
    import keras

    return keras.layers.Dense(kwargs["units"])(x)


@pytest.mark.keras
def test_api_a_block_that_runs_with_no_value_is_one_sentence_naming_the_option():
    with pytest.raises(ShapeguardError) as raised:
        check(refuses, max_examples=8)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("test_bad_input:refuses raised ValueError (expects 5 spectral bands) at ")
    assert message.endswith("before calling any Keras layer, so no shape was checked; give values it accepts "
                            "(units=[8, 16, 32, 64] were inferred), or its input's template "
                            "(inputs={'x': 'H,H,C'} was inferred).")
    assert check(refuses, inputs={"x": "4,5"}, units=[8]).ok
    with pytest.raises(ShapeguardError, match=r"reads \*\*kwargs, which shapeguard leaves empty: give what it "
                                              r"reads there by name, e.g. units=\[8, 16\]\.$"):
        check(reads_kwargs, inputs={"x": "4"})
    assert check(reads_kwargs, inputs={"x": "4"}, units=[8, 16]).ok
