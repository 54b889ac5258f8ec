"""ShapeguardError: one sentence, spelled at each door (shapeguard.errors).

Pure Python: plain functions, `build_space`, and the command line's option
parsers; nothing here imports Keras."""

import pickle

import pytest

from shapeguard.cli import parse_axes, parse_where
from shapeguard.errors import (
    SUBJECT,
    AxisOption,
    InputOption,
    InputShapeOption,
    ShapeguardError,
    WhereOption,
)
from shapeguard.space import build_space


def block(x, filters=32, groups=4):
    pass


def builder(input_shape, filters=8):
    pass


def both(call) -> tuple[str, str]:
    with pytest.raises(ShapeguardError) as raised:
        call()
    return str(raised.value), raised.value.for_cli()


# -- the options spell themselves -----------------------------------------------

@pytest.mark.parametrize("option, python, cli", [
    (AxisOption("C", (8, 16)), "C=[8, 16]", "--axis C=8,16"),
    (AxisOption("kernel_size", ((3, 3), None, "same")), "kernel_size=[(3, 3), None, 'same']",
     "--axis kernel_size=(3, 3),None,'same'"),
    (InputOption("x", "H,H,C/2"), "inputs={'x': 'H,H,C/2'}", "--input x=H,H,C/2"),
    (InputShapeOption("input_shape", "H,H,3"), "input_shapes={'input_shape': 'H,H,3'}",
     "--input-shape input_shape=H,H,3"),
    (WhereOption("filters % groups == 0"), "where='filters % groups == 0'", "--where 'filters % groups == 0'"),
    (WhereOption(["a > 1", "b < 2"]), "where=['a > 1', 'b < 2']", "--where 'a > 1' --where 'b < 2'"),
])
def test_an_option_spells_itself_for_each_door(option, python, cli):
    assert (option.python(), option.cli()) == (python, cli)
    assert hash(option) == hash(type(option)(*vars(option).values()))  # frozen values


# -- one error, both spellings, for each option ------------------------------------

def test_axis_option_inside_the_sentence():
    assert both(lambda: build_space(block, inputs={"x": "H,Q"}, name="b.py:block")) == (
        "b.py:block: template dimension 'Q' has no values; give some, e.g. Q=[8, 16].",
        "b.py:block: template dimension 'Q' has no values; give some, e.g. --axis Q=8,16.",
    )


def test_input_option_names_the_template_a_deep_error_came_from():
    tail = "dimension 'C/2': 'C/2' uses the operator /; a dimension may use only integers, axis names, + - * // and parentheses."
    assert both(lambda: build_space(block, inputs={"x": "H,H,C/2"}, name="b.py:block")) == (
        f"b.py:block: inputs={{'x': 'H,H,C/2'}}: {tail}",
        f"b.py:block: --input x=H,H,C/2: {tail}",
    )
    assert both(lambda: build_space(block, inputs={"x": "H,(H,C"}, name="b.py:block")) == (
        "b.py:block: inputs={'x': 'H,(H,C'}: 'H,(H,C' has an unbalanced '(': it is never closed.",
        "b.py:block: --input x=H,(H,C: 'H,(H,C' has an unbalanced '(': it is never closed.",
    )


def test_input_shape_option_for_a_parameter_that_takes_a_shape():
    space = lambda: build_space(builder, {"H": [4]}, {"input_shape": "H,H,C/2"}, name="b.py:build",
                                shape_params=frozenset({"input_shape"}))
    python, cli = both(space)
    assert python.startswith("b.py:build: input_shapes={'input_shape': 'H,H,C/2'}: dimension 'C/2': ")
    assert cli.startswith("b.py:build: --input-shape input_shape=H,H,C/2: dimension 'C/2': ")


def test_where_option_is_the_sentence_subject():
    tail = "names 'grups', which is neither an axis nor a parameter (H, C, filters, groups). Did you mean 'groups'?"
    assert both(lambda: build_space(block, where="grups == 1", name="b.py:block")) == (
        f"b.py:block: where='grups == 1' {tail}",
        f"b.py:block: --where 'grups == 1' {tail}",
    )
    assert both(lambda: parse_where(["filters %"])) == (
        "where='filters %' does not parse (invalid syntax).",
        "--where 'filters %' does not parse (invalid syntax).",
    )


def test_several_constraints_in_one_sentence():
    space = build_space(block, {"filters": [8, 16]}, where=["filters > 10", "filters < 10"], name="b.py:block")
    tail = "together hold at no combination of the axes; loosen them or give other values."
    assert both(lambda: space.valid_points) == (
        f"b.py:block: the constraints where=['filters > 10', 'filters < 10'] {tail}",
        f"b.py:block: the constraints --where 'filters > 10' --where 'filters < 10' {tail}",
    )


def test_an_empty_constraint_reads_alike_at_both_doors():
    rule = "an empty expression; a constraint may use only names, literals, + - * / // %, comparisons, and/or/not."
    assert both(lambda: build_space(block, where="", name="b.py:block")) == (
        f"b.py:block: where='': {rule}", f"b.py:block: --where '': {rule}")
    assert both(lambda: parse_where([""]))[1] == f"--where '': {rule}"


# -- subject and context ----------------------------------------------------------

def test_a_subject_is_prefixed_exactly_once():
    with pytest.raises(ShapeguardError) as raised:
        build_space(block, axes={"filter": [8]}, name="b.py:block")
    error = raised.value
    again = error.with_context(subject="b.py:block").with_context(subject="b.py:block")
    for text in (str(again), again.for_cli()):
        assert text.startswith("b.py:block: axis 'filter' names neither") and text.count("b.py:block") == 1
    outer = error.with_context(subject="pkg.mod:block")  # another name: one level out, as before
    assert str(outer).startswith("pkg.mod:block: b.py:block: axis 'filter'")


def test_a_subject_named_inside_the_sentence_is_not_prefixed():
    error = ShapeguardError((SUBJECT, " is an int, not a function."), subject="t.py:LIMIT")
    assert str(error) == error.with_context(subject="t.py:LIMIT").for_cli() == "t.py:LIMIT is an int, not a function."


def test_context_goes_in_front_of_what_the_error_says():
    deep = ShapeguardError("'C/2' uses the operator /.", subject="dimension 'C/2'")
    told = deep.with_context(subject="b.py:block", option=InputOption("x", "H,C/2"))
    assert str(told) == "b.py:block: inputs={'x': 'H,C/2'}: dimension 'C/2': 'C/2' uses the operator /."
    assert told.for_cli() == "b.py:block: --input x=H,C/2: dimension 'C/2': 'C/2' uses the operator /."
    assert (told.subject, told.option) == ("b.py:block", InputOption("x", "H,C/2"))
    assert str(deep) == "dimension 'C/2': 'C/2' uses the operator /."  # a new error; the deep one is unchanged


def test_a_plain_sentence_reads_the_same_at_both_doors_and_survives_pickling():
    plain = ShapeguardError("seed must be an integer, not 'abc'.")
    assert str(plain) == plain.for_cli() == plain.args[0]
    shaped = ShapeguardError(("give some, e.g. ", AxisOption("C", (8, 16)), "."), subject="b.py:block")
    copy = pickle.loads(pickle.dumps(shaped))
    assert (str(copy), copy.for_cli()) == (str(shaped), shaped.for_cli())


def test_command_line_only_errors_are_one_sentence():
    python, cli = both(lambda: parse_axes(["groups=1,,2"]))
    assert python == cli == "--axis groups=1,,2: a value is empty; write --axis groups=V1,V2."
