"""Telling shapeguard the contract (issue: real blocks, real contracts):
template expressions and bindings, constraints, None dims, required
parameters, rank, tuples and callables, lists of tensors and optional
tensors, channels_first. Blocks come from Keras's own applications where
the issue names them; every reported failure is confirmed with plain Keras."""

from __future__ import annotations

import json
import re

import keras
import pytest
from keras import layers
from keras.src.applications import densenet, mobilenet_v3, nasnet, resnet

from helpers.plain_keras import confirm, run_call
from shapeguard import ShapeguardError, check
from shapeguard.cli import build_parser, parse_axes, run_check
from shapeguard._show import call_string
from shapeguard.space import build_space

pytestmark = pytest.mark.keras

APPS = {"residual_block_v1": resnet.residual_block_v1, "residual_block_v2": resnet.residual_block_v2,
        "_normal_a_cell": nasnet._normal_a_cell, "conv_block": densenet.conv_block,
        "_se_block": mobilenet_v3._se_block}


# Small blocks of the kinds the issue names.
def conv1d_residual(x, filters=16, kernel_size=3):
    y = layers.Conv1D(filters, kernel_size, padding="causal")(x)
    y = layers.Conv1D(filters, kernel_size, padding="causal")(y)
    return layers.Add()([x, y])  # identity shortcut: breaks when C != filters


def flatten_head(x, units=10):
    y = layers.Conv2D(4, 3, padding="same")(x)
    y = layers.Flatten()(y)
    return layers.Dense(units)(y)  # needs a known flattened size


def tuple_block(x, filters=16, kernel_size=(3, 3), strides=(1, 1)):
    y = layers.Conv2D(filters, kernel_size, strides=strides, padding="same")(x)
    shortcut = layers.Conv2D(filters, 1, strides=strides, padding="same")(x)
    return layers.Add()([y, shortcut])


def multi_kernel(x, filters=8, kernel_size=(3, 6, 12)):
    return layers.Concatenate()([layers.Conv1D(filters, k, padding="same")(x) for k in kernel_size])


def decoder(x, skips, filters=8):
    for skip in skips:
        x = layers.UpSampling2D()(x)
        x = layers.Concatenate()([x, skip])  # skip must be twice the size
        x = layers.Conv2D(filters, 3, padding="same")(x)
    return x


def grouped(x, filters=32, groups=4):
    return layers.Conv2D(filters, 3, padding="same", groups=groups)(x)


def with_activation(x, filters=8, activation=keras.activations.relu):
    return layers.Conv2D(filters, 1, activation=activation)(x)


def calls_its_activation(x, filters, activation):
    return activation(layers.Add()([x, layers.Conv2D(filters, 1)(x)]))


def layout(x, filters=8, data_format=None):
    y = layers.Conv2D(filters, 1, data_format=data_format)(x)
    return layers.MaxPooling2D(2, data_format=data_format)(y)


def norm_then_lstm(x, units=8):
    y = layers.BatchNormalization()(x)
    return layers.LSTM(units)(y)


def kinds(report):
    return sorted((f.kind, f.layer_class) for f in report.failures)


def namespace():
    return {**globals(), **APPS}


# -- Keras's own residual blocks ---------------------------------------------

@pytest.fixture(scope="module")
def v2_free():
    return check(resnet.residual_block_v2, filters=[8, 16], H=[7], C=[16, 32], kernel_size=[1, 3, 5],
                 stride=[1, 2], conv_shortcut=[False, True], exhaustive=True)  # given axes are never widened


def test_residual_block_v2_kernel_size_bug_has_its_own_minimal_example(v2_free):
    """Keras hard-codes ZeroPadding2D(1): any kernel_size but 3 breaks the Add,
    whatever conv_shortcut. With a free C the channel contract shows too, but
    it no longer hides the bug."""
    kernel_bug = [f for f in v2_free.failures if f.example["kernel_size"] != 3]
    assert kernel_bug, v2_free
    for failure in v2_free.failures:
        assert failure.location is not None and failure.location.file == resnet.__file__
        confirm(failure, namespace())


def test_residual_block_v2_with_its_contract_reports_only_the_kernel_size_bug():
    report = check(resnet.residual_block_v2, inputs={"x": "H,H,4*filters"}, filters=[8, 16], H=[7],
                   kernel_size=[1, 3, 5], stride=[1, 2], conv_shortcut=[False, True], exhaustive=True)
    assert report.failures and report.errors == []
    assert "C" not in report.space  # the channels are bound to 4*filters
    for failure in report.failures:
        assert failure.layer_class == "Add" and failure.example["kernel_size"] != 3
        confirm(failure, namespace())
    for example, outcome in report.outcomes:  # the bug, exactly
        assert outcome.failed == (example["kernel_size"] != 3), example


