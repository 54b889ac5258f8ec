"""A target inside an installed package (Keras's own applications): the
target's file is the user's code, so each failure has its line there, and each
cause at that line is its own mode. Confirmed with plain Keras."""

import inspect

import pytest
from keras.src.applications import resnet

from helpers.plain_keras import confirm
from shapeguard import check

pytestmark = pytest.mark.keras


@pytest.fixture(scope="module")
def report():
    return check(resnet.residual_block_v2, filters=[8], kernel_size=[3, 5], stride=[1],
                 conv_shortcut=[False, True], C=[16, 32], H=[8])


def test_failures_are_located_in_the_installed_file(report):
    source, start = inspect.getsourcelines(resnet.residual_block_v2)
    add_line = start + next(i for i, text in enumerate(source) if "layers.Add(" in text)
    assert report.errors == [] and len(report.failures) == 2, report
    for failure in report.failures:
        assert failure.layer_class == "Add" and failure.kind == "shape"
        assert failure.location.file == inspect.getsourcefile(resnet)
        assert failure.location.line == add_line
        assert [fn for _, _, fn in failure.chain] == ["residual_block_v2"]
    assert "resnet.py:%d:  x = layers.Add(" % add_line in str(report)


def test_the_hard_coded_padding_is_its_own_mode(report):
    """Keras's residual_block_v2 pads by 1 whatever the kernel: any kernel_size
    but 3 breaks the Add (spatial), apart from the identity-shortcut channel
    contract (C != 4 * filters)."""
    causes = {f.cause: f for f in report.failures}
    assert sorted(causes) == ["channels", "spatial"]
    assert causes["channels"].example == {"filters": 8, "kernel_size": 3, "stride": 1, "conv_shortcut": False,
                                          "C": 16, "H": 8, "name": "block"}
    assert causes["spatial"].example["kernel_size"] == 5 and causes["spatial"].example["C"] == 32
    assert causes["spatial"].failing == 3  # kernel_size 5 fails with either shortcut
    for failure in report.failures:
        confirm(failure, {"residual_block_v2": resnet.residual_block_v2})
