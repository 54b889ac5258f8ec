"""A block that changes Keras's global configuration and never restores it
changes neither the next probe, nor the next target, nor the user's tests."""

import keras
import pytest
from keras import layers

from shapeguard import check

pytestmark = pytest.mark.keras


def correct(x, filters=8):
    y = layers.Conv2D(filters, 1)(x)
    return layers.Add()([x, y])


def channels_first(x, filters=8):
    keras.config.set_image_data_format("channels_first")
    return layers.Conv2D(filters, 1)(x)


def float16(x, filters=8):
    keras.config.set_floatx("float16")
    keras.config.set_epsilon(1e-3)
    return layers.Conv2D(filters, 1)(x)


def mixed(x, filters=8):
    keras.mixed_precision.set_global_policy("mixed_float16")
    return layers.Conv2D(filters, 1)(x)


def clears(x, filters=8):
    keras.config.set_image_data_format("channels_first")
    keras.backend.clear_session()  # replaces Keras's global state trackers
    return layers.Conv2D(filters, 1)(x)


def sees_channels_last(x, filters=8):
    assert keras.config.image_data_format() == "channels_last", "probe started channels_first"
    keras.config.set_image_data_format("channels_first")
    return layers.Conv2D(filters, 1)(x)


SPACE = dict(filters=[8], C=[8], H=[7])


def configuration():
    from keras.src.backend.common import global_state

    return (
        keras.config.image_data_format(),
        keras.config.floatx(),
        keras.config.epsilon(),
        keras.config.backend(),
        keras.mixed_precision.global_policy().name,
        keras.config.is_traceback_filtering_enabled(),
        dict(global_state.get_global_attribute("object_name_uids") or {}),
    )


@pytest.mark.parametrize("block", [channels_first, float16, mixed, clears], ids=lambda f: f.__name__)
def test_configuration_is_as_found_after_a_check(block):
    layers.Dense(2)  # a name counter of the user's own
    before = configuration()
    check(block, **SPACE)
    assert configuration() == before
    report = check(correct, **SPACE)  # the next target is unaffected
    assert report.ok, report


def test_every_probe_starts_from_the_configuration_the_check_started_with():
    report = check(sees_channels_last, filters=[8, 16, 32], C=[8], H=[7])
    assert report.ok and report.probes == 3, report
    assert keras.config.image_data_format() == "channels_last"


def test_an_ordinary_test_after_a_leaky_check_sees_channels_last():
    check(channels_first, **SPACE)
    x = keras.Input((7, 7, 8))
    assert keras.config.image_data_format() == "channels_last"
    assert layers.Conv2D(4, 1)(x).shape == (None, 7, 7, 4)