def test_residual_block_v1_passes_with_its_contract_and_reports_the_shortcut_contract_without():
    contract = dict(inputs={"x": "H,H,4*filters"}, where="conv_shortcut or stride == 1")
    report = check(resnet.residual_block_v1, filters=[8, 16], H=[7], stride=[1, 2], conv_shortcut=[True, False],
                   exhaustive=True, **contract)
    assert report.ok, report
    assert report.skipped > 0 and report.probes == report.size - report.skipped
    free = check(resnet.residual_block_v1, filters=[8, 16], H=[7], C=[16, 32], stride=[1],
                 conv_shortcut=[True, False], exhaustive=True)
    (failure,) = free.failures
    assert failure.layer_class == "Add" and failure.example["conv_shortcut"] is False
    assert failure.example["C"] != 4 * failure.example["filters"]
    confirm(failure, namespace())


def test_nasnet_cell_with_p_downsampled_or_none_wastes_no_probe():
    inputs = {"ip": "H,H,C", "p": "H,H,Cp|2*H,2*H,Cp|None"}
    report = check(nasnet._normal_a_cell, inputs=inputs, H=[4], C=[8], Cp=[8, 16], filters=[8, 5],
                   exhaustive=True)
    # p=None makes Cp irrelevant: those points repeat a call and are skipped.
    assert report.space["p"] == ["H,H,Cp", "2*H,2*H,Cp", None]
    assert report.skipped == 2 and report.probes == 10
    calls = [o for _, o in report.outcomes]
    assert len(calls) == 10
    odd_downsampled = [e for e, o in report.outcomes if o.failed and e["p"] == "2*H,2*H,Cp"]
    assert odd_downsampled and all(e["filters"] == 5 for e in odd_downsampled)
    for failure in report.failures:
        confirm(failure, namespace())
    for example, outcome in report.outcomes:  # even filters with ip's channels: the cell works
        if example["filters"] == 8 and example["p"] is not None:
            assert not outcome.failed, example


@pytest.mark.parametrize("block", [densenet.conv_block, mobilenet_v3._se_block])
def test_blocks_with_required_labels_and_ratios_run_with_no_options(block):
    report = check(block, max_examples=12)
    assert report.probes >= 12 and report.errors == []
    space = report.space
    assert space.get("name", space.get("prefix")) in (["block"], ["block_"])
    for failure in report.failures:
        confirm(failure, namespace())


def test_required_parameters_are_listed_in_one_sentence_per_door(capsys):
    def cell(ip, p, filters, depth_multiplier_thing):
        return ip, p, filters, depth_multiplier_thing  # each is used: none is held at None

    with pytest.raises(ShapeguardError) as caught:
        build_space(cell, name="cell")
    message = str(caught.value)
    assert "p (" not in message  # a second tensor: it gets a template of its own
    assert "depth_multiplier_thing (depth_multiplier_thing=[8, 16])" in message
    assert "filters" not in message and "\n" not in message
    cli = caught.value.for_cli()
    assert "--axis depth_multiplier_thing=8,16" in cli


# -- rank, None dims, tuples, callables --------------------------------------

def test_conv1d_residual_block_gets_a_sequence_template_and_its_add_bug():
    report = check(conv1d_residual, C=[8, 16], filters=[16], kernel_size=[3])
    assert "T" in report.space and "H" not in report.space
    (failure,) = report.failures
    assert failure.kind == "shape" and failure.layer_class == "Add"
    assert len(failure.input_shapes[0]) == 3 and failure.example["C"] == 8
    confirm(failure, globals())


def test_a_block_that_rejects_the_inferred_rank_everywhere_is_one_sentence():
    with pytest.raises(ShapeguardError, match=r"rejects the inferred input x=H,H,C .* inputs=\{'x': 'T,C'\}"):
        check(norm_then_lstm, C=[8], H=[4], units=[8])


def test_a_block_that_rejects_a_given_template_everywhere_says_it_was_given_and_tried_no_other_rank():
    def conv(x, filters=8):
        return keras.layers.Conv2D(filters, 3)(x)

    with pytest.raises(ShapeguardError) as caught:
        check(conv, inputs={"x": "H,W"})
    message = str(caught.value)
    assert "rejects the input template given, x=H,W (rank 2) at every size tried" in message, message
    assert "inferred" not in message and "other rank" not in message


