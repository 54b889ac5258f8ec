"""A 60-block repository to benchmark checks of a whole project on.

    python benchmarks/blocks_repo.py FOLDER     # writes FOLDER/blocks/*.py

Ten families of the block builders real projects hold (basic residual,
bottleneck, ResNeXt, inverted residual, dense, squeeze-and-excitation,
Xception-style separable, and thin wrappers of Keras's own ResNet v2, DenseNet
and MobileNetV3 blocks), six variants each with different defaults (widths,
kernels, groups, expansions) and some with the bugs such code has (an identity
shortcut that ignores strides or channels, a width that is not a multiple of
the groups). One undecorated block per file, so `shapeguard check FOLDER` and
`pytest --shapeguard FOLDER` find them zero-config (README, "Discovery").
"""

from __future__ import annotations

import sys
from pathlib import Path

HEADER = "from keras import layers\n\n\n"

BASIC = '''def {name}(x, filters={filters}, strides=1):
    """Two {kernel}x{kernel} convolutions with a shortcut."""
    y = layers.Conv2D(filters, {kernel}, strides=strides, padding="same", use_bias=False)(x)
    y = layers.BatchNormalization()(y)
    y = layers.ReLU()(y)
    y = layers.Conv2D(filters, {kernel}, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization()(y)
    shortcut = x
    if {projected}:
        shortcut = layers.Conv2D(filters, 1, strides=strides, use_bias=False)(x)
        shortcut = layers.BatchNormalization()(shortcut)
    return layers.ReLU()(layers.Add()([y, shortcut]))
'''

BOTTLENECK = '''def {name}(x, filters={filters}, strides=1, conv_shortcut=True):
    """ResNet v1 bottleneck: 1x1, {kernel}x{kernel}, 1x1 to 4 * filters."""
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=strides)(x)
        shortcut = layers.BatchNormalization(epsilon=1.001e-5)(shortcut)
    else:
        shortcut = x
    y = layers.Conv2D(filters, 1, strides=strides)(x)
    y = layers.BatchNormalization(epsilon=1.001e-5)(y)
    y = layers.Activation("relu")(y)
    y = layers.Conv2D(filters, {kernel}, padding="same")(y)
    y = layers.BatchNormalization(epsilon=1.001e-5)(y)
    y = layers.Activation("relu")(y)
    y = layers.Conv2D(4 * filters, 1)(y)
    y = layers.BatchNormalization(epsilon=1.001e-5)(y)
    return layers.Activation("relu")(layers.Add()([shortcut, y]))
'''

RESNEXT = '''def {name}(x, filters={filters}, strides=1, groups={groups}):
    """ResNeXt: a grouped {kernel}x{kernel} convolution between two 1x1."""
    shortcut = layers.Conv2D(2 * filters, 1, strides=strides, use_bias=False)(x)
    shortcut = layers.BatchNormalization(epsilon=1.001e-5)(shortcut)
    y = layers.Conv2D(filters, 1, use_bias=False)(x)
    y = layers.BatchNormalization(epsilon=1.001e-5)(y)
    y = layers.ReLU()(y)
    y = layers.Conv2D({width}, {kernel}, strides=strides, padding="same", groups=groups, use_bias=False)(y)
    y = layers.BatchNormalization(epsilon=1.001e-5)(y)
    y = layers.ReLU()(y)
    y = layers.Conv2D(2 * filters, 1, use_bias=False)(y)
    y = layers.BatchNormalization(epsilon=1.001e-5)(y)
    return layers.ReLU()(layers.Add()([y, shortcut]))
'''

INVERTED = '''def {name}(x, filters={filters}, expansion={expansion}, strides=1):
    """MobileNetV2 inverted residual: expand, depthwise {kernel}x{kernel}, project."""
    channels = x.shape[-1]
    y = layers.Conv2D(expansion * channels, 1, padding="same", use_bias=False)(x)
    y = layers.BatchNormalization(epsilon=1e-3, momentum=0.999)(y)
    y = layers.ReLU(6.0)(y)
    y = layers.DepthwiseConv2D({kernel}, strides=strides, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization(epsilon=1e-3, momentum=0.999)(y)
    y = layers.ReLU(6.0)(y)
    y = layers.Conv2D(filters, 1, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization(epsilon=1e-3, momentum=0.999)(y)
    if {guarded}:
        return layers.Add()([x, y])
    return y
'''

