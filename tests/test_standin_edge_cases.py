"""Stand-ins against plain Keras on blocks that do unusual things to their
layers and arguments: disagreements found by trying to break stand-ins, fixed,
and kept as tests (`helpers.standin_compare.assert_agree` probes every point
once on the plain path and several times on the fast path):

* a real layer whose call failed was kept as a spare while the block could
  still use it (catch the error, retry, inspect, change it): spares are now
  filed when the probe ends, only if nothing touched them after the failure,
  and a stand-in used again after its failure gets a layer made again and left
  as the failure left it;
* a real layer made after the block changed a list it had passed to the
  constructor: it is made from the arguments as they were;
* the probe's input did not fix Keras's global dtype policy as a real
  ``keras.Input`` does; a stand-in did not pickle;
* the plain-Keras confirmation of a fast failure had the probe's time limit
  (plain Keras is 15-40x slower), and a confirmation that ran out of time or
  memory was called a bug in shapeguard;
* an axis value (a list) was one object shared by every probe.

Three known limitations stay strict xfails: ``serialize_keras_object`` names a
stand-in's module ``keras.src...``; ``copy.deepcopy`` of a built layer fails
on valueless weights (it reads their values); ``object.__setattr__`` on a
stand-in bypasses what marks it as changed.
"""

from __future__ import annotations

import copy
import pickle

import keras
import pytest
from keras import layers

from helpers.standin_compare import MARKS, assert_agree, explain, forget
from shapeguard._probe import probe, session
from shapeguard.space import build_space

pytestmark = [pytest.mark.keras, *MARKS]


def _strict(reason):
    return pytest.mark.xfail(strict=True, reason=reason)


# ---- a spare still in use -----------------------------------------------------------

def retried_after_its_failure(x, filters=6):
    conv = layers.Conv2D(filters, 3, groups=3, padding="same")
    try:
        return conv(x)  # C=4: build sets input_spec (C=4), then refuses groups=3
    except ValueError:
        return conv(layers.Conv2D(3, 1)(x))  # plain Keras: rejected, the layer was built for C=4


def test_a_layer_retried_after_its_failure():
    plain = assert_agree(retried_after_its_failure, {"C": [4], "H": [5], "filters": [6]}, repeats=2)
    assert plain[0].status == "shape"


def inspected_after_its_failure(x, filters=8):
    conv = layers.Conv2D(filters, 4)
    try:
        return conv(x)  # H=3: kernel larger than the input
    except ValueError:
        raise ValueError(f"built={conv.built}, input_spec={conv.input_spec}") from None


def test_a_layer_inspected_after_its_failure():
    assert_agree(inspected_after_its_failure, {"C": [4], "H": [3], "filters": [8]}, repeats=2)


def built_after_its_failure(x, filters=8):
    conv = layers.Conv2D(filters, 1)
    pooled = layers.GlobalAveragePooling2D()(layers.Conv2D(8, 1)(x))  # (None, 8) at every point
    try:
        conv(pooled)  # rank 2: refused before build, nothing changed: kept as a spare
    except ValueError:
        pass
    return layers.Add()([conv(x), x])  # builds the same object, which is also the spare


def test_a_spare_built_after_its_failure():
    assert_agree(built_after_its_failure, {"C": [4, 8], "H": [5], "filters": [8]},
                 order=[{"C": 4, "H": 5, "filters": 8}, {"C": 8, "H": 5, "filters": 8}])


def changes_a_layer_that_failed(x, filters=8):
    conv = layers.Conv2D(filters, 5)
    try:
        return conv(x)  # H=3: kernel larger than the input
    except ValueError:
        conv.kernel_size = (1, 1)  # changed, never called again: plain Keras passes
        return x


def big_kernel(x, filters=8):
    return layers.Conv2D(filters, 5)(x)  # H=3: fails in plain Keras


def test_a_spare_changed_by_one_block_answers_for_another():
    axes = {"C": [4], "H": [3], "filters": [8]}
    space_a = build_space(changes_a_layer_that_failed, axes, {"x": "H,H,C"})
    space_b = build_space(big_kernel, axes, {"x": "H,H,C"})
    point = next(space_b.points())
    with session():
        plain = probe(big_kernel, space_b, point, fast=False)
        probe(changes_a_layer_that_failed, space_a, point)
        fast = [probe(big_kernel, space_b, point) for _ in range(2)]
    assert plain.status == "shape"
    assert all(f == plain for f in fast), explain([(point, plain, f) for f in fast if f != plain])