def test_a_block_failing_at_every_size_tried_labels_its_one_point_an_example_not_minimal():
    def to_five(x):
        return keras.layers.Reshape((5,))(x)  # no image of 8 or more pixels a side has 5 values

    report = check(to_five)
    assert report.working_point is not None and not report.working_point["works"]
    text = str(report)
    assert "works at: none of the sizes tried" in text and "      example: " in text, text
    assert "minimal:" not in text


def test_flatten_then_dense_fails_only_on_unknown_sizes():
    unknown = check(flatten_head, inputs={"x": "None,None,3"}, units=[10])
    (failure,) = unknown.failures
    assert failure.layer_class == "Dense" and failure.call.startswith("flatten_head(keras.Input(shape=(None, None, 3))")
    confirm(failure, globals())
    assert check(flatten_head, inputs={"x": "H,H,3"}, units=[10]).ok


def test_tuple_defaults_search_tuples_and_run_clean():
    inferred = build_space(tuple_block, {}, {"x": "H,H,C"}).as_dict()  # no axes given: inferred
    assert inferred["kernel_size"] == [(3, 3), (1, 1), (5, 5)]
    assert inferred["strides"] == [(1, 1), (2, 2)]
    report = check(tuple_block, C=[8], H=[7, 8], filters=[16], kernel_size=inferred["kernel_size"],
                   strides=inferred["strides"])
    assert report.ok and report.errors == [], report
    assert "kernel_size" not in build_space(multi_kernel, {}, {"x": "T,C"}).as_dict()
    assert check(multi_kernel, inputs={"x": "T,C"}, C=[8], T=[16]).ok


def test_command_line_values_split_at_top_level_commas_and_read_as_literals():
    assert parse_axes(["kernel_size=(3,3),(1,3)"]) == {"kernel_size": [(3, 3), (1, 3)]}
    assert parse_axes(["nb_filters=[4,5,5,6]"]) == {"nb_filters": [[4, 5, 5, 6]]}
    assert parse_axes(["mode='8',same,none,TRUE,0.5"]) == {"mode": ["8", "same", None, True, 0.5]}
    assert parse_axes(["activation=keras.activations.relu"]) == {"activation": [keras.activations.relu]}


def test_callables_appear_by_dotted_name_and_json_is_byte_identical():
    options = dict(activation=[keras.activations.relu, keras.activations.gelu], C=[4], H=[3], filters=[4])
    first, second = check(with_activation, **options), check(with_activation, **options)
    assert first.to_json() == second.to_json()
    assert "keras.src.activations.activations.gelu" in first.to_json() and " at 0x" not in first.to_json()
    args = build_space(with_activation, options).arguments((0, 0, 0, 0))
    assert call_string("with_activation", args).endswith("activation=keras.src.activations.activations.relu)")


def test_an_activation_the_block_calls_is_given_a_keras_function_the_report_names_as_python():
    report = check(calls_its_activation, inputs={"x": "H,H,C"}, C=[8], H=[4], filters=[8, 16])
    assert [repr(v) for v in report.space["activation"]] == ["keras.activations.relu"]  # one value, by name
    assert json.loads(report.to_json())["targets"][0]["space"]["activation"] == ["keras.activations.relu"]
    (failure,) = report.failures
    assert failure.call.endswith("filters=16, activation=keras.activations.relu)")
    confirm(failure, globals())  # the reproducing call runs as written, with plain Keras


# -- lists of tensors, choices, layouts ---------------------------------------

def test_list_template_builds_a_list_of_tensors():
    good = check(decoder, inputs={"x": "H,H,C", "skips": "[2*H,2*H,C; 4*H,4*H,C]"}, H=[4], C=[8], filters=[8])
    assert good.ok and good.probes == 1
    bad = check(decoder, inputs={"x": "H,H,C", "skips": ["2*H,2*H,C", "4*H+1,4*H,C"]}, H=[4], C=[8], filters=[8])
    (failure,) = bad.failures
    assert failure.layer_class == "Concatenate"
    assert "[keras.Input(shape=(8, 8, 8)), keras.Input(shape=(17, 16, 8))]" in failure.call
    confirm(failure, globals())