DENSE = '''def {name}(x, growth_rate={growth}, blocks={blocks}, reduction=0.5):
    """DenseNet: {blocks} conv blocks concatenated, then a transition."""
    for _ in range(blocks):
        y = layers.BatchNormalization(epsilon=1.001e-5)(x)
        y = layers.Activation("relu")(y)
        y = layers.Conv2D(4 * growth_rate, 1, use_bias=False)(y)
        y = layers.BatchNormalization(epsilon=1.001e-5)(y)
        y = layers.Activation("relu")(y)
        y = layers.Conv2D(growth_rate, {kernel}, padding="same", use_bias=False)(y)
        x = layers.Concatenate()([x, y])
    x = layers.BatchNormalization(epsilon=1.001e-5)(x)
    x = layers.Conv2D(int(x.shape[-1] * reduction), 1, use_bias=False)(x)
    return layers.AveragePooling2D(2, strides=2, padding="{pool_padding}")(x)
'''

SE = '''def {name}(x, filters={filters}, ratio={ratio}):
    """A convolution recalibrated by squeeze-and-excitation."""
    y = layers.Conv2D(filters, {kernel}, padding="same")(x)
    s = layers.GlobalAveragePooling2D(keepdims=True)(y)
    s = layers.Conv2D(max(1, filters // ratio), 1, activation="relu")(s)
    s = layers.Conv2D({excite}, 1, activation="sigmoid")(s)
    return layers.Multiply()([y, s])
'''

XCEPTION = '''def {name}(x, filters={filters}, kernel_size={kernel}):
    """Xception entry flow: two separable convolutions, pooled, with a strided shortcut."""
    shortcut = layers.Conv2D({shortcut}, 1, strides=2, padding="same", use_bias=False)(x)
    shortcut = layers.BatchNormalization()(shortcut)
    y = layers.SeparableConv2D(filters, kernel_size, padding="same", use_bias=False)(x)
    y = layers.BatchNormalization()(y)
    y = layers.Activation("relu")(y)
    y = layers.SeparableConv2D(filters, kernel_size, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization()(y)
    y = layers.MaxPooling2D(3, strides=2, padding="same")(y)
    return layers.Add()([y, shortcut])
'''

KERAS_RESNET = '''from keras.src.applications import resnet


def {name}(x, filters={filters}, stride=1, conv_shortcut={conv_shortcut}):
    """Keras's own ResNet v2 residual block."""
    return resnet.residual_block_v2(x, filters, kernel_size={kernel}, stride=stride,
                                    conv_shortcut=conv_shortcut, name="{name}")
'''

KERAS_DENSENET = '''from keras.src.applications import densenet


def {name}(x, growth_rate={growth}):
    """Keras's own DenseNet conv block, twice."""
    x = densenet.conv_block(x, growth_rate, name="{name}_1")
    return densenet.conv_block(x, growth_rate, name="{name}_2")
'''

KERAS_MOBILENET = '''from keras.src.applications import mobilenet_v3


def {name}(x, filters={filters}, expansion={expansion}, stride=1, se_ratio={se_ratio}):
    """Keras's own MobileNetV3 inverted residual block."""
    return mobilenet_v3._inverted_res_block(x, expansion, filters, {kernel}, stride, se_ratio,
                                            mobilenet_v3.{activation}, 0)
'''

