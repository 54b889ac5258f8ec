"""Blocks built from the user's own Layer subclasses: a failure deep inside
keeps its inner cause, the innermost layer, its input shapes and the chain of
the user's lines; a layer's own validation in __init__/build is a config
failure of that layer. Each failure is confirmed with plain Keras."""

import pytest
from keras import layers

from helpers.plain_keras import confirm
from shapeguard import check

pytestmark = pytest.mark.keras

THIS_FILE = __file__


def line_of(text: str) -> int:
    with open(THIS_FILE) as f:
        return next(i for i, line in enumerate(f, 1) if text in line and "line_of" not in line)


class ResidualUnit(layers.Layer):
    def __init__(self, filters, strides=1, **kwargs):
        super().__init__(**kwargs)
        self.conv = layers.Conv2D(filters, 3, strides=strides, padding="same")
        self.add = layers.Add()

    def call(self, x):
        return self.add([x, self.conv(x)])  # the unit's add


class Stage(layers.Layer):
    """Three residual units; the first may downsample."""

    def __init__(self, filters, strides=1, **kwargs):
        super().__init__(**kwargs)
        self.units = [ResidualUnit(filters, strides if i == 0 else 1) for i in range(3)]

    def call(self, x):
        for unit in self.units:
            x = unit(x)  # each unit
        return x


def stage_block(x, filters=8, strides=1):
    return Stage(filters, strides)(x)  # the stage


@pytest.fixture(scope="module")
def report():
    return check(stage_block, filters=[8, 16], strides=[1, 2], C=[8], H=[8])


def by_cause(report, cause):
    (found,) = [f for f in report.failures if f.cause == cause]
    return found


def test_two_level_block_reports_the_inner_add_with_its_chain(report):
    assert sorted(f.cause for f in report.failures) == ["channels", "spatial"] and report.errors == []
    channels = by_cause(report, "channels")
    assert channels.kind == "shape" and channels.layer_class == "Add"
    assert channels.example == {"C": 8, "H": 8, "filters": 16, "strides": 1}
    assert channels.input_shapes == ((None, 8, 8, 8), (None, 8, 8, 16))
    assert channels.location.file == THIS_FILE and channels.location.line == line_of("# the unit's add")
    assert [(line, fn) for _, line, fn in channels.chain] == [
        (line_of("# the stage"), "stage_block"),
        (line_of("# each unit"), "Stage.call"),
        (line_of("# the unit's add"), "ResidualUnit.call"),
    ]
    # Keras's wrapper ("Could not automatically infer the output shape ...") is gone
    assert channels.message.startswith("Inputs have incompatible shapes")
    text = str(report)
    assert "stage_block -> " in text and "Stage.call -> " in text and "ResidualUnit.call -> Add" in text


def test_each_nested_failure_is_confirmed_in_plain_keras(report):
    spatial = by_cause(report, "spatial")
    assert spatial.example == {"C": 8, "H": 8, "filters": 8, "strides": 2}
    assert spatial.input_shapes == ((None, 8, 8, 8), (None, 4, 4, 8))
    for failure in report.failures:
        exc = confirm(failure, globals())
        assert "Could not automatically infer" in str(exc)  # what plain Keras says first


def test_chain_is_in_the_json(report):
    import json

    data = json.loads(report.to_json())
    failure = data["targets"][0]["failures"][0]
    assert failure["cause"] in ("channels", "spatial")
    assert [entry.split(" ")[1] for entry in failure["chain"]] == ["stage_block", "Stage.call", "ResidualUnit.call"]
    assert failure["chain"][0].startswith("tests/test_nested.py:") or "test_nested.py:" in failure["chain"][0]


class Picky(layers.Layer):
    def __init__(self, padding="causal", **kwargs):
        super().__init__(**kwargs)
        if padding not in ("causal", "same"):
            raise ValueError("Only 'causal' or 'same' padding are compatible with this layer.")

    def call(self, x):
        return x


class Heads(layers.Layer):
    def __init__(self, heads=2, **kwargs):
        super().__init__(**kwargs)
        self.heads = heads

    def build(self, input_shape):
        if input_shape[-1] // self.heads == 0:
            raise ValueError("key_dim computed cannot be zero.")
        self.dense = layers.Dense(input_shape[-1])

    def call(self, x):
        return x


def picky_block(x, padding="causal", heads=2):
    x = Picky(padding)(x)  # picky layer
    return Heads(heads)(x)  # heads layer


def test_a_layers_own_validation_is_a_config_failure_of_that_layer():
    report = check(picky_block, padding=["causal", "valid"], heads=[2, 16], C=[8], H=[4])
    assert report.errors == [], report
    init, build = sorted(report.failures, key=lambda f: f.location.line)
    assert init.kind == "config" and init.layer_class == "Picky"
    assert init.location.line == line_of("# picky layer") and init.example["padding"] == "valid"
    assert init.message == "Only 'causal' or 'same' padding are compatible with this layer."
    assert build.kind == "config" and build.layer_class == "Heads"
    assert build.location.line == line_of("# heads layer") and build.example["heads"] == 16
    assert build.message == "key_dim computed cannot be zero."
    for failure in report.failures:
        confirm(failure, globals())