def two_alike_failing(x, filters=8):
    first, second = layers.Conv2D(filters, 1), layers.Conv2D(filters, 1)
    flat = layers.Reshape((-1,))(x)
    for layer in (first, second):
        try:
            layer(flat)  # rank 2: refused
        except ValueError:
            pass
    return first(flat)  # plain: 'conv2d' in the message; fast: the spare was renamed 'conv2d_1'


def test_two_alike_layers_failing_in_one_probe():
    assert_agree(two_alike_failing, {"C": [4], "H": [5], "filters": [8]})


def test_a_spare_changed_by_one_check_hides_the_next_checks_failure():
    import shapeguard

    axes = dict(C=[4], H=[3, 7], filters=[8])
    alone = shapeguard.check(big_kernel, **axes)
    forget()
    shapeguard.check(changes_a_layer_that_failed, **axes)
    after = shapeguard.check(big_kernel, **axes)
    assert alone.status == "fail"
    assert after.status == alone.status, f"big_kernel after changes_a_layer_that_failed: {after.status}"


# ---- mutable constructor arguments --------------------------------------------------

def list_argument_reused(x, filters=8):
    target = [4, -1]
    first = layers.Reshape(target)  # plain Keras copies the list here
    target[0] = 2
    second = layers.Reshape(target)
    return layers.Concatenate()([first(x), layers.Reshape((4, -1))(second(x))])


def nested_list_argument(x, filters=8):
    pad = [[1, 1], [1, 1]]
    padding = layers.ZeroPadding2D(pad)
    pad[0][0] = 3  # too late for plain Keras
    return layers.Add()([padding(x), layers.ZeroPadding2D(1)(x)])


@pytest.mark.parametrize("block", [list_argument_reused, nested_list_argument], ids=["Reshape", "ZeroPadding2D"])
def test_a_constructor_argument_changed_after_construction(block):
    assert_agree(block, {"C": [4], "H": [4, 6], "filters": [8]})


# ---- the probe's input is a stand-in --------------------------------------------------

def floatx_first(x, filters=8):
    keras.config.set_floatx("float64")
    y = layers.Dense(filters)(x)
    if y.dtype != x.dtype:
        raise TypeError(f"Dense computes in {y.dtype}, its input is {x.dtype}")
    return y


def test_floatx_set_before_the_first_layer():
    # As in a fresh process: no global dtype policy made yet (any Layer made outside a probe makes one,
    # and then both paths agree).
    from keras.src.backend.common import global_state

    saved = global_state.get_global_attribute("dtype_policy", None)
    global_state.set_global_attribute("dtype_policy", None)
    try:
        assert_agree(floatx_first, {"T": [4], "C": [4], "filters": [8]}, {"x": "T,C"})
    finally:
        global_state.set_global_attribute("dtype_policy", saved)


# ---- the stand-in class is not Keras's ----------------------------------------------

def pickled_before_its_call(x, filters=8):
    conv = layers.Conv2D(filters, 3, padding="same")
    twin = pickle.loads(pickle.dumps(conv))
    return layers.Add()([twin(x), conv(x)])


def test_a_layer_pickled():
    assert_agree(pickled_before_its_call, {"C": [8], "H": [5], "filters": [8]}, repeats=1)


def serialized(x, filters=8):
    conv = layers.Conv2D(filters, 3)
    config = keras.saving.serialize_keras_object(conv)
    y = conv(x)
    raise ValueError(f"{config['module']}.{config['class_name']}")


@_strict("serialize_keras_object names the stand-in's module keras.src.layers.convolutional.conv2d, "
         "plain Keras keras.layers")
def test_a_layer_serialized():
    assert_agree(serialized, {"C": [4], "H": [5], "filters": [8]}, repeats=1)


# ---- valueless weights (_fast) ----------------------------------------------------

def copied_after_its_call(x, filters=8):
    conv = layers.Conv2D(filters, 3, padding="same")
    y = conv(x)
    return layers.Add()([y, copy.deepcopy(conv)(x)])


@pytest.mark.xfail(keras.backend.backend() == "tensorflow", strict=True, reason=(
    "deepcopy of a built layer on the fast path without stand-ins (from the 2nd probe: the copy "
    "makes the stand-in give up): 'A total of 1 objects could not be loaded ... value.shape=(0,)' "
    "(TensorFlow's valueless weights; plain Keras passes; Keras's deferred variables elsewhere copy)"))
