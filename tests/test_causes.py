"""The cause of a failure from shapes and Keras's messages
(`shapeguard._probe.causes`: text rules, no Keras needed)."""

from shapeguard._probe.causes import from_message, merge_cause


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


def test_channels_first_causes_read_the_channel_axis_of_the_layout():
    # (None, C, H, W): a channel mismatch is on axis 1, a width mismatch on the last axis
    assert merge_cause(((None, 8, 4, 5), (None, 4, 4, 5)), channels_first=True) == "channels"
    assert merge_cause(((None, 4, 4, 3), (None, 4, 4, 6)), channels_first=True) == "spatial"
    assert merge_cause(((None, 8, 16), (None, 4, 16)), channels_first=True) == "channels"
    assert merge_cause(((None, 8, 16), (None, 8, 14)), channels_first=True) == "sequence length"
    assert merge_cause(((None, 8, 4, 5), (None, 8, 4, 5, 1)), channels_first=True) == "rank"


def test_filters_and_input_channels_not_divisible_by_groups_are_two_causes():
    filters = from_message("ValueError", "The number of filters must be evenly divisible by the number of groups. "
                                         "Received: groups=4, filters=6.")
    channels = from_message("ValueError", "The number of input channels must be evenly divisible by the number "
                                          "of groups. Received groups=32, but the input has 48 channels")
    assert (filters.cause, channels.cause) == ("filters not divisible by groups", "channels not divisible by groups")


def test_every_cause_is_in_the_docs_table():
    """A cause label a report prints is one a user can look up (docs/explanation/probing.md, "What a failure mode is")."""
    from pathlib import Path

    from shapeguard._probe.causes import GENERIC, RULES

    page = (Path(__file__).resolve().parents[1] / "docs" / "explanation" / "probing.md").read_text()
    table = page[page.index("| failure | cause |"):]
    table = table[:table.index("\n\n")]
    labels = {rule.cause for rule in RULES} | set(GENERIC.values()) | {
        "channels", "spatial", "sequence length", "rank", "declared output shape differs from call()",
        "timeout", "fast path disagrees"}
    assert not [label for label in labels if f"`{label}`" not in table]
