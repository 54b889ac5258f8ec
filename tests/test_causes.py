"""The cause of a failure from shapes and Keras's messages
(`shapeguard._probe.causes`: text rules, no Keras needed)."""

from shapeguard._probe.causes import merge_cause


def test_merge_causes_name_the_dimensions_that_disagree():
    assert merge_cause(((None, 7, 7, 64), (None, 7, 7, 16))) == "channels"
    assert merge_cause(((None, 4, 4, 64), (None, 7, 7, 64))) == "spatial"
    assert merge_cause(((None, 4, 4, 16), (None, 7, 7, 64))) == "channels"  # channels name it first
    assert merge_cause(((None, 16, 8), (None, 14, 8))) == "sequence length"
    assert merge_cause(((None, 7, 7, 8), (None, 5, 8))) == "rank"
    assert merge_cause(((None, 7, 7, 8), (None, 1, 1, 8))) is None  # 1 broadcasts
    # a concatenation joins on its axis: only the other axes count
    assert merge_cause(((None, 7, 7, 8), (None, 7, 7, 16)), concat_axis=-1) is None
    assert merge_cause(((None, 7, 7, 8), (None, 4, 4, 16)), concat_axis=-1) == "spatial"
    assert merge_cause(((None, 7, 8), (None, 7, 16)), concat_axis=1) == "channels"