# Six variants per family: what differs, and (in comments) the bug some carry.
FAMILIES = {
    "basic": (BASIC, [
        dict(filters=16, kernel=3, projected=True),
        dict(filters=32, kernel=3, projected=False),  # identity shortcut: breaks on strides and channels
        dict(filters=64, kernel=3, projected=True),
        dict(filters=64, kernel=5, projected=True),
        dict(filters=128, kernel=3, projected=False),  # same bug
        dict(filters=24, kernel=3, projected=True),
    ]),
    "bottleneck": (BOTTLENECK, [dict(filters=f, kernel=k) for f, k in
                                ((16, 3), (32, 3), (64, 3), (64, 5), (128, 3), (48, 3))]),
    "resnext": (RESNEXT, [
        dict(filters=64, groups=32, kernel=3, width="filters"),
        dict(filters=128, groups=32, kernel=3, width="filters"),
        dict(filters=64, groups=8, kernel=3, width="filters"),
        dict(filters=32, groups=4, kernel=5, width="filters"),
        dict(filters=64, groups=32, kernel=3, width="int(filters / groups) * groups"),
        dict(filters=96, groups=16, kernel=3, width="filters"),
    ]),
    "inverted": (INVERTED, [
        dict(filters=16, expansion=6, kernel=3, guarded="strides == 1 and x.shape[-1] == filters"),
        dict(filters=24, expansion=6, kernel=3, guarded="strides == 1"),  # forgets the channels
        dict(filters=32, expansion=4, kernel=5, guarded="strides == 1 and x.shape[-1] == filters"),
        dict(filters=64, expansion=6, kernel=3, guarded="True"),  # always adds
        dict(filters=96, expansion=3, kernel=3, guarded="strides == 1 and x.shape[-1] == filters"),
        dict(filters=160, expansion=6, kernel=5, guarded="x.shape[-1] == filters"),  # forgets the strides
    ]),
    "dense": (DENSE, [
        dict(growth=32, blocks=2, kernel=3, pool_padding="valid"),
        dict(growth=12, blocks=3, kernel=3, pool_padding="valid"),
        dict(growth=16, blocks=2, kernel=3, pool_padding="same"),
        dict(growth=24, blocks=4, kernel=3, pool_padding="valid"),
        dict(growth=32, blocks=1, kernel=5, pool_padding="same"),
        dict(growth=8, blocks=2, kernel=3, pool_padding="valid"),
    ]),
    "se": (SE, [
        dict(filters=32, ratio=4, kernel=3, excite="filters"),
        dict(filters=64, ratio=16, kernel=3, excite="filters"),
        dict(filters=64, ratio=8, kernel=1, excite="x.shape[-1]"),  # excites the input's channels
        dict(filters=128, ratio=16, kernel=3, excite="filters"),
        dict(filters=16, ratio=4, kernel=3, excite="filters"),
        dict(filters=48, ratio=4, kernel=3, excite="x.shape[-1]"),  # same bug
    ]),
    "xception": (XCEPTION, [
        dict(filters=128, kernel=3, shortcut="filters"),
        dict(filters=256, kernel=3, shortcut="filters"),
        dict(filters=64, kernel=3, shortcut="x.shape[-1]"),  # the shortcut keeps the input's channels
        dict(filters=32, kernel=5, shortcut="filters"),
        dict(filters=728, kernel=3, shortcut="filters"),
        dict(filters=96, kernel=3, shortcut="x.shape[-1]"),  # same bug
    ]),
    "keras_resnet": (KERAS_RESNET, [dict(filters=f, kernel=k, conv_shortcut=c) for f, k, c in
                                    ((64, 3, True), (64, 3, False), (128, 3, True), (256, 3, False),
                                     (32, 3, True), (512, 3, True))]),
    "keras_densenet": (KERAS_DENSENET, [dict(growth=g) for g in (32, 12, 16, 24, 48, 8)]),
    "keras_mobilenet": (KERAS_MOBILENET, [dict(filters=f, expansion=e, kernel=k, se_ratio=s, activation=a)
                                          for f, e, k, s, a in
                                          ((16, 1, 3, None, "relu"), (24, 4, 3, None, "relu"),
                                           (40, 3, 5, 0.25, "hard_swish"), (80, 6, 3, None, "hard_swish"),
                                           (112, 6, 3, 0.25, "hard_swish"), (160, 6, 5, 0.25, "relu"))]),
}


def sources() -> dict[str, str]:
    """File name -> source, 60 of them, in a stable order."""
    files = {}
    for family, (template, variants) in FAMILIES.items():
        for index, values in enumerate(variants):
            name = f"{family}_{index}"
            text = template.format(name=name, **values)
            files[f"{name}.py"] = text if text.startswith("from ") else HEADER + text
    return files


def write(folder: str | Path) -> Path:
    """Write the repository to ``folder/blocks`` and return that path."""
    target = Path(folder) / "blocks"
    target.mkdir(parents=True, exist_ok=True)
    for name, text in sources().items():
        (target / name).write_text(text)
    return target


if __name__ == "__main__":
    print(write(sys.argv[1] if len(sys.argv) > 1 else "."))