def test_a_built_layer_copied():
    assert_agree(copied_after_its_call, {"C": [8], "H": [5], "filters": [8]})


# ---- writes that bypass __setattr__ -------------------------------------------------

def written_directly(x, filters=8):
    conv = layers.Conv2D(filters, 3)
    object.__setattr__(conv, "padding", "same")
    return layers.Add()([conv(x), layers.Conv2D(filters, 1)(x)])


@_strict("object.__setattr__ on a stand-in writes its own __dict__: the real layer and the memo key never see it")
def test_an_attribute_written_with_object_setattr():
    assert_agree(written_directly, {"C": [4], "H": [5], "filters": [8]}, repeats=1)


def test_the_helpers_still_agree_on_a_plain_block():
    # Not an xfail: the file's set-up compares what it should (a block with none of the above).
    def block(x, filters=8):
        return layers.Add()([layers.Conv2D(filters, 3, padding="same")(x), x])

    forget()
    plain = assert_agree(block, {"C": [4, 8], "H": [5], "filters": [8]})
    assert [o.status for o in plain] == ["shape", "pass"]


# ---- the plain-Keras confirmation meets the limits the fast path avoids -------------------

def slower_on_plain_keras(x, filters=8):
    conv = layers.Conv2D(filters, 1)
    if type(conv) is layers.Conv2D:  # no stand-in: the plain path (as slow as a big block there)
        import time

        time.sleep(0.6)
    return layers.Add()([conv(x), x])


def wide(x, filters=8):
    return layers.Add()([layers.Conv2D(filters, 1)(x), x])


def test_a_confirmation_that_times_out_is_not_a_shapeguard_bug():
    import shapeguard

    report = shapeguard.check(slower_on_plain_keras, C=[4, 8], H=[5], filters=[8], timeout=0.3)
    assert not [e for e in report.errors if e.type == "InternalError"], [e.message for e in report.errors]
    assert report.failures  # confirmed, with the time plain Keras needs


def test_a_too_wide_failure_is_confirmed_without_allocating():
    """A layer too wide to allocate (2**31 channels: 64 GiB of kernel) still
    has its shapes checked, and the failure they cause is confirmed on the
    plain path, whose weights hold no value either: reported as the shape
    failure it is, not as an internal error or an out-of-memory."""
    import shapeguard

    report = shapeguard.check(wide, C=[8], H=[5], filters=[2**31])
    assert not report.errors, [e.message for e in report.errors]
    (failure,) = report.failures
    assert (failure.layer_class, failure.cause) == ("Add", "channels")
    try:  # plain Keras cannot allocate that width; at 16 channels it rejects the same Add
        wide(keras.Input((5, 5, 8)), filters=16)
    except ValueError as error:
        assert "incompatible shapes" in str(error)
    else:
        raise AssertionError("plain Keras accepted the Add")


# ---- hostile input: a block that changes its arguments ------------------------------

def pops_its_argument(x, sizes=(8,)):
    filters = sizes.pop()  # the block changes the list it was given
    return layers.Add()([layers.Conv2D(filters, 1)(x), x])


def test_an_axis_value_the_block_changes():
    import shapeguard

    report = shapeguard.check(pops_its_argument, C=[4, 8], H=[5], sizes=[[8, 4]])
    assert "sizes=[[8, 4]]" in str(report) and report.status == "fail", str(report)


def normalized_first(x, filters=8):
    """keras.applications' EfficientNets: a Normalization with no mean given
    reads its adapt weights when built (valueless on the fast path)."""
    y = layers.Normalization(axis=-1)(x)
    return layers.Conv2D(filters, 3)(y)


def test_a_normalization_without_a_mean_builds_on_the_fast_path_as_on_the_plain_one():
    plain = assert_agree(normalized_first, {"C": [3, 8], "H": [8, 2], "filters": [8]},
                         order=[{"C": c, "H": h, "filters": 8} for c in (3, 8) for h in (8, 2)], repeats=1)
    # it builds at H=8; at H=2 the 3x3 Conv2D, not the Normalization, rejects the input
    # (Keras before 3.14 let it build an empty output: tools/keras_versions.py)
    rejects = tuple(int(part) for part in keras.__version__.split(".")[:2]) >= (3, 14)
    assert [o.status for o in plain] == ["pass", "shape" if rejects else "pass"] * 2, plain
    assert {o.layer_class for o in plain if o.failed} == ({"Conv2D"} if rejects else set())