def test_channels_first_points_lay_out_channels_last_templates_channels_first():
    assert build_space(layout, {}).as_dict()["data_format"] == [None, "channels_first"]  # inferred
    report = check(layout, H=[6], C=[3], filters=[8], data_format=[None, "channels_first"], exhaustive=True)
    assert report.ok and report.probes == 2
    space = build_space(layout, {"H": [6], "C": [3], "filters": [8], "data_format": [None, "channels_first"]})
    shapes = {space.values(p)["data_format"]: space.arguments(p)[0].shape for p in space.points()}
    assert shapes == {None: (6, 6, 3), "channels_first": (3, 6, 6)}


# -- the contract decides which points are probed ------------------------------

def test_constraints_and_expressions_change_which_points_are_probed():
    plain = check(grouped, groups=[1, 4, 8], filters=[8, 12, 16], H=[4], C=[8], exhaustive=True)
    assert plain.probes == 9 and plain.skipped == 0 and plain.failures  # 12 % 8 breaks Conv2D
    constrained = check(grouped, groups=[1, 4, 8], filters=[8, 12, 16], H=[4], C=[8], exhaustive=True,
                        where="filters % groups == 0")
    assert constrained.ok and constrained.skipped == 1 and constrained.probes == 8
    assert all(e["filters"] % e["groups"] == 0 for e, _ in constrained.outcomes)
    bound = check(grouped, inputs={"x": "H,H,2*groups-2"}, groups=[1, 4, 8], filters=[8], H=[4], exhaustive=True)
    assert bound.skipped == 1 and bound.probes == 2  # 2*1-2 = 0 channels is no tensor
    callable_where = check(grouped, groups=[1, 4, 8], filters=[8, 12, 16], H=[4], C=[8], exhaustive=True,
                           where=lambda p: p["filters"] % p["groups"] == 0)
    assert callable_where.to_json() == constrained.to_json().replace(
        '"skipped": 1', '"skipped": 1')  # same points, same verdicts
    assert '"skipped": 1' in constrained.to_json()
    assert "skipped: 1 of 9 combinations" in str(constrained)


# -- bad input: one sentence, in the door's syntax ------------------------------

BAD = [
    (dict(inputs={"x": "H,H,4*filtrs"}), ["--input", "x=H,H,4*filtrs"], "Did you mean 'filters'"),
    (dict(inputs={"x": "H,H,f(C)"}), ["--input", "x=H,H,f(C)"], "uses a function call"),
    (dict(inputs={"x": "H,H,C/2"}), ["--input", "x=H,H,C/2"], "uses the operator /"),
    (dict(inputs={"x": "H,(H,C"}), ["--input", "x=H,(H,C"], "unbalanced '('"),
    (dict(inputs={"x": "[]"}), ["--input", "x=[]"], "list template '[]' is empty"),
    (dict(where="filters %"), ["--where", "filters %"], "does not parse"),
    (dict(where="filters // (groups - 4) > 0", groups=[4, 8]), ["--where", "filters // (groups - 4) > 0",
                                                              "--axis", "groups=4,8"], "raised ZeroDivisionError (integer division or modulo by zero) at groups=4"),
    (dict(where="filters > 1000"), ["--where", "filters > 1000"], "holds at no combination"),
    (dict(where="grups == 1"), ["--where", "grups == 1"], "Did you mean 'groups'"),
    (dict(where="x == 1"), ["--where", "x == 1"], "names the tensor parameter 'x'"),
    (None, ["--axis", "groups=(1,2"], "unbalanced '('"),
]


@pytest.mark.parametrize("api, argv, message", BAD)
def test_bad_contract_is_one_sentence_and_exit_2(api, argv, message, capfd, tmp_path, monkeypatch):
    if api is not None:
        with pytest.raises(ShapeguardError, match=re.escape(message)) as caught:
            check(grouped, **api)
        assert "\n" not in str(caught.value) and "--" not in str(caught.value)
    module = tmp_path / "bad_contract_blocks.py"  # not "blocks": the CLI's import stays in sys.modules
    module.write_text("from keras import layers\n\ndef grouped(x, filters=32, groups=4):\n"
                      "    return layers.Conv2D(filters, 3, padding='same', groups=groups)(x)\n")
    monkeypatch.chdir(tmp_path)
    # In this process (no watching parent, whose child would load TensorFlow again per case).
    assert run_check(build_parser().parse_args(["check", "bad_contract_blocks.py:grouped", *argv])) == 2
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    if api is not None and argv[0] in ("--where", "--input"):
        assert argv[0] in err  # the command line's own syntax
