"""``shapeguard check TARGET --fit x=... --fit y=...``: the command line's door
to check_fit. In-process (`cli.main`; a --fit check runs in the calling
process, with no supervising child), so no TensorFlow start per test."""

from __future__ import annotations

import json

import pytest

from shapeguard import cli

pytestmark = pytest.mark.keras


def run(capsys, *args):
    code = cli.main(["check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_model_against_data_of_the_wrong_rank_fails_on_the_input_side_and_its_twin_passes(capsys):
    code, out, _ = run(capsys, "examples_fit/data_rank.py:build_model", "--fit", "x=60000,28,28", "--fit", "y=60000")
    assert code == cli.EXIT_FAILED
    assert "input side: the data (None, 28, 28) against the model's input (None, 784)" in out
    assert "fix: reshape the data to the model's input: x.reshape((-1, 784))" in out
    code, out, _ = run(capsys, "examples_fit/data_rank_fixed.py:build_model", "--fit", "x=60000,28,28",
                       "--fit", "y=60000")
    assert code == cli.EXIT_PASSED and ": OK (fit of x (60000, 28, 28), y (60000,)" in out


def test_loss_predict_named_inputs_and_json(capsys, tmp_path):
    code, out, _ = run(capsys, "examples_fit/ids_categorical_fixed.py:build_model", "--fit", "x=60000,784",
                       "--fit", "y=60000", "--loss", "categorical_crossentropy", "--format", "json")
    (failure,) = json.loads(out)["targets"][0]["failures"]
    assert code == cli.EXIT_FAILED and (failure["side"], failure["layer"]["class"]) == (
        "output", "categorical_crossentropy")
    code, out, _ = run(capsys, "examples_fit/unbatched_predict.py:build_model", "--fit", "x=1,28,28,1", "--predict")
    assert code == cli.EXIT_PASSED, out
    code, out, _ = run(capsys, "examples_fit/two_inputs.py:build_model", "--fit", "x.image=100,32,32,3",
                       "--fit", "x.meta=100,5", "--fit", "y=100")
    assert code == cli.EXIT_FAILED and "input side: the data (None, 5) against the model's input (None, 8)" in out


@pytest.mark.parametrize("options, sentence", [
    (["--fit", "x=60000,0,28"], "--fit x=60000,0,28: a shape is positive integers, the sample count first, "
                                "such as 60000,28,28."),
    (["--fit", "x=60000,28a"], "--fit x=60000,28a: a shape is positive integers, the sample count first, "
                               "such as 60000,28,28."),
    (["--fit", "z=3"], "--fit 'z=3' is not of the form x=SHAPE, y=SHAPE or x.NAME=SHAPE (a shape such as "
                       "60000,28,28, or a .npy file)."),
    (["--fit", "x=missing.npy"], "--fit x=missing.npy: no such file."),
    (["--fit", "x=abc", "--fit", "y=3"], "--fit x=abc: no such file."),  # as typed, not x[0]=abc
    (["--fit", "x=abc,def"], "--fit x=abc,def: a shape is positive integers, the sample count first, "
                             "such as 60000,28,28; a shape with names (N,H,W) is a model builder's data "
                             "contract, declared on the builder: @guard(fit={'x': 'N,H,W', 'y': 'N'})."),
    (["--fit", "x=N,28,28", "--fit", "y=N"], "--fit x=N,28,28: a shape is positive integers, the sample count "
                                             "first, such as 60000,28,28; a shape with names (N,H,W) is a model "
                                             "builder's data contract, declared on the builder: "
                                             "@guard(fit={'x': 'N,H,W', 'y': 'N'})."),
])
def test_bad_data_is_one_sentence_in_the_command_lines_syntax(capsys, options, sentence):
    code, out, err = run(capsys, "examples_fit/data_rank.py:build_model", *options)
    assert (code, out, err) == (cli.EXIT_USAGE, "", f"shapeguard: {sentence}\n")


def test_a_builder_that_needs_arguments_is_told_to_give_them_as_axes(capsys, tmp_path, monkeypatch):
    (tmp_path / "build.py").write_text(
        "import keras\n\n\ndef build(units):\n"
        "    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(units)])\n")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "build.py:build", "--fit", "x=10,4", "--fit", "y=10,3", "--loss", "mse")
    assert (code, err) == (cli.EXIT_USAGE, "shapeguard: build needs the arguments units: give them, e.g. "
                                           "--axis units=VALUE.\n")
    code, out, err = run(capsys, "build.py:build", "--fit", "x=10,4", "--fit", "y=10,3", "--loss", "mse",
                         "--axis", "units=3")
    assert code == cli.EXIT_PASSED, out + err
