"""The shipped examples checked with no options at all, as a Keras user's
first run is: each buggy example fails with its real bug (every failure
confirmed in plain Keras, eagerly on real arrays where the symbolic path wraps
the layer's error), each fixed twin passes, and the report says where the
block works. An undecorated folder is checked block by block."""

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from helpers.command_line import REPO, shapeguard_here
from helpers.eager_keras import confirm_plain_or_eager
from shapeguard import check

pytestmark = pytest.mark.keras

EXAMPLES = REPO / "examples"

# example file -> (block name, the layer that rejects, the cause), for the buggy twin
TWINS = {
    "conv1d_residual_layer": ("CausalResidualBlock", "Add", "channels"),
    "transformer_block": ("transformer_block", "Add", "channels"),
    "conv3d_block": ("conv3d_block", "Add", "spatial"),
    "pooling_builder": ("build_model", "Concatenate", "spatial"),
    "multi_model_builder": ("build_autoencoder", None, None),
    "mode_block": ("conv_block", "Add", "channels"),
}


def load(stem: str):
    spec = importlib.util.spec_from_file_location(f"zero_config_{stem}", EXAMPLES / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def confirmed(failure, namespace: dict) -> None:
    """Plain Keras (or, where the symbolic path wraps the error, real arrays)
    raises at the reported call, in the reported layer, with its message."""
    confirm_plain_or_eager(failure.call, failure.layer_class, failure.message, namespace, models=("Functional",))


@pytest.mark.parametrize("stem", sorted(TWINS))
def test_the_buggy_example_fails_with_its_real_bug(stem):
    name, layer, cause = TWINS[stem]
    module = load(stem)
    report = check(getattr(module, name))
    assert report.failures, report
    if layer is not None:
        assert any(f.layer_class == layer and f.cause == cause for f in report.failures), report
    for failure in report.failures:
        confirmed(failure, vars(module))
    # where sizes were grown, the block works at its defaults (a builder making its own Input grows none)
    assert report.working_point is None or report.working_point["works"], report


@pytest.mark.parametrize("stem", sorted(TWINS))
def test_the_fixed_twin_passes_with_no_options(stem):
    name = TWINS[stem][0]
    report = check(getattr(load(f"{stem}_fixed"), name))
    assert report.ok and report.errors == [], report
    assert report.working_point is None or report.working_point["works"]
    assert "works at:" in str(report) or report.working_point is None


def test_the_pooling_builder_is_tried_at_its_own_input_shape_first():
    report = check(load("pooling_builder").build_model)
    assert report.working_point["at"] == {"H": 28, "C": 1}  # its default, tried first, works
    smallest = report.working_point["smallest"]  # the docstring: it builds from 22 to 29 pixels
    assert smallest is not None and smallest["works"] == {"H": 22} and smallest["fails"] == {"H": 21}
    assert "works at: H=28, C=1 (defaults otherwise)" in str(report)


def test_an_undecorated_folder_is_checked_block_by_block(tmp_path, monkeypatch, capfd):
    # In this process, from a copy: the run's modules (dropped after it) are the copy's, not the checkout's.
    shutil.copytree(EXAMPLES / "undecorated", tmp_path / "examples" / "undecorated")
    run = shapeguard_here(tmp_path, monkeypatch, capfd, "examples/undecorated", "--format", "json")
    assert run.code == 1, run.stderr
    document = json.loads(run.stdout)
    by_name = {t["target"].split(":")[-1]: t for t in document["targets"]}
    assert set(by_name) == {"conv_bn", "basic_block", "bottleneck_block", "SqueezeExcite"}
    assert [n for n, t in by_name.items() if t["status"] != "pass"] == ["bottleneck_block"]
    (failure,) = by_name["bottleneck_block"]["failures"]
    assert failure["layer"]["class"] == "Add" and failure["cause"] == "spatial"
    assert document["summary"]["found"] == 4 and document["summary"]["checked"] == 4
    assert document["not_checked"] == []
    assert not any("utils" in t["target"] for t in document["targets"])
